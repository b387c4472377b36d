"""Trade between firms (ODD 7.16): the supplier-buyer layer under every structure, the orders it carries
and the search for suppliers.

Product groups form a value chain: a firm of group g >= 1 buys its inputs from group g - 1 (group 0 buys
from outside the cluster); a leading firm is a final assembler and buys from every other group. A firm-firm
link is a **trade link** when one end is the other's supplier by that rule; its buyer is the downstream end
(the leading firm, or the higher group). The structure (003 section 3.1) is the marketing organization laid
over this layer: whatever its kind, every buyer gets ``trade.links`` suppliers at the start (``LEADER_LINKS``
times as many for a leading firm), counting the structure's own links that already are trade links, and
draws the rest uniformly from its supplier groups.

Orders. A buyer b buys inputs worth ``input_share cap_b`` at its suppliers' prices each step. It places
them on its trade links under contract, in proportion to ``w_u = trust_bs reputation_s volume_u`` (whom it
trusts, what the cluster says of the supplier, and the link's relative volume, 1 but where a data cluster's
trade.csv gives it), so a contracted link u carries::

    order_u = input_share cap_b P_g(s) w_u / sum of w over b's contracted supplier links

The rest it buys at spot, inside or outside the cluster, at the market price. Buying under contract saves
``saving`` of the order (transport, search and stock: what co-location is worth); the contract splits the
saving between the two parties (``contract.py``), so the money a contract carries is the trade it carries.

Dropping and search (each step, after exits and entries). A link to a firm that left is dead. A buyer drops
a supplier link it found by search (the trade layer's own links; the structure's are the marketing
organization and stay) once it has gone ``drop_after`` steps without a contract: no orders flow on it, and a
link that did not sign in that time is not worth keeping. A dropped link is dead for both ends. Then a buyer with fewer live supplier links than ``trade.links`` looks for
one with probability ``search_rate``: it draws ``SEARCH_CANDIDATES`` firms of its supplier groups and links to
the one with the best reputation (a pair it dropped may link again, as a new link). So the network neither
thins out as firms leave nor only grows, and trust and reputation decide who keeps customers.
"""

from __future__ import annotations

import numba
import numpy as np

from ..numerics import JIT
from ..state import ASSOCIATION, ENTERPRISE, LEADING

__all__ = ["set_up", "search", "compact_edges", "orders", "supplier_links", "LEADER_LINKS", "SEARCH_CANDIDATES", "role_of_link"]

#: A leading firm's suppliers, in multiples of ``trade.links``: it assembles what many supply.
LEADER_LINKS = 5

#: Firms a searching buyer compares before it links to one (by reputation).
SEARCH_CANDIDATES = 3


@numba.njit(**JIT)
def role_of_link(ga, gb, ka, kb):
    """+1 when a buys from b on this link, -1 when b buys from a, 0 when it is no trade link."""
    if ka == LEADING and kb != LEADING:
        return 1
    if kb == LEADING and ka != LEADING:
        return -1
    if ka == LEADING and kb == LEADING:
        return 0
    if ga == gb + 1:
        return 1
    if gb == ga + 1:
        return -1
    return 0


@numba.njit(**JIT)
def supplier_links(ua, ub, live_ff, product_group, kind, out):
    """Live supplier links per buyer, into ``out`` (zeroed by the caller)."""
    for u in range(ua.shape[0]):
        if not live_ff[u]:
            continue
        a, b = ua[u], ub[u]
        r = role_of_link(product_group[a], product_group[b], kind[a], kind[b])
        if r == 1:
            out[a] += 1
        elif r == -1:
            out[b] += 1


