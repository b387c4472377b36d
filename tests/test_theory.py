"""The model's directions: each mechanism's intended effect.

Morgan-Hunt's thirteen paths are estimated from runs in test_kmv_paths.py.
Model-level claims compare seeded replicates: the mean over R replicates of
a time-averaged KPI (second half of the run) must differ in the stated
direction by more than a stated margin; replicate i of both arms shares its
seed (common random numbers).
"""

import numpy as np
import pytest

from sim import ClusterModel, Scenario, run_one
from sim.state import ClusterState

# ----------------------------------------------------------------------------- unit level: the decision


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


def test_cooperation_rises_with_trust_and_commitment():
    from sim.submodels.decision import decide

    p = Scenario()
    probs = {}
    for label, c, t in (("low", 0.2, 0.2), ("commit", 0.8, 0.2), ("trust", 0.2, 0.8)):
        st = one_edge_state(commitment=c, mean_trust=t, disposition=0.5)
        none = np.zeros(2, dtype=bool)
        decide(st, np.array([True, True]), none, np.zeros(2, np.int64), (np.zeros(2), np.zeros(2)), p,
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
