"""ClusterModel: cooperation inside an industrial cluster.

Sources: Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry
Clusters* (structures, mechanisms, marketing modes); *Internal marketing of
clusters* (trust and commitment after Morgan & Hunt 1994, the 4P);
*Territorial cluster management digitalization* (the CDC, relay delay and
loss); *Marketing activities in an innovative energy efficient cluster* (brand
aspects, effectiveness evaluation). See docs/ODD.md for every equation and
parameter.

A step calls the submodels of ``sim/submodels/`` in the order of :data:`STEP`
with one :class:`~sim.context.StepContext`, then collects the KPIs. The
Santos-Pacheco validation game is its own model (``sim.validation``);
``sim.make_model`` builds whichever a scenario asks for.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from . import data
from .agents import Association, DevelopmentCenter
from .data import read_cluster
from .context import StepContext
from .kpis import KMV_OUTCOMES, SNAPSHOT_EDGE_COLUMNS, SNAPSHOT_NODE_COLUMNS
from .metrics import (ANTECEDENT_COLUMNS, BY_TYPE_COLUMNS, BY_TYPE_KPIS, KPI_COLUMNS, KPICollector, gini, kpi_sums, link_counts,
                      live_trust_sum)
from .scenario import Scenario, ScenarioError
from .state import ASSOCIATION, ENTERPRISE, KIND_NAMES, LEADING, ClusterState
from .structures import build_structure
from .submodels import (contract, decision, demography, function_interest, imitation, information, market, marketing,
                        opportunism, policy, regulation, trade, trust)
from .submodels.market import ASPECTS, Market

__all__ = ["ClusterModel", "ModelBase", "STEP", "record"]


class ModelBase(mesa.Model):
    """What the cluster model and the validation game share: parameters, the KPI columns and their collector.

    Args:
        params: the validated scenario.
        rng: an int seed; None takes ``params.run.seed``.
    """

    def __init__(self, params: Scenario, rng: int | None):
        super().__init__(rng=params.run.seed if rng is None else rng)
        self.params = params
        self.exit_reasons: dict[str, int] = {}
        self.node_agent: dict = {}
        self.entries = 0
        self.exits = 0

    def _start_collecting(self) -> None:
        columns = (*KPI_COLUMNS, *ANTECEDENT_COLUMNS, *BY_TYPE_COLUMNS)
        for c in columns:
            setattr(self, c, 0)
        self.step_count = 0
        # attribute-name reporters keep the model picklable; "step" is the step number
        self.datacollector = KPICollector(model_reporters={"step": "step_count", **{c: c for c in columns}})

    def kpis(self) -> pd.DataFrame:
        """The time series so far (one row per step)."""
        return self.datacollector.get_model_vars_dataframe()


#: firm_table columns whose state array has another name.
_FIRM_TABLE_ROWS = {"cooperation": "propensity_to_cooperate"}


class ClusterModel(ModelBase):
    """A cluster of firms, associations, leading firms and a CDC.

    Args:
        scenario: the validated parameters (``Scenario()``, the baseline, if None).
        rng: an int seed; None takes ``scenario.run.seed``. The same scenario
            and seed give bit-identical results.

    Raises:
        ScenarioError: for a validation scenario (build it with ``sim.make_model``).

    Note:
        ``model.scenario`` is Mesa's own scenario object (SolaraViz reads it);
        our parameters are ``model.params``. ``model.phases`` is the step's
        list of submodels, :data:`STEP` unless replaced (``benchmarks/phases.py``
        times each).
    """

    def __init__(self, scenario: Scenario | None = None, *, rng: int | None = None):
        params = scenario if scenario is not None else Scenario()
        if params.validation.kind != "none":
            raise ScenarioError(f"validation.kind = {params.validation.kind!r} is the validation game, not a cluster: "
                                "build it with sim.make_model(scenario)")
        super().__init__(params, rng)
        self.timeline = policy.timeline(params)
        if self.timeline:
            # events change the model's own copy, never the caller's scenario (a sweep reuses it)
            self.params = params.model_copy(deep=True)
        self._set_up()
        self.phases = STEP
        self._start_collecting()

    def _set_up(self) -> None:
        """The structure, the state's rows and edges, the initial contracts, the market and the agents (ODD 5)."""
        p, rng = self.params, self.rng
        cluster = read_cluster(p.data) if (p.data.folder or p.data.firms) else None
        if cluster is not None and p.firms.n_product_groups != cluster.n_groups:
            # a scenario built without load_scenario: the data's value chain sets the product groups
            self.params = p = p.with_overrides({"firms.n_product_groups": cluster.n_groups})
        struct = data.structure(cluster, p.structure, rng) if cluster is not None else build_structure(p.structure, rng)
        n_a, n_f = struct.n_associations, struct.n_firms
        st = ClusterState(
            node_capacity=int((n_a + n_f) * 1.25) + 8,
            edge_capacity=int((len(struct.edges) + len(struct.assoc_edges)) * 1.25) + 8,
            values_dim=p.firms.values_dim,
            inbox_slots=information.relay_delay(p) + 1,
        )
        self.state = st
        assoc_nodes = st.add_nodes(n_a)
        st.kind[assoc_nodes] = ASSOCIATION
        st.active[assoc_nodes] = True
        st.assoc_of[assoc_nodes] = -1
        firm_nodes = st.add_nodes(n_f)
        demography.add_firms(self, firm_nodes, struct.firm_kind, struct.tier, np.where(struct.assoc_of >= 0, struct.assoc_of, -1))
        self.survey = None
        if cluster is not None:
            data.set_up(self, cluster, firm_nodes)
        st.values[assoc_nodes] = 0.5
        ff = struct.edges + n_a
        fa = np.stack([struct.assoc_edges[:, 0], struct.assoc_edges[:, 1] + n_a], axis=1) if len(struct.assoc_edges) else np.zeros((0, 2), np.int64)
        both = np.concatenate([ff, fa]) if len(fa) else ff
        st.add_edges(both[:, 0], both[:, 1], p.trust.initial)
        if cluster is None or not cluster.has_trade:
            trade.set_up(self)  # the supplier-buyer layer under every structure (a data cluster's is its trade.csv)
        e = st.n_edges
        if cluster is not None and cluster.contract is not None:
            if p.mechanisms.contract.enabled:
                data.sign_contracts(self, cluster, n_a)
        elif p.mechanisms.contract.enabled and e:
            # contracts of the start on trade links only: they govern trade
            g, k = st.product_group, st.kind
            is_trade = np.array([trade.role_of_link(g[a], g[b], k[a], k[b]) != 0 for a, b in
                                 zip(st.ua[:e].tolist(), st.ub[:e].tolist())]) & st.is_ff[:e]
            signed = np.flatnonzero((rng.random(e) < p.mechanisms.contract.initial_share) & is_trade)
            st.contract_left[signed] = rng.integers(1, p.mechanisms.contract.duration + 1, size=len(signed))
        #: a chain's stages (its firms' tiers 0..chain_stages-1; entrants join one), else 0
        self.chain_stages = int(struct.tier.max()) + 1 if p.structure.kind == "chain" and n_f else 0
        self.structure_kind = p.structure.kind
        self.labels = struct.labels
        if cluster is not None:
            data.set_relationships(self, cluster, n_a)
        #: display names by node row, for firms and associations of a data cluster or an edge list (else empty)
        self.names = self._names(struct, cluster, n_a)
        #: a data cluster's firm ids by node row (else empty)
        self.data_ids = {n_a + i: ident for i, ident in enumerate(cluster.ids)} if cluster is not None else {}
        self.initial_firms = n_f
        self.market = Market(p, np.bincount(st.product_group[firm_nodes], weights=st.capacity[firm_nodes],
                                            minlength=p.firms.n_product_groups))
        self.energy_reference = float(st.energy_intensity[firm_nodes].mean()) if n_f else 1.0
        for a in assoc_nodes:
            self.node_agent[int(a)] = Association(self, int(a))
        self.cdc = DevelopmentCenter(self)

    @staticmethod
    def _names(struct, cluster, n_a: int) -> dict[int, str]:
        if struct.labels is None:
            return {}
        names = {n_a + i: str(lab) for i, lab in enumerate(struct.labels)}
        if cluster is not None:
            names.update({a: str(lab) for a, lab in enumerate(cluster.assoc_names)})
        return names

    def name_of(self, node: int) -> str:
        """The display name of a node row: its name in the data, ``entrant <row>`` for a firm that entered later,
        ``<row>`` in a generated cluster."""
        if not self.names:
            return str(node)
        return self.names.get(int(node), f"entrant {int(node)}" if self.state.kind[int(node)] != ASSOCIATION
                              else f"association {int(node)}")

    def step(self) -> None:
        """Advance one step: every submodel of ``self.phases`` in order, then collect the KPIs."""
        st = self.state
        trade.compact_edges(self)  # before the step's masks: edge indices hold within a step
        n = st.n_nodes
        ctx = StepContext(t=int(self.time), masks=st.masks(), n=n, cash=np.zeros(n))
        for _, phase in self.phases:
            phase(self, ctx)
        self.datacollector.collect(self)

    # ================================================================== views for the app and analysis
    def firm_table(self) -> pd.DataFrame:
        """One row per active firm with its state and Morgan-Hunt variables."""
        st = self.state
        f = st.firms()
        cols = {"id": f, "kind": [KIND_NAMES[int(k)] for k in st.kind[f]]}
        if self.names:  # a data cluster's firms keep their names (generated ones have none)
            cols["name"] = [self.name_of(i) for i in f.tolist()]
        if self.data_ids:
            cols["data_id"] = [self.data_ids.get(i, "") for i in f.tolist()]
        for name in ("cooperating", "mean_trust", "commitment", "partner_commitment", "reputation", *ANTECEDENT_COLUMNS,
                     *KMV_OUTCOMES, "capacity", "resources", "revenue", "profit", "energy_intensity", "assoc_of", "tier"):
            cols[name] = getattr(st, _FIRM_TABLE_ROWS.get(name, name))[f]
        return pd.DataFrame(cols)

    def graph_snapshot(self) -> dict[str, np.ndarray]:
        """Nodes (firms and associations; CDC as the last node) and live undirected edges, for drawing."""
        st = self.state
        n, e = st.n_nodes, st.n_edges
        alive = st.edge_alive()
        kinds = np.array([KIND_NAMES[int(k)] for k in st.kind[:n]] + ["cdc"])
        assoc = np.flatnonzero(st.kind[:n] == ASSOCIATION)
        cdc = n
        names = {"node_name": np.array([self.name_of(i) for i in range(n)] + ["CDC"])} if self.names else {}
        nodes = (np.arange(n + 1), kinds, np.concatenate([st.cooperating[:n], [True]]), np.concatenate([st.revenue[:n], [0.0]]),
                 np.concatenate([st.commitment[:n], [0.0]]), np.concatenate([st.active[:n], [True]]))
        trust = 0.5 * (st.trust[0 : 2 * e : 2] + st.trust[1 : 2 * e : 2])[alive]
        edges = (np.concatenate([st.ua[:e][alive], np.full(len(assoc), cdc)]), np.concatenate([st.ub[:e][alive], assoc]),
                 np.concatenate([trust, np.full(len(assoc), 1.0 - self.cdc.relay_loss)]))
        # in the order of the registry's snapshot columns
        return {**dict(zip(SNAPSHOT_NODE_COLUMNS, nodes, strict=True)), **names,
                **dict(zip(SNAPSHOT_EDGE_COLUMNS, edges, strict=True))}


