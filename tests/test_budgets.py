"""Who pays: the public, association and firm budgets, what digitalization costs, and the brand aspects' effects.

Model-level claims compare seeded runs with common random numbers (replicate i of both arms shares its seed)
and hold when the 95 % t-interval of the paired differences lies on their side.
"""

import numpy as np
import pytest

from sim import ClusterModel, Scenario, kpis
from sim.state import ClusterState
from sim.submodels.market import Market
from tests.conftest import paired_interval

SMALL = Scenario().with_overrides({"structure.n_firms": 60})


def test_each_budget_has_one_spending_kpi_in_money_per_step():
    for payer in kpis.PAYERS:
        name = kpis.spending_of(payer)
        k = kpis.kpi(name)
        assert k.cost and k.unit == "MU per step" and k.payer == payer
    assert kpis.public_spending_kpi() == "public_spending"
    assert kpis.kpi("public_spending_cumulative").unit == "MU"
    with pytest.raises(KeyError):
        kpis.spending_of("nobody")


@pytest.mark.parametrize("payer", ["members", "public"])
def test_public_funds_pay_the_subsidy_and_the_cdc_when_it_is_theirs(payer):
    s = SMALL.with_overrides({"mechanisms.function_interest.subsidy": 0.5, "information.digitalization_payer": payer})
    model = ClusterModel(s, rng=4)
    model.run_for(20)
    k = model.kpis()
    it = k["digitalization_cost"]
    assert it.min() > 0 and k["public_good_in"].min() > 0
    public_it = it if payer == "public" else 0.0
    assert np.allclose(k["public_spending"], 0.5 * k["public_good_in"] + public_it)
    assert np.allclose(k["public_spending_cumulative"], k["public_spending"].cumsum())
    assert np.allclose(k["public_good_out"], 1.5 * k["public_good_in"])
    dues_it = it if payer == "members" else 0.0
    assert (k["association_spending"] >= dues_it - 1e-12).all()
    # the firms pay their marketing (contributions, dues, fees, fairs), the IT-actor's dues, fines and transaction costs
    assert (k["firm_spending"] >= k["marketing_spend"] + dues_it - 1e-9).all()


def test_whoever_pays_the_it_actor_the_firms_profit_differs_by_its_price():
    """Same seed, the first step: the runs differ only in who pays, so the firms' profit differs by the cost."""
    members = ClusterModel(SMALL.with_overrides({"information.digitalization": 0.8}), rng=2)
    public = ClusterModel(SMALL.with_overrides({"information.digitalization": 0.8,
                                                "information.digitalization_payer": "public"}), rng=2)
    members.step()
    public.step()
    a, b = members.kpis().iloc[0], public.kpis().iloc[0]
    assert a["digitalization_cost"] == pytest.approx(0.03 * 0.8 * 60)
    assert b["profit"] - a["profit"] == pytest.approx(a["digitalization_cost"])
    assert b["public_spending"] == pytest.approx(a["digitalization_cost"]) and a["public_spending"] == 0


#: Paired seeds: the subsidy's profit gain is about as large as its spread between seeds, so a dozen seeds can
#: leave its interval touching 0; the runs are short enough to afford two dozen.
SEEDS = range(24)


