"""Market and brand (*Marketing activities in an innovative energy efficient cluster*; Tu Hongbo, *On the
Clusters Marketing Model of High-tech Industry Clusters*, section 4): a finite market per product group,
brand equity, revenue, profit (ODD 7.10).

Units: a step is a month; money is counted in 100 k€; a unit of capacity is
the monthly output a mean SME sells for 100 k€ at the reference price 1.

Demand index at step t (1 = the market buys the initial cluster's capacity
at the reference price)::

    demand_t = demand (1 + growth)^t (1 + shock_t) (1 - pressure_t) fair_t

with ``shock_t = demand_shift`` and ``pressure_t = competitor_pressure`` (outside
competitors' share) as in force at step t (a demand shock and competitor
entry are events on the timeline, ``submodels.policy``), and trade fairs
(``marketing.fair_due``) lifting demand by ``0.5 exhibition``. Each product
group g faces constant-elasticity demand ``Q = D_g P^-elasticity`` with
``D_g = demand_t X0_g`` (``X0_g`` the group's capacity at the start); the
cluster's firms sell their capacity, so the group's price clears the market::

    P_g = min(PRICE_CAP, (X_g / D_g)^(-1 / elasticity)),   X_g = sum of the active capacity in g

and the price falls as firms crowd in.

Brand equity of the cluster has four aspects (technological, economic,
social, energy-efficient), each in [0, 1], decaying at ``brand_decay`` and
built by spending S on it::

    B <- B (1 - decay) + (1 - B) (1 - exp(-brand_efficiency S / firms))

Pool brand spend feeds all four aspects; cooperative R&D the technological
and energy aspects; association treasuries (dues, fines) the economic and
social ones; fairs the social one. The leading firms' corporate brand K is
built by the brand fees of the SMEs that use it (floor 0.3).

Revenue and profit of firm i (brand is a price premium; variable and energy
costs are per unit of output)::

    lift_i    = premium (B [member] + 0.5 K [brand user] + K [leading firm])
    revenue_i = P_g(i) cap_i (1 + lift_i)(1 + channel_bonus_i),   brand_revenue_i = P_g(i) cap_i lift_i
    profit_i  = revenue_i - cap_i (1 - margin + energy_price energy_i) - fixed_cost cap_i + cash_i

``cash_i`` is what the mechanisms and modes paid or charged this step. The
smoothed payoff that exits and entries weigh against the outside option::

    payoff_i = profit_i / cap_i,   payoff_ema_i <- payoff_ema_i + PAYOFF_MEMORY (payoff_i - payoff_ema_i)

What members take from the step into the next one's antecedents (ODD 7.3.1)::

    benefit_i <- benefit_i + memory ((share_i + surplus_i + brand_revenue_i) / cap_i - benefit_i)
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

__all__ = ["Market", "ASPECTS", "CORPORATE_BASE", "PRICE_CAP", "PAYOFF_MEMORY", "set_demand", "sell", "revenue_pass", "profit_pass"]

ASPECTS = ("technological", "economic", "social", "energy")
#: The leading firms' corporate brand at the start and its floor: leaders keep a base brand (an assumption).
CORPORATE_BASE = 0.3

#: Highest price, in units of the reference price: buyers turn to substitutes beyond it (the choke price of a
#: constant-elasticity curve, which has none of its own); it matters only for a group that has nearly emptied.
PRICE_CAP = 5.0

#: Weight of this step's payoff in the smoothed payoff: about ten months, so one bad month does not close a firm.
PAYOFF_MEMORY = 0.1


class Market:
    """External demand, the cluster brand's aspects and the leading firms' corporate brand."""

    def __init__(self, p, group_capacity: np.ndarray):
        """``group_capacity``: each product group's capacity at the start (``X0_g``); an empty group gets the mean."""
        self.p = p
        self.brand = np.zeros(4)  # cluster brand aspects
        self.corporate = CORPORATE_BASE  # leading firms' corporate brand
        self.demand_now = p.market.demand
        x0 = np.asarray(group_capacity, dtype=np.float64)
        self.base = np.where(x0 > 0, x0, x0.mean() if x0.sum() > 0 else 1.0)
        self.price = np.ones(len(x0))  # this step's price per product group
        self.price_index = 1.0  # their mean weighted by the groups' capacity

    def group_price(self, x: np.ndarray) -> np.ndarray:
        """Price per group for supplies ``x`` at this step's demand."""
        d = self.demand_now * self.base
        with np.errstate(divide="ignore"):
            ratio = np.where(x > 0, x / d, 0.0)
            return np.minimum(PRICE_CAP, np.where(ratio > 0, ratio ** (-1.0 / self.p.market.elasticity), PRICE_CAP))

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
        x = np.bincount(st.product_group[:n][firms], weights=st.capacity[:n][firms], minlength=len(self.base))
        self.price = self.group_price(x)
        self.price_index = float((self.price * x).sum() / x.sum()) if x.sum() > 0 else 0.0
        revenue_pass(firms, members, brand_users, st.kind[:n], st.capacity[:n], st.product_group[:n], self.price,
                     channel_bonus, float(self.p.market.brand_premium), self.equity, float(self.corporate), revenue,
                     brand_revenue)
        return revenue, brand_revenue


