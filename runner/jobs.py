"""Running any job: the checks every command makes, the job's missing chunks executed into its store, and
what it did (:class:`Outcome`). The commands (:mod:`runner.commands`, :mod:`runner.robust`,
:mod:`runner.calibrate`) build a job and hand it here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.errors import RunnerError, ScenarioError
from sim.scenario import Scenario

from .chunks import CHUNK_LOG_ENV
from .cost import Limits, check, estimate
from .executors import Executor
from .files import fs_failure
from .store import Job, ResultStore, default_chunk_size

__all__ = ["Outcome", "execute", "check_options", "check_job"]


def check_options(steps: int | None = None, seed: int | None = None, replicates: int = 1) -> None:
    """The options every command checks before reading a file: ``--steps``, ``--seed``, ``--replicates``.

    Raises:
        ScenarioError: naming the option and what is allowed.
    """
    if steps is not None and steps < 1:
        raise ScenarioError(f"--steps {steps}: must be >= 1")
    if seed is not None and seed < 0:
        raise ScenarioError(f"--seed {seed}: must be >= 0")
    if replicates < 1:
        raise ScenarioError(f"--replicates {replicates}: must be >= 1")


def check_job(scenarios: Sequence[Scenario], runs: int, steps: int | None, workers: int,
              limits: Limits | None) -> None:
    """What every job checks once its scenarios are read, before anything is sampled or written.

    Args:
        scenarios: the largest scenario of each arm (the cost counts the largest for every run).
        runs: runs in the job.
        steps: ``--steps`` (None: each scenario's ``run.steps``).
        workers: processes running at once.
        limits: the cost limits (None: the defaults).

    Raises:
        ScenarioError: ``--steps`` above the schema's cap on ``run.steps``, or the job above a limit.
    """
    if steps is not None:  # the schema's cap on run.steps holds for --steps too
        for scenario in scenarios:
            scenario.with_overrides({"run.steps": int(steps)}, source="--steps")
    check(estimate(scenarios, runs, steps, workers), limits or Limits())


def _progress(total: int, initial: int, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=disable, dynamic_ncols=True,
                smoothing=0.1)


@dataclass
class Outcome:
    """What a batch job did, for the command line to report."""

    out: Path
    state: str
    total: int
    done_before: int
    done_now: int

    @property
    def message(self) -> str:
        """One line for the user."""
        if self.state == "complete":
            return (f"{self.out}: already complete ({self.total} runs in results.parquet); nothing to do")
        resumed = f", resumed after {self.done_before} already done" if self.done_before else ""
        return f"{self.out}: {self.total} runs{resumed} -> {self.out / 'results.parquet'}"


def execute(job: Job, out: Path, executor: Executor, quiet: bool = False,
            echo: Callable[[str], None] | None = None) -> Outcome:
    """Run the chunks of ``job`` that are not yet on disk, then consolidate.

    ``KeyboardInterrupt`` stops the executor, keeps the finished chunks, marks the
    manifest ``interrupted`` and is re-raised.

    Raises:
        ScenarioError: the output folder holds another job, or the chunk log cannot be written.
        RunnerError: the executor or the file system failed (the manifest says ``failed``).
    """
    echo = echo or (lambda s: print(s, file=sys.stderr))
    log = os.environ.get(CHUNK_LOG_ENV)
    if log:  # the workers append to it; say so now rather than fail in the middle of a sweep
        try:
            open(log, "a", encoding="utf-8").close()
        except OSError as exc:
            raise ScenarioError(f"{CHUNK_LOG_ENV}={log}: cannot append to this file ({exc.strerror})") from None
    store = ResultStore(out, job)
    if not job.chunk_size:
        job.chunk_size = default_chunk_size(job.total)
    created = store.check() == "new" and not store.out.exists()  # refuse a folder holding something else first
    store.lock()
    try:
        state = store.check()  # again: another process may have changed it before we held the lock
        if state == "complete":
            store.remove_temporaries()
            store.remove_parts()  # left by a consolidation killed after it had finished
            return Outcome(store.out, state, job.total, job.total, 0)
        done = store.verified_chunks(echo) if state == "resume" else set()
        before = store.runs_in(done)
        with executor:
            try:
                store.open(executor.describe(), state)
            except OSError as exc:
                raise fs_failure(exc, f"--out {store.out}") from None
            return _execute(job, store, executor, done, before, quiet, echo)
    finally:
        store.unlock(remove_unused=created)  # a job that failed before writing anything leaves no folder


def _execute(job: Job, store: ResultStore, executor: Executor, done: set[int], before: int, quiet: bool,
             echo: Callable[[str], None]) -> Outcome:
    todo = [i for i in range(job.n_chunks) if i not in done]
    if before and not quiet:
        echo(f"{store.out}: resuming, {before} of {job.total} runs already done")
    bar = _progress(job.total, before, job.kind, quiet)
    done_now = 0
    results = executor.map((job.chunk(i) for i in todo), tag=job.fingerprint[:12], total=len(todo))
    try:
        for result in results:
            store.write(result)
            done_now += result.n_runs
            bar.update(result.n_runs)
        bar.close()
        store.finish()
    except KeyboardInterrupt:
        results.close()
        bar.close()
        kept = store.stop("interrupted")
        echo(f"interrupted: kept {kept} of {job.total} runs in {store.out}; "
             "run the same command again to continue")
        raise
    except (OSError, RunnerError) as exc:
        results.close()
        bar.close()
        failure = fs_failure(exc, f"--out {store.out}") if isinstance(exc, OSError) else exc
        try:
            store.stop("failed", str(failure))
        except OSError:
            pass  # the manifest cannot be written either; the message still names the cause
        raise failure from None
    finally:
        bar.close()
    return Outcome(store.out, "done", job.total, before, done_now)
