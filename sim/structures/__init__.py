"""Structure builders (003 section 3.1; ODD 7.1): parameters and an RNG in, a graph with roles out.

Every builder is a pure function returning a :class:`Structure` in *local*
indices: firms ``0..n_firms-1`` and associations ``0..n_associations-1``.
The model places associations first and firms after them in one node index space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Structure", "build_structure"]



@dataclass
class Structure:
    """A cluster's interaction network with roles.

    Attributes:
        n_firms: number of firms.
        firm_kind: ``(n_firms,)`` int8, ``ENTERPRISE`` or ``LEADING``.
        tier: ``(n_firms,)`` int8, 0 top, 1 middle, 2 bottom (hierarchical); the stage, 0 first (chain); else -1.
        edges: ``(m, 2)`` int64 firm-firm links, undirected, ``a < b``, unique.
        n_associations: number of associations.
        assoc_of: ``(n_firms,)`` int64 association each firm belongs to, -1 for none.
        assoc_edges: ``(k, 2)`` int64 (association, firm) links that the structure draws.
    """

    n_firms: int
    firm_kind: np.ndarray
    tier: np.ndarray
    edges: np.ndarray
    n_associations: int
    assoc_of: np.ndarray
    assoc_edges: np.ndarray
    labels: list[str] | None = field(default=None)


def canonical_edges(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unique undirected edges as an ``(m, 2)`` array with ``a < b`` and no self loops."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    pairs = np.stack([lo[keep], hi[keep]], axis=1)
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0)


def assign_associations(n_firms: int, n_associations: int, rng: np.random.Generator) -> np.ndarray:
    """Each firm joins one association at random (-1 when there are none)."""
    if n_associations <= 0:
        return np.full(n_firms, -1, dtype=np.int64)
    return rng.integers(0, n_associations, size=n_firms).astype(np.int64)


def build_structure(params, rng: np.random.Generator) -> Structure:
    """Dispatch on ``params.kind`` (a ``StructureParams``)."""
    from . import chain, edge_list, hierarchical, network, star

    builders = {
        "hierarchical": hierarchical.build_hierarchical,
        "star": star.build_star,
        "chain": chain.build_chain,
        "network": network.build_network,
        "edge_list": edge_list.build_edge_list,
    }
    return builders[params.kind](params, rng)
