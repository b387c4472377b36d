"""The cluster economy: money traced to sales and named flows, a cluster that settles at the size its market
supports, a permanent demand cut that lowers that size, a temporary shock with loss and recovery, leading
firms that enter.

Model-level claims compare seeded runs with common random numbers: replicate i of both arms shares its seed,
and a claim holds when the 95 % t-interval of the paired differences lies on its side.
"""

import numpy as np
import pytest

from sim import ClusterModel, Scenario, load_scenario
from sim.submodels.demography import entry_hurdle
from tests.conftest import paired_interval

#: Named flows into the firms besides sales (positive in, negative out), and what each one is.
FLOWS = {
    "sales", "variable_costs", "energy_costs", "fixed_costs",  # the market
    "pool_contributions",  # members -> their association's joint-marketing pool, which buys marketing outside
    "trade_savings",  # savings on orders under contract net of transaction costs (breach gains and penalties pass between partners)
    "dues_and_fines",  # members -> their association
    "fair_costs",  # members -> the fairs' organizers
    "digitalization",  # firms -> the IT-actor
}


def members_series(scenario: Scenario, seed: int, steps: int) -> np.ndarray:
    model = ClusterModel(scenario, rng=seed)
    model.run_for(steps)
    return model.kpis()["members"].to_numpy(dtype=float)


@pytest.mark.parametrize("overrides", [
    {},
    {"marketing.exhibition": 1.0, "marketing.exhibition_period": 3, "marketing.leading_traction": 0.5,
     "mechanisms.function_interest.sharing": "equal", "marketing.cooperative_rnd": 0.5},
    {"structure.kind": "star"},
    {"mechanisms.function_interest.subsidy": 0.5, "information.digitalization_payer": "public"},
])
def test_every_unit_of_profit_is_traced_to_sales_or_a_named_flow(overrides):
    scenario = Scenario().with_overrides({"structure.n_firms": 80, **overrides})
    model = ClusterModel(scenario, rng=5)
    checked = []

    def check(m, ctx):
        firms = ctx.masks.firms
        profit = float(m.state.profit[: ctx.n][firms].sum())
        assert set(ctx.ledger) <= FLOWS, set(ctx.ledger) - FLOWS
        assert sum(ctx.ledger.values()) == pytest.approx(profit, rel=1e-9, abs=1e-9)
        checked.append(ctx.ledger["sales"])

    phases = list(model.phases)
    at = [name for name, _ in phases].index("market and profit") + 1
    model.phases = tuple(phases[:at] + [("check", check)] + phases[at:])
    model.run_for(40)
    assert len(checked) == 40 and min(checked) > 0


def test_sunk_investment_counts_only_the_dues_a_member_paid():
    """A member that withholds its dues unseen adds nothing through them to its sunk investment."""
    scenario = Scenario().with_overrides({"structure.n_firms": 80, "mechanisms.regulation.monitoring_prob": 0.0})
    model = ClusterModel(scenario, rng=3)
    before, shirkers = {}, []

    def keep(m, ctx):
        before["sunk"] = m.state.sunk[: ctx.n].copy()

    def check(m, ctx):
        st, members, paid = m.state, ctx.masks.members, ctx.regulation.paid
        expected = 0.95 * before["sunk"] + st.contribution[: ctx.n] + paid
        assert np.allclose(st.sunk[: ctx.n], expected)
        assert paid[~members].sum() == 0.0 and paid.sum() == pytest.approx(ctx.regulation.dues)
        shirkers.append(int((members & (paid == 0.0)).sum()))

    phases = list(model.phases)
    at = [name for name, _ in phases].index("market and profit")
    model.phases = tuple(phases[:at] + [("keep", keep), phases[at], ("check", check)] + phases[at + 1:])
    model.run_for(20)
    assert len(shirkers) == 20 and sum(shirkers) > 0  # some members withheld their dues, so the check had teeth


def test_entrants_clear_the_hurdle_and_pay_their_entry_cost():
    scenario = Scenario().with_overrides({"structure.n_firms": 60, "demography.entry_rate": 0.2,
                                          "market.demand": 3.0})  # a large market draws entrants
    model = ClusterModel(scenario, rng=3)
    f, d = scenario.firms, scenario.demography
    entered = 0
    for _ in range(5):
        n0 = model.state.n_nodes
        model.step()
        st = model.state
        new = np.arange(n0, st.n_nodes)
        entered += len(new)
        assert np.allclose(st.resources[new], (f.resources - d.entry_cost) * st.capacity[new])
        assert np.all(st.payoff_ema[new] == entry_hurdle(scenario))
    assert entered > 0
    # with a market too small to pay the hurdle, nobody comes
    small = ClusterModel(scenario.with_overrides({"market.demand": 0.3}), rng=3)
    small.run_for(5)
    assert small.kpis()["entries"].sum() == 0


