"""Star structure (003 section 3.1 (2)): one centre, a single layer.

The centre is an association (trade association or technology institute);
every firm links to it and to nothing else.
"""

from __future__ import annotations

import numpy as np

from ..state import ENTERPRISE, LEADING
from . import Structure

__all__ = ["build_star"]


def build_star(params, rng: np.random.Generator) -> Structure:
    """Build a star of ``params.n_firms`` firms around association 0.

    ``n_leading`` firms chosen at random are leading firms; all firms belong to
    the centre association. O(n).
    """
    n = params.n_firms
    kind = np.full(n, ENTERPRISE, dtype=np.int8)
    if params.n_leading:
        kind[rng.choice(n, size=params.n_leading, replace=False)] = LEADING
    firms = np.arange(n, dtype=np.int64)
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=np.full(n, -1, dtype=np.int8),
        edges=np.zeros((0, 2), dtype=np.int64),
        n_associations=1,
        assoc_of=np.zeros(n, dtype=np.int64),
        assoc_edges=np.stack([np.zeros(n, dtype=np.int64), firms], axis=1),
    )
