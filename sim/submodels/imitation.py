"""Pairwise imitation (Santos & Pacheco 2005, *Scale-free networks provide a unifying framework for the
emergence of cooperation*), the one rule of the cluster model and of the validation game (ODD 7.11, 7.14).

Imitator x picks one uniformly random neighbour y (:func:`pick_partners`);
if y is active, x moves towards y's trait with probability
(:func:`move_towards`)::

    P(move) = clip((P_y - P_x) / (D max(k_x, k_y)), 0, 1)
    trait_x <- trait_x + step_size (trait_y - trait_x)

every move reading the traits from before any of them (a synchronous update).

* In the cluster (:func:`imitate`) a share ``learning.imitation`` of the
  active firms imitate; the trait is the cooperativeness ``disposition``,
  ``step_size = learning.step_size``; the payoff P is the smoothed profit per
  unit capacity ``payoff_ema`` (the one exits weigh, ``submodels.market``):
  firms copy those who did well over recent months, not in one lucky month.
  Payoffs are per unit capacity, so no degree normalisation (k = 1), and::

      D = max(1e-9, 2 sd(P over the active firms))

  a spread that does not grow with the number of firms, as the range would
  (a few extreme firms set it), so a comparison ends in a move as often in a
  large cluster as in a small one. The neighbours are the firm-firm partners
  of the neighbour index ``ClusterState.ff_csr``.
* In the validation game every node imitates, the trait is the strategy
  (1 cooperate, 0 defect) adopted whole (``step_size = 1``), P this round's
  accumulated payoff, k the degrees, and D = T - S = b (``sim.validation``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..numerics import JIT

__all__ = ["imitate", "pick_partners", "move_towards", "imitation_partners", "imitation_moves", "payoff_spread"]

_NO_DEGREE = np.zeros(0, dtype=np.int64)


def imitate(model, ctx) -> None:
    """The cluster's imitation step: firms learn cooperativeness from better-paid partners."""
    st, p, rng = model.state, model.params, model.rng
    firms_idx = ctx.masks.firms_idx
    lp = p.learning
    if lp.imitation <= 0 or len(firms_idx) == 0:
        return
    indptr, nbr = st.ff_csr()
    who = firms_idx[rng.random(len(firms_idx)) < lp.imitation]
    if len(who) == 0:
        return
    who, other = pick_partners(indptr, nbr, who, st.active, rng.random(len(who)))
    move_towards(who, other, rng.random(len(who)), st.payoff_ema, st.disposition,
                 payoff_spread(st.payoff_ema, firms_idx), float(lp.step_size))


def pick_partners(indptr: np.ndarray, nbr: np.ndarray, who: np.ndarray, active: np.ndarray,
                  r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly random neighbour of each node in ``who`` (``nbr[indptr[i] + floor(r_k deg_i)]``), with
    one uniform ``r`` per node; nodes without a neighbour, or whose pick is inactive, are dropped.

    Returns the kept ``(who, other)`` pairs, in the order of ``who``.
    """
    pairs = np.empty((2, len(who)), dtype=np.int64)
    kept = imitation_partners(indptr, nbr, who, r, active, pairs[0], pairs[1])
    return pairs[0, :kept], pairs[1, :kept]


def move_towards(who: np.ndarray, other: np.ndarray, r: np.ndarray, payoff: np.ndarray, trait: np.ndarray,
                 scale: float, step_size: float, degree: np.ndarray | None = None) -> None:
    """The moves of one synchronous update (module docstring), in place on ``trait``; one uniform ``r[k]``
    per pair. ``degree`` None: k = 1."""
    imitation_moves(who, other, r, payoff, trait, float(scale), _NO_DEGREE if degree is None else degree, float(step_size))


@numba.njit(**JIT)
def payoff_spread(payoff, idx):
    """D of the cluster: ``max(1e-9, 2 sd)`` of ``payoff`` over the rows ``idx`` (two passes, no array)."""
    total = 0.0
    for i in idx:
        total += payoff[i]
    mean = total / max(idx.shape[0], 1)
    squares = 0.0
    for i in idx:
        squares += (payoff[i] - mean) ** 2
    return max(1e-9, 2.0 * math.sqrt(squares / max(idx.shape[0], 1)))


@numba.njit(**JIT)
def imitation_partners(indptr, nbr, who, r, active, who_out, other_out):
    """The loop of :func:`pick_partners`: kept pairs to the front of ``who_out``/``other_out``; returns how many."""
    kept = 0
    for k in range(who.shape[0]):
        i = who[k]
        start = indptr[i]
        deg = indptr[i + 1] - start
        if deg > 0:
            j = nbr[start + np.int64(math.floor(r[k] * deg))]
            if active[j]:
                who_out[kept] = i
                other_out[kept] = j
                kept += 1
    return kept


@numba.njit(**JIT)
def imitation_moves(who, other, r, payoff, trait, scale, degree, step_size):
    """The loop of :func:`move_towards` (``degree`` empty: k = 1)."""
    by_degree = degree.shape[0] > 0
    delta = np.zeros(who.shape[0])
    for k in range(who.shape[0]):
        x, y = who[k], other[k]
        d = scale * max(max(degree[x], degree[y]), 1) if by_degree else scale
        prob = min(1.0, max(0.0, (payoff[y] - payoff[x]) / d))
        if r[k] < prob:
            delta[k] = step_size * (trait[y] - trait[x])
    for k in range(who.shape[0]):
        trait[who[k]] += delta[k]
