"""The six marketing modes (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry
Clusters*, section 4), each an intensity in [0, 1] (ODD 7.9).

Where each mode acts:

* 4.1 **cluster brand** (``cluster_brand``): more of the pool goes to the
  collective brand, ``b_s = brand_share + (1 - brand_share) 0.5 cluster_brand``
  (:func:`effective_terms`).
* 4.2 **channel network sharing** (``channel_sharing``): the saving on an order
  ``x (1 + channel_sharing)`` for partners of different product groups
  (``contract``), and extra sales ``revenue x (1 + 0.2 channel_sharing k / (k + 2))``,
  k = live contracted links to other product groups (:func:`channel_bonus`).
* 4.3 **leading-enterprise traction** (``leading_traction``, ``brand_fee``):
  brand users (drawn at entry with probability ``leading_traction``) pay
  ``brand_fee cap`` per step, shared equally by the leading firms; the fees
  build the corporate brand (``market``); users sell with half the corporate
  brand's premium while a leading firm exists; the saving on an order to or
  from a leading firm counts ``x (1 + leading_traction)`` (orders from the leader).
* 4.4 **exhibition promotion** (``exhibition``, ``exhibition_period``): in
  fair steps (:func:`fair_due`) demand rises by ``x (1 + 0.5 exhibition)``
  (``market``) and every member pays ``0.1 exhibition cap``; the fair spend
  builds the social brand aspect.
* 4.5 **cooperative R&D** (``cooperative_rnd``): a share
  ``r_s = (1 - b_s) 0.5 cooperative_rnd`` of the pool; the R&D spend builds
  the technological and energy aspects, and while it is positive every
  cooperating member's energy intensity falls,
  ``e <- max(0.3 e_0, e (1 - 0.02 cooperative_rnd))`` (e_0: the initial mean).
* 4.6 **marketing alliance** (``alliance``): synergy of the pool
  ``r = multiplier (1 + 0.5 alliance)``.
"""

from __future__ import annotations

import numpy as np

from ..context import MarketingResult
from ..state import LEADING

__all__ = ["run_modes", "effective_terms", "fair_due", "channel_bonus"]


def effective_terms(p) -> tuple[float, float, float]:
    """Brand share, R&D share and multiplier of the pool after the marketing modes."""
    fi, mk = p.mechanisms.function_interest, p.marketing
    brand = fi.brand_share + (1.0 - fi.brand_share) * 0.5 * mk.cluster_brand
    rnd = (1.0 - brand) * 0.5 * mk.cooperative_rnd
    r = fi.multiplier * (1.0 + 0.5 * mk.alliance)
    return brand, rnd, r


def fair_due(p, t: int) -> bool:
    """Whether step ``t`` holds a trade fair."""
    mk = p.marketing
    return mk.exhibition > 0 and t % mk.exhibition_period == 0


def run_modes(model, ctx) -> None:
    """Brand fees (traction), fair costs, cooperative R&D and the channel bonus into ``ctx.marketing``."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    mk = p.marketing
    cap = st.capacity[:n]
    fees = 0.0
    leaders = m.firms & (st.kind[:n] == LEADING)
    users = m.firms & st.brand_user[:n]
    if mk.leading_traction > 0 and leaders.any():
        fee = np.where(users, mk.brand_fee * cap, 0.0)
        fees = float(fee.sum())
        ctx.cash -= fee
        ctx.cash += np.where(leaders, fees / leaders.sum(), 0.0)
    fair_spend = 0.0
    if fair_due(p, ctx.t):
        fair_cost = np.where(m.members, 0.1 * mk.exhibition * cap, 0.0)
        fair_spend = float(fair_cost.sum())
        ctx.cash -= fair_cost
        ctx.ledger["fair_costs"] = -fair_spend  # members to the fair's organizers, outside the cluster
    if mk.cooperative_rnd > 0 and ctx.pool.rnd_spend > 0:
        improve = m.firms & st.cooperating[:n] & m.members
        floor = 0.3 * model.energy_reference
        st.energy_intensity[:n] = np.where(improve, np.maximum(floor, st.energy_intensity[:n] * (1.0 - 0.02 * mk.cooperative_rnd)), st.energy_intensity[:n])
    bonus = channel_bonus(st, m.live_ff, n, mk.channel_sharing) if mk.channel_sharing > 0 else np.zeros(n)
    brand_users = users if leaders.any() else np.zeros(n, dtype=bool)  # no leader, no brand to use
    ctx.marketing = MarketingResult(fees=fees, fair_spend=fair_spend, channel_bonus=bonus, brand_users=brand_users)


def channel_bonus(st, live_ff: np.ndarray, n: int, channel_sharing: float) -> np.ndarray:
    """Channel network sharing: extra sales through contracted partners of other product groups."""
    e = st.n_edges
    on = live_ff & (st.contract_left[:e] > 0) & (st.product_group[st.ua[:e]] != st.product_group[st.ub[:e]])
    k = np.bincount(st.ua[:e][on], minlength=n) + np.bincount(st.ub[:e][on], minlength=n)
    return 0.2 * channel_sharing * k / (k + 2.0)
