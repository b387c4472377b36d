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
    dues: float
    fines: float
    treasury_spend: float
    expelled: np.ndarray  # node indices to expel


def culture_pull(st, members: np.ndarray, culture: np.ndarray, p) -> None:
    """Move member values towards the culture."""
    rate = p.mechanisms.regulation.culture_strength * (0.5 + p.internal_marketing.promotion)
    kernels.pull_values(st.values[: len(members)], members, np.ascontiguousarray(culture, dtype=np.float64), min(1.0, rate))


def apply_regulation(st, members: np.ndarray, n_assoc: int, detected: np.ndarray, caught: np.ndarray, p,
                     cash: np.ndarray) -> RegulationResult:
    """Dues, sanctions, reputation, strikes, expulsion and treasury spending (loop: ``kernels.regulation_pass``).

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
    dues, fines, n_expelled = kernels.regulation_pass(
        members, detected, caught, st.assoc_of[:n], st.capacity[:n], float(reg.dues * (0.5 + p.internal_marketing.price)),
        float(reg.sanction), float(reg.reputation_penalty), STRIKE_MEMORY, float(reg.expulsion_strikes), income,
        st.reputation[:n], st.strikes[:n], cash, expelled,
    )
    st.treasury[:n_assoc] += income
    spend = float(st.treasury[:n_assoc].sum())
    st.treasury[:n_assoc] = 0.0
    return RegulationResult(dues=float(dues), fines=float(fines), treasury_spend=spend, expelled=expelled[:n_expelled])
