"""Statistics of weighted samples (a posterior's particles), shared by the runner and analysis.

Plain numpy and no model code, so analysis, which reads result files only, may import it too.
"""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_quantile"]


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile ``q`` of ``x`` under weights ``w`` (midpoint interpolation).

    Each value stands at the middle of its weight's share of the cumulative weight, so equal
    weights give the ordinary median and a zero weight leaves its value out.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    x, w = x[w > 0], w[w > 0]  # a weightless value would still pull the tails' interpolation towards it
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(np.interp(q * cw[-1], cw - w[order] / 2, x[order]))
