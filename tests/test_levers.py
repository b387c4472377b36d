"""Levers that act through behaviour and the economy: each lever below, moved from a low to a high value, moves
its outcome in the stated direction over 12 paired seeds (common random numbers: replicate i of both arms
shares its seed), judged by the 95 % t-interval of the paired differences of the second-half means.

These are claims about the model as a whole (the decision, the contracts, entry and exit), not about one
formula: each outcome is several steps away from the lever.
"""

import numpy as np
import pytest
from scipy import stats

from sim import ClusterModel, Scenario

SEEDS = range(12)
STEPS = 150

BASE = Scenario().with_overrides({"structure.n_firms": 120})


def breaches_per_contract(k):
    return k["contract_breaches"] / k["contracts_active"].clip(lower=1)


#: (lever, low, high, outcome, direction of high - low, why)
LEVERS = [
    ("mechanisms.contract.enforcement_prob", 0.1, 0.9, breaches_per_contract, -1, "enforcement deters breaches"),
    ("mechanisms.contract.breach_penalty", 0.0, 2.0, breaches_per_contract, -1, "a penalty deters breaches"),
    ("mechanisms.contract.breach_gain", 0.1, 0.5, breaches_per_contract, +1, "a bigger temptation, more breaches"),
    ("mechanisms.regulation.reputation_penalty", 0.0, 0.8, "contracts_active", -1,
     "a sanctioned firm's name costs it contracts"),
    ("mechanisms.regulation.dues", 0.02, 0.2, "members", -1, "a higher membership fee supports fewer firms"),
    ("information.digitalization_cost", 0.03, 0.3, "members", -1, "the IT-actor's price is paid by the firms"),
]


def paired_interval(d: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def second_half_mean(scenario: Scenario, seed: int, outcome) -> float:
    model = ClusterModel(scenario, rng=seed)
    model.run_for(STEPS)
    k = model.kpis().iloc[STEPS // 2:]
    return float((outcome(k) if callable(outcome) else k[outcome]).mean())


@pytest.mark.slow
@pytest.mark.parametrize("lever,low,high,outcome,sign,why", LEVERS, ids=[f"{x[0]}" for x in LEVERS])
def test_the_lever_moves_its_outcome(lever, low, high, outcome, sign, why):
    lo_arm, hi_arm = BASE.with_overrides({lever: low}), BASE.with_overrides({lever: high})
    d = np.array([second_half_mean(hi_arm, s, outcome) - second_half_mean(lo_arm, s, outcome) for s in SEEDS])
    lo, hi = paired_interval(d)
    assert (hi < 0) if sign < 0 else (lo > 0), f"{why}: high - low = [{lo:.4g}, {hi:.4g}]"
