"""Behaviour behind the levers: the decision scaled to the stakes, the choice to end a contract after a breach,
the Morgan-Hunt outcomes that act (conflict, uncertainty, acquiescence), stale news and the association's monitoring
by reputation.

The first tests check one rule on hand-made inputs; the last ones are claims about the model over 12 paired
seeds (replicate i of both arms shares its seed), judged by the 95 % t-interval of the paired differences.
"""

import numpy as np
import pytest

from sim import ClusterModel, Scenario
from sim.state import ClusterState
from tests.conftest import mean_interval


def star_state(n_partners: int, **node) -> ClusterState:
    """Firm 0 linked to ``n_partners`` firms, all active, capacity 1."""
    n = n_partners + 1
    st = ClusterState(node_capacity=n, edge_capacity=n_partners, values_dim=3, inbox_slots=1)
    st.add_nodes(n)
    st.active[:n] = True
    st.capacity[:n] = 1.0
    st.add_edges(np.zeros(n_partners, np.int64), np.arange(1, n), 0.5)
    for k, v in node.items():
        getattr(st, k)[:n] = v
    return st


def propensity(contracts: int, **levers) -> float:
    """Firm 0's propensity to cooperate with ``contracts`` live contracts, not a member."""
    from sim.submodels.decision import decide

    p = Scenario().with_overrides({f"mechanisms.contract.{k}": v for k, v in levers.items()})
    st = star_state(1, commitment=0.5, mean_trust=0.6, disposition=0.5, functional_conflict=0.7, decision_uncertainty=0.2)
    none = np.zeros(2, dtype=bool)
    decide(st, np.array([True, True]), none, np.array([contracts, 0]), (np.zeros(2), np.zeros(2)), p,
           np.random.default_rng(0))
    return float(st.propensity_to_cooperate[0])


@pytest.mark.parametrize("contracts", [1, 5])
def test_contract_levers_move_the_decision_however_many_contracts(contracts):
    """No term saturates: penalty and gain move cooperation with one contract or five alike (enforcement: see
    ``test_enforcement_deters_contract_holders_however_many_suppliers``)."""
    assert propensity(contracts, breach_penalty=2.0) - propensity(contracts, breach_penalty=0.0) > 0.1
    assert propensity(contracts, breach_gain=0.5) - propensity(contracts, breach_gain=0.1) < -0.1
    # the number of contracts alone does not change the ratio of gain to stakes
    assert propensity(5) == pytest.approx(propensity(1), abs=1e-12)


def breach_ends(trust_in_breacher: float, conflict: float, n: int = 4000) -> float:
    """Share of contracts the wronged partner ends after catching a breach (enforcement 1)."""
    from sim.submodels.contract import contract_pass

    st = star_state(n, cooperating=True, reputation=1.0, functional_conflict=conflict)
    st.cooperating[0] = False  # firm 0 breaches every contract; each partner catches it
    e = st.n_edges
    st.contract_left[:e] = 6
    st.trust[1 : 2 * e : 2] = trust_in_breacher  # 2u + 1: the partner ub observes firm 0
    c = Scenario().mechanisms.contract
    n_nodes = st.n_nodes
    contract_pass(st.ua[:e], st.ub[:e], np.ones(e, bool), st.contract_left[:e], st.cooperating[:n_nodes],
                  st.trust[: 2 * e], st.product_group[:n_nodes], st.kind[:n_nodes], st.reputation[:n_nodes], np.ones(e),
                  np.random.default_rng(1).random(e), 0.1, c.breach_gain, c.breach_penalty, c.transaction_cost, 1.0,
                  c.duration, c.renewal_slope, c.renewal_threshold, c.formation_rate, 0.0, 0.0,
                  np.zeros(n_nodes), np.zeros(n_nodes), np.zeros(n_nodes, bool), 0.3, st.opp[: 2 * e],
                  st.functional_conflict[:n_nodes], st.decision_uncertainty[:n_nodes], 0.5)
    return float((st.contract_left[:e] == 0).mean())


