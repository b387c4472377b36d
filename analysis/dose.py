"""Dose–response of a grid sweep: the mean per level of each lever, paired differences between levels.

A grid sweep runs every combination of the levers' levels with the same seeds
(replicate ``r`` has one seed at every design point), so the levels of one lever
can be compared like the arrangements of ``compare``: for each seed, the KPI is
averaged over the other levers' levels (the lever's main effect for that seed),
and these per-seed means are paired across levels. Text and true/false levers are
levels like any other; only their axis in a figure differs.

Everything here takes the results table (one row per run) and returns tables;
:mod:`analysis.sweep_report` lays them out and :mod:`analysis.dose_figures` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim import kpis as registry

from .io import HIGHER_IS_BETTER, Results
from .stats import draws_of, kpi_table, paired_differences, t_interval

__all__ = ["Lever", "grid_levers", "per_seed", "level_table", "level_differences", "cell_table",
           "lever_anova", "best_levels", "envelopes", "unit_of", "level_text", "ENVELOPE"]

#: Quantiles of the runs that bound an envelope over time.
ENVELOPE = (0.05, 0.95)


@dataclass(frozen=True)
class Lever:
    """One swept lever of a grid and the levels it took.

    Attributes:
        name: dotted scenario key.
        numeric: the levels are numbers (a dose axis); otherwise text or true/false (categories).
        levels: the levels in axis order: ascending numbers, or listed order.
        reference: the level the others are compared with: the base scenario's own value if the
            grid has it, else the first level.
    """

    name: str
    numeric: bool
    levels: tuple
    reference: Any

    def label(self, value: Any) -> str:
        """``name=value``, the name of one level in tables and verdicts."""
        return f"{self.name}={level_text(value)}"

    @property
    def short(self) -> str:
        """The last part of the dotted name, for axes and column heads."""
        return self.name.rsplit(".", 1)[-1]


def level_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _base_value(scenario: dict | None, name: str) -> Any:
    node: Any = scenario
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def grid_levers(res: Results) -> list[Lever]:
    """The levers of a grid sweep with the levels found in its runs.

    Levels come from the runs (a grid's rows hold each level of each lever), so the result
    folder alone decides them.
    """
    out = []
    base = res.resolved_scenario("")
    for name in res.params:
        col = res.runs[name]
        seen = list(dict.fromkeys(col.tolist()))
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        levels = tuple(sorted(seen)) if numeric else tuple(seen)
        own = _base_value(base, name)
        ref = own if own is not None and any(_same(own, v) for v in levels) else levels[0]
        ref = next(v for v in levels if _same(ref, v))
        out.append(Lever(name, numeric, levels, ref))
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal levels: true/false only to true/false, text as text, numbers up to rounding."""
    flags = [isinstance(v, (bool, np.bool_)) for v in (a, b)]
    if any(flags):
        return all(flags) and bool(a) == bool(b)
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=0.0))


def per_seed(runs: pd.DataFrame, lever: Lever, kpis: Sequence[str], stat: str = "mean") -> pd.DataFrame:
    """For each level and seed, each KPI averaged over the other levers' levels.

    Returns:
        Columns ``scenario`` (the level's :meth:`Lever.label`), ``level``, ``seed``, ``<kpi>_<stat>`` (and
        ``draw`` with uncertain parameters), levels in axis order: the frame :func:`analysis.stats.kpi_table` and
        :func:`analysis.stats.paired_differences` read.
    """
    cols = [f"{k}_{stat}" for k in kpis]
    frame = runs[[lever.name, "seed", *cols]].copy()
    frame[cols] = frame[cols].apply(pd.to_numeric, errors="coerce")
    means = frame.groupby([lever.name, "seed"], sort=False)[cols].mean().reset_index()
    if "draw" in runs.columns:  # a seed's parameter draw, the unit of the intervals (analysis.stats.unit_means)
        draw = runs.groupby([lever.name, "seed"], sort=False)["draw"].first().reset_index()
        means = means.merge(draw, on=[lever.name, "seed"], how="left")
    order = {v: i for i, v in enumerate(lever.levels)}
    means["_order"] = means[lever.name].map(order)
    means = means.sort_values(["_order", "seed"], kind="stable").drop(columns="_order")
    means.insert(0, "scenario", [lever.label(v) for v in means[lever.name]])
    return means.rename(columns={lever.name: "level"}).reset_index(drop=True)


