"""The scenario's schema: every section's fields with defaults and bounds, and validation against it.

:class:`Scenario` is the full parameter set; :func:`scenario_from_dict` validates a nested mapping into one and
turns every problem into a :class:`ScenarioError` naming the dotted field, the bad value and what is allowed.
Reading files, ``extends``, overrides and variants are :mod:`sim.scenario`'s.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ScenarioError, quote
from .scenario_files import did_you_mean, set_dotted
from .timeline import check_timeline
from .uncertainty import UncertainParams

__all__ = ["Scenario", "PolicyEvent", "scenario_from_dict"]


Unit = Field(ge=0.0, le=1.0)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)  # no "1" for 1, no true for 1.0


class StructureParams(_Section):
    """How the interaction network is built (003 section 3.1)."""

    kind: Literal["hierarchical", "star", "chain", "network", "edge_list", "data"] = "network"
    n_firms: int = Field(200, ge=3, le=2_000_000, description="firms at start (enterprises + leading firms)")
    generator: Literal["barabasi_albert", "erdos_renyi", "watts_strogatz", "random_regular"] = "barabasi_albert"
    mean_degree: float = Field(6.0, ge=1.0, le=200.0, description="mean firm-firm degree (network)")
    rewire_p: float = Field(0.1, ge=0.0, le=1.0, description="Watts-Strogatz rewiring probability")
    n_leading: int = Field(2, ge=0, le=1000, description="leading firms (top tier in hierarchical)")
    service_share: float = Field(0.3, ge=0.0, le=1.0, description="hierarchical: share of non-leading firms in the middle (service) tier")
    up_links: int = Field(2, ge=1, le=10, description="hierarchical: links of each firm to the tier above; chain: to the stage before")
    peer_p: float = Field(0.02, ge=0.0, le=1.0, description="hierarchical: probability of a link between two firms of the same lower tier, per firm; chain: of the same stage")
    n_functions: int = Field(5, ge=2, le=20, description="chain: marketing functions (stages), each carried by a group of firms")
    n_associations: int = Field(1, ge=0, le=100, description="associations (star always has one, the centre)")
    edge_list_path: str | None = Field(None, description="edge_list: CSV with columns source,target and optional node_types CSV")
    edge_list_types_path: str | None = None


class DataParams(_Section):
    """A real cluster's files (README "Your own data", docs/ODD.md section 6); paths are relative to the file naming them."""

    folder: str | None = Field(None, description="folder with firms.csv and, optionally, trade.csv and organization.csv")
    firms: str | None = Field(None, description="firms.csv (instead of the folder's)")
    trade: str | None = Field(None, description="trade.csv: supplier, buyer, optional volume and contract")
    organization: str | None = Field(None, description="organization.csv: coordinator, member (structure.kind = 'data')")
    value_chain: list[str] = Field([], description="product groups named in firms.csv, upstream first")
    survey_scale: list[float] = Field([1.0, 7.0], min_length=2, max_length=2, description="lowest and highest answer of the survey columns")


class FirmParams(_Section):
    """Initial attributes of enterprises (ODD 2.1, Entities)."""

    cooperativeness: float = Field(0.6, ge=0.0, le=1.0, description="mean initial disposition to cooperate")
    cooperativeness_sd: float = Field(0.15, ge=0.0, le=1.0)
    resources: float = Field(20.0, ge=0.0, description="mean initial resources per unit capacity (100 k€)")
    capacity_sigma: float = Field(0.5, ge=0.0, le=3.0, description="log-normal sigma of capacity")
    leading_capacity: float = Field(10.0, ge=1.0, le=1000.0, description="capacity of a leading firm relative to a mean SME")
    energy_intensity: float = Field(1.0, gt=0.0, le=10.0, description="mean energy use per unit of output")
    energy_intensity_sd: float = Field(0.2, ge=0.0, le=5.0)
    n_product_groups: int = Field(4, ge=1, le=100)
    values_dim: int = Field(3, ge=1, le=10, description="dimensions of the shared-values profile")
    values_spread: float = Field(0.25, ge=0.0, le=1.0, description="sd of values around the cluster culture")
    fixed_cost: float = Field(0.1, ge=0.0, description="fixed cost per step per unit capacity (100 k€ per capacity-month)")