# ====================================================================== KPIs
#: Node arrays whose mean over the step's firms is a KPI of the same name.
_MEAN_KPIS = ("commitment", "partner_commitment", *(o for o in KMV_OUTCOMES if o != "cooperation"), *ANTECEDENT_COLUMNS)
#: Node arrays summed per actor type by ``kpi_sums``, and their column in its result (after count, cooperators).
_SUMMED = (*_MEAN_KPIS, "mean_trust", "revenue", "profit")
_COL = {name: 2 + j for j, name in enumerate(_SUMMED)}


def record(model: ClusterModel, ctx: StepContext) -> None:
    """The step's KPIs (ODD 7.13) into the model's attributes that the collector reads, after exits and entries.

    The behavioural KPIs are over the firms that acted this step and did not
    exit (``ctx.acted``); ``members`` counts the active firms after entries.
    """
    st, p = model.state, model.params
    pool, con, reg, mk = ctx.pool, ctx.contracts, ctx.regulation, ctx.marketing
    firms = ctx.acted
    members = ctx.masks.members & firms
    n, e = len(firms), st.n_edges  # rows of this step's firms; entrants are counted in members only
    # per-type sums over the firms of the step: count, cooperators, then these columns
    columns = tuple(getattr(st, name)[:n] for name in _SUMMED)
    sums = np.zeros((2, 2 + len(columns)))
    n_mem, free_riders, energy_revenue = kpi_sums(firms, members, st.kind[:n], st.cooperating[:n], columns,
                                                  st.revenue[:n], st.energy_intensity[:n], sums)
    total = sums.sum(axis=0)
    count = total[0]
    mean = (lambda j: float(total[j] / count) if count else 0.0)  # noqa: E731
    # mean trust over live edges observed by firms (after exits and entries)
    tr_sum, tr_n = live_trust_sum(st.ua[:e], st.ub[:e], st.active[: st.n_nodes], st.dropped[:e], st.kind[: st.n_nodes], st.trust[: 2 * e])
    spend = pool.pool_in + reg.dues + mk.fees + mk.fair_spend
    returns = float(ctx.brand_revenue.sum())
    m = model
    m.step_count = int(m.time)
    now_kind = st.kind[: st.n_nodes][st.firm_mask()]  # after exits and entries
    m.members = len(now_kind)
    m.cooperation_rate = mean(1)
    m.mean_trust = float(tr_sum / tr_n) if tr_n else 0.0
    m.mean_commitment = mean(_COL["commitment"])
    for name in _MEAN_KPIS[1:]:
        setattr(m, name, mean(_COL[name]))
    m.revenue = float(total[_COL["revenue"]])
    m.profit = float(total[_COL["profit"]])
    m.brand_equity = m.market.equity
    for name, value in zip(ASPECTS, m.market.brand):
        setattr(m, f"brand_{name}", float(value))
    m.free_rider_share = free_riders / n_mem if n_mem else 0.0
    m.free_riders_detected = int(pool.detected.sum())
    m.expulsions = len(reg.expelled)
    m.contracts_active = con.in_force
    m.contract_breaches = con.breaches
    m.info_sent, m.info_lost, m.info_delay = ctx.info.sent, ctx.info.lost, ctx.info.delay
    m.payoff_gini = gini(st.profit[:n][firms])
    rev_sum = total[_COL["revenue"]]
    m.energy_intensity = float(energy_revenue / rev_sum) if rev_sum > 0 else (float(st.energy_intensity[:n][firms].mean()) if count else 0.0)
    m.marketing_spend = spend
    m.marketing_roi = (returns - spend) / spend if spend > 0 else 0.0
    m.public_good_in = pool.pool_in
    m.public_good_out = pool.pool_out
    m.digitalization_cost = ctx.digitalization_cost
    # who pays (ODD 7.17): public funds, the associations, the firms
    it_public = p.information.digitalization_payer == "public"
    m.public_spending = pool.subsidy + (ctx.digitalization_cost if it_public else 0.0)
    m.public_spending_cumulative += m.public_spending
    it_dues = 0.0 if it_public else ctx.digitalization_cost
    m.association_spending = reg.treasury_spend + it_dues
    transaction_costs = float(con.surplus.sum()) - con.created  # savings delivered minus what the contracts netted
    m.firm_spending = pool.pool_in + reg.dues + reg.fines + mk.fees + mk.fair_spend + transaction_costs + it_dues
    m.demand = ctx.demand
    m.price = m.market.price_index
    network_and_spread(m, now_kind.size)
    # per actor type
    now = np.bincount(now_kind, minlength=2)
    for g in (ENTERPRISE, LEADING):
        tname = KIND_NAMES[g]
        k = sums[g, 0]
        vals = {
            "members": int(now[g]),
            "cooperation_rate": float(sums[g, 1] / k) if k else 0.0,
            "mean_trust": float(sums[g, _COL["mean_trust"]] / k) if k else 0.0,
            "mean_commitment": float(sums[g, _COL["commitment"]] / k) if k else 0.0,
            "revenue": float(sums[g, _COL["revenue"]]),
            "profit": float(sums[g, _COL["profit"]]),
        }
        for key in BY_TYPE_KPIS:
            setattr(m, f"{tname}_{key}", vals[key])


