"""Market and brand (*Marketing activities in an innovative energy efficient cluster*; Tu Hongbo, *On the
Clusters Marketing Model of High-tech Industry Clusters*, section 4): a finite market per product group,
brand equity, revenue, profit (ODD 7.10).

Units: a step is a month; money is counted in 100 k€; a unit of capacity is
the monthly output a mean SME sells for 100 k€ at the reference price 1.

Demand index at step t (1 = the market buys the initial cluster's capacity
at the reference price)::

    demand_t = demand (1 + growth)^t (1 + shock_t) (1 - pressure_t (1 - SOCIAL_SHIELD B_social))
               (1 + ECONOMIC_DEMAND premium B_econ) fair_t

with ``shock_t = demand_shift`` and ``pressure_t = competitor_pressure`` (outside
competitors' share) as in force at step t (a demand shock and competitor
entry are events on the timeline, ``submodels.policy``), and trade fairs
(``marketing.fair_due``) lifting demand by ``0.5 exhibition``. Each product
group g faces constant-elasticity demand ``Q = D_g P^-elasticity`` for its
output in quality units, with ``D_g = demand_t X0_g`` (``X0_g`` the group's
capacity at the start). A firm's output counts ``q_i = (1 + lift_i)(1 +
channel_bonus_i)`` quality units per unit of capacity: brands and channels
make buyers value it more. The cluster's firms sell their capacity, so the
group's price per quality unit clears the market::

    P_g = min(PRICE_CAP, (X_g / D_g)^(-1 / elasticity)),   X_g = sum of cap_i q_i over the active firms in g

and the price falls as firms crowd in, and as their rivals' brands grow: a
brand or a channel raises its owner's sales and takes part of them from the
rest of the group (with elasticity 2, the group's sales grow as the square
root of its quality-weighted supply).

Brand equity of the cluster has four aspects (technological, economic,
social, energy-efficient), each in [0, 1], decaying at ``brand_decay`` and
built by spending S on it::

    B <- B (1 - decay) + (1 - B) (1 - exp(-brand_efficiency S / firms))

Each aspect acts in its own way (000 §4, the model of a cluster brand):

* technological (novelty, quality): a price premium on members' output,
  ``premium B_tech / 2``;
* energy-efficient (the members' energy-saving technologies): a price
  premium ``premium eta_i B_energy / 2`` that a member earns as far as its
  own energy use is low, ``eta_i = clip(1.5 - e_i / e_0, 0, 1)`` (``e_0`` the
  initial mean energy intensity: 0.5 at it, 1 at two thirds of it or less);
* economic (fair prices, after-sales service): more buyers for the cluster's
  products, demand x ``(1 + ECONOMIC_DEMAND premium B_econ)``;
* social (regional jobs, import substitution): buyers stay with the cluster
  against outside competitors, whose share becomes
  ``competitor_pressure (1 - SOCIAL_SHIELD B_social)``.

Pool brand spend feeds all four aspects; cooperative R&D the technological
and energy aspects; association treasuries (dues, fines) the economic and
social ones; fairs the social one. The leading firms' corporate brand K is
built by the brand fees of the SMEs that use it (floor 0.3).

Revenue and profit of firm i (variable and energy costs are per unit of
output; ``m_i`` the product brand the joint-marketing pool bought for the
firm, ``function_interest``)::

    lift_i    = premium ((B_tech + eta_i B_energy) / 2 [member] + m_i + 0.5 K [brand user] + K [leading firm])
    revenue_i = P_g(i) cap_i q_i,   brand_revenue_i = P_g(i) cap_i lift_i
    profit_i  = revenue_i - cap_i (1 - margin + energy_price energy_i) - fixed_cost cap_i + cash_i

``cash_i`` is what the mechanisms and modes paid or charged this step. The
smoothed payoff that exits and entries weigh against the outside option::

    payoff_i = profit_i / cap_i,   payoff_ema_i <- payoff_ema_i + PAYOFF_MEMORY (payoff_i - payoff_ema_i)

What members take from the step into the next one's antecedents (ODD 7.3.1)::

    benefit_i <- benefit_i + memory ((surplus_i + brand_revenue_i) / cap_i - benefit_i)
    sunk_i    <- 0.95 sunk_i + contribution_i + paid_i

(``paid_i`` the dues the member actually paid this step, ``submodels.regulation``:
a member that withholds them and is not caught invests nothing through them.)
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..numerics import JIT
from ..state import LEADING
from .marketing import fair_due

__all__ = ["Market", "ASPECTS", "CORPORATE_BASE", "PRICE_CAP", "PAYOFF_MEMORY", "ECONOMIC_DEMAND", "SOCIAL_SHIELD", "set_demand", "sell", "quality_pass",
           "revenue_pass", "profit_pass"]

ASPECTS = ("technological", "economic", "social", "energy")
#: The leading firms' corporate brand at the start and its floor: leaders keep a base brand (an assumption).
CORPORATE_BASE = 0.3

#: Highest price, in units of the reference price: buyers turn to substitutes beyond it (the choke price of a
#: constant-elasticity curve, which has none of its own); it matters only for a group that has nearly emptied.
PRICE_CAP = 5.0

#: Demand lift per unit of brand premium at economic aspect 1 (an assumption: with the default premium 0.5, a
#: quarter more buyers at a fully built economic aspect).
ECONOMIC_DEMAND = 0.5

#: Share of the outside competitors' demand the cluster keeps at social aspect 1 (an assumption).
SOCIAL_SHIELD = 0.5

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
        self.price = np.ones(len(x0))  # this step's price per product group (per quality unit)
        self.quality = np.ones(len(x0))  # each group's quality units per unit of capacity at the last sale
        self.product_brand = 0.0  # the members' mean product brand at the last sale (what an entrant can expect)
        self.price_index = 1.0  # their mean weighted by the groups' capacity

    def group_price(self, x: np.ndarray) -> np.ndarray:
        """Price per group for capacities ``x`` at this step's demand and the groups' last quality per unit."""
        return self.clearing_price(x * self.quality)

    def expected_payoff(self, x: np.ndarray, cash: float, capacity: float, leading: bool) -> np.ndarray:
        """What a firm of ``capacity`` and the mean energy use of new firms expects per unit capacity in each
        product group, with ``x`` the groups' capacity before it and ``cash`` the enterprises' mean cash per unit
        capacity: the price its capacity would leave, with the brand lift a member can count on, less the unit
        costs of :func:`profit_pass` (the entry test of ``demography``)."""
        p = self.p
        m = p.market
        price = self.group_price(x + capacity)
        lift = m.brand_premium * (self.member_brand + self.product_brand + (self.corporate if leading else 0.0))
        cost = 1.0 - m.margin + m.energy_price * p.firms.energy_intensity + p.firms.fixed_cost
        return price * (1.0 + lift) - cost + cash

    def clearing_price(self, x: np.ndarray) -> np.ndarray:
        """Price per group for quality-weighted supplies ``x`` at this step's demand."""
        d = self.demand_now * self.base
        with np.errstate(divide="ignore"):
            ratio = np.where(x > 0, x / d, 0.0)
            return np.minimum(PRICE_CAP, np.where(ratio > 0, ratio ** (-1.0 / self.p.market.elasticity), PRICE_CAP))

    def demand(self, t: int) -> float:
        m, mk = self.p.market, self.p.marketing
        d = m.demand * (1.0 + m.growth) ** t
        tech, econ, social, energy = self.brand.tolist()
        d *= 1.0 + m.demand_shift  # the shock and competitor entry arrive on the timeline (submodels.policy)
        d *= 1.0 - m.competitor_pressure * (1.0 - SOCIAL_SHIELD * social)
        d *= 1.0 + ECONOMIC_DEMAND * m.brand_premium * econ
        if fair_due(self.p, t):
            d *= 1.0 + 0.5 * mk.exhibition
        self.demand_now = d
        return d

    @property
    def equity(self) -> float:
        return float(self.brand.mean())

    @property
    def member_brand(self) -> float:
        """The cluster brand's premium (per unit of ``brand_premium``) for a member of the initial mean energy use."""
        return 0.5 * (float(self.brand[0]) + 0.5 * float(self.brand[3]))

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

    def revenue(self, st, firms: np.ndarray, members: np.ndarray, channel_bonus: np.ndarray, brand_users: np.ndarray,
                energy_reference: float) -> tuple[np.ndarray, np.ndarray]:
        """Revenue of every node (0 for non-firms) and the part due to brand premiums (loops: :func:`quality_pass`,
        :func:`revenue_pass`)."""
        n = st.n_nodes
        revenue, brand_revenue, quality = np.empty(n), np.empty(n), np.empty(n)
        x, cap = np.zeros(len(self.base)), np.zeros(len(self.base))
        quality_pass(firms, members, brand_users, st.kind[:n], st.capacity[:n], st.product_group[:n],
                     st.marketing_stock[:n], st.energy_intensity[:n], channel_bonus, float(self.p.market.brand_premium),
                     float(self.brand[0]), float(self.brand[3]), float(energy_reference), float(self.corporate),
                     quality, brand_revenue, x, cap)
        self.price = self.clearing_price(x)
        self.quality = np.where(cap > 0, x / np.where(cap > 0, cap, 1.0), self.quality)
        self.product_brand = float(st.marketing_stock[:n][members].mean()) if members.any() else 0.0
        self.price_index = float((self.price * cap).sum() / cap.sum()) if cap.sum() > 0 else 0.0
        revenue_pass(firms, st.capacity[:n], st.product_group[:n], self.price, quality, revenue, brand_revenue)
        return revenue, brand_revenue


