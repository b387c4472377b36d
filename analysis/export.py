"""Tables an analyst can paste into a memo: ``headline.csv`` and the workbook ``report.xlsx``.

``headline.csv`` is the report's headline table with rounded numbers (to the digits a KPI's unit
warrants) and a word per cell saying how the scenario compares with the reference. ``report.xlsx``
holds the same headline plus the paired differences, every run's results and the per-step means
over replicates, with the KPI's unit in each header; a "notes" sheet says how to read them.

Workbook library: openpyxl, because the one package both writes the workbook and reads it back
(the tests open it the way a spreadsheet program would), and it is what pandas uses for ``.xlsx``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sim import kpis as registry

from . import programme

__all__ = ["HEADLINE_CSV", "WORKBOOK", "FIRMS_CSV", "PROGRAMME_TABLES", "rounded", "rounded_text", "headline_frame",
           "write_exports"]

HEADLINE_CSV = "headline.csv"
WORKBOOK = "report.xlsx"
#: A data cluster's firms at the last step of replicate 0, by name (next to the workbook).
FIRMS_CSV = "firms.csv"

#: Words of the comparison with the reference (the report's ▲/▼/no mark).
BETTER, WORSE, HIGHER, LOWER, SAME, REFERENCE = (
    "better", "worse", "higher", "lower", "indistinguishable", "reference")

#: The programme and cost-effectiveness tables (:func:`analysis.programme.tables`), each ``<name>.csv`` and a sheet.
PROGRAMME_TABLES: tuple[str, ...] = programme.TABLES

#: Units bounded to [0, 1]: three decimals show a tenth of a percentage point.
_FIXED_DECIMALS = {registry.SHARE: 3, registry.INDEX: 3}
#: Other units (counts, money, ratios): four significant digits, finer than any interval the report shows.
_SIGNIFICANT = 4
#: Columns that identify a run rather than measure it.
_ID_COLUMNS = ("run_id", "scenario", "scenario_file", "replicate", "seed", "step")


def _unit(name: str) -> str | None:
    return registry.unit_of(name)


def _decimals(value: float, unit: str | None) -> int:
    """Decimal places of ``value`` in its unit (negative: round to tens, hundreds, ...)."""
    if unit in _FIXED_DECIMALS:
        return _FIXED_DECIMALS[unit]
    if value == 0:
        return _SIGNIFICANT - 1
    return _SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))


def rounded(value: float, unit: str | None) -> float | None:
    """``value`` rounded to the digits its unit warrants; None for NaN or infinity (an empty cell)."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), _decimals(value, unit))


def rounded_text(value: float, unit: str | None) -> str:
    """:func:`rounded` as text that keeps trailing zeros (``0.910``, ``12.60``); empty for NaN or infinity."""
    r = rounded(value, unit)
    return "" if r is None else f"{r:.{max(_decimals(value, unit), 0)}f}"


def _mark(kpi: str, diff_row: pd.Series | None) -> str:
    if diff_row is None or not bool(diff_row["significant"]):
        return SAME
    up = diff_row["diff"] > 0
    better = registry.higher_is_better(kpi)
    if better is None:
        return HIGHER if up else LOWER
    return BETTER if up == better else WORSE


def _header(name: str, unit: str | None) -> str:
    return f"{name} ({unit})" if unit else name


