"""The analysis package: statistics on known cases, SALib on Ishigami, the report, bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from analysis.io import load_results
from analysis.report import COMPARE_SECTIONS, MIN_UNITS, SWEEP_SECTIONS, build_report
from analysis.scorecard import scorecard
from analysis.sensitivity import morris_function, sobol_function, sweep_morris, sweep_sensitivity
from analysis.stats import holm, paired_differences, replicates_needed, t_interval
from sim.scenario import ScenarioError
from tests.conftest import small_scenario


ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
#: Analytic Ishigami indices for a=7, b=0.1.
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


# --------------------------------------------------------------------------- statistics


def test_t_interval_covers_the_true_mean_at_its_nominal_rate():
    """3000 samples of n=5 from N(3, 2): coverage 0.95 within ±0.015 (about 3.8 binomial sd)."""
    rng = np.random.default_rng(1)
    hits = 0
    draws = 3000
    for _ in range(draws):
        _, _, lo, hi, n = t_interval(rng.normal(3.0, 2.0, size=5))
        hits += lo <= 3.0 <= hi
    assert n == 5
    assert abs(hits / draws - 0.95) < 0.015


def test_t_interval_edge_cases():
    mean, sd, lo, hi, n = t_interval([4.0])
    assert (mean, n) == (4.0, 1) and np.isnan(sd) and np.isnan(lo)
    assert t_interval([])[4] == 0
    assert t_interval([1.0, np.nan, 3.0])[0] == 2.0


def _paired_frame(rng, n: int, shift: float, common_sd: float = 5.0, noise_sd: float = 0.1) -> pd.DataFrame:
    """Two scenarios sharing a large per-seed component (common random numbers) plus small noise."""
    seeds = np.arange(100, 100 + n)
    common = rng.normal(0, common_sd, size=n)
    rows = []
    for name, delta in (("ref", 0.0), ("treat", shift)):
        y = 10 + common + delta + rng.normal(0, noise_sd, size=n)
        rows += [{"scenario": name, "replicate": i, "seed": int(s), "cooperation_rate_mean": v}
                 for i, (s, v) in enumerate(zip(seeds, y))]
    return pd.DataFrame(rows)


def test_paired_test_detects_a_planted_difference_thanks_to_pairing():
    rng = np.random.default_rng(2)
    frame = _paired_frame(rng, n=6, shift=0.3)
    d = paired_differences(frame, "ref", ["cooperation_rate"]).iloc[0]
    assert d["significant"] and d["ci_low"] < 0.3 < d["ci_high"]
    assert d["d_z"] > 1 and "beats ref on cooperation_rate by +" in d["verdict"]
    # an unpaired comparison would drown in the common component (sd 5 against a shift of 0.3)
    ref, treat = (frame.loc[frame.scenario == s, "cooperation_rate_mean"] for s in ("ref", "treat"))
    from scipy import stats

    assert stats.ttest_ind(treat, ref).pvalue > 0.05


def test_paired_test_rejects_a_null_difference_at_about_alpha():
    rng = np.random.default_rng(3)
    rejections = sum(bool(paired_differences(_paired_frame(rng, 8, 0.0), "ref", ["cooperation_rate"])
                          ["significant"].iloc[0]) for _ in range(200))
    assert rejections / 200 < 0.09
    d = paired_differences(_paired_frame(rng, 5, 0.0), "ref", ["cooperation_rate"]).iloc[0]
    if not d["significant"]:
        assert d["verdict"].startswith("cannot tell treat apart from ref") and "5 replicates" in d["verdict"]


def test_holm_and_replicates_needed_on_known_values():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([np.nan, 0.01])[0]) and holm([np.nan, 0.01])[1] == 0.01
    # paired t-test, d_z = 0.5, alpha 0.05, power 0.8: 34 pairs (standard tables)
    assert replicates_needed(0.5) == 34
    assert replicates_needed(0.0) == np.inf


def test_identical_scenarios_are_reported_as_identical():
    frame = _paired_frame(np.random.default_rng(4), 4, 0.0, noise_sd=0.0)
    d = paired_differences(frame, "ref", ["cooperation_rate"]).iloc[0]
    assert not d["significant"] and "identical" in d["verdict"]


def test_scorecard_scales_and_weights():
    rows = []
    for i, name in enumerate(["low", "mid", "high"]):
        for seed in (1, 2, 3):
            rows.append({"scenario": name, "seed": seed, "marketing_roi_mean": i, "brand_equity_mean": i + 1,
                         "marketing_spend_mean": 1.0, "revenue_final": 1 + i, "revenue_mean": 1.0,
                         "mean_trust_mean": i, "mean_commitment_mean": i, "functional_conflict_mean": i,
                         "shared_values_mean": 0.5})
    card, used = scorecard(pd.DataFrame(rows), n_boot=20)
    assert list(card["scenario"]) == ["high", "mid", "low"]
    # best everywhere except shared values, where all tie at 5 points
    assert card["score"].iloc[0] == pytest.approx(10 - 5 * used["shared_values"])
    assert card["score"].iloc[-1] == pytest.approx(5 * used["shared_values"])
    assert card.set_index("scenario").loc["mid", "marketing_roi_pts"] == pytest.approx(5.0)
    assert card["shared_values_pts"].eq(5.0).all()
    assert sum(used.values()) == pytest.approx(1.0)


# --------------------------------------------------------------------------- sensitivity


def test_sobol_wrapper_gives_the_ishigami_indices():
    si = sobol_function(ishigami, ISHIGAMI, n=1024, seed=1)
    np.testing.assert_allclose(si["S1"], ISHIGAMI_S1, atol=0.06)
    np.testing.assert_allclose(si["ST"], ISHIGAMI_ST, atol=0.08)
    mo = morris_function(ishigami, ISHIGAMI, trajectories=50, seed=1)
    assert (mo["mu_star"] > 1).all()  # x3 acts only through its interaction with x1


def _ishigami_sweep(folder: Path, x: np.ndarray, design: dict, seed: int = 7, trust: bool = True) -> Path:
    """A complete sweep folder over the design points ``x`` whose KPI is the Ishigami function of them."""
    y = ishigami(x)
    names = ISHIGAMI["names"]
    runs = pd.DataFrame({"run_id": np.arange(len(y)), **{nm: x[:, i] for i, nm in enumerate(names)},
                         "replicate": 0, "seed": 7, "cooperation_rate_mean": y, "cooperation_rate_final": y,
                         **({"mean_trust_mean": x[:, 0], "mean_trust_final": x[:, 0]} if trust else {})})
    folder.mkdir()
    runs.to_parquet(folder / "results.parquet", index=False)
    manifest = {"kind": "sweep", "status": "complete", "master_seed": seed,
                "design": {**design, "points": len(y), "replicates": 1, "columns": names,
                           "params": [{"name": nm, "spec": "-pi:pi", "type": "float", "low": -np.pi,
                                       "high": np.pi, "n": None} for nm in names]}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _fake_sweep(folder: Path, design: str = "sobol", n: int = 512) -> Path:
    """A Saltelli-design sweep folder whose KPI is the Ishigami function of the design points."""
    from SALib.sample import sobol as sobol_sample

    x = sobol_sample.sample(ISHIGAMI, n, calc_second_order=True, seed=2)
    return _ishigami_sweep(folder, x, {"kind": design, "samples": n})


def test_sweep_sensitivity_reads_a_sobol_sweep(tmp_path):
    table = sweep_sensitivity(_fake_sweep(tmp_path / "sw"), ["cooperation_rate", "mean_trust"])
    si = table[table["kpi"] == "cooperation_rate"].set_index("param").loc[ISHIGAMI["names"]]
    np.testing.assert_allclose(si["S1"], ISHIGAMI_S1, atol=0.08)
    np.testing.assert_allclose(si["ST"], ISHIGAMI_ST, atol=0.1)
    assert si["mu_star"].gt(0).all() and si.loc["x3", "ST"] > si.loc["x3", "S1"] + 0.1
    trust = table[table["kpi"] == "mean_trust"]
    assert trust.iloc[0]["param"] == "x1" and trust.iloc[0]["label"] == "influential"


MORRIS_LEVELS = 4


def _fake_morris_sweep(folder: Path, trajectories: int = 50, seed: int = 7) -> Path:
    """A ``--design morris`` sweep folder whose KPI is the Ishigami function of the design points."""
    from SALib.sample import morris

    x = morris.sample(ISHIGAMI, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    folder = _ishigami_sweep(folder, x, {"kind": "morris", "samples": trajectories, "levels": MORRIS_LEVELS,
                                         "trajectories": trajectories}, seed=seed, trust=False)
    pd.DataFrame(x, columns=ISHIGAMI["names"]).to_parquet(folder / "design_unit.parquet", index=False)
    return folder


def test_sweep_morris_matches_salib_on_the_same_design(tmp_path):
    table = sweep_morris(_fake_morris_sweep(tmp_path / "mo"), ["cooperation_rate"]).set_index("param")
    direct = morris_function(ishigami, ISHIGAMI, trajectories=50, seed=7).set_index("param")
    np.testing.assert_allclose(table.loc[ISHIGAMI["names"], "mu_star"], direct.loc[ISHIGAMI["names"], "mu_star"], rtol=1e-12)
    assert (table["mu_star"] > 1).all() and table.loc["x1", "rank"] < table.loc["x3", "rank"]


def test_sweep_morris_reads_the_stored_design_and_refuses_a_mismatch(tmp_path):
    folder = _fake_morris_sweep(tmp_path / "mo")
    unit = pd.read_parquet(folder / "design_unit.parquet")
    unit.iloc[::2] = unit.iloc[::2] * 0.5  # the stored matrix no longer matches the runs' parameters
    unit.to_parquet(folder / "design_unit.parquet", index=False)
    with pytest.raises(ScenarioError, match="differ from the sample matrix"):
        sweep_morris(folder, ["cooperation_rate"])
    (folder / "design_unit.parquet").unlink()
    with pytest.raises(ScenarioError, match="no design_unit.parquet"):
        sweep_morris(folder, ["cooperation_rate"])
    with pytest.raises(ScenarioError, match="--design morris"):
        sweep_morris(_fake_sweep(tmp_path / "sw", n=16), ["cooperation_rate"])


def test_a_morris_folder_without_its_design_gets_a_sentence_not_a_failure(tmp_path):
    folder = _fake_morris_sweep(tmp_path / "mo", trajectories=8)
    (folder / "design_unit.parquet").unlink()
    text = build_report(folder, tmp_path / "rep").read_text()
    assert "no design_unit.parquet" in text and "rerun the sweep" in text
    for section in SWEEP_SECTIONS:
        assert f"<h2>{section}</h2>" in text


def test_morris_report_has_every_section(tmp_path):
    path = build_report(_fake_morris_sweep(tmp_path / "mo", trajectories=8), tmp_path / "rep")
    text = path.read_text()
    for section in SWEEP_SECTIONS:
        assert f"<h2>{section}</h2>" in text
    assert "Morris plane" in text and (tmp_path / "rep" / "figures" / "morris.svg").is_file()


def test_sweep_report_has_every_section(tmp_path):
    path = build_report(_fake_sweep(tmp_path / "sw", n=128), tmp_path / "rep")
    text = path.read_text()
    for section in SWEEP_SECTIONS:
        assert f"<h2>{section}</h2>" in text
    assert (tmp_path / "rep" / "figures" / "sensitivity.svg").is_file()


# --------------------------------------------------------------------------- the report


def _tiny(tmp: Path, name: str, body: str = "") -> Path:
    return small_scenario(tmp, name, n_firms=40, steps=15, body=body)


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cmp")
    a = _tiny(tmp, "baseline_small")
    b = _tiny(tmp, "no_reg_small", "[mechanisms.regulation]\nenabled = false\n")
    out = tmp / "out"
    code = run.main(["compare", str(a), str(b), "--replicates", "3", "--seed", "5", "--no-report", "--quiet",
                     "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def report_dir(compare_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rep")
    path = build_report(compare_dir, out, reference="baseline_small")
    assert path == out / "report.html"
    return out


def test_report_has_every_section_and_is_self_contained(report_dir):
    page = (report_dir / "report.html").read_text()
    md = (report_dir / "report.md").read_text()
    for section in COMPARE_SECTIONS:
        assert f"<h2>{section}</h2>" in page and f"## {section}\n" in md
    assert "http://" not in page and "https://" not in page and "<link" not in page and "<script" not in page
    assert page.count('src="data:image/png;base64,') == 5
    for name in ("forest", "timeseries", "distributions", "network", "morgan_hunt"):
        assert (report_dir / "figures" / f"{name}.png").is_file()
        assert (report_dir / "figures" / f"{name}.svg").is_file()
    assert "falls behind baseline_small on cooperation_rate" in page or "cannot tell" in page
    assert "Holm-adjusted p=" in md and "One run of 'baseline_small' (replicate 0, seed" in md
    # the answer first: the best arrangement per KPI and the verdict matrix come before any folded detail
    first_fold = page.index("<details")
    assert page.index("Best arrangement per KPI") < page.index("Every arrangement against baseline_small") < first_fold
    assert page.index('<nav class="toc">') < first_fold and page.count("<details") == len(COMPARE_SECTIONS) - 1
    assert "MU per step" in page.split('id="glossary"')[1]  # units from the KPI registry
    assert "marketing spend (MU/step)" in page[:first_fold]  # what the arrangements cost, beside the outcomes
    # 3 replicates: fewer than the report asks for, and the warning says the number it checks
    assert f"3 replicate(s) per scenario is too few for reliable intervals; use at least {MIN_UNITS}." in md


def test_report_of_a_folder_without_snapshots_says_so(compare_dir, tmp_path):
    folder = Path(shutil.copytree(compare_dir, tmp_path / "old"))
    shutil.rmtree(folder / "snapshots")
    page = build_report(folder, tmp_path / "rep").read_text()
    assert page.count("written by an older version") == 2  # the network and the Morgan-Hunt panel
    assert page.count('src="data:image/png;base64,') == 3
    for section in COMPARE_SECTIONS:
        assert f"<h2>{section}</h2>" in page


def test_summary_csv_has_one_row_per_scenario_and_kpi(report_dir):
    summary = pd.read_csv(report_dir / "summary.csv")
    assert set(summary["scenario"]) == {"baseline_small", "no_reg_small"}
    assert summary.groupby("scenario").size().eq(16).all()
    other = summary[summary["scenario"] == "no_reg_small"]
    assert other["verdict"].notna().all() and other["p_holm"].between(0, 1).all()
    assert (summary["ci_low"] <= summary["mean"]).all()


def test_report_command_and_default_reference(compare_dir, tmp_path, capsys):
    from analysis.report import _choose_reference

    assert _choose_reference(load_results(compare_dir), None) == "baseline_small"  # no "baseline": the first
    code = run.main(["report", str(_fake_sweep(tmp_path / "sw", n=64)), "--out", str(tmp_path / "r")])
    assert code == 0 and "report:" in capsys.readouterr().out
    assert (tmp_path / "r" / "summary.csv").is_file()


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_give_clear_errors(compare_dir, tmp_path, capsys):
    with pytest.raises(ScenarioError, match="not a folder"):
        load_results(tmp_path / "missing")
    with pytest.raises(ScenarioError, match="no manifest.json"):
        load_results(tmp_path)

    def copy(name: str) -> Path:
        return Path(shutil.copytree(compare_dir, tmp_path / name))

    corrupt = copy("corrupt")
    (corrupt / "results.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ScenarioError, match="corrupt"):
        load_results(corrupt)

    mixed = copy("mixed")
    runs = pd.read_parquet(mixed / "results.parquet")
    runs.loc[0, "scenario"] = "intruder"
    runs.to_parquet(mixed / "results.parquet", index=False)
    with pytest.raises(ScenarioError, match="mixed inputs.*intruder"):
        load_results(mixed)

    broken_crn = copy("crn")
    runs = pd.read_parquet(broken_crn / "results.parquet")
    runs.loc[0, "seed"] = 12345
    runs.to_parquet(broken_crn / "results.parquet", index=False)
    with pytest.raises(ScenarioError, match="common random numbers"):
        load_results(broken_crn)

    running = copy("running")
    manifest = json.loads((running / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (running / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ScenarioError, match="interrupted"):
        load_results(running)

    with pytest.raises(ScenarioError, match="allowed: baseline_small, no_reg_small"):
        build_report(compare_dir, tmp_path / "rep", reference="nope")
    assert not (tmp_path / "rep").exists()

    code = run.main(["report", str(corrupt), "--out", str(tmp_path / "rep2")])
    assert code == 2 and "corrupt" in capsys.readouterr().err


def test_sensitivity_refuses_other_designs(tmp_path, compare_dir):
    with pytest.raises(ScenarioError, match="--design sobol"):
        sweep_sensitivity(_fake_sweep(tmp_path / "lhs", design="lhs", n=8), ["cooperation_rate"])
    with pytest.raises(ScenarioError, match="needs a sweep folder"):
        sweep_sensitivity(compare_dir, ["cooperation_rate"])


def test_a_single_run_folder_loads_as_one_scenario(tmp_path):
    scenario = _tiny(tmp_path, "solo")
    assert run.main(["run", str(scenario), "--seed", "3", "--out", str(tmp_path / "one")]) == 0
    res = load_results(tmp_path / "one")
    assert res.kind == "run" and res.scenarios == ["solo"] and len(res.runs) == 1
    assert res.timeseries is not None and len(res.timeseries) == 15
    assert res.resolved_scenario("solo")["structure"]["n_firms"] == 40