class TrustParams(_Section):
    """Morgan-Hunt KMV weights (001 Figure 2). Signs are fixed by the theory; sizes are assumptions."""

    initial: float = Field(0.5, ge=0.0, le=1.0)
    speed: float = Field(0.2, gt=0.0, le=1.0, description="share of the gap to target trust closed per step")
    bias: float = Field(-0.5)
    w_shared_values: float = Field(1.5, ge=0.0)
    w_communication: float = Field(1.5, ge=0.0)
    w_opportunism: float = Field(4.0, ge=0.0)
    commitment_initial: float = Field(0.5, ge=0.0, le=1.0)
    commitment_speed: float = Field(0.2, gt=0.0, le=1.0)
    commitment_bias: float = Field(-2.5)
    w_termination_costs: float = Field(1.5, ge=0.0)
    w_benefits: float = Field(2.0, ge=0.0)
    w_values_commitment: float = Field(1.0, ge=0.0)
    w_trust_commitment: float = Field(2.5, ge=0.0)
    memory: float = Field(0.3, gt=0.0, le=1.0, description="EMA weight of new observations (communication, opportunism)")


class FunctionInterestParams(_Section):
    """Joint marketing as a public good (003 section 3.3 (1))."""

    enabled: bool = True
    sharing: Literal["equal", "proportional"] = "proportional"
    contribution: float = Field(0.1, ge=0.0, description="contribution of a cooperating firm per step, per unit capacity")
    multiplier: float = Field(1.6, ge=0.0, le=20.0, description="reach of pooled marketing: product-brand growth per unit spent per unit capacity (synergy r of pooling)")
    subsidy: float = Field(0.0, ge=0.0, le=10.0, description="public money added to the pool per unit members contribute, paid from public funds")
    brand_share: float = Field(0.3, ge=0.0, le=1.0, description="share of the pool spent on the cluster brand")
    reputation_detection: float = Field(0.5, ge=0.0, le=1.0, description="chance a free rider is exposed by delivered reports of its partners")


class RegulationParams(_Section):
    """Association rules and cluster culture (003 section 3.3 (2))."""

    enabled: bool = True
    monitoring_prob: float = Field(0.3, ge=0.0, le=1.0)
    sanction: float = Field(0.3, ge=0.0, description="fine for a detected free rider or breach, per unit capacity")
    reputation_penalty: float = Field(0.3, ge=0.0, le=1.0)
    expulsion_strikes: float = Field(5.0, ge=1.0, le=1000.0, description="recent (fading) offences at which a member is expelled")
    culture_strength: float = Field(0.05, ge=0.0, le=1.0, description="pull of shared values towards the cluster culture per step")
    dues: float = Field(0.02, ge=0.0, description="membership dues per step, per unit capacity")


class ContractParams(_Section):
    """Bilateral contracts on firm-firm links (003 section 3.3 (3))."""

    enabled: bool = True
    initial_share: float = Field(0.3, ge=0.0, le=1.0, description="share of firm-firm links under contract at start")
    formation_rate: float = Field(0.05, ge=0.0, le=1.0, description="chance per step an uncontracted link signs, scaled by trust and the pair's lower reputation")
    duration: int = Field(12, ge=1, le=10_000, description="steps a contract runs")
    breach_gain: float = Field(0.1, ge=0.0, description="share of the order a breaching party takes from its partner")
    enforcement_prob: float = Field(0.5, ge=0.0, le=1.0)
    breach_penalty: float = Field(0.6, ge=0.0, description="share of the order a caught breacher pays its partner")
    transaction_cost: float = Field(0.02, ge=0.0, description="share of the order each party spends per step on the contract, lowered by trust")
    renewal_threshold: float = Field(0.5, ge=0.0, le=1.0, description="mean trust at which renewal is a coin flip")
    renewal_slope: float = Field(10.0, ge=0.0)


class TradeParams(_Section):
    """Trade between firms: the supplier-buyer layer under every structure (ODD 7.16)."""

    links: int = Field(2, ge=0, le=50, description="suppliers each buyer keeps (a leading firm five times as many); 0: only the structure's links")
    input_share: float = Field(0.4, ge=0.0, le=1.0, description="inputs a buyer buys per step, as a share of its output's value")
    saving: float = Field(0.1, ge=0.0, le=1.0, description="share of an order saved when it is bought under contract inside the cluster, split by the partners")
    search_rate: float = Field(0.05, ge=0.0, le=1.0, description="chance per step a buyer short of suppliers looks for one")
    drop_after: int = Field(60, ge=0, le=10_000, description="steps without a contract after which a buyer drops a supplier link it found by search; 0: never")