def headline_frame(table: pd.DataFrame, diffs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str],
                   reference: str, text: bool = False) -> pd.DataFrame:
    """The headline table as numbers: per KPI its mean, 95% interval of the mean and the comparison word.

    Args:
        table: :func:`analysis.stats.kpi_table` output.
        diffs: :func:`analysis.stats.paired_differences` output (may be empty).
        kpis: the headline KPIs, in column order.
        scenarios: row order.
        reference: the scenario compared with.
        text: numbers as :func:`rounded_text` (for CSV: trailing zeros kept) instead of :func:`rounded`.

    Returns:
        One row per scenario: ``scenario``, then for each KPI ``<kpi> (<unit>)`` (mean), ``<kpi> 95% low``,
        ``<kpi> 95% high`` and ``<kpi> vs <reference>`` (better, worse, higher, lower, indistinguishable or
        reference).
    """
    fmt = rounded_text if text else rounded
    means = table.set_index(["scenario", "kpi"])
    paired = diffs.set_index(["scenario", "kpi"]) if len(diffs) else None
    rows = []
    for s in scenarios:
        row: dict[str, object] = {"scenario": s}
        for k in kpis:
            unit = _unit(k)
            t = means.loc[(s, k)]
            row[_header(k, unit)] = fmt(t["mean"], unit)
            row[f"{k} 95% low"] = fmt(t["ci_low"], unit)
            row[f"{k} 95% high"] = fmt(t["ci_high"], unit)
            d = paired.loc[(s, k)] if paired is not None and (s, k) in paired.index else None
            row[f"{k} vs {reference}"] = REFERENCE if s == reference else _mark(k, d)
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(v: object) -> object:
    """A value openpyxl writes faithfully: Python scalars, no NaN or infinity, integers Excel keeps exact."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        # Excel holds 15 significant digits: larger integers (seeds) would be silently changed
        return int(v) if abs(int(v)) < 10**15 else str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        return float(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    return v if isinstance(v, str) else str(v)


def _sheet(wb: Workbook, title: str, frame: pd.DataFrame) -> None:
    ws = wb.create_sheet(title)
    headers = [str(c) for c in frame.columns]
    ws.append(headers)
    for row in frame.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2"
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(10, len(h) + 2), 40)


def _show_rounding(ws, head: pd.DataFrame, kpis: Sequence[str]) -> None:
    """Number formats that show each rounded headline value with its digits (``0.910``, not ``0.91``)."""
    unit_of = {}
    for k in kpis:
        unit = _unit(k)
        for col in (_header(k, unit), f"{k} 95% low", f"{k} 95% high"):
            unit_of[col] = unit
    for j, col in enumerate(head.columns, start=1):
        if col not in unit_of:
            continue
        for i, v in enumerate(head[col], start=2):
            if v is not None and math.isfinite(v):
                d = max(_decimals(v, unit_of[col]), 0)
                ws.cell(row=i, column=j).number_format = "0." + "0" * d if d else "0"


def _with_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Measure columns renamed ``<column> (<unit>)``; ``<kpi>_mean``/``<kpi>_final`` take their KPI's unit."""
    names = {}
    for c in frame.columns:
        if c in _ID_COLUMNS:
            continue
        base = c.removesuffix("_mean").removesuffix("_final") if c.endswith(("_mean", "_final")) else c
        unit = _unit(c) or _unit(base)
        if unit:
            names[c] = _header(c, unit)
    return frame.rename(columns=names)


def _per_step_means(timeseries: pd.DataFrame, scenarios: Sequence[str]) -> pd.DataFrame:
    measures = [c for c in timeseries.columns if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(timeseries[c])]
    means = timeseries.groupby(["scenario", "step"], sort=False)[measures].mean().reset_index()
    means["scenario"] = pd.Categorical(means["scenario"], categories=list(scenarios), ordered=True)
    means = means.sort_values(["scenario", "step"], kind="stable")
    means["scenario"] = means["scenario"].astype(str)
    return _with_units(means)


def _differences(diffs: pd.DataFrame) -> pd.DataFrame:
    cols = ["scenario", "kpi", "reference", "n_pairs", "n_units", "ref_mean", "diff", "ci_low", "ci_high", "ci_alpha",
            "d_z", "p_value", "p_holm", "significant", "n_needed"]
    out = diffs[[c for c in cols if c in diffs.columns]].copy()
    out.insert(2, "unit", [_unit(k) or "" for k in out["kpi"]])
    out.insert(3, "comparison", [_mark(k, r) for k, (_, r) in zip(out["kpi"], diffs.iterrows())])
    if "ci_alpha" in out.columns:
        out["ci_level"] = 1 - out.pop("ci_alpha")
    return out


