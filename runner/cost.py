"""What a job will cost, estimated before anything runs, and refused above limits a user can raise.

An oversized request (a grid of a billion points, a network of millions of firms of degree 200)
would otherwise allocate until memory runs out; counting and a rough model size take milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sim.errors import ScenarioError
from sim.scenario import Scenario

__all__ = ["Limits", "Cost", "estimate", "check"]

#: Bytes one model holds per firm and per link, rounded up (agent objects, state arrays, peaks of a step).
BYTES_PER_FIRM = 2_000
BYTES_PER_LINK = 400
#: Bytes a run adds to the part files (two summary values per KPI column).
BYTES_PER_RUN = 2_000


@dataclass(frozen=True)
class Limits:
    """Largest job run without asking: runs, link-steps (runs x steps x links) and memory of the models at once."""

    max_runs: int = 1_000_000
    max_link_steps: float = 1e13
    max_gb: float = 8.0


@dataclass(frozen=True)
class Cost:
    """The estimate of a job."""

    runs: int
    link_steps: float
    model_gb: float  # the largest single model
    workers: int

    def describe(self) -> str:
        """One line for a message."""
        return (f"{self.runs:,} runs, {self.link_steps:.3g} link-steps, about {self.model_gb:.2g} GB per model "
                f"x {self.workers} at once, about {self.runs * BYTES_PER_RUN / 1e6:.3g} MB of results")


def _size(scenario: Scenario) -> tuple[int, float]:
    s = scenario.structure
    if scenario.data.folder or scenario.data.firms:  # the data's firms, not structure.n_firms
        from sim.data import read_cluster

        c = read_cluster(scenario.data)
        given = len(c.trade) + len(c.org_ff) + len(c.org_af)
        return c.n, given + (0.0 if s.kind == "data" else c.n * min(float(s.mean_degree), c.n - 1.0) / 2)
    if s.kind == "edge_list":  # the files' firms and links, not structure.n_firms (which the files overrule)
        import numpy as np

        from sim.structures.edge_list import build_edge_list

        built = build_edge_list(s, np.random.default_rng(0))  # reads the files; draws nothing
        return built.n_firms, float(len(built.edges) + len(built.assoc_edges))
    firms = int(s.n_firms)
    return firms, firms * float(s.mean_degree) / 2


def estimate(scenarios: Sequence[Scenario], runs: int, steps: int | None, workers: int) -> Cost:
    """The cost of ``runs`` runs spread over ``scenarios`` (the largest counts for every run)."""
    firms, links = max(_size(s) for s in scenarios)
    n_steps = steps if steps is not None else max(s.run.steps for s in scenarios)
    model = (firms * BYTES_PER_FIRM + links * BYTES_PER_LINK) / 1e9
    return Cost(int(runs), float(runs) * n_steps * max(links, firms), model, max(1, min(workers, int(runs))))


def check(cost: Cost, limits: Limits) -> None:
    """Refuse a job above a limit, saying which and the flag that raises it.

    Raises:
        ScenarioError: the job is larger than ``limits`` allow.
    """
    if cost.runs > limits.max_runs:
        raise ScenarioError(f"{cost.runs:,} runs exceed --max-runs {limits.max_runs:,} ({cost.describe()}); "
                            "use fewer points or replicates, or raise --max-runs")
    if cost.link_steps > limits.max_link_steps:
        raise ScenarioError(f"{cost.link_steps:.3g} link-steps exceed --max-link-steps {limits.max_link_steps:.3g} "
                            f"({cost.describe()}); use fewer runs, steps or firms, or raise --max-link-steps")
    if cost.model_gb * cost.workers > limits.max_gb:
        raise ScenarioError(f"the models running at once need about {cost.model_gb * cost.workers:.3g} GB, above "
                            f"--max-gb {limits.max_gb:g} ({cost.describe()}); use fewer firms, a lower mean_degree "
                            "or fewer workers, or raise --max-gb")


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