def test_leading_firms_enter_when_none_are_left():
    scenario = Scenario().with_overrides({"structure.n_firms": 80, "structure.n_leading": 0,
                                          "demography.leading_entry_rate": 0.2})
    model = ClusterModel(scenario, rng=2)
    model.run_for(60)
    assert model.kpis()["leading_firm_members"].iloc[-1] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "star", "chain", "hierarchical", "network"])
def test_the_cluster_settles_at_a_size_set_by_its_market(name):
    """After a warm-up, the number of firms stays within 25 % of its mean in every seed: no explosion, no
    extinction."""
    scenario = load_scenario(f"scenarios/{name}.toml")
    for seed in range(3):
        members = members_series(scenario, seed, 2500)[500:]
        mean = members.mean()
        assert 0.75 * mean <= members.min() and members.max() <= 1.25 * mean, (
            f"{name} seed {seed}: {members.min():.0f}..{members.max():.0f} around {mean:.0f}")
        assert mean > 0.5 * scenario.structure.n_firms


SEEDS = range(12)


@pytest.mark.slow
def test_a_permanent_demand_cut_lowers_the_size_and_a_temporary_shock_is_recovered():
    """Paired seeds: a 30 % cut of demand from step 300 on lowers the number of firms over steps 700-1000
    (by about the cut: the size is proportional to the market at a given price); a 40 % shock over steps
    300-323 loses firms during steps 310-360 and is recovered by steps 700-1000."""
    base = load_scenario("scenarios/baseline.toml", {"run.steps": 1000})  # the timeline keeps events inside the run
    cut = base.with_overrides({"market.shock_step": 300, "market.shock_duration": 100_000, "market.shock_size": -0.3})
    shock = base.with_overrides({"market.shock_step": 300, "market.shock_duration": 24, "market.shock_size": -0.4})
    runs = {k: np.array([members_series(s, seed, 1000) for seed in SEEDS]) for k, s in
            (("base", base), ("cut", cut), ("shock", shock))}
    late, during = slice(700, 1000), slice(310, 360)
    ref = runs["base"][:, late].mean(axis=1)
    lo, hi = paired_interval(runs["cut"][:, late].mean(axis=1) / ref, np.ones(len(ref)))
    assert -0.45 < lo and hi < -0.1, (lo, hi)
    lo, hi = paired_interval(runs["shock"][:, during].mean(axis=1), runs["base"][:, during].mean(axis=1))
    assert hi < 0, (lo, hi)
    lo, hi = paired_interval(runs["shock"][:, late].mean(axis=1) / ref, np.ones(len(ref)))
    assert -0.1 < lo and hi < 0.1, (lo, hi)


# ----------------------------------------------------------------------------- trade between firms


def supplier_links_per_buyer(model) -> float:
    from sim.submodels.trade import supplier_links

    st = model.state
    n, e = st.n_nodes, st.n_edges
    have = np.zeros(n, dtype=np.int64)
    supplier_links(st.ua[:e], st.ub[:e], st.masks().live_ff, st.product_group[:n], st.kind[:n], have)
    buyers = st.firm_mask() & ((st.product_group[:n] > 0) | (st.kind[:n] == 1))
    return float(have[buyers].mean())


@pytest.mark.parametrize("kind", ["star", "chain", "hierarchical", "network"])
def test_firms_trade_under_contract_in_every_structure(kind):
    """The structure is the marketing organization; the trade layer under it exists in every kind."""
    model = ClusterModel(Scenario().with_overrides({"structure.kind": kind, "structure.n_firms": 80}), rng=1)
    assert supplier_links_per_buyer(model) >= 2
    model.run_for(30)
    k = model.kpis()
    assert k["contracts_active"].min() > 0
    assert model.state.masks().live_ff.any()


