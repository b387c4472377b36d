"""Evaluators: run chunks serially, on a pool of local processes, or on a Dask cluster.

Which executor runs a chunk never changes its result: a chunk carries its runs' seeds, and each
chunk has its own result, so every executor gives byte-identical files.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import itertools
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sim.errors import RunnerError, ScenarioError

from .chunks import Chunk, ChunkResult, run_chunk, run_chunks

__all__ = ["Executor", "dask_batch_size", "DASK_TASK_SECONDS"]

#: How long to wait for a remote scheduler to answer before giving up.
SCHEDULER_TIMEOUT = "20s"
#: A Dask task carries whole chunks until it takes about this long in its worker (see ``dask_batch_size``).
DASK_TASK_SECONDS = 1.0


def _worker_init(runner_pid: int) -> None:
    """Set up a ``--jobs`` worker: Ctrl-C is the runner's to handle, and the worker dies with it.

    A runner killed outright (``kill -9``, the OOM killer) cannot stop its workers, so each asks
    the kernel for SIGKILL when its parent dies (Linux) and also watches its parent itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != runner_pid:  # the runner died before the request above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(runner_pid,), daemon=True, name="watch-runner").start()


def _watch_parent(runner_pid: int, interval: float = 1.0) -> None:
    while os.getppid() == runner_pid:
        time.sleep(interval)
    os._exit(1)


def _serial(chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
    for chunk in chunks:
        yield run_chunk(chunk)


def _bounded(submit: Callable, wait_one: Callable, chunks: Iterator, limit: int) -> Iterator:
    """Keep at most ``limit`` tasks in flight; yield results as they finish."""
    pending: set = set()
    for chunk in chunks:
        pending.add(submit(chunk))
        while len(pending) >= limit:
            done, pending = wait_one(pending)
            for fut in done:
                yield fut.result()
    while pending:
        done, pending = wait_one(pending)
        for fut in done:
            yield fut.result()


def _processes(chunks: Iterator[Chunk], jobs: int) -> Iterator[ChunkResult]:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                  initargs=(os.getpid(),))
    try:
        def wait_one(pending):
            done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            return done, rest

        yield from _bounded(lambda c: pool.submit(run_chunk, c), wait_one, chunks, 2 * jobs)
    except GeneratorExit:
        # stopped early (Ctrl-C): unfinished chunks are lost anyway, so do not wait for them
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    except BrokenProcessPool as exc:
        raise RunnerError(f"--jobs: a worker process died ({exc}); finished runs are kept, "
                          "run the same command again to continue") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(scheduler: str | None, local_workers: int | None, processes: bool = True):
    """Connect to a scheduler or start a LocalCluster; return ``(client, cluster or None)``.

    Raises:
        RunnerError: the scheduler does not answer or the local cluster does not start.
    """
    import dask
    from distributed import Client, LocalCluster

    # Our workers hold one task at a time, so glibc's eager trimming that Dask sets against
    # fragmentation only costs page faults; nobody reads the profiler's samples, which compete for
    # the GIL with the model; housekeeping timers and work stealing (tasks of about equal length)
    # take time from the runs on a machine whose cores all run workers.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                          "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
                          "distributed.worker.profile.enabled": False,
                          "distributed.admin.tick.interval": "500ms",
                          "distributed.admin.system-monitor.interval": "5s",
                          "distributed.worker.memory.monitor-interval": "1s",
                          "distributed.scheduler.work-stealing": False}):
        if scheduler:
            try:
                return Client(scheduler, timeout=SCHEDULER_TIMEOUT), None
            except (OSError, TimeoutError) as exc:
                raise RunnerError(f"--scheduler {scheduler}: the scheduler does not answer ({exc}); "
                                  "check that it runs and the address is reachable") from None
            except ValueError as exc:
                raise ScenarioError(f"--scheduler {scheduler}: not a scheduler address ({exc}); "
                                    "e.g. tcp://host:8786") from None
        try:
            cluster = LocalCluster(n_workers=int(local_workers), threads_per_worker=1, processes=processes,
                                   dashboard_address=None, silence_logs=40)
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise RunnerError(f"--dask-local {local_workers}: the local Dask cluster did not start ({exc})") from None
        return Client(cluster), cluster


