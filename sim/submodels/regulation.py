"""Regulation (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry Clusters*,
section 3.3 (2)): association rules, cluster culture, reputation (ODD 7.8).

* **Culture** (:func:`measure_culture`, before trust): the cluster culture is the
  mean value profile of the active firms; each association holds its members'
  mean values (the culture when it has none). Members' profiles move towards
  the culture by ``rate = min(1, culture_strength (0.5 + internal_marketing.promotion))``
  per step (the 4P "promotion")::

      v_i <- v_i + rate (culture - v_i)

* **Dues** (:func:`dues_rate`, the 4P "price" of participation): a member owes
  ``dues (0.5 + internal_marketing.price) cap_i`` per step to its association
  and pays it when it complies, with probability ``acquiescence_i`` (the
  Morgan-Hunt outcome: compliance with the association's rules). A member
  that withholds its dues is caught by monitoring with ``M_i`` (below) and
  then pays them and the fine ``sanction cap_i``.
* **Monitoring targeted by reputation** (:func:`audit_prob`): the association
  spends its monitoring effort ``monitoring_prob`` (the mean over members)
  on the members of poor reputation first; a member of reputation 0 is
  watched ``1 + AUDIT_TARGETING`` times as often as one of reputation 1::

      w_i = 1 + AUDIT_TARGETING (1 - reputation_i),   M_i = min(1, monitoring_prob w_i / mean_members(w))

  ``M_i`` is the chance monitoring catches member i withholding its dues
  here and free riding in the pool (``submodels.decision``, where the firm
  also expects it).
* **Sanctions**: an exposed free rider or caught contract breacher (an
  offender) pays ``sanction cap_i`` to its association (members) and loses
  ``reputation_penalty`` of reputation; members get a strike, strikes fade by
  :data:`STRIKE_MEMORY` per step (old offences are forgiven), and at
  ``expulsion_strikes`` the member is expelled (it leaves with the exits).
* Associations spend their whole treasury on collective-mark activities
  (economic and social brand aspects, ``submodels.market``) in the same step.
* **Reputation** of cooperating firms recovers, also without regulation::

      reputation_i <- reputation_i + 0.2 exposure_i (1 - reputation_i)
"""

from __future__ import annotations

import numba
import numpy as np

from ..context import RegulationResult
from ..numerics import JIT, split

__all__ = ["measure_culture", "regulate", "dues_rate", "apply_regulation", "culture_pull", "STRIKE_MEMORY",
           "AUDIT_TARGETING", "audit_weight_mean", "audit_prob", "culture_and_associations", "pull_values",
           "regulation_pass"]

#: Share of a strike kept from one step to the next (an assumption: about ten steps of memory).
STRIKE_MEMORY = 0.9
#: Extra monitoring weight of a member of reputation 0 over one of reputation 1 (an assumption: risk-based
#: auditing, which spends a fixed monitoring effort on those with a record of offences).
AUDIT_TARGETING = 2.0


def dues_rate(p) -> float:
    """Dues per unit capacity per step a member pays (0 without regulation)."""
    reg = p.mechanisms.regulation
    return reg.dues * (0.5 + p.internal_marketing.price) if reg.enabled else 0.0


def measure_culture(model, ctx) -> None:
    """The culture (into ``ctx.culture``) and each association's values, from this step's firms."""
    st, m = model.state, ctx.masks
    ctx.culture = np.empty(st.values_dim)
    culture_and_associations(st.values[: ctx.n], m.firms, m.member_assoc, m.assoc_members, m.assoc_idx, ctx.culture)