class MechanismParams(_Section):
    function_interest: FunctionInterestParams = FunctionInterestParams()
    regulation: RegulationParams = RegulationParams()
    contract: ContractParams = ContractParams()


class InformationParams(_Section):
    """Direct and CDC-relayed messages (002)."""

    digitalization: float = Field(0.3, ge=0.0, le=1.0, description="IT-actor level: lowers relay delay and loss")
    message_rate: float = Field(0.5, ge=0.0, le=1.0, description="chance per step a linked actor sends a message")
    cdc_share: float = Field(0.5, ge=0.0, le=1.0, description="share of messages routed through the CDC")
    relay_delay: int = Field(4, ge=0, le=50, description="steps of relay delay at digitalization 0")
    relay_loss: float = Field(0.4, ge=0.0, le=1.0, description="relay loss probability at digitalization 0")
    direct_loss: float = Field(0.1, ge=0.0, le=1.0)
    digitalization_cost: float = Field(0.03, ge=0.0, description="the IT-actor's cost per step per active firm at digitalization 1 (100 k€)")
    digitalization_payer: Literal["members", "public"] = Field("members", description="who pays the IT-actor: the association's members through their dues, or public funds for the Cluster Development Center")


class MarketParams(_Section):
    """External demand and brand equity (000, 003 section 4)."""

    demand: float = Field(1.0, gt=0.0, le=100.0, description="market size: output the market buys at the reference price, as a multiple of the initial cluster's capacity")
    elasticity: float = Field(2.0, gt=1.0, le=20.0, description="price elasticity of demand for the cluster's output (constant)")
    growth: float = Field(0.0, ge=-0.2, le=0.2, description="demand growth per step")
    margin: float = Field(0.35, ge=0.0, le=1.0, description="gross margin at the reference price before energy costs: variable cost per unit of output is 1 - margin")
    energy_price: float = Field(0.15, ge=0.0, description="energy cost per unit of output at energy intensity 1 (100 k€ per capacity-month)")
    brand_decay: float = Field(0.05, ge=0.0, le=1.0, description="share of brand equity lost per step")
    brand_efficiency: float = Field(1.0, ge=0.0, description="equity gained per unit spent, per firm-normalised unit")
    brand_premium: float = Field(0.5, ge=0.0, le=5.0, description="price premium at brand equity 1")
    competitor_pressure: float = Field(0.0, ge=0.0, le=0.9, description="share of demand taken by outside competitors")
    shock_step: int | None = Field(None, ge=0, description="step at which a demand shock starts")
    shock_size: float = Field(-0.3, ge=-0.95, le=5.0, description="relative change of demand during the shock")
    shock_duration: int = Field(10, ge=1)
    competitor_entry_step: int | None = Field(None, ge=0)
    competitor_entry_pressure: float = Field(0.3, ge=0.0, le=0.9, description="competitor pressure after entry")
    demand_shift: float = Field(0.0, ge=-0.95, le=5.0, description="relative change of demand in force (a shock: set it on the timeline)")


class MarketingParams(_Section):
    """The six marketing modes of 003 section 4, as intensities in [0, 1]."""

    cluster_brand: float = Field(0.0, ge=0.0, le=1.0, description="4.1 cluster brand clusters: more of the pool into the collective brand")
    channel_sharing: float = Field(0.0, ge=0.0, le=1.0, description="4.2 channel network sharing: contracted partners with complementary products sell through each other")
    leading_traction: float = Field(0.0, ge=0.0, le=1.0, description="4.3 leading-enterprise traction: SMEs use the leading brand for a fee")
    exhibition: float = Field(0.0, ge=0.0, le=1.0, description="4.4 exhibition promotion: periodic fairs raise demand and brand")
    cooperative_rnd: float = Field(0.0, ge=0.0, le=1.0, description="4.5 cooperative R&D: part of the pool lowers energy intensity and lifts the technological brand")
    alliance: float = Field(0.0, ge=0.0, le=1.0, description="4.6 marketing alliance: pooled marketing lowers unit marketing cost")
    brand_fee: float = Field(0.05, ge=0.0, description="fee per unit capacity an SME pays to use the leading brand")
    exhibition_period: int = Field(12, ge=1)


