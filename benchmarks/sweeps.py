"""Sweeps through ``run.py sweep``: throughput per executor, and memory against the number of runs.

Every sweep is the same small job on the baseline scenario (``--set``
shrinks it), a grid over the regulation sanction with replicates, written to
a temporary folder that is removed afterwards. Wall time includes starting
the worker processes or the Dask cluster, as an analyst would see it.

The steady-state rate leaves start-up and the final consolidation out. The
runner writes one part file per finished chunk (modification times are seen
while the sweep runs). With ``w`` workers, steady state begins when the
``w``-th chunk is done: by then every worker has started, imported the model
and finished a chunk. The rate is the runs of the later chunks divided by the
time from that part file to the last one. Starting at the first part file
instead would count the other workers' first chunks, whose time lies mostly
before the window: that inflates a 2-worker rate by about one chunk in forty
(2,000 runs), and it charges a worker that starts late with its start-up.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sim.batch import default_chunk_size

from .procs import watch

__all__ = ["SweepRun", "run_sweep", "steady_rate"]


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
    steady_runs_per_s: float  # nan when there are no more chunks than workers
    workers: int  # chunks that run at once: 1 serially, else the --jobs / --dask-local count
    part_times: list[float]  # seconds from the first part file to each (in completion order)
    load_after: float  # 1-minute load average when the sweep ended (others' work shows here)

    @property
    def runs_per_s(self) -> float:
        """Runs per second of wall time, start-up included."""
        return self.runs / self.wall_s


def _runs_in_chunk(part_name: str, size: int, total: int) -> int:
    """Runs in the chunk whose part file is ``part-00012.parquet`` (chunk 12)."""
    index = int(part_name.split("-")[1].split(".")[0])
    return min(total, (index + 1) * size) - index * size


def _workers(executor: list[str]) -> int:
    """How many chunks run at once under ``executor`` arguments (``--jobs N`` or ``--dask-local N``)."""
    for flag in ("--jobs", "--dask-local"):
        if flag in executor:
            return int(executor[executor.index(flag) + 1])
    return 1


def steady_rate(order: list[tuple[int, float]], workers: int) -> float:
    """Runs per second once every worker is busy.

    Args:
        order: ``(runs in the chunk, time its part file appeared)`` in completion order.
        workers: chunks that run at once.
    """
    if len(order) <= workers:
        return float("nan")
    start = order[workers - 1][1]
    span = order[-1][1] - start
    return sum(r for r, _ in order[workers:]) / span if span > 0 else float("nan")


def run_sweep(runs: int, executor: list[str], *, n_firms: int = 20, steps: int = 5, points: int = 20,
              memory_interval: float = 0.05) -> SweepRun:
    """Run ``runs`` runs (``points`` design points x replicates) of a tiny scenario.

    Args:
        runs: total runs; must be a multiple of ``points``.
        executor: extra arguments, e.g. ``[]``, ``["--jobs", "2"]``, ``["--dask-local", "2"]``.
        n_firms: firms per run.
        steps: steps per run.
        points: grid points of the swept parameter.
        memory_interval: seconds between memory samples of the process tree. Each sample
            costs this process about 1.5 ms of CPU, which a sweep on every core pays for:
            throughput runs sample every 0.25 s, memory runs every 0.05 s. Part files are
            looked for every 0.02 s either way (a cheap directory listing).
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
        seen = watch(args, interval=memory_interval, on_poll=poll, poll_interval=0.02)
    if seen.returncode != 0:
        raise RuntimeError(f"sweep failed ({' '.join(executor) or 'serial'}): {seen.stderr[-2000:]}")
    name = " ".join(executor) if executor else "serial"
    order = sorted(((_runs_in_chunk(part, size, runs), t) for part, t in seen_parts.items()), key=lambda rt: rt[1])
    workers = _workers(executor)
    times = [t - order[0][1] for _, t in order] if order else []
    return SweepRun(name, runs, n_firms, steps, seen.wall_s, seen.peak_tree_rss, seen.peak_process_rss,
                    steady_runs_per_s=steady_rate(order, workers), workers=workers, part_times=times,
                    load_after=os.getloadavg()[0])
