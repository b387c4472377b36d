"""Demography (ODD 5, 7.12): how firms are born (at the start and on entry), exit, enter, and where
entrants link.

Exits, in order: (1) members on the expulsion list leave ("expelled");
(2) firms with ``resources < 0`` leave ("bankrupt"); (3) each remaining firm
leaves with probability ``leave_rate propensity_to_leave_i`` ("left").
Leaving masks the row; its links die; the agent is removed.

Entries, with N active firms and mean payoff P of the active firms::

    attractiveness = sigma(10 P)
    K ~ Poisson(entry_rate N attractiveness)

Entrants are enterprises drawn as at the start (:func:`add_firms`), join a
uniformly random association (tier 2 in a hierarchy) and link as the
structure dictates (:func:`entrant_links`): to the centre of a star; after
the last active firm of a chain; to the middle tier of a hierarchy; by
preferential attachment (live firm-firm degree + 1) in a network or an
edge list.
"""

from __future__ import annotations

import numba
import numpy as np

from ..agents import Enterprise, LeadingFirm
from ..numerics import JIT, sigmoid_np
from ..state import ASSOCIATION, ENTERPRISE, LEADING

__all__ = ["turnover", "add_firms", "exits", "entries", "entrant_links", "exit_candidates", "live_ff_degree"]


def turnover(model, ctx) -> None:
    """Exits, then entries; the counts into ``model.exits`` and ``model.entries``, the firms that acted
    this step and stayed into ``ctx.acted``."""
    st, firms = model.state, ctx.masks.firms
    before = sum(model.exit_reasons.values())
    exits(model, ctx.regulation.expelled, firms)
    model.exits = sum(model.exit_reasons.values()) - before
    ctx.acted = firms & st.active[: ctx.n]  # behavioural KPIs are over firms that acted this step
    model.entries = entries(model, firms)


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
    """The expelled leave, then the bankrupt, then those who choose to (one uniform per row)."""
    st, rng, p = model.state, model.rng, model.params
    n = st.n_nodes
    for node in expelled.tolist():
        if st.active[node]:
            model.node_agent[node].leave("expelled")
    rows = np.empty((2, n), dtype=np.int64)
    n_bankrupt, n_leaving = exit_candidates(firms, st.active[:n], st.resources[:n], rng.random(n),
                                            float(p.demography.leave_rate), st.propensity_to_leave[:n],
                                            rows[0], rows[1])
    for node in rows[0, :n_bankrupt].tolist():
        model.node_agent[node].leave("bankrupt")
    for node in rows[1, :n_leaving].tolist():
        model.node_agent[node].leave("left")


def entries(model, firms: np.ndarray) -> int:
    """Draw this step's entrants, add them and their links; return how many entered."""
    st, rng, p = model.state, model.rng, model.params
    n = st.n_nodes
    firms = firms & st.active[:n]
    n_firms = int(firms.sum())
    if n_firms == 0 or p.demography.entry_rate == 0:
        return 0
    attractiveness = float(sigmoid_np(10.0 * st.payoff[:n][firms].mean()))
    k = int(rng.poisson(p.demography.entry_rate * n_firms * attractiveness))
    if k == 0:
        return 0
    n_assoc = int((st.kind[:n] == ASSOCIATION).sum())
    nodes = st.add_nodes(k)
    assoc = rng.integers(0, n_assoc, k) if n_assoc else np.full(k, -1)
    tier = np.full(k, 2 if model.structure_kind == "hierarchical" else -1)
    add_firms(model, nodes, np.full(k, ENTERPRISE), tier, assoc)
    a, b = entrant_links(model, nodes, firms)
    if len(a):
        st.add_edges(a, b, p.trust.initial)
    return k


def entrant_links(model, nodes: np.ndarray, firms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where entrants attach, as the structure dictates (module docstring); pairs (entrant, target)."""
    st, rng, p = model.state, model.rng, model.params
    n_old = len(firms)
    kind = model.structure_kind
    if kind == "star":
        return nodes, np.zeros(len(nodes), dtype=np.int64)
    if kind == "chain":
        order = model.chain_order
        alive = order[st.active[order]]
        tail = [int(alive[-1])] if len(alive) else []
        chain = np.array(tail + nodes.tolist(), dtype=np.int64)
        model.chain_order = np.concatenate([order, nodes])
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
        live_ff_degree(st.ua[:e], st.ub[:e], st.is_ff[:e], st.active[:n_old], deg)
        w = deg[pool] + 1.0
    else:
        w = np.ones(len(pool))
    # one draw for all entrants; a repeated target is linked once (pairs in (entrant, target) order)
    targets = rng.choice(pool, size=len(nodes) * k, p=w / w.sum())
    key = np.unique(np.repeat(nodes, k) * n_old + targets)  # targets < n_old <= entrants: a 1-D key sorts as the pair
    return key // n_old, key % n_old


@numba.njit(**JIT)
def exit_candidates(firms, active, resources, r, leave_rate, propensity_to_leave, bankrupt, leaving):
    """Active firms with negative resources go bankrupt; of the others, a firm leaves when
    ``r_i < leave_rate propensity_to_leave_i``. Rows go to the front of ``bankrupt`` and ``leaving``
    (in row order); returns how many of each."""
    n_bankrupt = 0
    n_leaving = 0
    for i in range(firms.shape[0]):
        if not (firms[i] and active[i]):
            continue
        if resources[i] < 0:
            bankrupt[n_bankrupt] = i
            n_bankrupt += 1
        elif r[i] < leave_rate * propensity_to_leave[i]:
            leaving[n_leaving] = i
            n_leaving += 1
    return n_bankrupt, n_leaving


@numba.njit(**JIT)
def live_ff_degree(ua, ub, is_ff, active, out):
    """Live firm-firm links per node (both ends active), into ``out``."""
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        if is_ff[u] and active[a] and active[b]:
            out[a] += 1
            out[b] += 1