def level_table(runs: pd.DataFrame, lever: Lever, kpis: Sequence[str], stat: str = "mean") -> pd.DataFrame:
    """Mean of each KPI per level of ``lever`` (over seeds, other levers averaged) with its 95% t-interval.

    Returns:
        Columns ``lever, level, scenario, kpi, n, mean, sd, ci_low, ci_high``.
    """
    seeds = per_seed(runs, lever, kpis, stat)
    labels = [lever.label(v) for v in lever.levels]
    table = kpi_table(seeds, kpis, stat, order=labels)
    table.insert(0, "level", table["scenario"].map(dict(zip(labels, lever.levels))))
    table.insert(0, "lever", lever.name)
    return table


def level_differences(runs: pd.DataFrame, lever: Lever, kpis: Sequence[str], stat: str = "mean") -> pd.DataFrame:
    """Paired (by seed) difference of every level of ``lever`` from its reference level, Holm-corrected.

    The Holm family is the lever's (levels × KPIs) comparisons; intervals are adjusted like the
    p-values (:func:`analysis.stats.paired_differences`). Empty without a second level or seed.
    """
    seeds = per_seed(runs, lever, kpis, stat)
    if len(lever.levels) < 2 or seeds["seed"].nunique() < 2:
        return pd.DataFrame(columns=["lever", "level", "scenario", "kpi", "diff", "ci_low", "ci_high", "p_holm",
                                     "significant", "verdict"])
    labels = [lever.label(v) for v in lever.levels]
    diffs = paired_differences(seeds, lever.label(lever.reference), kpis, stat, order=labels)
    diffs.insert(0, "level", diffs["scenario"].map(dict(zip(labels, lever.levels))))
    diffs.insert(0, "lever", lever.name)
    return diffs


