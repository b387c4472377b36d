"""Network structure (003 section 3.1 (4)): no centre, many links, open to entry.

Generators (NetworkX, seeded from the model's RNG) with a target mean degree k:
``barabasi_albert`` (m = round(k/2)), ``erdos_renyi`` (p = k/(n-1)),
``watts_strogatz`` (ring of even degree round(k), rewiring ``rewire_p``) and
``random_regular`` (degree round(k)). Leading firms are the best-connected
firms; each association links to round(k) of its members.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..state import ENTERPRISE, LEADING
from . import Structure, assign_associations, canonical_edges

__all__ = ["build_network", "generate_graph"]


def generate_graph(generator: str, n: int, mean_degree: float, rewire_p: float, seed: int) -> np.ndarray:
    """Edges ``(m, 2)`` of a random graph with about ``mean_degree`` mean degree."""
    k = mean_degree
    if generator == "barabasi_albert":
        g = nx.barabasi_albert_graph(n, max(1, int(round(k / 2))), seed=seed)
    elif generator == "erdos_renyi":
        g = nx.fast_gnp_random_graph(n, min(1.0, k / (n - 1)), seed=seed)
    elif generator == "watts_strogatz":
        g = nx.watts_strogatz_graph(n, max(2, 2 * int(round(k / 2))), rewire_p, seed=seed)
    elif generator == "random_regular":
        d = max(1, int(round(k)))
        if (d * n) % 2:
            d += 1
        g = nx.random_regular_graph(d, n, seed=seed)
    else:  # guarded by the Scenario schema
        raise ValueError(f"unknown generator {generator!r}")
    if g.number_of_edges() == 0:
        return np.zeros((0, 2), dtype=np.int64)
    e = np.asarray(g.edges(), dtype=np.int64)
    return canonical_edges(e[:, 0], e[:, 1])


def build_network(params, rng: np.random.Generator) -> Structure:
    """Build an open network of ``params.n_firms`` firms."""
    n = params.n_firms
    seed = int(rng.integers(0, 2**31 - 1))
    edges = generate_graph(params.generator, n, params.mean_degree, params.rewire_p, seed)
    degree = np.bincount(edges.ravel(), minlength=n)
    kind = np.full(n, ENTERPRISE, dtype=np.int8)
    if params.n_leading:
        # best-connected firms lead; ties broken at random
        order = np.lexsort((rng.random(n), -degree))
        kind[order[: params.n_leading]] = LEADING
    assoc_of = assign_associations(n, params.n_associations, rng)
    k = max(1, int(round(params.mean_degree)))
    links = []
    for a in range(params.n_associations):
        members = np.flatnonzero(assoc_of == a)
        if len(members):
            chosen = rng.choice(members, size=min(k, len(members)), replace=False)
            links.append(np.stack([np.full(len(chosen), a, dtype=np.int64), chosen], axis=1))
    assoc_edges = np.concatenate(links) if links else np.zeros((0, 2), dtype=np.int64)
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=np.full(n, -1, dtype=np.int8),
        edges=edges,
        n_associations=params.n_associations,
        assoc_of=assoc_of,
        assoc_edges=assoc_edges,
    )