@numba.njit(**JIT)
def orders(ua, ub, live_ff, left, product_group, kind, capacity, trust, reputation, volume, price, input_share,
           weight, order):
    """Each contracted trade link's order (module docstring) into ``order`` (per undirected edge, 0 on others).

    ``weight`` (per node, zeroed by the caller) collects each buyer's sum of ``trust * reputation * volume`` over
    its contracted supplier links (``volume`` is 1 but on a data cluster's links).
    """
    # the contracted links listed first (a tenth of the links or so), then two passes over the list only
    on = np.empty(ua.shape[0], dtype=np.int32)
    k = 0
    for u in range(ua.shape[0]):
        order[u] = 0.0
        on[k] = u
        k += 1 if (live_ff[u] and left[u] > 0) else 0
    for i in range(k):
        u = on[i]
        a, b = ua[u], ub[u]
        r = role_of_link(product_group[a], product_group[b], kind[a], kind[b])
        if r == 1:
            weight[a] += trust[2 * u] * reputation[b] * volume[u]
        elif r == -1:
            weight[b] += trust[2 * u + 1] * reputation[a] * volume[u]
    for i in range(k):
        u = on[i]
        a, b = ua[u], ub[u]
        r = role_of_link(product_group[a], product_group[b], kind[a], kind[b])
        if r == 1 and weight[a] > 0.0:
            # volume last: times 1 leaves the product's bits as they were without it
            order[u] = input_share * capacity[a] * price[product_group[b]] * trust[2 * u] * reputation[b] * volume[u] / weight[a]
        elif r == -1 and weight[b] > 0.0:
            order[u] = input_share * capacity[b] * price[product_group[a]] * trust[2 * u + 1] * reputation[a] * volume[u] / weight[b]


@numba.njit(**JIT)
def link_buyers(ua, ub, is_ff, product_group, kind, out):
    """The buyer end of each edge into ``out`` (-1 where the edge is no trade link)."""
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        r = role_of_link(product_group[a], product_group[b], kind[a], kind[b]) if is_ff[u] else 0
        out[u] = a if r == 1 else (b if r == -1 else -1)


@numba.njit(**JIT)
def count_suppliers(buyer, ua, ub, active, dropped, out):
    """Live supplier links per buyer (``buyer`` from :func:`link_buyers`), into ``out`` (zeroed by the caller)."""
    for u in range(buyer.shape[0]):
        if buyer[u] >= 0 and active[ua[u]] and active[ub[u]] and not dropped[u]:
            out[buyer[u]] += 1


@numba.njit(**JIT)
def links_to_drop(buyer, by_trade, ua, ub, active, dropped, left, idle, drop_after, out, have):
    """Age the live trade links the trade layer made, pick those their buyers drop (module docstring) and count
    the live supplier links each buyer keeps.

    ``idle[u]`` goes back to 0 on such a link under contract and grows by one on one without; a link without a
    contract is dropped once ``idle[u] >= drop_after`` (``drop_after`` > 0). Writes the dropped links to the front of ``out`` and returns how many;
    adds the kept supplier links per buyer into ``have`` (zeroed by the caller).
    """
    k = 0
    for u in range(buyer.shape[0]):
        b = buyer[u]
        if b < 0 or dropped[u] or not (active[ua[u]] and active[ub[u]]):
            continue
        if by_trade[u]:
            if left[u] > 0:
                idle[u] = 0
            else:
                idle[u] += 1
                if drop_after > 0 and idle[u] >= drop_after:
                    out[k] = u
                    k += 1
                    continue
        have[b] += 1
    return k


@numba.njit(**JIT)
def short_buyers(active, kind, product_group, have, links, leader_links, out):
    """Active firms with fewer live supplier links ``have`` than they want (:func:`_wanted`: ``leader_links`` for
    a leading firm, ``links`` for an enterprise, 0 for one of group 0), in row order to the front of ``out``;
    returns how many."""
    k = 0
    for i in range(active.shape[0]):
        if not active[i] or kind[i] == ASSOCIATION:
            continue
        want = leader_links if kind[i] == LEADING else (0 if product_group[i] == 0 else links)
        if have[i] < want:
            out[k] = i
            k += 1
    return k


