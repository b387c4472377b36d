"""The report of a result folder: ``report.html``, ``report.md``, ``summary.csv``, ``figures/``.

``build_report`` is what ``run.py report`` and ``run.py compare`` call. For a
``compare`` (or single ``run``) folder the report answers "which arrangement is
better on which KPI, by how much, and how sure" on its first screen: the best
arrangement per KPI in the KPI's unit and in percent, and every arrangement
against the reference as a coloured table with what each spends. The details
follow in sections that open with a click: a glossary of the KPIs, the headline
table, one plain-language verdict per scenario and KPI, the KPI table with
t-intervals, paired differences with Holm-corrected p-values and the replicates
that would be needed, KPIs over time, distributions, the marketing scorecard,
and the network and Morgan–Hunt figure of the one run of the reference that the
runner stored. A sweep folder gets the report of its design
(:mod:`analysis.sweep_report`; for a grid, the dose–response report of
:mod:`analysis.grid_report`).

The HTML file is self-contained: CSS inline, figures embedded as base64 PNG,
no external address.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim import kpis as kpi_registry
from sim.errors import ScenarioError

from . import claims, export, figures, network_figures, programme
from .document import Document, num
from .io import HIGHER_IS_BETTER, MAIN_KPIS, Results, available_kpis, load_results
from .scorecard import QUALITATIVE, QUANTITATIVE, scorecard
from .stats import kpi_table, paired_differences
from .sweep_report import SWEEP_SECTIONS, sweep_report
from .summary import THIN_SHARE, best_per_kpi, glossary, mirrors, thin_note, thin_ratios, verdict, verdict_matrix

__all__ = ["build_report", "COMPARE_SECTIONS", "SWEEP_SECTIONS", "HEADLINE", "MIN_UNITS"]

#: Fewest replicates (or parameter draws, when replicates share them) the report takes without a warning: below
#: it the t-intervals rest on a handful of units and their width on chance.
MIN_UNITS = 5

#: KPIs of the headline table (all of MAIN_KPIS appear in the full table and verdicts).
HEADLINE: tuple[str, ...] = kpi_registry.headline_kpis()

COMPARE_SECTIONS: tuple[str, ...] = (
    "Summary",
    "Glossary",
    "Headline table",
    "Verdicts per KPI",
    "KPI table",
    "Differences from the reference",
    "KPIs over time",
    "Distributions",
    "Marketing effectiveness scorecard",
    "Network snapshot",
    "Morgan–Hunt panel",
    "Methods",
)
# --------------------------------------------------------------------------- compare report


def _choose_reference(res: Results, reference: str | None) -> str:
    if reference is not None:
        if reference not in res.scenarios:
            raise ScenarioError(f"--reference {reference!r}: not a scenario of {res.folder}; "
                                f"allowed: {', '.join(res.scenarios)}")
        return reference
    return "baseline" if "baseline" in res.scenarios else res.scenarios[0]


def _headline(table: pd.DataFrame, diffs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str],
              reference: str) -> pd.DataFrame:
    rows = []
    for s in scenarios:
        row = {"scenario": s + (" (reference)" if s == reference else "")}
        for k in kpis:
            t = table[(table["scenario"] == s) & (table["kpi"] == k)].iloc[0]
            mark = ""
            if s != reference and len(diffs):
                d = diffs[(diffs["scenario"] == s) & (diffs["kpi"] == k)]
                if len(d) and bool(d["significant"].iloc[0]):
                    good = (d["diff"].iloc[0] > 0) == HIGHER_IS_BETTER.get(k, True)
                    mark = " ▲" if good else " ▼"
            ci = f" [{num(t['ci_low'])}, {num(t['ci_high'])}]" if np.isfinite(t["ci_low"]) else ""
            row[_titled(k)] = f"{num(t['mean'])}{ci}{mark}"
        rows.append(row)
    return pd.DataFrame(rows)


def _titled(kpi: str) -> str:
    """``profit (MU per step)``: a KPI with its unit, as headline.csv heads its columns."""
    unit = kpi_registry.unit_of(kpi)
    return f"{kpi} ({unit})" if unit else kpi


def _with_units(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``unit`` column after its ``kpi`` column."""
    out = frame.copy()
    out.insert(out.columns.get_loc("kpi") + 1, "unit", [kpi_registry.unit_of(k) or "" for k in out["kpi"]])
    return out


