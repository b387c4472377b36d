"""Run a command in a fresh process and watch its time and resident memory.

Peak memory is sampled with psutil every ``interval`` seconds over the whole
process tree (the runner and its workers): the peak of the tree's summed RSS
and the peak RSS of any single process. The summed figure counts shared
pages once per process, so it is an upper bound.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["ROOT", "Watched", "watch"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Watched:
    """What :func:`watch` saw."""

    wall_s: float
    peak_tree_rss: int  # bytes
    peak_process_rss: int  # bytes
    returncode: int
    stdout: str
    stderr: str


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def watch(args: list[str], interval: float = 0.1, timeout: float | None = None,
          env: dict[str, str] | None = None) -> Watched:
    """Run ``python args...`` from the repository root and sample its memory until it ends.

    Args:
        args: arguments after ``python``.
        interval: seconds between memory samples. A sample reads every process of the tree,
            so frequent samples take CPU from a command that keeps every core busy.
        timeout: kill the command after this many seconds.
        env: variables to add to this process's environment for the command.
    """
    t0 = time.perf_counter()
    popen = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, **env} if env else None)
    proc = psutil.Process(popen.pid)
    peak_tree = peak_one = 0
    out_chunks: list[str] = []
    next_sample = t0
    while popen.poll() is None:
        now = time.perf_counter()
        if now >= next_sample:
            next_sample = now + interval
            total = 0
            for p in _tree(proc):
                try:
                    rss = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                peak_one = max(peak_one, rss)
            peak_tree = max(peak_tree, total)
        if timeout is not None and now - t0 > timeout:
            popen.kill()
            break
        time.sleep(interval)
    stdout, stderr = popen.communicate()
    out_chunks.append(stdout)
    return Watched(time.perf_counter() - t0, peak_tree, peak_one, popen.returncode, "".join(out_chunks), stderr)
