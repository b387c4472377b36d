"""Plain-text tables printed by the command line after a run or a comparison."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sim import kpis as kpi_registry

__all__ = ["HEADLINE_KPIS", "headline_table"]

#: KPIs printed after a single run and at the end of a comparison: the report's headline (KPI registry).
HEADLINE_KPIS: tuple[str, ...] = kpi_registry.headline_kpis()


def headline_table(results: pd.DataFrame, by: str = "scenario", kpis: Sequence[str] = HEADLINE_KPIS) -> pd.DataFrame:
    """Mean of the time-averaged headline KPIs per group (rows) for printing."""
    cols = [f"{k}_mean" for k in kpis if f"{k}_mean" in results.columns]
    table = results.groupby(by, sort=False)[cols].mean()
    table.columns = [c.removesuffix("_mean") for c in cols]
    return table