def _bottom_line(kpi: str, diffs: pd.DataFrame, table: pd.DataFrame, reference: str, n: int,
                 thin: dict[tuple[str, str], float]) -> tuple[str, str]:
    d = diffs[diffs["kpi"] == kpi]
    hib = HIGHER_IS_BETTER.get(kpi, True)
    good = d[d["significant"] & ((d["diff"] > 0) == hib)]
    bad = d[d["significant"] & ((d["diff"] > 0) != hib)]
    undecided = len(d) - len(good) - len(bad)
    t = table[(table["kpi"] == kpi) & np.array([(s, kpi) not in thin for s in table["scenario"]])]
    best = t.loc[t["mean"].idxmax() if hib else t["mean"].idxmin(), "scenario"] if t["mean"].notna().any() else "n/a"
    text = (f"{kpi} ({'higher' if hib else 'lower'} is better): {len(good)} scenario(s) significantly better than "
            f"{reference}, {len(bad)} significantly worse, {undecided} not distinguishable with {n} replicates; "
            f"best mean: {best}")
    good = good[np.array([(s, kpi) not in thin for s in good["scenario"]], dtype=bool)]  # a ratio over ~nothing
    if len(good):
        top = good.loc[(good["diff"] if hib else -good["diff"]).idxmax()]
        text += f"; largest significant gain: {top['scenario']} ({'+' if top['diff'] > 0 else ''}{num(top['diff'])})"
    return text + ".", "better" if len(good) else ("worse" if len(bad) else "unsure")


def _verdict_class(row: dict) -> str:
    if not row["significant"]:
        return "unsure"
    return "better" if (row["diff"] > 0) == HIGHER_IS_BETTER.get(row["kpi"], True) else "worse"


def _pct_text(pct: float) -> str:
    if not np.isfinite(pct):
        return "n/a"
    if abs(pct) < 0.05:
        return "0.0%"
    return f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"  # two or three significant digits suffice


def _signed(x: float) -> str:
    return "n/a" if not np.isfinite(x) else ("+" if x > 0 else "") + num(x)


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _costs(runs: pd.DataFrame, scenarios: Sequence[str]) -> pd.DataFrame:
    """Mean of each cost KPI per scenario (MU per step), for the costs the runs have and spend on."""
    cols = [k for k in kpi_registry.cost_kpis() if f"{k}_mean" in runs
            and np.nanmax(np.abs(pd.to_numeric(runs[f"{k}_mean"], errors="coerce")), initial=0.0) > 0]
    return runs.groupby("scenario")[[f"{k}_mean" for k in cols]].mean().reindex(scenarios).rename(
        columns=lambda c: c.removesuffix("_mean"))


def _spent(costs: pd.DataFrame) -> pd.Series | None:
    """Public and firms' spending per step per scenario (the associations spend what the firms pay them)."""
    cols = [kpi_registry.spending_of(p) for p in ("public", "firms")]
    present = [c for c in cols if c in costs.columns]
    return costs[present].sum(axis=1) if present else None