def set_demand(model, ctx) -> None:
    """This step's demand index (1 = the market buys the initial capacity at the reference price)."""
    ctx.demand = model.market.demand(ctx.t)


def sell(model, ctx) -> None:
    """Brand equity from this step's spending, then revenue, profit, resources, payoff, benefit and sunk investment."""
    p, st, m, n = model.params, model.state, ctx.masks, ctx.n
    pool, mk, reg, con = ctx.pool, ctx.marketing, ctx.regulation, ctx.contracts
    model.market.invest(pool.brand_spend, pool.rnd_spend, reg.treasury_spend, mk.fair_spend, mk.fees, len(m.firms_idx))
    revenue, ctx.brand_revenue = model.market.revenue(st, m.firms, m.members, mk.channel_bonus, mk.brand_users,
                                                      model.energy_reference)
    st.revenue[:n] = revenue
    costs = np.zeros(3)
    dues_paid = reg.paid if reg.paid is not None else np.zeros(n)  # what members paid, not what they owed
    profit_pass(m.firms, st.capacity[:n], st.energy_intensity[:n], revenue, ctx.cash, con.surplus,
                ctx.brand_revenue, st.contribution[:n], float(p.market.margin), float(p.market.energy_price),
                float(p.firms.fixed_cost), float(p.trust.memory), dues_paid, PAYOFF_MEMORY, st.profit[:n],
                st.resources[:n], st.payoff[:n], st.payoff_ema[:n], st.benefit[:n], st.sunk[:n], costs)
    ctx.ledger.update(sales=float(revenue.sum()), variable_costs=-float(costs[0]), energy_costs=-float(costs[1]),
                      fixed_costs=-float(costs[2]))