def regulate(model, ctx) -> None:
    """Dues, sanctions, expulsions and the culture pull (when regulation is on), then reputation recovery."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    if p.mechanisms.regulation.enabled:
        ctx.regulation = apply_regulation(st, m.members, m.n_assoc, ctx.pool.detected, ctx.contracts.caught, p, ctx.cash,
                                          model.rng)
        culture_pull(st, m.members, ctx.culture, p)
        ctx.ledger["dues_and_fines"] = -(ctx.regulation.dues + ctx.regulation.fines)  # members to their association
    else:
        ctx.regulation = RegulationResult()
    st.reputation[:n] += np.where(m.firms & st.cooperating[:n], 0.2 * st.exposure[:n] * (1.0 - st.reputation[:n]), 0.0)


def culture_pull(st, members: np.ndarray, culture: np.ndarray, p) -> None:
    """Move member values towards the culture (:func:`pull_values`)."""
    rate = p.mechanisms.regulation.culture_strength * (0.5 + p.internal_marketing.promotion)
    pull_values(st.values[: len(members)], members, np.ascontiguousarray(culture, dtype=np.float64), min(1.0, rate))


def apply_regulation(st, members: np.ndarray, n_assoc: int, detected: np.ndarray, caught: np.ndarray, p,
                     cash: np.ndarray, rng: np.random.Generator) -> RegulationResult:
    """Dues, sanctions, reputation, strikes, expulsion and treasury spending (loop: :func:`regulation_pass`).

    One uniform per actor (``rng.random(N)``) decides, split in turn, whether a member pays its dues and
    whether monitoring catches one that withholds them.

    Args:
        members: ``(N,)`` bool, active firms in an association.
        n_assoc: number of associations (the first rows of the state).
        detected, caught: ``(N,)`` bool, exposed free riders and caught breachers (the offenders).
        cash: ``(N,)`` this step's cash of every actor; dues and fines are taken from it.
    """
    n = st.n_nodes
    reg = p.mechanisms.regulation
    n_assoc = max(1, n_assoc)
    income = np.zeros(n_assoc)
    expelled = np.empty(n, dtype=np.int64)
    paid = np.zeros(n)
    dues, fines, n_expelled = regulation_pass(
        members, detected, caught, st.assoc_of[:n], st.capacity[:n], float(dues_rate(p)),
        float(reg.sanction), float(reg.reputation_penalty), STRIKE_MEMORY, float(reg.expulsion_strikes), income,
        st.reputation[:n], st.strikes[:n], cash, expelled, rng.random(n), st.acquiescence[:n], float(reg.monitoring_prob),
        AUDIT_TARGETING, paid,
    )
    st.treasury[:n_assoc] += income
    spend = float(st.treasury[:n_assoc].sum())
    st.treasury[:n_assoc] = 0.0
    return RegulationResult(dues=float(dues), fines=float(fines), treasury_spend=spend, paid=paid,
                            expelled=expelled[:n_expelled])


@numba.njit(**JIT)
def audit_weight_mean(members, reputation, targeting):
    """Mean monitoring weight ``1 + targeting (1 - reputation_i)`` over members (1 without members)."""
    total = 0.0
    count = 0
    for i in range(members.shape[0]):
        if members[i]:
            total += 1.0 + targeting * (1.0 - reputation[i])
            count += 1
    return total / count if count else 1.0


@numba.njit(inline="always", **JIT)
def audit_prob(monitoring, reputation, targeting, mean_weight):
    """Chance monitoring catches a member of this reputation: ``min(1, monitoring w / mean_weight)``."""
    return min(1.0, monitoring * (1.0 + targeting * (1.0 - reputation)) / mean_weight)


@numba.njit(**JIT)
def culture_and_associations(values, firms, group_of, group_size, assoc_idx, culture):
    """The mean values of the active firms into ``culture`` (0.5 in every dimension without firms); then
    each association holds its members' mean values.

    ``group_of[i]`` is member i's association (``len(assoc_idx)`` for non-members);
    an association without members holds the cluster ``culture``.
    """
    n_assoc = assoc_idx.shape[0]
    dim = values.shape[1]
    total = np.zeros((n_assoc + 1, dim))
    n_firms = 0
    culture[:] = 0.0
    for i in range(group_of.shape[0]):
        g = group_of[i]
        for k in range(dim):
            total[g, k] += values[i, k]
        if firms[i]:
            n_firms += 1
            for k in range(dim):
                culture[k] += values[i, k]
    for k in range(dim):
        culture[k] = culture[k] / n_firms if n_firms else 0.5
    for a in range(n_assoc):
        for k in range(dim):
            values[assoc_idx[a], k] = total[a, k] / max(group_size[a], 1) if group_size[a] > 0 else culture[k]


@numba.njit(**JIT)
def pull_values(values, members, culture, rate):
    """``v_i <- v_i + rate (culture - v_i)`` for members."""
    for i in range(members.shape[0]):
        if members[i]:
            for k in range(values.shape[1]):
                values[i, k] += rate * (culture[k] - values[i, k])


@numba.njit(**JIT)
def regulation_pass(members, detected, caught, assoc_of, capacity, dues_rate, sanction, reputation_penalty, strike_memory,
                    expulsion_strikes, income, reputation, strikes, cash, expelled, r, acquiescence, monitoring, targeting,
                    paid):
    """Dues, fines, reputation, strikes and the expulsion list, per actor.

    A member pays its dues when ``r[i] < acquiescence[i]``; one that withholds
    them is caught when the split uniform is below its :func:`audit_prob` (from
    the reputations before this step's offences) and then pays them and the fine. Offenders are the exposed free riders (``detected``) and the caught
    breachers (``caught``). Dues and fines go to the association (``income``,
    one row per association) and are taken from ``cash``; an offender loses
    ``reputation_penalty`` of reputation (floor 0); ``strikes_i <- strike_memory
    strikes_i + [member, offender]``; a member with ``strikes_i >= expulsion_strikes``
    goes to the front of ``expelled`` (in row order).

    ``paid[i]`` gets the dues actor i paid (0 when it withheld them and was not caught).

    Returns ``(sum of dues, sum of fines, number expelled)``.
    """
    dues_total = 0.0
    fines_total = 0.0
    n_expelled = 0
    mean_weight = audit_weight_mean(members, reputation, targeting)
    for i in range(members.shape[0]):
        offender = detected[i] or caught[i]
        d = 0.0
        f = 0.0
        if members[i]:
            x = r[i]
            pays = x < acquiescence[i]
            audited = False
            if not pays:
                x = split(x, acquiescence[i], pays)
                audited = x < audit_prob(monitoring, reputation[i], targeting, mean_weight)
            if pays or audited:
                d = dues_rate * capacity[i]
            if offender or audited:
                f = sanction * capacity[i]
            income[assoc_of[i]] += d + f
        paid[i] = d
        dues_total += d
        fines_total += f
        cash[i] += -(d + f)
        if offender:
            reputation[i] = max(0.0, reputation[i] - reputation_penalty)
        strikes[i] = strike_memory * strikes[i] + (1.0 if (members[i] and offender) else 0.0)
        if members[i] and strikes[i] >= expulsion_strikes:
            expelled[n_expelled] = i
            n_expelled += 1
    return dues_total, fines_total, n_expelled