def _answer(doc: Document, table: pd.DataFrame, diffs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str],
            ref: str, n_rep: int, costs: pd.DataFrame, thin: dict[tuple[str, str], float]) -> None:
    """The best arrangement per KPI, and every arrangement against the reference, coloured by verdict."""
    arrow = {"higher": "↑", "lower": "↓"}
    doc.h3("Best arrangement per KPI")
    m = verdict_matrix(table, diffs, kpis, scenarios, ref, thin)
    spent = _spent(costs)
    worse_on = m[m["verdict"] == "worse"].groupby("scenario").size()
    rows = []
    for r in best_per_kpi(table, diffs, kpis, ref, thin).to_dict("records"):
        if r["verdict"] == "reference":
            runner = r["runner_up"]
            sure = (f"yes: next best {runner} is significantly worse ({_p_text(r['p_holm'])})"
                    if r["compared"] == "worse" else f"no: next best {runner} cannot be told apart")
            cls = "reference"
            size = (f"{runner} {_signed(r['diff'])}", _pct_text(r["diff_pct"]))
        else:
            sure = (f"yes, better than {ref} ({_p_text(r['p_holm'])})" if r["verdict"] == "better"
                    else f"no: cannot be told apart from {ref} with {n_rep} replicates")
            cls = r["verdict"]
            size = (_signed(r["diff"]), _pct_text(r["diff_pct"]))
        trade = int(worse_on.get(r["best"], 0)) if r["best"] != ref else 0
        extra = (_signed(float(spent[r["best"]] - spent[ref])) if r["best"] != ref else "none (reference)") \
            if spent is not None else "n/a"
        rows.append([(r["kpi"], ""), (r["unit"], "left"), (arrow.get(r["direction"], "—"), ""), (r["best"], f"left {cls}"),
                     (num(r["best_mean"]), ""), (size[0], ""), (size[1], ""), (sure, f"left {cls}"),
                     (f"{trade} of {len(kpis)}" if trade else "none", "worse" if trade else ""), (extra, "cost")])
    doc.cells(["KPI", "unit", "better", "best arrangement", "its mean", f"vs {ref} (unit)", f"vs {ref} (%)",
               "sure?", "but worse on", f"extra spending vs {ref} (MU per step)"], rows, css="answer")
    doc.p(f"'But worse on': the KPIs on which the best arrangement is significantly worse than {ref}; a best value "
          "can come with losses elsewhere (fewer messages lost because fewer firms remain, no contract breaches "
          "because there are no contracts), shown in the table below. 'Extra spending': what the best arrangement "
          f"spends per step more than {ref} (negative: less), public funds and the firms' own payments together "
          "(the associations spend the firms' dues and fines, so they are counted once)."
          + (f" A ratio (return per MU spent) is not ranked for an arrangement that spends less than "
             f"{THIN_SHARE:.0%} of {ref}'s on what it divides by: a quotient over almost nothing spent is large "
             "without the money doing more. Such cells are grey in the table below, marked 'on x % of "
             f"{ref}'s spending' ({', '.join(sorted({f'{k} of {s}' for s, k in thin}))})." if thin else ""))
    doc.h3(f"Every arrangement against {ref}")
    m = m.set_index(["scenario", "kpi"])
    mark = {"better": " ▲", "worse": " ▼", "same": "", "unranked": ""}
    rows = []
    for s in scenarios:
        row = [(s + (" (reference)" if s == ref else ""), "reference" if s == ref else "")]
        for k in kpis:
            if (s, k) not in m.index:
                row.append(("", ""))
                continue
            c = m.loc[(s, k)]
            if c["verdict"] == "reference":
                row.append((num(c["mean"]), "reference"))
            else:
                text = _pct_text(c["diff_pct"]) if np.isfinite(c["diff_pct"]) else _signed(c["diff"])
                if c["verdict"] == "unranked":
                    row.append((f"{text} ({thin_note(c['thin'], ref)})", "same"))
                else:
                    row.append((text + mark[c["verdict"]], c["verdict"]))
        row += [(num(float(costs.loc[s, k])), "cost") for k in costs.columns]
        rows.append(row)
    heads = [f"{k.replace('_', ' ')} {arrow.get(kpi_registry.kpi(k).direction, '')}".strip() for k in kpis]
    heads += [f"{k.replace('_', ' ')} (MU/step)" for k in costs.columns]
    doc.cells(["arrangement", *heads], rows, css="answer")
    doc.p(f"Reference row: {ref}'s mean in the KPI's unit (see the glossary). Other rows: difference from {ref} in "
          f"percent of {ref}'s mean (its own unit where {ref}'s mean is 0). Green ▲ significantly better, red ▼ "
          "significantly worse (paired by seed, Holm-corrected over all comparisons), grey: cannot be told apart "
          f"with {n_rep} replicates. ↑ higher is better, ↓ lower is better."
          + (" Last column(s), in blue: what each arrangement spends per step (mean, MU), for reading the outcomes "
             "against their cost." if len(costs.columns) else ""))


