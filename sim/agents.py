"""The actors: Mesa agents for identity, decisions that happen rarely, and display.

Per-step state lives in the model's arrays (``sim/state.py``); an agent's
attributes are properties reading its row ``node``, so Mesa's tools and the
browser still see agents. Rare decisions (leaving, expulsion) are agent methods.
"""

from __future__ import annotations

import mesa

__all__ = ["ClusterActor", "Enterprise", "LeadingFirm", "Association", "DevelopmentCenter"]


def _row(name: str, doc: str):
    def get(self):
        return getattr(self.model.state, name)[self.node].item()

    return property(get, doc=doc)


class ClusterActor(mesa.Agent):
    """An actor with a row ``node`` in the model's arrays."""

    kind_name = "actor"

    def __init__(self, model, node: int):
        super().__init__(model)
        self.node = int(node)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(node={self.node})"


class Enterprise(ClusterActor):
    """An SME of the cluster (ODD 2.1, Entities)."""

    kind_name = "enterprise"
    active = _row("active", "member of the cluster")
    capacity = _row("capacity", "production capacity (1 = mean SME)")
    resources = _row("resources", "money held")
    disposition = _row("disposition", "learnt cooperativeness in [0, 1]")
    cooperating = _row("cooperating", "cooperated (contributed, honoured contracts) this step")
    commitment = _row("commitment", "commitment to the cluster in [0, 1]")
    partner_commitment = _row("partner_commitment", "commitment to partners in [0, 1]")
    trust = _row("mean_trust", "mean trust in its partners in [0, 1]")
    reputation = _row("reputation", "reputation in [0, 1]")
    energy_intensity = _row("energy_intensity", "energy use per unit of output")
    product_group = _row("product_group", "product group (complementarity)")
    contribution = _row("contribution", "joint-marketing contribution this step")
    revenue = _row("revenue", "revenue this step")
    profit = _row("profit", "profit this step")
    association = _row("assoc_of", "association (node index) it belongs to, -1 none")
    termination_costs = _row("termination_costs", "KMV antecedent")
    relationship_benefits = _row("relationship_benefits", "KMV antecedent")
    shared_values = _row("shared_values", "KMV antecedent")
    communication = _row("communication", "KMV antecedent")
    opportunistic_behaviour = _row("opportunistic_behaviour", "KMV antecedent (seen in its partners)")
    acquiescence = _row("acquiescence", "KMV outcome")
    propensity_to_leave = _row("propensity_to_leave", "KMV outcome")
    cooperation = _row("propensity_to_cooperate", "KMV outcome: propensity to cooperate")
    functional_conflict = _row("functional_conflict", "KMV outcome")
    decision_uncertainty = _row("decision_uncertainty", "KMV outcome")

    def leave(self, reason: str) -> None:
        """Leave the cluster (exit, bankruptcy or expulsion): mask the row, drop the agent."""
        self.model.state.active[self.node] = False
        self.model.exit_reasons[reason] = self.model.exit_reasons.get(reason, 0) + 1
        self.model.node_agent.pop(self.node, None)
        self.remove()


class LeadingFirm(Enterprise):
    """A large enterprise with its own brand and marketing network; places orders with suppliers."""

    kind_name = "leading_firm"


class Association(ClusterActor):
    """Trade association, chamber or technology institute: dues, rules, culture, collective mark."""

    kind_name = "association"
    treasury = _row("treasury", "dues and fines not yet spent")
    trust = _row("mean_trust", "mean trust in its members")

    @property
    def members(self) -> int:
        st = self.model.state
        return int((st.firm_mask() & (st.assoc_of[: st.n_nodes] == self.node)).sum())


class DevelopmentCenter(ClusterActor):
    """The Cluster Development Center: relays information, runs the MIS (002)."""

    kind_name = "cdc"

    def __init__(self, model):
        super().__init__(model, node=-1)

    @property
    def relay_delay(self) -> int:
        from .submodels.information import relay_delay

        return relay_delay(self.model.params)

    @property
    def relay_loss(self) -> float:
        i = self.model.params.information
        return i.relay_loss * (1.0 - i.digitalization)