def cell_table(runs: pd.DataFrame, a: Lever, b: Lever | None, kpi: str, stat: str = "mean") -> pd.DataFrame:
    """Mean of ``kpi`` and its 95% t-interval over seeds in each cell of levers ``a`` × ``b``.

    Other levers are averaged per seed first; ``b=None`` gives the levels of ``a`` alone.

    Returns:
        Columns ``a``, ``b`` (absent when ``b`` is None), ``n, mean, ci_low, ci_high``, in axis order.
    """
    col = f"{kpi}_{stat}"
    keys = [a.name] + ([b.name] if b is not None else [])
    seeds = runs.groupby([*keys, "seed"], sort=False)[col].mean().reset_index()
    if "draw" in runs.columns:
        seeds = seeds.merge(runs.groupby([*keys, "seed"], sort=False)["draw"].first().reset_index(),
                            on=[*keys, "seed"], how="left")
    rows = []
    for va in a.levels:
        for vb in (b.levels if b is not None else (None,)):
            mask = seeds[a.name] == va
            if b is not None:
                mask &= seeds[b.name] == vb
            mean, _, lo, hi, n = t_interval(seeds.loc[mask, col], draws=draws_of(seeds.loc[mask]))
            rows.append({"a": va, **({"b": vb} if b is not None else {}), "n": n, "mean": mean,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def lever_anova(runs: pd.DataFrame, levers: Sequence[Lever], kpis: Sequence[str],
                stat: str = "mean") -> pd.DataFrame:
    """Repeated-measures ANOVA per KPI (statsmodels ``AnovaRM``): seeds are the subjects, levers the factors.

    Each lever and each interaction gets an F test and its partial eta squared, the share of the
    variance left after the seeds' own differences that the term explains: which lever moves the
    KPI most. Needs two or more seeds and at least two levels per lever.

    Returns:
        Columns ``kpi, term, F, df_num, df_den, p_value, partial_eta2``; empty when not applicable.
    """
    from statsmodels.stats.anova import AnovaRM

    used = [lv for lv in levers if len(lv.levels) >= 2]
    cols = ["kpi", "term", "F", "df_num", "df_den", "p_value", "partial_eta2"]
    if not used or runs["seed"].nunique() < 2:
        return pd.DataFrame(columns=cols)
    factor = {lv.name: f"f{i}" for i, lv in enumerate(used)}  # formula-safe names for dotted keys
    back = {v: k for k, v in factor.items()}
    rows = []
    for k in kpis:
        col = f"{k}_{stat}"
        data = runs[[*factor, "seed", col]].rename(columns={**factor, col: "y"})
        data = data.assign(**{f: data[f].map(level_text) for f in factor.values()}, y=pd.to_numeric(data["y"]))
        data = data.groupby([*factor.values(), "seed"], as_index=False)["y"].mean()
        if not np.isfinite(data["y"]).all() or data["y"].std() == 0:
            continue
        try:
            table = AnovaRM(data, "y", "seed", within=list(factor.values())).fit().anova_table
        except ValueError:  # unbalanced: a cell without every seed
            continue
        for term, r in table.iterrows():
            f_val, d1, d2 = float(r["F Value"]), float(r["Num DF"]), float(r["Den DF"])
            eta = f_val * d1 / (f_val * d1 + d2) if np.isfinite(f_val) else np.nan
            name = " × ".join(back[t] for t in term.split(":"))
            rows.append({"kpi": k, "term": name, "F": f_val, "df_num": d1, "df_den": d2,
                         "p_value": float(r["Pr > F"]), "partial_eta2": eta})
    return pd.DataFrame(rows, columns=cols)


def best_levels(tables: dict[str, pd.DataFrame], diffs: dict[str, pd.DataFrame], levers: Sequence[Lever],
                kpis: Sequence[str]) -> pd.DataFrame:
    """For each KPI and lever: the level with the best mean, and how it stands against the reference level.

    Returns:
        One row per (KPI, lever): ``kpi, lever, best, best_mean, ref_mean, other, diff, diff_pct,
        significant, verdict``. ``verdict`` is ``reference`` (the reference level is best), ``better``
        (significantly better than it, Holm) or ``same`` (cannot be told apart). ``other`` is the level
        compared with the reference: the best one, or for ``reference`` the runner-up (None with one
        level); ``diff``, ``diff_pct`` and ``significant`` are its difference from the reference level.
    """
    rows = []
    for k in kpis:
        hib = HIGHER_IS_BETTER.get(k, True)
        for lv in levers:
            t = tables[lv.name]
            t = t[(t["kpi"] == k) & t["mean"].notna()]
            if t.empty:
                continue
            ranked = t.sort_values("mean", ascending=not hib, kind="stable")
            best = ranked.iloc[0]
            ref_label = lv.label(lv.reference)
            ref_mean = float(t.loc[t["scenario"] == ref_label, "mean"].iloc[0])
            d = diffs[lv.name]
            d = d[d["kpi"] == k].set_index("scenario") if len(d) else d
            other = best if best["scenario"] != ref_label else (ranked.iloc[1] if len(ranked) > 1 else None)
            if other is None or other["scenario"] not in getattr(d, "index", ()):
                diff, sig = float("nan"), False
            else:
                diff, sig = float(d.loc[other["scenario"], "diff"]), bool(d.loc[other["scenario"], "significant"])
            pct = 100.0 * diff / abs(ref_mean) if np.isfinite(ref_mean) and abs(ref_mean) > 1e-9 else float("nan")
            if best["scenario"] == ref_label:
                verdict = "reference"
            else:
                verdict = "better" if sig else "same"
            rows.append({"kpi": k, "lever": lv.name, "best": best["level"], "best_mean": float(best["mean"]),
                         "ref_mean": ref_mean, "other": None if other is None else other["level"],
                         "diff": diff, "diff_pct": pct, "significant": sig, "verdict": verdict})
    return pd.DataFrame(rows)


def envelopes(series: pd.DataFrame, runs: pd.DataFrame, lever: Lever, kpi: str,
              quantiles: tuple[float, float] = ENVELOPE) -> pd.DataFrame:
    """Over time, per level of ``lever``: the mean of ``kpi`` over its runs and the envelope of the runs.

    Args:
        series: ``run_id, step, <kpi>`` (a sweep kept with ``--timeseries``).
        runs: the results table (gives each run's level).
        lever: the lever whose levels are drawn.
        kpi: the KPI.
        quantiles: the runs' quantiles that bound the envelope.

    Returns:
        Columns ``level, step, mean, low, high, runs``.
    """
    frame = series[["run_id", "step", kpi]].merge(runs[["run_id", lever.name]], on="run_id", how="inner")
    g = frame.groupby([lever.name, "step"], sort=True)[kpi]
    out = pd.DataFrame({"mean": g.mean(), "low": g.quantile(quantiles[0]), "high": g.quantile(quantiles[1]),
                        "runs": g.count()}).reset_index().rename(columns={lever.name: "level"})
    return out


def unit_of(kpi: str) -> str:
    """The KPI's unit from the registry ('' for a column the registry does not know)."""
    try:
        return registry.kpi(kpi).unit
    except KeyError:
        return ""
