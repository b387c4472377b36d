"""Morgan-Hunt's thirteen KMV paths estimated from the firms of seeded runs.

The paths are read off the data, not off the model's formulas: each endogenous
variable of the KMV model is regressed by OLS on its hypothesised predictors over
the per-firm cross-section of many runs (rows of ``ClusterModel.firm_table`` at
one step after warm-up, pooled over seeds, with a ``run`` column; this module
reads only those data frames). Variables are standardized over the pooled
sample, so a coefficient is in standard deviations of the outcome per standard
deviation of the predictor. Standard errors are cluster-robust by run (firms of
one run share its history); the 95 % interval uses the t distribution with
``runs - 1`` degrees of freedom.

Mediation (Morgan & Hunt's rival model): each outcome is also regressed on trust
and commitment plus the five antecedents; the mediated model holds when the
direct antecedent paths add little explained variance (``rival_r2_gain``), measured
against what the antecedents explain on their own (``direct_share``).

An equation is flagged degenerate when its outcome is a deterministic function of
its predictors: the linear fit leaves no residual (R² above ``DEGENERATE_R2``),
or, with one predictor, all but a few firms lie on one monotone curve of it
(``DETERMINED_SHARE``). Its "estimate" then says
how a formula was written rather than what emerged. Mediation is compared on
ranks too, so a curved but deterministic link does not pass for a direct path.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim import kpis

__all__ = ["PATHS", "EQUATIONS", "ANTECEDENTS", "OUTCOMES", "DEGENERATE_R2", "DETERMINED_SHARE", "monotone_share", "Path", "estimate_paths", "mediation"]

#: The five antecedents as named in ``firm_table`` (the registry's antecedent KPIs).
ANTECEDENTS: tuple[str, ...] = kpis.names("antecedent")

#: An equation fitting better than this is a deterministic function of its predictors.
DEGENERATE_R2 = 0.999
#: An outcome is a function of its one predictor when this share of firms lies on one monotone curve
#: (a few firms may be off it, e.g. entrants whose outcomes are set on their next step).
DETERMINED_SHARE = 0.99


@dataclass(frozen=True)
class Path:
    """One hypothesised path: ``source -> target`` with its sign (+1 or -1)."""

    source: str
    target: str
    sign: int


#: Morgan & Hunt (1994, Figure 1), with firm_table column names (trust is ``mean_trust``).
PATHS: tuple[Path, ...] = (
    Path("termination_costs", "commitment", +1),
    Path("relationship_benefits", "commitment", +1),
    Path("shared_values", "commitment", +1),
    Path("shared_values", "mean_trust", +1),
    Path("communication", "mean_trust", +1),
    Path("opportunistic_behaviour", "mean_trust", -1),
    Path("mean_trust", "commitment", +1),
    Path("commitment", "acquiescence", +1),
    Path("commitment", "propensity_to_leave", -1),
    Path("commitment", "cooperation", +1),
    Path("mean_trust", "cooperation", +1),
    Path("mean_trust", "functional_conflict", +1),
    Path("mean_trust", "decision_uncertainty", -1),
)

#: Each endogenous variable and its hypothesised predictors (the structural equations).
EQUATIONS: dict[str, tuple[str, ...]] = {}
for _p in PATHS:
    EQUATIONS.setdefault(_p.target, ())
    EQUATIONS[_p.target] += (_p.source,)

#: The outcomes of trust and commitment (the rival model adds direct antecedent paths to these).
OUTCOMES: tuple[str, ...] = kpis.KMV_OUTCOMES


def _standardize(df: pd.DataFrame, cols) -> pd.DataFrame:
    x = df[list(cols)].astype(float)
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd.where(sd > 0, np.nan)


def _fit(df: pd.DataFrame, target: str, predictors, ranks: bool = False) -> tuple[object, int]:
    """OLS of standardized ``target`` on standardized ``predictors`` (or their ranks), SEs clustered by run."""
    import statsmodels.api as sm  # here: the app draws the Morgan–Hunt figure from PATHS without loading it

    cols = [target, *predictors]
    z = _standardize(df[cols].rank() if ranks else df, cols)
    ok = z.notna().all(axis=1).to_numpy()
    groups = pd.factorize(df["run"])[0][ok]
    fit = sm.OLS(z.loc[ok, target], sm.add_constant(z.loc[ok, list(predictors)]), hasconst=True).fit(
        cov_type="cluster", cov_kwds={"groups": groups})
    return fit, len(np.unique(groups))


def monotone_share(x, y) -> float:
    """Share of points lying on one monotone curve ``y = f(x)``: the longest monotone run of ``y`` ordered by ``x``."""
    order = np.lexsort((np.asarray(y, float), np.asarray(x, float)))
    ys = np.asarray(y, float)[order]
    if len(ys) == 0:
        return 0.0
    best = 0
    for v in (ys, -ys):  # non-decreasing in x, or non-increasing (negated)
        tails: list[float] = []
        for val in v:
            k = bisect.bisect_right(tails, val)
            tails[k:k + 1] = [val]
        best = max(best, len(tails))
    return best / len(ys)


def estimate_paths(df: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The thirteen paths estimated on a pooled firm cross-section.

    Args:
        df: rows of ``firm_table`` with a ``run`` column naming the run each firm comes from.
        level: confidence level of the intervals.

    Returns:
        One row per path: ``source, target, sign, estimate, low, high, r2, rank_r2, degenerate, verdict``; verdict is
        ``reproduced`` (interval on the hypothesised side of 0), ``reversed`` (on the other side) or
        ``not distinguishable``.
    """
    rows = []
    fits = {t: _fit(df, t, preds) for t, preds in EQUATIONS.items()}
    rank_r2 = {t: float(_fit(df, t, preds, ranks=True)[0].rsquared) for t, preds in EQUATIONS.items()}
    monotone = {t: len(preds) == 1 and monotone_share(df[preds[0]], df[t]) >= DETERMINED_SHARE for t, preds in EQUATIONS.items()}
    for p in PATHS:
        fit, runs = fits[p.target]
        b, se = float(fit.params[p.source]), float(fit.bse[p.source])
        half = stats.t.ppf(0.5 + level / 2, max(runs - 1, 1)) * se
        low, high = b - half, b + half
        verdict = ("reproduced" if p.sign * low > 0 and p.sign * high > 0 else
                   "reversed" if p.sign * low < 0 and p.sign * high < 0 else "not distinguishable")
        rows.append({"source": p.source, "target": p.target, "sign": p.sign, "estimate": b, "low": low, "high": high,
                     "r2": float(fit.rsquared), "rank_r2": rank_r2[p.target],
                     "degenerate": bool(fit.rsquared > DEGENERATE_R2 or monotone[p.target]), "verdict": verdict})
    return pd.DataFrame(rows)


