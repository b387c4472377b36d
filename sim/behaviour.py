"""Firms' decisions: whether to cooperate this step, and learning by imitation.

**Cooperation** (the KMV outcome, mediated by trust and commitment, plus the
incentives the mechanisms create). Firm i cooperates (contributes to joint
marketing and honours its contracts) with probability::

    sigma(bias + w_c C_i + w_t T_i + w_d disposition_i + w_inc tanh(gain_i / (0.25 capacity_i)))

where ``gain_i`` is the expected money gain of cooperating over defecting:

* function-interest: the own return of a contribution minus its cost, plus
  the expected share kept by not being exposed;
* regulation: the expected fine avoided (detection probability * sanction
  for free riding, enforcement probability * sanction for a breach);
* contracts: per contract, the expected loss avoided (penalty and the rest of
  the contract, which a caught breach ends) minus the breach gain forgone.

**Learning**: a share ``learning.imitation`` of firms compare their payoff
(profit per unit capacity) with a random partner and, with probability
(P_y - P_x) / D when P_y > P_x (``sim/game.py``; D the payoff range across
firms this step), move their disposition
``step_size`` of the way towards the partner's.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .mechanisms.function_interest import effective_terms

__all__ = ["decide", "imitate", "INCENTIVE_SCALE"]

#: Money per unit capacity at which an expected gain counts as large (tanh(1) ~ 0.76); an assumption.
INCENTIVE_SCALE = 0.25


def decide(st, firms: np.ndarray, members: np.ndarray, group_of: np.ndarray, group_size: np.ndarray,
           contracts_of: np.ndarray, last_share: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Expected gain, propensity to cooperate and this step's draw, per actor (``kernels.decision_pass``).

    The expected gain (module docstring; ODD 7.7) folds the mechanisms that
    are on into a few coefficients here; the loop computes it per firm with
    the detection probability ``1 - (1 - monitoring)(1 - reputation_detection
    * exposure)``, then ``cooperation = sigma(...)`` (stored as the KMV
    outcome, 0 for non-firms) and ``cooperating ~ Bernoulli(cooperation)``
    for firms, from one uniform per actor (``rng.random(N)``).

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
    kernels.decision_pass(
        r_draw, firms, members, np.asarray(group_of, dtype=np.int64), np.asarray(group_size, dtype=np.int64), st.capacity[:n],
        st.exposure[:n], last_share, np.asarray(contracts_of, dtype=np.int64), st.commitment[:n], st.mean_trust[:n], st.disposition[:n],
        float(reg.monitoring_prob) if reg.enabled else 0.0, float(fi.reputation_detection),
        bool(fi.enabled), float(r * (1.0 - brand_s - rnd_s)), float(fi.contribution), fi.sharing == "equal",
        float(reg.sanction) if reg.enabled else 0.0, bool(reg.enabled and fi.enabled),
        bool(con.enabled), float(con.enforcement_prob * (con.breach_penalty + con.value * con.duration / 2.0) - con.breach_gain),
        float(con.enforcement_prob),
        float(lp.bias), float(lp.w_commitment), float(lp.w_trust), float(lp.w_disposition), float(lp.w_incentive), INCENTIVE_SCALE,
        p_detect, st.cooperation[:n], st.cooperating[:n],
    )
    return p_detect


def imitate(st, firms_idx: np.ndarray, p, rng: np.random.Generator) -> None:
    """Pairwise payoff comparison with a random firm-firm partner."""
    lp = p.learning
    if lp.imitation <= 0 or len(firms_idx) == 0:
        return
    indptr, nbr = st.ff_csr()
    who = firms_idx[rng.random(len(firms_idx)) < lp.imitation]
    if len(who) == 0:
        return
    # a random partner each, kept if it is still active (game.random_neighbours; kernels.imitation_partners)
    pairs = np.empty((2, len(who)), dtype=np.int64)
    kept = kernels.imitation_partners(indptr, nbr, who, rng.random(len(who)), st.active, pairs[0], pairs[1])
    who, other = pairs[0, :kept], pairs[1, :kept]
    # payoffs are per unit capacity, so no degree normalisation: D is the payoff range
    # (game.imitation_probability with k = 1, and the move: kernels.imitation_moves)
    kernels.imitation_moves(who, other, rng.random(kept), st.payoff, firms_idx, float(lp.step_size), st.disposition)
