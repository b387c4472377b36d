"""The model's per-node and per-edge numpy arrays, and their index bookkeeping.

Index conventions (kept here, and only here):

* **Nodes** ``0..n_nodes-1``: associations first (``0..n_assoc-1``), then firms;
  entrants are appended. ``kind[i]`` is ``ENTERPRISE``, ``LEADING`` or
  ``ASSOCIATION``; ``active[i]`` is membership (associations are always active).
* **Undirected edges** ``u in 0..n_edges-1`` with ends ``ua[u], ub[u]``;
  ``is_ff[u]`` marks firm-firm links (contracts live only there); ``dropped[u]`` a link its buyer ended
  (``submodels.trade``): dead as if an end had left.
* **Directed edges** ``d = 2u`` (``ua -> ub``) and ``d = 2u + 1`` (``ub -> ua``);
  ``src[d]`` is the observer, ``dst[d]`` the partner: ``trust[d]`` is how much
  ``src[d]`` trusts ``dst[d]``, ``comm[d]`` what ``src`` heard from ``dst``,
  ``opp[d]`` the opportunism ``src`` saw in ``dst``. ``d ^ 1`` is the reverse edge.

Exits mask rows (``active`` False, edges die with their ends); dropped links stay masked. Node rows are never
compacted; edges are, between steps, once dead ones make up :data:`ClusterState.COMPACT_DEAD_SHARE` of them
(:meth:`ClusterState.compact_edges`): the live edges keep their order and move to the front, so ``u`` of an edge
is valid only within a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .numerics import JIT

__all__ = ["ClusterState", "Masks", "ENTERPRISE", "LEADING", "ASSOCIATION", "KIND_NAMES"]

#: Kind codes of ``kind[i]``, defined here only. The compiled loops read them as globals, which numba freezes
#: into their cached code: changing a code means clearing the numba caches (``__pycache__``).
ENTERPRISE, LEADING, ASSOCIATION = 0, 1, 2
KIND_NAMES = {ENTERPRISE: "enterprise", LEADING: "leading_firm", ASSOCIATION: "association"}

NODE_FIELDS: dict[str, type] = {
    "kind": np.int8,
    "tier": np.int8,
    "active": np.bool_,
    "assoc_of": np.int64,
    "capacity": np.float64,
    "resources": np.float64,
    "disposition": np.float64,  # cooperativeness trait, learnt by imitation
    "cooperating": np.bool_,  # cooperates this step (the draw)
    "commitment": np.float64,  # to the cluster
    "partner_commitment": np.float64,
    "reputation": np.float64,
    "strikes": np.float64,  # recent offences, decaying by STRIKE_MEMORY per step
    "energy_intensity": np.float64,
    "product_group": np.int64,
    "contribution": np.float64,
    "pool_share": np.float64,  # pool marketing bought for the member's products this step (next step's decision reads it)
    "marketing_stock": np.float64,  # product brand built by the pool's marketing, in [0, 1)
    "sunk": np.float64,  # relationship-specific investment (EMA of contributions and dues)
    "benefit": np.float64,  # EMA of benefits received from the cluster, per unit capacity
    "revenue": np.float64,
    "profit": np.float64,
    "payoff": np.float64,  # profit per unit capacity this step
    "payoff_ema": np.float64,  # smoothed payoff: what a firm weighs against its outside option and imitation compares
    "brand_user": np.bool_,  # uses the leading firm's brand (traction)
    "treasury": np.float64,  # associations: dues and fines
    # Morgan-Hunt variables per actor
    "termination_costs": np.float64,
    "relationship_benefits": np.float64,
    "shared_values": np.float64,
    "communication": np.float64,
    "opportunistic_behaviour": np.float64,
    "mean_trust": np.float64,  # mean trust of the actor in its partners
    "acquiescence": np.float64,
    "propensity_to_leave": np.float64,
    "propensity_to_cooperate": np.float64,  # the KMV outcome "cooperation" (firm_table column "cooperation")
    "functional_conflict": np.float64,
    "decision_uncertainty": np.float64,
    "exposure": np.float64,  # share of partners that heard about the actor this step
    "news": np.float64,  # what a report about the actor says (its last conduct): the content of its next messages
    "staleness": np.float64,  # EMA of how old the news the actor receives is (0 fresh, towards 1 stale)
}

#: Messages waiting per directed edge and inbox slot: at most 2 (one direct, one relayed) before the slot is emptied.
INBOX_DTYPE = np.uint8
#: The content of the waiting messages (summed news, summed freshness) per slot and directed edge.
INBOX_CONTENT_DTYPE = np.float32

EDGE_FIELDS: dict[str, type] = {  # per undirected edge
    "ua": np.int32,  # node rows (int32: half the memory traffic of the edge loops; 2^31 rows is no limit here)
    "ub": np.int32,
    "is_ff": np.bool_,
    "contract_left": np.int32,  # steps left on the contract, 0 = none
    "dropped": np.bool_,  # ended by its buyer (trade): dead although both ends are active
    "by_trade": np.bool_,  # made by the trade layer (its buyer may drop it), not by the structure
    "idle": np.int32,  # steps this trade link has gone without a contract (trade's partner search counts them)
    "shared_values": np.float64,
    "volume": np.float64,  # relative trade volume of the link (1; a data cluster's trade.csv sets it)
}

DIRECTED_FIELDS: dict[str, type] = {  # per directed edge
    "trust": np.float64,
    "comm": np.float64,
    "opp": np.float64,
}


@dataclass(frozen=True)
class Masks:
    """Masks and index lists of the live cluster, read-only, valid until a firm enters or exits or edges are compacted.

    Attributes:
        firms: ``(N,)`` active firms.
        firms_idx: their rows.
        members: ``(N,)`` active firms in an association.
        member_assoc: ``(N,)`` a member's association as an index into ``assoc_idx``
            (``len(assoc_idx)`` for non-members: a last, unused group).
        assoc_idx: the associations' rows.
        assoc_members: members per association.
        alive_d: ``(2E,)`` directed edges whose two ends are active (and not dropped).
        live_ff: ``(E,)`` live firm-firm links (where contracts live).
        degree: ``(N,)`` float, live edges per node.
    """

    firms: np.ndarray
    firms_idx: np.ndarray
    members: np.ndarray
    member_assoc: np.ndarray
    assoc_idx: np.ndarray
    assoc_members: np.ndarray
    alive_d: np.ndarray
    live_ff: np.ndarray
    degree: np.ndarray

    @property
    def n_assoc(self) -> int:
        return len(self.assoc_idx)


class ClusterState:
    """Growable arrays for nodes and edges; see the module docstring for indices."""

    def __init__(self, node_capacity: int, edge_capacity: int, values_dim: int, inbox_slots: int):
        self.n_nodes = 0
        self.n_edges = 0
        self.values_dim = values_dim
        self.inbox_slots = inbox_slots
        self._node_cap = max(16, node_capacity)
        self._edge_cap = max(16, edge_capacity)
        for name, dt in NODE_FIELDS.items():
            setattr(self, name, np.zeros(self._node_cap, dtype=dt))
        self.values = np.zeros((self._node_cap, values_dim))
        for name, dt in EDGE_FIELDS.items():
            setattr(self, "e_" + name if name == "shared_values" else name, np.zeros(self._edge_cap, dtype=dt))
        for name, dt in DIRECTED_FIELDS.items():
            setattr(self, name, np.zeros(2 * self._edge_cap, dtype=dt))
        self.inbox = np.zeros((inbox_slots, 2 * self._edge_cap), dtype=INBOX_DTYPE)
        self.inbox_news = np.zeros((inbox_slots, 2 * self._edge_cap), dtype=INBOX_CONTENT_DTYPE)
        self.inbox_fresh = np.zeros((inbox_slots, 2 * self._edge_cap), dtype=INBOX_CONTENT_DTYPE)
        self._csr_dirty = True
        self._csr_edges = 0
        self.n_dropped = 0
        self.n_compactions = 0  # how often compact_edges ran: tests check their runs reach it

    # ------------------------------------------------------------------ growth
    def _grow_nodes(self, need: int) -> None:
        cap = self._node_cap
        while cap < need:
            cap *= 2
        if cap == self._node_cap:
            return
        for name in NODE_FIELDS:
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: self.n_nodes] = old[: self.n_nodes]
            setattr(self, name, new)
        vals = np.zeros((cap, self.values_dim))
        vals[: self.n_nodes] = self.values[: self.n_nodes]
        self.values = vals
        self._node_cap = cap

    def _grow_edges(self, need: int) -> None:
        cap = self._edge_cap
        while cap < need:
            cap *= 2
        if cap == self._edge_cap:
            return
        for name in EDGE_FIELDS:
            attr = "e_" + name if name == "shared_values" else name
            old = getattr(self, attr)
            new = np.zeros(cap, dtype=old.dtype)
            new[: self.n_edges] = old[: self.n_edges]
            setattr(self, attr, new)
        for name in DIRECTED_FIELDS:
            old = getattr(self, name)
            new = np.zeros(2 * cap, dtype=old.dtype)
            new[: 2 * self.n_edges] = old[: 2 * self.n_edges]
            setattr(self, name, new)
        for name, dt in (("inbox", INBOX_DTYPE), ("inbox_news", INBOX_CONTENT_DTYPE), ("inbox_fresh", INBOX_CONTENT_DTYPE)):
            new = np.zeros((self.inbox_slots, 2 * cap), dtype=dt)
            new[:, : 2 * self.n_edges] = getattr(self, name)[:, : 2 * self.n_edges]
            setattr(self, name, new)
        self._edge_cap = cap

    def add_nodes(self, k: int) -> np.ndarray:
        """Append ``k`` zeroed node rows; return their indices."""
        self._grow_nodes(self.n_nodes + k)
        idx = np.arange(self.n_nodes, self.n_nodes + k)
        self.n_nodes += k
        return idx

    def add_edges(self, a: np.ndarray, b: np.ndarray, trust0: float) -> np.ndarray:
        """Append undirected edges ``a[i] -- b[i]``; return their ``u`` indices."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        k = len(a)
        self._grow_edges(self.n_edges + k)
        u = np.arange(self.n_edges, self.n_edges + k)
        # the new rows as slices: indexing with an array of indices costs far more, most of all in the inbox
        e0, e1 = self.n_edges, self.n_edges + k
        self.ua[e0:e1], self.ub[e0:e1] = a, b
        self.is_ff[e0:e1] = (self.kind[a] != ASSOCIATION) & (self.kind[b] != ASSOCIATION)
        self.contract_left[e0:e1] = 0
        self.volume[e0:e1] = 1.0
        self.dropped[e0:e1] = False
        self.by_trade[e0:e1] = False
        self.idle[e0:e1] = 0
        d = slice(2 * e0, 2 * e1)
        self.trust[d] = trust0
        self.comm[d] = 0.0
        self.opp[d] = 0.0
        self.inbox[:, d] = 0
        self.inbox_news[:, d] = 0.0
        self.inbox_fresh[:, d] = 0.0
        self.n_edges += k
        self._csr_dirty = True
        return u

    def drop_edges(self, u: np.ndarray) -> None:
        """End the undirected edges ``u`` (a buyer dropped them): dead from now on, their contracts void."""
        u = np.asarray(u, dtype=np.int64)
        if len(u) == 0:
            return
        self.dropped[u] = True
        self.contract_left[u] = 0
        self.n_dropped += len(u)
        self._csr_dirty = True

    #: Edges are compacted once dead ones are more than this share of them: the arrays stay within twice the live edges.
    COMPACT_DEAD_SHARE = 0.5

    def compact_edges(self) -> np.ndarray | None:
        """Drop the dead edges (:meth:`edge_alive` False) once they pass :data:`COMPACT_DEAD_SHARE` of the edges.

        The live edges keep their order (a stable move to the front) with all their per-edge, per-direction and
        inbox values; the freed tail is zeroed as if never used. Returns the old indices of the kept edges (the
        caller remaps what it keeps per edge), or None when nothing was compacted.
        """
        e = self.n_edges
        alive = self.masks().alive_d[0::2]  # the step's own masks, cached: no extra pass when nothing is compacted
        k = int(np.count_nonzero(alive))
        if e == 0 or e - k <= self.COMPACT_DEAD_SHARE * e:
            return None
        kept = np.flatnonzero(alive)
        d = np.empty(2 * k, dtype=np.int64)
        d[0::2], d[1::2] = 2 * kept, 2 * kept + 1
        for name in EDGE_FIELDS:
            arr = getattr(self, "e_" + name if name == "shared_values" else name)
            arr[:k] = arr[kept]
            arr[k:e] = 0
        for name in DIRECTED_FIELDS:
            arr = getattr(self, name)
            arr[: 2 * k] = arr[d]
            arr[2 * k : 2 * e] = 0
        for name in ("inbox", "inbox_news", "inbox_fresh"):
            arr = getattr(self, name)
            arr[:, : 2 * k] = arr[:, d]
            arr[:, 2 * k : 2 * e] = 0
        self.n_edges = k
        self.n_compactions += 1
        self._mask_key = None  # every cached edge mask is stale
        self._csr_dirty, self._csr_edges = True, 0
        if hasattr(self, "_indptr"):
            del self._indptr  # rebuilt at its next call: its dead entries go
        return kept

    # ------------------------------------------------------------------ views
    @property
    def N(self) -> int:  # noqa: N802 - conventional
        return self.n_nodes

    def src(self) -> np.ndarray:
        """Observer of each directed edge, ``(2 * n_edges,)``."""
        e = self.n_edges
        out = np.empty(2 * e, dtype=np.int64)
        out[0::2], out[1::2] = self.ua[:e], self.ub[:e]
        return out

    def dst(self) -> np.ndarray:
        """Partner of each directed edge, ``(2 * n_edges,)``."""
        e = self.n_edges
        out = np.empty(2 * e, dtype=np.int64)
        out[0::2], out[1::2] = self.ub[:e], self.ua[:e]
        return out

    def firms(self) -> np.ndarray:
        """Indices of active firms."""
        n = self.n_nodes
        return np.flatnonzero(self.active[:n] & (self.kind[:n] != ASSOCIATION))

    def firm_mask(self) -> np.ndarray:
        n = self.n_nodes
        return self.active[:n] & (self.kind[:n] != ASSOCIATION)

    def edge_alive(self) -> np.ndarray:
        """Undirected edges whose both ends are active and that no buyer dropped, ``(n_edges,)``."""
        e = self.n_edges
        return self.active[self.ua[:e]] & self.active[self.ub[:e]] & ~self.dropped[:e]

    def masks(self) -> Masks:
        """The live cluster's :class:`Masks`, cached until rows, edges or active rows change.

        Rows are only appended, ``active`` only turns False and ``dropped`` only
        True, so that key catches every entry, exit and dropped link, from the
        step or from elsewhere (``Enterprise.leave``).
        """
        n, e = self.n_nodes, self.n_edges
        key = (n, e, int(np.count_nonzero(self.active[:n])), self.n_dropped)
        if getattr(self, "_mask_key", None) != key:
            firms = self.firm_mask()
            alive_d, live_ff, degree = np.empty(2 * e, bool), np.empty(e, bool), np.zeros(n)
            edge_masks(self.ua[:e], self.ub[:e], self.active[:n], self.is_ff[:e], self.dropped[:e], alive_d, live_ff, degree)
            members = firms & (self.assoc_of[:n] >= 0)
            assoc_idx = np.flatnonzero(self.kind[:n] == ASSOCIATION)
            member_assoc = np.where(members, self.assoc_of[:n], len(assoc_idx))
            assoc_members = np.bincount(member_assoc, minlength=len(assoc_idx) + 1)[: len(assoc_idx)]
            masks = Masks(firms=firms, firms_idx=np.flatnonzero(firms), members=members, member_assoc=member_assoc,
                          assoc_idx=assoc_idx, assoc_members=assoc_members, alive_d=alive_d, live_ff=live_ff,
                          degree=degree)
            for v in vars(masks).values():
                v.setflags(write=False)
            self._mask_cache, self._mask_key = masks, key
        return self._mask_cache

    #: ``ff_csr`` rebuilds when the edges added since the last build pass this share of the built ones ...
    CSR_GROWTH = 0.01
    #: ... or when edges have been waiting for this many calls (steps) -- the most an entrant waits.
    CSR_MAX_WAIT = 10

    def ff_csr(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR over firm-firm directed edges: ``indptr`` by observer, ``nbr`` the partners.

        Dead edges stay in the CSR (callers check ``active``); dropped links leave it at the next rebuild. Not rebuilt every
        step: only when edges were added since the last build and either their
        number passes ``CSR_GROWTH`` of the built ones or they have waited
        ``CSR_MAX_WAIT`` calls (one call per step, from imitation). Entrants so
        have no neighbours here for up to ``CSR_MAX_WAIT`` steps (they neither
        imitate nor are imitated meanwhile; their old partners just draw among
        the others). A rebuild is one O(E) counting sort (:func:`csr_by_source`).
        """
        grown = self.n_edges - self._csr_edges
        if self._csr_dirty:
            self._csr_wait = getattr(self, "_csr_wait", 0) + 1
        if self._csr_dirty and (not hasattr(self, "_indptr") or grown > self.CSR_GROWTH * self._csr_edges or self._csr_wait >= self.CSR_MAX_WAIT):
            e = self.n_edges
            indptr, nbr = np.zeros(self.n_nodes + 1, dtype=np.int64), np.empty(2 * e, dtype=np.int64)
            filled = csr_by_source(self.ua[:e], self.ub[:e], self.is_ff[:e] & ~self.dropped[:e], indptr, nbr)
            self._indptr, self._nbr = indptr, nbr[:filled]
            self._csr_edges = e
            self._csr_dirty = False
            self._csr_wait = 0
        indptr = self._indptr
        if len(indptr) - 1 < self.n_nodes:  # new nodes without CSR rows yet: zero degree
            indptr = np.concatenate([indptr, np.full(self.n_nodes - (len(indptr) - 1), indptr[-1])])
        return indptr, self._nbr


@numba.njit(**JIT)
def edge_masks(ua, ub, active, is_ff, dropped, alive_d, live_ff, degree):
    """:meth:`ClusterState.masks` in one pass over the edges: ``alive_d`` (both directions of each edge whose
    ends are both active and that was not dropped), ``live_ff`` (the live firm-firm links) and the live degree per node (``degree``,
    zeroed by the caller)."""
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        live = active[a] & active[b] & ~dropped[u]
        alive_d[2 * u] = live
        alive_d[2 * u + 1] = live
        live_ff[u] = live & is_ff[u]
        degree[a] += live
        degree[b] += live


@numba.njit(**JIT)
def csr_by_source(ua, ub, is_ff, indptr, nbr):
    """Neighbour index (:meth:`ClusterState.ff_csr`): CSR of firm-firm directed edges by observer.

    A stable counting sort: neighbours of each node keep edge order, ``ua -> ub``
    edges before ``ub -> ua`` ones. Fills ``indptr`` (N + 1, zeroed by the
    caller) and the front of ``nbr`` (at least 2 E long); returns how many
    entries of ``nbr`` it filled.
    """
    n_nodes = indptr.shape[0] - 1
    for u in range(ua.shape[0]):
        if is_ff[u]:
            indptr[ua[u] + 1] += 1
            indptr[ub[u] + 1] += 1
    for i in range(n_nodes):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    for u in range(ua.shape[0]):  # all ua -> ub first
        if is_ff[u]:
            nbr[fill[ua[u]]] = ub[u]
            fill[ua[u]] += 1
    for u in range(ua.shape[0]):
        if is_ff[u]:
            nbr[fill[ub[u]]] = ua[u]
            fill[ub[u]] += 1
    return indptr[n_nodes]
