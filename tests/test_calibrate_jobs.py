"""``run.py calibrate`` as a job like the others: the folder's lock, the cost check, file-system failures."""

from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import run
import runner.calibrate as cal

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
TARGETS = '[[target]]\nkpi = "mean_trust"\nstatistic = "mean"\nwindow = [1, 3]\nvalue = 0.5\nse = 0.05\n'


@pytest.fixture
def job(tmp_path):
    """A tiny scenario, one target and the command line of a quick calibration into ``tmp_path/out``."""
    (tmp_path / "tiny.toml").write_text(f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = 10\n'
                                        '[run]\nsteps = 6\n')
    (tmp_path / "t.toml").write_text(TARGETS)
    out = tmp_path / "out"
    argv = ["calibrate", str(tmp_path / "tiny.toml"), "--targets", str(tmp_path / "t.toml"),
            "--param", "trust.initial=0.2:0.8", "--population", "10", "--generations", "1", "--ppc", "2",
            "--seed", "1", "--quiet"]
    return argv, out


def test_a_folder_in_use_is_refused_with_status_2(job, capsys):
    argv, out = job
    out.mkdir()
    with open(out / ".lock", "w") as fh:  # what a running calibration holds
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write(f"process {os.getpid()} on this host\n")
        fh.flush()
        code = run.main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"in use by process {os.getpid()}" in err, err
    assert {p.name for p in out.iterdir()} == {".lock"}  # nothing written beside it


def test_the_cost_check_and_its_override_are_those_of_sweeps(job, capsys):
    argv, out = job
    # at least population x (generations + 1) + ppc = 22 simulations
    assert run.main([*argv, "--max-runs", "21", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "22 runs exceed --max-runs 21" in err and "raise --max-runs" in err, err
    assert not out.exists()
    assert run.main([*argv, "--max-link-steps", "10", "--out", str(out)]) == 2
    assert "--max-link-steps" in capsys.readouterr().err and not out.exists()


def test_an_output_folder_under_a_file_is_bad_input(job, capsys, tmp_path):
    argv, _ = job
    (tmp_path / "afile").write_text("x")
    assert run.main([*argv, "--out", str(tmp_path / "afile" / "out")]) == 2
    assert "cannot create or write" in capsys.readouterr().err


@pytest.mark.parametrize("stage", ["posterior", "database"])
def test_a_file_system_failure_exits_3_and_the_manifest_says_failed(job, capsys, monkeypatch, stage):
    argv, out = job
    if stage == "posterior":
        real = cal.write_parquet

        def full(path, frame):
            if Path(path).name == cal.POSTERIOR:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            real(path, frame)

        monkeypatch.setattr(cal, "write_parquet", full)
    else:
        import pyabc
        import sqlite3
        from sqlalchemy.exc import OperationalError

        def broken(self, *a, **k):
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))

        monkeypatch.setattr(pyabc.ABCSMC, "run", broken)
    code = run.main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "Traceback" not in err
    assert ("No space left on device" if stage == "posterior" else "database or disk is full") in err, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["reason"]
    assert not (out / cal.POSTERIOR).exists() and not (out / cal.CALIBRATED).exists()
    assert not list(out.glob(".*.tmp-*"))  # no temporary left behind
    # the same command again, the disk mended, finishes the job
    monkeypatch.undo()
    assert run.main([*argv, "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_a_report_that_cannot_be_written_is_a_message_not_a_traceback(job, capsys, monkeypatch):
    argv, out = job
    import analysis.calibration

    def full(folder, where):
        raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(analysis.calibration, "calibration_report", full)
    assert run.main([*argv, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "the calibration is complete" in err and "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


@settings(max_examples=25, deadline=None)
@given(option=st.sampled_from(["--population", "--generations", "--ppc", "--min-acceptance", "--min-epsilon",
                               "--steps", "--seed", "--max-runs"]),
       value=st.one_of(st.integers(-10**6, -1), st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: v < 0 or v != v)))
def test_bad_options_exit_2_and_write_nothing(tmp_path_factory, option, value):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "t.toml").write_text(TARGETS)
    integer = option in ("--population", "--generations", "--ppc", "--steps", "--seed", "--max-runs")
    if integer and not isinstance(value, int):
        value = -1
    argv = ["calibrate", str(BASELINE), "--targets", str(folder / "t.toml"), "--param", "trust.initial=0.2:0.8",
            option, str(value), "--out", str(folder / "out"), "--quiet"]
    try:
        code = run.main(argv)
    except SystemExit as exc:  # argparse refuses a value of the wrong type
        code = exc.code
    assert code == 2
    assert not (folder / "out").exists()
