"""The answer first: which arrangement is best on each KPI, by how much, and how sure.

Pure tables built from the KPI table (means per scenario) and the paired
differences from the reference (``analysis.stats``); the report lays them out.
Sizes are in the KPI's own unit and in percent of the reference's mean, so a
reader needs no standardized effect size to read them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import kpis as registry

__all__ = ["mirrors", "best_per_kpi", "verdict_matrix", "glossary", "verdict", "THIN_SHARE", "RATIOS",
           "thin_ratios", "thin_note"]

#: A difference is given in percent only when the reference's mean is at least this far from zero.
_PCT_FLOOR = 1e-9

#: A ratio is not ranked for an arrangement whose denominator is below this share of the reference's: a return
#: per MU over almost nothing spent is a quotient of two small numbers, not a better use of money.
THIN_SHARE = 0.25

#: Ratios and what they divide by: the registry's ratio KPIs, and the scorecard's brand equity per spend.
RATIOS: dict[str, str] = {**{k.name: k.denominator for k in registry.KPIS if k.denominator},
                          "brand_per_spend": "marketing_spend"}


def thin_ratios(runs: pd.DataFrame, names: Sequence[str], reference: str | None) -> dict[tuple[str, str], float]:
    """``(scenario, ratio)`` -> its denominator's mean as a share of ``reference``'s, where below :data:`THIN_SHARE`.

    Only ratios among ``names`` (see :data:`RATIOS`) whose denominator the runs hold; none without a reference
    or when the reference spends nothing.
    """
    out: dict[tuple[str, str], float] = {}
    if reference is None:
        return out
    for k in names:
        col = f"{RATIOS.get(k)}_mean"
        if k not in RATIOS or col not in runs:
            continue
        spend = runs.groupby("scenario")[col].mean().astype(float)
        ref = float(spend.get(reference, np.nan))
        if not (np.isfinite(ref) and ref > 0):
            continue
        for s, v in (spend / ref).items():
            if s != reference and np.isfinite(v) and v < THIN_SHARE:
                out[(str(s), k)] = float(v)
    return out


def thin_note(share: float, reference: str) -> str:
    """How a ratio left unranked is marked: ``on 0.1 % of baseline's spending``."""
    pct = 100 * share
    return f"on {pct:.0f} % of {reference}'s spending" if pct >= 1 else f"on {pct:.1g} % of {reference}'s spending"


def mirrors(runs: pd.DataFrame, kpis: Sequence[str], stat: str = "mean") -> dict[str, str]:
    """KPIs that equal 1 minus their registry mirror in every run here, mapped to that mirror.

    ``free_rider_share`` counts association members only, so it restates
    ``1 - cooperation_rate`` only when every firm is a member; the runs decide.
    """
    out = {}
    for k in kpis:
        m = registry.kpi(k).mirror_of if k in {x.name for x in registry.KPIS} else None
        a, b = f"{k}_{stat}", f"{m}_{stat}"
        if m in kpis and a in runs and b in runs:
            gap = (runs[a].astype(float) - (1.0 - runs[b].astype(float))).abs().max()
            if np.isfinite(gap) and gap < 1e-9:
                out[k] = m
    return out


def verdict(row: pd.Series | dict, kpi: str) -> str:
    """``better``, ``worse`` (significantly, by the KPI's direction) or ``same`` (cannot be told apart)."""
    if not bool(row["significant"]):
        return "same"
    hib = registry.higher_is_better(kpi)
    return "better" if (row["diff"] > 0) == (True if hib is None else hib) else "worse"


def _pct(diff: float, ref: float) -> float:
    return 100.0 * diff / abs(ref) if np.isfinite(ref) and abs(ref) > _PCT_FLOOR else float("nan")


