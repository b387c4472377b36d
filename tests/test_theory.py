"""The model's directions: Morgan-Hunt's thirteen paths and each mechanism's intended effect.

Unit-level checks vary one input of the KMV functions with all else fixed.
Model-level claims compare seeded replicates: the mean over R replicates of
a time-averaged KPI (second half of the run) must differ in the stated
direction by more than a stated margin; replicate i of both arms shares its
seed (common random numbers).
"""

import numpy as np
import pytest

from sim import ClusterModel, Scenario, run_one
from sim.state import ClusterState
from sim.submodels import trust as kmv

# ----------------------------------------------------------------------------- unit level: the 13 paths


def one_edge_state(**node):
    """Two actors joined by one edge, with chosen antecedents."""
    st = ClusterState(node_capacity=2, edge_capacity=1, values_dim=3, inbox_slots=1)
    st.add_nodes(2)
    st.active[:2] = True
    st.capacity[:2] = 1.0
    st.add_edges(np.array([0]), np.array([1]), 0.5)
    for k, v in node.items():
        getattr(st, k)[:2] = v
    return st


def trust_target(sv=0.5, comm=0.5, opp=0.1):
    st = one_edge_state()
    # value profiles 1 - sv apart in every dimension: SV_u = 1 - |v_a - v_b| = sv
    st.values[0] = 0.0
    st.values[1] = 1.0 - sv
    st.comm[:2] = comm
    st.opp[:2] = opp
    p = Scenario()
    before = st.trust[0]
    kmv.update_trust(st, np.array([True, True]), p)
    return st.trust[0] - before


def commitment_change(tc=0.3, rb=0.3, sv=0.5, tr=0.5):
    st = one_edge_state(termination_costs=tc, relationship_benefits=rb, shared_values=sv, mean_trust=tr, commitment=0.5)
    kmv.update_commitment(st, np.zeros(2), Scenario())
    return st.commitment[0] - 0.5


@pytest.mark.parametrize(
    "path,low,high",
    [
        ("shared values -> trust (+)", lambda: trust_target(sv=0.2), lambda: trust_target(sv=0.9)),
        ("communication -> trust (+)", lambda: trust_target(comm=0.1), lambda: trust_target(comm=0.9)),
        ("opportunism -> trust (-)", lambda: trust_target(opp=0.8), lambda: trust_target(opp=0.05)),
        ("termination costs -> commitment (+)", lambda: commitment_change(tc=0.1), lambda: commitment_change(tc=0.9)),
        ("relationship benefits -> commitment (+)", lambda: commitment_change(rb=0.1), lambda: commitment_change(rb=0.9)),
        ("shared values -> commitment (+)", lambda: commitment_change(sv=0.1), lambda: commitment_change(sv=0.9)),
        ("trust -> commitment (+)", lambda: commitment_change(tr=0.1), lambda: commitment_change(tr=0.9)),
    ],
)
def test_antecedent_paths(path, low, high):
    assert high() > low(), path


def outcomes(commitment=0.5, tr=0.5, **antecedents):
    st = one_edge_state(commitment=commitment, mean_trust=tr, **antecedents)
    kmv.update_outcomes(st)
    return {k: float(getattr(st, k)[0]) for k in ("acquiescence", "propensity_to_leave", "functional_conflict", "decision_uncertainty")}


def test_outcome_paths():
    lo_c, hi_c = outcomes(commitment=0.2), outcomes(commitment=0.8)
    assert hi_c["acquiescence"] > lo_c["acquiescence"]  # commitment -> acquiescence (+)
    assert hi_c["propensity_to_leave"] < lo_c["propensity_to_leave"]  # commitment -> propensity to leave (-)
    lo_t, hi_t = outcomes(tr=0.2), outcomes(tr=0.8)
    assert hi_t["functional_conflict"] > lo_t["functional_conflict"]  # trust -> functional conflict (+)
    assert hi_t["decision_uncertainty"] < lo_t["decision_uncertainty"]  # trust -> uncertainty (-)


def test_outcomes_are_mediated():
    """Antecedents change nothing in the outcomes while trust and commitment stay fixed."""
    a = outcomes(termination_costs=0.0, relationship_benefits=0.0, shared_values=0.0, communication=0.0, opportunistic_behaviour=1.0)
    b = outcomes(termination_costs=1.0, relationship_benefits=1.0, shared_values=1.0, communication=1.0, opportunistic_behaviour=0.0)
    assert a == b


def test_cooperation_rises_with_trust_and_commitment():
    from sim.submodels.decision import decide

    p = Scenario()
    probs = {}
    for label, c, t in (("low", 0.2, 0.2), ("commit", 0.8, 0.2), ("trust", 0.2, 0.8)):
        st = one_edge_state(commitment=c, mean_trust=t, disposition=0.5)
        none = np.zeros(2, dtype=bool)
        decide(st, np.array([True, True]), none, np.zeros(2, np.int64), np.ones(1, np.int64), np.zeros(2, np.int64), np.zeros(2), p,
               np.random.default_rng(0))
        probs[label] = st.propensity_to_cooperate[0]
    assert probs["commit"] > probs["low"] and probs["trust"] > probs["low"]


