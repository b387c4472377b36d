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



def test_a_first_run_that_fails_removes_its_folder_before_the_next_command_can_take_it(job, monkeypatch, capsys,
                                                                                       newcomer_on_release):
    from runner.files import LOCK, _same_file
    from sim.errors import ScenarioError

    def unreadable(path):
        raise ScenarioError(f"{path}: cannot be read")

    monkeypatch.setattr(cal, "scenario_record", unreadable)  # fails after the lock, before anything is written
    argv, out = job
    newcomer = newcomer_on_release(out)
    assert run.main([*argv, "--out", str(out)]) == 2
    assert "cannot be read" in capsys.readouterr().err
    # the newcomer took the lock after the failed run had removed the folder, and keeps it
    assert {p.name for p in out.iterdir()} == {LOCK} and _same_file(newcomer._fd, out / LOCK)
    assert run.main([*argv, "--out", str(out)]) == 2
    assert "in use by process" in capsys.readouterr().err

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


# --------------------------------------------------------------------------- nuisance parameters


def _uncertain_job(tmp_path, *extra):
    (tmp_path / "u.toml").write_text(
        f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = 10\n[run]\nsteps = 6\n'
        '[uncertain.params]\n"trust.w_benefits" = {dist = "uniform", lo = 1.0, hi = 3.0}\n'
        '"market.demand" = {dist = "uniform", lo = 0.8, hi = 1.2}\n'
        '"trust.initial" = {dist = "uniform", lo = 0.4, hi = 0.6}\n')
    (tmp_path / "t.toml").write_text(TARGETS)
    return ["calibrate", str(tmp_path / "u.toml"), "--targets", str(tmp_path / "t.toml"),
            "--param", "trust.initial=0.2:0.8", "--population", "12", "--generations", "1", "--ppc", "4",
            "--seed", "3", "--quiet", *extra]


def test_uncertain_parameters_not_calibrated_are_drawn_per_simulation(tmp_path, capsys):
    import pandas as pd

    from sim.scenario import load_scenario

    out = tmp_path / "cal"
    assert run.main([*_uncertain_job(tmp_path, "--set", "market.demand=1.1"), "--out", str(out)]) == 0, \
        capsys.readouterr().err
    post = pd.read_parquet(out / "posterior.parquet")
    # trust.initial is calibrated (its uniform prior wins), market.demand set: only trust.w_benefits is a nuisance
    assert list(post.columns) == ["trust.initial", "trust.w_benefits", "weight"]
    assert post["trust.w_benefits"].between(1.0, 3.0).all() and post["trust.w_benefits"].nunique() == len(post)
    prior = pd.read_parquet(out / "prior_predictive.parquet")
    assert prior["trust.w_benefits"].nunique() == len(prior)  # a fresh draw for every simulation
    assert "trust.w_benefits" in pd.read_parquet(out / "ppc.parquet")  # predictive runs use the joint draws
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["identity"]["nuisance"]["keys"] == ["trust.w_benefits"]
    assert "drawn afresh for every simulation: trust.w_benefits" in (out / "report" / "calibration.md").read_text()
    # the calibrated scenario draws the joint posterior; nothing is declared twice, the set value stays fixed
    calibrated = load_scenario(out / "calibrated.toml")
    assert calibrated.uncertain.params == {} and calibrated.market.demand == 1.1
    # the same seed gives the same joint posterior
    again = tmp_path / "again"
    assert run.main([*_uncertain_job(tmp_path, "--set", "market.demand=1.1"), "--out", str(again)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(again / "posterior.parquet"), post)


def test_a_posterior_file_of_the_base_is_drawn_row_by_row(tmp_path, capsys):
    import pandas as pd

    from sim.scenario import load_scenario

    rows = pd.DataFrame({"trust.w_benefits": [1.5, 2.0, 2.5], "market.demand": [0.9, 1.0, 1.1],
                         "weight": [1.0, 2.0, 1.0]})
    rows.to_parquet(tmp_path / "earlier.parquet")
    (tmp_path / "u.toml").write_text(f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = 10\n'
                                     '[run]\nsteps = 6\n[uncertain]\nposterior = "earlier.parquet"\n')
    (tmp_path / "t.toml").write_text(TARGETS)
    out = tmp_path / "cal"
    assert run.main(["calibrate", str(tmp_path / "u.toml"), "--targets", str(tmp_path / "t.toml"),
                     "--param", "trust.initial=0.2:0.8", "--population", "12", "--generations", "1", "--ppc", "0",
                     "--seed", "3", "--quiet", "--out", str(out)]) == 0, capsys.readouterr().err
    post = pd.read_parquet(out / "posterior.parquet")
    pairs = set(zip(rows["trust.w_benefits"], rows["market.demand"]))
    assert set(zip(post["trust.w_benefits"], post["market.demand"])) <= pairs  # whole rows, as compare draws them
    assert Path(load_scenario(out / "calibrated.toml").uncertain.posterior) == (out / "posterior.parquet").resolve()


def test_bad_input_met_while_running_marks_the_manifest_failed(job, capsys, monkeypatch):
    from sim.errors import ScenarioError

    argv, out = job

    def refuse(self, values, seed, noise):
        raise ScenarioError(f"calibration draw: {dict(values)}: not allowed here")

    monkeypatch.setattr(cal.Simulator, "simulate", refuse)
    assert run.main([*argv, "--out", str(out)]) == 2
    assert "not allowed here" in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "not allowed here" in manifest["reason"]