def _compare_report(res: Results, out: Path, reference: str | None) -> tuple[Document, pd.DataFrame]:
    ref = _choose_reference(res, reference)
    scenarios = res.scenarios
    kpis = available_kpis(res.runs)
    if not kpis:
        raise ScenarioError(f"{res.folder}: results.parquet holds none of the report's KPIs ({', '.join(MAIN_KPIS)})")
    runs = res.runs
    n_rep = int(runs.groupby("scenario").size().min())
    table = kpi_table(runs, kpis, order=scenarios)
    others = [s for s in scenarios if s != ref]
    diffs = paired_differences(runs, ref, kpis, order=scenarios) if others else pd.DataFrame(
        columns=["scenario", "kpi", "diff", "ci_low", "ci_high", "significant", "p_holm", "verdict"])
    doc = Document(f"clustercoop report: {len(scenarios)} scenario(s), reference '{ref}'", out / "figures", fold=True)

    # Summary: the answer on one screen, then the contents and the details
    doc.h2("Summary", fold=False)
    steps = res.steps()
    mirrored = mirrors(runs, kpis)
    shown = [k for k in kpis if k not in mirrored]
    if steps is None and res.timeseries is not None:  # each scenario's own run.steps: read what was run
        ends = sorted(set(res.timeseries.groupby("scenario")["step"].max().astype(int)))
        steps = ends[0] if len(ends) == 1 else f"{ends[0]} to {ends[-1]}"
    doc.p(f"{len(scenarios)} arrangements of the cluster compared with '{ref}' over {n_rep} replicates each (the "
          f"same seeds in every arrangement), {steps or 'as many as each scenario file sets'} steps per run; "
          "every KPI is the "
          "mean over the second half of a run." + (
              " " + "; ".join(f"{k} is exactly 1 − {m} in these runs and is not repeated" for k, m in mirrored.items())
              + "." if mirrored else ""))
    shared = shared_draws(runs)
    if shared:
        doc.p(f"The replicates share {shared[0]} draws of the uncertain parameters (about {n_rep // shared[0]} seeds "
              "each): every interval and test is over the draws, the independent units (see Methods).")
    if n_rep < MIN_UNITS:
        doc.p(f"Warning: {n_rep} replicate(s) per scenario is too few for reliable intervals; use at least "
              f"{MIN_UNITS}.")
    elif shared and shared[0] < MIN_UNITS:
        doc.p(f"Warning: {shared[0]} parameter draw(s) is too few for reliable intervals; use at least {MIN_UNITS} "
              "draws.")
    thin = thin_ratios(runs, kpis, ref)
    if len(diffs):
        _answer(doc, table, diffs, shown, scenarios, ref, n_rep, _costs(runs, scenarios), thin)
    else:
        doc.p("Only one scenario: there is nothing to compare; the report shows its KPIs with confidence intervals.")
    doc.toc()

    doc.h2("Glossary")
    doc.p("What each KPI measures, in what unit, and which way is better. A step and a money unit (MU) are defined "
          "in docs/ODD.md (section 2.5).")
    doc.table(glossary(kpis, mirrored))

    # Headline table
    doc.h2("Headline table")
    head = [k for k in HEADLINE if k in shown]
    doc.p("Mean over replicates [95% t-interval]; ▲ significantly better than the reference, ▼ significantly "
          "worse (paired by seed, Holm-corrected), no mark: not distinguishable.")
    doc.table(_headline(table, diffs, head, scenarios, ref))
    out.mkdir(parents=True, exist_ok=True)
    draws = dict(zip(runs["replicate"], runs["draw"])) if {"draw", "replicate"} <= set(runs.columns) else None
    records = {s: res.resolved_scenario(s) for s in scenarios}
    arms = programme.tables(res.timeseries, records, scenarios, ref, head, draws) if res.timeseries is not None else {}
    written = export.write_exports(out, runs, res.timeseries, table, diffs, head, scenarios, ref,
                                   firms={s: res.firm_table(s) for s in scenarios}, programme=arms)
    doc.p(f"Next to this report: {export.HEADLINE_CSV} (this table, rounded, with a better/worse/indistinguishable "
          f"word per cell) and {export.WORKBOOK} (headline, differences, per-run results and per-step means, units "
          "in the headers)." + (f" {export.FIRMS_CSV} and the workbook's firms sheet hold every firm of the data "
                                "cluster by name at the last step of replicate 0 of each scenario (cooperating, "
                                "trust, commitment, profit, ...)." if out / export.FIRMS_CSV in written else "")
          + (" " + ", ".join(f.name for f in written if f.stem in export.PROGRAMME_TABLES) + " (also sheets of the "
             "workbook) hold the tables of the section \"Policy programmes and cost-effectiveness\"."
             if any(f.stem in export.PROGRAMME_TABLES for f in written) else ""))

    # Verdicts
    doc.h2("Verdicts per KPI")
    if len(diffs):
        for k in kpis:
            doc.h3(k)
            line, cls = _bottom_line(k, diffs, table, ref, n_rep, thin)
            doc.bullets([(cls, line)])
            rows = diffs[diffs["kpi"] == k].to_dict("records")
            rows.sort(key=lambda r: ({"better": 0, "worse": 1, "unsure": 2}[_verdict_class(r)], r["p_holm"]))
            doc.bullets([(_verdict_class(r), r["verdict"]) for r in rows])
    else:
        doc.p("No verdicts: a single scenario has no reference to be compared with.")

    # The source papers' claims, where these runs hold the scenarios a claim compares (the main job holds all)
    claims.section(doc, runs)

    # KPI table
    doc.h2("KPI table")
    doc.p("Per scenario and KPI: replicates n, mean, standard deviation and 95% Student-t interval of the mean, "
          "in the KPI's unit.")
    doc.table(_with_units(table))

    # Differences
    doc.h2("Differences from the reference")
    if len(diffs):
        doc.p(f"Paired difference scenario − {ref} (by seed), its t-interval adjusted like the p-value (Holm step "
              "level, see Methods), Cohen's d_z, paired t-test p-value, "
              "Holm-adjusted p (diff and its interval in the KPI's unit), and the replicates needed to detect a "
              "difference of the observed size at 80% power "
              "after the correction (inf: no practical number).")
        cols = ["scenario", "kpi", "unit", "diff", "ci_low", "ci_high", "d_z", "p_value", "p_holm", "significant",
                "n_needed"]
        if shared_draws(runs):  # the draws the intervals and tests are over
            cols.insert(3, "n_units")
        doc.table(_with_units(diffs)[cols])
        doc.figure(figures.forest(diffs, kpis, scenarios, ref), "forest",
                   f"Difference of each scenario from {ref}, Holm-adjusted interval; filled: significant after Holm's "
                   "correction")
    else:
        doc.p("Not applicable: only one scenario.")

    # Time series
    doc.h2("KPIs over time")
    if res.timeseries is not None:
        last = int(res.timeseries["step"].max())
        events = {s: programme.events_of(res.resolved_scenario(s), last) for s in scenarios}
        verdicts = {(r["scenario"], r["kpi"]): "same" if (r["scenario"], r["kpi"]) in thin else verdict(r, r["kpi"])
                    for r in diffs.to_dict("records")}
        doc.figure(figures.timeseries_small_multiples(res.timeseries, head, scenarios, ref, verdicts, events=events,
                                                      draws=draws, unscaled=set(thin)),
                   "timeseries",
                   f"Headline KPIs per step, one row per arrangement: its mean over replicates with a 95% t-interval "
                   f"band, coloured by its verdict against {ref} (green better, red worse, grey cannot be told "
                   f"apart; grey also a ratio over less than {THIN_SHARE:.0%} of {ref}'s spending), over {ref}'s mean "
                   "and band in black and grey"
                   + "; a ratio's column spans the 2nd to 98th percentile of its panels (without the grey ratios "
                   "over almost nothing spent), values beyond are clipped and their panel says so"
                   + ("; dashed lines: the arrangement's timeline events, dotted: their end"
                      if any(events.values()) else ""))
    else:
        doc.p("No timeseries.parquet in the folder: time series not available.")
    programme.section(doc, res.timeseries, records, scenarios, ref, head, draws=draws, frames=arms)

    # Distributions
    doc.h2("Distributions")
    doc.figure(figures.distributions(runs, head, scenarios), "distributions",
               "Headline KPIs over replicates (time average of the second half of the run), one box per scenario")

    # Scorecard
    doc.h2("Marketing effectiveness scorecard")
    card, used = scorecard(runs, res.timeseries, order=scenarios, reference=ref)
    doc.p("After the effectiveness evaluation of 'Marketing activities in an innovative energy efficient cluster' "
          "(quantitative, qualitative and scoring methods). Quantitative indicators: "
          f"{', '.join(QUANTITATIVE)} (return on marketing contributions; brand equity per unit of marketing spend; "
          "relative revenue change from the first to the last tenth of the run). Qualitative indicators: "
          f"{', '.join(QUALITATIVE)} (trust, commitment, productive conflict, cluster culture). Scoring: each "
          "indicator is min-max scaled across the scenarios to 0–10 points (worst 0, best 10; all equal: 5), "
          "weighted and summed to a 0–10 score. Weights used: "
          + ", ".join(f"{k} {v:.3f}" for k, v in used.items())
          + ". A scenario for which an indicator is undefined (brand equity per spend when nothing is spent) gets 0 "
          f"points on it, and so does a ratio of a scenario spending less than {THIN_SHARE:.0%} of {ref}'s (see the "
          "Summary). The score interval is a 95% bootstrap over replicates (same seeds resampled in every "
          "scenario). Min-max points are relative to the scenarios compared: one extreme scenario compresses the "
          "others' points on that indicator.")
    show = ["rank", "scenario", "score", "score_low", "score_high", *QUANTITATIVE, *QUALITATIVE]
    doc.table(card[[c for c in show if c in card.columns]])
    doc.table(card[["scenario", *[f"{c}_pts" for c in (*QUANTITATIVE, *QUALITATIVE)]]])
    if len(card) >= 2 and np.isfinite(card["score_low"].iloc[0]):
        top, second = card.iloc[0], card.iloc[1]
        sure = "clearly" if top["score_low"] > second["score_high"] else "not clearly (the intervals overlap)"
        doc.p(f"Best marketing effectiveness: {top['scenario']} (score {num(top['score'])}), {sure} ahead of "
              f"{second['scenario']} ({num(second['score'])}).")

    # One stored run of the reference: replicate 0, at its last step
    snapshot, firms = res.snapshot(ref), res.firm_table(ref)
    seed = int(runs.loc[runs["scenario"] == ref].sort_values("replicate")["seed"].iloc[0])
    missing = (f"This results folder does not hold the network of a run of '{ref}' (snapshots/{ref}/); it was "
               "written by an older version: rerun the command to get this figure.")
    doc.h2("Network snapshot")
    if snapshot is not None:
        fig, caption = network_figures.network_figure(snapshot, color_by="cooperation",
                                              title=f"'{ref}' at the last step (replicate 0, seed {seed})")
        doc.p(f"One run of '{ref}' (replicate 0, seed {seed}) at its last step: {caption}.")
        doc.figure(fig, "network", f"Network of one run of {ref}: actor type by marker, cooperating firms green, "
                   "defecting red, node size by revenue, link width and darkness by trust")
    else:
        doc.p(missing)
    doc.h2("Morgan–Hunt panel")
    if firms is not None:
        doc.p("The KMV model (Morgan & Hunt 1994) across the firms of the same run: the level of each variable, and "
              "for each of its thirteen paths the Spearman rho across firms against the expected sign. These are "
              "cross-sectional associations in one run, a check of direction, not of causal size.")
        doc.figure(network_figures.morgan_hunt_figure(firms, title=f"Morgan–Hunt model across the firms of '{ref}'"),
                   "morgan_hunt", "Antecedents, trust and commitment, and outcomes: cluster means, and the sign of "
                   "each path across firms")
    else:
        doc.p(missing.replace("network", "firm table").replace("this figure", "this panel"))

    _methods(doc, n_rep, shared_draws(runs))
    summary = table.merge(
        diffs.drop(columns=["ref_mean"], errors="ignore").rename(
            columns={"ci_low": "diff_ci_low", "ci_high": "diff_ci_high", "n_pairs": "n_pairs"}),
        on=["scenario", "kpi"], how="left") if len(diffs) else table
    return doc, _with_units(summary)


