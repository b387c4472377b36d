"""Robustness of policies (runner/robust.py, analysis/robust.py, run.py robust): regret, satisficing, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.robust import favoured, per_future, regret_summary, regret_table, robustness, satisficing
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT, readme_block, small_scenario


def table(values: dict[str, list[float]]) -> pd.DataFrame:
    """A per-future table of one KPI ``k``: policy -> its value in futures 0, 1, 2, ..."""
    rows = [{"policy": p, "future": f, "k": v} for p, vs in values.items() for f, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_regret_is_the_shortfall_from_the_best_policy_of_each_future():
    pf = table({"a": [1.0, 5.0, 2.0], "b": [3.0, 4.0, 2.0], "c": [2.0, 1.0, 0.5]})
    reg = regret_table(pf, {"k": "max"}).set_index(["policy", "future"])["regret"]
    assert reg.loc["a"].tolist() == [2.0, 0.0, 0.0]
    assert reg.loc["b"].tolist() == [0.0, 1.0, 0.0]
    assert reg.loc["c"].tolist() == [1.0, 4.0, 1.5]
    low = regret_table(pf, {"k": "min"}).set_index(["policy", "future"])["regret"]
    assert low.loc["a"].tolist() == [0.0, 4.0, 1.5]
    s = regret_summary(regret_table(pf, {"k": "max"})).set_index("policy")
    assert s.loc["c", "max_regret"] == 4.0 and s.loc["c", "mean_regret"] == pytest.approx(6.5 / 3)
    assert s.loc["a", "best_share"] == pytest.approx(2 / 3) and s.loc["b", "best_share"] == pytest.approx(2 / 3)
    with pytest.raises(ScenarioError, match="'max' or 'min'"):
        regret_table(pf, {"k": "up"})


def test_satisficing_shares_intervals_and_the_favoured_policy():
    pf = table({"a": [0.7, 0.5, 0.9, 0.8], "b": [0.9, 0.9, 0.3, 0.2], "c": [0.65, 0.61, 0.62, 0.7]})
    sat = satisficing(pf, [{"kpi": "k", "op": ">=", "value": 0.6}]).set_index("policy")
    assert sat["met"].tolist() == [3, 2, 4] and sat.loc["c", "share"] == 1.0
    ci = stats.binomtest(3, 4).proportion_ci(0.95, method="exact")
    assert sat.loc["a", "ci_low"] == pytest.approx(ci.low) and sat.loc["a", "ci_high"] == pytest.approx(ci.high)
    summary = regret_summary(regret_table(pf, {"k": "max"}))
    assert favoured(sat.reset_index(), summary, "k") == "c"
    # a tie on satisficing goes to the smaller maximum regret
    pf2 = table({"a": [0.7, 0.5], "b": [0.9, 0.1]})
    sat2 = satisficing(pf2, [{"kpi": "k", "op": ">", "value": 0.6}])
    assert sat2["met"].tolist() == [1, 1]
    assert favoured(sat2, regret_summary(regret_table(pf2, {"k": "max"})), "k") == "a"
    with pytest.raises(ScenarioError, match="operator"):
        satisficing(pf, [{"kpi": "k", "op": "=>", "value": 0.6}])


def test_per_future_averages_replicates_and_keeps_the_futures_levers():
    runs = pd.DataFrame({"policy": ["a"] * 4 + ["b"] * 4, "future": [0, 0, 1, 1] * 2, "u": [0.1, 0.1, 0.7, 0.7] * 2,
                         "k_mean": [1.0, 3.0, 5.0, 7.0, 0.0, 2.0, 4.0, 4.0]})
    pf = per_future(runs, ["k"], "mean", ["u"])
    assert pf["policy"].tolist() == ["a", "a", "b", "b"] and pf["k"].tolist() == [2.0, 6.0, 1.0, 4.0]
    assert pf["u"].tolist() == [0.1, 0.7, 0.1, 0.7]


def test_prim_finds_where_the_favoured_policy_fails():
    rng = np.random.default_rng(5)
    n = 120
    fut = pd.DataFrame({"future": np.arange(n), "demand": rng.uniform(0.5, 1.5, n), "noise": rng.uniform(0, 1, n)})
    rows = []
    for policy in ("steady", "bold"):
        for _, f in fut.iterrows():
            if policy == "steady":  # fails only when demand is low
                coop = 0.5 if f["demand"] < 0.8 else 0.75
            else:  # often better, but fails in 40 % of the futures at random
                coop = 0.9 if f["noise"] > 0.4 else 0.4
            rows.append({"policy": policy, "future": int(f["future"]), "replicate": 0, "demand": f["demand"],
                         "noise": f["noise"], "cooperation_rate_mean": coop + rng.normal(0, 0.01)})
    rob = robustness(pd.DataFrame(rows), {"cooperation_rate": "max"},
                     [{"kpi": "cooperation_rate", "op": ">=", "value": 0.6}], ["demand", "noise"])
    assert rob.favoured == "steady"
    box = rob.discovery.boxes.set_index("lever")
    assert set(box.index) == {"demand"} and abs(box.loc["demand", "high"] - 0.8) <= 0.05
    st = rob.discovery.box_stats.iloc[0]
    assert st["coverage"] >= 0.95 and st["density"] >= 0.95
    assert rob.failure_condition == "not (cooperation_rate >= 0.6)"


# --------------------------------------------------------------------------- files and the command line


def tiny_pair(tmp_path: Path, policies: str | None = None, uncertainties: str | None = None) -> tuple[Path, Path]:
    small_scenario(tmp_path, n_firms=40, steps=12)
    unc = tmp_path / "unc.toml"
    unc.write_text(uncertainties or 'scenario = "tiny.toml"\n[uncertainties]\n"market.demand" = "0.7:1.3"\n'
                                    '"firms.cooperativeness" = "0.3:0.8"\n')
    pol = tmp_path / "pol.toml"
    pol.write_text(policies or """
