"""Matplotlib figures for the app: network view, KPI plots, Morgan-Hunt panel, compare.

The network drawing and the Morgan-Hunt figure are the report's
(``analysis.figures``); this module adds what only the app needs: the network
as a clickable picture, and the live KPI panels. Figures are built with
``matplotlib.figure.Figure`` (no pyplot state), so they are safe to make from
the server's threads and are freed with their last reference.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.figures import mark_events, mean_band
from analysis.network_figures import NetworkLayout, draw_network, morgan_hunt_figure, network_figure, select_nodes
from viz.session import KPI_PANELS, natural_range

__all__ = [
    "NetworkLayout", "select_nodes", "network_figure", "NetworkPicture", "network_picture", "pick_node",
    "kpi_figure", "morgan_hunt_figure", "compare_figure", "difference_figure", "fix_y", "figure_png",
]


@dataclass(eq=False)
class NetworkPicture:
    """The network view as a PNG plus where each firm was drawn in it, for picking a firm by clicking.

    Attributes:
        fig: the matplotlib figure (for the PNG download at a higher resolution).
        caption: what is shown (all firms, or a sample).
        png: the picture shown on the page.
        width, height: its size in pixels.
        firms: one row per drawn firm (enterprises and leading firms): ``id``, ``kind``,
            ``x``, ``y`` (pixels from the picture's top-left corner) and ``r`` (drawn radius, pixels).
    """

    fig: Figure
    caption: str
    png: bytes
    width: int
    height: int
    firms: pd.DataFrame

    def data_url(self) -> str:
        """The PNG as a ``data:`` URL (served inline, nothing fetched)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def firm_points(self) -> list[list[float]]:
        """``[[id, x, y, r], ...]`` rounded, for the page (hover labels and the browser test)."""
        f = self.firms
        return [[int(i), round(float(x), 1), round(float(y), 1), round(float(r), 1)]
                for i, x, y, r in zip(f["id"], f["x"], f["y"], f["r"])]


def network_picture(snapshot: dict, layout: NetworkLayout, *, color_by: str = "kind", size_by: str = "revenue",
                    max_firms: int = 300, selected: int | None = None, title: str = "") -> NetworkPicture:
    """Render :func:`network_figure` to a PNG and record the pixel position of every drawn firm.

    The positions are read from the axes' transform after drawing (so the
    equal-aspect adjustment is included) and measured from the top-left corner
    of the PNG, the way a browser reports click offsets on an ``<img>``.
    """
    d = draw_network(snapshot, layout, color_by=color_by, size_by=size_by, max_firms=max_firms, selected=selected,
                     title=title)
    fig, caption, ax, ids, kind, pos, sizes = d.fig, d.caption, d.ax, d.ids, d.kind, d.pos, d.sizes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    width, height = int(round(fig.bbox.width)), int(round(fig.bbox.height))
    firm = (kind == "enterprise") | (kind == "leading_firm")
    xy = ax.transData.transform(pos[firm]) if firm.any() else np.zeros((0, 2))
    radius = np.sqrt(np.asarray(sizes, dtype=float)[firm]) / 2 * fig.dpi / 72  # marker area is in points^2
    firms = pd.DataFrame({"id": ids[firm].astype(int), "kind": kind[firm], "x": xy[:, 0], "y": height - xy[:, 1],
                          "r": radius})
    return NetworkPicture(fig, caption, buf.getvalue(), width, height, firms)


def pick_node(firms: pd.DataFrame, x: float, y: float, slack: float = 6.0) -> int | None:
    """The firm drawn at pixel ``(x, y)`` of a :class:`NetworkPicture`, or None if none is there.

    A click counts for a firm if it falls within the firm's drawn radius plus
    ``slack`` pixels; among several, the one whose centre is nearest wins.
    """
    if firms.empty:
        return None
    d = np.hypot(firms["x"].to_numpy(float) - x, firms["y"].to_numpy(float) - y)
    hit = d <= firms["r"].to_numpy(float) + slack
    if not hit.any():
        return None
    return int(firms["id"].to_numpy()[np.flatnonzero(hit)[np.argmin(d[hit])]])


def _panel_axes(fig: Figure) -> np.ndarray:
    """One axes per KPI panel, three to a row; spare grid cells hidden."""
    rows = -(-len(KPI_PANELS) // 3)
    axes = fig.subplots(rows, 3).ravel()
    for ax in axes[len(KPI_PANELS):]:
        ax.set_visible(False)
    return axes[: len(KPI_PANELS)]


def kpi_figure(df: pd.DataFrame, title: str = "", events: list[dict] = (), fixed_y: bool = False) -> Figure:
    """Small multiples of the live KPIs (one panel per entry of ``KPI_PANELS``); timeline ``events`` marked.

    The page draws these panels in the browser (``kpi_chart.vue``); this figure is its PNG download.
    """
    fig = Figure(figsize=(10, 6.2), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.07, top=0.92 if title else 0.95, wspace=0.22, hspace=0.42)
    axes = _panel_axes(fig)
    x = df["step"] if "step" in df else np.arange(len(df))
    for ax, (name, cols) in zip(axes, KPI_PANELS.items()):
        for col in cols:
            if col in df:
                ax.plot(x, df[col], lw=1.6, label=col.replace("_", " "), marker="o" if len(df) < 3 else None, ms=3)
        # an event waiting for the next step is shown too
        mark_events(ax, [e for e in events if e["at"] <= x.max() + 1] if len(df) else [], labels=ax is axes[0])
        fix_y(ax, cols, fixed_y)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(cols) > 1 and ax.get_legend_handles_labels()[0]:  # a panel whose KPIs the run lacks has no lines
            ax.legend(fontsize=6.5, frameon=False)
    axes[-1].set_xlabel("step", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def fix_y(ax, cols, fixed: bool) -> None:
    """With ``fixed``, the y-axis spans the KPIs' natural range (``session.natural_range``) instead of the data."""
    if not fixed:
        return
    lo, hi = natural_range(tuple(cols))
    if lo is not None or hi is not None:
        ax.set_ylim(bottom=lo, top=hi)
        if hi is None:
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.0))


def compare_figure(runs: dict[str, pd.DataFrame], title: str = "", events: list[dict] = (), *,
                   fixed_y: bool = False, level: float = 0.95) -> Figure:
    """KPIs of several scenarios overlaid: the mean over replicates per step, shaded by its t-interval.

    Args:
        runs: label -> frame from ``comparison.compare_runs`` (columns replicate, step, KPIs).
        title: figure title (the band's meaning is added).
        events: timeline events to mark (``session.timeline_events``).
        fixed_y: y-axes over each KPI's natural range instead of the data's.
        level: the band's confidence level.
    """
    fig = Figure(figsize=(11, 7), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.06, top=0.9, wspace=0.22, hspace=0.4)
    axes = _panel_axes(fig)
    colors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
    n_rep = max((df["replicate"].nunique() for df in runs.values()), default=0)
    for ax, (name, cols) in zip(axes, KPI_PANELS.items()):
        for (label, df), color in zip(runs.items(), colors):
            for j, col in enumerate(c for c in cols if c in df):
                mean, half = mean_band(df, col, level)
                ls = "-" if j == 0 else "--"
                ax.plot(mean.index, mean.to_numpy(), color=color, ls=ls, lw=1.6,
                        label=label if len(cols) == 1 else f"{label}: {col.replace('_', ' ')}")
                if n_rep > 1:
                    ax.fill_between(mean.index, mean - half, mean + half, color=color, alpha=0.18, lw=0)
        mark_events(ax, events, labels=ax is axes[0])
        fix_y(ax, cols, fixed_y)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(cols) > 1:
            ax.legend(handles=[Line2D([], [], color="#555555", ls="-" if j == 0 else "--", label=c.replace("_", " "))
                               for j, c in enumerate(cols)], fontsize=6.5, frameon=False)
    axes[0].legend(fontsize=7, frameon=False)
    band = (f"lines: mean of {n_rep} replicates; shaded: its {level:.0%} t-interval" if n_rep > 1
            else "one replicate: no interval")
    fig.suptitle(f"{title}\n{band}" if title else band, fontsize=10)
    return fig


def difference_figure(runs: dict[str, pd.DataFrame], reference: str, other: str, kpis: tuple[str, ...],
                      events: list[dict] = (), level: float = 0.95) -> Figure:
    """Per KPI, the paired difference ``other - reference`` per step (same seeds), shaded by its t-interval."""
    from analysis.programme import paired_by_step
    from sim.kpis import kpi as kpi_info

    ts = pd.concat([runs[reference].assign(scenario="__ref"), runs[other].assign(scenario="__other")],
                   ignore_index=True)
    fig = Figure(figsize=(11, 2.3 * -(-len(kpis) // 3) + 0.6), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.07, top=0.88, wspace=0.25, hspace=0.55)
    rows = -(-len(kpis) // 3)
    axes = fig.subplots(rows, 3).ravel()
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    n = 0
    for ax, k in zip(axes, kpis):
        p = paired_by_step(ts, k, "__other", "__ref", level)
        n = int(p["n"].max()) if len(p) else 0
        ax.plot(p["step"], p["diff"], color="#4C72B0", lw=1.4, label="mean difference")
        ax.fill_between(p["step"], p["low"], p["high"], color="#4C72B0", alpha=0.22, lw=0,
                        label=f"{level:.0%} interval")
        ax.axhline(0, color="black", lw=0.7)
        mark_events(ax, events, labels=False)
        ax.set_title(f"{k.replace('_', ' ')} ({kpi_info(k).unit})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"{other} minus {reference}, paired by seed over {n} replicates: "
                 f"mean difference per step, shaded: its {level:.0%} t-interval", fontsize=10)
    return fig


def figure_png(fig: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes (for downloads)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