def mediation(df: pd.DataFrame) -> pd.DataFrame:
    """The mediated model against the rival with direct antecedent paths, per outcome.

    Returns:
        One row per outcome: ``r2_mediated`` (trust and commitment), ``r2_rival`` (plus the five antecedents),
        ``rival_r2_gain`` (what the direct antecedent paths add to trust and commitment), ``r2_antecedents`` (the
        antecedents alone) and ``direct_share`` (gain over ``r2_antecedents``: the part of what the antecedents
        explain that does not pass through trust and commitment; NaN when they explain nothing), all on ranks.
    """
    rows = []
    for target in OUTCOMES:
        mediated, _ = _fit(df, target, ("commitment", "mean_trust"), ranks=True)
        rival, _ = _fit(df, target, ("commitment", "mean_trust", *ANTECEDENTS), ranks=True)
        alone, _ = _fit(df, target, ANTECEDENTS, ranks=True)
        gain = float(rival.rsquared - mediated.rsquared)
        rows.append({"outcome": target, "r2_mediated": float(mediated.rsquared), "r2_rival": float(rival.rsquared),
                     "rival_r2_gain": gain, "r2_antecedents": float(alone.rsquared),
                     "direct_share": gain / float(alone.rsquared) if alone.rsquared > 0 else float("nan")})
    return pd.DataFrame(rows)
