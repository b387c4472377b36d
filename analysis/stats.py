"""Statistics over replicates: KPI tables with CIs and paired differences.

Methods (stated in the report too):
    * Confidence interval of a mean: Student t-interval over the replicates,
      ``mean ± t(0.975, n-1) · sd / √n`` (sd with ``ddof=1``).
    * Differences against a reference: replicate ``r`` of every scenario uses the
      same seed (common random numbers), so runs are paired by seed and the
      paired differences ``d_r = x_r − ref_r`` get a t-interval and a paired
      t-test. Effect size: Cohen's ``d_z = mean(d) / sd(d)``.
    * Many comparisons: Holm's step-down correction over every (scenario, KPI)
      test of one report (family-wise error 5%).
    * Intervals of differences are adjusted like the p-values beside them: each
      is a t-interval at level ``1 − α/k``, ``α/k`` the Bonferroni level of the
      Holm step that decided its test (``k`` = tests still open at that step), so
      an interval excludes 0 exactly when the Holm-adjusted p is below ``α``.
      The first step's interval (``k = m``) is the Bonferroni simultaneous one.
    * Replicates needed: the smallest number of pairs giving 80% power for the
      observed ``d_z`` with a two-sided paired t-test (noncentral t) at the
      Bonferroni level ``α / m`` (the strictest Holm threshold), so a difference
      of the observed size would survive the correction.
    * Uncertain parameters: when several replicates share one parameter draw
      (``draw`` column, ``[uncertain] seeds_per_draw`` > 1), they are not
      independent. Every interval and test then runs on the draw means
      (:func:`unit_means`: a replicate's value or paired difference averaged
      within its draw), ``n`` being the number of draws; the replicates needed
      are draws needed times the seeds per draw. With one replicate per draw
      (or no ``draw`` column) the replicates are the units, as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import integrate
from scipy import stats as sps

from sim.errors import ScenarioError
from sim.kpis import higher_is_better, unit_of

__all__ = [
    "unit_means",
    "draws_of",
    "t_interval",
    "kpi_table",
    "holm",
    "holm_levels",
    "replicates_needed",
    "paired_differences",
    "verdict",
]

MAX_NEEDED = 100_000


def unit_means(x: Sequence[float] | np.ndarray, draws: Sequence[object] | np.ndarray | None = None) -> np.ndarray:
    """The independent units of ``x``: its means within each parameter draw when replicates share one.

    Replicates drawing the same uncertain parameters are correlated through them; under common random
    numbers the draw is the unit of independence, so intervals and tests run on draw means.

    Args:
        x: values, replicates along the last axis (a vector, or steps x replicates).
        draws: each replicate's draw, or None.

    Returns:
        ``x`` itself (as float) when ``draws`` is None or every replicate has its own draw; else one column
        per draw (sorted), the mean of its replicates' finite values (NaN if it has none).
    """
    a = np.asarray(x, dtype=float)
    if draws is None:
        return a
    d = np.asarray(draws)
    if d.shape != (a.shape[-1],):
        raise ValueError(f"{d.size} draws for {a.shape[-1]} replicates")
    if pd.Series(d).is_unique:
        return a
    flat = pd.DataFrame(a.reshape(-1, a.shape[-1]).T)
    means = flat.groupby(d, sort=True).mean().to_numpy(float).T
    return means.reshape(*a.shape[:-1], means.shape[-1])


def draws_of(frame: pd.DataFrame) -> np.ndarray | None:
    """The ``draw`` column of a results frame, or None when it has none (no uncertain parameters)."""
    return frame["draw"].to_numpy() if "draw" in frame.columns else None


def t_interval(x: Sequence[float], level: float = 0.95,
               draws: Sequence[object] | np.ndarray | None = None) -> tuple[float, float, float, float, int]:
    """Mean, sd and Student-t confidence interval of ``x`` (NaNs dropped).

    Args:
        x: the replicates' values.
        level: confidence level.
        draws: each replicate's parameter draw; replicates sharing one are averaged first (:func:`unit_means`).

    Returns:
        ``(mean, sd, low, high, n)`` over the independent units (``n`` replicates, or draws when they are
        shared); sd and the interval are NaN when ``n < 2``.
    """
    a = unit_means(x, draws)
    a = a[np.isfinite(a)]
    n = a.size
    if n == 0:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(a.mean())
    if n < 2:
        return (mean, math.nan, math.nan, math.nan, 1)
    sd = float(a.std(ddof=1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (mean, sd, mean - half, mean + half, n)


def kpi_table(runs: pd.DataFrame, kpis: Sequence[str], stat: str = "mean", by: str = "scenario",
              order: Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Mean, sd and t-interval of each KPI per group, long format.

    Args:
        runs: one row per run.
        kpis: KPI names; the column read is ``<kpi>_<stat>``.
        stat: ``"mean"`` (time average after burn-in) or ``"final"`` (last step).
        by: the grouping column.
        order: group order (default: first appearance).
        level: confidence level.

    Returns:
        Columns ``scenario, kpi, n, mean, sd, ci_low, ci_high``; with a ``draw`` column shared by several
        replicates, the statistics are of the draw means and ``n`` counts draws (:func:`t_interval`).
    """
    groups = list(order) if order is not None else list(dict.fromkeys(runs[by]))
    rows = []
    for g in groups:
        sub = runs[runs[by] == g]
        for k in kpis:
            mean, sd, lo, hi, n = t_interval(sub[f"{k}_{stat}"], level, draws_of(sub))
            rows.append({"scenario": g, "kpi": k, "n": n, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (NaNs stay NaN and do not count as tests)."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def holm_levels(p: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Per test, the Bonferroni level ``alpha / k`` of the Holm step that decided it.

    Holm compares the ``r``-th smallest p-value (``r = 0, 1, ...``) with ``alpha / (m - r)`` and stops at
    the first one that fails; tests from there on are decided at that step. A two-sided interval at
    level ``1 - alpha / k`` therefore excludes 0 exactly when the Holm-adjusted p is below ``alpha``.
    Tied p-values share the level of the tie's first step, so tied tests get equal intervals.

    Returns:
        The level ``alpha / k`` of each test; NaN where the p-value is NaN (not a test).
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    finite = np.sort(p[ok])
    adjusted = holm(p)
    decided = adjusted[ok] < alpha
    # the step where Holm stops: the number of rejected tests (Holm rejects a prefix of the sorted p-values)
    stop = int(decided.sum())
    first = np.searchsorted(finite, p[ok], side="left")  # a tie group's first rank
    out[ok] = alpha / (m - np.minimum(first, stop))
    return out


def _tail_by_integration(crit: float, df: int, nc: float) -> float:
    """``P(T > crit)`` for a noncentral t by integrating over ``S = sqrt(V/df)``, ``V ~ chi2(df)``.

    ``T = (Z + nc) / S`` gives ``P(T > crit) = E[Phi(nc - crit * S)]``: the fallback when scipy's
    noncentral t returns a non-finite tail.
    """
    lo, hi = (float(sps.chi2.ppf(q, df)) for q in (1e-15, 1 - 1e-15))
    dens = sps.chi2(df)

    def f(v: float) -> float:
        return float(sps.norm.cdf(nc - crit * math.sqrt(v / df)) * dens.pdf(v))

    value, _ = integrate.quad(f, lo, hi, points=[float(df)], limit=200, epsabs=1e-13)
    return min(1.0, max(0.0, value))


def _power(n: int, d: float, alpha: float) -> float:
    """Power of a two-sided paired t-test with ``n`` pairs for effect ``d`` at level ``alpha``."""
    df = n - 1
    crit = float(sps.t.ppf(1 - alpha / 2, df))
    nc = abs(d) * math.sqrt(n)
    upper = float(sps.nct.sf(crit, df, nc))
    # P(T < -crit | nc) = P(T > crit | -nc): scipy's cdf of this far tail can be NaN, its sf is not
    lower = float(sps.nct.sf(crit, df, -nc))
    if not math.isfinite(upper):
        upper = _tail_by_integration(crit, df, nc)
    if not math.isfinite(lower):
        lower = _tail_by_integration(crit, df, -nc)
    return min(1.0, upper + lower)


def replicates_needed(d_z: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest number of pairs with the given power for effect ``d_z`` (two-sided paired t-test).

    Returns:
        An integer as float, ``inf`` when ``d_z`` is 0 or NaN or more than 100 000 would be needed.
    """
    if not np.isfinite(d_z):
        return 2.0 if np.isinf(d_z) else math.inf
    if d_z == 0:
        return math.inf
    # the normal approximation is a lower bound for the t-test; double from it to bracket the answer
    approx = ((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)) / abs(d_z)) ** 2
    if approx > MAX_NEEDED:
        return math.inf
    lo, hi = 2, max(2, math.ceil(approx))
    while _power(hi, d_z, alpha) < power:
        lo, hi = hi + 1, hi * 2
        if hi > 2 * MAX_NEEDED:
            return math.inf
    while lo < hi:
        mid = (lo + hi) // 2
        if _power(mid, d_z, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return float(hi) if hi <= MAX_NEEDED else math.inf


def _paired_row(x: np.ndarray, draws: np.ndarray | None = None) -> dict[str, float]:
    """Mean, sd, ``d_z`` and paired t-test of the differences ``x``, on draw means when replicates share draws."""
    a = np.asarray(x, dtype=float)
    keep = np.isfinite(a)
    pairs = int(keep.sum())
    a = unit_means(a[keep], None if draws is None else np.asarray(draws)[keep])
    n = a.size
    mean = float(a.mean()) if n else math.nan
    if n < 2:
        return {"n_pairs": pairs, "diff": mean, "sd_diff": math.nan, "d_z": math.nan, "p_value": math.nan,
                "n_units": n}
    sd = float(a.std(ddof=1))
    if sd == 0:
        same = mean == 0
        return {"n_pairs": pairs, "diff": mean, "sd_diff": 0.0,
                "d_z": 0.0 if same else math.copysign(math.inf, mean), "p_value": 1.0 if same else 0.0, "n_units": n}
    t = mean / (sd / math.sqrt(n))
    p = float(2 * sps.t.sf(abs(t), n - 1))
    return {"n_pairs": pairs, "diff": mean, "sd_diff": sd, "d_z": mean / sd, "p_value": p, "n_units": n}


def _half_width(table: pd.DataFrame) -> np.ndarray:
    """Half-width of each difference's t-interval at level ``1 - ci_alpha`` (NaN without an interval)."""
    n = table["n_units"].to_numpy(float)
    sd = table["sd_diff"].to_numpy(float)
    a = table["ci_alpha"].to_numpy(float)
    out = np.full(n.shape, np.nan)
    ok = (n >= 2) & np.isfinite(sd) & np.isfinite(a)
    out[ok] = sps.t.ppf(1 - a[ok] / 2, n[ok] - 1) * sd[ok] / np.sqrt(n[ok])
    return out


def paired_differences(runs: pd.DataFrame, reference: str, kpis: Sequence[str], stat: str = "mean",
                       alpha: float = 0.05, power: float = 0.8,
                       order: Sequence[str] | None = None) -> pd.DataFrame:
    """Paired (by seed) differences of every scenario against ``reference``, Holm-corrected.

    The interval of each difference is adjusted like its p-value: it is a t-interval at level
    ``1 - ci_alpha``, ``ci_alpha`` the Bonferroni level of the Holm step that decided the test
    (:func:`holm_levels`), so it excludes 0 exactly when the test is significant.

    With a ``draw`` column shared by several replicates (uncertain parameters), each replicate's paired
    difference is averaged within its draw and the interval, test, ``sd_diff`` and ``d_z`` are of these draw
    means (``n_units`` draws); ``n_needed`` counts replicates at the same seeds per draw.

    Args:
        runs: one row per run with ``scenario``, ``seed`` and ``<kpi>_<stat>`` (and ``draw``, if drawn).
        reference: the scenario compared with.
        kpis: KPI names.
        stat: ``"mean"`` or ``"final"``.
        alpha: family-wise error rate of the Holm correction.
        power: power used for the replicates-needed estimate.
        order: scenario order (default: first appearance).

    Returns:
        One row per (scenario, KPI): ``scenario, kpi, reference, ref_mean, n_pairs, diff, ci_low, ci_high,
        sd_diff, d_z, p_value, n_units, p_holm, ci_alpha, significant, n_needed, verdict``; ``ref_mean`` is the
        reference's mean over the paired replicates' units (draw means when draws are shared), as ``diff`` is.

    Raises:
        ScenarioError: unknown reference, or no seed shared with the reference.
    """
    names = list(order) if order is not None else list(dict.fromkeys(runs["scenario"]))
    if reference not in names:
        raise ScenarioError(f"reference {reference!r}: not a scenario of these results; allowed: {', '.join(names)}")
    ref = runs[runs["scenario"] == reference].set_index("seed")
    rows = []
    for name in names:
        if name == reference:
            continue
        other = runs[runs["scenario"] == name].set_index("seed")
        common = ref.index.intersection(other.index)
        if len(common) == 0:
            raise ScenarioError(f"{name} and {reference} share no replicate seed, so they cannot be paired; "
                                "compare them in one run.py compare call")
        draws = draws_of(other.loc[common])
        for k in kpis:
            col = f"{k}_{stat}"
            base = ref.loc[common, col].to_numpy(float)
            d = other.loc[common, col].to_numpy(float) - base
            # over the same units as the difference and kpi_table's mean: the draw means when draws are shared
            row = {"scenario": name, "kpi": k, "reference": reference,
                   "ref_mean": float(pd.Series(unit_means(base, draws)).mean()), **_paired_row(d, draws)}
            rows.append(row)
    table = pd.DataFrame(rows, columns=["scenario", "kpi", "reference", "ref_mean", "n_pairs", "diff", "sd_diff",
                                        "d_z", "p_value", "n_units"])
    table["p_holm"] = holm(table["p_value"].to_numpy()) if len(table) else []
    table["ci_alpha"] = holm_levels(table["p_value"].to_numpy(), alpha) if len(table) else []
    half = _half_width(table)
    table.insert(6, "ci_low", table["diff"] - half)
    table.insert(7, "ci_high", table["diff"] + half)
    m = int(np.isfinite(table["p_value"]).sum()) if len(table) else 0
    table["significant"] = table["p_holm"] < alpha
    needed = np.array([replicates_needed(d, alpha / max(m, 1), power) for d in table["d_z"]], dtype=float)
    # draws needed, in replicates at the seeds per draw these runs used
    shared = (table["n_units"] > 0) & (table["n_units"] != table["n_pairs"])
    per = np.where(shared, np.round(table["n_pairs"] / table["n_units"].where(shared, 1)), 1.0)
    table["n_needed"] = np.where(shared, needed * per, needed)
    table["verdict"] = [verdict(r) for r in table.to_dict("records")]
    return table


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax != 0 and (ax >= 1e4 or ax < 1e-3):
        return f"{x:.3g}"
    return f"{x:.3f}" if ax < 10 else f"{x:.1f}"


def _fmt_p(p: float) -> str:
    """``"=0.012"``, ``"<0.001"`` or ``"=n/a"``, to follow a ``p``."""
    if not np.isfinite(p):
        return "=n/a"
    return "<0.001" if p < 0.001 else f"={p:.3f}"


def verdict(row: dict) -> str:
    """One plain-language sentence for one row of :func:`paired_differences`."""
    name, ref, kpi, n = row["scenario"], row["reference"], row["kpi"], int(row["n_pairs"])
    units = int(row.get("n_units", n))
    diff = row["diff"]
    unit = unit_of(kpi)
    ci = f"{_fmt(diff):s} [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}]" + (f" {unit}" if unit else "")
    if units < 2:
        if units < n:
            return (f"{name} vs {ref} on {kpi}: {n} paired replicates but only {units} parameter draw, no interval "
                    "possible; run replicates over at least 3 draws")
        return (f"{name} vs {ref} on {kpi}: only {n} paired replicate, no interval possible; "
                "run at least 3 replicates")
    if row["sd_diff"] == 0 and diff == 0:
        return f"{name} and {ref} give identical {kpi} in all {n} paired replicates"
    if row["significant"]:
        up = diff > 0
        better = higher_is_better(kpi)
        if better is None:
            word = "is higher than" if up else "is lower than"
        else:
            word = "beats" if up == better else "falls behind"
        sign = "+" if diff > 0 else ""
        return (f"{name} {word} {ref} on {kpi} by {sign}{ci} (d_z={_fmt(row['d_z'])}, "
                f"Holm-adjusted p{_fmt_p(row['p_holm'])}, interval adjusted alike)")
    need = row["n_needed"]
    if np.isfinite(need):
        more = f"about {int(need)} would be needed to detect a difference of this size at 80% power"
    else:
        more = "the observed difference is too small for any practical number of replicates to settle"
    over = f"{n} replicates" + (f" ({units} parameter draws)" if units < n else "")
    return (f"cannot tell {name} apart from {ref} on {kpi} with {over} "
            f"(difference {ci}, Holm-adjusted p{_fmt_p(row['p_holm'])}, interval adjusted alike); {more}")
