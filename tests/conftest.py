"""Shared test set-up: the repository root is importable (``sim``, ``runner``, ``analysis``, ``tests``).

Helpers (import them from ``tests.conftest``): small scenario files, the 95 % interval of paired seeds, a README
example's printed block. Fixtures: the command line with its printed output, a job stopped before its
consolidation, a newcomer that takes a folder's lock the moment its holder lets go, the main job's results."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"


def small_scenario(folder: Path, name: str = "tiny", *, n_firms: int, steps: int | None = None,
                   body: str = "") -> Path:
    """Write ``folder/name.toml``: the shipped baseline (extended by path) with fewer firms and steps, then ``body``."""
    path = folder / f"{name}.toml"
    run_steps = "" if steps is None else f"[run]\nsteps = {steps}\n"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = {n_firms}\n{run_steps}{body}')
    return path


def mean_interval(d) -> tuple[float, float]:
    """95 % t-interval of the mean of ``d`` (one difference per seed)."""
    import numpy as np
    from scipy import stats

    d = np.asarray(d, float)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def paired_interval(a, b) -> tuple[float, float]:
    """95 % t-interval of the mean of the paired differences ``a - b`` (the same seeds in both arms)."""
    import numpy as np

    return mean_interval(np.asarray(a, float) - np.asarray(b, float))


def readme_block(after: str) -> str:
    """The fenced block of README.md that follows the text ``after`` (a worked example's printed output)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split(f"{after}\n\n```\n", 1)[1].split("```", 1)[0]


def three_arms(folder: Path) -> list[Path]:
    """A small baseline, the same without regulation, and the same with more digitalization (40 firms, 20 steps)."""
    return [small_scenario(folder, "base", n_firms=40, steps=20),
            small_scenario(folder, "no_reg", n_firms=40, steps=20, body="[mechanisms.regulation]\nenabled = false\n"),
            small_scenario(folder, "digital", n_firms=40, steps=20, body="[information]\ndigitalization = 0.9\n")]


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs ``run.py`` in process and returns its exit status, standard output and error."""
    import run

    def call(*argv) -> tuple[int, str, str]:
        code = run.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def newcomer_on_release(monkeypatch):
    """``arm(folder)``: the moment a holder closes ``folder``'s lock file, another process's lock takes it.

    Returns the newcomer's :class:`runner.files.FolderLock` (held once the holder has let go); it is
    released at the end of the test.
    """
    import os
    import types

    import runner.files as files

    taken: list = []
    holder: list[int] = []
    acquire = files.FolderLock.acquire

    def arm(folder: Path):
        newcomer = files.FolderLock(folder)

        def first_acquire(lock) -> None:
            acquire(lock)
            if not holder and lock is not newcomer:
                holder.append(lock._fd)

        def close(fd: int) -> None:
            os.close(fd)
            if not taken and fd in holder:
                taken.append(newcomer)
                newcomer.acquire()  # the next command started right then

        monkeypatch.setattr(files.FolderLock, "acquire", first_acquire)
        monkeypatch.setattr(files, "os", types.SimpleNamespace(**{**vars(os), "close": close}))
        return newcomer

    yield arm
    for lock in taken:
        lock.release()


@pytest.fixture(scope="session")
def interrupt_before_finish():
    """``interrupt_before_finish(job, *args, **kw)`` runs a job that stops as if killed once every chunk's files
    are written and before the consolidation (the state a resume has to finish)."""
    from runner.store import ResultStore

    def stop(self):
        raise KeyboardInterrupt

    def call(job, *args, **kw) -> None:
        real = ResultStore.finish
        ResultStore.finish = stop
        try:
            with pytest.raises(KeyboardInterrupt):
                job(*args, **kw)
        finally:
            ResultStore.finish = real

    return call


@pytest.fixture(scope="session")
def main_job(tmp_path_factory):
    """The folder of the main job's results (``run.py compare-main --no-report``), run once per test process.

    Tests that use it are marked ``xdist_group("main_job")`` so that, with ``--dist loadgroup``, one
    worker runs them all and the job runs once.
    """
    import subprocess

    out = tmp_path_factory.mktemp("main_job")
    subprocess.run([sys.executable, "run.py", "compare-main", "--out", str(out), "--no-report", "--quiet"],
                   cwd=ROOT, check=True, capture_output=True)
    return out