class InternalMarketingParams(_Section):
    """The internal-marketing 4P of a cluster (001 Table 1), as intensities in [0, 1]."""

    product: float = Field(0.5, ge=0.0, le=1.0, description="value proposition to members: raises perceived relationship benefits")
    price: float = Field(0.5, ge=0.0, le=1.0, description="cost of participation: scales dues")
    place: float = Field(0.5, ge=0.0, le=1.0, description="information space: scales message rate")
    promotion: float = Field(0.5, ge=0.0, le=1.0, description="cluster culture: scales the pull of shared values")


class DemographyParams(_Section):
    entry_rate: float = Field(0.005, ge=0.0, le=1.0, description="potential entrants per step per initial firm; each enters if its expected profit beats the outside option by the entry hurdle")
    leave_rate: float = Field(0.05, ge=0.0, le=1.0, description="chance per step that a firm earning less than its outside option, with propensity to leave 1, leaves")
    outside_option: float = Field(0.03, ge=-1.0, le=10.0, description="profit per step per unit capacity a firm could earn outside the cluster (100 k€ per capacity-month)")
    entry_cost: float = Field(3.0, ge=0.0, le=1000.0, description="sunk set-up cost of an entrant per unit capacity (100 k€), paid to outside suppliers")
    closure_rate: float = Field(0.003, ge=0.0, le=1.0, description="chance per step a firm closes for reasons outside the model (succession, takeover)")
    leading_entry_rate: float = Field(0.006, ge=0.0, le=1.0, description="chance per step a leading firm considers entering (rare)")
    entry_links: int = Field(2, ge=1, le=50, description="links of an entrant (network kinds)")


class LearningParams(_Section):
    imitation: float = Field(0.3, ge=0.0, le=1.0, description="share of firms that compare payoffs with a random partner each step")
    step_size: float = Field(0.3, ge=0.0, le=1.0, description="how far an imitator moves its disposition towards the better partner")
    w_commitment: float = Field(2.0, ge=0.0)
    w_trust: float = Field(2.0, ge=0.0)
    w_disposition: float = Field(3.0, ge=0.0)
    w_incentive: float = Field(4.5, ge=0.0, description="weight of the expected gain over the stakes (in [-1, 1]) from cooperating")
    bias: float = Field(-5.0)


class ValidationParams(_Section):
    kind: Literal["none", "pd_imitation"] = "none"
    b: float = Field(1.5, ge=1.0, le=10.0, description="temptation T in the Prisoner's Dilemma (R=1, P=S=0)")


class RunParams(_Section):
    steps: int = Field(100, ge=1, le=1_000_000)
    seed: int = Field(42, ge=0, description="default seed when none is given")


class PolicyEvent(_Section):
    """One entry of the ``[[policy]]`` timeline: levers that change at a step (docs/ODD.md, the timeline).

    From step ``at`` on, the levers in ``set`` (dotted keys) hold their new
    values; over ``ramp`` steps a numeric lever moves there linearly (it
    reaches the value at step ``at + ramp - 1``); at step ``until`` the values
    in force before the event return.
    """

    at: int = Field(ge=1, description="step from which the event applies (before the step's submodels)")
    set: dict[str, Any] = Field(description="dotted keys to values, e.g. {\"mechanisms.regulation.enabled\" = true}")
    ramp: int | None = Field(None, ge=1, le=1_000_000, description="steps over which a numeric lever moves linearly")
    until: int | None = Field(None, ge=2, description="step at which the values in force before the event return")
    label: str = Field("", description="name shown on the figures")


