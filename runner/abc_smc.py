"""The pyabc driver of ``run.py calibrate``: where candidates run, and a sampler whose generations do not depend on it.

Candidate ``i`` of generation ``t`` is simulated with numpy's global generator seeded from
``SeedSequence([master, t + 1, i])`` wherever it runs (this process, spawned worker processes or
Dask), and a generation keeps the first ``population`` accepted candidates by index
(:class:`SeededSampler`). So the posterior depends on the master seed only, not on ``--jobs``,
Dask or how the work was batched.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import random
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sim.errors import RunnerError

from .calibration_files import DB
from .executors import Executor, _dask_client, _worker_init

__all__ = ["candidate_seed", "SeededSampler", "Pool"]


def candidate_seed(master: int, t: int, i: int) -> int:
    """Seed of numpy's global generator for candidate ``i`` of generation ``t`` (-1: the prior sample)."""
    return int(np.random.SeedSequence([int(master), t + 1, i]).generate_state(1)[0])


_loaded: dict[bytes, Callable] = {}  # the last generation's simulate_one in this worker, by digest


def _evaluate(payload: bytes | Callable, seeds: Sequence[int]) -> list:
    """Run pyabc's ``simulate_one`` (pickled, or itself when serial) once per seed; return the particles."""
    if callable(payload):
        simulate_one = payload
    else:
        import cloudpickle

        digest = hashlib.blake2b(payload, digest_size=16).digest()
        if digest not in _loaded:
            _loaded.clear()
            _loaded[digest] = cloudpickle.loads(payload)
        simulate_one = _loaded[digest]
    out = []
    for s in seeds:
        np.random.seed(s)
        random.seed(s)
        out.append(simulate_one())
    return out


class _Done:
    """A finished result in the shape of a future (serial evaluation)."""

    def __init__(self, fn: Callable, args: tuple):
        self._value = fn(*args)

    def result(self):
        return self._value

    def cancel(self) -> bool:
        return False


class Pool:
    """Where simulations run: this process, spawned worker processes (``--jobs``) or Dask."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self._procs = self._client = self._cluster = None

    @property
    def workers(self) -> int:
        return self.executor.workers

    def __enter__(self) -> "Pool":
        ex = self.executor
        if ex.scheduler or ex.dask_local:
            self._client, self._cluster = _dask_client(ex.scheduler, ex.dask_local, ex.dask_processes)
        elif ex.jobs > 1:
            self._procs = cf.ProcessPoolExecutor(max_workers=ex.jobs, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_init, initargs=(os.getpid(),))
        return self

    def __exit__(self, *exc) -> None:
        if self._procs is not None:
            if exc[0] is not None:  # stopped early: do not wait for candidates nobody will read
                for proc in list(getattr(self._procs, "_processes", {}).values()):
                    proc.terminate()
            self._procs.shutdown(wait=exc[0] is None, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._procs = self._client = self._cluster = None

    def submit(self, fn: Callable, *args):
        if self._client is not None:
            return self._client.submit(fn, *args, pure=False)
        if self._procs is not None:
            return self._procs.submit(fn, *args)
        return _Done(fn, args)

    def wait_one(self, pending: Sequence) -> list:
        if self._client is not None:
            from distributed import wait

            return list(wait(list(pending), return_when="FIRST_COMPLETED").done)
        if self._procs is not None:
            return list(cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)[0])
        return list(pending)

    def map(self, fn: Callable, first: Any, batches: Sequence[Sequence]) -> list:
        """``fn(first, batch)`` for every batch, results in batch order."""
        futures = [self.submit(fn, first, b) for b in batches]
        return [x for f in futures for x in _result(f)]


def _result(future):
    try:
        return future.result()
    except cf.process.BrokenProcessPool as exc:
        raise RunnerError(f"--jobs: a worker process died ({exc}); finished generations are kept in "
                          f"{DB}, run the same command again to continue") from None


def _bar(total: int, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="accepted", disable=quiet or not sys.stderr.isatty(),
                dynamic_ncols=True, leave=False)


def _sampler_class():
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """pyabc sampler whose generations do not depend on where or in which order candidates ran.

        Candidates are numbered; each is simulated with its own seed (:func:`candidate_seed`) in
        batches on the pool; a generation keeps every candidate up to the ``n``-th accepted by
        index, and candidates simulated beyond it are dropped uncounted.
        """

        def __init__(self, master: int, pool: Pool, quiet: bool = False):
            super().__init__()
            self.master, self.pool, self.quiet = master, pool, quiet
            self.prior_sample: list | None = None
            self.log: list[dict] = []

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle

            workers = self.pool.workers
            serial = self.pool._client is None and self.pool._procs is None
            payload = simulate_one if serial else cloudpickle.dumps(simulate_one)
            size = 1 if serial else max(1, min(16, n // (4 * workers)))
            window = 1 if serial else 2 * workers
            results: dict[int, list] = {}
            pending: dict[Any, int] = {}
            submitted = prefix = accepted = 0
            bar = _bar(n, "prior sample" if all_accepted else f"generation {t}", self.quiet)
            try:
                while accepted < n:
                    while len(pending) < window and submitted * size < max_eval:
                        seeds = [candidate_seed(self.master, t, i) for i in range(submitted * size, (submitted + 1) * size)]
                        pending[self.pool.submit(_evaluate, payload, seeds)] = submitted
                        submitted += 1
                    if not pending:
                        break
                    for fut in self.pool.wait_one(list(pending)):
                        results[pending.pop(fut)] = _result(fut)
                    before = accepted
                    while prefix in results and accepted < n:
                        accepted += sum(p.accepted for p in results[prefix])
                        prefix += 1
                    bar.update(min(accepted, n) - min(before, n))
            finally:
                for fut in pending:
                    fut.cancel()
                bar.close()
            sample = self._create_empty_sample()
            kept = evaluated = 0
            for b in range(prefix):
                for p in results[b]:
                    if kept >= n or evaluated >= max_eval:
                        break
                    sample.append(p)
                    evaluated += 1
                    kept += bool(p.accepted)
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            if all_accepted:
                self.prior_sample = list(sample.accepted_particles)
            else:
                self.log.append({"generation": t, "simulations": evaluated, "accepted": sample.n_accepted})
                if not self.quiet:  # one line per generation also where no bar is drawn (a log file)
                    print(f"generation {t}: {sample.n_accepted} accepted of {evaluated} simulated",
                          file=sys.stderr, flush=True)
            return sample

    return SeededSampler


def SeededSampler(master: int, pool: Pool, quiet: bool = False):  # noqa: N802 (a class built on first use)
    """A :class:`pyabc.sampler.Sampler` with per-candidate seeds (pyabc is imported only when calibrating)."""
    return _sampler_class()(master, pool, quiet)
