"""Function-interest (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry Clusters*,
section 3.3 (1)): joint marketing as a public good, "no one enjoys a free
dinner" (ODD 7.5).

Members of an association pay into a joint-marketing pool; public funds may
match each unit pooled (``subsidy``, paid by the Cluster Development Center's
budget). The pool creates no money: it buys marketing from outside the
cluster, and its returns arrive through the market (``submodels.market``).
A share goes to the cluster brand (and to cooperative R&D when that mode is
on); the rest buys marketing for the members' own products (fair stands,
shared sales channels, catalogues), shared by the rule. With ``(b_s, r_s, r)``
the terms after the marketing modes (``marketing.effective_terms``), per
association a::

    c_i        = contribution cap_i [member_i, cooperating_i]
    detected_i = [member_i, not cooperating_i] Bernoulli(p_detect_i)
    pool_a     = (1 + subsidy) sum c_i,  brand_a = b_s pool_a,  rnd_a = r_s pool_a
    products_a = pool_a - brand_a - rnd_a
    equal:        s_i = products_a / #eligible_a              (a pool nobody may share goes to the brand)
    proportional: s_i = products_a c_i / sum c_i              (free riders get nothing)
    cash_i    -= c_i

where the eligible are the members not exposed. ``s_i`` (``state.pool_share``)
is the marketing bought for member i's products; it builds i's product brand
(``state.marketing_stock``, the product level of the brand hierarchy), which
every firm's stock loses at ``market.brand_decay``::

    m_i <- m_i (1 - decay) + (1 - m_i)(1 - exp(-r s_i / cap_i))

``r`` (``multiplier``, raised by the alliance mode) is the reach of a unit of
pooled spending: pooled fairs and channels buy more than a firm alone. The
stock lifts the firm's sales in its product group's market (``market``).

What a member's contribution is expected to earn it (:func:`expected_gain`,
read by the decision): a stock increment ``dm`` is worth
``V(dm) = brand_premium P_g cap_i dm / (decay + DISCOUNT)`` (the extra
sales while the stock lasts, discounted), with ``dm(s) = (1 - m_i)(1 -
exp(-r s / cap_i))``::

    proportional: R_i = V(dm((1 + subsidy)(1 - b_s - r_s) c_i)),         L_i = 0
    equal:        R_i = V(dm((1 + subsidy)(1 - b_s - r_s) c_i / n_a)),   L_i = V(dm(s_i^{t-1}))

``R_i`` is the return of i's own contribution (cooperating gains ``R_i -
c_i``), ``L_i`` what a free rider loses when exposed (the decision weighs
it by the detection probability). Equal sharing is a social dilemma (one's
own contribution returns 1 / n_a of its marketing); proportional sharing
pays a contributor when the marketing is worth its price.

Money accounts: ``pool_in`` = contributions, ``subsidy`` = public money added,
``pool_out`` = everything spent on marketing = ``pool_in + subsidy``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..context import PoolResult
from ..numerics import JIT
from .marketing import effective_terms

__all__ = ["share_pool", "run_pool", "pool_pass", "build_stock", "expected_gain", "gain_pass", "DISCOUNT"]

#: Monthly discount rate of a firm valuing future sales (an assumption: about 12 % a year).
DISCOUNT = 0.01


def share_pool(model, ctx) -> None:
    """The step's pool into ``ctx.pool`` (zeros when the mechanism is off), then every firm's product brand."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    st.contribution[:n] = 0.0
    if p.mechanisms.function_interest.enabled:
        ctx.pool = run_pool(st, m.members, m.n_assoc, ctx.p_detect, p, model.rng, ctx.cash)
        ctx.ledger["pool_contributions"] = -ctx.pool.pool_in  # members to their association's pool
    else:
        st.pool_share[:n] = 0.0
        ctx.pool = PoolResult(share=st.pool_share[:n], detected=np.zeros(n, dtype=bool))
    _, _, r = effective_terms(p)
    build_stock(m.firms, st.capacity[:n], st.pool_share[:n], float(r), float(p.market.brand_decay),
                st.marketing_stock[:n])


