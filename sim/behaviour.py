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

from .game import imitation_probability, random_neighbours
from .mechanisms.function_interest import effective_terms
from .trust import sigmoid

__all__ = ["expected_gain", "decide", "imitate", "INCENTIVE_SCALE"]

#: Money per unit capacity at which an expected gain counts as large (tanh(1) ~ 0.76); an assumption.
INCENTIVE_SCALE = 0.25


def expected_gain(st, members: np.ndarray, p_detect: np.ndarray, group_size: np.ndarray, last_share: np.ndarray, contracts_of: np.ndarray, p) -> np.ndarray:
    """Expected gain of cooperating over defecting, per firm (money units)."""
    n = st.n_nodes
    cap = st.capacity[:n]
    gain = np.zeros(n)
    mech = p.mechanisms
    if mech.function_interest.enabled:
        fi = mech.function_interest
        brand_s, rnd_s, r = effective_terms(p)
        c = fi.contribution * cap
        own_return = r * (1.0 - brand_s - rnd_s) * c
        if fi.sharing == "equal":
            own_return = own_return / np.maximum(group_size, 1)
            kept = p_detect * last_share  # exposed free riders lose their share
        else:
            kept = 0.0
        gain += np.where(members, own_return - c + kept, 0.0)
    sanction = mech.regulation.sanction * cap if mech.regulation.enabled else 0.0
    if mech.regulation.enabled and mech.function_interest.enabled:
        # free riders are exposed only through the pool (monitoring or reputation)
        gain += np.where(members, p_detect * sanction, 0.0)
    if mech.contract.enabled:
        c = mech.contract
        # a caught breach costs the penalty and the rest of the contract (half its duration on average)
        at_stake = c.breach_penalty + c.value * c.duration / 2.0
        gain += contracts_of * cap * (c.enforcement_prob * at_stake - c.breach_gain)
        # and, under regulation, the association's fine (once per step, however many breaches)
        gain += np.where(members & (contracts_of > 0), c.enforcement_prob * sanction, 0.0)
    return gain


def decide(st, firms: np.ndarray, gain: np.ndarray, p, rng: np.random.Generator) -> None:
    """Draw this step's cooperation and store the propensity as the KMV outcome."""
    n = st.n_nodes
    lp = p.learning
    cap = np.maximum(st.capacity[:n], 1e-9)
    x = lp.bias + lp.w_commitment * st.commitment[:n] + lp.w_trust * st.mean_trust[:n] + lp.w_disposition * st.disposition[:n] + lp.w_incentive * np.tanh(gain / (INCENTIVE_SCALE * cap))
    prob = sigmoid(x)
    st.cooperation[:n] = np.where(firms, prob, 0.0)
    st.cooperating[:n] = firms & (rng.random(n) < prob)


def imitate(st, firms_idx: np.ndarray, p, rng: np.random.Generator) -> None:
    """Pairwise payoff comparison with a random firm-firm partner."""
    lp = p.learning
    if lp.imitation <= 0 or len(firms_idx) == 0:
        return
    indptr, nbr = st.ff_csr()
    who = firms_idx[rng.random(len(firms_idx)) < lp.imitation]
    if len(who) == 0:
        return
    other = random_neighbours(indptr, nbr, who, rng)
    ok = other >= 0
    ok[ok] &= st.active[other[ok]]
    who, other = who[ok], other[ok]
    pay = st.payoff
    spread = max(1e-9, float(np.ptp(pay[firms_idx])))
    # payoffs are per unit capacity, so no degree normalisation: D is the payoff range
    prob = imitation_probability(pay[who], pay[other], 1, 1, spread)
    move = rng.random(len(who)) < prob
    w, o = who[move], other[move]
    st.disposition[w] += lp.step_size * (st.disposition[o] - st.disposition[w])
