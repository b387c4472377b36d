"""The command line end to end on tiny scenarios, and every kind of bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import run
from sim.kpis import kpi
from sim.metrics import KPI_COLUMNS
from tests.conftest import ROOT, small_scenario


def tiny(tmp_path: Path, name: str = "tiny", body: str = "") -> Path:
    return small_scenario(tmp_path, name, n_firms=40, steps=10, body=body)


# --------------------------------------------------------------------------- help


def test_help_of_every_command():
    proc = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for name in ("validate", "run", "sweep", "compare", "compare-main", "report", "discover", "viz"):
        assert name in proc.stdout
        with pytest.raises(SystemExit) as exc:
            run.main([name, "--help"])
        assert exc.value.code == 0


def test_compare_main_help_gives_the_main_jobs_replicates(capsys):
    from runner.commands import MAIN_REPLICATES

    with pytest.raises(SystemExit):
        run.main(["compare-main", "--help"])
    assert f"(default {MAIN_REPLICATES}, the main job's)" in " ".join(capsys.readouterr().out.split())


def _subparsers():
    import argparse

    parser = run.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


@pytest.mark.parametrize("name", sorted(_subparsers()))
def test_every_command_help_has_a_description_and_shows_its_defaults(name, capsys):
    parser = _subparsers()[name]
    assert parser.description and len(parser.description) > 30, name
    with pytest.raises(SystemExit):
        run.main([name, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "".join(parser.description.split()) in "".join(text.split())  # wrapping may break at a hyphen
    for action in parser._actions:
        if action.option_strings and action.dest != "help" and action.default not in (None, False):
            own = text.split(action.option_strings[-1] + " ", 2)[-1]  # the help after the option's own line
            assert re.search(rf"default:? {re.escape(str(action.default))}\b", own), (name, action.dest)
    if name in ("compare", "report"):
        assert "default: baseline if it is among the scenarios, else the first one" in text
    if name == "report":
        assert "default: RESULTS_DIR/report" in text
    if name == "run":
        assert "snapshots/" in text


def test_compare_main_help_lists_every_scenario_it_runs(capsys):
    from runner.commands import MAIN_SCENARIOS

    with pytest.raises(SystemExit):
        run.main(["compare-main", "--help"])
    text = "".join(capsys.readouterr().out.split())
    assert f"the{len(MAIN_SCENARIOS)}shippedscenarios" in text
    assert all(name in text for name in MAIN_SCENARIOS)


# --------------------------------------------------------------------------- commands


def test_validate_ok(cli, tmp_path):
    code, out, _ = cli("validate", tiny(tmp_path), ROOT / "scenarios")
    assert code == 0
    assert "0 invalid" in out


def test_run_writes_files_and_prints_kpis(cli, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = cli("run", tiny(tmp_path), "--seed", 7, "--steps", 12,
                         "--set", "structure.kind=star", "--out", out_dir)
    assert code == 0, err
    assert "cooperation_rate" in out and "at step 12" in out and "mean over the second half (steps 7-12)" in out
    assert re.search(r"^members\s+firms\s+\d+\.\d{3}\s+\d+\.\d{3}$", out, re.M), out
    assert not re.search(r"\de[+-]\d", out)  # fixed decimals, never an exponent
    frame = pd.read_parquet(out_dir / "timeseries.parquet")
    assert len(frame) == 12
    assert set(KPI_COLUMNS) <= set(frame.columns)
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["steps"] == 12
    assert "cooperation_rate_final" in summary
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["overrides"] == {"structure.kind": "star"}
    assert manifest["resolved_scenario"]["structure"]["kind"] == "star"
    assert len(manifest["scenario"]["sha256"]) == 64
    # same scenario and seed: the same numbers
    code, _, _ = cli("run", tiny(tmp_path), "--seed", 7, "--steps", 12,
                     "--set", "structure.kind=star", "--out", tmp_path / "again")
    assert pd.read_parquet(tmp_path / "again" / "timeseries.parquet").equals(frame)


def test_sweep_row_is_reproducible_alone(cli, tmp_path):
    scn = tiny(tmp_path)
    code, out, err = cli("sweep", scn, "--param", "mechanisms.regulation.sanction=0,2",
                         "--replicates", 2, "--seed", 5, "--quiet", "--out", tmp_path / "sw")
    assert code == 0, err
    results = pd.read_parquet(tmp_path / "sw" / "results.parquet")
    assert len(results) == 4
    row = results.iloc[3]
    assert row["seed"] < 2**53  # exact even where a row passes through float
    code, _, err = cli("run", scn, "--seed", int(row["seed"]),
                       "--set", f"mechanisms.regulation.sanction={row['mechanisms.regulation.sanction']}",
                       "--out", tmp_path / "one")
    assert code == 0, err
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert summary["cooperation_rate_mean"] == row["cooperation_rate_mean"]
    assert summary["profit_final"] == row["profit_final"]


def test_compare_uses_common_random_numbers(cli, tmp_path):
    a = tiny(tmp_path, "alpha")
    b = tiny(tmp_path, "beta", '[mechanisms.regulation]\nenabled = false\n')
    out_dir = tmp_path / "cmp"
    code, out, err = cli("compare", a, b, "--replicates", 2, "--seed", 3, "--no-report", "--out", out_dir)
    assert code == 0, err
    assert "alpha" in out and "beta" in out
    assert "mean over the second half of a run (steps 6-10), averaged over 2 replicates per scenario" in out
    assert re.search(r"^kpi\s+unit\s+alpha\s+beta$", out, re.M), out
    for name in ("brand_equity", "members", "profit"):
        unit = kpi(name).unit
        assert re.search(rf"^{name}\s+{re.escape(unit)}\s+-?[\d,]+\.\d{{3}}\s+-?[\d,]+\.\d{{3}}$", out, re.M), out
    assert not re.search(r"\de[+-]\d", out)  # fixed decimals, never an exponent
    results = pd.read_parquet(out_dir / "results.parquet")
    assert list(results["scenario"]) == ["alpha", "alpha", "beta", "beta"]
    assert list(results["replicate"]) == [0, 1, 0, 1]
    seeds = results.groupby("scenario")["seed"].apply(list)
    assert seeds["alpha"] == seeds["beta"]
    assert set(results["scenario_file"]) == {str(a), str(b)}
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    assert list(ts.columns[:4]) == ["scenario", "replicate", "seed", "step"]
    assert len(ts) == 4 * 10 and set(KPI_COLUMNS) <= set(ts.columns)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["replicates"] == 2 and manifest["master_seed"] == 3
    assert [f["file"] for f in manifest["scenario_files"]] == [str(a), str(b)]
    assert manifest["status"] == "complete"


@pytest.mark.slow
def test_compare_calls_the_report_or_skips_it(cli, tmp_path):
    out_dir = tmp_path / "cmp"
    try:
        import analysis.report  # noqa: F401
        has_report = True
    except ImportError:
        has_report = False
    code, out, err = cli("compare", tiny(tmp_path), "--replicates", 2, "--quiet", "--out", out_dir)
    if has_report:
        assert code == 0, err
        assert re.search(r"^report: \S+ \(see its Summary for verdicts\)$", out, re.M), out
        shutil.rmtree(out_dir / "report")
        code, out, err = cli("report", out_dir)  # without --out: into RESULTS_DIR/report, as the help says
        assert code == 0, err
        assert out.strip() == f"report: {out_dir / 'report' / 'report.html'} (see its Summary for verdicts)"
    else:
        assert code == 0 and "report skipped" in err


def test_report_and_viz_errors_are_clean(cli, tmp_path):
    code, _, err = cli("report", tmp_path / "nothing", "--out", tmp_path / "rep")
    assert code == 2 and "results.parquet" in err
    assert not (tmp_path / "rep").exists()


# --------------------------------------------------------------------------- bad input

BAD_FILES = {
    "unknown key": ('[structure]\nn_firmz = 40\n', "structure.n_firmz"),
    "wrong type": ('[structure]\nn_firms = "many"\n', "structure.n_firms"),
    "out of range": ('[mechanisms.regulation]\nmonitoring_prob = 1.5\n', "mechanisms.regulation.monitoring_prob"),
    "bad choice": ('[structure]\nkind = "ring"\n', "structure.kind"),
    "malformed TOML": ('[structure\nn_firms = 40\n', "malformed TOML"),
    "unknown extends": ('extends = "no_such_base.toml"\n', "extends"),
}


def write_bad(tmp_path: Path, case: str) -> Path:
    body, _ = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(f"# bad on purpose\n{body}")
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["validate", "run", "sweep", "compare"])
def test_bad_file_exits_2_names_the_field_and_writes_nothing(cli, tmp_path, case, command):
    path = write_bad(tmp_path, case)
    out_dir = tmp_path / "out"
    argv = {"validate": ["validate", path],
            "run": ["run", path, "--out", out_dir],
            "sweep": ["sweep", path, "--param", "mechanisms.regulation.sanction=0,1", "--out", out_dir],
            "compare": ["compare", path, "--out", out_dir]}[command]
    code, _, err = cli(*argv)
    assert code == 2
    assert BAD_FILES[case][1] in err
    assert str(path) in err or path.name in err
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_extends_cycle_and_missing_file(cli, tmp_path):
    (tmp_path / "a.toml").write_text('# a\nextends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('# b\nextends = "a.toml"\n')
    code, _, err = cli("validate", tmp_path / "a.toml", tmp_path / "missing.toml")
    assert code == 2
    assert "cycle" in err and "missing.toml" in err and "file not found" in err


def test_validate_lists_every_problem(cli, tmp_path):
    (tmp_path / "one.toml").write_text("# one\n[structure]\nn_firms = -1\n")
    (tmp_path / "two.toml").write_text("# two\n[market]\nmargin = \"high\"\n")
    code, out, err = cli("validate", tmp_path)
    assert code == 2
    assert "structure.n_firms" in err and "market.margin" in err and "2 invalid" in out


@pytest.mark.parametrize("item, needle", [
    ("structure.n_firmz=3", "structure.n_firmz"),
    ("structure.n_firms=abc", "structure.n_firms"),
    ("structure.n_leading=40", "n_leading"),  # the file's 40 firms: a cross-field check
    ("novalue", "dotted.key=value"),
])
def test_validate_checks_an_override_as_run_would(cli, tmp_path, item, needle):
    scenario = tiny(tmp_path)
    code, out, err = cli("validate", scenario, "--set", item)
    assert code == 2 and needle in err, err
    run_code, _, run_err = cli("run", scenario, "--set", item, "--out", tmp_path / "out")
    assert run_code == 2 and needle in run_err and not (tmp_path / "out").exists()


def test_validate_with_set_says_so(cli, tmp_path):
    code, out, err = cli("validate", tiny(tmp_path), "--set", "structure.kind=star", "--set", "run.steps=120")
    assert code == 0, err
    assert "1 valid, 0 invalid with --set structure.kind='star', run.steps=120" in out


@pytest.mark.parametrize("argv, needle", [
    (["--set", "structure.n_firmz=3"], "structure.n_firmz"),
    (["--set", "structure.n_firms=abc"], "structure.n_firms"),
    (["--set", "novalue"], "dotted.key=value"),
    (["--steps", "0"], "--steps"),
    (["--seed", "-1"], "--seed"),
])
def test_bad_run_options(cli, tmp_path, argv, needle):
    code, _, err = cli("run", tiny(tmp_path), *argv, "--out", tmp_path / "out")
    assert code == 2 and needle in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--param", "mechanisms.regulation.sanctionz=0,1"], "mechanisms.regulation.sanctionz"),
    (["--param", "mechanisms.regulation.monitoring_prob=0:2:3"], "mechanisms.regulation.monitoring_prob"),
    (["--param", "structure.kind=star,ring"], "structure.kind"),
    (["--param", "market.margin=0.1:0.5"], "n >= 2"),
    (["--param", "market.margin"], "dotted.key=SPEC"),
    (["--param", "market.margin=0.1,0.5", "--samples", "4"], "--samples"),
    (["--param", "market.margin=0.1:0.5", "--design", "sobol", "--samples", "6"], "power of 2"),
    (["--param", "market.margin=0.1,0.5", "--replicates", "0"], "--replicates"),
    (["--param", "structure.n_firms=3,30", "--set", "structure.mean_degree=6"], "mean_degree"),
    ([], "--param"),
])
def test_bad_sweep_options(cli, tmp_path, argv, needle):
    code, _, err = cli("sweep", tiny(tmp_path), *argv, "--out", tmp_path / "out")
    assert code == 2, err
    assert needle in err
    assert not (tmp_path / "out").exists()


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path):
    path = write_bad(tmp_path, "out of range")
    proc = subprocess.run([sys.executable, "run.py", "run", str(path), "--out", str(tmp_path / "o")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "mechanisms.regulation.monitoring_prob" in proc.stderr and "1.5" in proc.stderr
    assert "Traceback" not in proc.stderr


# hypothesis: random bad values and keys in random sections
SECTIONS = {
    "structure": {"n_firms": "int", "mean_degree": "float", "kind": "choice"},
    "firms": {"cooperativeness": "unit", "values_dim": "int"},
    "mechanisms.regulation": {"monitoring_prob": "unit", "expulsion_strikes": "int"},
    "mechanisms.function_interest": {"sharing": "choice", "multiplier": "float"},
    "market": {"margin": "unit", "brand_decay": "unit"},
    "information": {"digitalization": "unit", "relay_delay": "int"},
}

bad_value = {
    "int": st.one_of(st.integers(max_value=-1), st.from_regex(r"[a-z]{1,5}", fullmatch=True).map(lambda s: f'"{s}"')),
    "float": st.one_of(st.floats(max_value=-1e-3, allow_nan=False, allow_infinity=False).map(repr),
                       st.just('"x"'), st.just("[1, 2]")),
    "unit": st.one_of(st.floats(min_value=1.001, max_value=1e6).map(repr),
                      st.floats(max_value=-1e-3, min_value=-1e6).map(repr), st.just("\"high\"")),
    "choice": st.sampled_from(['"ring"', '"Network"', "3", '""']),
}


@st.composite
def bad_file(draw):
    section = draw(st.sampled_from(sorted(SECTIONS)))
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(SECTIONS[section])))
        value = draw(bad_value[SECTIONS[section][key]])
        if isinstance(value, int):
            value = str(value)
    else:
        key = draw(st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(lambda k: k not in {
            "n_firms", "mean_degree", "kind", "cooperativeness", "values_dim", "monitoring_prob",
            "expulsion_strikes", "sharing", "multiplier", "margin", "brand_decay", "digitalization",
            "relay_delay", "generator", "rewire_p", "n_leading", "service_share", "up_links", "peer_p", "n_functions",
            "n_associations", "enabled", "sanction", "dues", "demand", "growth"}))
        value = "1"
    return f"# generated\n[{section}]\n{key} = {value}\n", f"{section}.{key}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=bad_file())
def test_generated_bad_files(cli, tmp_path, case):
    text, dotted = case
    path = tmp_path / "gen.toml"
    path.write_text(text)
    out_dir = tmp_path / "never"
    for argv in (["validate", path], ["run", path, "--out", out_dir]):
        code, _, err = cli(*argv)
        assert code == 2, (text, err)
        assert dotted in err, (text, err)
        assert not out_dir.exists()


def test_compare_inline_variants_and_set_reach_every_arm(cli, tmp_path):
    a = tiny(tmp_path, "alpha")
    out_dir = tmp_path / "dose"
    code, out, err = cli("compare", a, f"{a}@information.digitalization=1.0",
                         f"{a}@name=nodigi@information.digitalization=0.0", "--set", "run.steps=6",
                         "--replicates", 2, "--seed", 3, "--no-report", "--out", out_dir)
    assert code == 0, err
    results = pd.read_parquet(out_dir / "results.parquet")
    names = ["alpha", "alpha@information.digitalization=1.0", "nodigi"]
    assert list(dict.fromkeys(results["scenario"])) == names
    seeds = results.groupby("scenario")["seed"].apply(list)
    assert all(seeds[n] == seeds["alpha"] for n in names)
    lost = results.groupby("scenario")["info_lost_final"].mean()
    assert lost["nodigi"] > lost["alpha@information.digitalization=1.0"]
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    assert (ts.groupby(["scenario", "replicate"]).size() == 6).all()
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["set"] == {"run.steps": 6}
    assert [arm["name"] for arm in manifest["arms"]] == names
    resolved = manifest["identity"]["scenarios"]
    assert [resolved[n]["information"]["digitalization"] for n in names] == [0.3, 1.0, 0.0]


@pytest.mark.parametrize("arm, words", [("@information.digitalization=1.5", ["digitalization", "1.5", "<= 1.0"]),
                                        ("@information.digitize=0.5", ["digitize", "allowed keys"]),
                                        ("@name=alpha@run.steps=5", ["unique", "alpha"])])
def test_compare_bad_variant_exits_2_and_writes_nothing(cli, tmp_path, arm, words):
    a = tiny(tmp_path, "alpha")
    out_dir = tmp_path / "bad"
    code, out, err = cli("compare", a, f"{a}{arm}", "--replicates", 1, "--no-report", "--out", out_dir)
    assert code == 2
    assert all(w in err for w in words), err
    assert not out_dir.exists()
