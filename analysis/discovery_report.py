"""The scenario-discovery report: what :func:`analysis.discovery.discover` found, as text, tables and figures.

:func:`write_discovery` writes ``discovery.html``, ``discovery.md``, ``boxes.csv``, ``peeling.csv``,
``resample.csv``, ``cart_leaves.csv``, ``feature_scores.csv`` and ``figures/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .document import Document

if TYPE_CHECKING:
    from .discovery import Discovery

__all__ = ["headline", "write_discovery"]


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %"


def headline(disc: Discovery, b: int = 1) -> str:
    """The plain-language finding of PRIM box ``b``."""
    row = disc.box_stats[disc.box_stats["box"] == b].iloc[0]
    u = disc.settings.get("unit", "runs")
    return (f"{disc.condition} holds in {_pct(row['density'])} of the {u} with {row['rule']} (density, "
            f"{row['cases']} of {row['runs']}); these {u} hold {_pct(row['coverage'])} of the {disc.n_cases} {u} "
            f"where it holds (coverage) and are {_pct(row['mass'])} of all {disc.n_runs} {u} (mass).")


def _tradeoff_figure(box, step: int, b: int):
    fig = box.show_tradeoff()
    ax = fig.axes[0]
    t = box.peeling_trajectory.reset_index(drop=True)
    ax.scatter([t.loc[step, "coverage"]], [t.loc[step, "density"]], s=160, facecolors="none",
               edgecolors="#b03a2e", linewidths=2, label=f"chosen box (step {step})")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(f"PRIM box {b}: coverage against density along the peeling trajectory", fontsize=10)
    return fig


def _ppt_figure(box, step: int, b: int):
    import matplotlib.pyplot as plt

    plt.figure(figsize=(7, 4))  # EMA draws the trajectory on the current figure
    fig = box.show_ppt()
    fig.axes[0].axvline(step, color="#b03a2e", linestyle="--", linewidth=1)
    fig.axes[0].set_title(f"PRIM box {b}: peeling trajectory (dashed: chosen step {step})", fontsize=10)
    return fig


def _box_figure(box, step: int, b: int):
    fig = box.inspect(step, style="graph")[0]
    fig.suptitle(f"PRIM box {b}: limits of the restricted levers within their swept range (quasi-p in brackets)",
                 fontsize=10)
    return fig


def _tree_figure(c, depth: int = 3):
    import matplotlib.pyplot as plt
    from sklearn import tree as sktree

    shown = min(depth, c.clf.get_depth())
    fig, ax = plt.subplots(figsize=(max(6.0, 3.2 * 2 ** shown), 1.6 + 1.6 * (shown + 1)))
    sktree.plot_tree(c.clf, max_depth=depth, feature_names=[str(f).replace(c.sep, " == ") for f in c.feature_names],
                     class_names=["other", "case"], filled=True, impurity=False, proportion=True, fontsize=8, ax=ax)
    ax.set_title(f"CART tree ({shown} of {c.clf.get_depth()} levels; value: share of other runs and of cases in "
                 "the node)", fontsize=10)
    return fig


def _scores_figure(scores: pd.DataFrame):
    import matplotlib.pyplot as plt

    cols = [c for c in scores.columns if c.startswith("score_")]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(scores) * max(1, len(cols)) ** 0.5))
    ypos = np.arange(len(scores))
    h = 0.8 / len(cols)
    for j, col in enumerate(cols):
        ax.barh(ypos + j * h, scores[col], height=h, label=col.removeprefix("score_"))
    ax.set_yticks(ypos + h * (len(cols) - 1) / 2, scores["lever"])
    ax.invert_yaxis()
    ax.set_xlabel("extra-trees feature importance (sums to 1 over levers)")
    ax.set_title("Feature scores: which levers separate the cases (and drive the KPI)", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def _code(doc, text: str) -> None:
    import html

    doc.html.append(f"<pre>{html.escape(text)}</pre>")
    doc.md.append(f"```\n{text.rstrip()}\n```\n")


def write_discovery(disc: Discovery, out: str | Path, source: str = "") -> Path:
    """Write the discovery report and tables into ``out``; return the path of ``discovery.html``.

    Args:
        disc: what :func:`discover` found.
        out: folder (created).
        source: one sentence on where the runs come from, put first in the report.
    """
    out = Path(out)
    doc = Document(f"clustercoop scenario discovery: {disc.condition}", out / "figures")
    doc.h2("Summary")
    if source:
        doc.p(source)
    unit = disc.settings.get("unit", "runs")
    doc.p(f"Cases of interest: {unit} with {disc.condition}: {disc.n_cases} of {disc.n_runs} "
          f"({_pct(disc.n_cases / disc.n_runs)}). Box chosen from each PRIM peeling trajectory: the greatest "
          f"coverage with density at least {disc.settings['min_density']:g}.")
    doc.bullets([("", headline(disc, int(b))) for b in disc.box_stats["box"]])
    for _, row in disc.box_stats.iterrows():
        b, step = int(row["box"]), int(row["step"])
        box = disc._prim_boxes[b - 1]
        doc.h2(f"PRIM box {b}")
        if not row["reached_min_density"]:
            doc.p(f"No step of this trajectory reaches density {disc.settings['min_density']:g}; the densest is "
                  "shown. The condition is not confined to a region of the swept levers (or needs more runs).")
        doc.p(headline(disc, b))
        limits = disc.boxes[disc.boxes["box"] == b]
        if len(limits):
            doc.p("Restricted levers: limits and quasi-p values (one-sided binomial test of whether the "
                  "restriction raises the density by more than chance; small is significant, above 0.05 is weak).")
            doc.table(limits[["lever", "low", "high", "categories", "qp_low", "qp_high"]])
        doc.figure(_box_figure(box, step, b), f"prim_box{b}", f"PRIM box {b}: restricted levers")
        doc.figure(_tradeoff_figure(box, step, b), f"prim_tradeoff{b}", f"PRIM box {b}: coverage-density tradeoff")
        doc.figure(_ppt_figure(box, step, b), f"prim_peeling{b}", f"PRIM box {b}: peeling trajectory")
        rs = disc.resample[disc.resample["box"] == b]
        if len(rs):
            doc.p(f"Reproducibility: PRIM rerun on {disc.settings['resamples']} random halves of the runs; how often "
                  "(percent) each lever is restricted in the box nearest the chosen coverage and the chosen density. "
                  "Near coverage 1 the nearest box by coverage is often an early, barely restricted step, so the "
                  "density column is the telling one there.")
            doc.table(rs[["lever", "reproduce_coverage_pct", "reproduce_density_pct"]])
    doc.h2("CART")
    doc.p("Leaves of a classification tree of case against other run (leaves hold at least "
          f"{_pct(disc.settings['mass_min'])} of the runs), densest first.")
    doc.table(disc.cart_leaves.head(12))
    doc.figure(_tree_figure(disc._cart), "cart_tree", "CART tree")
    _code(doc, disc.cart_text)
    doc.h2("Feature scores")
    doc.p("Extra-trees importance of each lever for telling the cases apart (score_cases) and, when the condition "
          "names a KPI, for the KPI's value itself.")
    doc.table(disc.feature_scores)
    doc.figure(_scores_figure(disc.feature_scores), "feature_scores", "Feature scores")
    doc.h2("Methods")
    s = disc.settings
    doc.bullets([
        ("", "EMA Workbench (ema_workbench.analysis): Prim, CART and get_ex_feature_scores on one row per run "
             "(replicates are separate rows); string and bool levers are categorical."),
        ("", f"PRIM: peel_alpha {s['peel_alpha']:g}, paste_alpha {s['peel_alpha']:g}, mass_min {s['mass_min']:g}, "
             f"lenient objective; {s['boxes']} box(es) requested, each on the runs outside the earlier boxes."),
        ("", f"Seed {s['seed']}: resampling of the first box ({s['resamples']} halves), CART tie-breaks and the "
             "extra trees; the same seed gives the same tables."),
        ("", "Files: boxes.csv (box, restricted lever, limits, quasi-p, coverage, density, mass), peeling.csv, "
             "resample.csv, cart_leaves.csv, feature_scores.csv, figures/."),
    ])
    boxes = disc.boxes.merge(disc.box_stats[["box", "step", "runs", "cases"]], on="box", how="left")
    return doc.write(out, "discovery", {"boxes": boxes, "peeling": disc.peeling, "resample": disc.resample,
                                        "cart_leaves": disc.cart_leaves, "feature_scores": disc.feature_scores})
