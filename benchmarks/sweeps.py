"""Sweeps through ``run.py sweep``: throughput per executor, and memory against the number of runs.

Every sweep is the same small job on the baseline scenario (``--set``
shrinks it), a grid over the regulation sanction with replicates, written to
a temporary folder that is removed afterwards. Wall time includes starting
the worker processes or the Dask cluster, as an analyst would see it.

The steady-state rate leaves start-up and the final consolidation out. Every
process that runs chunks logs each chunk's start and end (``CHUNK_LOG_ENV`` of
``runner.chunks``), so the window opens when the last worker to finish its first
chunk finishes it: by then every worker has started, imported the model and
run a chunk, however late it registered. The window closes when the last
chunk ends; a chunk that straddles its opening counts with the share of its
time inside.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner.chunks import CHUNK_LOG_ENV

from .procs import watch

__all__ = ["SweepRun", "read_chunk_log", "run_sweep", "steady_rate"]


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
    steady_runs_per_s: float  # nan when no chunk ends after every worker's first
    workers: int  # chunks that run at once: 1 serially, else the --jobs / --dask-local count
    chunk_ends: list[float]  # seconds from the first chunk's end to each chunk's end (in completion order)
    load_after: float  # 1-minute load average when the sweep ended (others' work shows here)

    @property
    def runs_per_s(self) -> float:
        """Runs per second of wall time, start-up included."""
        return self.runs / self.wall_s


def _workers(executor: list[str]) -> int:
    """How many chunks run at once under ``executor`` arguments (``--jobs N`` or ``--dask-local N``)."""
    for flag in ("--jobs", "--dask-local"):
        if flag in executor:
            return int(executor[executor.index(flag) + 1])
    return 1


def read_chunk_log(path: Path) -> list[tuple[int, int, float, float]]:
    """``(pid, runs, start, end)`` of every chunk in a chunk log (``runner.chunks.CHUNK_LOG_ENV``)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pid, _index, runs, start, end = line.split()
        rows.append((int(pid), int(runs), float(start), float(end)))
    return rows


def steady_rate(chunks: list[tuple[int, int, float, float]]) -> float:
    """Runs per second once every worker has finished its first chunk.

    Args:
        chunks: ``(worker pid, runs, start, end)`` of every chunk, wall-clock seconds.
    """
    first_end: dict[int, float] = {}
    for pid, _, _, end in chunks:
        first_end[pid] = min(first_end.get(pid, math.inf), end)
    if not first_end:
        return float("nan")
    opens, closes = max(first_end.values()), max(end for *_, end in chunks)
    if closes <= opens:
        return float("nan")
    runs = sum(r * (end - max(start, opens)) / (end - start) for _, r, start, end in chunks if end > opens and end > start)
    return runs / (closes - opens)


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
            costs CPU that a sweep on every core pays for, so throughput runs sample less
            often than memory runs.
    """
    if runs % points:
        raise ValueError(f"runs ({runs}) must be a multiple of points ({points})")
    with tempfile.TemporaryDirectory(prefix="clustercoop-bench-") as tmp:
        log = Path(tmp) / "chunks.log"
        args = ["run.py", "sweep", "scenarios/baseline.toml",
                "--param", f"mechanisms.regulation.sanction=0:1:{points}", "--replicates", str(runs // points),
                "--steps", str(steps), "--set", f"structure.n_firms={n_firms}", "--set", "structure.mean_degree=4",
                "--quiet", "--out", f"{tmp}/out", *executor]
        seen = watch(args, interval=memory_interval, env={CHUNK_LOG_ENV: str(log)})
        chunks = read_chunk_log(log) if log.is_file() else []
    if seen.returncode != 0:
        raise RuntimeError(f"sweep failed ({' '.join(executor) or 'serial'}): {seen.stderr[-2000:]}")
    name = " ".join(executor) if executor else "serial"
    ends = sorted(end for *_, end in chunks)
    return SweepRun(name, runs, n_firms, steps, seen.wall_s, seen.peak_tree_rss, seen.peak_process_rss,
                    steady_runs_per_s=steady_rate(chunks), workers=_workers(executor),
                    chunk_ends=[t - ends[0] for t in ends], load_after=os.getloadavg()[0])