[regret]
cooperation_rate = "max"
profit = "max"
[satisficing]
cooperation_rate = ">= 0.7"
[[policies]]
name = "a"
[[policies]]
name = "same_as_a"
set = { "marketing.brand_fee" = 0.05 }
[[policies]]
name = "monitoring"
set = { "mechanisms.regulation.monitoring_prob" = 0.8 }
[[policies]]
name = "digital"
[[policies.timeline]]
at = 3
ramp = 5
set = { "information.digitalization" = 0.9 }
""")
    return pol, unc


def test_robust_end_to_end_with_common_random_numbers(tmp_path, capsys):
    import run

    pol, unc = tiny_pair(tmp_path)
    out = tmp_path / "rob"
    code = run.main(["robust", str(pol), str(unc), "--samples", "10", "--replicates", "2", "--seed", "3",
                     "--quiet", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    runs = pd.read_parquet(out / "results.parquet")
    assert len(runs) == 4 * 10 * 2
    # every policy meets the same futures with the same seeds
    key = runs.set_index(["policy", "future", "replicate"]).sort_index()
    for p in ("same_as_a", "monitoring", "digital"):
        np.testing.assert_array_equal(key.loc[p, "seed"], key.loc["a", "seed"])
        np.testing.assert_array_equal(key.loc[p, "market.demand"], key.loc["a", "market.demand"])
    # the same levers with the same seeds give the same run, bit for bit
    cols = [c for c in runs.columns if c.endswith("_mean")]
    pd.testing.assert_frame_equal(key.loc["same_as_a", cols], key.loc["a", cols])
    assert not key.loc["monitoring", cols].equals(key.loc["a", cols])
    assert "favoured policy:" in printed
    for name in ("robust.html", "robust.md", "regret.csv", "regret_summary.csv", "satisficing.csv",
                 "per_future.csv", "figures/regret.png", "figures/satisficing.png"):
        assert (out / "report" / name).is_file(), name
    sat = pd.read_csv(out / "report" / "satisficing.csv")
    assert sat["futures"].tolist() == [10] * 4
    # resumable: the same command again has nothing to do
    assert run.main(["robust", str(pol), str(unc), "--samples", "10", "--replicates", "2", "--seed", "3",
                     "--quiet", "--out", str(out)]) == 0
    assert "already complete" in capsys.readouterr().out


@pytest.mark.parametrize("policies, uncertainties, words", [
    ('[regret]\ncooperation = "max"\n[[policies]]\nname="a"\n[[policies]]\nname="b"\n', None,
     ["[regret] cooperation", "not a KPI"]),
    ('[regret]\ncooperation_rate = "up"\n[[policies]]\nname="a"\n[[policies]]\nname="b"\n', None, ['"max"']),
    ('[regret]\ncooperation_rate = "max"\n[satisficing]\ncooperation_rate = "=> 0.6"\n'
     '[[policies]]\nname="a"\n[[policies]]\nname="b"\n', None, ["[satisficing] cooperation_rate", "OP VALUE"]),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname="a"\n', None, ["at least two policies"]),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname="a"\n[[policies]]\nname="a"\n', None, ["twice"]),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname="a"\n[[policies]]\nname="b"\n'
     'set = { "mechanisms.regulation.monitoring" = 0.5 }\n', None, ["policy b", "monitoring", "unknown key"]),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname="a"\n[[policies]]\nname="b"\n'
     'set = { "market.demand" = 1.1 }\n', None, ["policy b sets market.demand", "uncertain"]),
    ('extra = 1\n[regret]\ncooperation_rate = "max"\n[[policies]]\nname="a"\n[[policies]]\nname="b"\n', None,
     ["unknown key(s) extra"]),
    (None, 'scenario = "tiny.toml"\n[uncertainties]\n"market.demandd" = "0.7:1.3"\n', ["market.demandd"]),
    (None, 'scenario = "nope.toml"\n[uncertainties]\n"market.demand" = "0.7:1.3"\n', ["nope.toml", "not found"]),
    (None, 'scenario = "tiny.toml"\n', ["[uncertainties]"]),
])
def test_bad_files_exit_2_naming_what_is_wrong(tmp_path, capsys, policies, uncertainties, words):
    import run

    pol, unc = tiny_pair(tmp_path, policies, uncertainties)
    out = tmp_path / "rob"
    code = run.main(["robust", str(pol), str(unc), "--samples", "4", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    for w in words:
        assert w in err, err
    assert not out.exists()


def test_missing_files_and_bad_options_exit_2(tmp_path, capsys):
    import run

    pol, unc = tiny_pair(tmp_path)
    for argv, word in [([tmp_path / "none.toml", unc], "none.toml"), ([pol, tmp_path / "none.toml"], "none.toml"),
                       ([pol, unc, "--samples", "1"], "--samples"), ([pol, unc, "--replicates", "0"], "--replicates")]:
        assert run.main(["robust", *map(str, argv), "--quiet", "--out", str(tmp_path / "o")]) == 2
        assert word in capsys.readouterr().err


def test_shipped_pair_is_valid():
    from runner.robust import read_policies, read_uncertainties

    scen, specs = read_uncertainties(ROOT / "examples" / "robust" / "uncertainties.toml")
    base = load_scenario(scen)
    policies, criteria = read_policies(ROOT / "examples" / "robust" / "policies.toml", base)
    assert len(policies) >= 3 and criteria["kpis"] and criteria["thresholds"]
    assert len(specs) >= 3


@pytest.mark.slow
def test_readme_robust_example_reproduces(tmp_path, capsys):
    import run

    shown = readme_block("(4 policies x 64 futures) it prints first:")
    code = run.main(["robust", str(ROOT / "examples" / "robust" / "policies.toml"),
                     str(ROOT / "examples" / "robust" / "uncertainties.toml"), "--samples", "64", "--seed", "1",
                     "--jobs", "2", "--out", str(tmp_path / "robust")])
    printed = capsys.readouterr().out
    assert code == 0
    assert shown.strip() in printed
    assert "favoured policy: contracts" in printed
