"""The answer first: best arrangement per KPI, the verdict matrix, ties between levers, labels that do not overlap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.figures import label_points
from analysis.sensitivity import leaders
from analysis.summary import best_per_kpi, glossary, mirrors, verdict_matrix


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
