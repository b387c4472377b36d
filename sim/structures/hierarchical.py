"""Hierarchical structure (003 section 3.1 (1)).

Tiers: leading firms (brand holders) at the top, service firms (packaging,
logistics) in the middle, suppliers at the bottom. Each firm links to
``up_links`` firms of the tier above; firms of the same lower tier are linked
sparsely (``peer_p`` links per firm). The regional-brand association links to
the top tier.
"""

from __future__ import annotations

import numpy as np

from ..state import ENTERPRISE, LEADING
from . import Structure, assign_associations, canonical_edges

__all__ = ["build_hierarchical", "tier_sizes", "link_up", "peer_links"]


def tier_sizes(n_firms: int, n_leading: int, service_share: float) -> tuple[int, int, int]:
    """Sizes of the top, middle and bottom tiers (top has at least one firm)."""
    top = max(1, n_leading)
    rest = n_firms - top
    middle = int(round(service_share * rest))
    return top, middle, rest - middle


def link_up(lower: np.ndarray, upper: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each firm of ``lower`` draws ``min(k, |upper|)`` partners in ``upper``, uniformly with replacement."""
    if len(lower) == 0 or len(upper) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = min(k, len(upper))
    src = np.repeat(lower, k)
    dst = upper[rng.integers(0, len(upper), size=len(src))]
    return src, dst


def peer_links(tier: np.ndarray, p: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """``Binomial(|tier|, p)`` links between uniformly drawn firms of ``tier`` (self-pairs dropped later)."""
    n_links = rng.binomial(len(tier), p) if len(tier) > 1 else 0
    return tier[rng.integers(0, len(tier), n_links)], tier[rng.integers(0, len(tier), n_links)]


def build_hierarchical(params, rng: np.random.Generator) -> Structure:
    """Build the three-tier hierarchy. O(n * up_links)."""
    n = params.n_firms
    top, middle, _ = tier_sizes(n, params.n_leading, params.service_share)
    ids = np.arange(n, dtype=np.int64)
    t0, t1, t2 = ids[:top], ids[top : top + middle], ids[top + middle :]
    tier = np.concatenate([np.zeros(top), np.ones(middle), np.full(len(t2), 2)]).astype(np.int8)
    kind = np.where(tier == 0, LEADING, ENTERPRISE).astype(np.int8)
    parts = [link_up(t1, t0, params.up_links, rng), link_up(t2, t1 if middle else t0, params.up_links, rng)]
    parts += [peer_links(t1, params.peer_p, rng), peer_links(t2, params.peer_p, rng)]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    n_assoc = max(1, params.n_associations)
    assoc_edges = np.stack([np.zeros(top, dtype=np.int64), t0], axis=1)
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=tier,
        edges=canonical_edges(a, b),
        n_associations=n_assoc,
        assoc_of=assign_associations(n, n_assoc, rng),
        assoc_edges=assoc_edges,
    )
