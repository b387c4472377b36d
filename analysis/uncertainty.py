"""How much of a comparison's spread is parameter uncertainty, how much the model's own noise.

A compare (or sweep) of scenarios with ``[uncertain]`` parameters gives replicate ``r`` the draw
``r // seeds_per_draw`` (``draw`` column) and its own seed. With two or more seeds per draw, a
one-way random-effects split of each KPI (and of each arm's paired difference to the reference,
the same draws and seeds in both arms) separates the variance between draws (parameter
uncertainty) from the variance within a draw (stochastic noise):
``noise = pooled within-draw variance``, ``parameter = max(0, var(draw means) - noise * mean(1 / n))``.
The interval is the central 90 % of the replicates' values: what one run of the cluster may show,
parameter uncertainty included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .document import Document, num

__all__ = ["split", "spread_table", "add_section"]


def split(values: np.ndarray, draws: np.ndarray) -> tuple[float, float]:
    """``(parameter variance, noise variance)`` of ``values`` grouped by ``draws`` (NaN if not separable)."""
    frame = pd.DataFrame({"y": values, "d": draws}).dropna()
    groups = frame.groupby("d")["y"]
    n = groups.size()
    dof = int((n - 1).sum())
    if len(n) < 2 or dof < 1:
        return float("nan"), float("nan")
    noise = float(((frame["y"] - groups.transform("mean")) ** 2).sum() / dof)
    between = float(groups.mean().var(ddof=1))
    return max(0.0, between - noise * float((1.0 / n).mean())), noise


def _row(scenario: str, kpi: str, what: str, y: np.ndarray, draws: np.ndarray, level: float) -> dict:
    param, noise = split(y, draws)
    lo, hi = np.quantile(y, [(1 - level) / 2, (1 + level) / 2])
    total = param + noise
    return {"scenario": scenario, "kpi": kpi, "of": what, "mean": float(np.mean(y)),
            f"{level:.0%} low": float(lo), f"{level:.0%} high": float(hi), "sd": float(np.std(y, ddof=1)),
            "parameter share": param / total if total > 0 else float("nan"), "draws": int(pd.Series(draws).nunique())}


def spread_table(runs: pd.DataFrame, kpis: Sequence[str], reference: str | None = None, stat: str = "mean",
                 level: float = 0.9) -> pd.DataFrame:
    """Per scenario and KPI: mean, central interval over replicates, sd and the parameter share of the variance.

    With ``reference``, each other scenario also gets a row for its paired difference to it.
    """
    rows = []
    order = list(dict.fromkeys(runs["scenario"]))
    by = {s: g.sort_values("replicate").reset_index(drop=True) for s, g in runs.groupby("scenario", sort=False)}
    for kpi in kpis:
        col = f"{kpi}_{stat}"
        if col not in runs:
            continue
        for s in order:
            g = by[s]
            rows.append(_row(s, kpi, "value", g[col].to_numpy(float), g["draw"].to_numpy(), level))
            if reference is not None and s != reference and reference in by:
                ref = by[reference]
                both = g.merge(ref[["replicate", col]], on="replicate", suffixes=("", "_ref"))
                rows.append(_row(s, kpi, f"difference to {reference}", (both[col] - both[f"{col}_ref"]).to_numpy(float),
                                 both["draw"].to_numpy(), level))
    return pd.DataFrame(rows)


def add_section(doc: Document, runs: pd.DataFrame, kpis: Sequence[str], reference: str | None) -> pd.DataFrame:
    """A report section with :func:`spread_table`; returns the table."""
    table = spread_table(runs, kpis, reference)
    per = runs.groupby("draw").size().min() // max(1, runs["scenario"].nunique())
    doc.h2("Parameter uncertainty and noise")
    doc.p(f"The scenarios declare uncertain parameters: each replicate drew them (the same draw for the same replicate "
          f"in every arm), {runs['draw'].nunique()} draws with about {per} seeds each. The interval is the central 90 % "
          "of the replicates (one run of the cluster may show any value in it, the uncertain parameters included); "
          "the parameter share is the part of the variance between draws, the rest is the model's own noise between "
          "seeds. A difference whose interval holds 0 is not a safe bet for a single cluster, even if its mean is.")
    shown = table.copy()
    for c in shown.columns:
        if shown[c].dtype.kind == "f":
            shown[c] = [num(v) for v in shown[c]]
    doc.table(shown)
    return table