def _steps_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Step columns as whole numbers, empty where there is none ("never", or no before for a static arm)."""
    out = frame.copy()
    for c in out.columns:
        if c.endswith("_step") or c == "n_units":
            out[c] = pd.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                               for v in out[c]], dtype="Int64")
    return out


_PROGRAMME_NOTES = {
    "programme_effects": "programme_effects: per arm (a scenario with a timeline, or a static one whose public "
    "spending differs from the reference's) and KPI, the mean paired difference arm - reference before its first "
    "event and from it (from_step) to the end of the run (to_step), 95% t-intervals, in the KPI's unit; "
    f"time_to_effect_step: {programme.TIME_TO_EFFECT}; that end is significant_until_step; empty: never.",
    "spending": "spending: extra spending of each arm against the reference, MU summed over the steps from "
    "from_step, 95% t-interval; part 'budget: ...' rows (public, association, firms) add up to the arm's cost, "
    "'of which' rows are components of those budgets and are not added.",
    "cost_effectiveness": "cost_effectiveness: the KPI's summed difference per MU of extra spending of the KPI "
    "named in 'per' (public spending when the arm spends public money), delta-method 95% interval.",
    "break_even": "break_even: per arm, the first step from from_step on from which the cumulative extra profit "
    "(net of what firms pay), less the extra spending named in net_of (public spending; empty: none in the "
    "results), stays >= 0 (break_even_step, the mean) and from which its lower 95% bound does "
    "(break_even_significant_step); empty: never; and that cumulative sum at the end of the run.",
    "around_events": "around_events: per timeline event and KPI, the mean paired difference over window_steps "
    "before and from the event, and the change with its 95% t-interval.",
}


def _notes(reference: str, n_rep: int) -> pd.DataFrame:
    lines = [
        f"Reference scenario: {reference}. Replicates per scenario: {n_rep}; replicate r uses the same seed in "
        "every scenario (common random numbers).",
        "KPIs: time average over the second half of each run; units in the column headers (share 0-1: a fraction "
        "of firms; index 0-1: a model score; MU: the model's money unit).",
        "headline: mean over replicates and its 95% t-interval, rounded (0-1 units to 3 decimals, others to 4 "
        f"significant digits); '<kpi> vs {reference}': better or worse means significantly so after Holm's "
        "correction over all scenario x KPI comparisons, indistinguishable means not significant.",
        "differences: paired difference scenario - reference with an interval adjusted like its Holm p-value "
        "(level ci_level, the Bonferroni level of the Holm step that decided the test), so it excludes 0 exactly "
        "when the comparison is better or worse; n_needed: pairs for 80% power at the strictest Holm level "
        "(inf: more than 100000); n_units: the independent units the interval and test use, the pairs, or the "
        "parameter draws when several replicates share one (their differences averaged within each draw).",
        "runs: one row per run, full precision; seeds longer than 15 digits are text so that they stay exact.",
        "per_step: mean over replicates of each KPI at each step, per scenario.",
    ]
    return pd.DataFrame({"notes": lines})


def write_exports(out: str | Path, runs: pd.DataFrame, timeseries: pd.DataFrame | None, table: pd.DataFrame,
                  diffs: pd.DataFrame, headline: Sequence[str], scenarios: Sequence[str],
                  reference: str, firms: Mapping[str, pd.DataFrame | None] | None = None,
                  programme: Mapping[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write ``headline.csv`` and ``report.xlsx`` into ``out`` (and ``firms.csv`` for a data cluster, and the
    programme tables as CSV files).

    Args:
        out: the report folder (exists).
        runs: one row per run (``results.parquet``).
        timeseries: one row per run and step, or None (the workbook then has no per-step sheet).
        table: :func:`analysis.stats.kpi_table` output.
        diffs: :func:`analysis.stats.paired_differences` output (may be empty).
        headline: the headline KPIs.
        scenarios: scenario order.
        reference: the scenario compared with.
        firms: each scenario's stored firm table (replicate 0, last step); those of a data cluster (a ``name``
            column) become the ``firms`` sheet and ``firms.csv``, one row per firm and scenario, so each real
            firm's end state can be looked up by its name.
        programme: :func:`analysis.programme.tables`; each non-empty one becomes ``<name>.csv`` and a sheet.

    Returns:
        The paths written.
    """
    out = Path(out)
    csv = out / HEADLINE_CSV
    headline_frame(table, diffs, headline, scenarios, reference, text=True).to_csv(csv, index=False)
    head = headline_frame(table, diffs, headline, scenarios, reference)
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "headline", head)
    _show_rounding(wb["headline"], head, headline)
    if len(diffs):
        _sheet(wb, "differences", _differences(diffs))
    _sheet(wb, "runs", _with_units(runs))
    if timeseries is not None:
        _sheet(wb, "per_step", _per_step_means(timeseries, scenarios))
    named = [t.assign(scenario=name)[["scenario", *t.columns]] for name, t in (firms or {}).items()
             if t is not None and "name" in t.columns]
    written = []
    if named:
        table_f = pd.concat(named, ignore_index=True)
        _sheet(wb, "firms", table_f)
        table_f.to_csv(out / FIRMS_CSV, index=False)
        written.append(out / FIRMS_CSV)
    notes = _notes(reference, n_rep=int(runs.groupby("scenario").size().min()) if len(runs) else 0)
    for name in PROGRAMME_TABLES:
        frame = (programme or {}).get(name)
        if frame is None or not len(frame):
            continue
        frame = _steps_as_integers(frame)
        _sheet(wb, name, frame)
        frame.to_csv(out / f"{name}.csv", index=False)
        written.append(out / f"{name}.csv")
        notes = pd.concat([notes, pd.DataFrame({"notes": [_PROGRAMME_NOTES[name]]})], ignore_index=True)
    _sheet(wb, "notes", notes)
    wb["notes"].column_dimensions["A"].width = 120
    book = out / WORKBOOK
    wb.save(book)
    return [csv, book, *written]
