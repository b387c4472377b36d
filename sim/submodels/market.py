"""Market and brand (*Marketing activities in an innovative energy efficient cluster*; Tu Hongbo, *On the
Clusters Marketing Model of High-tech Industry Clusters*, section 4): demand, brand equity, revenue, profit
(ODD 7.10).

Demand per unit capacity at step t::

    demand_t = demand (1 + growth)^t (1 + shock_t) (1 - pressure_t) fair_t

with ``shock_t = demand_shift`` and ``pressure_t = competitor_pressure`` as in
force at step t (a demand shock and competitor entry are events on the
timeline, ``submodels.policy``), and trade fairs (``marketing.fair_due``)
lifting demand by ``0.5 exhibition``.

Brand equity of the cluster has four aspects (technological, economic,
social, energy-efficient), each in [0, 1], decaying at ``brand_decay`` and
built by spending S on it::

    B <- B (1 - decay) + (1 - B) (1 - exp(-brand_efficiency S / firms))

Pool brand spend feeds all four aspects; cooperative R&D the technological
and energy aspects; association treasuries (dues, fines) the economic and
social ones; fairs the social one. The leading firms' corporate brand K is
built by the brand fees of the SMEs that use it (floor 0.3).

Revenue and profit of firm i::

    base_i    = cap_i demand_t
    lift_i    = premium (B [member] + 0.5 K [brand user] + K [leading firm])
    revenue_i = base_i (1 + lift_i)(1 + channel_bonus_i),   brand_revenue_i = base_i lift_i
    profit_i  = revenue_i (margin - energy_price energy_i) - fixed_cost cap_i + cash_i

``cash_i`` is what the mechanisms and modes paid or charged this step. What
members take from the step into the next one's antecedents (ODD 7.3.1)::

    benefit_i <- benefit_i + memory ((share_i + surplus_i + margin brand_revenue_i) / cap_i - benefit_i)
    sunk_i    <- 0.95 sunk_i + contribution_i + [member] dues_rate cap_i
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..numerics import JIT
from ..state import LEADING
from .marketing import fair_due
from .regulation import dues_rate

__all__ = ["Market", "ASPECTS", "CORPORATE_BASE", "set_demand", "sell", "revenue_pass", "profit_pass"]

ASPECTS = ("technological", "economic", "social", "energy")
#: The leading firms' corporate brand at the start and its floor: leaders keep a base brand (an assumption).
CORPORATE_BASE = 0.3


class Market:
    """External demand, the cluster brand's aspects and the leading firms' corporate brand."""

    def __init__(self, p):
        self.p = p
        self.brand = np.zeros(4)  # cluster brand aspects
        self.corporate = CORPORATE_BASE  # leading firms' corporate brand
        self.demand_now = p.market.demand

    def demand(self, t: int) -> float:
        m, mk = self.p.market, self.p.marketing
        d = m.demand * (1.0 + m.growth) ** t
        d *= 1.0 + m.demand_shift  # the shock and competitor entry arrive on the timeline (submodels.policy)
        d *= 1.0 - m.competitor_pressure
        if fair_due(self.p, t):
            d *= 1.0 + 0.5 * mk.exhibition
        self.demand_now = d
        return d

    @property
    def equity(self) -> float:
        return float(self.brand.mean())

    def invest(self, pool_brand: float, rnd: float, treasury: float, fair_spend: float, fees: float, members: int) -> None:
        """Decay, then build the aspects from this step's spending."""
        m = self.p.market
        # four numbers: plain floats (numpy's per-call overhead is most of the cost at this size)
        q = pool_brand / 4.0
        spend = (q + rnd / 2.0, q + treasury / 2.0, q + treasury / 2.0 + fair_spend, q + rnd / 2.0)
        k = m.brand_efficiency / max(1, members)
        keep = 1.0 - m.brand_decay
        decayed = [b * keep for b in self.brand.tolist()]
        self.brand = np.array([b + (1.0 - b) * (1.0 - math.exp(-k * s)) for b, s in zip(decayed, spend)])
        self.corporate = self.corporate * keep + (1.0 - self.corporate) * (1.0 - math.exp(-k * fees * 4.0))
        self.corporate = max(self.corporate, CORPORATE_BASE)

    def revenue(self, st, firms: np.ndarray, members: np.ndarray, channel_bonus: np.ndarray, brand_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Revenue of every node (0 for non-firms) and the part due to brand premiums (loop: :func:`revenue_pass`)."""
        n = st.n_nodes
        revenue, brand_revenue = np.empty(n), np.empty(n)
        revenue_pass(firms, members, brand_users, st.kind[:n], st.capacity[:n], channel_bonus, float(self.demand_now),
                     float(self.p.market.brand_premium), self.equity, float(self.corporate), revenue, brand_revenue)
        return revenue, brand_revenue


def set_demand(model, ctx) -> None:
    """This step's demand per unit capacity."""
    ctx.demand = model.market.demand(ctx.t)


def sell(model, ctx) -> None:
    """Brand equity from this step's spending, then revenue, profit, resources, payoff, benefit and sunk investment."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    pool, mk, reg, con = ctx.pool, ctx.marketing, ctx.regulation, ctx.contracts
    model.market.invest(pool.brand_spend, pool.rnd_spend, reg.treasury_spend, mk.fair_spend, mk.fees, len(m.firms_idx))
    revenue, ctx.brand_revenue = model.market.revenue(st, m.firms, m.members, mk.channel_bonus, mk.brand_users)
    st.revenue[:n] = revenue
    profit_pass(m.firms, m.members, st.capacity[:n], st.energy_intensity[:n], revenue, ctx.cash, pool.share, con.surplus,
                ctx.brand_revenue, st.contribution[:n], float(p.market.margin), float(p.market.energy_price),
                float(p.firms.fixed_cost), float(p.trust.memory), float(dues_rate(p)), st.profit[:n], st.resources[:n],
                st.payoff[:n], st.benefit[:n], st.sunk[:n])


@numba.njit(**JIT)
def revenue_pass(firms, members, brand_users, kind, capacity, channel_bonus, demand, premium, equity, corporate,
                 revenue, brand_revenue):
    """Revenue of every actor (0 for non-firms) and its brand part (module docstring)."""
    for i in range(firms.shape[0]):
        base = capacity[i] * demand if firms[i] else 0.0
        lift = premium * (equity * (1.0 if members[i] else 0.0) + (0.5 * corporate) * (1.0 if (brand_users[i] and firms[i]) else 0.0))
        lift = lift + (premium * corporate) * (1.0 if kind[i] == LEADING else 0.0)
        revenue[i] = base * (1.0 + lift) * (1.0 + channel_bonus[i])
        brand_revenue[i] = base * lift


@numba.njit(**JIT)
def profit_pass(firms, members, capacity, energy, revenue, cash, share, surplus, brand_revenue, contribution,
                margin, energy_price, fixed_cost, memory, dues_rate,
                profit, resources, payoff, benefit, sunk):
    """Profit, resources, payoff, and the benefit and sunk investment of the next step's antecedents
    (module docstring), per actor; 0 profit for non-firms."""
    for i in range(firms.shape[0]):
        cap = max(capacity[i], 1e-9)
        if firms[i]:
            gross = revenue[i] * (margin - energy_price * energy[i]) - fixed_cost * capacity[i]
            pr = gross + cash[i]
            profit[i] = pr
            payoff[i] = pr / cap
            received = (share[i] + surplus[i] + brand_revenue[i] * margin) / cap
            benefit[i] += memory * (received - benefit[i])
        else:
            profit[i] = 0.0
            payoff[i] = 0.0
        resources[i] += profit[i]
        sunk[i] = 0.95 * sunk[i] + (contribution[i] + (dues_rate * capacity[i] if members[i] else 0.0))
