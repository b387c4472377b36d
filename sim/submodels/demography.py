"""Demography (ODD 5, 7.12): how firms are born (at the start and on entry), exit, enter, and where
entrants link. Firms weigh the cluster against an outside option, so the cluster settles at the size
its market supports.

Exits, in order: (1) members on the expulsion list leave ("expelled");
(2) firms with ``resources < 0`` leave ("bankrupt"); (3) a firm whose
smoothed payoff (``payoff_ema``, profit per unit capacity) is below the
outside option leaves with probability ``leave_rate propensity_to_leave_i``
("left": a committed firm holds on longer); (4) any firm closes with
probability ``closure_rate`` ("closed": succession, takeover, reasons
outside the model). One uniform per row decides (3) at its bottom and (4)
at its top. Leaving masks the row; its links die; the agent is removed.

Entries: ``K ~ Poisson(entry_rate n_0)`` potential entrants arrive (``n_0``
the initial number of firms, so the flow of candidates does not grow with
the cluster); each picks a product group g uniformly and enters when the
payoff it expects (``market.Market.expected_payoff``), a mean SME's at the price its own capacity would
leave::

    E_g = P_g(X_g + 1) (1 + premium (B + M)) - (1 - margin + energy_price e) - fixed_cost + c

(``B`` the cluster brand's premium for a member of the initial mean energy
use, ``market.Market.member_brand``; ``M`` the members' mean product brand,
``market.Market.product_brand``, which an entrant's contributions can buy;
``c`` the enterprises' mean cash per unit capacity this step: pool
contributions, contracts, dues, fees) beats the outside option by the entry hurdle,
``E_g > outside_option + entry_cost / AMORTIZATION``. An entrant pays
``entry_cost cap`` to outside suppliers from its starting resources. A
leading firm considers entering with probability ``leading_entry_rate`` per
step, into a random group, by the same test with its capacity and corporate
brand; with closures at ``closure_rate`` the number of leading firms drifts
around ``leading_entry_rate / closure_rate``.

Entrants join a uniformly random association (tier 2 in a hierarchy, a
leading firm tier 0; in a chain the stage with the fewest active firms,
:func:`chain_stages`) and link as the structure dictates
(:func:`entrant_links`): to the centre of a star; to firms of the stages
before and after its own in a chain; to the middle tier of a hierarchy; by
preferential attachment (live firm-firm degree + 1) in a network or an edge
list.
"""

from __future__ import annotations

import numba
import numpy as np

from ..agents import Enterprise, LeadingFirm
from ..numerics import JIT, sigmoid_np
from ..state import ASSOCIATION, ENTERPRISE, LEADING

__all__ = ["turnover", "add_firms", "exits", "entries", "entrant_links", "chain_stages", "exit_candidates",
           "live_ff_degree", "AMORTIZATION", "entry_hurdle"]

#: Steps over which an entrant expects to recover its set-up cost (five years).
AMORTIZATION = 60


def entry_hurdle(p) -> float:
    """The payoff per unit capacity an entrant must expect: the outside option plus the amortised entry cost."""
    d = p.demography
    return d.outside_option + d.entry_cost / AMORTIZATION


def turnover(model, ctx) -> None:
    """Exits, then entries; the counts into ``model.exits`` and ``model.entries``, the firms that acted
    this step and stayed into ``ctx.acted``."""
    st, firms = model.state, ctx.masks.firms
    before = sum(model.exit_reasons.values())
    exits(model, ctx.regulation.expelled, firms)
    model.exits = sum(model.exit_reasons.values()) - before
    ctx.acted = firms & st.active[: ctx.n]  # behavioural KPIs are over firms that acted this step
    model.entries = entries(model, ctx, firms)


def add_firms(model, nodes: np.ndarray, kind: np.ndarray, tier: np.ndarray, assoc: np.ndarray) -> None:
    """Draw the attributes of new firms in rows ``nodes`` (at the start and on entry) and create their agents."""
    p, st, rng = model.params, model.state, model.rng
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
    st.payoff_ema[nodes] = entry_hurdle(p)  # what it expected on coming in (the initial firms: as much)
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
        model.node_agent[node] = cls(model, node)