def _second_half(scenario: Scenario, seed: int, steps: int) -> dict[str, float]:
    model = ClusterModel(scenario, rng=seed)
    model.run_for(steps)
    return model.kpis().iloc[steps // 2:].mean().to_dict()


@pytest.mark.slow
def test_digitalization_has_a_price_and_a_marketing_subsidy_buys_marketing():
    """Paired seeds, second halves of 150 steps: when the members pay the IT-actor through their dues, the firms
    spend more and the cluster supports fewer firms than when public funds pay it (entry competes the profit per
    firm back to the outside option, so the price shows in the size); a public match of the pool buys brand,
    firms and profit, at a public cost that the public-spending KPI counts."""
    base = Scenario().with_overrides({"structure.n_firms": 120, "information.digitalization": 1.0,
                                      "information.digitalization_cost": 0.1})
    public = base.with_overrides({"information.digitalization_payer": "public"})
    subsidy = base.with_overrides({"mechanisms.function_interest.subsidy": 1.0})
    runs = {name: [_second_half(s, seed, 150) for seed in SEEDS] for name, s in
            (("base", base), ("public", public), ("subsidy", subsidy))}
    col = {name: {k: np.array([r[k] for r in rs]) for k in rs[0]} for name, rs in runs.items()}
    lo, hi = paired_interval(col["public"]["members"], col["base"]["members"])
    assert lo > 0, ("the IT-actor's price bites where the members pay it", lo, hi)
    lo, hi = paired_interval(col["public"]["firm_spending"], col["base"]["firm_spending"])
    assert hi < 0, (lo, hi)
    assert col["base"]["public_spending"].max() == 0 and col["public"]["public_spending"].min() > 0
    for kpi in ("brand_equity", "members", "profit"):
        lo, hi = paired_interval(col["subsidy"][kpi], col["base"][kpi])
        assert lo > 0, (kpi, lo, hi)
    assert np.allclose(col["subsidy"]["public_spending"], col["subsidy"]["public_good_in"])


# ----------------------------------------------------------------------------- the brand aspects


def two_members(energy=(1.0, 1.0), members=(True, True)) -> ClusterState:
    st = ClusterState(node_capacity=2, edge_capacity=1, values_dim=1, inbox_slots=1)
    st.add_nodes(2)
    st.active[:2] = True
    st.capacity[:2] = 1.0
    st.energy_intensity[:2] = energy
    st.assoc_of[:2] = np.where(members, 0, -1)
    return st


def revenue_with(aspects, st, members=(True, True), pressure=0.0) -> tuple[np.ndarray, float]:
    p = Scenario().with_overrides({"firms.n_product_groups": 1, "market.competitor_pressure": pressure})
    market = Market(p, np.array([2.0]))
    market.brand = np.array(aspects, dtype=float)
    demand = market.demand(1)
    firms = np.ones(2, dtype=bool)
    rev, _ = market.revenue(st, firms, np.array(members), np.zeros(2), np.zeros(2, dtype=bool), 1.0)
    return rev, demand


def test_the_technological_aspect_is_a_premium_for_members_only():
    st = two_members(members=(True, False))
    before, _ = revenue_with((0, 0, 0, 0), st, members=(True, False))
    after, _ = revenue_with((1, 0, 0, 0), st, members=(True, False))
    assert after[0] > before[0] and after[1] < before[1]  # the member gains, the non-member loses buyers to it


def test_the_energy_aspect_pays_a_member_as_far_as_its_own_energy_use_is_low():
    st = two_members(energy=(0.5, 1.6))
    rev, _ = revenue_with((0, 0, 0, 1), st)
    base, _ = revenue_with((0, 0, 0, 0), st)
    assert rev[0] / base[0] == pytest.approx(1.25 * (rev[1] / base[1]))  # lift 0.5 * 0.5 for the efficient, 0 above 1.5
    # a firm at the initial mean energy use gets half of the efficient firm's premium
    mid = two_members(energy=(0.5, 1.0))
    rev, _ = revenue_with((0, 0, 0, 1), mid)
    assert rev[0] / rev[1] == pytest.approx(1.25 / 1.125)


def test_the_economic_aspect_draws_buyers_and_the_social_aspect_keeps_them_from_competitors():
    st = two_members()
    _, plain = revenue_with((0, 0, 0, 0), st)
    _, econ = revenue_with((0, 1, 0, 0), st)
    assert econ == pytest.approx(plain * 1.25)
    _, social = revenue_with((0, 0, 1, 0), st)
    assert social == pytest.approx(plain)  # without outside competitors there is nothing to keep
    _, lost = revenue_with((0, 0, 0, 0), st, pressure=0.4)
    _, kept = revenue_with((0, 0, 1, 0), st, pressure=0.4)
    assert lost == pytest.approx(plain * 0.6) and kept == pytest.approx(plain * 0.8)
