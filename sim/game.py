"""Pairwise imitation on a graph, and the validation mode built on it.

Validation mode (``validation.kind = "pd_imitation"``) is the game of
Santos & Pacheco (2005, Phys. Rev. Lett. 95, 098104): every firm cooperates
(C) or defects (D) and plays the one-shot Prisoner's Dilemma with every
neighbour (R = 1, T = b, P = S = 0), accumulating payoffs; then all firms
update synchronously: firm x picks a random neighbour y and, when
P_y > P_x, adopts y's strategy with probability (P_y - P_x) / (D * max(k_x, k_y)),
D = T - S = b. Half the firms start as cooperators, chosen at random.

The same neighbour-sampling and imitation probability drive the learning of
dispositions in the full model (``sim/behaviour.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_neighbours", "imitation_probability", "pd_payoffs", "PDGame"]


def random_neighbours(indptr: np.ndarray, nbr: np.ndarray, nodes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random neighbour per node in ``nodes`` (-1 where a node has none).

    O(len(nodes)); ``indptr``/``nbr`` is a CSR adjacency.
    """
    start = indptr[nodes]
    deg = indptr[nodes + 1] - start
    pick = start + np.floor(rng.random(len(nodes)) * deg).astype(np.int64)
    out = np.full(len(nodes), -1, dtype=np.int64)
    has = deg > 0
    out[has] = nbr[pick[has]]
    return out


def imitation_probability(p_self: np.ndarray, p_other: np.ndarray, k_self: np.ndarray, k_other: np.ndarray, d: float) -> np.ndarray:
    """Santos-Pacheco probability (P_y - P_x) / (D max(k_x, k_y)) when P_y > P_x, else 0."""
    denom = d * np.maximum(np.maximum(k_self, k_other), 1)
    return np.clip((p_other - p_self) / denom, 0.0, 1.0)


def pd_payoffs(coop: np.ndarray, src: np.ndarray, dst: np.ndarray, b: float, n: int) -> np.ndarray:
    """Accumulated PD payoffs: C earns 1 per C neighbour, D earns b per C neighbour."""
    c_neigh = np.bincount(src, weights=coop[dst].astype(np.float64), minlength=n)
    return np.where(coop, c_neigh, b * c_neigh)


class PDGame:
    """The validation game on a fixed graph (undirected ``edges``, ``(m, 2)``)."""

    def __init__(self, n: int, edges: np.ndarray, b: float, rng: np.random.Generator):
        self.n = n
        self.b = b
        self.rng = rng
        self.src = np.concatenate([edges[:, 0], edges[:, 1]])
        self.dst = np.concatenate([edges[:, 1], edges[:, 0]])
        order = np.argsort(self.src, kind="stable")
        self.nbr = self.dst[order]
        self.degree = np.bincount(self.src, minlength=n)
        self.indptr = np.concatenate([[0], np.cumsum(self.degree)])
        self.coop = np.zeros(n, dtype=bool)
        self.coop[rng.permutation(n)[: n // 2]] = True
        self.payoff = np.zeros(n)

    def step(self) -> None:
        """Play all games, then imitate synchronously."""
        self.payoff = pd_payoffs(self.coop, self.src, self.dst, self.b, self.n)
        nodes = np.arange(self.n)
        y = random_neighbours(self.indptr, self.nbr, nodes, self.rng)
        has = y >= 0
        prob = np.zeros(self.n)
        prob[has] = imitation_probability(
            self.payoff[has], self.payoff[y[has]], self.degree[has], self.degree[y[has]], self.b - 0.0
        )
        adopt = self.rng.random(self.n) < prob
        new = self.coop.copy()
        new[adopt] = self.coop[y[adopt]]
        self.coop = new
