"""Step timings of the vectorized model and the naive reference.

A timing builds one model, runs ``warmup`` steps, then times ``repeats``
single steps with ``time.perf_counter`` (wall) and ``time.process_time``
(CPU of this process). The machine is shared, so the tables quote the median
and the minimum; ratios are taken between figures of the same run.
Edge-updates per second count live directed edges (both directions of each
link, firm-association links included) divided by the wall time of a step.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from sim import ClusterModel, Scenario

from .reference import ReferenceModel, core_scenario

__all__ = ["StepTiming", "time_model", "scenario_for", "fit_exponent"]


@dataclass
class StepTiming:
    """Per-step times of one model (seconds) and its size."""

    impl: str  # "vectorized", "vectorized (full)" or "reference"
    structure: str
    n_firms: int
    mean_degree: float
    directed_edges: int
    build_s: float
    steps: int
    median_s: float
    min_s: float
    cpu_median_s: float

    @property
    def edge_updates_per_s(self) -> float:
        """Live directed edges per second of wall time (median step)."""
        return self.directed_edges / self.median_s if self.median_s > 0 else float("nan")

    def as_row(self) -> dict:
        """A flat dict for tables and JSON."""
        return {**asdict(self), "edge_updates_per_s": self.edge_updates_per_s}


def scenario_for(n_firms: int, mean_degree: float = 8.0, structure: str = "network", full: bool = False) -> Scenario:
    """The benchmark scenario: the core configuration, or the full default model when ``full``."""
    overrides = {"structure.kind": structure, "structure.n_firms": n_firms, "structure.mean_degree": mean_degree}
    if full:
        return Scenario().with_overrides(overrides, source="benchmarks")
    return core_scenario(**overrides)


def _live_directed_edges(model) -> int:
    if isinstance(model, ReferenceModel):
        return model.n_directed_edges()
    st = model.state
    return 2 * int(st.edge_alive().sum())


def time_model(impl: str, scenario: Scenario, *, warmup: int, repeats: int, seed: int = 1) -> StepTiming:
    """Build a model and time ``repeats`` steps after ``warmup`` steps.

    Args:
        impl: ``"vectorized"`` (``ClusterModel``) or ``"reference"``; a
            ``" (full)"`` suffix only labels the row.
        scenario: what to run.
        warmup: untimed steps first (caches, first-step allocations).
        repeats: timed steps.
        seed: model seed.
    """
    cls = ReferenceModel if impl.startswith("reference") else ClusterModel
    gc.collect()
    t0 = time.perf_counter()
    model = cls(scenario, rng=seed)
    build = time.perf_counter() - t0
    for _ in range(warmup):
        model.step()
    edges = []
    wall, cpu = [], []
    for _ in range(repeats):
        edges.append(_live_directed_edges(model))
        w0, c0 = time.perf_counter(), time.process_time()
        model.step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    s = scenario.structure
    return StepTiming(impl, s.kind, s.n_firms, s.mean_degree, int(np.mean(edges)), build, repeats,
                      statistics.median(wall), min(wall), statistics.median(cpu))


def fit_exponent(x, y) -> float:
    """Slope of log(y) against log(x) (least squares): cost ~ x ** slope."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])
