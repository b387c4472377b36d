"""Observed targets and calibration: validation, statistics, seeds, resuming, and recovery of known parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from analysis.calibration import posterior_summary, weighted_quantile
from runner import Executor
from runner.calibrate import calibrate, parse_bounds
from runner.chunks import run_model
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.targets import Target, load_targets, targets_from_dict

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
TRUE = {"firms.cooperativeness": 0.6, "trust.initial": 0.5}
PRIORS = {"firms.cooperativeness": (0.2, 1.0), "trust.initial": (0.1, 0.9)}
#: Targets observed in the tiny cluster: (kpi, window, standard error of the observation).
SPEC = (("cooperation_rate", [1, 10], 0.03), ("mean_trust", [1, 3], 0.015))

#: The recovery test's cluster: 40 firms over 18 months that pay three times the default into the marketing pool, so
#: joint marketing does not pay for itself for every firm and cooperation varies with their disposition; no contracts
#: at the start, so every contract in force was formed while observed.
RECOVERY = """
[structure]
n_firms = 40
[mechanisms.function_interest]
contribution = 0.3
[mechanisms.contract]
initial_share = 0.0
[run]
steps = 18
"""
RECOVERY_TRUE = {"firms.cooperativeness": 0.6, "trust.initial": 0.5, "mechanisms.contract.formation_rate": 0.1}
RECOVERY_PRIORS = {"firms.cooperativeness": (0.2, 1.0), "trust.initial": (0.1, 0.9),
                   "mechanisms.contract.formation_rate": (0.0, 0.3)}
#: One target per parameter, each mostly moved by it: cooperation, trust before it moves, contracts formed.
RECOVERY_SPEC = (("cooperation_rate", [1, 18], 0.02), ("mean_trust", [1, 3], 0.02), ("contracts_active", [1, 18], 2.0))


def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = 10\n[run]\nsteps = 10\n')
    return path


def observe(scenario: Path, seed: int, folder: Path, truth: dict = TRUE, spec: tuple = SPEC) -> Path:
    """Targets observed in one run at the true parameters, each with a normal measurement error."""
    _, frame = run_model(load_scenario(scenario, truth), 1000 + seed, None)
    rng = np.random.default_rng(seed)
    body = ""
    for kpi, (a, b), se in spec:
        value = float(frame[(frame.step >= a) & (frame.step <= b)][kpi].mean() + rng.normal(0, se))
        body += f'[[target]]\nkpi = "{kpi}"\nstatistic = "mean"\nwindow = [{a}, {b}]\nvalue = {value!r}\nse = {se}\n\n'
    path = folder / f"targets{seed}.toml"
    path.write_text(body)
    return path


def params(priors: dict = PRIORS) -> list[str]:
    return [f"{k}={lo}:{hi}" for k, (lo, hi) in priors.items()]


# --------------------------------------------------------------------------- targets


GOOD = {"kpi": "cooperation_rate", "statistic": "mean", "window": [1, 10], "value": 0.7, "se": 0.05}


@pytest.mark.parametrize("change, field, words", [
    ({"kpi": "trustiness"}, "kpi", "allowed: members"),
    ({"kpi": None, "construct": "happiness"}, "construct", "allowed: trust"),
    ({"construct": "trust"}, "kpi/construct", "exactly one"),
    ({"statistic": "median"}, "statistic", "allowed: at, mean, sum, trend"),
    ({"statistic": "at"}, "window", "takes step"),
    ({"window": [5, 2]}, "window", "first <= last"),
    ({"statistic": "trend", "window": [3, 3]}, "window", "at least two steps"),
    ({"window": [0, 3]}, "window", ">= 1"),
    ({"se": 0.0}, "se", "must be > 0"),
    ({"se": None, "interval": [0.8, 0.9]}, "interval", "must contain the value"),
    ({"se": None}, "se/interval", "exactly one"),
    ({"value": 1.4}, "value", "outside 0-1"),
    ({"value": "high"}, "value", "finite number"),
    ({"colour": "red"}, "colour", "unknown field; allowed: name, kpi"),
    ({"level": 0.9}, "level", "only an interval"),
    ({"kpi": None, "construct": "trust", "scale": [7, 1]}, "scale", "below high end"),
    ({"scale": [1, 7]}, "scale", "only a construct"),
])
def test_bad_target_names_file_target_and_field(change, field, words):
    entry = {**GOOD, **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    with pytest.raises(ScenarioError) as exc:
        targets_from_dict({"target": [GOOD, entry]}, "obs.toml")
    msg = str(exc.value)
    assert msg.startswith("obs.toml: target 2") and f": {field}:" in msg and words in msg, msg


def test_target_file_problems(tmp_path):
    with pytest.raises(ScenarioError, match="targets file not found"):
        load_targets(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[target]\n")
    with pytest.raises(ScenarioError, match="malformed TOML"):
        load_targets(bad)
    bad.write_text("[other]\nx = 1\n")
    with pytest.raises(ScenarioError, match="only \\[\\[target\\]\\]"):
        load_targets(bad)
    with pytest.raises(ScenarioError, match="repeated: a"):
        targets_from_dict({"target": [{**GOOD, "name": "a"}, {**GOOD, "name": "a"}]}, "x")


def test_construct_on_a_survey_scale_and_an_interval_become_the_model_scale():
    (t,) = targets_from_dict({"target": [{"construct": "trust", "scale": [1, 7], "statistic": "at", "step": 4,
                                          "value": 4.0, "interval": [3.0, 5.0], "level": 0.95}]})
    assert t.kpi == "mean_trust" and t.first == t.last == 4
    assert t.value == pytest.approx(0.5)
    assert t.se == pytest.approx(2 / 6 / (2 * 1.959964), rel=1e-5)


def test_statistics_of_a_series():
    frame = pd.DataFrame({"step": np.arange(1, 11), "members": 3.0 * np.arange(1, 11) + 5})

    def stat(s, a, b):
        return Target("x", "members", s, a, b, 0.0, 1.0).of(frame)

    assert stat("at", 4, 4) == 17.0
    assert stat("mean", 1, 3) == pytest.approx(11.0)
    assert stat("sum", 9, 10) == pytest.approx(32.0 + 35.0)
    assert stat("trend", 2, 8) == pytest.approx(3.0)


def test_weighted_quantile_of_equal_weights_is_the_median():
    x = np.array([3.0, 1.0, 2.0])
    assert weighted_quantile(x, np.ones(3), 0.5) == pytest.approx(2.0)
    assert weighted_quantile(x, np.array([0.0, 0.0, 1.0]), 0.5) == pytest.approx(2.0)
    # a value without weight is no part of the distribution, in its tails either
    assert weighted_quantile(x, np.array([0.0, 0.0, 1.0]), 0.05) == pytest.approx(2.0)
    assert weighted_quantile(x, np.array([1.0, 0.0, 1.0]), 0.95) == pytest.approx(3.0)
    assert weighted_quantile(x, np.array([0.0, 1.0, 1.0]), 0.95) == pytest.approx(2.0)


# --------------------------------------------------------------------------- parameters and the command line


@pytest.mark.parametrize("item, words", [
    ("trust.sped=0:1", "unknown key (did you mean 'speed'?); allowed keys under trust"),
    ("structure.n_firms=10:20", "only real-valued"),
    ("trust.speed=0.5:0.1", "lo < hi"),
    ("trust.speed=0.1", "expected lo:hi"),
    ("trust.speed=0.1:2", "less than or equal to 1"),
    ("trust.speed", "expected key=lo:hi"),
])
def test_bad_param(item, words):
    with pytest.raises(ScenarioError) as exc:
        parse_bounds([item], load_scenario(BASELINE))
    assert words in str(exc.value)


@pytest.mark.parametrize("argv, words", [
    (["--param", "trust.speed=0.5:0.1"], "lo < hi"),
    ([], "at least one --param"),
    (["--param", "trust.speed=0.1:0.3", "--population", "3"], "--population 3: must be >= 10"),
    (["--param", "trust.speed=0.1:0.3", "--steps", "5"], "after the run's last step (5)"),
])
def test_bad_calibrate_input_exits_2_and_writes_nothing(capsys, tmp_path, argv, words):
    targets = tmp_path / "t.toml"
    targets.write_text('[[target]]\nkpi = "mean_trust"\nstatistic = "at"\nstep = 8\nvalue = 0.5\nse = 0.05\n')
    code = run.main(["calibrate", str(tiny(tmp_path)), "--targets", str(targets), *argv,
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
    assert not (tmp_path / "out").exists()


def test_bad_targets_file_exits_2(capsys, tmp_path):
    targets = tmp_path / "t.toml"
    targets.write_text('[[target]]\nkpi = "mean_trust"\nstatistic = "at"\nstep = 8\nvalue = 0.5\nse = -1\n')
    code = run.main(["calibrate", str(tiny(tmp_path)), "--targets", str(targets), "--param", "trust.speed=0.1:0.3",
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "t.toml: target 1: se: must be > 0" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- seeds, resuming, outputs


def test_calibrate_writes_everything_and_resumes_as_if_never_stopped(capsys, tmp_path):
    scenario = tiny(tmp_path)
    targets = observe(scenario, 0, tmp_path)
    whole = tmp_path / "whole"
    code = run.main(["calibrate", str(scenario), "--targets", str(targets), *sum((["--param", p] for p in params()), []),
                     "--population", "20", "--generations", "2", "--ppc", "8", "--seed", "3", "--out", str(whole)])
    out, err = capsys.readouterr()
    assert code == 0 and "2 generations" in out and "report:" in out, err
    for f in ("posterior.parquet", "calibrated.toml", "ppc.parquet", "prior_predictive.parquet",
              "generations.parquet", "report/calibration.html", "report/calibration.md"):
        assert (whole / f).is_file(), f
    assert json.loads((whole / "manifest.json").read_text())["status"] == "complete"
    post = pd.read_parquet(whole / "posterior.parquet")
    assert len(post) == 20 and post["weight"].sum() == pytest.approx(1.0)
    # the calibrated scenario loads and holds the posterior medians
    calibrated = load_scenario(whole / "calibrated.toml")
    assert calibrated.description == f"Calibrated from tiny.toml: {', '.join(PRIORS)} at their posterior medians"
    for key in PRIORS:
        assert calibrated.get(key) == pytest.approx(weighted_quantile(post[key].to_numpy(), post["weight"].to_numpy(), 0.5))
    # one generation, then the same command asking for two: the second generation is the same
    part = tmp_path / "part"
    kwargs = dict(population=20, ppc=0, quiet=True, seed=3)
    calibrate(scenario, targets, params(), part, generations=1, **kwargs)
    again = calibrate(scenario, targets, params(), part, generations=2, **kwargs)
    assert again.resumed_from == 1
    pd.testing.assert_frame_equal(again.posterior, post)
    # a finished calibration run again does nothing new
    assert calibrate(scenario, targets, params(), part, generations=2, **kwargs).simulations == again.simulations
    # another job in the same folder is refused
    with pytest.raises(ScenarioError, match="holds another job"):
        calibrate(scenario, targets, params(), part, generations=2, **{**kwargs, "seed": 4})


@pytest.mark.slow
def test_calibrate_gives_the_same_posterior_on_worker_processes_and_dask(tmp_path):
    scenario = tiny(tmp_path)
    targets = observe(scenario, 1, tmp_path)
    kwargs = dict(population=20, generations=2, ppc=4, quiet=True, seed=5)
    serial = calibrate(scenario, targets, params(), tmp_path / "serial", **kwargs)
    pooled = calibrate(scenario, targets, params(), tmp_path / "pooled", executor=Executor(jobs=2), **kwargs)
    pd.testing.assert_frame_equal(serial.posterior, pooled.posterior)
    dask = calibrate(scenario, targets, params(), tmp_path / "dask",
                     executor=Executor(dask_local=1, dask_processes=False), **kwargs)
    pd.testing.assert_frame_equal(serial.posterior, dask.posterior)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / "ppc.parquet"),
                                  pd.read_parquet(tmp_path / "pooled" / "ppc.parquet"))


# --------------------------------------------------------------------------- recovery


@pytest.mark.slow
def test_recovery_of_known_parameters(tmp_path):
    """Ten data sets simulated at known values: 90 % intervals cover them, and the posterior is narrower."""
    scenario = tmp_path / "recovery.toml"
    scenario.write_text(f'extends = "{BASELINE.as_posix()}"\n{RECOVERY}')
    covered = {k: 0 for k in RECOVERY_TRUE}
    width = {k: [] for k in RECOVERY_TRUE}  # posterior 90 % interval over the prior's
    for r in range(10):
        targets = observe(scenario, r, tmp_path, RECOVERY_TRUE, RECOVERY_SPEC)
        outcome = calibrate(scenario, targets, params(RECOVERY_PRIORS), tmp_path / f"cal{r}", population=50,
                            generations=4, ppc=0, quiet=True, seed=r)
        summary = posterior_summary(outcome.posterior, [vars(b) for b in outcome.bounds]).set_index("parameter")
        for k, v in RECOVERY_TRUE.items():
            lo, hi = summary.loc[k, "90% low"], summary.loc[k, "90% high"]
            covered[k] += bool(lo <= v <= hi)
            width[k].append((hi - lo) / (0.9 * (RECOVERY_PRIORS[k][1] - RECOVERY_PRIORS[k][0])))
    assert all(c >= 8 for c in covered.values()), covered
    # every posterior interval at most 0.9 of the prior's, and on average at most three quarters of it
    assert all(max(v) <= 0.9 for v in width.values()), width
    assert all(np.mean(v) <= 0.75 for v in width.values()), width


def test_calibrate_has_help():
    with pytest.raises(SystemExit) as exc:
        run.main(["calibrate", "--help"])
    assert exc.value.code == 0


def test_validate_checks_a_targets_file_as_targets(capsys, tmp_path):
    assert run.main(["validate", str(ROOT / "examples" / "calibration")]) == 0
    assert "4 observed targets" in capsys.readouterr().out
    bad = tmp_path / "obs.toml"
    bad.write_text('[[target]]\nkpi = "mean_trust"\nstatistic = "mean"\nwindow = [3, 1]\nvalue = 0.5\nse = 0.1\n')
    assert run.main(["validate", str(bad)]) == 2
    assert "obs.toml: target 1: window: [3, 1]: needs first <= last" in capsys.readouterr().err


def test_the_calibrated_description_names_the_base_and_its_overrides():
    """A --set that changes the cluster is named, not the base's own description (which would describe another)."""
    from runner.calibrate import Bound
    from runner.calibration_files import calibrated_description

    text = calibrated_description(BASELINE, {"structure.n_firms": 40}, [Bound("trust.speed", 0.05, 0.5)])
    assert text == "Calibrated from baseline.toml with structure.n_firms=40: trust.speed at their posterior medians"


