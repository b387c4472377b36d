"""Shared test set-up: the repository root is importable (``sim``, ``runner``, ``analysis``, ``tests``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


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
