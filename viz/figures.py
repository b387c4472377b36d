"""Matplotlib figures for the app: network view, KPI plots, Morgan-Hunt panel, compare.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so they
are safe to make from the server's threads and are freed with their last
reference. Nothing here draws random numbers: the layout starts from a fixed
spiral and is relaxed deterministically.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.figures import mark_events
from viz.session import KPI_PANELS, MORGAN_HUNT

__all__ = [
    "KIND_COLORS", "COOP_COLORS", "NetworkLayout", "select_nodes", "network_figure", "NetworkPicture",
    "network_picture", "pick_node",
    "kpi_figure", "morgan_hunt_values", "morgan_hunt_figure", "compare_figure", "figure_png",
]

KIND_COLORS = {"enterprise": "#4C72B0", "leading_firm": "#DD8452", "association": "#55A868", "cdc": "#8172B3"}
KIND_MARKERS = {"enterprise": "o", "leading_firm": "^", "association": "s", "cdc": "D"}
KIND_LABELS = {"enterprise": "Enterprise (SME)", "leading_firm": "Leading firm", "association": "Association",
               "cdc": "Development center (CDC)"}
COOP_COLORS = {True: "#2CA02C", False: "#D62728"}
ACTOR_COLOR = "#7F7F7F"
_GOLDEN = math.pi * (3 - math.sqrt(5))
#: firm_table column to use when a Morgan-Hunt variable has no column of its own name.
_ALIASES = {"trust": "mean_trust", "cooperation": "cooperating"}


def _spiral(ids: np.ndarray) -> np.ndarray:
    """Deterministic start positions: a sunflower spiral in node-id order."""
    k = np.arange(1, ids.size + 1)
    r = np.sqrt(k / max(ids.size, 1))
    return np.column_stack([r * np.cos(k * _GOLDEN), r * np.sin(k * _GOLDEN)])


class NetworkLayout:
    """Node positions kept across steps so the picture stays still while the run moves.

    The first call lays out the shown nodes (spring layout started from a
    fixed spiral); nodes that appear later (entrants) are placed next to the
    mean of their already placed neighbours.
    """

    def __init__(self) -> None:
        self.pos: dict[int, np.ndarray] = {}

    def positions(self, ids: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Positions (n, 2) of ``ids`` given the shown edges ``src``-``dst``."""
        missing = [int(i) for i in ids if int(i) not in self.pos]
        if missing and len(missing) == len(ids):
            g = nx.Graph()
            g.add_nodes_from(int(i) for i in ids)
            g.add_edges_from(zip(src.tolist(), dst.tolist()))
            start = {int(i): p for i, p in zip(ids, _spiral(ids))}
            k = 1.5 / math.sqrt(max(len(ids), 1))
            laid = nx.spring_layout(g, pos=start, k=k, iterations=60, seed=0)
            self.pos.update({n: np.asarray(p, dtype=float) for n, p in laid.items()})
        elif missing:
            nbrs: dict[int, list[int]] = {}
            for a, b in zip(src.tolist(), dst.tolist()):
                nbrs.setdefault(a, []).append(b)
                nbrs.setdefault(b, []).append(a)
            for node in missing:
                placed = [self.pos[n] for n in nbrs.get(node, []) if n in self.pos]
                centre = np.mean(placed, axis=0) if placed else np.zeros(2)
                angle = node * _GOLDEN
                self.pos[node] = centre + 0.04 * np.array([math.cos(angle), math.sin(angle)])
        return np.array([self.pos[int(i)] for i in ids]) if len(ids) else np.zeros((0, 2))