def exits(model, expelled: np.ndarray, firms: np.ndarray) -> None:
    """The expelled leave, then the bankrupt, then those below their outside option and those that close
    (one uniform per row)."""
    st, rng, p = model.state, model.rng, model.params
    d = p.demography
    n = st.n_nodes
    for node in expelled.tolist():
        if st.active[node]:
            model.node_agent[node].leave("expelled")
    rows = np.empty((3, n), dtype=np.int64)
    counts = np.zeros(3, dtype=np.int64)
    exit_candidates(firms, st.active[:n], st.resources[:n], st.payoff_ema[:n], rng.random(n), float(d.outside_option),
                    float(d.leave_rate), st.propensity_to_leave[:n], float(d.closure_rate), rows, counts)
    for j, reason in enumerate(("bankrupt", "left", "closed")):
        for node in rows[j, : counts[j]].tolist():
            model.node_agent[node].leave(reason)


def entries(model, ctx, firms: np.ndarray) -> int:
    """Draw this step's candidates, let in those whose expected payoff clears the hurdle, add them and their
    links; return how many entered."""
    st, rng, p = model.state, model.rng, model.params
    d = p.demography
    n = st.n_nodes
    firms = firms & st.active[:n]
    k = int(rng.poisson(d.entry_rate * model.initial_firms)) if d.entry_rate > 0 else 0
    leader = bool(d.leading_entry_rate > 0 and rng.random() < d.leading_entry_rate)
    if k == 0 and not leader:
        return 0
    hurdle = entry_hurdle(p)
    n_groups = len(model.market.base)
    groups = rng.integers(0, n_groups, k + leader)
    cap_now = st.capacity[:n]
    x = np.bincount(st.product_group[:n][firms], weights=cap_now[firms], minlength=n_groups)
    ents = firms & (st.kind[:n] == ENTERPRISE)
    cash = float((ctx.cash[ents] / cap_now[ents]).mean()) if ents.any() else 0.0
    kinds, chosen = _admitted(model, groups[:k], groups[k] if leader else -1, x, cash, hurdle)
    if not kinds:
        return 0
    k = len(kinds)
    kind = np.array(kinds, dtype=np.int8)
    n_assoc = int((st.kind[:n] == ASSOCIATION).sum())
    nodes = st.add_nodes(k)
    assoc = rng.integers(0, n_assoc, k) if n_assoc else np.full(k, -1)
    if model.structure_kind == "hierarchical":
        tier = np.where(kind == LEADING, 0, 2)
    elif model.chain_stages:
        tier = chain_stages(model, k, firms)
    else:
        tier = np.full(k, -1)
    add_firms(model, nodes, kind, tier, assoc)
    st.product_group[nodes] = chosen
    st.resources[nodes] -= d.entry_cost * st.capacity[nodes]  # paid to outside suppliers
    a, b = entrant_links(model, nodes, firms)
    if len(a):
        st.add_edges(a, b, p.trust.initial)
    return k


def _admitted(model, groups: np.ndarray, leader_group: int, x: np.ndarray, cash: float, hurdle: float):
    """Kinds and groups of the candidates that enter, in draw order (enterprises, then the leading firm if
    ``leader_group >= 0``); each candidate sees the supply of those admitted before it.

    The candidates of one group are taken together: the i-th sees its group's supply plus the i before it, as
    long as those entered; once one is refused the supply stays, so every later one of its group is refused too.
    """
    n_groups = len(x)
    counts = np.bincount(groups, minlength=n_groups)
    c = int(counts.max()) if len(groups) else 0
    # supply[i, g] = x_g + 1 + ... + 1 (i times, summed in sequence as the entrants arrive)
    supply = np.cumsum(np.vstack([x, np.ones((c, n_groups))]), axis=0)
    expected = model.market.expected_payoff
    passes = np.vstack([expected(supply[:c], cash, 1.0, False) > hurdle, np.zeros(n_groups, dtype=bool)])
    n_in = np.minimum(np.argmin(passes, axis=0), counts)
    order = np.argsort(groups, kind="stable")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - (np.cumsum(counts) - counts)[groups[order]]
    chosen = groups[rank < n_in[groups]].tolist()
    kinds = [ENTERPRISE] * len(chosen)
    if leader_group >= 0:
        after = supply[n_in, np.arange(n_groups)]
        if expected(after, cash, model.params.firms.leading_capacity, True)[leader_group] > hurdle:
            kinds.append(LEADING)
            chosen.append(int(leader_group))
    return kinds, chosen


