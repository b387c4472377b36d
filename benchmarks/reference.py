"""A naive reference of the model's core step, written the plain Mesa way.

It exists only to be measured against (``python -m benchmarks``) and to check
that the vectorized ``ClusterModel`` gives the same aggregate dynamics
(``tests/test_reference.py``). Every firm and association is a
``FixedAgent`` in a cell of Mesa's ``discrete_space.Network``; each phase of
the step is one ``shuffle_do`` over the agents, and every agent loops over
its neighbours one at a time. Numbers are Python floats; randomness is the
model's ``self.random``. The agents are in :mod:`benchmarks.reference_agents`.

Core configuration (what the reference implements; the vectorized side must
run the same, see :data:`CORE_OVERRIDES`): any structure, all three
mechanisms (function interest with equal or proportional sharing, regulation
with dues, sanctions, expulsion and culture, contracts), information direct
and relayed through the CDC with delay and loss, trust, commitment and the
KMV outcomes, the cooperation decision, imitation, brand equity and revenue.
Left out: the six marketing modes (all 0) and entry and voluntary exit
(``demography.entry_rate = leave_rate = 0``); expulsion and bankruptcy exits
are kept. The rules and parameters are those of ``sim/`` (see the module
docstrings there); only the order of random draws differs.
"""

from __future__ import annotations

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network

from sim.scenario import Scenario
from sim.structures import build_structure
from sim.submodels.market import Market

from .reference_agents import Association, Firm, Link, Tie, supplier_of

__all__ = ["CORE_OVERRIDES", "ReferenceModel", "core_scenario"]

#: Scenario overrides that switch off what the reference leaves out.
CORE_OVERRIDES: dict[str, float] = {
    "demography.entry_rate": 0.0,
    "demography.leave_rate": 0.0,
    "demography.closure_rate": 0.0,
    "demography.leading_entry_rate": 0.0,
    "trade.links": 0,
    "marketing.cluster_brand": 0.0,
    "marketing.channel_sharing": 0.0,
    "marketing.leading_traction": 0.0,
    "marketing.exhibition": 0.0,
    "marketing.cooperative_rnd": 0.0,
    "marketing.alliance": 0.0,
}


def core_scenario(base: Scenario | None = None, **overrides) -> Scenario:
    """``base`` (the baseline if None) with :data:`CORE_OVERRIDES` and dotted ``overrides`` applied."""
    base = base if base is not None else Scenario()
    return base.with_overrides({**CORE_OVERRIDES, **overrides}, source="benchmarks core")