def select_nodes(snapshot: dict, max_firms: int = 300) -> tuple[np.ndarray, str]:
    """Which nodes the network view draws, and a caption saying how they were chosen.

    All active associations, CDCs and leading firms are always shown. If more than
    ``max_firms`` active enterprises exist, the best-connected half of the budget
    and an evenly spaced sample (by id) of the rest are shown.

    Returns:
        Boolean mask over the snapshot's nodes, and the caption.
    """
    kind = np.asarray(snapshot["node_kind"]).astype(str)
    active = np.asarray(snapshot["active"], dtype=bool)
    ent = active & (kind == "enterprise")
    n_ent = int(ent.sum())
    n_firms = int((active & ((kind == "enterprise") | (kind == "leading_firm"))).sum())
    if n_ent <= max_firms:
        return active.copy(), f"{n_firms} firms, all shown"
    node_id = np.asarray(snapshot["node_id"])
    index = {int(n): i for i, n in enumerate(node_id)}
    deg = np.zeros(node_id.size, dtype=int)
    for a in (snapshot["edge_src"], snapshot["edge_dst"]):
        idx = np.fromiter((index.get(int(x), -1) for x in np.asarray(a)), dtype=int, count=len(a))
        np.add.at(deg, idx[idx >= 0], 1)
    cand = np.flatnonzero(ent)
    hubs = cand[np.argsort(-deg[cand], kind="stable")[: max_firms // 2]]
    rest = np.setdiff1d(cand, hubs)
    spaced = rest[np.linspace(0, rest.size - 1, max_firms - hubs.size).round().astype(int)] if rest.size else rest
    mask = active & (kind != "enterprise")
    mask[hubs] = True
    mask[spaced] = True
    shown = int((mask & ((kind == "enterprise") | (kind == "leading_firm"))).sum())
    coop = np.asarray(snapshot["cooperating"], dtype=bool)
    hidden = ent & ~mask
    share = float(coop[hidden].mean()) if hidden.any() else float("nan")
    return mask, (f"{shown} of {n_firms} firms shown (best-connected and an even sample); "
                  f"hidden firms cooperating: {share:.0%}")


def _sizes(values: np.ndarray, lo: float = 18.0, hi: float = 180.0) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0).clip(min=0.0)
    top = v.max() if v.size else 0.0
    if top <= 0:
        return np.full(v.shape, lo)
    return lo + (hi - lo) * np.sqrt(v / top)


def network_figure(snapshot: dict, layout: NetworkLayout, *, color_by: str = "kind", size_by: str = "revenue",
                   max_firms: int = 300, selected: int | None = None, title: str = "") -> tuple[Figure, str]:
    """Draw the cluster network.

    Args:
        snapshot: ``model.graph_snapshot()`` (node and edge arrays).
        layout: the run's :class:`NetworkLayout` (keeps positions between steps).
        color_by: ``"kind"`` (actor type) or ``"cooperation"`` (current choice of firms).
        size_by: ``"revenue"`` or ``"commitment"`` for firms; associations and CDCs have a fixed size.
        max_firms: enterprises drawn before the view switches to a sample.
        selected: node id to ring (the firm in the Morgan-Hunt panel).
        title: figure title.

    Returns:
        The figure and a caption (what is shown).
    """
    fig, caption, *_ = _draw_network(snapshot, layout, color_by=color_by, size_by=size_by, max_firms=max_firms,
                                     selected=selected, title=title)
    return fig, caption


def _draw_network(snapshot: dict, layout: NetworkLayout, *, color_by: str, size_by: str, max_firms: int,
                  selected: int | None, title: str):
    """The drawing behind :func:`network_figure`; also returns the axes and what was drawn where (data units)."""
    mask, caption = select_nodes(snapshot, max_firms)
    ids = np.asarray(snapshot["node_id"])[mask]
    kind = np.asarray(snapshot["node_kind"]).astype(str)[mask]
    coop = np.asarray(snapshot["cooperating"], dtype=bool)[mask]
    size_val = np.asarray(snapshot[size_by], dtype=float)[mask]
    shown = set(ids.tolist())
    src, dst = np.asarray(snapshot["edge_src"]), np.asarray(snapshot["edge_dst"])
    trust = np.asarray(snapshot["edge_trust"], dtype=float)
    keep = np.fromiter((int(a) in shown and int(b) in shown for a, b in zip(src, dst)), dtype=bool, count=src.size)
    src, dst, trust = src[keep], dst[keep], np.nan_to_num(trust[keep], nan=0.0).clip(0, 1)
    pos = layout.positions(ids, src, dst)
    where = {int(n): i for i, n in enumerate(ids)}

    fig = Figure(figsize=(7.2, 6.0), dpi=100)
    ax = fig.add_axes((0.01, 0.01, 0.66, 0.93))
    if src.size:
        segs = np.stack([pos[[where[int(a)] for a in src]], pos[[where[int(b)] for b in dst]]], axis=1)
        colors = np.zeros((src.size, 4))
        colors[:, 3] = 0.06 + 0.6 * trust
        ax.add_collection(LineCollection(segs, colors=colors, linewidths=0.3 + 2.2 * trust, zorder=1))
    firm = (kind == "enterprise") | (kind == "leading_firm")
    sizes = np.where(firm, _sizes(np.where(firm, size_val, 0.0)), 260.0)
    sizes = np.where(kind == "leading_firm", np.maximum(sizes, 90.0), sizes)
    for k in ("enterprise", "leading_firm", "association", "cdc"):
        sel = kind == k
        if not sel.any():
            continue
        if color_by == "cooperation":
            col = [COOP_COLORS[bool(c)] if k in ("enterprise", "leading_firm") else ACTOR_COLOR for c in coop[sel]]
        else:
            col = KIND_COLORS[k]
        ax.scatter(pos[sel, 0], pos[sel, 1], s=sizes[sel], c=col, marker=KIND_MARKERS[k],
                   edgecolors="white" if k == "enterprise" else "black", linewidths=0.5 if k == "enterprise" else 1.0,
                   zorder=3 if k == "enterprise" else 4)
        if k in ("association", "cdc"):
            for (x, y), n in zip(pos[sel], ids[sel]):
                ax.annotate("CDC" if k == "cdc" else f"Assoc. {n}", (x, y),
                            xytext=(-8, -20) if k == "cdc" else (8, -14), textcoords="offset points", fontsize=8,
                            weight="bold", zorder=7,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": KIND_COLORS[k], "alpha": 0.85})
    if selected is not None and int(selected) in where:
        x, y = pos[where[int(selected)]]
        ring = max(420.0, float(sizes[where[int(selected)]]) * 2.6)
        ax.scatter([x], [y], s=ring, facecolors="none", edgecolors="#E8A317", linewidths=3.2, zorder=6)
        ax.scatter([x], [y], s=ring, facecolors="none", edgecolors="black", linewidths=1.2, zorder=6)
        ax.annotate(f"firm {selected}", (x, y), xytext=(10, 8), textcoords="offset points", fontsize=9, weight="bold",
                    zorder=8, bbox={"boxstyle": "round,pad=0.2", "fc": "#FFF3C4", "ec": "#E8A317", "alpha": 0.95})

    handles = []
    if color_by == "cooperation":
        handles += [Line2D([], [], marker="o", ls="", color=COOP_COLORS[True], label="cooperating firm"),
                    Line2D([], [], marker="o", ls="", color=COOP_COLORS[False], label="defecting firm")]
    for k in ("enterprise", "leading_firm", "association", "cdc"):
        if (kind == k).any():
            color = KIND_COLORS[k] if color_by == "kind" else (ACTOR_COLOR if k in ("association", "cdc") else "white")
            handles.append(Line2D([], [], marker=KIND_MARKERS[k], ls="", markerfacecolor=color, markeredgecolor="black",
                                  label=KIND_LABELS[k]))
    handles += [Line2D([], [], color=(0, 0, 0, 0.2), lw=0.7, label="low trust link"),
                Line2D([], [], color=(0, 0, 0, 0.65), lw=2.3, label="high trust link")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
              title=f"node size: {size_by}", title_fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.08)
    ax.autoscale_view()
    ax.set_axis_off()
    return fig, caption, ax, ids, kind, pos, sizes


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
    fig, caption, ax, ids, kind, pos, sizes = _draw_network(snapshot, layout, color_by=color_by, size_by=size_by,
                                                            max_firms=max_firms, selected=selected, title=title)
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


def kpi_figure(df: pd.DataFrame, title: str = "", events: list[dict] = ()) -> Figure:
    """Small multiples of the live KPIs (one panel per entry of ``KPI_PANELS``); timeline ``events`` marked."""
    fig = Figure(figsize=(10, 4.6), dpi=100)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.1, top=0.9 if title else 0.94, wspace=0.28, hspace=0.38)
    axes = fig.subplots(2, 4).ravel()
    x = df["step"] if "step" in df else np.arange(len(df))
    for ax, (name, cols) in zip(axes, KPI_PANELS.items()):
        for col in cols:
            if col in df:
                ax.plot(x, df[col], lw=1.6, label=col.replace("_", " "), marker="o" if len(df) < 3 else None, ms=3)
        mark_events(ax, [e for e in events if e["at"] <= x.max()] if len(df) else [], labels=ax is axes[0])
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(cols) > 1:
            ax.legend(fontsize=6.5, frameon=False)
    axes[-1].set_xlabel("step", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def morgan_hunt_values(firms: pd.DataFrame, firm_id: int | None = None) -> pd.DataFrame:
    """Cluster means and one firm's values of the Morgan-Hunt variables.

    Args:
        firms: ``model.firm_table()``.
        firm_id: the selected firm's id, or None.

    Returns:
        Frame with columns stage, variable, cluster, firm (NaN when no firm is selected or it left).
    """
    row = firms.loc[firms["id"] == firm_id] if firm_id is not None else firms.iloc[:0]
    rows = []
    for stage, names in MORGAN_HUNT.items():
        for name in names:
            col = _ALIASES.get(name, name) if name not in firms else name
            series = firms[col].astype(float) if col in firms else pd.Series(dtype=float)
            cluster = float(series.mean()) if len(series) else float("nan")
            firm = float(row[col].astype(float).iloc[0]) if (len(row) and col in row) else float("nan")
            rows.append({"stage": stage, "variable": name, "cluster": cluster, "firm": firm})
    return pd.DataFrame(rows)


def morgan_hunt_figure(values: pd.DataFrame, firm_label: str | None = None) -> Figure:
    """Horizontal bars of the Morgan-Hunt variables, grouped antecedents -> mediators -> outcomes."""
    fig = Figure(figsize=(5.6, 5.0), dpi=100)
    fig.subplots_adjust(left=0.33, right=0.97, bottom=0.07, top=0.93)
    ax = fig.add_subplot()
    y = np.arange(len(values))[::-1].astype(float)
    stage_gap = {s: i * 0.6 for i, s in enumerate(MORGAN_HUNT)}
    y = y + values["stage"].map(lambda s: (len(MORGAN_HUNT) - 1) * 0.6 - stage_gap[s]).to_numpy()
    has_firm = values["firm"].notna().any()
    h = 0.38 if has_firm else 0.7
    ax.barh(y + (h / 2 if has_firm else 0), values["cluster"], height=h, color="#4C72B0", label="cluster mean")
    if has_firm:
        ax.barh(y - h / 2, values["firm"], height=h, color="#DD8452", label=firm_label or "selected firm")
    ax.set_yticks(y, [v.replace("_", " ") for v in values["variable"]], fontsize=8)
    for stage in MORGAN_HUNT:
        ys = y[values["stage"].to_numpy() == stage]
        ax.annotate(stage, (1.0, ys.max() + 0.55), xycoords=("axes fraction", "data"), ha="right", fontsize=8,
                    style="italic", color="#444444")
    ax.set_xlim(0, max(1.0, float(np.nanmax(values[["cluster", "firm"]].to_numpy(dtype=float), initial=0.0))))
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Morgan–Hunt: antecedents → trust & commitment → outcomes", fontsize=9)
    return fig


def compare_figure(runs: dict[str, pd.DataFrame], title: str = "", events: list[dict] = ()) -> Figure:
    """KPIs of several scenarios overlaid; mean over replicates with a min-max band.

    Args:
        runs: label -> frame from ``session.run_replicates`` (columns replicate, step, KPIs).
        title: figure title.
        events: timeline events to mark (``session.timeline_events``).
    """
    fig = Figure(figsize=(11, 5.2), dpi=100)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.08, top=0.9, wspace=0.28, hspace=0.35)
    axes = fig.subplots(2, 4).ravel()
    colors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]
    for ax, (name, cols) in zip(axes, KPI_PANELS.items()):
        for (label, df), color in zip(runs.items(), colors):
            for j, col in enumerate(c for c in cols if c in df):
                g = df.groupby("step")[col].agg(["mean", "min", "max"])
                ls = "-" if j == 0 else "--"
                ax.plot(g.index, g["mean"], color=color, ls=ls, lw=1.6,
                        label=label if len(cols) == 1 else f"{label}: {col.replace('_', ' ')}")
                if df["replicate"].nunique() > 1:
                    ax.fill_between(g.index, g["min"], g["max"], color=color, alpha=0.18, lw=0)
        mark_events(ax, events, labels=ax is axes[0])
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(cols) > 1:
            ax.legend(handles=[Line2D([], [], color="#555555", ls="-" if j == 0 else "--", label=c.replace("_", " "))
                               for j, c in enumerate(cols)], fontsize=6.5, frameon=False)
    axes[0].legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def figure_png(fig: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes (for downloads)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