def best_per_kpi(table: pd.DataFrame, diffs: pd.DataFrame, kpis: Sequence[str], reference: str,
                 thin: dict[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """For each KPI the best scenario by its mean, and how it stands against the reference.

    ``thin`` (:func:`thin_ratios`): ratio cells left out of the ranking, their denominator being too small.

    Returns:
        One row per KPI: ``kpi, unit, direction, best, best_mean, ref_mean, runner_up, diff, diff_pct,
        compared, p_holm, verdict``. ``diff`` (in the KPI's unit), ``diff_pct`` (of the reference's mean),
        ``compared`` (``better``/``worse``/``same``) and ``p_holm`` compare the best with the reference;
        when the reference itself is best (``verdict == "reference"``) they compare the runner-up,
        named in ``runner_up``, with it.
    """
    rows = []
    for k in kpis:
        t = table[table["kpi"] == k].set_index("scenario")["mean"].astype(float).dropna()
        t = t[[(s, k) not in (thin or {}) for s in t.index]]
        if t.empty:
            continue
        hib = registry.higher_is_better(k)
        order = t.sort_values(ascending=hib is False)
        best = str(order.index[0])
        ref_mean = float(t.get(reference, np.nan))
        row = {"kpi": k, "unit": registry.kpi(k).unit, "direction": registry.kpi(k).direction, "best": best,
               "best_mean": float(order.iloc[0]), "ref_mean": ref_mean, "runner_up": ""}
        other = best
        if best == reference and len(order) > 1:
            other = str(order.index[1])
            row["runner_up"] = other
        d = diffs[(diffs["scenario"] == other) & (diffs["kpi"] == k)] if len(diffs) else diffs
        if len(d):
            r = d.iloc[0]
            row |= {"diff": float(r["diff"]), "diff_pct": _pct(float(r["diff"]), ref_mean), "compared": verdict(r, k),
                    "p_holm": float(r["p_holm"])}
        else:
            row |= {"diff": float("nan"), "diff_pct": float("nan"), "compared": "same", "p_holm": float("nan")}
        row["verdict"] = "reference" if best == reference else row["compared"]
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_matrix(table: pd.DataFrame, diffs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str],
                   reference: str, thin: dict[tuple[str, str], float] | None = None) -> pd.DataFrame:
    """Scenario x KPI: each scenario's difference from the reference in percent, and its verdict.

    Returns:
        Long table ``scenario, kpi, mean, diff, diff_pct, verdict, thin``; the reference's rows have
        ``verdict == "reference"`` and its mean; a ratio cell in ``thin`` (:func:`thin_ratios`) has
        ``verdict == "unranked"`` and its denominator's share of the reference's in ``thin`` (else NaN).
    """
    thin = thin or {}
    means = table.set_index(["scenario", "kpi"])["mean"].astype(float)
    rows = []
    for s in scenarios:
        for k in kpis:
            mean = float(means.get((s, k), np.nan))
            if s == reference:
                rows.append({"scenario": s, "kpi": k, "mean": mean, "diff": 0.0, "diff_pct": 0.0,
                             "verdict": "reference", "thin": float("nan")})
                continue
            d = diffs[(diffs["scenario"] == s) & (diffs["kpi"] == k)] if len(diffs) else diffs
            if not len(d):
                continue
            r = d.iloc[0]
            ref = float(means.get((reference, k), np.nan))
            rows.append({"scenario": s, "kpi": k, "mean": mean, "diff": float(r["diff"]),
                         "diff_pct": _pct(float(r["diff"]), ref),
                         "verdict": "unranked" if (s, k) in thin else verdict(r, k),
                         "thin": thin.get((s, k), float("nan"))})
    return pd.DataFrame(rows)


def glossary(kpis: Sequence[str], mirrored: dict[str, str] | None = None) -> pd.DataFrame:
    """Unit, better direction and meaning of each KPI, from the registry."""
    mirrored = mirrored or {}
    rows = []
    for k in kpis:
        e = registry.kpi(k)
        meaning = e.meaning + (f" (here exactly 1 − {mirrored[k]})" if k in mirrored else "")
        rows.append({"KPI": k, "unit": e.unit, "better": {"higher": "higher", "lower": "lower"}.get(e.direction, "—"),
                     "meaning": meaning})
    return pd.DataFrame(rows)
