"""The report of a sweep folder: which lever moves which KPI, by design.

``sweep_report`` writes, for ``--design sobol``, the Sobol' and (radial) Morris
sensitivity analysis and the lever ranking; for ``--design morris``, the Morris
screening of the trajectory design and the Morris plane; for ``--design lhs``,
rank correlations of numeric levers and a rank test of text levers; for a grid,
the dose–response report of :mod:`analysis.grid_report`. Each Methods section
describes the design that was run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim import kpis as kpi_registry

from . import figures
from .document import Document
from .io import Results, available_kpis
from .sensitivity import leaders, sweep_morris, sweep_sensitivity

__all__ = ["sweep_report", "SWEEP_SECTIONS", "association"]

#: KPIs of the sensitivity figures.
HEADLINE: tuple[str, ...] = kpi_registry.headline_kpis()

SWEEP_SECTIONS: tuple[str, ...] = ("Summary", "Sensitivity analysis", "Lever ranking", "Methods")


def sweep_report(res: Results, out: Path) -> tuple[Document, pd.DataFrame]:
    """The document and summary table of a sweep folder, by its design."""
    if res.manifest["design"].get("kind") == "grid":
        from .grid_report import grid_report

        return grid_report(res, out)
    return _sweep_report(res, out)


def association(runs: pd.DataFrame, params: list[str], kpis: list[str]) -> pd.DataFrame:
    """How strongly each lever goes with each KPI across the runs, on a 0-1 scale for ranking.

    A numeric lever gets Spearman's rank correlation rho (``strength`` = ``|rho|``); a text or
    true/false lever, which has no order, the Kruskal–Wallis test across its values with the
    effect size epsilon squared = H / (n − 1) (``strength``; Tomczak & Tomczak 2014).

    Returns:
        Columns ``kpi, param, method, value, p_value, strength``.
    """
    rows = []
    for k in kpis:
        y = pd.to_numeric(runs[f"{k}_mean"], errors="coerce")
        for p in params:
            col = runs[p]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                ok = y.notna() & col.notna()
                rho, pv = (sps.spearmanr(col[ok], y[ok]) if ok.sum() > 2 and col[ok].nunique() > 1
                           and y[ok].nunique() > 1 else (np.nan, np.nan))
                rows.append({"kpi": k, "param": p, "method": "Spearman rho", "value": float(rho),
                             "p_value": float(pv), "strength": abs(float(rho))})
                continue
            groups = [y[(col == v) & y.notna()].to_numpy(float) for v in dict.fromkeys(col)]
            groups = [g for g in groups if g.size]
            n = sum(g.size for g in groups)
            if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
                h, pv = np.nan, np.nan
            else:
                h, pv = sps.kruskal(*groups)
            eps = float(h) / (n - 1) if np.isfinite(h) and n > 1 else np.nan
            rows.append({"kpi": k, "param": p, "method": "Kruskal-Wallis epsilon²", "value": eps,
                         "p_value": float(pv), "strength": eps})
    return pd.DataFrame(rows)


def _sweep_report(res: Results, out: Path) -> tuple[Document, pd.DataFrame]:
    design = res.manifest["design"]
    doc = Document(f"clustercoop sensitivity report: {len(res.params)} lever(s), {design.get('kind')} design",
                   out / "figures", fold=True)
    kpis = available_kpis(res.runs)
    doc.h2("Summary", fold=False)
    doc.p(f"Results folder: {res.folder.name}. Levers: "
          + "; ".join(f"{p['name']} ({p.get('spec', '')})" for p in design["params"])
          + f". Design: {design.get('kind')}, {design.get('points')} points × {design.get('replicates', 1)} "
          f"replicate(s), master seed {res.manifest.get('master_seed', 'n/a')}.")
    doc.toc()
    doc.h2("Sensitivity analysis", opened=True)
    if design.get("kind") == "morris":
        return _morris_section(doc, res, kpis)
    if design.get("kind") != "sobol":
        doc.p("A Latin hypercube design: each lever's association with each KPI over the runs (a screening, not "
              "a variance decomposition; for that, --design sobol). Numeric levers: Spearman rank correlation rho "
              "(−1 to 1). Text or true/false levers, which have no order: Kruskal–Wallis test across their values, "
              "effect size epsilon² (0 to 1). strength: |rho| or epsilon², on which the levers are ranked.")
        table = association(res.runs, res.params, kpis)
        doc.table(table)
        doc.h2("Lever ranking", opened=True)
        rank = table.groupby("param")["strength"].mean()
        doc.table(rank.sort_values(ascending=False).rename("mean strength over KPIs").reset_index())
        doc.p("|rho| and epsilon² are both 0 without association and 1 at its strongest, but they are not the "
              "same measure: compare a text lever with a numeric one loosely.")
        _methods_lhs(doc, design)
        return doc, table
    table = sweep_sensitivity(res, kpis)
    base_n = int(design.get("points", 0)) // (2 * len(res.params) + 2)
    if base_n < 64:
        doc.p(f"Caution: base sample N={base_n}; Sobol' intervals are wide and indices can leave [0, 1]. "
              "Use --samples 256 or more for stable indices.")
    if int(design.get("replicates", 1)) < 2:
        doc.p("One replicate per design point: replicate noise is counted as lever effect (mostly in the "
              "total indices); use --replicates 2 or more to measure it (noise_share).")
    doc.p("Sobol' first-order (S1) and total (ST) indices with 95% bootstrap half-widths (SALib), and Morris "
          "elementary effects from the radial structure of the same Saltelli design (mu*, mean absolute effect "
          "per full range of the lever). noise_share: share of the output variance between replicates of one "
          "design point (n/a with one replicate).")
    shown = [k for k in HEADLINE if k in set(table["kpi"])]
    doc.figure(figures.sensitivity_bars(table, shown), "sensitivity",
               "Sobol' S1/ST and Morris mu* per lever for the headline KPIs")
    doc.table(table)
    doc.h2("Lever ranking", opened=True)
    doc.p("Most influential lever per KPI (largest total index ST), and the levers that cannot be told apart from "
          "it (their 95% intervals overlap):")
    _leaders(doc, leaders(table, "ST", "ST_conf").merge(
        table[table["rank"] == 1][["kpi", "label"]], on="kpi"), "ST")
    overall = table.groupby("param")["ST"].mean().sort_values(ascending=False)
    doc.table(overall.rename("mean ST over KPIs").reset_index())
    _methods_sweep(doc)
    return doc, table


def _leaders(doc: Document, top: pd.DataFrame, what: str) -> None:
    """The top lever per KPI with the levers tied with it, and a sentence on how often the order is unclear."""
    shown = top.rename(columns={"top": "top lever", "value": what, "conf": "± (95%)",
                                "tied": "cannot be told apart from"})
    shown["cannot be told apart from"] = shown["cannot be told apart from"].replace("", "— (clearly first)")
    doc.table(shown)
    unclear = top[top["tied"] != ""]
    if len(unclear) == 0:
        doc.p("On every KPI the top lever's interval lies clear of the others: the first place is settled.")
    else:
        doc.p(f"On {len(unclear)} of {len(top)} KPIs the top lever cannot be told apart from at least one other "
              f"({', '.join(unclear['kpi'])}): read their order as a tie, or run more samples to separate them.")


def _morris_section(doc: Document, res: Results, kpis: list[str]) -> tuple[Document, pd.DataFrame]:
    design = res.manifest["design"]
    if res.design_unit() is None:
        doc.p("This sweep folder has no design_unit.parquet, the sample matrix the Morris screening is computed "
              "from; it was written by an older version: rerun the sweep to get the screening.")
        doc.h2("Lever ranking", opened=True)
        doc.p("Not available without the sample matrix (see above).")
        _methods_morris(doc)
        return doc, pd.DataFrame(columns=["kpi", "rank", "param", "mu", "mu_star", "sigma", "mu_star_conf"])
    table = sweep_morris(res, kpis)
    doc.p(f"Morris elementary effects (SALib) from {design.get('trajectories')} trajectories on a "
          f"{design.get('levels')}-level grid. mu*: mean absolute change of the KPI per full range of the lever "
          "(overall influence), with a 95% bootstrap half-width; sigma: spread of the effects (interactions or "
          "non-linearity); mu: signed mean (effects of both signs cancel in it). noise_share: share of the output "
          "variance between replicates of one design point (n/a with one replicate).")
    if int(design.get("trajectories", 0)) < 10:
        doc.p(f"Caution: {design.get('trajectories')} trajectories; 10 to 50 are usual for a stable ranking "
              "(--samples).")
    if int(design.get("replicates", 1)) < 2:
        doc.p("One replicate per design point: replicate noise shows up as lever effect (mu*, sigma); "
              "use --replicates 2 or more to measure it (noise_share).")
    shown = [k for k in HEADLINE if k in set(table["kpi"])]
    doc.figure(figures.morris_plot(table, shown), "morris", "Morris mu* per lever and the Morris plane for the headline KPIs")
    doc.table(table)
    doc.h2("Lever ranking", opened=True)
    doc.p("Most influential lever per KPI (largest mu*), and the levers that cannot be told apart from it (their "
          "95% intervals overlap):")
    _leaders(doc, leaders(table, "mu_star", "mu_star_conf"), "mu*")
    doc.table(table.groupby("param")["rank"].mean().sort_values().rename("mean rank over KPIs").reset_index())
    _methods_morris(doc)
    return doc, table


def _methods_morris(doc: Document) -> None:
    doc.h2("Methods")
    doc.bullets([
        ("", "Design: SALib morris.sample (trajectories of k + 1 points, one lever moved per step by 2/3 of its "
             "range on a 4-level grid), seeded by the sweep's master seed; the runner stores the sample matrix "
             "(design_unit.parquet) and the analysis checks it against the design points of the runs."),
        ("", "Analysis: SALib morris.analyze on the design-point means over replicates; mu* intervals are 95% "
             "bootstrap half-widths. A list-valued lever moves between values on the same grid (index scale)."),
    ])


def _methods_sweep(doc: Document) -> None:
    doc.h2("Methods")
    doc.bullets([
        ("", "Design: Saltelli's extension of the Sobol' sequence (SALib sobol.sample with second-order terms), "
             "N (2k + 2) points for k levers, seeded by the sweep's master seed; the runner stores the sample "
             "matrix (design_unit.parquet)."),
        ("", "Sobol' indices: SALib sobol.analyze on the Saltelli design written by sweep --design sobol; "
             "replicates of a design point are averaged first; intervals are 95% bootstrap half-widths."),
        ("", "Morris screening: elementary effects A→AB_i and B→BA_i of the same design (radial one-at-a-time "
             "design), normalised by the lever's range; mu* with a 95% bootstrap half-width."),
        ("", "Lever label: influential when ST − CI > 0.05, negligible when ST + CI < 0.05, else uncertain."),
    ])


def _methods_lhs(doc: Document, design: dict) -> None:
    doc.h2("Methods")
    doc.bullets([
        ("", f"Design: Latin hypercube (SALib latin.sample), {design.get('points')} points seeded by the sweep's "
             "master seed, each run with one of the replicate seeds (the same seeds at every point). A list-valued "
             "lever is sampled over the index of its values."),
        ("", "Numeric levers: Spearman rank correlation of the lever with the KPI over all runs, with its p-value "
             "(scipy.stats.spearmanr). Text or true/false levers: Kruskal–Wallis H test across their values "
             "(scipy.stats.kruskal), effect size epsilon² = H / (n − 1)."),
        ("", "KPIs: time average of each KPI over the second half of the run (burn-in: first half dropped)."),
    ])

