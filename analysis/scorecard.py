"""Effectiveness of cluster marketing per scenario: a scorecard in the spirit of
"Marketing activities in an innovative energy efficient cluster" (docs/ODD.md, source 000).

That paper evaluates marketing with quantitative methods (economic result per
cost), qualitative methods (loyalty, relations, culture) and a scoring method
that turns every criterion into points and adds them. Here:

Quantitative indicators (per run, then averaged over replicates):
    * ``marketing_roi``: return on marketing contributions (the model's KPI, time average);
    * ``brand_per_spend``: brand equity per unit of marketing spend (time averages; undefined when
      nothing was spent);
    * ``revenue_growth``: relative change of cluster revenue from the first to the last tenth of the
      run (needs the time series; without it, ``revenue_final / revenue_mean − 1``).

Qualitative indicators: ``mean_trust``, ``mean_commitment``, ``functional_conflict`` (productive
disagreement, Morgan & Hunt 1994) and ``shared_values`` (cluster culture), time averages.

Scoring: every indicator is min-max scaled across the compared scenarios to 0–10 points
(worst scenario 0, best 10; all equal gives 5 to each); the points are weighted
(quantitative and qualitative half each, equal weights within a group, unless
given) and summed to a 0–10 score. An indicator undefined for a scenario (brand
equity per spend when it spends nothing) gives that scenario 0 points; one
missing for every scenario is dropped and the weights renormalised. Given a reference, a ratio (return and
brand per spend) of a scenario that spends less than ``analysis.summary.THIN_SHARE`` of the reference's counts
as undefined too: a quotient over almost nothing spent would otherwise take the 10 points. The interval of the
score comes from a bootstrap over replicates that resamples the same seeds in every scenario (common
random numbers), re-scaling each time.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .summary import thin_ratios

__all__ = ["QUANTITATIVE", "QUALITATIVE", "DEFAULT_WEIGHTS", "indicators", "scorecard"]

QUANTITATIVE: tuple[str, ...] = ("marketing_roi", "brand_per_spend", "revenue_growth")
QUALITATIVE: tuple[str, ...] = ("mean_trust", "mean_commitment", "functional_conflict", "shared_values")
DEFAULT_WEIGHTS: dict[str, float] = {
    **{k: 0.5 / len(QUANTITATIVE) for k in QUANTITATIVE},
    **{k: 0.5 / len(QUALITATIVE) for k in QUALITATIVE},
}


def _revenue_growth(ts: pd.DataFrame | None, runs: pd.DataFrame) -> pd.Series:
    if ts is not None and "revenue" in ts.columns:
        def growth(g: pd.DataFrame) -> float:
            g = g.sort_values("step")
            k = max(1, len(g) // 10)
            first, last = g["revenue"].iloc[:k].mean(), g["revenue"].iloc[-k:].mean()
            return float(last / first - 1) if first else np.nan

        per = ts.groupby(["scenario", "seed"], sort=False)[["step", "revenue"]].apply(growth)
        keys = pd.MultiIndex.from_frame(runs[["scenario", "seed"]])
        return pd.Series(per.reindex(keys).to_numpy(float), index=runs.index)
    if {"revenue_final", "revenue_mean"} <= set(runs.columns):
        mean = runs["revenue_mean"].replace(0, np.nan)
        return runs["revenue_final"] / mean - 1
    return pd.Series(np.nan, index=runs.index)


def indicators(runs: pd.DataFrame, timeseries: pd.DataFrame | None = None) -> pd.DataFrame:
    """The seven indicators per run (columns ``scenario``, ``seed`` and one per indicator)."""
    out = runs[["scenario", "seed"]].copy()

    def col(name: str) -> pd.Series:
        c = f"{name}_mean"
        return runs[c].astype(float) if c in runs.columns else pd.Series(np.nan, index=runs.index)

    out["marketing_roi"] = col("marketing_roi")
    spend = col("marketing_spend")
    out["brand_per_spend"] = col("brand_equity") / spend.where(spend > 0)
    out["revenue_growth"] = _revenue_growth(timeseries, runs)
    for k in QUALITATIVE:
        out[k] = col(k)
    return out


def _points(means: pd.DataFrame) -> pd.DataFrame:
    lo, hi = means.min(), means.max()
    span = (hi - lo).replace(0, np.nan)
    pts = 10 * (means - lo) / span
    for c in means.columns:
        if means[c].notna().any() and not np.isfinite(span[c]):
            pts[c] = np.where(means[c].notna(), 5.0, np.nan)
        if means[c].notna().any():
            pts[c] = pts[c].fillna(0.0)  # undefined for a scenario (e.g. nothing spent): 0 points
    return pts


def _score(means: pd.DataFrame, weights: Mapping[str, float]) -> tuple[pd.DataFrame, pd.Series]:
    pts = _points(means)
    usable = [c for c in pts.columns if pts[c].notna().all() and weights.get(c, 0) > 0]
    w = pd.Series({c: weights[c] for c in usable}, dtype=float)
    w = w / w.sum() if w.sum() > 0 else w
    total = (pts[usable] * w).sum(axis=1) if usable else pd.Series(np.nan, index=pts.index)
    return pts, total


def _cube(ind: pd.DataFrame, names: Sequence[str], cols: Sequence[str]) -> np.ndarray | None:
    """Indicators as an array ``[scenario, seed, indicator]``, or None if the scenarios do not share their seeds."""
    seeds = sorted(set(ind["seed"]))
    table = ind.set_index(["scenario", "seed"])[list(cols)]
    if table.index.duplicated().any() or len(table) != len(names) * len(seeds):
        return None
    full = pd.MultiIndex.from_product([list(names), seeds])
    if not full.isin(table.index).all():
        return None
    return table.reindex(full).to_numpy(float).reshape(len(names), len(seeds), len(cols))


def _draw_clusters(runs: pd.DataFrame, seeds: Sequence[int]) -> list[np.ndarray] | None:
    """Positions in ``seeds`` grouped by parameter draw, or None when each replicate has its own (or none)."""
    if "draw" not in runs.columns:
        return None
    of = runs.drop_duplicates("seed").set_index("seed")["draw"].reindex(list(seeds)).to_numpy()
    if pd.Series(of).is_unique:
        return None
    return [np.flatnonzero(of == d) for d in pd.unique(of)]


def scorecard(runs: pd.DataFrame, timeseries: pd.DataFrame | None = None,
              weights: Mapping[str, float] | None = None, order: Sequence[str] | None = None,
              n_boot: int = 200, seed: int = 0, reference: str | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Score every scenario's marketing effectiveness.

    Args:
        runs: one row per run (``scenario``, ``seed``, ``<kpi>_mean`` ...).
        timeseries: per-step KPIs for revenue growth (optional).
        weights: indicator weights (default :data:`DEFAULT_WEIGHTS`); renormalised over usable indicators.
        order: scenario order.
        n_boot: bootstrap resamples of replicates for the score interval (0: none); replicates sharing a
            parameter draw (``draw`` column) are resampled by draw.
        seed: seed of the bootstrap.
        reference: the scenario whose spending a ratio's is measured against (``thin_ratios``), or None.

    Returns:
        ``(table, used_weights)``: the table has per scenario the mean of each indicator, its points
        (``<indicator>_pts``), ``score``, ``score_low``, ``score_high`` (95% bootstrap) and ``rank``
        (1 = best), sorted by score; ``used_weights`` are the normalised weights applied.
    """
    weights = dict(weights or DEFAULT_WEIGHTS)
    ind = indicators(runs, timeseries)
    for (s, k) in thin_ratios(runs, QUANTITATIVE, reference):  # spends too little for its ratio to count
        ind.loc[ind["scenario"] == s, k] = np.nan
    names = list(order) if order is not None else list(dict.fromkeys(ind["scenario"]))
    cols = list(QUANTITATIVE + QUALITATIVE)
    means = ind.groupby("scenario", sort=False)[cols].mean().reindex(names)
    pts, total = _score(means, weights)
    usable = [c for c in cols if pts[c].notna().all() and weights.get(c, 0) > 0]
    wsum = sum(weights[c] for c in usable) or 1.0
    used = {c: weights[c] / wsum for c in usable}

    low = pd.Series(np.nan, index=names)
    high = pd.Series(np.nan, index=names)
    cube = _cube(ind, names, cols)
    if n_boot and cube is not None and cube.shape[1] >= 2 and len(names) >= 2:
        rng = np.random.default_rng(seed)
        w = np.array([used.get(c, 0.0) for c in cols])
        keep = w > 0
        boot = np.empty((n_boot, len(names)))
        clusters = _draw_clusters(runs, sorted(set(ind["seed"])))
        for b in range(n_boot):
            if clusters is None:
                pick = rng.integers(0, cube.shape[1], size=cube.shape[1])
            else:  # replicates sharing a parameter draw are resampled together, the draw being the unit
                pick = np.concatenate([clusters[i] for i in rng.integers(0, len(clusters), size=len(clusters))])
            with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(cube[:, pick, :], axis=1)[:, keep]
                lo_, hi_ = np.nanmin(m, axis=0), np.nanmax(m, axis=0)
            span = hi_ - lo_
            pts_b = np.where(span > 0, 10 * (m - lo_) / np.where(span > 0, span, 1), 5.0)
            boot[b] = np.nan_to_num(pts_b, nan=0.0) @ w[keep]
        low = pd.Series(np.quantile(boot, 0.025, axis=0), index=names)
        high = pd.Series(np.quantile(boot, 0.975, axis=0), index=names)

    table = means.copy()
    for c in cols:
        table[f"{c}_pts"] = pts[c]
    table["score"] = total
    table["score_low"] = low.reindex(names).to_numpy()
    table["score_high"] = high.reindex(names).to_numpy()
    table = table.sort_values("score", ascending=False)
    table["rank"] = np.arange(1, len(table) + 1)
    table.index.name = "scenario"
    return table.reset_index(), used
