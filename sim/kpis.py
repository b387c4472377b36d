"""The KPI registry: every indicator the model collects, with its unit, direction and meaning.

One list serves the model (``sim.metrics`` derives its column tuples from it,
so the registry's order is the order of the collected columns), the report
(``analysis``: which KPIs to show, which way is better, the glossary) and the
app (``viz``: the live panels).

Units: ``share 0-1`` is a fraction of firms; ``index 0-1`` a model score in
[0, 1]; ``firms`` a count; ``links per firm`` live firm-firm links of a firm,
averaged; ``... per step`` a flow within one step; ``MU`` is
the model's money unit. What one step and one MU stand for is defined in
docs/ODD.md (section 2.5, Scales).

Who pays (docs/ODD.md, 7.17): a money KPI names its budget in ``payer``:
``public`` (public funds: the Cluster Development Center and subsidies),
``association`` (the associations' dues and fines) or ``firms`` (what the
member firms pay themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KPI", "KPIS", "BY_TYPE", "FIRM_TYPES", "PAYERS", "KMV_OUTCOMES", "SNAPSHOT_NODE_COLUMNS",
           "SNAPSHOT_EDGE_COLUMNS", "kpi", "names", "report_kpis", "headline_kpis",
           "higher_is_better", "unit_of", "panels", "cost_kpis", "spending_of", "public_spending_kpi"]

Direction = Literal["higher", "lower", "neither"]

#: The budgets that pay for an arrangement.
PAYERS: tuple[str, ...] = ("public", "association", "firms")


@dataclass(frozen=True)
class KPI:
    """One indicator.

    Attributes:
        name: column name in the model's time series (and ``<name>_mean``/``_final`` in run results).
        unit: what a value is measured in (see the module docstring).
        direction: ``"higher"`` or ``"lower"`` is better for the cluster, or ``"neither"``.
        meaning: one line for a reader of the report.
        group: ``"cluster"`` (KPI_COLUMNS), ``"antecedent"`` (the Morgan-Hunt antecedents) or
            ``"by_type"`` (one actor type's value of a cluster KPI).
        report: position in the report's KPI list; 0 leaves it out by default.
        headline: shown in the report's headline table and figures.
        panel: title of the app's live panel that draws it (KPIs with one title share a panel).
        mirror_of: a KPI this one restates (as its complement), so a summary can show only one.
        cost: money spent per step on an arrangement, shown beside the outcomes as what they cost.
        payer: the budget whose spending this KPI counts (one of :data:`PAYERS`), or None.
        denominator: the KPI this one is a ratio over (its spending), or None; a ratio over almost nothing
            spent says little, so the report ranks it only where the denominator is not tiny.
    """

    name: str
    unit: str
    direction: Direction
    meaning: str
    group: str = "cluster"
    report: int = 0
    headline: bool = False
    panel: str | None = None
    mirror_of: str | None = None
    cost: bool = False
    payer: str | None = None
    denominator: str | None = None

    @property
    def label(self) -> str:
        """The name for a reader: ``cooperation_rate`` -> ``cooperation rate``."""
        return self.name.replace("_", " ")


SHARE, INDEX, FIRMS, FIRMS_STEP, MU_STEP, MU = "share 0-1", "index 0-1", "firms", "firms per step", "MU per step", "MU"
LINKS = "links per firm"

# The order below is the column order of the collected time series; changing it changes stored results.
_CLUSTER: tuple[KPI, ...] = (
    KPI("members", FIRMS, "higher", "active firms at the end of the step (entrants included)",
        report=4, headline=True, panel="Members"),
    KPI("entries", FIRMS_STEP, "neither", "firms that entered the cluster this step", panel="Entries and exits"),
    KPI("exits", FIRMS_STEP, "lower", "firms that left: bankrupt, expelled or gone by choice",
        report=5, panel="Entries and exits"),
    KPI("cooperation_rate", SHARE, "higher", "share of firms that cooperated this step",
        report=1, headline=True, panel="Cooperation rate"),
    KPI("mean_trust", INDEX, "higher", "mean trust of firms in their live partners",
        report=2, headline=True, panel="Trust and commitment"),
    KPI("mean_commitment", INDEX, "higher", "mean commitment of firms to the cluster",
        report=3, headline=True, panel="Trust and commitment"),
    KPI("partner_commitment", INDEX, "higher", "mean commitment of firms to their partners"),
    KPI("propensity_to_leave", INDEX, "lower", "mean inclination of firms to leave the cluster (Morgan-Hunt outcome)"),
    KPI("acquiescence", INDEX, "higher", "mean readiness of firms to follow partners' requests (Morgan-Hunt outcome)"),
    # productive disagreement in Morgan & Hunt (1994), so more of it is better
    KPI("functional_conflict", INDEX, "higher", "mean productive disagreement between partners (Morgan-Hunt outcome)",
        report=11),
    KPI("decision_uncertainty", INDEX, "lower", "mean uncertainty of firms about their decisions (Morgan-Hunt outcome)",
        report=12),
    KPI("revenue", MU_STEP, "higher", "sales of all firms in the step", report=6, panel="Revenue and profit"),
    KPI("profit", MU_STEP, "higher", "profit of all firms in the step", report=7, headline=True,
        panel="Revenue and profit"),
    KPI("brand_equity", INDEX, "higher", "strength of the cluster brand: mean of its four aspects",
        report=8, headline=True, panel="Brand equity"),
    KPI("brand_technological", INDEX, "higher", "technological aspect of the cluster brand"),
    KPI("brand_economic", INDEX, "higher", "economic aspect of the cluster brand"),
    KPI("brand_social", INDEX, "higher", "social aspect of the cluster brand"),
    KPI("brand_energy", INDEX, "higher", "energy-efficiency aspect of the cluster brand"),
    KPI("free_rider_share", SHARE, "lower", "share of association members that did not cooperate this step",
        report=9, headline=True, panel="Free-rider share", mirror_of="cooperation_rate"),
    KPI("free_riders_detected", FIRMS_STEP, "neither", "free riders exposed by the association this step"),
    KPI("expulsions", FIRMS_STEP, "neither", "members put on the expulsion list this step"),
    KPI("contracts_active", "contracts", "neither", "firm-to-firm contracts in force"),
    KPI("contract_breaches", FIRMS_STEP, "lower", "firms that broke a contract this step",
        report=10, panel="Contract breaches"),
    KPI("info_sent", "messages per step", "neither", "messages sent between actors this step"),
    KPI("info_lost", "messages per step", "lower", "messages lost on the way this step",
        report=13, panel="Information lost"),
    KPI("info_delay", "steps", "lower", "mean delay of the messages delivered"),
    KPI("payoff_gini", INDEX, "lower", "inequality of firms' profit (Gini coefficient)", report=14),
    KPI("energy_intensity", "energy per unit of output", "lower", "revenue-weighted mean energy use per unit of output",
        report=15),
    KPI("marketing_spend", MU_STEP, "neither", "pool contributions, dues, brand fees and fair costs of the step",
        cost=True),
    KPI("marketing_roi", "MU per MU spent", "higher", "net return of joint marketing per money unit spent",
        report=16, headline=True, denominator="marketing_spend"),
    KPI("public_good_in", MU_STEP, "neither", "contributions paid into the joint-marketing pool"),
    KPI("public_good_out", MU_STEP, "neither", "pool money spent on marketing (cluster brand, R&D, members' products)"),
    KPI("digitalization_cost", MU_STEP, "lower", "what the IT-actor cost this step, whoever paid it", cost=True),
    KPI("demand", "index (1 = the initial capacity)", "neither",
        "market demand this step: 1 buys the initial cluster's whole capacity at the reference price"),
    KPI("price", "MU per capacity-month", "neither", "price of the cluster's products, weighted by capacity"),
    KPI("public_spending", MU_STEP, "lower", "public funds spent this step: the CDC's IT-actor and marketing subsidies",
        cost=True, payer="public"),
    KPI("association_spending", MU_STEP, "neither",
        "what the associations spent this step from dues and fines (collective mark, IT-actor dues)",
        cost=True, payer="association"),
    KPI("firm_spending", MU_STEP, "neither", "what the firms paid this step: pool contributions, dues, fines, "
        "brand fees, fair costs, transaction costs, IT-actor dues", cost=True, payer="firms"),
    KPI("public_spending_cumulative", MU, "lower", "public funds spent from the first step to this one",
        payer="public"),
    # the network, the spread of traits: what structure, trade search, entry and imitation act on
    KPI("links_per_firm", LINKS, "neither", "mean number of live firm-firm links of a firm"),
    KPI("supplier_links", LINKS, "neither", "mean number of live links on which a firm buys from a supplier of the cluster"),
    KPI("links_gini", INDEX, "neither", "inequality of firms' numbers of firm-firm links (Gini): hubs against an even web"),
    KPI("cooperativeness_sd", INDEX, "neither", "spread of firms' cooperativeness, the trait imitation passes on (sd)"),
    KPI("energy_intensity_sd", "energy per unit of output", "neither", "spread of energy use per unit of output across firms (sd)"),
)

_ANTECEDENTS: tuple[KPI, ...] = (
    KPI("termination_costs", INDEX, "neither", "mean cost to a firm of ending its relationships", "antecedent"),
    KPI("relationship_benefits", INDEX, "higher", "mean benefit firms draw from the cluster", "antecedent"),
    KPI("shared_values", INDEX, "higher", "mean agreement of firms' values with their association's", "antecedent"),
    KPI("communication", INDEX, "higher", "mean flow of messages firms receive from partners", "antecedent"),
    KPI("opportunistic_behaviour", INDEX, "lower", "mean opportunism firms saw in their partners", "antecedent"),
)

#: The outcomes of trust and commitment (Morgan & Hunt 1994) by their firm-table names: ``cooperation`` is a
#: firm's propensity to cooperate (``cooperation_rate`` counts who did), the other four are also KPIs.
KMV_OUTCOMES: tuple[str, ...] = ("acquiescence", "propensity_to_leave", "cooperation", "functional_conflict",
                                 "decision_uncertainty")

#: Columns of a run's network snapshot (``graph_snapshot`` of a model; stored by the runner as
#: ``snapshots/<scenario>/nodes.parquet`` and ``edges.parquet``): the nodes (a data cluster's also ``node_name``) ...
SNAPSHOT_NODE_COLUMNS: tuple[str, ...] = ("node_id", "node_kind", "cooperating", "revenue", "commitment", "active")
#: ... and the links.
SNAPSHOT_EDGE_COLUMNS: tuple[str, ...] = ("edge_src", "edge_dst", "edge_trust")

#: Actor types with their own columns, and the cluster KPIs each gets (as ``<type>_<kpi>``).
FIRM_TYPES: tuple[str, ...] = ("enterprise", "leading_firm")
BY_TYPE: tuple[str, ...] = ("members", "cooperation_rate", "mean_trust", "mean_commitment", "revenue", "profit")


def _by_type(t: str, base: KPI) -> KPI:
    who = "enterprises (SMEs)" if t == "enterprise" else "leading firms"
    return KPI(f"{t}_{base.name}", base.unit, base.direction, f"{base.meaning}; {who} only", "by_type")


_BY_NAME = {k.name: k for k in (*_CLUSTER, *_ANTECEDENTS)}

#: Every collected KPI in column order: cluster KPIs, antecedents, then per actor type.
KPIS: tuple[KPI, ...] = (*_CLUSTER, *_ANTECEDENTS,
                         *(_by_type(t, _BY_NAME[b]) for t in FIRM_TYPES for b in BY_TYPE))

_ALL = {k.name: k for k in KPIS}


def kpi(name: str) -> KPI:
    """The registry entry of ``name``.

    Raises:
        KeyError: not a KPI the model collects.
    """
    return _ALL[name]


def names(group: str) -> tuple[str, ...]:
    """Column names of one group (``cluster``, ``antecedent`` or ``by_type``) in column order."""
    return tuple(k.name for k in KPIS if k.group == group)


def report_kpis() -> tuple[str, ...]:
    """The KPIs the report shows by default, in the report's order."""
    return tuple(k.name for k in sorted((k for k in KPIS if k.report), key=lambda k: k.report))


def headline_kpis() -> tuple[str, ...]:
    """The KPIs of the report's headline, in the report's order."""
    return tuple(n for n in report_kpis() if _ALL[n].headline)


def cost_kpis() -> tuple[str, ...]:
    """The KPIs that count what an arrangement costs, in column order."""
    return tuple(k.name for k in KPIS if k.cost)


def spending_of(payer: str) -> str:
    """The per-step spending KPI of one budget (``public``, ``association`` or ``firms``).

    Raises:
        KeyError: not a budget.
    """
    for k in KPIS:
        if k.cost and k.payer == payer:
            return k.name
    raise KeyError(payer)


def public_spending_kpi() -> str:
    """The per-step public spending KPI: what gains per unit of public money are measured against."""
    return spending_of("public")


def unit_of(name: str) -> str | None:
    """The unit of ``name``, or None if it is not a KPI (a derived column, a scorecard indicator)."""
    k = _ALL.get(name)
    return None if k is None else k.unit


def higher_is_better(name: str) -> bool | None:
    """True if more of ``name`` is better, False if less, None if neither or not a KPI."""
    k = _ALL.get(name)
    return None if k is None or k.direction == "neither" else k.direction == "higher"


def panels() -> dict[str, tuple[str, ...]]:
    """The app's live panels: title -> KPIs drawn in it (column order), panels in the report's order."""
    out: dict[str, list[str]] = {}
    for k in KPIS:
        if k.panel:
            out.setdefault(k.panel, []).append(k.name)
    rank = {t: min(_ALL[n].report or len(KPIS) for n in v) for t, v in out.items()}
    return {t: tuple(out[t]) for t in sorted(out, key=rank.__getitem__)}
