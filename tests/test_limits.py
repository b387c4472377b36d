"""Oversized requests are refused before they allocate, and the command line's small messages."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import run
from runner.cost import cores

ROOT = Path(__file__).resolve().parent.parent
BASE = "scenarios/baseline.toml"

OVERSIZED = {
    "grid of 1e9 points": ["sweep", BASE, "--param", "market.margin=0.1:0.5:1000000000"],
    "1e9 replicates": ["sweep", BASE, "--param", "market.margin=0.1,0.2", "--replicates", "1000000000"],
    "lhs of 1e9 samples": ["sweep", BASE, "--param", "market.margin=0.1:0.5", "--design", "lhs",
                           "--samples", "1000000000"],
    "three levers x 5000 points": ["sweep", BASE, "--param", "market.margin=0.1:0.5:5000",
                                   "--param", "trust.speed=0.05:0.5:5000", "--param", "market.elasticity=1.5:3:5000"],
    "2e6 firms of degree 200": ["sweep", BASE, "--param", "market.margin=0.1,0.2", "--set", "structure.n_firms=2000000",
                                "--set", "structure.mean_degree=200"],
    "steps beyond the schema's cap": ["sweep", BASE, "--param", "market.margin=0.1,0.2", "--steps", "1000000000"],
    "compare with 1e9 replicates": ["compare", "scenarios/star.toml", "--replicates", "1000000000"],
    "a run beyond the schema's cap": ["run", BASE, "--steps", "1000000000"],
}


def _ceiling() -> None:
    limit = 3 * 1024**3  # far below what any of these would allocate
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("argv", list(OVERSIZED.values()), ids=list(OVERSIZED))
def test_an_oversized_request_is_refused_within_seconds_under_a_memory_ceiling(tmp_path, argv):
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "run.py", *argv, "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, preexec_fn=_ceiling)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert time.monotonic() - t0 < 60
    assert "Traceback" not in proc.stderr and ("--max-" in proc.stderr or "--steps" in proc.stderr)
    assert not out.exists()


def test_a_limit_can_be_raised(tmp_path):
    argv = ["sweep", BASE, "--param", "market.margin=0.1,0.2", "--replicates", "3", "--steps", "2",
            "--set", "structure.n_firms=20", "--out", str(tmp_path / "o"), "--quiet"]
    assert run.main([*argv, "--max-runs", "5"]) == 2
    assert run.main([*argv, "--max-runs", "6"]) == 0


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"jobs": None, "scheduler": None, "dask_local": None, **kw})


def test_jobs_above_the_cores_warn_and_zero_is_refused(capsys):
    from sim.errors import ScenarioError

    run._executor(_args(jobs=cores()))
    assert capsys.readouterr().err == ""
    run._executor(_args(jobs=cores() + 1))
    assert f"{cores() + 1} workers on {cores()} cores" in capsys.readouterr().err
    with pytest.raises(ScenarioError, match="--jobs 0: must be >= 1"):
        run._executor(_args(jobs=0))


def test_an_unknown_reference_is_refused_before_any_run(tmp_path, capsys):
    code = run.main(["compare", "scenarios/star.toml", "scenarios/chain.toml", "--reference", "nosuch",
                     "--out", str(tmp_path / "c")])
    assert code == 2 and "--reference 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_report_of_an_unfinished_job_says_how_to_finish_it(tmp_path, capsys):
    out = tmp_path / "half"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "sweep", "status": "interrupted",
                                                   "counts": {"runs_done": 5, "runs_total": 12}}))
    assert run.main(["report", str(out), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "incomplete (interrupted, 5 of 12 runs)" in err and "run the same sweep command again" in err


def test_a_byte_order_mark_is_accepted_and_a_folder_is_named_as_one(tmp_path, capsys):
    from sim.scenario import ScenarioError, load_scenario

    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf[run]\nsteps = 5\n")
    assert load_scenario(bom).run.steps == 5
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        load_scenario(tmp_path)
    assert run.main(["run", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_an_unwritable_report_folder_is_bad_input_naming_it(tmp_path, capsys):
    from runner import compare

    compare([ROOT / "scenarios" / "star.toml"], tmp_path / "c", replicates=2, steps=2, quiet=True)
    (tmp_path / "file").write_text("x")
    code = run.main(["report", str(tmp_path / "c"), "--out", str(tmp_path / "file" / "report")])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "file") in err and "Traceback" not in err


def test_a_huge_value_is_quoted_by_a_prefix(tmp_path, capsys):
    huge = "[" + ",".join(["0.5"] * 2_000_000) + "]"
    assert run.main(["run", BASE, "--set", f"market.margin={huge}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "market.margin" in err and len(err) < 300 and "(2,000,000 items)" in err