def test_orders_follow_trust_and_reputation_and_sum_to_the_buyers_inputs():
    from sim.state import ClusterState
    from sim.submodels.trade import orders

    st = ClusterState(node_capacity=3, edge_capacity=2, values_dim=1, inbox_slots=1)
    st.add_nodes(3)
    st.active[:3] = True
    st.capacity[:3] = (2.0, 1.0, 1.0)
    st.product_group[:3] = (1, 0, 0)  # node 0 buys from group 0
    st.reputation[:3] = (1.0, 1.0, 0.5)
    st.add_edges(np.array([0, 0]), np.array([1, 2]), 0.8)
    st.contract_left[:2] = 5
    order = np.empty(2)
    orders(st.ua[:2], st.ub[:2], np.ones(2, bool), st.contract_left[:2], st.product_group[:3], st.kind[:3],
           st.capacity[:3], st.trust[:4], st.reputation[:3], st.volume[:2], np.array([0.9, 1.1]), 0.4, np.zeros(3),
           order)
    assert order.sum() == pytest.approx(0.4 * 2.0 * 0.9)  # the buyer's inputs at its suppliers' price
    assert order[0] == pytest.approx(2 * order[1])  # half the reputation, half the orders
    st.volume[1] = 4.0  # a data cluster's link that carries four times the usual volume
    orders(st.ua[:2], st.ub[:2], np.ones(2, bool), st.contract_left[:2], st.product_group[:3], st.kind[:3],
           st.capacity[:3], st.trust[:4], st.reputation[:3], st.volume[:2], np.array([0.9, 1.1]), 0.4, np.zeros(3),
           order)
    assert order.sum() == pytest.approx(0.4 * 2.0 * 0.9)  # volume shares the inputs out, it does not add any
    assert order[1] == pytest.approx(2 * order[0])


@pytest.mark.slow
def test_partner_search_keeps_the_trade_network_from_thinning_out():
    """Paired seeds: over 600 steps firms leave and enter; with search the buyers keep about their suppliers,
    without it the network thins."""
    base = Scenario().with_overrides({"structure.n_firms": 120})
    on, off = [], []
    for seed in SEEDS:
        for scenario, out in ((base, on), (base.with_overrides({"trade.search_rate": 0.0}), off)):
            model = ClusterModel(scenario, rng=seed)
            model.run_for(600)
            out.append(supplier_links_per_buyer(model))
    lo, hi = paired_interval(on, off)
    assert lo > 0.3, (lo, hi)
    assert np.mean(on) >= 0.8 * base.trade.links


def test_a_dropped_link_is_dead_everywhere():
    from sim.state import ClusterState

    st = ClusterState(node_capacity=3, edge_capacity=2, values_dim=1, inbox_slots=1)
    st.add_nodes(3)
    st.active[:3] = True
    st.add_edges(np.array([0, 0]), np.array([1, 2]), 0.5)
    st.is_ff[:2] = True
    st.contract_left[1] = 4
    assert st.masks().live_ff.tolist() == [True, True]
    indptr, _ = st.ff_csr()
    st.drop_edges(np.array([1]))
    m = st.masks()
    assert m.live_ff.tolist() == [True, False] and m.alive_d.tolist() == [True, True, False, False]
    assert m.degree.tolist() == [1.0, 1.0, 0.0] and st.edge_alive().tolist() == [True, False]
    assert st.contract_left[1] == 0  # the contract on it is void
    st._csr_wait = st.CSR_MAX_WAIT  # force the rebuild the dropped link waits for
    indptr, nbr = st.ff_csr()
    assert nbr[indptr[0]:indptr[1]].tolist() == [1]


def test_compacting_keeps_every_live_edge_with_its_values_in_order():
    from sim.state import ClusterState

    st = ClusterState(node_capacity=5, edge_capacity=4, values_dim=1, inbox_slots=2)
    st.add_nodes(5)
    st.active[:5] = True
    st.add_edges(np.array([0, 0, 1, 2, 3]), np.array([1, 2, 3, 4, 4]), 0.5)
    st.trust[:10] = np.arange(10) / 10
    st.contract_left[:5] = [1, 2, 3, 4, 5]
    st.inbox[1, :10] = np.arange(10) % 3
    st.inbox_news[1, :10] = np.arange(10)
    assert st.compact_edges() is None  # nothing dead yet
    st.drop_edges(np.array([0, 2]))
    st.active[4] = False  # edges 3 and 4 die with it: 4 of 5 edges are dead
    kept = st.compact_edges()
    assert kept.tolist() == [1] and st.n_edges == 1
    assert (st.ua[0], st.ub[0], st.contract_left[0]) == (0, 2, 2) and st.trust[:2].tolist() == [0.2, 0.3]
    assert st.inbox[1, :2].tolist() == [2, 0] and st.inbox_news[1, :2].tolist() == [2.0, 3.0]
    assert not st.trust[2:10].any() and not st.contract_left[1:5].any() and not st.dropped[:5].any()
    m = st.masks()
    assert m.alive_d.tolist() == [True, True] and m.degree.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]