class Scenario(_Section):
    """The full, validated parameter set of one scenario."""

    name: str = "baseline"
    description: str = ""
    structure: StructureParams = StructureParams()
    data: DataParams = DataParams()
    firms: FirmParams = FirmParams()
    trust: TrustParams = TrustParams()
    mechanisms: MechanismParams = MechanismParams()
    information: InformationParams = InformationParams()
    market: MarketParams = MarketParams()
    marketing: MarketingParams = MarketingParams()
    internal_marketing: InternalMarketingParams = InternalMarketingParams()
    demography: DemographyParams = DemographyParams()
    trade: TradeParams = TradeParams()
    learning: LearningParams = LearningParams()
    validation: ValidationParams = ValidationParams()
    run: RunParams = RunParams()
    uncertain: UncertainParams = Field(UncertainParams(), description="parameters drawn per replicate by compare and "
                                                                      "sweep (sim/uncertainty.py)")
    policy: list[PolicyEvent] = Field([], description="the timeline: [[policy]] entries, applied in file order at each step")

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        s = self.structure
        if s.kind == "edge_list" and not s.edge_list_path:
            raise ValueError("structure.edge_list_path is required when structure.kind = 'edge_list'")
        d = self.data
        if s.kind == "data" and not (d.folder or d.firms):
            raise ValueError("structure.kind = 'data' needs the cluster's files: [data] folder = \"...\" or firms = \"...\"")
        if (d.folder or d.firms) and s.kind == "edge_list":
            raise ValueError("structure.kind = 'edge_list' reads its own files; with [data] give structure.kind = 'data' "
                             "or a generated kind")
        if d.survey_scale[0] >= d.survey_scale[1]:
            raise ValueError(f"data.survey_scale: the lowest answer must come first (got {d.survey_scale})")
        if (d.folder or d.firms):
            return self  # the firms, leading firms and associations come from the data
        if s.kind == "network" and s.mean_degree >= s.n_firms:
            raise ValueError(
                f"structure.mean_degree ({s.mean_degree}) must be smaller than structure.n_firms ({s.n_firms})"
            )
        if s.n_leading >= s.n_firms:
            raise ValueError(f"structure.n_leading ({s.n_leading}) must be smaller than structure.n_firms ({s.n_firms})")
        return self

    def get(self, dotted: str) -> Any:
        """Value at a dotted path, e.g. ``scenario.get("structure.kind")``."""
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "<overrides>") -> "Scenario":
        """A new scenario with dotted overrides applied and validated."""
        data = self.model_dump()
        for key, value in overrides.items():
            set_dotted(data, key, value, source)
        return scenario_from_dict(data, source)


# --------------------------------------------------------------------------- validation


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names allowed at the parent of ``loc`` in the schema."""
    model: Any = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = field.annotation
    return sorted(model.model_fields) if hasattr(model, "model_fields") else []


def _field_hint(loc: tuple) -> str:
    """Describe what a field allows: choices, bounds, type."""
    model: Any = Scenario
    field = None
    for part in loc:
        if part.isdigit() and typing.get_origin(model) is list:  # an entry of a list of tables ([[policy]])
            model = typing.get_args(model)[0]
            continue
        if not hasattr(model, "model_fields") or part not in model.model_fields:
            return ""
        field = model.model_fields[part]
        model = field.annotation
    if field is None:
        return ""
    ann = field.annotation
    args = typing.get_args(ann)
    if typing.get_origin(ann) is Literal:
        return "allowed: " + ", ".join(repr(a) for a in args)
    bounds = []
    for m in field.metadata:
        for name, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, name, None)
            if v is not None:
                bounds.append(f"{sym} {v}")
    tname = getattr(ann, "__name__", str(ann))
    hint = f"allowed: {tname}"
    if bounds:
        hint += " " + " and ".join(bounds)
    return hint


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "<scenario>"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            lines.append(f"{source}: {dotted}: unknown key{did_you_mean(loc[-1], allowed)}; "
                         f"allowed keys here: {', '.join(allowed)}")
            continue
        value = err.get("input")
        msg = err["msg"]
        if err["type"] == "value_error":  # a table's own check: say which table unless it is the scenario's
            lines.append(f"{source}: " + (f"{dotted}: " if err["loc"] else "") + msg.removeprefix("Value error, "))
            continue
        hint = _field_hint(loc)
        shown = quote(value) if not isinstance(value, dict) else "a table"
        lines.append(f"{source}: {dotted}: {msg} (got {shown})" + (f"; {hint}" if hint else ""))
    return "\n".join(lines)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a nested mapping into a :class:`Scenario`; errors name ``source``."""
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as exc:
        raise ScenarioError(_format_errors(exc, source)) from None
    check_timeline(scenario, source, scenario_from_dict)
    return scenario
