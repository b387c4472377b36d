"""Replicates sharing a draw of uncertain parameters: intervals and tests run on the draw means."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis import claims, programme
from analysis.scorecard import _draw_clusters, scorecard
from analysis.stats import kpi_table, paired_differences, t_interval, unit_means

DRAWS, PER = 8, 3


def results(per: int = PER, draws: int = DRAWS, seed: int = 0, with_draw: bool = True) -> pd.DataFrame:
    """Two arms paired by seed; the arm's gain depends mostly on the draw, little on the seed."""
    rng = np.random.default_rng(seed)
    n = per * draws
    draw_effect = rng.normal(0.0, 1.0, draws)
    rows = []
    for r in range(n):
        d = r // per
        base = 5.0 + draw_effect[d] + rng.normal(0.0, 0.05)
        gain = 0.5 + 2.0 * draw_effect[d] + rng.normal(0.0, 0.05)
        for name, value in (("ref", base), ("arm", base + gain)):
            row = {"scenario": name, "replicate": r, "seed": 1000 + r, "x_mean": value}
            if with_draw:
                row["draw"] = d
            rows.append(row)
    return pd.DataFrame(rows)


def test_unit_means_average_within_draws_and_leave_unshared_replicates_alone():
    x = np.array([1.0, 3.0, 10.0, 20.0, np.nan, 7.0])
    assert unit_means(x, [0, 0, 1, 1, 2, 2]).tolist() == [2.0, 15.0, 7.0]
    same = unit_means(x, [5, 4, 3, 2, 1, 0])
    assert np.array_equal(same, x, equal_nan=True)
    grid = np.arange(12.0).reshape(2, 6)
    assert unit_means(grid, [0, 0, 0, 1, 1, 1]).tolist() == [[1.0, 4.0], [7.0, 10.0]]
    with pytest.raises(ValueError):
        unit_means(x, [0, 1])


def test_a_difference_dominated_by_the_draws_gets_the_draw_level_interval():
    runs = results()
    diff = paired_differences(runs, "ref", ["x"]).iloc[0]
    arm, ref = (runs[runs.scenario == s].sort_values("seed") for s in ("arm", "ref"))
    d = arm["x_mean"].to_numpy() - ref["x_mean"].to_numpy()
    per_draw = d.reshape(DRAWS, PER).mean(axis=1)
    # the test and interval of the draw means, computed independently
    assert diff["n_pairs"] == DRAWS * PER and diff["n_units"] == DRAWS
    assert diff["p_value"] == pytest.approx(sps.ttest_1samp(per_draw, 0.0).pvalue)
    half = sps.t.ppf(1 - diff["ci_alpha"] / 2, DRAWS - 1) * per_draw.std(ddof=1) / np.sqrt(DRAWS)
    assert diff["ci_high"] - diff["ci_low"] == pytest.approx(2 * half)
    # the replicate-level interval that treated the 24 replicates as independent was much narrower
    naive = sps.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert half > 1.5 * naive
    # replicates needed are counted in replicates at the same seeds per draw
    assert diff["n_needed"] % PER == 0
    # the KPI table's interval of a mean is over the draws too
    row = kpi_table(runs, ["x"]).set_index("scenario").loc["arm"]
    mean, _, lo, hi, n = t_interval(arm.groupby("draw")["x_mean"].mean())
    assert (row["n"], row["ci_low"], row["ci_high"]) == (n, pytest.approx(lo), pytest.approx(hi))


def test_one_replicate_per_draw_changes_nothing():
    drawn = results(per=1, draws=12)
    plain = drawn.drop(columns="draw")
    pd.testing.assert_frame_equal(paired_differences(drawn, "ref", ["x"]), paired_differences(plain, "ref", ["x"]),
                                  check_exact=True)
    pd.testing.assert_frame_equal(kpi_table(drawn, ["x"]), kpi_table(plain, ["x"]), check_exact=True)
    row = paired_differences(plain, "ref", ["x"]).iloc[0]
    assert row["n_units"] == row["n_pairs"] == 12