@numba.njit(**JIT)
def best_candidates(pool_of, pool_ptr, pool, reputation, r, out):
    """Each searching buyer i draws ``r.shape[1]`` firms of its pool ``pool_of[i]`` (firm
    ``pool[pool_ptr[k] + floor(r[i, j] L)]`` of the pool's L) and takes the first of the best reputation
    into ``out[i]`` (-1 for an empty pool)."""
    for i in range(pool_of.shape[0]):
        k = pool_of[i]
        lo, size = pool_ptr[k], pool_ptr[k + 1] - pool_ptr[k]
        best = -1
        if size > 0:
            for j in range(r.shape[1]):
                c = pool[lo + min(int(r[i, j] * size), size - 1)]
                if best < 0 or reputation[c] > reputation[best]:
                    best = c
        out[i] = best


class _Pools:
    """Firms that can supply a buyer, by the buyer's (kind, group), computed once per call."""

    def __init__(self, st, firms: np.ndarray):
        self.st, self.firms, self.cache = st, firms, {}

    def __call__(self, buyer: int) -> np.ndarray:
        st = self.st
        return self.of((int(st.kind[buyer]), int(st.product_group[buyer])))

    def of(self, key: tuple[int, int]) -> np.ndarray:
        """The pool of buyers of kind ``key[0]`` and product group ``key[1]``."""
        st, firms = self.st, self.firms
        if key not in self.cache:
            n = len(firms)
            g = st.product_group[:n]
            if key[0] == LEADING:
                pool = np.flatnonzero(firms & (st.kind[:n] == ENTERPRISE) & (g != key[1]))
            elif key[1] == 0:
                pool = np.zeros(0, dtype=np.int64)
            else:
                pool = np.flatnonzero(firms & (st.kind[:n] != LEADING) & (g == key[1] - 1))
            self.cache[key] = pool
        return self.cache[key]


def _wanted(st, p, rows: np.ndarray) -> np.ndarray:
    """Supplier links each buyer in ``rows`` wants (0 for a firm of group 0)."""
    k = p.trade.links
    want = np.where(st.kind[rows] == LEADING, LEADER_LINKS * k, k)
    return np.where((st.kind[rows] != LEADING) & (st.product_group[rows] == 0), 0, want)


def _pairs(model) -> set[int]:
    """Keys ``lo * 2^32 + hi`` of every edge, kept on the model and extended by the edges added since."""
    st = model.state
    keys = getattr(model, "_trade_pairs", None)
    done = getattr(model, "_trade_pairs_edges", 0)
    if keys is None:
        keys, done = set(), 0
    e = st.n_edges
    if e > done:
        a, b = st.ua[done:e].astype(np.int64), st.ub[done:e].astype(np.int64)
        keys.update((np.minimum(a, b) * 2**32 + np.maximum(a, b)).tolist())
    model._trade_pairs, model._trade_pairs_edges = keys, e
    return keys


def _link(model, buyers: np.ndarray, suppliers: np.ndarray) -> None:
    """Add the new pairs as links of the trade layer (a pair already linked, or drawn twice, is linked once)."""
    keys = _pairs(model)
    a, b = np.asarray(buyers, dtype=np.int64), np.asarray(suppliers, dtype=np.int64)
    new = []
    for j, k in enumerate((np.minimum(a, b) * 2**32 + np.maximum(a, b)).tolist()):
        if k not in keys and a[j] != b[j]:
            keys.add(k)
            new.append(j)
    if new:
        u = model.state.add_edges(a[new], b[new], model.params.trust.initial)
        model.state.by_trade[u] = True


def _drop(model) -> np.ndarray:
    """Buyers drop the links of the trade layer that went idle (module docstring); a dropped
    pair may link again later, as a new link. Returns the live supplier links per buyer after the drops."""
    p, st = model.params, model.state
    t = p.trade
    e = st.n_edges
    out = np.empty(e, dtype=np.int64)
    have = np.zeros(st.n_nodes, dtype=np.int64)
    k = links_to_drop(edge_buyers(model), st.by_trade[:e], st.ua[:e], st.ub[:e], st.active, st.dropped[:e],
                      st.contract_left[:e], st.idle[:e], int(t.drop_after), out, have)
    if k:
        u = out[:k]
        st.drop_edges(u)
        a, b = st.ua[u].astype(np.int64), st.ub[u].astype(np.int64)
        _pairs(model).difference_update((np.minimum(a, b) * 2**32 + np.maximum(a, b)).tolist())
    return have


