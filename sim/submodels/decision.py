"""The cooperation decision (ODD 7.4): the KMV outcome "cooperation", mediated by trust and commitment,
plus the incentives the mechanisms create, scaled to what the firm has at stake.

Firm i cooperates (contributes to joint marketing and honours its contracts)
this step with probability::

    cooperation_i = sigma(bias + w_c C_i + w_t T_i + w_d disposition_i + w_inc gain_i / stakes_i)

``gain_i`` is the expected money gain of cooperating over defecting and
``stakes_i`` the money the choice moves either way (each flow's absolute
size), so ``gain_i / stakes_i`` lies in [-1, 1] and no single mechanism's
term saturates: a term's weight is its share of the firm's stakes, and a
lever moves the ratio all along its range. With ``c_i = contribution cap_i``,
``S_i = sanction cap_i``, ``R_i`` and ``L_i`` what the marketing the pool
buys with i's contribution is worth to i and what an exposed free rider
loses (``function_interest.expected_gain``), ``k_i`` its live contracts, ``o_i = input_share cap_i`` the
order a contract carries (a firm's own capacity stands for its orders),
``DU_i`` its decision uncertainty and ``FC_i`` its functional conflict::

    p_detect_i = 1 - (1 - M_i)(1 - reputation_detection exposure_i)
    pool:      gain += ret_i - c_i + kept_i,        stakes += ret_i + c_i + kept_i   [pool on, member]
               proportional: ret_i = R_i,  kept_i = 0
               equal:        ret_i = K_i R_i,  kept_i = K_i p_detect_i L_i
               K_i = 1 - CAUTION DU_i
    pool fine: gain += p_detect_i S_i,              stakes += the same            [pool and regulation on, member]
    contracts: gain += k_i o_i (loss_i - breach_gain), stakes += k_i o_i (loss_i + breach_gain)   [contracts on]
               loss_i = enforcement_prob (breach_penalty + end_i saving/2 duration/2)
               end_i  = (1 - FC_i) sigma(renewal_slope (renewal_threshold - T_i))
    breach fine: gain += enforcement_prob S_i,      stakes += the same           [regulation on, member, k_i >= 1]

``M_i`` is the association's monitoring of i, targeted at members of poor
reputation (``regulation.audit_prob``; 0 without regulation): a firm with a
record expects to be watched more. ``end_i`` is the chance the firm expects
a partner to end a contract after catching a breach, judged by its own trust and conflict as a stand-in for
the partner's (the partner's choice itself is ``contract.contract_pass``).
Under equal sharing a member's return depends on what the others pay in:
an uncertain firm discounts it (caution in marketing spending); under
proportional sharing its return is its own. With no stakes the incentive is 0.

``cooperating_i ~ Bernoulli(cooperation_i)`` for firms (``state.cooperating``);
``cooperation_i`` (``state.propensity_to_cooperate``) is 0 for non-firms. The detection probability is also what the pool uses to expose
free riders (``submodels.function_interest``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..numerics import CURVES_JIT, sigmoid
from .function_interest import expected_gain
from .regulation import AUDIT_TARGETING, audit_prob, audit_weight_mean

__all__ = ["choose", "decide", "decision_pass", "CAUTION"]

#: Share of an uncertain return (the pool's, a new or renewed contract) a fully uncertain firm gives up; an assumption.
CAUTION = 0.5


def choose(model, ctx) -> None:
    """Every firm's draw for this step (``state.cooperating``); the detection probability into ``ctx.p_detect``."""
    st, m, n = model.state, ctx.masks, ctx.n
    pool = expected_gain(st, m.members, m.member_assoc, m.assoc_members, model.market.price, model.params)
    ctx.p_detect = decide(st, m.firms, m.members, ctx.contracts_of, pool, model.params, model.rng)


