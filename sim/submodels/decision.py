"""The cooperation decision (ODD 7.4): the KMV outcome "cooperation", mediated by trust and commitment,
plus the incentives the mechanisms create.

Firm i cooperates (contributes to joint marketing and honours its contracts)
this step with probability::

    cooperation_i = sigma(bias + w_c C_i + w_t T_i + w_d disposition_i + w_inc tanh(gain_i / (INCENTIVE_SCALE cap_i)))

where ``gain_i`` is the expected money gain of cooperating over defecting,
with ``c_i = contribution cap_i``, ``S_i = sanction cap_i``, ``(b_s, r_s, r)``
the pool terms after the marketing modes (``marketing.effective_terms``),
``n_a`` the members of i's association and ``k_i`` its live contracts::

    p_detect_i = 1 - (1 - monitoring)(1 - reputation_detection exposure_i)
    gain_i = [pool on, member]   (r (1 - b_s - r_s) c_i / n_a - c_i + p_detect_i share_i^{t-1})   (equal sharing)
             [pool on, member]   (r (1 - b_s - r_s) c_i - c_i)                                    (proportional)
           + [pool and regulation on, member] p_detect_i S_i
           + [contracts on] (k_i cap_i stake + [regulation on, member, k_i >= 1] enforcement_prob S_i)
    stake  = input_share (enforcement_prob (breach_penalty + saving/2 duration / 2) - breach_gain)

(``stake`` takes an order per contract as ``input_share cap_i``: a firm's own capacity stands for the
orders its contracts carry.)

``cooperating_i ~ Bernoulli(cooperation_i)`` for firms (``state.cooperating``);
``cooperation_i`` (``state.propensity_to_cooperate``) is 0 for non-firms. The detection probability is also what the pool uses to expose
free riders (``submodels.function_interest``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..numerics import CURVES_JIT, sigmoid, tanh
from .marketing import effective_terms

__all__ = ["choose", "decide", "decision_pass", "INCENTIVE_SCALE"]

#: Money per unit capacity at which an expected gain counts as large (tanh(1) ~ 0.76); an assumption.
INCENTIVE_SCALE = 0.25


def choose(model, ctx) -> None:
    """Every firm's draw for this step (``state.cooperating``); the detection probability into ``ctx.p_detect``."""
    st, m, n = model.state, ctx.masks, ctx.n
    ctx.p_detect = decide(st, m.firms, m.members, m.member_assoc, m.assoc_members, ctx.contracts_of,
                          st.pool_share[:n], model.params, model.rng)


def decide(st, firms: np.ndarray, members: np.ndarray, group_of: np.ndarray, group_size: np.ndarray,
           contracts_of: np.ndarray, last_share: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Expected gain, propensity to cooperate and this step's draw, per actor (:func:`decision_pass`).

    One uniform per actor (``rng.random(N)``) decides the draw.

    Args:
        st: the state (reads exposure, capacity, commitment, mean trust, disposition).
        firms: ``(N,)`` bool, active firms.
        members: ``(N,)`` bool, firms in an association.
        group_of: ``(N,)`` index of a member's association in ``group_size``.
        group_size: members per association (the ``n_a`` of equal sharing).
        contracts_of: ``(N,)`` live contracts per actor.
        last_share: ``(N,)`` last step's pool share.

    Returns:
        ``(N,)`` detection probability of a defecting member (the pool uses it).
    """
    n = st.n_nodes
    mech, lp = p.mechanisms, p.learning
    fi, reg, con = mech.function_interest, mech.regulation, mech.contract
    brand_s, rnd_s, r = effective_terms(p)
    p_detect = np.empty(n)
    r_draw = rng.random(n)
    decision_pass(
        r_draw, firms, members, np.asarray(group_of, dtype=np.int64), np.asarray(group_size, dtype=np.int64), st.capacity[:n],
        st.exposure[:n], last_share, np.asarray(contracts_of, dtype=np.int64), st.commitment[:n], st.mean_trust[:n], st.disposition[:n],
        float(reg.monitoring_prob) if reg.enabled else 0.0, float(fi.reputation_detection),
        bool(fi.enabled), float(r * (1.0 - brand_s - rnd_s)), float(fi.contribution), fi.sharing == "equal",
        float(reg.sanction) if reg.enabled else 0.0, bool(reg.enabled and fi.enabled),
        bool(con.enabled), float(p.trade.input_share * (con.enforcement_prob * (con.breach_penalty + 0.5 * p.trade.saving * con.duration / 2.0) - con.breach_gain)),
        float(con.enforcement_prob),
        float(lp.bias), float(lp.w_commitment), float(lp.w_trust), float(lp.w_disposition), float(lp.w_incentive), INCENTIVE_SCALE,
        p_detect, st.propensity_to_cooperate[:n], st.cooperating[:n],
    )
    return p_detect


@numba.njit(**CURVES_JIT)
def decision_pass(r, firms, members, group_of, group_size, capacity, exposure, last_share, contracts,
                  commitment, mean_trust, disposition,
                  monitoring, reputation_detection, fi_on, fi_return, contribution, equal_sharing, sanction, fi_fine_on,
                  contract_on, contract_stake, enforcement_prob,
                  bias, w_commitment, w_trust, w_disposition, w_incentive, scale,
                  p_detect, cooperation, cooperating):
    """Detection probability, expected gain and the draw per actor (module docstring), with one uniform
    ``r[i]``; ``fi_return = r (1 - b_s - r_s)``, ``n_a = max(group_size[group_of[i]], 1)``."""
    for i in range(firms.shape[0]):
        cap = capacity[i]
        pd = 1.0 - (1.0 - monitoring) * (1.0 - reputation_detection * exposure[i])
        p_detect[i] = pd
        fine = sanction * cap
        gain = 0.0
        if fi_on and members[i]:
            c = contribution * cap
            own = fi_return * c
            if equal_sharing:
                own = own / max(group_size[group_of[i]], 1)
                gain += own - c + pd * last_share[i]
            else:
                gain += own - c
        if fi_fine_on and members[i]:
            gain += pd * fine
        if contract_on:
            gain += contracts[i] * cap * contract_stake
            if members[i] and contracts[i] > 0:
                gain += enforcement_prob * fine
        cooperation[i] = gain / (scale * max(cap, 1e-9))  # scratch: the scaled gain, for the loop below
    # the curves in a branch-free loop of their own, which LLVM vectorizes with the tanh and the exp
    for i in range(firms.shape[0]):
        x = (bias + w_commitment * commitment[i] + w_trust * mean_trust[i] + w_disposition * disposition[i]
             + w_incentive * tanh(cooperation[i]))
        prob = sigmoid(x)
        cooperation[i] = prob if firms[i] else 0.0
        cooperating[i] = firms[i] & (r[i] < prob)
