"""Linear chain structure (003 section 3.1 (3)).

Each node of the chain is a marketing function (say research, product,
promotion, channel, service) carried by a group of firms; a group is linked
only to the one before and the one after. Firms are split at random into
``min(n_functions, n_firms)`` stages of near-equal size (the stage is the
firm's ``tier``); every firm of a stage after the first draws ``up_links``
partners in the stage before, and firms of one stage are linked sparsely
(``peer_p`` links per firm, as the hierarchy's tiers). Leading firms sit at
evenly spaced interior positions of the random order, so they fall into the
middle stages (each with a stage on either side) and into the outer ones
only when there are more of them than middle stages.
"""

from __future__ import annotations

import numpy as np

from ..state import ENTERPRISE, LEADING
from . import Structure, assign_associations, canonical_edges
from .hierarchical import link_up, peer_links

__all__ = ["build_chain", "n_stages"]


def n_stages(n_firms: int, n_functions: int) -> int:
    """Stages of a chain: one per marketing function, at most one per firm (no stage stays empty)."""
    return max(1, min(n_functions, n_firms))


def build_chain(params, rng: np.random.Generator) -> Structure:
    """Build the chain of function groups. O(n * up_links)."""
    n = params.n_firms
    s = n_stages(n, params.n_functions)
    order = rng.permutation(n).astype(np.int64)
    stage = np.empty(n, dtype=np.int8)
    stage[order] = (np.arange(n) * s // n).astype(np.int8)  # consecutive runs of the order: sizes differ by one at most
    kind = np.full(n, ENTERPRISE, dtype=np.int8)
    if params.n_leading:
        # interior positions of the order: leading firms carry middle functions, with a stage on either side
        pos = (np.arange(1, params.n_leading + 1) * n) // (params.n_leading + 1)  # distinct, as n_leading < n
        kind[order[pos]] = LEADING
    groups = [np.flatnonzero(stage == i) for i in range(s)]
    parts = [link_up(groups[i], groups[i - 1], params.up_links, rng) for i in range(1, s)]
    parts += [peer_links(g, params.peer_p, rng) for g in groups]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=stage,
        edges=canonical_edges(a, b),
        n_associations=params.n_associations,
        assoc_of=assign_associations(n, params.n_associations, rng),
        assoc_edges=np.zeros((0, 2), dtype=np.int64),
    )
