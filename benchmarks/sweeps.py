"""Sweeps through ``run.py sweep``: throughput per executor, and memory against the number of runs.

Every sweep is the same small job on the baseline scenario (``--set``
shrinks it), a grid over the regulation sanction with replicates, written to
a temporary folder that is removed afterwards. Wall time includes starting
the worker processes or the Dask cluster, as an analyst would see it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from .procs import watch

__all__ = ["SweepRun", "run_sweep"]


@dataclass
class SweepRun:
    """One timed sweep."""

    executor: str
    runs: int
    n_firms: int
    steps: int
    wall_s: float
    peak_tree_rss: int
    peak_process_rss: int

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.wall_s


def run_sweep(runs: int, executor: list[str], *, n_firms: int = 20, steps: int = 5, points: int = 20) -> SweepRun:
    """Run ``runs`` runs (``points`` design points x replicates) of a tiny scenario.

    Args:
        runs: total runs; must be a multiple of ``points``.
        executor: extra arguments, e.g. ``[]``, ``["--jobs", "2"]``, ``["--dask-local", "2"]``.
        n_firms: firms per run.
        steps: steps per run.
        points: grid points of the swept parameter.
    """
    if runs % points:
        raise ValueError(f"runs ({runs}) must be a multiple of points ({points})")
    with tempfile.TemporaryDirectory(prefix="clustercoop-bench-") as tmp:
        args = ["run.py", "sweep", "scenarios/baseline.toml",
                "--param", f"mechanisms.regulation.sanction=0:1:{points}", "--replicates", str(runs // points),
                "--steps", str(steps), "--set", f"structure.n_firms={n_firms}", "--set", "structure.mean_degree=4",
                "--quiet", "--out", f"{tmp}/out", *executor]
        seen = watch(args)
    if seen.returncode != 0:
        raise RuntimeError(f"sweep failed ({' '.join(executor) or 'serial'}): {seen.stderr[-2000:]}")
    name = " ".join(executor) if executor else "serial"
    return SweepRun(name, runs, n_firms, steps, seen.wall_s, seen.peak_tree_rss, seen.peak_process_rss)