def shared_draws(runs: pd.DataFrame) -> tuple[int, int] | None:
    """``(draws, replicates)`` when several replicates of a scenario share one draw of uncertain parameters."""
    if "draw" not in runs.columns:
        return None
    one = runs[runs["scenario"] == runs["scenario"].iloc[0]]
    n_draws = int(one["draw"].nunique())
    return (n_draws, len(one)) if n_draws < len(one) else None


def _methods(doc: Document, n_rep: int | None, draws: tuple[int, int] | None = None) -> None:
    doc.h2("Methods")
    shared = [("", f"Uncertain parameters: the {draws[1]} replicates share {draws[0]} parameter draws (common to "
                   "every scenario), so replicates of one draw are not independent. Every interval and test of this "
                   "report (KPI and headline means, differences, verdicts, the Holm tests, the claims, the time-series "
                   "bands, the policy "
                   "programme and cost-effectiveness tables, the scorecard's bootstrap) therefore runs on the draws: "
                   "each replicate's value or paired difference is averaged within its draw and the t-interval has "
                   "one degree of freedom fewer than the number of draws (n in the tables counts draws); the "
                   "replicates needed are draws needed times the seeds per draw.")] if draws else []
    doc.bullets([*shared,
        ("", "Confidence intervals: Student t-interval of the mean over replicates, mean ± t(0.975, n−1)·sd/√n."),
        ("", "Comparisons: replicate r of every scenario uses the same seed (common random numbers); differences are "
             "paired by seed; paired t-test; effect size Cohen's d_z = mean difference / sd of the differences."),
        ("", "Multiple comparisons: Holm's step-down correction over all scenario×KPI tests of this report "
             "(family-wise error rate 5%)."),
        ("", "Intervals of differences are adjusted the same way as the p-values beside them: each is a t-interval "
             "at level 1 − 0.05/k, where 0.05/k is the Bonferroni level of the Holm step that decided its test (k "
             "tests still open at that step; k = m for the first, which gives Bonferroni simultaneous intervals). "
             "An interval therefore excludes 0 exactly when the Holm-adjusted p is below 0.05. Only the first step's "
             "level carries a joint 95% coverage guarantee over all intervals; the narrower later-step intervals "
             "are there so that each interval agrees with its test. The 95% intervals "
             "of the headline and KPI tables are of single means and are not adjusted."),
        ("", "Replicates needed: smallest n with 80% power for the observed d_z in a two-sided paired t-test "
             "(noncentral t) at level 0.05/m, m the number of tests (the strictest Holm threshold)."),
        ("", "KPIs: time average of each KPI over the second half of the run (burn-in: first half dropped)."),
    ])