def entrant_links(model, nodes: np.ndarray, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where entrants attach, as the structure dictates (module docstring); pairs (entrant, target)."""
    st, rng, p = model.state, model.rng, model.params
    n_old = len(firms)
    kind = model.structure_kind
    if kind == "star":
        return nodes, np.zeros(len(nodes), dtype=np.int64)
    if kind == "chain":
        return _chain_links(model, nodes, firms)
    if kind == "hierarchical":
        pool = np.flatnonzero(firms & (st.tier[:n_old] == 1)) if (firms & (st.tier[:n_old] == 1)).any() else np.flatnonzero(firms)
        k = min(p.structure.up_links, len(pool))
    else:  # network and edge_list: preferential attachment, open to entry
        pool = np.flatnonzero(firms)
        k = min(p.demography.entry_links, len(pool))
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    e = st.n_edges
    if kind != "hierarchical":  # degree over live firm-firm links: links to departed firms or dropped do not count
        deg = np.zeros(n_old, dtype=np.int64)
        live_ff_degree(st.ua[:e], st.ub[:e], st.is_ff[:e], st.dropped[:e], st.active[:n_old], deg)
        w = deg[pool] + 1.0
    else:
        w = np.ones(len(pool))
    # one draw for all entrants; a repeated target is linked once (pairs in (entrant, target) order)
    targets = rng.choice(pool, size=len(nodes) * k, p=w / w.sum())
    key = np.unique(np.repeat(nodes, k) * n_old + targets)  # targets < n_old <= entrants: a 1-D key sorts as the pair
    return key // n_old, key % n_old


def chain_stages(model, k: int, firms: np.ndarray) -> np.ndarray:
    """Stages of ``k`` entrants of a chain: each in turn joins a stage with the fewest active firms (ties at
    random), so a function left short by exits is carried again and an emptied stage rejoins the chain."""
    st, rng = model.state, model.rng
    n = len(firms)
    count = np.bincount(st.tier[:n][firms].astype(np.int64), minlength=model.chain_stages)
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        low = np.flatnonzero(count == count.min())
        out[i] = low[rng.integers(len(low))] if len(low) > 1 else low[0]
        count[out[i]] += 1
    return out


def _chain_links(model, nodes: np.ndarray, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chain entrant draws ``up_links`` partners (uniform, with replacement) among the active firms of the
    stage before its own and as many of the stage after, as a built firm of a middle stage has; with both
    empty, among its own stage."""
    st, rng, p = model.state, model.rng, model.params
    tier = st.tier[: len(firms)]
    src, dst = [], []
    for node in nodes.tolist():
        s = int(st.tier[node])
        pools = [np.flatnonzero(firms & (tier == t)) for t in (s - 1, s + 1)]
        pools = [q for q in pools if len(q)] or [np.flatnonzero(firms & (tier == s))]
        for pool in pools:
            if len(pool):
                src.append(np.full(min(p.structure.up_links, len(pool)), node))
                dst.append(pool[rng.integers(0, len(pool), len(src[-1]))])
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = np.unique(np.concatenate(src) * len(firms) + np.concatenate(dst))  # a repeated target is linked once
    return key // len(firms), key % len(firms)


@numba.njit(**JIT)
def exit_candidates(firms, active, resources, payoff_ema, r, outside_option, leave_rate, propensity_to_leave,
                    closure_rate, rows, counts):
    """Active firms with negative resources go bankrupt (``rows[0]``); of the others, a firm below its outside
    option leaves when ``r_i < leave_rate propensity_to_leave_i`` (``rows[1]``), and any firm closes when
    ``r_i >= 1 - closure_rate`` (``rows[2]``). Rows go to the front of each, in row order; ``counts`` how many."""
    for i in range(firms.shape[0]):
        if not (firms[i] and active[i]):
            continue
        j = -1
        if resources[i] < 0:
            j = 0
        elif payoff_ema[i] < outside_option and r[i] < leave_rate * propensity_to_leave[i]:
            j = 1
        elif r[i] >= 1.0 - closure_rate:
            j = 2
        if j >= 0:
            rows[j, counts[j]] = i
            counts[j] += 1


@numba.njit(**JIT)
def live_ff_degree(ua, ub, is_ff, dropped, active, out):
    """Live firm-firm links per node (both ends active, not dropped), into ``out``."""
    for u in range(ua.shape[0]):  # branch-free: which links are live is a coin flip to the branch predictor
        a, b = ua[u], ub[u]
        add = 1 if (is_ff[u] & (not dropped[u]) & active[a] & active[b]) else 0
        out[a] += add
        out[b] += add
