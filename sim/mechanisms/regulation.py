"""Regulation mechanism (003 section 3.3 (2)): association rules and cluster culture.

* Dues: every member pays ``dues * (0.5 + internal_marketing.price) * capacity``
  per step to its association (the 4P "price" of participation).
* Sanctions: an exposed free rider or caught contract breacher pays
  ``sanction * capacity`` to its association, loses ``reputation_penalty``
  of reputation and gets a strike; strikes fade by ``STRIKE_MEMORY`` per step
  (old offences are forgiven) and at ``expulsion_strikes`` the member is expelled.
* Reputation of exposed cooperators recovers.
* Culture: member value profiles move towards the cluster culture (the members'
  mean) by ``culture_strength * (0.5 + internal_marketing.promotion)`` per step.
* Associations spend their treasury on collective-mark activities (brand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels

__all__ = ["RegulationResult", "apply_regulation", "culture_pull", "STRIKE_MEMORY"]

#: Share of a strike kept from one step to the next (an assumption: about ten steps of memory).
STRIKE_MEMORY = 0.9


@dataclass
class RegulationResult:
    cash: np.ndarray  # (N,) dues and fines paid (negative for firms)
    dues: float
    fines: float
    treasury_spend: float
    expelled: np.ndarray  # node indices to expel


def culture_pull(st, members: np.ndarray, culture: np.ndarray, p) -> None:
    """Move member values towards the culture."""
    rate = p.mechanisms.regulation.culture_strength * (0.5 + p.internal_marketing.promotion)
    kernels.pull_values(st.values[: len(members)], members, np.ascontiguousarray(culture, dtype=np.float64), min(1.0, rate))


def apply_regulation(st, members: np.ndarray, offenders: np.ndarray, p) -> RegulationResult:
    """Dues, sanctions, reputation, strikes, expulsion and treasury spending.

    Args:
        members: ``(N,)`` bool, active firms in an association.
        offenders: ``(N,)`` bool, exposed free riders and caught breachers.
    """
    n = st.n_nodes
    reg = p.mechanisms.regulation
    cap = st.capacity[:n]
    dues = np.where(members, reg.dues * (0.5 + p.internal_marketing.price) * cap, 0.0)
    fines = np.where(offenders & members, reg.sanction * cap, 0.0)
    a = np.where(members, st.assoc_of[:n], 0)
    income = np.bincount(a, weights=dues + fines, minlength=max(1, int(a.max()) + 1 if n else 1))
    st.treasury[: len(income)] += income
    spend = float(st.treasury[: len(income)].sum())
    st.treasury[: len(income)] = 0.0
    st.reputation[:n] = np.where(offenders, np.maximum(0.0, st.reputation[:n] - reg.reputation_penalty), st.reputation[:n])
    st.strikes[:n] = STRIKE_MEMORY * st.strikes[:n] + (offenders & members)
    expelled = np.flatnonzero(members & (st.strikes[:n] >= reg.expulsion_strikes))
    return RegulationResult(cash=-(dues + fines), dues=float(dues.sum()), fines=float(fines.sum()), treasury_spend=spend, expelled=expelled)