def set_demand(model, ctx) -> None:
    """This step's demand index (1 = the market buys the initial capacity at the reference price)."""
    ctx.demand = model.market.demand(ctx.t)


def sell(model, ctx) -> None:
    """Brand equity from this step's spending, then revenue, profit, resources, payoff, benefit and sunk investment."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    pool, mk, reg, con = ctx.pool, ctx.marketing, ctx.regulation, ctx.contracts
    model.market.invest(pool.brand_spend, pool.rnd_spend, reg.treasury_spend, mk.fair_spend, mk.fees, len(m.firms_idx))
    revenue, ctx.brand_revenue = model.market.revenue(st, m.firms, m.members, mk.channel_bonus, mk.brand_users)
    st.revenue[:n] = revenue
    costs = np.zeros(3)
    profit_pass(m.firms, m.members, st.capacity[:n], st.energy_intensity[:n], revenue, ctx.cash, pool.share, con.surplus,
                ctx.brand_revenue, st.contribution[:n], float(p.market.margin), float(p.market.energy_price),
                float(p.firms.fixed_cost), float(p.trust.memory), float(dues_rate(p)), PAYOFF_MEMORY, st.profit[:n],
                st.resources[:n], st.payoff[:n], st.payoff_ema[:n], st.benefit[:n], st.sunk[:n], costs)
    ctx.ledger.update(sales=float(revenue.sum()), variable_costs=-float(costs[0]), energy_costs=-float(costs[1]),
                      fixed_costs=-float(costs[2]))


@numba.njit(**JIT)
def revenue_pass(firms, members, brand_users, kind, capacity, product_group, price, channel_bonus, premium, equity,
                 corporate, revenue, brand_revenue):
    """Revenue of every actor (0 for non-firms) and its brand part (module docstring)."""
    for i in range(firms.shape[0]):
        base = capacity[i] * price[product_group[i]] if firms[i] else 0.0
        lift = premium * (equity * (1.0 if members[i] else 0.0) + (0.5 * corporate) * (1.0 if (brand_users[i] and firms[i]) else 0.0))
        lift = lift + (premium * corporate) * (1.0 if kind[i] == LEADING else 0.0)
        revenue[i] = base * (1.0 + lift) * (1.0 + channel_bonus[i])
        brand_revenue[i] = base * lift


@numba.njit(**JIT)
def profit_pass(firms, members, capacity, energy, revenue, cash, share, surplus, brand_revenue, contribution,
                margin, energy_price, fixed_cost, memory, dues_rate, payoff_memory,
                profit, resources, payoff, payoff_ema, benefit, sunk, costs):
    """Profit, resources, payoff and its smoothed value, and the benefit and sunk investment of the next step's
    antecedents (module docstring), per actor; 0 profit for non-firms. ``costs`` accumulates the variable,
    energy and fixed costs of the step."""
    for i in range(firms.shape[0]):
        cap = max(capacity[i], 1e-9)
        if firms[i]:
            variable = capacity[i] * (1.0 - margin)
            power = capacity[i] * energy_price * energy[i]
            fixed = fixed_cost * capacity[i]
            costs[0] += variable
            costs[1] += power
            costs[2] += fixed
            pr = revenue[i] - variable - power - fixed + cash[i]
            profit[i] = pr
            payoff[i] = pr / cap
            payoff_ema[i] += payoff_memory * (payoff[i] - payoff_ema[i])
            received = (share[i] + surplus[i] + brand_revenue[i]) / cap
            benefit[i] += memory * (received - benefit[i])
        else:
            profit[i] = 0.0
            payoff[i] = 0.0
        resources[i] += profit[i]
        sunk[i] = 0.95 * sunk[i] + (contribution[i] + (dues_rate * capacity[i] if members[i] else 0.0))