def decide(st, firms: np.ndarray, members: np.ndarray, contracts_of: np.ndarray,
           pool: tuple[np.ndarray, np.ndarray], p, rng: np.random.Generator) -> np.ndarray:
    """Expected gain, stakes, propensity to cooperate and this step's draw, per actor (:func:`decision_pass`).

    One uniform per actor (``rng.random(N)``) decides the draw.

    Args:
        st: the state (reads exposure, capacity, commitment, mean trust, disposition, functional conflict,
            decision uncertainty, reputation).
        firms: ``(N,)`` bool, active firms.
        members: ``(N,)`` bool, firms in an association.
        contracts_of: ``(N,)`` live contracts per actor.
        pool: ``(R, L)``, each ``(N,)``: what a contribution's marketing is worth, what exposure loses.

    Returns:
        ``(N,)`` detection probability of a defecting member (the pool uses it).
    """
    n = st.n_nodes
    mech, lp = p.mechanisms, p.learning
    fi, reg, con = mech.function_interest, mech.regulation, mech.contract
    p_detect = np.empty(n)
    r_draw = rng.random(n)
    decision_pass(
        r_draw, firms, members, st.capacity[:n],
        st.exposure[:n], pool[0], pool[1], np.asarray(contracts_of, dtype=np.int64), st.commitment[:n], st.mean_trust[:n], st.disposition[:n],
        st.functional_conflict[:n], st.decision_uncertainty[:n], st.reputation[:n],
        float(reg.monitoring_prob) if reg.enabled else 0.0, AUDIT_TARGETING, float(fi.reputation_detection),
        bool(fi.enabled), float(fi.contribution), fi.sharing == "equal",
        float(reg.sanction) if reg.enabled else 0.0, bool(reg.enabled and fi.enabled),
        bool(con.enabled), float(p.trade.input_share), float(con.enforcement_prob), float(con.breach_penalty),
        float(con.breach_gain), float(0.5 * p.trade.saving * con.duration / 2.0), float(con.renewal_slope),
        float(con.renewal_threshold), CAUTION,
        float(lp.bias), float(lp.w_commitment), float(lp.w_trust), float(lp.w_disposition), float(lp.w_incentive),
        p_detect, st.propensity_to_cooperate[:n], st.cooperating[:n],
    )
    return p_detect


@numba.njit(**CURVES_JIT)
def decision_pass(r, firms, members, capacity, exposure, pool_return, pool_at_risk, contracts,
                  commitment, mean_trust, disposition, conflict, uncertainty, reputation,
                  monitoring, targeting, reputation_detection, fi_on, contribution, equal_sharing, sanction, fi_fine_on,
                  contract_on, input_share, enforcement_prob, breach_penalty, breach_gain, future_saving,
                  renewal_slope, renewal_threshold, caution,
                  bias, w_commitment, w_trust, w_disposition, w_incentive,
                  p_detect, cooperation, cooperating):
    """Detection probability, gain over stakes and the draw per actor (module docstring), with one uniform
    ``r[i]``; ``future_saving = saving/2 duration/2``; ``monitoring`` is the members' mean monitoring, spread
    by reputation with ``targeting``."""
    # the chance a partner ends a contract after a breach, first in a branch-free loop of its own that LLVM
    # vectorizes with the exp (in the branchy loop below its curve cost many times more), into scratch
    for i in range(firms.shape[0]):
        cooperation[i] = (1.0 - conflict[i]) * sigmoid(renewal_slope * (renewal_threshold - mean_trust[i]))
    mean_weight = audit_weight_mean(members, reputation, targeting)
    for i in range(firms.shape[0]):
        cap = capacity[i]
        watch = audit_prob(monitoring, reputation[i], targeting, mean_weight)
        pd = 1.0 - (1.0 - watch) * (1.0 - reputation_detection * exposure[i])
        p_detect[i] = pd
        fine = sanction * cap
        gain = 0.0
        stakes = 0.0
        if fi_on and members[i]:
            c = contribution * cap
            ret = pool_return[i]
            kept = 0.0
            if equal_sharing:  # the share depends on what the others pay in: an uncertain firm discounts it
                care = 1.0 - caution * uncertainty[i]
                ret = care * ret
                kept = care * pd * pool_at_risk[i]
            gain += ret - c + kept
            stakes += ret + c + kept
        if fi_fine_on and members[i]:
            gain += pd * fine
            stakes += pd * fine
        if contract_on and contracts[i] > 0:
            end = cooperation[i]
            loss = enforcement_prob * (breach_penalty + end * future_saving)
            orders = contracts[i] * input_share * cap
            gain += orders * (loss - breach_gain)
            stakes += orders * (loss + breach_gain)
            if members[i]:
                gain += enforcement_prob * fine
                stakes += enforcement_prob * fine
        cooperation[i] = gain / stakes if stakes > 0.0 else 0.0  # scratch again: the incentive, for the loop below
    # the curves in a branch-free loop of their own, which LLVM vectorizes with the exp
    for i in range(firms.shape[0]):
        x = (bias + w_commitment * commitment[i] + w_trust * mean_trust[i] + w_disposition * disposition[i]
             + w_incentive * cooperation[i])
        prob = sigmoid(x)
        cooperation[i] = prob if firms[i] else 0.0
        cooperating[i] = firms[i] & (r[i] < prob)
