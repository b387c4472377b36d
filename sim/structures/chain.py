"""Linear chain structure (003 section 3.1 (3)).

Each node is a marketing function linked only to the one before and the one
after; leading firms sit at evenly spaced positions along the chain.
"""

from __future__ import annotations

import numpy as np

from ..state import ENTERPRISE, LEADING
from . import Structure, assign_associations

__all__ = ["build_chain"]


def build_chain(params, rng: np.random.Generator) -> Structure:
    """Build a path over ``params.n_firms`` firms in a random order. O(n)."""
    n = params.n_firms
    order = rng.permutation(n).astype(np.int64)
    edges = np.sort(np.stack([order[:-1], order[1:]], axis=1), axis=1)
    kind = np.full(n, ENTERPRISE, dtype=np.int8)
    if params.n_leading:
        pos = np.linspace(0, n - 1, params.n_leading + 2)[1:-1].round().astype(int)
        kind[order[pos]] = LEADING
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=np.full(n, -1, dtype=np.int8),
        edges=edges,
        n_associations=params.n_associations,
        assoc_of=assign_associations(n, params.n_associations, rng),
        assoc_edges=np.zeros((0, 2), dtype=np.int64),
        chain_order=order,
    )
