"""Joint marketing that sells: the function-interest pool buys marketing whose returns come through the market.

Model-level claims compare seeded runs with common random numbers (replicate i of every arm shares its seed)
and hold when the 95 % t-interval of the paired differences lies on their side.
"""

import math

import numpy as np
import pytest

from sim import ClusterModel, Scenario, load_scenario
from sim.submodels.function_interest import build_stock, expected_gain
from tests.conftest import paired_interval

SEEDS = range(12)
STEPS = 120


def test_the_product_brand_grows_by_the_marketing_bought_and_decays_without_it():
    firms = np.array([True, True, False])
    cap = np.array([1.0, 2.0, 1.0])
    stock = np.array([0.5, 0.5, 0.5])
    build_stock(firms, cap, np.array([0.1, 0.0, 0.1]), 1.6, 0.05, stock)
    kept = 0.5 * 0.95
    assert stock[0] == pytest.approx(kept + (1 - kept) * (1 - math.exp(-0.16)))
    assert stock[1] == pytest.approx(kept)  # nothing bought: it decays
    assert stock[2] == 0.0  # not a firm


def test_a_contribution_is_worth_its_price_under_proportional_sharing_and_not_under_equal():
    """At the start (no product brand yet, price 1) a member's own contribution buys marketing worth more than it
    costs when the pool spends it on the member; shared equally among 200, it does not."""
    def gains(sharing: str) -> np.ndarray:
        p = Scenario().with_overrides({"mechanisms.function_interest.sharing": sharing})
        model = ClusterModel(p, rng=1)
        m = model.state.masks()
        ret, _ = expected_gain(model.state, m.members, m.member_assoc, m.assoc_members, model.market.price, p)
        cost = p.mechanisms.function_interest.contribution * model.state.capacity[: len(ret)]
        return (ret - cost)[m.members]

    assert (gains("proportional") > 0).all()
    assert (gains("equal") < 0).all()


def run(scenario: Scenario, seed: int) -> dict[str, float]:
    """Second-half means of the cluster KPIs, and the slope of members' mean payoff on how often they contributed
    (members present through the whole second half)."""
    model = ClusterModel(scenario, rng=seed)
    half = STEPS // 2
    model.run_for(half)
    n0 = model.state.n_nodes
    contributed, payoff, stayed = np.zeros(n0), np.zeros(n0), np.ones(n0, dtype=bool)
    for _ in range(STEPS - half):
        model.step()
        st = model.state
        stayed &= st.firm_mask()[:n0] & (st.assoc_of[:n0] >= 0)
        contributed += st.cooperating[:n0]
        payoff += st.payoff[:n0]
    k = model.kpis().iloc[half:]
    slope = np.polyfit(contributed[stayed] / (STEPS - half), payoff[stayed] / (STEPS - half), 1)[0]
    return {"cooperation": float(k["cooperation_rate"].mean()), "profit": float(k["profit"].mean()), "slope": slope}


@pytest.mark.slow
def test_joint_marketing_alone_sustains_cooperation_when_its_returns_follow_contributions():
    """Function-interest alone (no regulation, no contracts), paired seeds: under proportional sharing the pool's
    marketing sustains cooperation (most members contribute; far more than under equal sharing, than with a pool
    whose product marketing buys nothing, or than without the pool) and the members' profit is higher than without
    the pool. Contributing pays: a member that always contributes earns more per unit capacity than one that never
    does. (Under equal sharing almost nobody contributes, so the same slope cannot be estimated there.)"""
    prop = load_scenario("scenarios/fi_proportional.toml")
    arms = {"prop": prop, "equal": load_scenario("scenarios/fi_equal.toml"),
            "idle": prop.with_overrides({"mechanisms.function_interest.multiplier": 0.0}),
            "none": prop.with_overrides({"mechanisms.function_interest.enabled": False})}
    res = {a: [run(s, seed) for seed in SEEDS] for a, s in arms.items()}
    col = {a: {k: np.array([r[k] for r in rs]) for k in rs[0]} for a, rs in res.items()}
    assert col["prop"]["cooperation"].mean() > 0.5
    for other in ("equal", "idle", "none"):
        lo, _ = paired_interval(col["prop"]["cooperation"], col[other]["cooperation"])
        assert lo > 0.3, (other, lo)
    lo, hi = paired_interval(col["prop"]["profit"], col["none"]["profit"])
    assert lo > 0, (lo, hi)
    lo, hi = paired_interval(col["prop"]["slope"], np.zeros(len(SEEDS)))
    assert lo > 0, ("contributing pays", lo, hi)
