"""Figures of a grid sweep's report: dose–response per KPI, heat maps of two levers, envelopes over time.

Kept apart from :mod:`analysis.figures` (the compare report's and the app's figures) but drawn
in its palette and saved by its :func:`analysis.figures.save`. A numeric lever is a dose axis
with a band; a text or true/false lever is a row of categories with error bars.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .document import num
from .dose import ENVELOPE, Lever, cell_table, unit_of
from .io import HIGHER_IS_BETTER

__all__ = ["dose_response", "heat_maps", "envelopes_over_time", "MAX_LINES"]

#: Most levels of a second lever drawn as separate lines in a dose–response panel.
MAX_LINES = 8


def _colours(n: int) -> list:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _panels(n: int, ncols: int = 4, size: tuple[float, float] = (3.4, 2.6)) -> tuple[Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 1.0))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _title(ax, kpi: str) -> None:
    arrow = {True: "↑ better", False: "↓ better"}.get(HIGHER_IS_BETTER.get(kpi), "")
    unit = unit_of(kpi)
    ax.set_title(f"{kpi.replace('_', ' ')} ({unit}) {arrow}".replace(" ()", ""), fontsize=8)


def _positions(lever: Lever) -> np.ndarray:
    return np.asarray(lever.levels, float) if lever.numeric else np.arange(len(lever.levels), dtype=float)


def _level_axis(ax, lever: Lever) -> None:
    if lever.numeric:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    else:
        ax.set_xticks(_positions(lever))
        ax.set_xticklabels([str(v) for v in lever.levels], fontsize=7, rotation=30 if len(lever.levels) > 3 else 0)
        ax.set_xlim(-0.5, len(lever.levels) - 0.5)
    ax.set_xlabel(lever.name, fontsize=7)


def _draw(ax, lever: Lever, t: pd.DataFrame, colour, label: str | None, offset: float = 0.0) -> None:
    x = _positions(lever) + offset
    m, lo, hi = (t[c].to_numpy(float) for c in ("mean", "ci_low", "ci_high"))
    if lever.numeric:
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            ax.fill_between(x[ok], lo[ok], hi[ok], color=colour, alpha=0.2, lw=0)
        ax.plot(x, m, "o-", color=colour, lw=1.4, ms=3.5, label=label)
    else:
        err = np.vstack([m - lo, hi - m])
        err = np.where(np.isfinite(err), err, 0.0)
        ax.errorbar(x, m, yerr=err, fmt="o", color=colour, ms=4.5, capsize=3, lw=1.4, label=label)


def dose_response(runs: pd.DataFrame, lever: Lever, kpis: Sequence[str], by: Lever | None = None) -> Figure:
    """Mean of each KPI per level of ``lever`` with its 95% interval, one panel per KPI.

    With ``by`` (a second lever of at most :data:`MAX_LINES` levels) one line per level of ``by``,
    else the mean over the other levers' levels. The reference level is marked by a dotted line.
    """
    fig, axes = _panels(len(kpis))
    lines = list(by.levels) if by is not None else [None]
    colours = _colours(len(lines)) if by is not None else ["black"]
    side_by_side = by is not None and not lever.numeric  # categories: one lever's points beside each other
    for ax, kpi in zip(axes.flat, kpis):
        t = cell_table(runs, lever, by, kpi)
        for i, (value, colour) in enumerate(zip(lines, colours)):
            sub = t if value is None else t[t["b"] == value]
            offset = (i - (len(lines) - 1) / 2) * 0.08 if side_by_side else 0.0
            _draw(ax, lever, sub, colour, None if value is None else f"{by.short}={value}", offset)
        ref = _positions(lever)[list(lever.levels).index(lever.reference)]
        ax.axvline(ref, color="#999999", lw=0.8, ls=":")
        _title(ax, kpi)
        _level_axis(ax, lever)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(alpha=0.25)
    if by is not None:
        handles = [Line2D([], [], color=c, marker="o", lw=1.4, label=f"{by.name} = {v}") for v, c in zip(lines, colours)]
        fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=8, frameon=False)
    what = f", one line per level of {by.name}" if by is not None else ", other levers averaged"
    band = "band" if lever.numeric else "bar"
    fig.suptitle(f"Dose–response: KPIs against {lever.name} (mean over replicates, {band}: 95% t-interval{what}; "
                 f"dotted: reference level {lever.reference})", fontsize=10)
    fig.tight_layout(rect=(0, 0.05 if by is not None else 0, 1, 0.95))
    return fig


def heat_maps(runs: pd.DataFrame, a: Lever, b: Lever, kpis: Sequence[str]) -> Figure:
    """Mean of each KPI in every cell of levers ``a`` (rows) × ``b`` (columns), one panel per KPI.

    Colour runs from red (worse) to green (better) by the KPI's direction, within each panel; the
    cell's mean is written in it.
    """
    fig, axes = _panels(len(kpis), ncols=3, size=(0.9 * len(b.levels) + 2.6, 0.45 * len(a.levels) + 1.6))
    for ax, kpi in zip(axes.flat, kpis):
        t = cell_table(runs, a, b, kpi)
        grid = t.pivot(index="a", columns="b", values="mean").reindex(index=list(a.levels), columns=list(b.levels))
        values = grid.to_numpy(float)
        cmap = "RdYlGn" if HIGHER_IS_BETTER.get(kpi, True) else "RdYlGn_r"
        image = ax.imshow(values, cmap=cmap, aspect="auto", origin="lower")
        finite = values[np.isfinite(values)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, num(v), ha="center", va="center", fontsize=6.5,
                    color="black" if not np.isfinite(v) or abs(v - mid) < 0.35 * (np.ptp(finite) or 1) else "white")
        ax.set_xticks(range(len(b.levels)))
        ax.set_xticklabels([str(v) for v in b.levels], fontsize=7, rotation=30 if len(b.levels) > 4 else 0)
        ax.set_yticks(range(len(a.levels)))
        ax.set_yticklabels([str(v) for v in a.levels], fontsize=7)
        ax.set_xlabel(b.name, fontsize=7)
        ax.set_ylabel(a.name, fontsize=7)
        _title(ax, kpi)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle(f"Mean of each KPI over replicates for every {a.name} × {b.name} combination "
                 "(green better, red worse)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def envelopes_over_time(frames: dict[str, pd.DataFrame], lever: Lever) -> Figure:
    """KPIs over time per level of ``lever``: the mean over its runs and the runs' envelope.

    Args:
        frames: KPI -> :func:`analysis.dose.envelopes` table.
        lever: the lever whose levels are the lines.
    """
    kpis = list(frames)
    fig, axes = _panels(len(kpis))
    colours = _colours(len(lever.levels))
    for ax, kpi in zip(axes.flat, kpis):
        env = frames[kpi]
        for value, colour in zip(lever.levels, colours):
            sub = env[env["level"] == value]
            if sub.empty:
                continue
            ax.fill_between(sub["step"], sub["low"], sub["high"], color=colour, alpha=0.15, lw=0)
            ax.plot(sub["step"], sub["mean"], color=colour, lw=1.3)
        _title(ax, kpi)
        ax.set_xlabel("step (month)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.grid(alpha=0.25)
    handles = [Line2D([], [], color=c, lw=1.6, label=f"{lever.name} = {v}") for v, c in zip(lever.levels, colours)]
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=8, frameon=False)
    lo, hi = ENVELOPE
    fig.suptitle(f"KPIs over time per level of {lever.name}: mean over its runs (line) and the envelope of the "
                 f"runs ({lo:.0%} to {hi:.0%} quantile per step, shaded)", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig
