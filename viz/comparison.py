"""The compare page's runs and numbers: every scenario for the same seeds (common random numbers), and the
paired differences with their intervals as ``run.py compare`` reports them (no Solara)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from sim import ScenarioError, kpis
from viz.session import advance, build_model, kpi_frame

__all__ = ["MAX_REPLICATES", "COMPARE_KPIS", "BURN_IN", "run_replicates", "compare_runs", "paired_table"]


def _one_run(path: Path | str, seed: int, steps: int, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    res = build_model(path, overrides, seed)
    if res.model is None:
        raise ScenarioError(res.error or "could not build the model")
    err = advance(res.model, steps)
    if err:
        raise ScenarioError(err)
    return kpi_frame(res.model)


def run_replicates(path: Path | str, seed: int, steps: int, replicates: int = 1,
                   overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one scenario for ``replicates`` seeds (``seed``, ``seed+1``, ...), stacked.

    The compare page calls this for both scenarios with the same seeds, so the
    two arms share random numbers replicate by replicate.

    Returns:
        A frame with columns ``replicate``, ``seed``, ``step`` and the KPIs.

    Raises:
        ScenarioError: if the scenario or a model cannot be built or run.
    """
    frames = []
    for r in range(replicates):
        df = _one_run(path, seed + r, steps, overrides)
        df.insert(0, "seed", seed + r)
        df.insert(0, "replicate", r)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


#: Most replicates the compare page runs per scenario.
MAX_REPLICATES = 30


#: KPIs whose paired difference the compare page reports: the headline KPIs and revenue.
COMPARE_KPIS: tuple[str, ...] = (*kpis.headline_kpis(), *(("revenue",) if "revenue" not in kpis.headline_kpis() else ()))


#: Share of a run's first steps left out of its mean, as in ``run.py compare``.
BURN_IN = 0.5


def compare_runs(paths: dict[str, Path | str], seed: int, steps: int, replicates: int,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict[str, pd.DataFrame] | None:
    """Run every scenario for the same ``replicates`` seeds (common random numbers), replicate by replicate.

    Args:
        paths: label -> scenario file.
        seed: first seed; replicate r uses ``seed + r`` in every scenario.
        steps: steps per run.
        replicates: 1 to :data:`MAX_REPLICATES`.
        on_progress: called with (runs done, runs in all) after each run.
        should_stop: asked before each run; True abandons the comparison.

    Returns:
        label -> frame (columns ``replicate``, ``seed``, ``step``, KPIs), or None if stopped.

    Raises:
        ScenarioError: replicates out of range, or a scenario that cannot be built or run.
    """
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ScenarioError(f"replicates: {replicates}; allowed: 1 to {MAX_REPLICATES}")
    frames: dict[str, list[pd.DataFrame]] = {label: [] for label in paths}
    total, done = replicates * len(paths), 0
    for r in range(replicates):
        for label, path in paths.items():
            if should_stop is not None and should_stop():
                return None
            df = _one_run(path, seed + r, steps)
            df.insert(0, "seed", seed + r)
            df.insert(0, "replicate", r)
            frames[label].append(df)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    return {label: pd.concat(f, ignore_index=True) for label, f in frames.items()}


def paired_table(runs: dict[str, pd.DataFrame], reference: str, kpis_: tuple[str, ...] = COMPARE_KPIS,
                 level: float = 0.95) -> pd.DataFrame:
    """Paired differences of each scenario against ``reference``, as ``run.py compare`` reports them.

    Each run is summarized by its mean over the steps after the burn-in (:data:`BURN_IN`);
    runs pair by seed; intervals are t-intervals, Holm-adjusted across the KPIs
    (``analysis.stats.paired_differences``).

    Returns:
        One row per (scenario, KPI): ``scenario, kpi, reference, ref_mean, diff, ci_low, ci_high,
        n_pairs, p_holm, significant, verdict`` and ``unit``.
    """
    from analysis.stats import paired_differences
    from sim.metrics import summarize

    rows = []
    for label, df in runs.items():
        for (rep, seed), run in df.groupby(["replicate", "seed"], sort=True):
            summary = summarize(run.drop(columns=["replicate", "seed", "step"]), burn_in=BURN_IN)
            rows.append({"scenario": label, "seed": int(seed), **summary})
    table = paired_differences(pd.DataFrame(rows), reference, [k for k in kpis_ if f"{k}_mean" in rows[0]],
                               alpha=1 - level, order=list(runs))
    table["unit"] = [kpis.kpi(k).unit for k in table["kpi"]]
    return table
