"""What flows between the submodels within one step.

``ClusterModel.step`` makes a :class:`StepContext` at the start of the step
and hands it to every submodel in the order of ``sim.model.STEP``; a
submodel reads what earlier ones left in it and adds its own results. The
state that outlives the step lives in ``sim.state.ClusterState``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .state import Masks

__all__ = ["StepContext", "InfoStats", "PoolResult", "ContractResult", "RegulationResult", "MarketingResult"]


@dataclass
class InfoStats:
    """Messages of the step (``submodels.information``)."""

    sent: int = 0
    lost: int = 0
    delay: float = 0.0  # mean delay (steps) of the messages delivered from this step's sends
    reports: np.ndarray | None = None  # int32: the live directed edges on which a message arrived, in order
    news: np.ndarray | None = None  # (2E,) what the message arrived on each of those edges tells (its sender's news when sent)


@dataclass
class PoolResult:
    """The joint-marketing pool of the step (``submodels.function_interest``); zeros when it is off."""

    share: np.ndarray  # (N,) marketing bought for each member's products
    detected: np.ndarray  # (N,) bool: free riders exposed this step
    pool_in: float = 0.0  # members' contributions
    pool_out: float = 0.0  # everything spent on marketing: contributions and subsidy
    subsidy: float = 0.0  # public money added to the pool
    brand_spend: float = 0.0
    rnd_spend: float = 0.0


@dataclass
class ContractResult:
    """The contracts of the step (``submodels.contract``); zeros when they are off."""

    surplus: np.ndarray  # (N,) honoured value received
    caught: np.ndarray  # (N,) bool: a breach of the node was caught
    breaches: int = 0
    in_force: int = 0  # contracts running after the step (the KPI contracts_active)
    created: float = 0.0  # value created minus transaction costs; ``cash.sum()`` equals it
    cash: np.ndarray | None = None  # (N,) each actor's contract payments of the step


@dataclass
class RegulationResult:
    """Dues and sanctions of the step (``submodels.regulation``); zeros when regulation is off."""

    dues: float = 0.0
    fines: float = 0.0
    treasury_spend: float = 0.0
    paid: np.ndarray | None = None  # (N,) dues each actor paid this step (None: no one owed any)
    expelled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # rows to expel


@dataclass
class MarketingResult:
    """What the marketing modes spent and set up for the market (``submodels.marketing``)."""

    fees: float  # brand fees paid to leading firms
    fair_spend: float  # members' cost of this step's fair
    channel_bonus: np.ndarray  # (N,) extra sales through contracted partners of other product groups
    brand_users: np.ndarray  # (N,) bool: firms selling under a leading firm's brand


@dataclass
class StepContext:
    """One step's shared values, filled in step order.

    Attributes:
        t: the step number (``model.time`` before the step).
        masks: the live cluster at the start of the step.
        n: rows at the start of the step (entrants come after them).
        cash: ``(n,)`` money each actor gains or pays this step besides its sales.
        demand: demand per unit capacity (``market``).
        info: messages (``information``).
        culture: ``(V,)`` mean value profile of the firms (``regulation.measure_culture``).
        contracts_of: ``(n,)`` live contracts per actor (``trust``).
        p_detect: ``(n,)`` detection probability of a defecting member (``decision``).
        pool, contracts, regulation, marketing: the mechanisms' results.
        digitalization_cost: what the IT-actor cost this step, whoever paid it (``information``).
        brand_revenue: ``(n,)`` the part of revenue due to brand premiums (``market``).
        acted: ``(n,)`` firms that acted this step and did not exit (``demography``).
        ledger: the firms' money flows of the step by source, in 100 k€ (positive: into the firms); their
            sum is the firms' total profit (``market.sell`` adds sales and costs). Brand fees pass between
            firms and are not listed.
    """

    t: int
    masks: Masks
    n: int
    cash: np.ndarray
    demand: float = 0.0
    info: InfoStats | None = None
    culture: np.ndarray | None = None
    contracts_of: np.ndarray | None = None
    p_detect: np.ndarray | None = None
    pool: PoolResult | None = None
    contracts: ContractResult | None = None
    regulation: RegulationResult | None = None
    marketing: MarketingResult | None = None
    digitalization_cost: float = 0.0
    brand_revenue: np.ndarray | None = None
    acted: np.ndarray | None = None
    ledger: dict[str, float] = field(default_factory=dict)