def test_the_edge_arrays_stay_within_twice_the_live_edges():
    """Links are dropped and firms leave all along; the edges the state holds stay within twice the live ones."""
    model = ClusterModel(Scenario().with_overrides({"structure.n_firms": 60, "trade.drop_after": 6}), rng=2)
    held, live, dead = [], [], []

    def count(m, ctx):
        alive = m.state.edge_alive()
        held.append(len(alive))
        live.append(int(alive.sum()))
        dead.append(m.state.n_dropped)

    model.phases = (("count", count), *model.phases)
    model.run_for(300)
    assert max(h / max(k, 1) for h, k in zip(held, live)) <= 2.0
    assert dead[-1] > 2 * live[-1]  # without compaction the dropped links alone would break the bound


def test_buyers_drop_only_searched_for_links_that_went_idle():
    from sim.submodels.trade import links_to_drop

    # buyer 0 on every link (group 1 buys from group 0); links: 0 idle for long, 1 under contract after a long
    # idle spell, 2 idle and just at the limit, 3 the structure's (idle for long), 4 young
    n_e = 5
    buyer = np.zeros(n_e, dtype=np.int64)
    ua, ub = np.zeros(n_e, dtype=np.int32), np.arange(1, n_e + 1, dtype=np.int32)
    by_trade = np.array([True, True, True, False, True])
    left = np.array([0, 5, 0, 0, 0], dtype=np.int32)
    idle = np.array([30, 30, 23, 40, 2], dtype=np.int32)
    out = np.empty(n_e, dtype=np.int64)
    have = np.zeros(n_e + 1, dtype=np.int64)
    k = links_to_drop(buyer, by_trade, ua, ub, np.ones(n_e + 1, bool), np.zeros(n_e, bool), left, idle, 24, out, have)
    assert out[:k].tolist() == [0, 2]
    assert have[0] == 3  # the links it keeps: 1, 3 and 4
    assert idle.tolist() == [31, 0, 24, 40, 3]  # aged, except the contracted one and the structure's
    k = links_to_drop(buyer, by_trade, ua, ub, np.ones(n_e + 1, bool), np.zeros(n_e, bool), left, idle, 0, out,
                      np.zeros(n_e + 1, dtype=np.int64))
    assert k == 0  # drop_after 0: nothing is dropped


@pytest.mark.slow
def test_trade_links_are_dropped_and_found_all_along_and_the_layer_settles():
    """Paired seeds, 1,000 steps: buyers drop links and find new ones throughout; the supplier links per buyer
    over steps 700-1,000 stay within 15 % of steps 400-700 (no growth, no collapse) and above half of
    ``trade.links``."""
    base = Scenario().with_overrides({"structure.n_firms": 120})
    mid, late, late_drops = [], [], []
    for seed in SEEDS:
        model = ClusterModel(base, rng=seed)
        degree, dropped = [], []
        for _ in range(20):
            model.run_for(50)
            degree.append(supplier_links_per_buyer(model))
            dropped.append(model.state.n_dropped)
        mid.append(np.mean(degree[8:14]))
        late.append(np.mean(degree[14:]))
        late_drops.append(dropped[-1] - dropped[13])
    lo, hi = paired_interval(np.array(late) / np.array(mid), np.ones(len(mid)))
    assert -0.15 < lo and hi < 0.15, (lo, hi)
    assert min(late_drops) > 0
    assert np.mean(late) >= 0.5 * base.trade.links


def contracts_and_suppliers(scenario: Scenario, seed: int, steps: int = 300) -> tuple[float, float]:
    """Contracts in force (second-half mean) and supplier links per buyer at the end."""
    model = ClusterModel(scenario, rng=seed)
    model.run_for(steps)
    return float(model.kpis()["contracts_active"].iloc[steps // 2:].mean()), supplier_links_per_buyer(model)


@pytest.mark.slow
def test_dropping_idle_links_early_costs_suppliers_and_contracts():
    """Paired seeds: a buyer that drops a searched-for link after 12 steps without a contract (against never)
    keeps fewer suppliers and has fewer contracts in force: a new link signs no sooner than the one dropped."""
    base = Scenario().with_overrides({"structure.n_firms": 120})
    early = [contracts_and_suppliers(base.with_overrides({"trade.drop_after": 12}), s) for s in SEEDS]
    never = [contracts_and_suppliers(base.with_overrides({"trade.drop_after": 0}), s) for s in SEEDS]
    lo, hi = paired_interval([x[0] for x in early], [x[0] for x in never])
    assert hi < 0, ("contracts", lo, hi)
    lo, hi = paired_interval([x[1] for x in early], [x[1] for x in never])
    assert hi < 0, ("suppliers per buyer", lo, hi)