def test_claims_are_judged_on_the_draw_means():
    claim = claims.Claim(id="t", group=claims.GROUPS[0], source="test", statement="arm is higher",
                         treatment="arm", reference="ref", kpi="cooperation_rate", sign=1, expected=claims.AGREES)
    runs = results().rename(columns={"x_mean": "cooperation_rate_mean"})
    shared = claims.evaluate(runs, [claim]).iloc[0]
    assert shared["n_pairs"] == DRAWS
    plain = claims.evaluate(runs.drop(columns="draw"), [claim]).iloc[0]
    assert plain["n_pairs"] == DRAWS * PER
    assert shared["ci_high"] - shared["ci_low"] > 1.5 * (plain["ci_high"] - plain["ci_low"])


def test_the_scorecard_bootstrap_resamples_whole_draws():
    runs = results()
    groups = _draw_clusters(runs, sorted(runs["seed"].unique()))
    assert [g.tolist() for g in groups] == [[3 * d, 3 * d + 1, 3 * d + 2] for d in range(DRAWS)]
    assert _draw_clusters(results(per=1, draws=6), sorted(results(per=1, draws=6)["seed"].unique())) is None
    # the score's interval: the arm's gain over the reference is mostly the draw's, so resampling whole draws
    # gives a much wider interval than resampling the 24 replicates as if independent
    ref = runs[runs["scenario"] == "ref"]
    three = pd.concat([runs, ref.assign(scenario="low", x_mean=ref["x_mean"] - 10),
                       ref.assign(scenario="high", x_mean=ref["x_mean"] + 10)], ignore_index=True)
    three = three.rename(columns={"x_mean": "mean_trust_mean"})

    def width(frame: pd.DataFrame) -> float:
        card = scorecard(frame, weights={"mean_trust": 1.0}, n_boot=400)[0].set_index("scenario").loc["arm"]
        return card["score_high"] - card["score_low"]

    assert width(three) > 1.5 * width(three.drop(columns="draw"))


def _series(runs: pd.DataFrame, steps: int = 20, start: int = 8) -> pd.DataFrame:
    """Per-step KPIs: the arm's run-level gain applies from ``start`` on, nothing before."""
    rows = []
    for r in runs.itertuples():
        ref = runs[(runs.scenario == "ref") & (runs.replicate == r.replicate)]["x_mean"].iloc[0]
        for s in range(1, steps + 1):
            value = r.x_mean if (r.scenario == "arm" and s >= start) else ref
            rows.append({"scenario": r.scenario, "replicate": r.replicate, "step": s, "x": value})
    return pd.DataFrame(rows)


def test_programme_intervals_are_over_the_draws():
    runs = results()
    ts = _series(runs)
    draws = dict(zip(runs["replicate"], runs["draw"]))
    shared = programme.paired_by_step(ts, "x", "arm", "ref", draws=draws)
    plain = programme.paired_by_step(ts, "x", "arm", "ref")
    assert (shared["n"] == DRAWS).all() and (plain["n"] == DRAWS * PER).all()
    last = shared.iloc[-1]
    arm, ref = (runs[runs.scenario == s].sort_values("replicate") for s in ("arm", "ref"))
    per_draw = (arm["x_mean"].to_numpy() - ref["x_mean"].to_numpy()).reshape(DRAWS, PER).mean(axis=1)
    half = sps.t.ppf(0.975, DRAWS - 1) * per_draw.std(ddof=1) / np.sqrt(DRAWS)
    assert (last["low"], last["high"]) == (pytest.approx(per_draw.mean() - half), pytest.approx(per_draw.mean() + half))
    ba = programme.before_after(ts, ["x"], "arm", "ref", 8, draws=draws).iloc[0]
    assert ba["n"] == DRAWS and ba["after_high"] - ba["after_low"] == pytest.approx(2 * half)
    # one replicate per draw: the very same numbers as without draws
    one = results(per=1, draws=10)
    ts1 = _series(one)
    pd.testing.assert_frame_equal(
        programme.paired_by_step(ts1, "x", "arm", "ref", draws=dict(zip(one["replicate"], one["draw"]))),
        programme.paired_by_step(ts1, "x", "arm", "ref"), check_exact=True)


