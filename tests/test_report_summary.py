"""The answer first: best arrangement per KPI, the verdict matrix, ties between levers, labels that do not overlap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.figures import label_points, timeseries_small_multiples
from analysis.sensitivity import leaders
from analysis.scorecard import scorecard
from analysis.summary import THIN_SHARE, best_per_kpi, glossary, mirrors, thin_ratios, verdict_matrix


def _table(means: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": s, "kpi": k, "mean": v} for s, row in means.items() for k, v in row.items()])


def _diffs(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": s, "kpi": k, "diff": d, "significant": sig, "p_holm": 0.01 if sig else 0.5}
                         for s, k, d, sig in rows])


MEANS = {"base": {"cooperation_rate": 0.80, "exits": 2.0},
         "a": {"cooperation_rate": 0.88, "exits": 2.5},
         "b": {"cooperation_rate": 0.82, "exits": 1.0}}
DIFFS = _diffs([("a", "cooperation_rate", 0.08, True), ("b", "cooperation_rate", 0.02, False),
                ("a", "exits", 0.5, True), ("b", "exits", -1.0, False)])


def test_best_per_kpi_follows_the_kpis_direction_and_says_how_sure():
    best = best_per_kpi(_table(MEANS), DIFFS, ["cooperation_rate", "exits"], "base").set_index("kpi")
    assert best.loc["cooperation_rate", "best"] == "a" and best.loc["cooperation_rate", "verdict"] == "better"
    assert np.isclose(best.loc["cooperation_rate", "diff_pct"], 10.0)  # 0.08 of 0.80
    assert best.loc["exits", "best"] == "b"  # fewer exits is better
    assert best.loc["exits", "verdict"] == "same" and np.isclose(best.loc["exits", "diff_pct"], -50.0)


def test_a_best_reference_names_the_runner_up():
    means = {"base": {"cooperation_rate": 0.9}, "a": {"cooperation_rate": 0.7}, "b": {"cooperation_rate": 0.85}}
    diffs = _diffs([("a", "cooperation_rate", -0.2, True), ("b", "cooperation_rate", -0.05, True)])
    row = best_per_kpi(_table(means), diffs, ["cooperation_rate"], "base").iloc[0]
    assert (row["best"], row["verdict"], row["runner_up"], row["compared"]) == ("base", "reference", "b", "worse")


def test_verdict_matrix_colours_by_direction():
    m = verdict_matrix(_table(MEANS), DIFFS, ["cooperation_rate", "exits"], ["base", "a", "b"], "base")
    m = m.set_index(["scenario", "kpi"])["verdict"]
    assert m[("base", "exits")] == "reference"
    assert m[("a", "cooperation_rate")] == "better" and m[("a", "exits")] == "worse"  # more exits: worse
    assert m[("b", "exits")] == "same"


def test_a_ratio_over_almost_nothing_spent_is_not_ranked():
    # "poor" returns 9 per MU on a 100th of what "base" spends: a quotient of two small numbers, not the best
    spend = {"base": 25.0, "good": 24.0, "poor": 25.0 * THIN_SHARE / 10, "edge": 25.0 * THIN_SHARE}
    roi = {"base": 2.0, "good": 2.5, "poor": 9.0, "edge": 2.2}
    runs = pd.DataFrame([{"scenario": s, "seed": i, "marketing_spend_mean": spend[s] * (1 + 0.01 * i),
                          "marketing_roi_mean": roi[s] + 0.01 * i, "brand_equity_mean": 0.25,
                          "mean_trust_mean": 0.5 + 0.01 * i} for s in spend for i in range(4)])
    thin = thin_ratios(runs, ["marketing_roi", "brand_per_spend", "mean_trust"], "base")
    assert set(thin) == {("poor", "marketing_roi"), ("poor", "brand_per_spend")}  # "edge" spends just enough
    assert np.isclose(thin[("poor", "marketing_roi")], THIN_SHARE / 10, rtol=0.05)
    assert thin_ratios(runs, ["marketing_roi"], None) == {}
    table = _table({s: {"marketing_roi": roi[s]} for s in roi})
    diffs = _diffs([(s, "marketing_roi", roi[s] - 2.0, True) for s in ("good", "poor", "edge")])
    assert best_per_kpi(table, diffs, ["marketing_roi"], "base", thin).iloc[0]["best"] == "good"
    assert best_per_kpi(table, diffs, ["marketing_roi"], "base").iloc[0]["best"] == "poor"
    m = verdict_matrix(table, diffs, ["marketing_roi"], list(roi), "base", thin).set_index("scenario")
    assert m.loc["poor", "verdict"] == "unranked" and m.loc["good", "verdict"] == "better"
    card = scorecard(runs, n_boot=0, reference="base")[0].set_index("scenario")
    assert card.loc["poor", "marketing_roi_pts"] == 0 and card.loc["good", "marketing_roi_pts"] == 10
    assert card.loc["poor", "brand_per_spend_pts"] == 0
    assert scorecard(runs, n_boot=0)[0].set_index("scenario").loc["poor", "marketing_roi_pts"] == 10


def test_one_arms_spikes_do_not_flatten_a_ratio_column():
    rng = np.random.default_rng(1)
    rows = [{"scenario": s, "replicate": r, "seed": r, "step": t, "marketing_roi": 2.0 + 0.1 * rng.standard_normal()
             + (40.0 * (t % 7 == 0) if s == "spiky" else 0.0), "profit": 30.0 + (90.0 if s == "spiky" else 0.0)}
            for s in ("base", "calm", "spiky") for r in range(3) for t in range(50)]
    ts = pd.DataFrame(rows)
    fig = timeseries_small_multiples(ts, ["profit", "marketing_roi"], ["base", "calm", "spiky"], "base", {},
                                     unscaled={("spiky", "marketing_roi")})
    axes = np.array(fig.axes).reshape(3, 2)
    assert axes[0, 1].get_ylim()[1] < 3.5  # the ratio column keeps the calm arms readable
    assert axes[0, 0].get_ylim()[1] > 100  # a KPI that is not a ratio keeps every value in view
    notes = [t.get_text() for t in axes[2, 1].texts]
    assert "values beyond the axis clipped" in notes and not any("clipped" in t.get_text() for t in axes[1, 1].texts)


def test_a_mirror_is_dropped_only_when_the_runs_show_it():
    runs = pd.DataFrame({"cooperation_rate_mean": [0.7, 0.9], "free_rider_share_mean": [0.3, 0.1]})
    assert mirrors(runs, ["cooperation_rate", "free_rider_share"]) == {"free_rider_share": "cooperation_rate"}
    runs.loc[0, "free_rider_share_mean"] = 0.25  # some firms outside an association
    assert mirrors(runs, ["cooperation_rate", "free_rider_share"]) == {}


def test_glossary_gives_unit_direction_and_meaning():
    g = glossary(["profit", "exits", "demand"]).set_index("KPI")
    assert g.loc["profit", "unit"] == "MU per step" and g.loc["profit", "better"] == "higher"
    assert g.loc["exits", "better"] == "lower" and g.loc["demand", "better"] == "—"
    assert g["meaning"].str.len().gt(10).all()


def test_levers_whose_intervals_overlap_the_top_one_are_tied():
    table = pd.DataFrame({"kpi": ["k"] * 3 + ["m"] * 2, "param": ["x", "y", "z", "x", "y"],
                          "ST": [0.50, 0.42, 0.10, 0.6, 0.1], "ST_conf": [0.05, 0.04, 0.02, 0.05, 0.05]})
    top = leaders(table, "ST", "ST_conf").set_index("kpi")
    assert top.loc["k", "top"] == "x" and top.loc["k", "tied"] == "y"  # 0.46 > 0.45 would separate; 0.45 >= 0.45 ties
    assert top.loc["m", "tied"] == ""


def test_point_labels_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.array([1.0, 1.01, 1.02, 1.0, 3.0])
    y = np.array([0.5, 0.5, 0.51, 0.52, 2.0])
    ax.scatter(x, y)
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 3)
    label_points(ax, x, y, ["lever_a", "lever_b", "lever_c", "lever_d", "lever_e"])
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in ax.texts:
        t.update_positions(renderer)
        boxes.append(Text.get_window_extent(t, renderer))  # the text alone, without its leader line
    assert len(boxes) == 5
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (ax.texts[i].get_text(), ax.texts[j].get_text())