# --------------------------------------------------------------------------- entry point


def build_report(results_dir: str | Path, out_dir: str | Path, reference: str | None = None) -> Path:
    """Write the report of a result folder.

    Args:
        results_dir: the ``--out`` folder of ``compare``, ``sweep`` or ``run``.
        out_dir: where ``report.html``, ``report.md``, ``summary.csv`` and ``figures/`` go (created); for a
            compare folder also ``headline.csv`` and ``report.xlsx`` (:mod:`analysis.export`).
        reference: scenario the others are compared with (default ``baseline`` if present, else the first).

    Returns:
        The path of ``report.html``.

    Raises:
        ScenarioError: missing, corrupt or mixed inputs, or an unknown reference.
    """
    res = load_results(results_dir)
    out = Path(out_dir)
    if res.kind == "sweep":
        if reference is not None:
            raise ScenarioError("--reference: only for compare folders (a sweep has no scenarios to compare)")
        doc, summary = sweep_report(res, out)
    else:
        doc, summary = _compare_report(res, out, reference)
        if "draw" in res.runs:  # uncertain parameters were drawn per replicate
            from .uncertainty import add_section

            add_section(doc, res.runs, available_kpis(res.runs), _choose_reference(res, reference))
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False)
    (out / "report.md").write_text(doc.render_md(), encoding="utf-8")
    path = out / "report.html"
    path.write_text(doc.render_html(), encoding="utf-8")
    return path