def edge_buyers(model) -> np.ndarray:
    """The buyer end of every edge (-1: no trade link), kept on the model and extended by the edges added since
    (an edge's ends keep their kind and product group)."""
    st = model.state
    e = st.n_edges
    buyer, done = getattr(model, "_trade_buyer", np.zeros(0, dtype=np.int64)), getattr(model, "_trade_buyer_n", 0)
    if e > done:
        if len(buyer) < e:  # grown by doubling, as the state's own arrays
            buyer = np.concatenate([buyer[:done], np.empty(2 * e - done, dtype=np.int64)])
        link_buyers(st.ua[done:e], st.ub[done:e], st.is_ff[done:e], st.product_group, st.kind, buyer[done:e])
        model._trade_buyer, model._trade_buyer_n = buyer, e
    return buyer[:e]


def compact_edges(model) -> None:
    """Compact the state's edges once enough are dead (``ClusterState.compact_edges``), between steps; the trade
    layer's per-edge caches are then rebuilt from the edges that remain."""
    if model.state.compact_edges() is None:
        return
    model._trade_pairs, model._trade_pairs_edges = None, 0
    model._trade_buyer_n = 0


def _supplier_counts(model) -> np.ndarray:
    st = model.state
    have = np.zeros(st.n_nodes, dtype=np.int64)
    # not through ``masks()``: this step's entries changed them, and the links added below change them again
    count_suppliers(edge_buyers(model), st.ua, st.ub, st.active, st.dropped, have)
    return have


def set_up(model) -> None:
    """Give every buyer its suppliers at the start (module docstring); called by ``ClusterModel._set_up``."""
    p, st, rng = model.params, model.state, model.rng
    if p.trade.links == 0:
        return
    firms = st.firm_mask()
    have = _supplier_counts(model)
    rows = np.flatnonzero(firms)
    need = np.maximum(0, _wanted(st, p, rows) - have[rows])
    pools = _Pools(st, firms)
    buyers, suppliers = [], []
    for buyer, m in zip(rows[need > 0].tolist(), need[need > 0].tolist()):
        pool = pools(buyer)
        if len(pool):
            buyers += [buyer] * m
            suppliers += pool[rng.integers(0, len(pool), m)].tolist()
    _link(model, buyers, suppliers)


def search(model, ctx) -> None:
    """Buyers drop idle links, then those short of suppliers look for one, by reputation (module docstring)."""
    p, st, rng = model.params, model.state, model.rng
    t = p.trade
    if t.links == 0:
        return
    have = _drop(model)
    if t.search_rate == 0:
        return
    n = st.n_nodes
    short = np.empty(n, dtype=np.int64)
    short = short[: short_buyers(st.active[:n], st.kind[:n], st.product_group[:n], have[:n], int(t.links),
                                 int(LEADER_LINKS * t.links), short)]
    looking = short[rng.random(len(short)) < t.search_rate]
    if len(looking) == 0:
        return
    # one pool per (kind, product group) of the searching buyers, laid end to end
    code = np.where(st.kind[looking] == LEADING, -1 - st.product_group[looking], st.product_group[looking])
    keys, pool_of = np.unique(code, return_inverse=True)
    pools = _Pools(st, st.firm_mask())
    parts = [pools.of((LEADING, -1 - c) if c < 0 else (ENTERPRISE, c)) for c in keys.tolist()]
    pool_ptr = np.concatenate([[0], np.cumsum([len(x) for x in parts])]).astype(np.int64)
    chosen = np.empty(len(looking), dtype=np.int64)
    best_candidates(pool_of.astype(np.int64), pool_ptr, np.concatenate(parts).astype(np.int64, copy=False), st.reputation,
                    rng.random((len(looking), SEARCH_CANDIDATES)), chosen)
    found = chosen >= 0
    _link(model, looking[found], chosen[found])