@numba.njit(**JIT)
def quality_pass(firms, members, brand_users, kind, capacity, product_group, stock, energy, channel_bonus, premium,
                 tech, energy_aspect, energy_reference, corporate, quality, lift, supply, group_capacity):
    """Quality units per unit capacity ``q_i`` and brand lift of every actor (module docstring); the
    quality-weighted supply of each product group is added to ``supply``, its firms' capacity to
    ``group_capacity`` (in row order, as ``np.bincount`` sums)."""
    for i in range(firms.shape[0]):
        if not firms[i]:
            quality[i] = 0.0
            lift[i] = 0.0
            continue
        eta = min(1.0, max(0.0, 1.5 - energy[i] / energy_reference))
        cluster = 0.5 * (tech + eta * energy_aspect) if members[i] else 0.0
        up = premium * (cluster + stock[i] + (0.5 * corporate) * (1.0 if brand_users[i] else 0.0))
        up = up + (premium * corporate) * (1.0 if kind[i] == LEADING else 0.0)
        quality[i] = (1.0 + up) * (1.0 + channel_bonus[i])
        lift[i] = up
        supply[product_group[i]] += capacity[i] * quality[i]
        group_capacity[product_group[i]] += capacity[i]


@numba.njit(**JIT)
def revenue_pass(firms, capacity, product_group, price, quality, revenue, brand_revenue):
    """Revenue of every actor (0 for non-firms); ``brand_revenue`` turns from the lift into its money."""
    for i in range(firms.shape[0]):
        base = capacity[i] * price[product_group[i]] if firms[i] else 0.0
        revenue[i] = base * quality[i]
        brand_revenue[i] = base * brand_revenue[i]


@numba.njit(**JIT)
def profit_pass(firms, capacity, energy, revenue, cash, surplus, brand_revenue, contribution,
                margin, energy_price, fixed_cost, memory, dues_paid, payoff_memory,
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
            received = (surplus[i] + brand_revenue[i]) / cap
            benefit[i] += memory * (received - benefit[i])
        else:
            profit[i] = 0.0
            payoff[i] = 0.0
        resources[i] += profit[i]
        sunk[i] = 0.95 * sunk[i] + (contribution[i] + dues_paid[i])