def test_a_wronged_partner_ends_a_contract_by_trust_and_conflict():
    """Distrust ends the relationship; trust or functional conflict resolves the dispute instead."""
    distrust, trusting, conflict = breach_ends(0.1, 0.0), breach_ends(0.9, 0.0), breach_ends(0.1, 1.0)
    assert distrust > 0.9 and trusting < 0.1 and conflict == 0.0


def test_members_pay_dues_as_they_acquiesce():
    from sim.submodels.regulation import regulation_pass

    n = 4000
    paid = {}
    for acq in (0.2, 0.8):
        members = np.ones(n, bool)
        cash, each = np.zeros(n), np.full(n, -1.0)
        dues, fines, _ = regulation_pass(members, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int64), np.ones(n),
                                         1.0, 0.5, 0.3, 0.9, 5.0, np.zeros(1), np.ones(n), np.zeros(n), cash,
                                         np.empty(n, np.int64), np.random.default_rng(2).random(n), np.full(n, acq), 0.0, 2.0, each)
        paid[acq] = dues / n
        assert fines == 0.0  # nobody is monitored
        # each firm's record is what left its cash: all its dues or nothing
        assert np.isin(each, (0.0, 1.0)).all() and each.sum() == pytest.approx(dues) and np.allclose(cash, -each)
    assert paid[0.2] == pytest.approx(0.2, abs=0.03) and paid[0.8] == pytest.approx(0.8, abs=0.03)


def test_a_relayed_message_tells_what_its_sender_did_when_it_sent_it():
    """Late news is stale: a report relayed with delay 3 tells the sender's conduct of the step it was sent."""
    from sim.submodels import information

    over = {"structure.n_firms": 40, "information.digitalization": 0.0, "information.relay_delay": 3, "information.cdc_share": 1.0,
            "information.relay_loss": 0.0, "information.message_rate": 1.0, "internal_marketing.place": 0.5}
    m = ClusterModel(Scenario().with_overrides(over), rng=1)
    st = m.state
    n = st.n_nodes
    masks = st.masks()
    told = []
    for t in range(8):
        st.news[:n] = float(t)  # every sender's news at step t is t
        info = information.exchange_messages(st, masks.alive_d, masks.degree, 100 + t, m.params, m.rng, has_cdc=True)
        told.append(np.unique(info.news[info.reports]))
    assert all(len(x) == 0 for x in told[:3])
    for t in range(3, 8):
        assert told[t].tolist() == [t - 3.0]  # what was true three steps before
    assert np.all(st.staleness[st.firms()] > 0.5)  # every firm hears only old news


# ------------------------------------------------------------------------------------- claims about the model

SEEDS = range(12)
STEPS = 150
BASE = Scenario().with_overrides({"structure.n_firms": 120})