def network_and_spread(m: ClusterModel, n_now: int) -> None:
    """KPIs of the live firm-firm network and of the spread of traits, over the active firms after exits and entries."""
    st = m.state
    nn, e = st.n_nodes, st.n_edges
    live = st.masks()  # after exits and entries; the next step starts from the same (cached) masks
    now = live.firms
    degree, supplied = np.zeros(nn, dtype=np.int64), np.zeros(nn, dtype=np.int64)
    link_counts(st.ua[:e], st.ub[:e], live.live_ff, trade.edge_buyers(m), degree, supplied)
    degree = degree[now]
    m.links_per_firm = float(degree.mean()) if n_now else 0.0
    m.supplier_links = float(supplied[now].mean()) if n_now else 0.0
    m.links_gini = gini(degree)
    m.cooperativeness_sd = float(st.disposition[:nn][now].std()) if n_now else 0.0
    m.energy_intensity_sd = float(st.energy_intensity[:nn][now].std()) if n_now else 0.0


#: The step: the submodels in the order they run, each ``f(model, ctx)``. docs/ODD.md section 3 follows it.
STEP: tuple[tuple[str, object], ...] = (
    ("policy", policy.apply_due),
    ("demand", market.set_demand),
    ("information", information.exchange),
    ("culture", regulation.measure_culture),
    ("trust and commitment", trust.relationships),
    ("decision", decision.choose),
    ("function-interest pool", function_interest.share_pool),
    ("opportunism from reports", opportunism.observe),
    ("contracts", contract.trade),
    ("regulation", regulation.regulate),
    ("marketing modes", marketing.run_modes),
    ("digitalization", information.pay_it_actor),
    ("market and profit", market.sell),
    ("imitation", imitation.imitate),
    ("exits and entries", demography.turnover),
    ("partner search", trade.search),
    ("KPIs", record),
)
