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

Search (each step, after exits and entries): a buyer with fewer live supplier links than ``trade.links``
looks for one with probability ``search_rate``: it draws ``SEARCH_CANDIDATES`` firms of its supplier groups
and links to the one with the best reputation, so the network does not thin out as firms leave and a bad
reputation costs customers.
"""

from __future__ import annotations

import numba
import numpy as np

from ..numerics import JIT
from ..state import ENTERPRISE, LEADING

__all__ = ["set_up", "search", "orders", "supplier_links", "LEADER_LINKS", "SEARCH_CANDIDATES", "role_of_link"]

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
    for u in range(ua.shape[0]):
        order[u] = 0.0
        if not (live_ff[u] and left[u] > 0):
            continue
        a, b = ua[u], ub[u]
        r = role_of_link(product_group[a], product_group[b], kind[a], kind[b])
        if r == 1:
            weight[a] += trust[2 * u] * reputation[b] * volume[u]
        elif r == -1:
            weight[b] += trust[2 * u + 1] * reputation[a] * volume[u]
    for u in range(ua.shape[0]):
        if not (live_ff[u] and left[u] > 0):
            continue
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
def count_suppliers(buyer, ua, ub, active, out):
    """Live supplier links per buyer (``buyer`` from :func:`link_buyers`), into ``out`` (zeroed by the caller)."""
    for u in range(buyer.shape[0]):
        if buyer[u] >= 0 and active[ua[u]] and active[ub[u]]:
            out[buyer[u]] += 1


class _Pools:
    """Firms that can supply a buyer, by the buyer's (kind, group), computed once per call."""

    def __init__(self, st, firms: np.ndarray):
        self.st, self.firms, self.cache = st, firms, {}

    def __call__(self, buyer: int) -> np.ndarray:
        st, firms = self.st, self.firms
        key = (int(st.kind[buyer]), int(st.product_group[buyer]))
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


def _link(model, buyers: list[int], suppliers: list[int]) -> None:
    """Add the new pairs (a pair already linked, or drawn twice, is linked once)."""
    keys = _pairs(model)
    a_new, b_new = [], []
    for x, y in zip(buyers, suppliers):
        k = min(x, y) * 2**32 + max(x, y)
        if x != y and k not in keys:
            keys.add(k)
            a_new.append(x)
            b_new.append(y)
    if a_new:
        model.state.add_edges(np.array(a_new), np.array(b_new), model.params.trust.initial)


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


def _supplier_counts(model) -> np.ndarray:
    st = model.state
    have = np.zeros(st.n_nodes, dtype=np.int64)
    # not through ``masks()``: this step's entries changed them, and the links added below change them again
    count_suppliers(edge_buyers(model), st.ua, st.ub, st.active, have)
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
    """Buyers short of suppliers look for one, by reputation (module docstring)."""
    p, st, rng = model.params, model.state, model.rng
    t = p.trade
    if t.links == 0 or t.search_rate == 0:
        return
    firms = st.firm_mask()
    have = _supplier_counts(model)
    rows = np.flatnonzero(firms)
    short = rows[have[rows] < _wanted(st, p, rows)]
    looking = short[rng.random(len(short)) < t.search_rate]
    if len(looking) == 0:
        return
    pools = _Pools(st, firms)
    buyers, suppliers = [], []
    for buyer in looking.tolist():
        pool = pools(buyer)
        if len(pool):
            drawn = pool[rng.integers(0, len(pool), SEARCH_CANDIDATES)]
            buyers.append(buyer)
            suppliers.append(int(drawn[np.argmax(st.reputation[drawn])]))  # the first of the best
    _link(model, buyers, suppliers)