def paired_runs(lever: dict, low: dict, outcome, base: Scenario = Scenario(), steps: int = STEPS) -> np.ndarray:
    """Second-half means of ``outcome`` (a KPI or a function of the KPI frame), high arm minus low arm, per seed."""
    def mean(over, seed):
        model = ClusterModel(base.with_overrides(over), rng=seed)
        model.run_for(steps)
        k = model.kpis().iloc[steps // 2:]
        return float((outcome(k) if callable(outcome) else k[outcome]).mean())
    return np.array([mean(lever, s) - mean(low, s) for s in SEEDS])


def paired(lever: dict, low: dict, outcome) -> np.ndarray:
    """:func:`paired_runs` on the 120-firm base over :data:`STEPS` steps."""
    return paired_runs(lever, low, outcome, BASE)


@pytest.mark.slow
@pytest.mark.parametrize("outcome", ["contracts_active", "cooperation_rate"])
def test_stronger_enforcement_raises_contracts_and_cooperation(outcome):
    """A caught breach no longer ends every contract: enforcement deters breaches and contracts last."""
    lo, hi = mean_interval(paired({"mechanisms.contract.enforcement_prob": 0.9}, {"mechanisms.contract.enforcement_prob": 0.1}, outcome))
    assert lo > 0, (outcome, lo, hi)


def contract_holders(st) -> np.ndarray:
    """``(n_nodes,)`` firms with at least one contract in force on a live link."""
    e = st.n_edges
    on = (st.contract_left[:e] > 0) & st.masks().alive_d[0::2]
    held = np.zeros(st.n_nodes, dtype=bool)
    held[st.ua[:e][on]] = held[st.ub[:e][on]] = True
    return held


def holders_breach_rate(over: dict, seed: int, steps: int = 100) -> float:
    """Share of contract-holding firm-steps in the second half in which the holder broke its contracts (did not
    cooperate); holders are those with a contract in force when the step starts."""
    model = ClusterModel(Scenario().with_overrides(over), rng=seed)
    st, held, broke = model.state, 0, 0
    for t in range(steps):
        h = contract_holders(st)
        model.step()
        if t >= steps // 2:
            h &= st.active[: len(h)]
            held, broke = held + int(h.sum()), broke + int((h & ~st.cooperating[: len(h)]).sum())
    return broke / max(held, 1)


def breach_rate_after_switch(over: dict, enforcement: float, seed: int, at: int = 50) -> float:
    """Share of the firms holding contracts after step ``at`` (enforcement 0.5 until then) that break them in the
    next step, when enforcement has just become ``enforcement``: both arms have the same holders and history."""
    base = Scenario().with_overrides({**over, "mechanisms.contract.enforcement_prob": 0.5})
    switch = {"at": at + 1, "set": {"mechanisms.contract.enforcement_prob": enforcement}}
    model = ClusterModel(Scenario.model_validate({**base.model_dump(), "policy": [switch]}), rng=seed)
    model.run_for(at)
    h = contract_holders(model.state)
    model.step()
    h &= model.state.active[: len(h)]
    return float((~model.state.cooperating[: len(h)][h]).mean())


@pytest.mark.slow
@pytest.mark.parametrize("links", [1, 4])
def test_enforcement_deters_contract_holders_however_many_suppliers(links):
    """Deterrence, not selection: the same contract holders, with the same history, break their contracts less often
    in the step after enforcement turns 0.9 than after it turns 0.1 (no breach has been caught under the new value
    yet, so no breacher's contract has been ended by it), whether buyers keep one supplier or four (and so hold few
    contracts or many): no term of the decision saturates with the number of contracts."""
    small = {"structure.n_firms": 60, "trade.links": links}
    d = np.array([breach_rate_after_switch(small, 0.9, s) - breach_rate_after_switch(small, 0.1, s) for s in SEEDS])
    lo, hi = mean_interval(d)
    assert hi < 0, (links, lo, hi)


@pytest.mark.slow
@pytest.mark.parametrize("links", [1, 4])
def test_enforcement_lowers_the_breach_rate_of_contract_holders(links):
    """Over a run, enforcement 0.9 instead of 0.1 lowers the share of contract-holding firm-steps with a breach
    (per holder: counting per contract, high enforcement would also gain from contracts it multiplies; selection,
    breachers losing their contracts, still acts here, which the switch test above rules out)."""
    small = {"structure.n_firms": 60, "trade.links": links}
    d = np.array([holders_breach_rate({**small, "mechanisms.contract.enforcement_prob": 0.9}, s)
                  - holders_breach_rate({**small, "mechanisms.contract.enforcement_prob": 0.1}, s) for s in SEEDS])
    lo, hi = mean_interval(d)
    assert hi < 0, (links, lo, hi)


def tracking(delay: int, seed: int) -> float:
    """How closely firms' trust follows what their partners did: the correlation, over live firm-firm relationships,
    of the trust an observer holds with the share of the last 12 steps its partner cooperated (steps 61-72)."""
    over = {"structure.n_firms": 60, "information.digitalization": 0.0, "information.cdc_share": 0.8,
            "information.relay_delay": delay}
    model = ClusterModel(Scenario().with_overrides(over), rng=seed)
    model.run_for(60)
    done = np.zeros(model.state.n_nodes)
    for _ in range(12):
        model.step()
        n = model.state.n_nodes
        done = np.concatenate([done, np.zeros(n - len(done))])
        done += model.state.cooperating[:n]
    st = model.state
    e, firms = st.n_edges, st.firm_mask()
    src, dst = st.src(), st.dst()
    ok = st.masks().alive_d & firms[src] & firms[dst]
    return float(np.corrcoef(st.trust[: 2 * e][ok], done[dst[ok]] / 12)[0, 1])


@pytest.mark.slow
def test_late_news_makes_trust_follow_partners_conduct_less_closely():
    """A message tells what its sender did when it sent it: with a relay delay of 8 steps (digitalization 0, 80 %
    of messages relayed) firms act on old news, and their trust tracks what their partners actually did less
    closely than with no delay (12 paired seeds)."""
    d = np.array([tracking(8, s) - tracking(0, s) for s in SEEDS])
    lo, hi = mean_interval(d)
    assert hi < 0, (lo, hi)


def offender_record(over: dict, seed: int, steps: int = STEPS, memory: int = 12) -> dict[str, float]:
    """Second-half conduct of members that offended (exposed free riding or a caught breach) within the last
    ``memory`` steps ("recent offenders") and of the other members: the share of member-steps they did not
    cooperate, and the share of the dues they owed that the association collected (paid, or caught withheld)."""
    from sim.submodels.regulation import dues_rate

    model = ClusterModel(BASE.with_overrides(over), rng=seed)
    st, seen = model.state, {}

    def keep(phase):
        def run(m, ctx):
            phase(m, ctx)
            seen["ctx"] = ctx
        return run
    model.phases = [(name, keep(f) if name == "regulation" else f) for name, f in model.phases]
    last = np.zeros(0, np.int64)  # step of each row's last offence
    totals = np.zeros((2, 3))  # recent offenders, others: member-steps, defections, collected / owed
    owed = np.zeros(2)
    for t in range(steps):
        model.step()
        ctx = seen["ctx"]
        n = ctx.n
        last = np.concatenate([last, np.full(n - len(last), -memory - 1)])
        members = ctx.masks.members[:n]
        recent = members & (t - last[:n] <= memory)
        if t >= steps // 2:
            due = dues_rate(model.params) * st.capacity[:n]
            for row, group in enumerate((recent, members & ~recent)):
                totals[row] += (group.sum(), (group & ~st.cooperating[:n]).sum(), ctx.regulation.paid[group].sum())
                owed[row] += due[group].sum()
        last[:n][ctx.pool.detected[:n] | ctx.contracts.caught[:n]] = t
    return {"recent_defect": totals[0, 1] / totals[0, 0], "other_defect": totals[1, 1] / totals[1, 0],
            "recent_collected": totals[0, 2] / owed[0], "other_collected": totals[1, 2] / owed[1]}


def reputation_effect(over: dict) -> dict[str, tuple[float, float]]:
    """Intervals of :func:`offender_record`'s shares, ``reputation_penalty`` 0.8 minus 0, over 12 paired seeds."""
    key = "mechanisms.regulation.reputation_penalty"
    rows = [(offender_record({**over, key: 0.8}, s), offender_record({**over, key: 0.0}, s)) for s in SEEDS]
    return {k: mean_interval([hi[k] - lo[k] for hi, lo in rows]) for k in rows[0][0]}


@pytest.mark.slow
def test_the_association_watches_members_of_poor_reputation():
    """The association reads reputation: with offences costing reputation (penalty 0.8 instead of 0) its monitoring,
    the same effort on average, moves to the recent offenders: it collects a larger share of the dues they owe
    (withheld dues are caught more often) and a smaller share of the other members' dues."""
    d = reputation_effect({})
    assert d["recent_collected"][0] > 0 and d["other_collected"][1] < 0, d


@pytest.mark.slow
def test_exposed_free_riders_free_ride_less_when_offences_cost_reputation():
    """Deterrence by targeted monitoring: with contracts off (so reputation cannot act through contracts), members
    exposed as free riders in the last 12 steps defect less often when an offence costs them reputation (penalty
    0.8 instead of 0), since they expect the association to watch them more (ODD 7.4, 7.8)."""
    d = reputation_effect({"mechanisms.contract.enabled": False})
    assert d["recent_defect"][1] < 0, d


# ------------------------------------------------------------------------------------- imitation (ODD 7.11)

def moves_per_comparison(n_firms: int, seed: int, steps: int = 30) -> float:
    """Share of the imitators' comparisons in a run that end in a move (the disposition changes)."""
    from sim.submodels import imitation

    counts = [0, 0]
    move = imitation.move_towards

    def counted(who, other, r, payoff, trait, scale, step_size, degree=None):
        before = trait[who].copy()
        move(who, other, r, payoff, trait, scale, step_size, degree)
        counts[0] += len(who)
        counts[1] += int((trait[who] != before).sum())

    imitation.move_towards = counted
    try:
        ClusterModel(Scenario().with_overrides({"structure.n_firms": n_firms}), rng=seed).run_for(steps)
    finally:
        imitation.move_towards = move
    return counts[1] / counts[0]


def test_a_comparison_ends_in_a_move_as_often_in_a_large_cluster_as_in_a_small_one():
    """D is a spread of the payoffs that does not grow with the number of firms: at 600 firms the share of
    comparisons that end in a move stays within a fifth of its share at 60 (both ends of the interval)."""
    small = np.array([moves_per_comparison(60, s) for s in SEEDS])
    large = np.array([moves_per_comparison(600, s) for s in SEEDS])
    lo, hi = mean_interval(large - small)
    assert -0.2 * small.mean() < lo and hi < 0.2 * small.mean(), (small.mean(), large.mean(), lo, hi)


def imitation_effect(base: Scenario, outcome, steps: int = 120) -> tuple[float, float]:
    """Interval of ``outcome(model)`` after ``steps`` steps, imitation 0.8 minus 0.1, over the paired seeds."""
    def run(imitation, seed):
        model = ClusterModel(base.with_overrides({"structure.n_firms": 120, "learning.imitation": imitation}), rng=seed)
        model.run_for(steps)
        return outcome(model)
    return mean_interval([run(0.8, s) - run(0.1, s) for s in SEEDS])


def mean_cooperativeness(model) -> float:
    st = model.state
    firms = st.firms()
    return float(st.disposition[firms[st.active[firms]]].mean())


def late_cooperation(model) -> float:
    k = model.kpis()
    return float(k["cooperation_rate"].iloc[len(k) // 2:].mean())


def test_more_imitation_spreads_cooperativeness_where_cooperating_pays():
    """With the association's fines and contracts (the default), cooperators earn more than defectors: firms that
    compare more often copy the cooperative, and mean cooperativeness rises."""
    lo, hi = imitation_effect(Scenario(), mean_cooperativeness)
    assert lo > 0, (lo, hi)


def test_more_imitation_does_not_raise_cooperation_where_defecting_pays():
    """Joint marketing shared equally, without rules or contracts: free riders earn more, and comparing more often
    does not raise the cooperation rate (the upper end of its interval stays below one point)."""
    over = {"mechanisms.function_interest.sharing": "equal", "mechanisms.regulation.enabled": False,
            "mechanisms.contract.enabled": False}
    lo, hi = imitation_effect(Scenario().with_overrides(over), late_cooperation)
    assert hi < 0.01, (lo, hi)