def _make_calibration():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_calibration", ROOT / "examples/results/make_calibration.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_shipping_a_calibration_folder_drops_what_it_leaves_out_from_the_manifest(tmp_path):
    folder = tmp_path / "cal"
    (folder / "report" / "figures").mkdir(parents=True)
    for f in ("posterior.parquet", "calibrated.toml", "calibration.db", "report/calibration.html",
              "report/figures/calibration_pairs.png", ".lock"):
        (folder / f).write_text("x")
    (folder / "manifest.json").write_text(json.dumps({"kind": "calibration",
                                                      "files": ["posterior.parquet", "calibrated.toml",
                                                                "calibration.db"]}))
    _make_calibration().ship(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] == ["posterior.parquet", "calibrated.toml"]
    assert set(manifest["left_out"]) == {"calibration.db", "report/*.html", ".lock"}
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "calibrated.toml", "manifest.json", "posterior.parquet", "report/figures/calibration_pairs.png"]


def test_the_shipped_calibration_holds_every_file_its_manifest_lists():
    folder = ROOT / "examples" / "results" / "calibration"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"] and all((folder / f).is_file() for f in manifest["files"]), manifest["files"]
    assert "calibration.db" in manifest["left_out"] and not (folder / "calibration.db").exists()
    # the calibrated scenario says what it is, not the base's 200-firm cluster
    calibrated = load_scenario(folder / "calibrated.toml")
    assert calibrated.structure.n_firms == 40 and "structure.n_firms=40" in calibrated.description