def run_pool(st, members: np.ndarray, n_assoc: int, p_detect: np.ndarray, p, rng: np.random.Generator, cash: np.ndarray) -> PoolResult:
    """Collect contributions, expose free riders, spend the pool (loop: :func:`pool_pass`).

    Args:
        st: the state; ``cooperating`` decides who contributes (``contribution`` and ``pool_share`` are written).
        members: ``(N,)`` bool, active firms that belong to an association.
        n_assoc: number of associations (the first rows of the state).
        p_detect: ``(N,)`` detection probability of a defecting member.
        rng: one uniform per actor (``rng.random(N)``) decides exposure.
        cash: ``(N,)`` this step's cash of every actor; contributions are taken from it.
    """
    n = st.n_nodes
    fi = p.mechanisms.function_interest
    brand_s, rnd_s, _ = effective_terms(p)
    n_assoc = max(1, n_assoc)
    pool, brand, rnd, unshared = (np.zeros(n_assoc) for _ in range(4))
    detected = np.empty(n, dtype=bool)
    share = st.pool_share[:n]
    pool_pass(rng.random(n), members, st.cooperating[:n], st.assoc_of[:n], st.capacity[:n], p_detect,
              float(fi.contribution), float(fi.subsidy), float(brand_s), float(rnd_s), fi.sharing == "equal",
              pool, brand, rnd, unshared, st.contribution[:n], detected, share, cash)
    pool_in = float(pool.sum())
    # a pool nobody may share goes to the brand
    brand_total = float(brand.sum() + unshared.sum())
    return PoolResult(
        share=share,
        detected=detected,
        pool_in=pool_in,
        pool_out=float(share.sum()) + brand_total + float(rnd.sum()),
        brand_spend=brand_total,
        rnd_spend=float(rnd.sum()),
        subsidy=float(fi.subsidy) * pool_in,
    )


@numba.njit(**JIT)
def pool_pass(r, members, coop, assoc_of, capacity, p_detect, contribution, subsidy, brand_share, rnd_share,
              equal_sharing, pool, brand, rnd, unshared, contrib, detected, share, cash):
    """The pool per association (module docstring), with one uniform ``r[i]`` per actor for exposure.

    The per-association arrays (``pool`` ... ``unshared``, zeroed, one row per
    association) are filled for the totals; ``pool`` holds the members' contributions only.
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
        total = (1.0 + subsidy) * pool[k]
        brand[k] = brand_share * total
        rnd[k] = rnd_share * total
        products = total - brand[k] - rnd[k]
        if equal_sharing:
            unshared[k] = products if eligible[k] == 0 else 0.0
            eligible[k] = products / eligible[k] if eligible[k] > 0 else 0.0  # now: the spend per head
        else:
            unshared[k] = 0.0
            eligible[k] = products  # now: the amount to spend in proportion
    for i in range(n):
        s = 0.0
        if members[i] and not detected[i]:
            a = assoc_of[i]
            if equal_sharing:
                s = eligible[a]
            elif pool[a] > 0:
                s = eligible[a] * (contrib[i] / pool[a])
        share[i] = s
        cash[i] -= contrib[i]


@numba.njit(**JIT)
def build_stock(firms, capacity, spend, reach, decay, stock):
    """Every firm's product brand decays and grows by the marketing bought for it (module docstring)."""
    for i in range(firms.shape[0]):
        if firms[i]:
            m = stock[i] * (1.0 - decay)
            stock[i] = m + (1.0 - m) * (1.0 - math.exp(-reach * spend[i] / max(capacity[i], 1e-9)))
        else:
            stock[i] = 0.0


def expected_gain(st, members: np.ndarray, group_of: np.ndarray, group_size: np.ndarray, price: np.ndarray,
                  p) -> tuple[np.ndarray, np.ndarray]:
    """What a member's contribution is expected to earn it, and what an exposed free rider loses (module
    docstring; loop: :func:`gain_pass`). Zeros when the mechanism is off.

    Args:
        members: ``(N,)`` bool, firms in an association.
        group_of: ``(N,)`` index of a member's association in ``group_size`` (the ``n_a`` of equal sharing).
        price: last step's price per product group.

    Returns:
        ``(R, L)``, each ``(N,)``.
    """
    n = len(members)
    ret, at_risk = np.zeros(n), np.zeros(n)
    fi = p.mechanisms.function_interest
    if fi.enabled:
        brand_s, rnd_s, r = effective_terms(p)
        horizon = 1.0 / (p.market.brand_decay + DISCOUNT)
        gain_pass(members, np.asarray(group_of, dtype=np.int64), np.asarray(group_size, dtype=np.int64),
                  st.capacity[:n], st.product_group[:n], np.asarray(price, dtype=np.float64), st.marketing_stock[:n],
                  st.pool_share[:n], float(fi.contribution), float((1.0 + fi.subsidy) * (1.0 - brand_s - rnd_s)),
                  float(r), float(p.market.brand_premium * horizon), fi.sharing == "equal", ret, at_risk)
    return ret, at_risk


@numba.njit(**JIT)
def gain_pass(members, group_of, group_size, capacity, product_group, price, stock, last_share, contribution,
              product_share, reach, worth, equal_sharing, ret, at_risk):
    """Per member: ``R`` and ``L`` of the module docstring; ``worth = brand_premium / (decay + DISCOUNT)``."""
    for i in range(members.shape[0]):
        if not members[i]:
            continue
        cap = max(capacity[i], 1e-9)
        c = contribution * cap
        s = product_share * c
        if equal_sharing:
            s = s / max(group_size[group_of[i]], 1)
        value = worth * price[product_group[i]] * cap * (1.0 - stock[i])
        ret[i] = value * (1.0 - math.exp(-reach * s / cap))
        if equal_sharing:
            at_risk[i] = value * (1.0 - math.exp(-reach * last_share[i] / cap))
