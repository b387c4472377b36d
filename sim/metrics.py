"""KPI names and the small reductions behind them (MODEL.md, "What comes out").

The model computes one row of KPIs per step (see ``ClusterModel._collect``);
this module names the columns so that the runner, the analysis and the app
agree on them, and holds the reductions that are not one-liners.
"""

from __future__ import annotations

import numpy as np

__all__ = ["KPI_COLUMNS", "ANTECEDENT_COLUMNS", "BY_TYPE_COLUMNS", "gini", "summarize"]

#: The model-level columns of ``datacollector.get_model_vars_dataframe()``, one row per step.
KPI_COLUMNS: tuple[str, ...] = (
    "members",
    "entries",
    "exits",
    "cooperation_rate",
    "mean_trust",
    "mean_commitment",
    "partner_commitment",
    "propensity_to_leave",
    "acquiescence",
    "functional_conflict",
    "decision_uncertainty",
    "revenue",
    "profit",
    "brand_equity",
    "brand_technological",
    "brand_economic",
    "brand_social",
    "brand_energy",
    "free_rider_share",
    "free_riders_detected",
    "expulsions",
    "contracts_active",
    "contract_breaches",
    "info_sent",
    "info_lost",
    "info_delay",
    "payoff_gini",
    "energy_intensity",
    "marketing_spend",
    "marketing_roi",
    "public_good_in",
    "public_good_out",
    "digitalization_cost",
    "demand",
)

#: The five Morgan-Hunt antecedents, cluster means (also model columns).
ANTECEDENT_COLUMNS: tuple[str, ...] = (
    "termination_costs",
    "relationship_benefits",
    "shared_values",
    "communication",
    "opportunistic_behaviour",
)

#: Per-actor-type columns: ``<type>_<kpi>`` for type in enterprise, leading_firm.
BY_TYPE_KPIS: tuple[str, ...] = ("members", "cooperation_rate", "mean_trust", "mean_commitment", "revenue", "profit")
BY_TYPE_COLUMNS: tuple[str, ...] = tuple(
    f"{t}_{k}" for t in ("enterprise", "leading_firm") for k in BY_TYPE_KPIS
)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of ``x`` after shifting it to be non-negative (0 for fewer than 2 values)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return 0.0
    x = x - min(0.0, float(x.min()))
    total = x.sum()
    if total <= 0:
        return 0.0
    xs = np.sort(x)
    n = x.size
    cum = np.cumsum(xs)
    return float((n + 1 - 2 * (cum.sum() / total)) / n)


def summarize(frame, burn_in: float = 0.5) -> dict[str, float]:
    """Final and time-averaged value of every numeric column of a run's time series.

    Args:
        frame: one row per step (``datacollector.get_model_vars_dataframe()``).
        burn_in: share of the first steps left out of the time average.

    Returns:
        ``{"<col>_final": ..., "<col>_mean": ...}`` for every numeric column.
    """
    out: dict[str, float] = {}
    if len(frame) == 0:
        return out
    start = int(len(frame) * burn_in)
    tail = frame.iloc[start:] if start < len(frame) else frame.iloc[-1:]
    for col in frame.columns:
        if not np.issubdtype(frame[col].dtype, np.number):
            continue
        out[f"{col}_final"] = float(frame[col].iloc[-1])
        out[f"{col}_mean"] = float(tail[col].mean())
    return out
