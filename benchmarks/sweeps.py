"""Sweeps through ``run.py sweep``: throughput per executor, and memory against the number of runs.

Every sweep is the same small job on the baseline scenario (``--set``
shrinks it), a grid over the regulation sanction with replicates, written to
a temporary folder that is removed afterwards. Wall time includes starting
the worker processes or the Dask cluster, as an analyst would see it.

The steady-state rate leaves start-up and the final consolidation out: the
runner writes one part file per finished chunk, so the rate is the runs of
all chunks but the first to finish divided by the time between the first and
the last part file (modification times, seen while the sweep runs).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sim.batch import default_chunk_size

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
    steady_runs_per_s: float  # nan when fewer than two chunks
    load_after: float  # 1-minute load average when the sweep ended (others' work shows here)

    @property
    def runs_per_s(self) -> float:
        """Runs per second of wall time, start-up included."""
        return self.runs / self.wall_s


def _runs_in_chunk(part_name: str, size: int, total: int) -> int:
    """Runs in the chunk whose part file is ``part-00012.parquet`` (chunk 12)."""
    index = int(part_name.split("-")[1].split(".")[0])
    return min(total, (index + 1) * size) - index * size


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
    size = default_chunk_size(runs)
    seen_parts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="clustercoop-bench-") as tmp:
        parts = Path(tmp) / "out" / "parts"

        def poll() -> None:
            for p in parts.glob("part-*.parquet") if parts.is_dir() else ():
                if p.name not in seen_parts:
                    try:
                        seen_parts[p.name] = p.stat().st_mtime
                    except FileNotFoundError:
                        pass

        args = ["run.py", "sweep", "scenarios/baseline.toml",
                "--param", f"mechanisms.regulation.sanction=0:1:{points}", "--replicates", str(runs // points),
                "--steps", str(steps), "--set", f"structure.n_firms={n_firms}", "--set", "structure.mean_degree=4",
                "--quiet", "--out", f"{tmp}/out", *executor]
        seen = watch(args, interval=0.05, on_poll=poll)
    if seen.returncode != 0:
        raise RuntimeError(f"sweep failed ({' '.join(executor) or 'serial'}): {seen.stderr[-2000:]}")
    name = " ".join(executor) if executor else "serial"
    steady = float("nan")
    if len(seen_parts) >= 2:
        order = sorted(seen_parts.items(), key=lambda kv: kv[1])
        chunk_runs = [_runs_in_chunk(name, size, runs) for name, _ in order]
        span = order[-1][1] - order[0][1]
        steady = sum(chunk_runs[1:]) / span if span > 0 else float("nan")
    return SweepRun(name, runs, n_firms, steps, seen.wall_s, seen.peak_tree_rss, seen.peak_process_rss, steady, os.getloadavg()[0])
