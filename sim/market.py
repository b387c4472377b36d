"""Market and marketing (000, 003 section 4).

Demand per unit capacity at step t::

    demand_t = demand * (1 + growth)^t * (1 + shock_t) * (1 - pressure_t) * fair_t

with a demand shock of ``shock_size`` for ``shock_duration`` steps from
``shock_step``, competitor pressure rising to ``competitor_entry_pressure``
at ``competitor_entry_step``, and trade fairs (exhibition mode, 003 4.4)
every ``exhibition_period`` steps lifting demand by ``0.5 * exhibition``.

Brand equity of the cluster has the four aspects of 000 (technological,
economic, social, energy-efficient), each in [0, 1], decaying at
``brand_decay`` and built by spending S on it::

    B <- B (1 - decay) + (1 - B) (1 - exp(-brand_efficiency * S / members))

Pool brand spend feeds all four aspects; cooperative R&D feeds the
technological and energy aspects (and lowers members' energy intensity);
association treasuries (dues, fines) feed the social and economic aspects;
fairs feed the social aspect. The leading firms' corporate brand is built by
the fees of SMEs that use it (traction, 4.3).

Firm revenue: ``capacity * demand_t * (1 + premium * (B_cluster [member]
+ 0.5 B_corporate [brand user, while a leading firm exists] + B_corporate
[leading firm])) * (1 + channel bonus)``; gross profit is
``revenue * (margin - energy_price * energy_intensity)`` minus fixed costs.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels

__all__ = ["Market", "ASPECTS"]

ASPECTS = ("technological", "economic", "social", "energy")


class Market:
    """External demand, brand equity and the marketing modes."""

    def __init__(self, p):
        self.p = p
        self.brand = np.zeros(4)  # cluster brand aspects
        self.corporate = 0.3  # leading firms' corporate brand
        self.demand_now = p.market.demand

    def demand(self, t: int) -> float:
        m, mk = self.p.market, self.p.marketing
        d = m.demand * (1.0 + m.growth) ** t
        if m.shock_step is not None and m.shock_step <= t < m.shock_step + m.shock_duration:
            d *= 1.0 + m.shock_size
        pressure = m.competitor_pressure
        if m.competitor_entry_step is not None and t >= m.competitor_entry_step:
            pressure = max(pressure, m.competitor_entry_pressure)
        d *= 1.0 - pressure
        if self.fair(t):
            d *= 1.0 + 0.5 * mk.exhibition
        self.demand_now = d
        return d

    def fair(self, t: int) -> bool:
        mk = self.p.marketing
        return mk.exhibition > 0 and t % mk.exhibition_period == 0

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
        self.corporate = max(self.corporate, 0.3)  # leaders keep their own base brand

    def revenue(self, st, firms: np.ndarray, members: np.ndarray, channel_bonus: np.ndarray, brand_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Revenue of every node (0 for non-firms) and the part due to brand premiums (loop: ``kernels.revenue_pass``)."""
        n = st.n_nodes
        revenue, brand_revenue = np.empty(n), np.empty(n)
        kernels.revenue_pass(firms, members, brand_users, st.kind[:n], st.capacity[:n], channel_bonus, float(self.demand_now),
                             float(self.p.market.brand_premium), self.equity, float(self.corporate), revenue, brand_revenue)
        return revenue, brand_revenue