class ReferenceModel(mesa.Model):
    """The core of ``ClusterModel``, one agent at a time.

    Args:
        scenario: parameters (use :func:`core_scenario`); the structure comes
            from ``sim.structures`` so both models see the same kind of graph.
        rng: seed.
    """

    def __init__(self, scenario: Scenario | None = None, *, rng: int | None = None):
        params = scenario if scenario is not None else core_scenario()
        super().__init__(rng=rng if rng is not None else params.run.seed)
        self.params = params
        p = params
        struct = build_structure(p.structure, self.rng)
        n_a = struct.n_associations
        graph = nx.Graph()
        graph.add_nodes_from(range(n_a + struct.n_firms))
        graph.add_edges_from((int(a) + n_a, int(b) + n_a) for a, b in struct.edges)
        graph.add_edges_from((int(a), int(f) + n_a) for a, f in struct.assoc_edges)
        self.grid = Network(graph, capacity=1, random=self.random, layout=None)
        self.associations = [Association(self, self.grid._cells[i]) for i in range(n_a)]
        self.firms: list[Firm] = []
        for i in range(struct.n_firms):
            a = int(struct.assoc_of[i])
            assoc = self.associations[a] if a >= 0 else None
            firm = Firm(self, self.grid._cells[n_a + i], int(struct.firm_kind[i]), assoc)
            if assoc is not None:
                assoc.members.append(firm)
            self.firms.append(firm)
        actors = self.associations + self.firms
        for a, b in graph.edges():
            link = Link()
            actors[a].ties[actors[b].unique_id] = Tie(p.trust.initial, link)
            actors[b].ties[actors[a].unique_id] = Tie(p.trust.initial, link)
            if p.mechanisms.contract.enabled and not actors[a].is_association and not actors[b].is_association:
                trades = supplier_of(actors[a], actors[b]) or supplier_of(actors[b], actors[a])
                if self.random.random() < p.mechanisms.contract.initial_share and trades:
                    link.contract_left = self.random.randint(1, p.mechanisms.contract.duration)
        self.market = Market(p, self.group_capacity())
        self.energy_reference = sum(f.energy_intensity for f in self.firms) / len(self.firms)
        self.prices = [1.0] * p.firms.n_product_groups
        info = p.information
        self.message_rate = min(1.0, info.message_rate * (0.5 + p.internal_marketing.place))
        self.relay_delay = int(round(info.relay_delay * (1.0 - info.digitalization)))
        self.digitalization_cost = info.digitalization_cost * info.digitalization
        fi, reg = p.mechanisms.function_interest, p.mechanisms.regulation
        self.brand_share, self.multiplier = fi.brand_share, fi.multiplier
        self.monitoring = reg.monitoring_prob if reg.enabled else 0.0
        self.t = 0
        self.cooperation_rate = self.mean_trust = self.mean_commitment = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={"cooperation_rate": "cooperation_rate", "mean_trust": "mean_trust", "mean_commitment": "mean_commitment"})

    def group_capacity(self, quality: bool = False) -> list[float]:
        """The live firms' capacity per product group; ``quality``: weighted by each firm's quality units."""
        x = [0.0] * self.params.firms.n_product_groups
        for f in self.live_firms():
            x[f.product_group] += f.capacity * ((1.0 + f.lift) if quality else 1.0)
        return x

    def live_firms(self):
        """The firms still in the cluster, as an AgentSet."""
        return self.agents_by_type[Firm] if Firm in self.agents_by_type else mesa.agent.AgentSet([], random=self.random)

    def step(self) -> None:
        """One step of the core, in the order of ``ClusterModel``."""
        p = self.params
        mech = p.mechanisms
        firms = self.live_firms()
        assocs = self.agents_by_type[Association] if Association in self.agents_by_type else mesa.agent.AgentSet([], random=self.random)
        everyone = self.agents
        self.market.demand(self.t)
        self.info_lost = self.breaches = 0
        self.pool_in = self.brand_spend = self.treasury_spend = 0.0
        self.to_expel: list[Firm] = []
        firms.do("start_step")
        # information
        everyone.shuffle_do("send_messages")
        everyone.shuffle_do("read_messages")
        everyone.shuffle_do("measure_exposure")
        # culture and trust
        dim = p.firms.values_dim
        self.culture = [sum(f.values[k] for f in firms) / len(firms) for k in range(dim)] if len(firms) else [0.5] * dim
        assocs.do("hold_culture")
        everyone.shuffle_do("update_trust")
        live = [t.trust for a in everyone for t in (a.ties[q.unique_id] for q in a.partners())]
        self.trust_fallback = sum(live) / len(live) if live else p.trust.initial
        everyone.shuffle_do("update_commitment")
        # decisions and mechanisms
        firms.shuffle_do("decide")
        if mech.function_interest.enabled:
            firms.shuffle_do("contribute")
            assocs.shuffle_do("share_pool")
        firms.do("build_stock")
        for a in everyone:
            for tie in a.ties.values():
                tie.link.breach_of = {}
        if mech.contract.enabled:
            firms.do("place_orders")
            firms.shuffle_do("check_contracts")
        assocs.do("judge_members")
        everyone.shuffle_do("observe_partners")
        everyone.do("set_news")
        if mech.regulation.enabled:
            assocs.shuffle_do("regulate")
            firms.select(lambda f: f.member).shuffle_do("pull_culture")
        # market, learning, exits
        self.market.invest(self.brand_spend, 0.0, self.treasury_spend, 0.0, 0.0, len(firms))
        self.prices = self.market.clearing_price(np.array(self.group_capacity(quality=True))).tolist()
        firms.shuffle_do("earn")
        pays = np.array([f.payoff_ema for f in firms])
        self.payoff_spread = max(1e-9, 2.0 * float(pays.std())) if len(pays) else 1e-9
        firms.shuffle_do("imitate")
        firms.do("adopt")
        for f in self.to_expel:
            if f.active:
                f.leave()
        for f in [f for f in firms if f.active and f.resources < 0]:
            f.leave()
        self._record()
        self.t += 1

    def _record(self) -> None:
        firms = self.live_firms()
        n = len(firms)
        self.cooperation_rate = sum(f.cooperating for f in firms) / n if n else 0.0
        self.mean_commitment = sum(f.commitment for f in firms) / n if n else 0.0
        trusts = [f.ties[q.unique_id].trust for f in firms for q in f.partners()]
        self.mean_trust = sum(trusts) / len(trusts) if trusts else 0.0
        self.datacollector.collect(self)

    def n_directed_edges(self) -> int:
        """Live directed edges (the unit of the edge-updates/s figure)."""
        return sum(len(a.partners()) for a in self.agents)
