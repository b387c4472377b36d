"""Function-interest (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry Clusters*,
section 3.3 (1)): joint marketing as a public good, "no one enjoys a
free dinner" (ODD 7.5).

Members of an association pay into a joint-marketing pool; a share goes to the
cluster brand (and to cooperative R&D when that mode is on), the rest is
multiplied by the synergy ``r`` and shared among members. With ``(b_s, r_s, r)``
the terms after the marketing modes (``marketing.effective_terms``), per
association a::

    c_i        = contribution cap_i [member_i, cooperating_i]
    detected_i = [member_i, not cooperating_i] Bernoulli(p_detect_i)
    pool_a     = sum c_i,  brand_a = b_s pool_a,  rnd_a = r_s pool_a
    returned_a = r (pool_a - brand_a - rnd_a)
    equal:        share_i = returned_a / #eligible_a        (a pool nobody may share goes to the brand)
    proportional: share_i = returned_a c_i / pool_a         (free riders get nothing)
    cash_i    += share_i - c_i

where the eligible are the members not exposed. Equal sharing is a social
dilemma (the marginal return of one's own contribution is r / n < 1); free
riders are exposed by monitoring or by reputation (``p_detect``, from the
decision) and then excluded from the share.

Money accounts: ``pool_in`` = sum of contributions; ``pool_out`` = shares paid
+ brand and R&D spend = ``r (pool_in - spend) + spend``.
"""

from __future__ import annotations

import numba
import numpy as np

from ..context import PoolResult
from ..numerics import JIT
from .marketing import effective_terms

__all__ = ["share_pool", "run_pool", "pool_pass"]


def share_pool(model, ctx) -> None:
    """The step's pool into ``ctx.pool`` (zeros when the mechanism is off); ``cash`` takes share minus contribution."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    st.contribution[:n] = 0.0
    if p.mechanisms.function_interest.enabled:
        ctx.pool = run_pool(st, m.members, m.n_assoc, ctx.p_detect, p, model.rng, ctx.cash)
        ctx.ledger["pool_contributions"] = -ctx.pool.pool_in  # members to their association's pool
        ctx.ledger["pool_shares"] = ctx.pool.pool_out - ctx.pool.brand_spend - ctx.pool.rnd_spend  # the pool to members
    else:
        st.pool_share[:n] = 0.0
        ctx.pool = PoolResult(share=st.pool_share[:n], detected=np.zeros(n, dtype=bool))


def run_pool(st, members: np.ndarray, n_assoc: int, p_detect: np.ndarray, p, rng: np.random.Generator, cash: np.ndarray) -> PoolResult:
    """Collect contributions, expose free riders, share the pool (loop: :func:`pool_pass`).

    Args:
        st: the state; ``cooperating`` decides who contributes (``contribution`` and ``pool_share`` are written).
        members: ``(N,)`` bool, active firms that belong to an association.
        n_assoc: number of associations (the first rows of the state).
        p_detect: ``(N,)`` detection probability of a defecting member.
        rng: one uniform per actor (``rng.random(N)``) decides exposure.
        cash: ``(N,)`` this step's cash of every actor; share minus contribution is added.
    """
    n = st.n_nodes
    fi = p.mechanisms.function_interest
    brand_s, rnd_s, r = effective_terms(p)
    n_assoc = max(1, n_assoc)
    pool, brand, rnd, unshared = (np.zeros(n_assoc) for _ in range(4))
    detected = np.empty(n, dtype=bool)
    share = st.pool_share[:n]
    pool_pass(rng.random(n), members, st.cooperating[:n], st.assoc_of[:n], st.capacity[:n], p_detect,
              float(fi.contribution), float(brand_s), float(rnd_s), float(r), fi.sharing == "equal",
              pool, brand, rnd, unshared, st.contribution[:n], detected, share, cash)
    # a pool nobody may share goes to the brand
    brand_total = float(brand.sum() + unshared.sum())
    shares_paid = float(share.sum())
    return PoolResult(
        share=share,
        detected=detected,
        pool_in=float(pool.sum()),
        pool_out=shares_paid + brand_total + float(rnd.sum()),
        brand_spend=brand_total,
        rnd_spend=float(rnd.sum()),
    )


@numba.njit(**JIT)
def pool_pass(r, members, coop, assoc_of, capacity, p_detect, contribution, brand_share, rnd_share, multiplier,
              equal_sharing, pool, brand, rnd, unshared, contrib, detected, share, cash):
    """The pool per association (module docstring), with one uniform ``r[i]`` per actor for exposure.

    The per-association arrays (``pool`` ... ``unshared``, zeroed, one row per
    association) are filled for the totals.
    """
    n = members.shape[0]
    n_assoc = pool.shape[0]
    eligible = np.zeros(n_assoc)
    for i in range(n):
        c = 0.0
        exposed = False
        if members[i]:
            if coop[i]:
                c = contribution * capacity[i]
            else:
                exposed = r[i] < p_detect[i]
            pool[assoc_of[i]] += c
            if not exposed:
                eligible[assoc_of[i]] += 1.0
        contrib[i] = c
        detected[i] = exposed
    for k in range(n_assoc):
        brand[k] = brand_share * pool[k]
        rnd[k] = rnd_share * pool[k]
        returned = multiplier * (pool[k] - brand[k] - rnd[k])
        if equal_sharing:
            unshared[k] = returned if eligible[k] == 0 else 0.0
            eligible[k] = returned / eligible[k] if eligible[k] > 0 else 0.0  # now: the share per head
        else:
            unshared[k] = 0.0
            eligible[k] = returned  # now: the amount to share in proportion
    for i in range(n):
        s = 0.0
        if members[i] and not detected[i]:
            a = assoc_of[i]
            if equal_sharing:
                s = eligible[a]
            elif pool[a] > 0:
                s = eligible[a] * (contrib[i] / pool[a])
        share[i] = s
        cash[i] += s - contrib[i]
