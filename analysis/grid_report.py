"""The dose–response report of a grid sweep: best level per KPI first, then means, differences, figures.

A grid runs every combination of the levers' levels with the same seeds, so each
lever's levels are compared like the arrangements of ``compare``: the mean per
level with a 95% interval, the paired difference of each level from a reference
level with Holm-adjusted intervals (:mod:`analysis.dose`), a dose–response
figure per lever, heat maps of two levers, a repeated-measures ANOVA that says
which lever moves each KPI most, and, for a sweep run with ``--timeseries``, the
KPIs over time per level with the envelope of the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from sim import kpis as kpi_registry

from . import dose, dose_figures
from .document import Document, num
from .io import HIGHER_IS_BETTER, Results, available_kpis
from .summary import glossary, mirrors

__all__ = ["grid_report", "GRID_SECTIONS", "MAX_PAIRS"]

GRID_SECTIONS: tuple[str, ...] = ("Summary", "Glossary", "Mean per level", "Differences between levels",
                                  "Dose–response", "Heat maps", "Over time", "Lever ranking", "Methods")

#: Most lever pairs drawn as heat maps (the first levers of the design).
MAX_PAIRS = 3


def _pct(x: float) -> str:
    if not np.isfinite(x):
        return ""
    return f"{x:+.0f}%" if abs(x) >= 10 else f"{x:+.1f}%"


def _signed(x: float) -> str:
    return "n/a" if not np.isfinite(x) else ("+" if x > 0 else "") + num(x)


def _answer(doc: Document, best: pd.DataFrame, anova: pd.DataFrame, levers: Sequence[dose.Lever],
            kpis: Sequence[str], n_seeds: int) -> None:
    """One row per KPI: for each lever its best level against the reference level, and the lever that matters most."""
    arrow = {"higher": "↑", "lower": "↓"}
    by = best.set_index(["kpi", "lever"]) if len(best) else best
    rows = []
    for k in kpis:
        row = [(k, ""), (dose.unit_of(k), "left"), (arrow.get(kpi_registry.kpi(k).direction, "—"), "")]
        for lv in levers:
            if (k, lv.name) not in by.index:
                row.append(("", ""))
                continue
            r = by.loc[(k, lv.name)]
            if pd.isna(r["other"]) and r["verdict"] == "reference":
                row.append((f"{dose.level_text(r['best'])} (its one level)", ""))
            elif r["verdict"] == "reference":
                sure = "clearly" if r["significant"] else "not clearly"
                text = f"{dose.level_text(r['best'])} (reference; {sure} ahead of {dose.level_text(r['other'])})"
                row.append((text, "reference" if not r["significant"] else "better"))
            else:
                pct = _pct(r["diff_pct"])
                text = f"{dose.level_text(r['best'])}: {_signed(r['diff'])}" + (f" ({pct})" if pct else "")
                row.append((text, "better" if r["verdict"] == "better" else "same"))
        terms = anova[anova["kpi"] == k] if len(anova) else anova
        if len(terms):
            top = terms.loc[terms["partial_eta2"].idxmax()]
            weak = "" if top["p_value"] < 0.05 else ", not significant"
            row.append((f"{top['term']} (η²p {top['partial_eta2']:.2f}{weak})", "left"))
        else:
            row.append(("n/a", ""))
        rows.append(row)
    heads = ["KPI", "unit", "better", *[f"best {lv.name} (vs {dose.level_text(lv.reference)})" for lv in levers],
             "moves it most"]
    doc.cells(heads, rows, css="answer")
    doc.p("Each lever's cell: the level with the best mean (the other levers averaged), its difference from the "
          "reference level in the KPI's unit and in percent. Green: significantly better than the reference level "
          f"(paired by seed over {n_seeds} seeds, Holm-corrected); grey: cannot be told apart. Where the reference "
          "level is itself best, the cell says whether the next best level is clearly behind it (green) or not. "
          "'Moves it most': the lever or interaction with the largest partial eta squared in a repeated-measures "
          "ANOVA (share of the variance, net of the seeds, that it explains; 'not significant': its F test has p ≥ 0.05; "
          "see Lever ranking).")


def _level_means(doc: Document, tables: dict[str, pd.DataFrame], levers: Sequence[dose.Lever],
                 kpis: Sequence[str]) -> None:
    doc.h2("Mean per level")
    doc.p("For each lever: the mean of each KPI at each level over the seeds [95% t-interval], the other levers' "
          "levels averaged first for every seed. Units in the glossary.")
    for lv in levers:
        doc.h3(lv.name)
        t = tables[lv.name]
        rows = []
        for value in lv.levels:
            sub = t[t["scenario"] == lv.label(value)].set_index("kpi")
            cells = [(dose.level_text(value) + (" (reference)" if value == lv.reference else ""), "left")]
            for k in kpis:
                r = sub.loc[k]
                ci = f" [{num(r['ci_low'])}, {num(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
                cells.append((num(r["mean"]) + ci, ""))
            rows.append(cells)
        doc.cells([lv.short, *kpis], rows)


def _differences(doc: Document, diffs: dict[str, pd.DataFrame], levers: Sequence[dose.Lever]) -> None:
    doc.h2("Differences between levels")
    if not any(len(d) for d in diffs.values()):
        doc.p("Not available: paired differences need at least two replicates (seeds); rerun the sweep with "
              "--replicates 3 or more.")
        return
    doc.p("Each level minus the reference level, paired by seed (every design point runs the same seeds), with "
          "a t-interval adjusted like its Holm p-value (the family: one lever's levels × KPIs), Cohen's d_z and "
          "the replicates a difference of this size would need at 80% power (—: no practical number). Then the significant differences in "
          "words.")
    cols = ["level", "kpi", "diff", "ci_low", "ci_high", "d_z", "p_holm", "significant", "n_needed"]
    for lv in levers:
        d = diffs[lv.name]
        doc.h3(f"{lv.name} (reference {dose.level_text(lv.reference)})")
        if not len(d):
            doc.p("One level only: nothing to compare.")
            continue
        doc.table(d[cols].assign(level=d["level"].map(dose.level_text),
                                 n_needed=[str(int(n)) if np.isfinite(n) else "—" for n in d["n_needed"]]))
        sig = d[d["significant"]]
        doc.bullets([("better" if (r["diff"] > 0) == HIGHER_IS_BETTER.get(r["kpi"], True) else "worse",
                      r["verdict"]) for r in sig.to_dict("records")]
                    or [("unsure", "No level differs significantly from the reference level on any KPI.")])
        if len(d) > len(sig):
            doc.p(f"{len(d) - len(sig)} other difference(s) cannot be told apart from 0 with these replicates.")


def _figures(doc: Document, res: Results, levers: Sequence[dose.Lever], head: Sequence[str]) -> None:
    runs = res.runs
    doc.h2("Dose–response")
    doc.p("Per lever and headline KPI: the mean at each level with its 95% t-interval over seeds (a band for a "
          "numeric lever, bars for a text one). With two levers, one line per level of the other lever shows "
          "whether the dose–response depends on it (lines that are not parallel: an interaction).")
    for i, lv in enumerate(levers):
        others = [o for o in levers if o is not lv]
        by = others[0] if len(others) == 1 and len(others[0].levels) <= dose_figures.MAX_LINES else None
        doc.figure(dose_figures.dose_response(runs, lv, head, by), f"dose_{i + 1}",
                   f"Dose–response of the headline KPIs to {lv.name}")
    doc.h2("Heat maps")
    pairs = list(combinations(levers, 2))[:MAX_PAIRS]
    if not pairs:
        doc.p("One lever: no pair of levers to map.")
    for i, (a, b) in enumerate(pairs):
        doc.figure(dose_figures.heat_maps(runs, a, b, head), f"heat_{i + 1}",
                   f"Mean of each headline KPI for every {a.name} × {b.name} combination, coloured within each "
                   "panel's own range (a strong colour can be a small difference: see Differences between levels)")
    doc.h2("Over time")
    series = {k: res.sweep_series([k]) for k in head} if res.has_sweep_series() else None
    if series is None:
        doc.p("This sweep kept no KPIs over time: run it with --timeseries (into a new folder) to see the "
              "outcomes over time per level.")
        return
    doc.p(f"Per lever and headline KPI, over the months of the runs: the mean over the runs at each level and "
          f"their envelope, the {dose.ENVELOPE[0]:.0%} to {dose.ENVELOPE[1]:.0%} quantile of the runs per step "
          "(replicates and the other levers' levels together: the spread of outcomes a level allows).")
    for i, lv in enumerate(levers):
        frames = {k: dose.envelopes(s, runs, lv, k) for k, s in series.items() if k in s.columns}
        doc.figure(dose_figures.envelopes_over_time(frames, lv), f"over_time_{i + 1}",
                   f"Headline KPIs over time per level of {lv.name}, with the envelope of the runs")


def _ranking(doc: Document, anova: pd.DataFrame, tables: dict[str, pd.DataFrame], kpis: Sequence[str]) -> None:
    doc.h2("Lever ranking")
    if len(anova):
        doc.p("Repeated-measures ANOVA per KPI (statsmodels AnovaRM; the seeds are the subjects, every design "
              "point runs each of them): F test of each lever and interaction, and partial eta squared, the share "
              "of the variance net of the seeds' own differences that the term explains (0 to 1).")
        top = anova.loc[anova.groupby("kpi")["partial_eta2"].idxmax()].set_index("kpi").reindex(
            [k for k in kpis if k in set(anova["kpi"])]).reset_index()
        doc.table(top[["kpi", "term", "partial_eta2", "p_value"]].rename(
            columns={"term": "moves it most", "partial_eta2": "partial eta²"}))
        doc.table(anova)
        overall = anova.groupby("term")["partial_eta2"].mean().sort_values(ascending=False)
        doc.table(overall.rename("mean partial eta² over KPIs").reset_index())
    else:
        doc.p("No ANOVA: it needs two or more seeds and a second level. Shown instead: the range of the level "
              "means of each lever per KPI (largest minus smallest, in the KPI's unit).")
        rows = [{"kpi": k, "lever": name, "range": float(t.loc[t["kpi"] == k, "mean"].max()
                                                        - t.loc[t["kpi"] == k, "mean"].min())}
                for k in kpis for name, t in tables.items()]
        doc.table(pd.DataFrame(rows))


def _methods(doc: Document, design: dict, levers: Sequence[dose.Lever]) -> None:
    doc.h2("Methods")
    doc.bullets([
        ("", f"Design: a full grid, every combination of the levers' levels ({design.get('points')} points), each "
             f"run with replicate seeds 0..{int(design.get('replicates', 1)) - 1}; replicate r has the same seed at "
             "every point (common random numbers), so levels are compared within a seed."),
        ("", "Mean per level: for each seed, the KPI is averaged over the other levers' levels; the mean over seeds "
             "gets a Student t-interval, mean ± t(0.975, n−1)·sd/√n."),
        ("", "Differences: each level minus the reference level, paired by seed; paired t-test; Holm's step-down "
             "correction over one lever's levels × KPIs; each interval at the Bonferroni level of the Holm step "
             "that decided its test, so it excludes 0 exactly when the Holm-adjusted p is below 0.05. Replicates "
             "needed: 80% power at level 0.05/m (noncentral t). Reference level: the base scenario's own value "
             "when the grid has it, else the first level ("
             + "; ".join(f"{lv.name}: {dose.level_text(lv.reference)}" for lv in levers) + ")."),
        ("", "Lever ranking: repeated-measures ANOVA (statsmodels AnovaRM) with the seeds as subjects and the "
             "levers as within factors, on the run values; partial eta² = F·df1 / (F·df1 + df2)."),
        ("", "Text and true/false levers are levels like numeric ones; only the figures draw them as categories."),
        ("", f"Envelopes over time (sweep --timeseries): mean over runs and the {dose.ENVELOPE[0]:.0%}–"
             f"{dose.ENVELOPE[1]:.0%} quantiles of the runs at each step."),
        ("", "KPIs: time average of each KPI over the second half of the run (burn-in: first half dropped)."),
    ])


def grid_report(res: Results, out: Path) -> tuple[Document, pd.DataFrame]:
    """The document and summary table (level means with differences) of a grid sweep."""
    design = res.manifest["design"]
    levers = dose.grid_levers(res)
    kpis = available_kpis(res.runs)
    mirrored = mirrors(res.runs, kpis)
    shown = [k for k in kpis if k not in mirrored]
    head = [k for k in kpi_registry.headline_kpis() if k in shown]
    n_seeds = int(res.runs["seed"].nunique())
    tables = {lv.name: dose.level_table(res.runs, lv, shown) for lv in levers}
    diffs = {lv.name: dose.level_differences(res.runs, lv, shown) for lv in levers}
    anova = dose.lever_anova(res.runs, levers, shown)
    best = dose.best_levels(tables, diffs, levers, shown)

    doc = Document(f"clustercoop dose–response report: {len(levers)} lever(s), grid design", out / "figures",
                   fold=True)
    doc.h2("Summary", fold=False)
    doc.p(f"Results folder: {res.folder.name}. Levers: "
          + "; ".join(f"{lv.name} ({len(lv.levels)} levels: {', '.join(map(dose.level_text, lv.levels))}; "
                      f"{'numeric' if lv.numeric else 'text'})" for lv in levers)
          + f". Grid of {design.get('points')} points × {design.get('replicates', 1)} replicate(s) (the same "
          f"{n_seeds} seeds at every point), master seed {res.manifest.get('master_seed', 'n/a')}, "
          f"{res.steps() or 'run.steps of the scenario'} steps per run; every KPI is the mean over the second half of a run."
          + ("".join(f" {k} is exactly 1 − {m} in these runs and is not repeated." for k, m in mirrored.items())))
    if n_seeds < 3:
        doc.p(f"Warning: {n_seeds} seed(s) per design point: too few for intervals and tests; rerun with "
              "--replicates 3 or more (5 or more for reliable intervals).")
    doc.h3("Best level per KPI")
    _answer(doc, best, anova, levers, shown, n_seeds)
    doc.toc()
    doc.h2("Glossary")
    doc.table(glossary(kpis, mirrored))
    _level_means(doc, tables, levers, shown)
    _differences(doc, diffs, levers)
    _figures(doc, res, levers, head)
    _ranking(doc, anova, tables, shown)
    _methods(doc, design, levers)

    summary = pd.concat(tables.values(), ignore_index=True)
    done = [d for d in diffs.values() if len(d)]
    if done:
        d = pd.concat(done, ignore_index=True)[["lever", "scenario", "kpi", "diff", "ci_low", "ci_high", "d_z",
                                                 "p_value", "p_holm", "significant", "n_needed"]]
        summary = summary.merge(d.rename(columns={"ci_low": "diff_ci_low", "ci_high": "diff_ci_high"}),
                                on=["lever", "scenario", "kpi"], how="left")
    return doc, summary.rename(columns={"scenario": "level_label"})