def test_the_time_series_bands_are_over_the_draws():
    from analysis.figures import mean_band

    runs = results()
    ts = _series(runs)
    arm = ts[ts["scenario"] == "arm"]
    draws = dict(zip(runs["replicate"], runs["draw"]))
    mean, half = mean_band(arm, "x", 0.95, draws)
    last = arm[arm["step"] == arm["step"].max()].sort_values("replicate")["x"].to_numpy().reshape(DRAWS, PER).mean(1)
    assert half.iloc[-1] == pytest.approx(sps.t.ppf(0.975, DRAWS - 1) * last.std(ddof=1) / np.sqrt(DRAWS))
    one = results(per=1, draws=10)
    ts1 = _series(one)[lambda f: f["scenario"] == "arm"]
    for a, b in zip(mean_band(ts1, "x", 0.95, dict(zip(one["replicate"], one["draw"]))), mean_band(ts1, "x", 0.95)):
        pd.testing.assert_series_equal(a, b, check_exact=True)


def test_the_app_results_page_gives_the_reports_intervals_over_the_draws():
    from types import SimpleNamespace

    from viz import results as rs

    runs = results()
    res = SimpleNamespace(runs=runs, timeseries=_series(runs), scenarios=["ref", "arm"], manifest={"reference": "ref"},
                          replicates=DRAWS * PER, kind="compare")
    report = kpi_table(runs, ["x"]).set_index("scenario")
    by = rs.by_level(runs, "scenario", "x").set_index("scenario")
    for name in ("ref", "arm"):
        assert by.loc[name, "runs"] == DRAWS * PER and by.loc[name, "n_units"] == report.loc[name, "n"] == DRAWS
        assert (by.loc[name, "ci_low"], by.loc[name, "ci_high"]) == (report.loc[name, "ci_low"],
                                                                     report.loc[name, "ci_high"])
    assert rs.compare_table(res, ["x"])["n_units"].tolist() == [DRAWS]
    # the band over time: the draw means' t-interval at the last step, as the report's figure draws it
    ax = rs.over_time_figure(res, "x").axes[0]
    band = ax.collections[1].get_paths()[0].vertices
    last = band[band[:, 0] == 20, 1]
    per_draw = runs[runs.scenario == "arm"].sort_values("replicate")["x_mean"].to_numpy().reshape(DRAWS, PER).mean(1)
    half = sps.t.ppf(0.975, DRAWS - 1) * per_draw.std(ddof=1) / np.sqrt(DRAWS)
    assert last.max() - last.min() == pytest.approx(2 * half)


def test_the_reference_mean_is_over_the_same_units_as_the_difference():
    """Draws of unequal size (3, 1 and 1 seeds, as a folder written before replicates had to fill whole draws):
    the table's means are all draw means."""
    runs = results(per=3, draws=3)
    runs = runs[~runs["replicate"].isin([4, 5, 7, 8])]
    table = kpi_table(runs, ["x"]).set_index("scenario")
    row = paired_differences(runs, "ref", ["x"]).iloc[0]
    assert row["n_units"] == 3 and row["ref_mean"] == pytest.approx(table.loc["ref", "mean"])
    assert row["ref_mean"] + row["diff"] == pytest.approx(table.loc["arm", "mean"])
    claim = claims.Claim(id="t", group=claims.GROUPS[0], source="test", statement="arm is higher",
                         treatment="arm", reference="ref", kpi="cooperation_rate", sign=1, expected=claims.AGREES)
    c = claims.evaluate(runs.rename(columns={"x_mean": "cooperation_rate_mean"}), [claim]).iloc[0]
    assert c["reference_mean"] == pytest.approx(table.loc["ref", "mean"])
    assert c["treatment_mean"] == pytest.approx(table.loc["arm", "mean"])