# ----------------------------------------------------------------------------- model level, over replicates

R = 6  # replicates per arm
STEPS = 40


def arm(over, kpi, n=120):
    base = {"structure.n_firms": n, "run.steps": STEPS}
    s = Scenario().with_overrides({**base, **over})
    vals = [run_one(s, seed)[kpi].iloc[STEPS // 2 :].mean() for seed in range(R)]
    return float(np.mean(vals))


def test_regulation_lowers_free_riding():
    on = arm({}, "free_rider_share")
    off = arm({"mechanisms.regulation.enabled": False}, "free_rider_share")
    assert off - on > 0.05, (on, off)  # tolerance: at least 5 points of members


def test_digitalization_lowers_information_lost_and_raises_communication():
    lo = Scenario().with_overrides({"information.digitalization": 0.0, "structure.n_firms": 120, "run.steps": STEPS})
    hi = lo.with_overrides({"information.digitalization": 1.0})
    frac = lambda s, seed: (lambda d: d["info_lost"].sum() / d["info_sent"].sum())(run_one(s, seed))  # noqa: E731
    lost_lo = np.mean([frac(lo, i) for i in range(R)])
    lost_hi = np.mean([frac(hi, i) for i in range(R)])
    assert lost_lo - lost_hi > 0.1, (lost_lo, lost_hi)
    assert arm({"information.digitalization": 1.0}, "communication") > arm({"information.digitalization": 0.0}, "communication") + 0.02


def test_contract_enforcement_lowers_breaches_per_contract():
    def rate(enf):
        s = Scenario().with_overrides({"structure.n_firms": 120, "run.steps": STEPS, "mechanisms.contract.enforcement_prob": enf})
        out = []
        for seed in range(R):
            d = run_one(s, seed)
            out.append(d["contract_breaches"].sum() / max(1, d["contracts_active"].sum()))
        return np.mean(out)

    assert rate(0.0) - rate(0.9) > 0.02


def test_proportional_sharing_lowers_free_riding_without_regulation():
    off = {"mechanisms.regulation.enabled": False}
    equal = arm({**off, "mechanisms.function_interest.sharing": "equal"}, "free_rider_share")
    prop = arm({**off, "mechanisms.function_interest.sharing": "proportional"}, "free_rider_share")
    assert equal - prop > 0.05, (equal, prop)


def test_culture_raises_shared_values_and_trust():
    weak = {"mechanisms.regulation.culture_strength": 0.0, "internal_marketing.promotion": 0.0}
    strong = {"mechanisms.regulation.culture_strength": 0.3, "internal_marketing.promotion": 1.0}
    assert arm(strong, "shared_values") > arm(weak, "shared_values") + 0.02
    assert arm(strong, "mean_trust") > arm(weak, "mean_trust")


def test_brand_decays_without_contributions():
    s = Scenario().with_overrides({"structure.n_firms": 80, "mechanisms.function_interest.enabled": False, "mechanisms.regulation.enabled": False})
    m = ClusterModel(s, rng=1)
    m.market.brand[:] = 0.8
    m.run_for(20)
    assert m.kpis()["brand_equity"].iloc[-1] < 0.8 * (1 - s.market.brand_decay) ** 10


# ----------------------------------------------------------------------------- validation mode


def test_validation_mode_scale_free_beats_regular():
    """Santos & Pacheco (2005): at b = 1.6, <k> = 4, BA graphs keep far more cooperators than regular ones."""

    def coop(generator):
        s = Scenario().with_overrides({
            "validation.kind": "pd_imitation", "validation.b": 1.6, "structure.generator": generator,
            "structure.n_firms": 1000, "structure.mean_degree": 4,
        })
        return np.mean([run_one(s, seed, steps=600)["cooperation_rate"].iloc[-100:].mean() for seed in range(4)])

    ba, rr = coop("barabasi_albert"), coop("random_regular")
    assert ba > 0.4 and rr < 0.1 and ba - rr > 0.3, (ba, rr)


def test_validation_game_rule():
    from sim.validation import PDGame

    edges = np.array([[0, 1], [1, 2]])
    g = PDGame(3, edges, b=1.5, rng=np.random.default_rng(0))
    g.coop[:] = [True, True, False]
    from sim.validation import pd_payoffs

    pay = pd_payoffs(g.coop, g.src, g.dst, 1.5, 3)
    assert pay.tolist() == [1.0, 1.0, 1.5]  # C-C earns R=1 each; D next to one C earns b
