"""ClusterModel: cooperation inside an industrial cluster.

Sources: Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry
Clusters* (structures, mechanisms, marketing modes); *Internal marketing of
clusters* (trust and commitment after Morgan & Hunt 1994, the 4P);
*Territorial cluster management digitalization* (the CDC, relay delay and
loss); *Marketing activities in an innovative energy efficient cluster* (brand
aspects, effectiveness evaluation); Santos & Pacheco (2005) for the
validation mode. See docs/ODD.md for every equation and parameter.

One step, in order: demand -> information (direct and via the CDC) ->
antecedents -> trust -> commitment -> outcomes -> cooperation decision ->
function-interest pool -> contracts -> opportunism observed -> regulation
(dues, sanctions, culture) -> marketing modes -> brand equity and market ->
profit -> imitation -> exits and entries -> KPIs.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from . import behaviour, information, kernels, trust
from .agents import Association, DevelopmentCenter, Enterprise, LeadingFirm
from .game import PDGame
from .market import ASPECTS, Market
from .mechanisms import contract as contract_mech
from .mechanisms import function_interest as fi_mech
from .mechanisms import regulation as reg_mech
from .metrics import ANTECEDENT_COLUMNS, BY_TYPE_COLUMNS, BY_TYPE_KPIS, KPI_COLUMNS, KPICollector, gini
from .scenario import Scenario
from .state import ASSOCIATION, ENTERPRISE, LEADING, ClusterState
from .structures import build_structure
from .structures.network import generate_graph

__all__ = ["ClusterModel", "run_one", "KIND_NAMES"]

KIND_NAMES = {ENTERPRISE: "enterprise", LEADING: "leading_firm", ASSOCIATION: "association"}


class ClusterModel(mesa.Model):
    """A cluster of firms, associations, leading firms and a CDC.

    Args:
        scenario: the validated parameters (``Scenario()``, the baseline, if None).
        rng: an int seed; None takes ``scenario.run.seed``. The same scenario
            and seed give bit-identical results.

    Note:
        ``model.scenario`` is Mesa's own scenario object (SolaraViz reads it);
        our parameters are ``model.params``.
    """

    def __init__(self, scenario: Scenario | None = None, *, rng: int | None = None):
        params = scenario if scenario is not None else Scenario()
        if rng is None:
            rng = params.run.seed
        super().__init__(rng=rng)
        self.params = params
        self.exit_reasons: dict[str, int] = {}
        self.node_agent: dict[int, Enterprise | Association] = {}
        self.entries = 0
        self.exits = 0
        self.validation = params.validation.kind == "pd_imitation"
        if self.validation:
            self._init_validation()
        else:
            self._init_cluster()
        columns = (*KPI_COLUMNS, *ANTECEDENT_COLUMNS, *BY_TYPE_COLUMNS)
        for c in columns:
            setattr(self, c, 0)
        self.step_count = 0
        # attribute-name reporters keep the model picklable; "step" is the step number
        self.datacollector = KPICollector(model_reporters={"step": "step_count", **{c: c for c in columns}})

    # ================================================================== set-up
    def _init_validation(self) -> None:
        s = self.params.structure
        edges = generate_graph(s.generator, s.n_firms, s.mean_degree, s.rewire_p, int(self.rng.integers(0, 2**31 - 1)))
        self.game = PDGame(s.n_firms, edges, self.params.validation.b, self.rng)
        self.game_edges = edges
        for node in range(s.n_firms):
            self.node_agent[node] = Enterprise(self, node)
        self.state = None

    def _init_cluster(self) -> None:
        p = self.params
        rng = self.rng
        struct = build_structure(p.structure, rng)
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
        self._init_firms(firm_nodes, struct.firm_kind, struct.tier, np.where(struct.assoc_of >= 0, struct.assoc_of, -1))
        st.values[assoc_nodes] = 0.5
        ff = struct.edges + n_a
        fa = np.stack([struct.assoc_edges[:, 0], struct.assoc_edges[:, 1] + n_a], axis=1) if len(struct.assoc_edges) else np.zeros((0, 2), np.int64)
        both = np.concatenate([ff, fa]) if len(fa) else ff
        st.add_edges(both[:, 0], both[:, 1], p.trust.initial)
        if p.mechanisms.contract.enabled and len(ff):
            u = np.arange(len(ff))
            signed = u[rng.random(len(ff)) < p.mechanisms.contract.initial_share]
            st.contract_left[signed] = rng.integers(1, p.mechanisms.contract.duration + 1, size=len(signed))
        self.chain_order = (struct.chain_order + n_a) if struct.chain_order is not None else None
        self.structure_kind = p.structure.kind
        self.labels = struct.labels
        self.market = Market(p)
        self.energy_reference = float(st.energy_intensity[firm_nodes].mean()) if n_f else 1.0
        for a in assoc_nodes:
            self.node_agent[int(a)] = Association(self, int(a))
        self.cdc = DevelopmentCenter(self)
        self._last_share = np.zeros(st.n_nodes)

    def _init_firms(self, nodes: np.ndarray, kind: np.ndarray, tier: np.ndarray, assoc: np.ndarray) -> None:
        """Draw the attributes of new firms (at start and on entry) and create their agents."""
        p, st, rng = self.params, self.state, self.rng
        f = p.firms
        k = len(nodes)
        st.kind[nodes] = kind
        st.tier[nodes] = tier
        st.active[nodes] = True
        st.assoc_of[nodes] = assoc
        sigma = f.capacity_sigma
        cap = np.exp(rng.normal(-0.5 * sigma**2, sigma, k)) if sigma > 0 else np.ones(k)
        cap = np.where(kind == LEADING, f.leading_capacity, cap)
        st.capacity[nodes] = cap
        st.resources[nodes] = f.resources * cap
        st.disposition[nodes] = np.clip(rng.normal(f.cooperativeness, f.cooperativeness_sd, k), 0.0, 1.0)
        st.commitment[nodes] = p.trust.commitment_initial
        st.partner_commitment[nodes] = p.trust.commitment_initial
        st.mean_trust[nodes] = p.trust.initial
        st.reputation[nodes] = 1.0
        st.energy_intensity[nodes] = np.clip(rng.normal(f.energy_intensity, f.energy_intensity_sd, k), 0.2 * f.energy_intensity, None)
        st.product_group[nodes] = rng.integers(0, f.n_product_groups, k)
        st.values[nodes] = np.clip(0.5 + rng.normal(0.0, f.values_spread, (k, f.values_dim)), 0.0, 1.0)
        st.brand_user[nodes] = (kind == ENTERPRISE) & (rng.random(k) < p.marketing.leading_traction)
        for node, kd in zip(nodes.tolist(), kind.tolist()):
            cls = LeadingFirm if kd == LEADING else Enterprise
            self.node_agent[node] = cls(self, node)

    # ================================================================== step
    def step(self) -> None:
        """Advance one step (see the module docstring for the order)."""
        if self.validation:
            self.game.step()
            self._record_validation()
        else:
            self._step_cluster(int(self.time))
        self.datacollector.collect(self)

    def _masks(self) -> dict[str, np.ndarray]:
        """Masks and index lists that change only on entry or exit, cached (read-only) until they do.

        ``firms``, ``firms_idx``, ``members``, ``member_assoc`` (N,); ``assoc_idx``,
        ``assoc_members`` (members per association); ``live_ff`` (E,);
        ``alive_d`` (2E,); ``degree`` (N,) live edges per node. ``_step_cluster`` drops the cache
        after exits and entries; the key (rows, edges, active rows) also catches
        an exit from elsewhere (``Enterprise.leave``): rows are only appended
        and ``active`` only turns False.
        """
        st = self.state
        n, e = st.n_nodes, st.n_edges
        key = (n, e, int(np.count_nonzero(st.active[:n])))
        if getattr(self, "_mask_key", None) != key:
            firms = st.firm_mask()
            alive_d, live_ff, degree = np.empty(2 * e, bool), np.empty(e, bool), np.zeros(n)
            kernels.edge_masks(st.ua[:e], st.ub[:e], st.active[:n], st.is_ff[:e], alive_d, live_ff, degree)
            masks = {
                "firms": firms,
                "firms_idx": np.flatnonzero(firms),
                "members": firms & (st.assoc_of[:n] >= 0),
                "assoc_idx": np.flatnonzero(st.kind[:n] == ASSOCIATION),
                "alive_d": alive_d,
                "live_ff": live_ff,
                "degree": degree,
            }
            n_assoc = len(masks["assoc_idx"])
            masks["member_assoc"] = np.where(masks["members"], st.assoc_of[:n], n_assoc)  # association of members
            masks["assoc_members"] = np.bincount(masks["member_assoc"], minlength=n_assoc + 1)[:n_assoc]
            for v in masks.values():
                v.setflags(write=False)
            self._mask_cache, self._mask_key = masks, key
        return self._mask_cache

    def _step_cluster(self, t: int) -> None:
        p, st, rng = self.params, self.state, self.rng
        mech = p.mechanisms
        n, e = st.n_nodes, st.n_edges
        masks = self._masks()
        firms, firms_idx, members = masks["firms"], masks["firms_idx"], masks["members"]
        n_members = len(firms_idx)
        alive_d, live_ff = masks["alive_d"], masks["live_ff"]
        cap = st.capacity[:n]

        # --- market conditions and information
        demand = self.market.demand(t)
        # (and the exposure: the share of the actor's live partners that heard about it, into st.exposure)
        info = information.exchange_messages(st, alive_d, masks["degree"], t, p, rng, has_cdc=True)

        # --- culture (associations hold their members' mean values) and shared values
        assoc_idx = masks["assoc_idx"]
        values = st.values[:n]
        culture = np.empty(st.values_dim)  # (non-members fall in a last, unused group)
        kernels.culture_and_associations(values, firms, masks["member_assoc"], masks["assoc_members"], assoc_idx, culture)

        # --- Morgan-Hunt: shared values, antecedents -> trust -> commitment -> outcomes
        # (SV per edge, live contracts per actor, trust and the per-actor means in one pass over the edges)
        contracts_of = trust.update_relationships(st, alive_d, live_ff, masks["degree"], culture, p)
        trust.update_commitment(st, contracts_of, p)
        trust.update_outcomes(st)

        # --- decisions (detection probability, expected gain, the draw), with the cached member counts
        p_detect = behaviour.decide(st, firms, members, masks["member_assoc"], masks["assoc_members"], contracts_of,
                                    self._last_share, p, rng)
        coop = st.cooperating[:n]

        # --- mechanisms
        cash = np.zeros(n)
        detected = np.zeros(n, dtype=bool)
        share = np.zeros(n)
        pool_in = pool_out = brand_spend = rnd_spend = 0.0
        st.contribution[:n] = 0.0
        if mech.function_interest.enabled:
            pool = fi_mech.run_pool(st, members, len(assoc_idx), p_detect, p, rng, cash)
            detected, share = pool.detected, pool.share
            pool_in, pool_out, brand_spend, rnd_spend = pool.pool_in, pool.pool_out, pool.brand_spend, pool.rnd_spend
        self._last_share = share
        surplus = np.zeros(n)
        caught = np.zeros(n, dtype=bool)
        breaches = in_force = 0
        # --- opportunism observed: on live edge d, obs = the partner's breach where the pair traded under
        # contract (a observes b: in the contracts' loop), else, where a report arrived (info.reports), what
        # it tells: the partner's defection (an association's: its unfairness) (kernels.observe_reports);
        # opp_d <- opp_d + memory (obs - opp_d). The reports go first: they skip the pairs under contract,
        # which the contracts' loop may end.
        reported = np.empty(n)
        kernels.partner_reports(coop, members, detected, masks["member_assoc"], masks["assoc_members"], assoc_idx, reported)
        kernels.observe_reports(info.reports, st.ua[:e], st.ub[:e], live_ff, st.contract_left[:e], reported, p.trust.memory, st.opp[: 2 * e])
        if mech.contract.enabled:
            cr = contract_mech.run_contracts(st, live_ff, p, rng)
            cash += cr.cash
            surplus, caught, breaches, in_force = cr.surplus, cr.caught, cr.breaches, cr.in_force

        # --- regulation
        dues = fines = treasury_spend = 0.0
        expelled = np.zeros(0, dtype=np.int64)
        if mech.regulation.enabled:
            rr = reg_mech.apply_regulation(st, members, len(assoc_idx), detected, caught, p, cash)
            dues, fines, treasury_spend, expelled = rr.dues, rr.fines, rr.treasury_spend, rr.expelled
            reg_mech.culture_pull(st, members, culture, p)
        st.reputation[:n] += np.where(firms & coop, 0.2 * st.exposure[:n] * (1.0 - st.reputation[:n]), 0.0)

        # --- marketing modes: brand fees (traction), fairs (exhibition), R&D, digitalization
        mk = p.marketing
        fees = 0.0
        leaders = firms & (st.kind[:n] == LEADING)
        users = firms & st.brand_user[:n]
        if mk.leading_traction > 0 and leaders.any():
            fee = np.where(users, mk.brand_fee * cap, 0.0)
            fees = float(fee.sum())
            cash -= fee
            cash += np.where(leaders, fees / leaders.sum(), 0.0)
        fair_spend = 0.0
        if self.market.fair(t):
            fair_cost = np.where(members, 0.1 * mk.exhibition * cap, 0.0)
            fair_spend = float(fair_cost.sum())
            cash -= fair_cost
        if mk.cooperative_rnd > 0 and rnd_spend > 0:
            improve = firms & coop & members
            floor = 0.3 * self.energy_reference
            st.energy_intensity[:n] = np.where(improve, np.maximum(floor, st.energy_intensity[:n] * (1.0 - 0.02 * mk.cooperative_rnd)), st.energy_intensity[:n])
        digi_cost = p.information.digitalization_cost * p.information.digitalization
        cash -= np.where(firms, digi_cost, 0.0)

        # --- market: brand equity, revenue, profit
        self.market.invest(brand_spend, rnd_spend, treasury_spend, fair_spend, fees, n_members)
        channel_bonus = self._channel_bonus(live_ff, n) if mk.channel_sharing > 0 else np.zeros(n)
        brand_users = users if leaders.any() else np.zeros(n, dtype=bool)  # no leader, no brand to use
        revenue, brand_revenue = self.market.revenue(st, firms, members, channel_bonus, brand_users)
        st.revenue[:n] = revenue
        # profit, resources, payoff; benefit and sunk investment for the next step's antecedents (kernels.profit_pass)
        dues_rate = mech.regulation.dues * (0.5 + p.internal_marketing.price) if mech.regulation.enabled else 0.0
        kernels.profit_pass(firms, members, cap, st.energy_intensity[:n], revenue, cash, share, surplus, brand_revenue,
                            st.contribution[:n], float(p.market.margin), float(p.market.energy_price), float(p.firms.fixed_cost),
                            float(p.trust.memory), float(dues_rate), st.profit[:n], st.resources[:n], st.payoff[:n],
                            st.benefit[:n], st.sunk[:n])

        # --- learning, exits, entries
        behaviour.imitate(st, firms_idx, p, rng)
        exits_before = sum(self.exit_reasons.values())
        self._exits(expelled, firms)
        self.exits = sum(self.exit_reasons.values()) - exits_before
        stayed = firms & st.active[:n]  # behavioural KPIs are over firms that acted this step
        self.entries = self._entries(firms)
        if self.exits or self.entries:
            self._mask_key = None  # exits and entries change the masks

        # --- KPIs
        spend = pool_in + dues + fees + fair_spend
        returns = float(share.sum() + p.market.margin * brand_revenue.sum())
        self._record(
            firms=stayed,
            members=members & stayed,
            info=info,
            breaches=breaches,
            contracts_active=in_force,
            detected=int(detected.sum()),
            expelled=len(expelled),
            spend=spend,
            roi=(returns - spend) / spend if spend > 0 else 0.0,
            pool_in=pool_in,
            pool_out=pool_out,
            digi=digi_cost * n_members,
            demand=demand,
        )

    def _channel_bonus(self, live_ff, n) -> np.ndarray:
        """Channel network sharing: extra sales through contracted partners of other product groups."""
        st = self.state
        e = st.n_edges
        on = live_ff & (st.contract_left[:e] > 0) & (st.product_group[st.ua[:e]] != st.product_group[st.ub[:e]])
        k = np.bincount(st.ua[:e][on], minlength=n) + np.bincount(st.ub[:e][on], minlength=n)
        return 0.2 * self.params.marketing.channel_sharing * k / (k + 2.0)

    # ================================================================== demography (rare events)
    def _exits(self, expelled: np.ndarray, firms: np.ndarray) -> None:
        st, rng, p = self.state, self.rng, self.params
        n = st.n_nodes
        for node in expelled.tolist():
            if st.active[node]:
                self.node_agent[node].leave("expelled")
        # bankrupt: active firms with negative resources; then voluntary exits among the rest (one uniform per row)
        rows = np.empty((2, n), dtype=np.int64)
        n_bankrupt, n_leaving = kernels.exit_candidates(firms, st.active[:n], st.resources[:n], rng.random(n),
                                                        float(p.demography.leave_rate), st.propensity_to_leave[:n],
                                                        rows[0], rows[1])
        for node in rows[0, :n_bankrupt].tolist():
            self.node_agent[node].leave("bankrupt")
        for node in rows[1, :n_leaving].tolist():
            self.node_agent[node].leave("left")

    def _entries(self, firms: np.ndarray) -> int:
        st, rng, p = self.state, self.rng, self.params
        n = st.n_nodes
        firms = firms & st.active[:n]
        n_firms = int(firms.sum())
        if n_firms == 0 or p.demography.entry_rate == 0:
            return 0
        attractiveness = float(trust.sigmoid(10.0 * st.payoff[:n][firms].mean()))
        k = int(rng.poisson(p.demography.entry_rate * n_firms * attractiveness))
        if k == 0:
            return 0
        n_assoc = int((st.kind[:n] == ASSOCIATION).sum())
        nodes = st.add_nodes(k)
        assoc = rng.integers(0, n_assoc, k) if n_assoc else np.full(k, -1)
        tier = np.full(k, 2 if self.structure_kind == "hierarchical" else -1)
        self._init_firms(nodes, np.full(k, ENTERPRISE), tier, assoc)
        self._last_share = np.concatenate([self._last_share, np.zeros(k)])
        a, b = self._entrant_links(nodes, firms)
        if len(a):
            st.add_edges(a, b, p.trust.initial)
        return k

    def _entrant_links(self, nodes: np.ndarray, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where entrants attach, as the structure dictates."""
        st, rng, p = self.state, self.rng, self.params
        n_old = len(firms)
        kind = self.structure_kind
        if kind == "star":
            return nodes, np.zeros(len(nodes), dtype=np.int64)
        if kind == "chain":
            order = self.chain_order
            alive = order[st.active[order]]
            tail = [int(alive[-1])] if len(alive) else []
            chain = np.array(tail + nodes.tolist(), dtype=np.int64)
            self.chain_order = np.concatenate([order, nodes])
            return chain[:-1], chain[1:]
        if kind == "hierarchical":
            pool = np.flatnonzero(firms & (st.tier[:n_old] == 1)) if (firms & (st.tier[:n_old] == 1)).any() else np.flatnonzero(firms)
            k = min(p.structure.up_links, len(pool))
        else:  # network and edge_list: preferential attachment, open to entry
            pool = np.flatnonzero(firms)
            k = min(p.demography.entry_links, len(pool))
        if k == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        e = st.n_edges
        if kind != "hierarchical":  # degree over live firm-firm links: links to departed firms do not count
            deg = np.zeros(n_old, dtype=np.int64)
            kernels.live_ff_degree(st.ua[:e], st.ub[:e], st.is_ff[:e], st.active[:n_old], deg)
            w = deg[pool] + 1.0
        else:
            w = np.ones(len(pool))
        # one draw for all entrants; a repeated target is linked once (pairs in (entrant, target) order)
        targets = rng.choice(pool, size=len(nodes) * k, p=w / w.sum())
        key = np.unique(np.repeat(nodes, k) * n_old + targets)  # targets < n_old <= entrants: a 1-D key sorts as the pair
        return key // n_old, key % n_old

    # ================================================================== KPIs
    #: Node arrays whose mean over the step's firms is a KPI of the same name.
    _MEAN_KPIS = ("commitment", "partner_commitment", "propensity_to_leave", "acquiescence", "functional_conflict",
                  "decision_uncertainty", *ANTECEDENT_COLUMNS)
    #: Node arrays summed per actor type by ``kernels.kpi_sums``, and their column in its result (after count, cooperators).
    _SUMMED = (*_MEAN_KPIS, "mean_trust", "revenue", "profit")
    _COL = {name: 2 + j for j, name in enumerate(_SUMMED)}

    def _record(self, *, firms, members, info, breaches, contracts_active, detected, expelled, spend, roi, pool_in, pool_out, digi, demand) -> None:
        st = self.state
        n, e = len(firms), st.n_edges  # rows of this step's firms; entrants are counted in members only
        # per-type sums over the firms of the step (kernels.kpi_sums): count, cooperators, then these columns
        columns = tuple(getattr(st, name)[:n] for name in self._SUMMED)
        sums = np.zeros((2, 2 + len(columns)))
        n_mem, free_riders, energy_revenue = kernels.kpi_sums(firms, members, st.kind[:n], st.cooperating[:n], columns,
                                                              st.revenue[:n], st.energy_intensity[:n], sums)
        total = sums.sum(axis=0)
        count = total[0]
        mean = (lambda j: float(total[j] / count) if count else 0.0)  # noqa: E731
        col = self._COL
        # mean trust over live edges observed by firms (after exits and entries)
        tr_sum, tr_n = kernels.live_trust_sum(st.ua[:e], st.ub[:e], st.active[: st.n_nodes], st.kind[: st.n_nodes], st.trust[: 2 * e])
        self.step_count = int(self.time)
        now_kind = st.kind[: st.n_nodes][st.firm_mask()]  # after exits and entries
        self.members = len(now_kind)
        self.cooperation_rate = mean(1)
        self.mean_trust = float(tr_sum / tr_n) if tr_n else 0.0
        self.mean_commitment = mean(col["commitment"])
        for name in self._MEAN_KPIS[1:]:
            setattr(self, name, mean(col[name]))
        self.revenue = float(total[col["revenue"]])
        self.profit = float(total[col["profit"]])
        self.brand_equity = self.market.equity
        for name, value in zip(ASPECTS, self.market.brand):
            setattr(self, f"brand_{name}", float(value))
        self.free_rider_share = free_riders / n_mem if n_mem else 0.0
        self.free_riders_detected = detected
        self.expulsions = expelled
        self.contracts_active = contracts_active
        self.contract_breaches = breaches
        self.info_sent, self.info_lost, self.info_delay = info.sent, info.lost, info.delay
        self.payoff_gini = gini(st.profit[:n][firms])
        rev_sum = total[col["revenue"]]
        self.energy_intensity = float(energy_revenue / rev_sum) if rev_sum > 0 else (float(st.energy_intensity[:n][firms].mean()) if count else 0.0)
        self.marketing_spend = spend
        self.marketing_roi = roi
        self.public_good_in = pool_in
        self.public_good_out = pool_out
        self.digitalization_cost = digi
        self.demand = demand
        # per actor type
        now = np.bincount(now_kind, minlength=2)
        for g, tname in ((ENTERPRISE, "enterprise"), (LEADING, "leading_firm")):
            k = sums[g, 0]
            vals = {
                "members": int(now[g]),
                "cooperation_rate": float(sums[g, 1] / k) if k else 0.0,
                "mean_trust": float(sums[g, col["mean_trust"]] / k) if k else 0.0,
                "mean_commitment": float(sums[g, col["commitment"]] / k) if k else 0.0,
                "revenue": float(sums[g, col["revenue"]]),
                "profit": float(sums[g, col["profit"]]),
            }
            for key in BY_TYPE_KPIS:
                setattr(self, f"{tname}_{key}", vals[key])

    def _record_validation(self) -> None:
        g = self.game
        self.step_count = int(self.time)
        self.members = g.n
        self.enterprise_members = g.n
        self.cooperation_rate = float(g.coop.mean())
        self.enterprise_cooperation_rate = self.cooperation_rate
        self.payoff_gini = gini(g.payoff)
        self.revenue = float(g.payoff.sum())
        self.profit = self.revenue

    # ================================================================== views for the app and analysis
    def kpis(self) -> pd.DataFrame:
        """The time series so far (one row per step)."""
        return self.datacollector.get_model_vars_dataframe()

    def firm_table(self) -> pd.DataFrame:
        """One row per active firm with its state and Morgan-Hunt variables."""
        if self.validation:
            return pd.DataFrame({"id": np.arange(self.game.n), "kind": "enterprise", "cooperating": self.game.coop, "payoff": self.game.payoff})
        st = self.state
        f = st.firms()
        cols = {"id": f, "kind": [KIND_NAMES[int(k)] for k in st.kind[f]]}
        for name in ("cooperating", "mean_trust", "commitment", "partner_commitment", "reputation", *ANTECEDENT_COLUMNS,
                     "acquiescence", "propensity_to_leave", "cooperation", "functional_conflict", "decision_uncertainty",
                     "capacity", "resources", "revenue", "profit", "energy_intensity", "assoc_of", "tier"):
            cols[name] = getattr(st, name)[f]
        return pd.DataFrame(cols)

    def graph_snapshot(self) -> dict[str, np.ndarray]:
        """Nodes (firms and associations; CDC as the last node) and live undirected edges, for drawing."""
        if self.validation:
            n = self.game.n
            return {
                "node_id": np.arange(n), "node_kind": np.full(n, "enterprise"), "cooperating": self.game.coop.copy(),
                "revenue": self.game.payoff.copy(), "commitment": np.zeros(n), "active": np.ones(n, bool),
                "edge_src": self.game_edges[:, 0].copy(), "edge_dst": self.game_edges[:, 1].copy(), "edge_trust": np.ones(len(self.game_edges)),
            }
        st = self.state
        n, e = st.n_nodes, st.n_edges
        alive = st.edge_alive()
        kinds = np.array([KIND_NAMES[int(k)] for k in st.kind[:n]] + ["cdc"])
        assoc = np.flatnonzero(st.kind[:n] == ASSOCIATION)
        cdc = n
        return {
            "node_id": np.arange(n + 1),
            "node_kind": kinds,
            "cooperating": np.concatenate([st.cooperating[:n], [True]]),
            "revenue": np.concatenate([st.revenue[:n], [0.0]]),
            "commitment": np.concatenate([st.commitment[:n], [0.0]]),
            "active": np.concatenate([st.active[:n], [True]]),
            "edge_src": np.concatenate([st.ua[:e][alive], np.full(len(assoc), cdc)]),
            "edge_dst": np.concatenate([st.ub[:e][alive], assoc]),
            "edge_trust": np.concatenate([0.5 * (st.trust[0 : 2 * e : 2] + st.trust[1 : 2 * e : 2])[alive], np.full(len(assoc), 1.0 - self.cdc.relay_loss)]),
        }


def run_one(scenario: Scenario, seed: int, steps: int | None = None) -> pd.DataFrame:
    """Run one replicate and return its time series (one row per step).

    Args:
        scenario: validated parameters.
        seed: the replicate's seed.
        steps: number of steps (``scenario.run.steps`` if None).
    """
    model = ClusterModel(scenario, rng=int(seed))
    model.run_for(steps if steps is not None else scenario.run.steps)
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return frame
