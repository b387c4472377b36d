"""Function-interest mechanism (003 section 3.3 (1)): "no one enjoys a free dinner".

Members of an association pay into a joint-marketing pool; a share goes to the
cluster brand (and to cooperative R&D when that mode is on), the rest is
multiplied by the synergy ``r`` and shared among members:

* ``equal``: every eligible member gets the same share (a social dilemma:
  the marginal return of one's own contribution is r / n < 1);
* ``proportional``: shares in proportion to contributions (free riders get nothing).

Free riders (members who do not contribute) are exposed by monitoring (when
regulation is on) or by reputation (reports of partners that heard about
them) and then excluded from the share.

Money accounts: ``pool_in`` = sum of contributions; ``pool_out`` = shares paid
+ brand and R&D spend; ``pool_out == r * (pool_in - spend) + spend`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels

__all__ = ["PoolResult", "effective_terms", "run_pool"]


@dataclass
class PoolResult:
    share: np.ndarray  # (N,) share received
    pool_in: float
    pool_out: float
    brand_spend: float
    rnd_spend: float
    detected: np.ndarray  # (N,) bool: free riders exposed this step


def effective_terms(p) -> tuple[float, float, float]:
    """Brand share, R&D share and multiplier after the marketing-mode levers."""
    fi, mk = p.mechanisms.function_interest, p.marketing
    brand = fi.brand_share + (1.0 - fi.brand_share) * 0.5 * mk.cluster_brand
    rnd = (1.0 - brand) * 0.5 * mk.cooperative_rnd
    r = fi.multiplier * (1.0 + 0.5 * mk.alliance)
    return brand, rnd, r


def run_pool(st, members: np.ndarray, n_assoc: int, p_detect: np.ndarray, p, rng: np.random.Generator, cash: np.ndarray) -> PoolResult:
    """Collect contributions, expose free riders, share the pool (loop: ``kernels.pool_pass``).

    Args:
        st: the state; ``cooperating`` decides who contributes (``contribution`` is written).
        members: ``(N,)`` bool, active firms that belong to an association.
        n_assoc: number of associations (the first rows of the state).
        p_detect: ``(N,)`` detection probability of a defecting member
            (``1 - (1 - monitoring)(1 - reputation_detection * exposure)``, from ``behaviour.decide``).
        rng: one uniform per actor (``rng.random(N)``) decides exposure.
        cash: ``(N,)`` this step's cash of every actor; share minus contribution is added.
    """
    n = st.n_nodes
    fi = p.mechanisms.function_interest
    brand_s, rnd_s, r = effective_terms(p)
    n_assoc = max(1, n_assoc)
    pool, brand, rnd, unshared = (np.zeros(n_assoc) for _ in range(4))
    detected = np.empty(n, dtype=bool)
    share = np.empty(n)
    kernels.pool_pass(rng.random(n), members, st.cooperating[:n], st.assoc_of[:n], st.capacity[:n], p_detect,
                      float(fi.contribution), float(brand_s), float(rnd_s), float(r), fi.sharing == "equal",
                      pool, brand, rnd, unshared, st.contribution[:n], detected, share, cash)
    # a pool nobody may share goes to the brand
    brand_total = float(brand.sum() + unshared.sum())
    shares_paid = float(share.sum())
    return PoolResult(
        share=share,
        pool_in=float(pool.sum()),
        pool_out=shares_paid + brand_total + float(rnd.sum()),
        brand_spend=brand_total,
        rnd_spend=float(rnd.sum()),
        detected=detected,
    )