def dask_batch_size(chunk_seconds: float | None, left: int, workers: int, target: float = DASK_TASK_SECONDS) -> int:
    """Chunks in the next Dask task: enough for about ``target`` seconds of work, one while unknown.

    Each Dask task has a fixed cost beyond its runs (scheduler transitions, fetching the result),
    which tasks of several chunks spread out. So that no worker waits at the end for another's long
    task, a task takes at most a ``2 * workers``-th of the chunks still to submit (``left``): the
    last tasks are single chunks again.

    Args:
        chunk_seconds: mean worker time of the chunks finished so far (None before the first).
        left: chunks not yet submitted.
        workers: workers of the cluster.
        target: seconds of work per task.
    """
    if not chunk_seconds or chunk_seconds <= 0:
        return 1
    return max(1, min(math.ceil(target / chunk_seconds), left // (2 * workers)))


def _dask(chunks: Iterator[Chunk], client, tag: str, total: int | None = None) -> Iterator[ChunkResult]:
    """Chunks on Dask, several per task once their time is known (``dask_batch_size``).

    Batching changes only which task runs a chunk: every chunk still has its own result and
    part file, so results, part files and resuming are the same as with one chunk per task.
    """
    from distributed import wait

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    chunks = iter(chunks)
    seconds: list[float] = []  # worker time of each finished chunk

    def batches() -> Iterator[list[Chunk]]:
        left = total
        while True:
            k = 1 if left is None else dask_batch_size(sum(seconds) / len(seconds) if seconds else None, left, workers)
            batch = list(itertools.islice(chunks, k))
            if not batch:
                return
            if left is not None:
                left -= len(batch)
            yield batch

    def submit(batch: list[Chunk]):
        # pure=False and the chunk indices in the key: identical runs are never merged
        key = f"clustercoop-{tag}-chunks-{batch[0].index:06d}-{batch[-1].index:06d}"
        return client.submit(run_chunks, batch, key=key, pure=False)

    def wait_one(pending):
        res = wait(list(pending), return_when="FIRST_COMPLETED")
        return res.done, set(res.not_done)

    tasks = _bounded(submit, wait_one, batches(), 2 * workers + 2)
    try:
        for results in tasks:
            for result in results:
                seconds.append(result.seconds)
                yield result
    finally:  # stopped early (Ctrl-C): drop the futures in flight now
        tasks.close()


@dataclass
class Executor:
    """How to run chunks: serially, on ``jobs`` processes, or on Dask."""

    jobs: int = 1
    scheduler: str | None = None
    dask_local: int | None = None
    dask_processes: bool = True

    def __post_init__(self) -> None:
        chosen = [x for x in (self.jobs != 1, self.scheduler is not None, self.dask_local is not None) if x]
        if len(chosen) > 1:
            raise ScenarioError("--jobs, --scheduler and --dask-local: choose one")
        if self.jobs < 1:
            raise ScenarioError(f"--jobs {self.jobs}: must be >= 1")
        if self.dask_local is not None and self.dask_local < 1:
            raise ScenarioError(f"--dask-local {self.dask_local}: must be >= 1 worker")

    @property
    def workers(self) -> int:
        """How many chunks run at once (an estimate for a remote cluster)."""
        if self.dask_local:
            return self.dask_local
        if self.scheduler:
            return 8
        return self.jobs

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for the manifest."""
        if self.scheduler:
            return {"kind": "dask", "scheduler": "remote"}
        if self.dask_local:
            return {"kind": "dask-local", "workers": self.dask_local}
        return {"kind": "processes" if self.jobs > 1 else "serial", "jobs": self.jobs}

    def __enter__(self) -> "Executor":
        self._client, self._cluster = (None, None)
        if self.scheduler or self.dask_local:
            self._client, self._cluster = _dask_client(self.scheduler, self.dask_local, self.dask_processes)
        return self

    def __exit__(self, *exc) -> None:
        if getattr(self, "_client", None) is not None:
            self._client.close()
        if getattr(self, "_cluster", None) is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def map(self, chunks: Iterator[Chunk], tag: str, total: int | None = None) -> Iterator[ChunkResult]:
        """Results of the chunks, in completion order (inside ``with executor:`` for Dask).

        ``total`` (the number of chunks) lets Dask put several chunks in one task; without it,
        every task is one chunk.
        """
        if self.scheduler or self.dask_local:
            return _dask(chunks, self._client, tag, total)
        if self.jobs > 1:
            return _processes(chunks, self.jobs)
        return _serial(chunks)
