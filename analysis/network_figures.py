"""The network drawing and the Morgan–Hunt figure, shared by the report and the app (``viz``).

They take the snapshot and firm-table frames a run stores and build their figures without
pyplot's global state, so the app's threads can call them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats as sps

from sim import kpis as kpi_registry

from .kmv import OUTCOMES, PATHS

__all__ = [
    "NetworkLayout",
    "NetworkDrawing",
    "select_nodes",
    "draw_network",
    "network_figure",
    "snapshot_arrays",
    "morgan_hunt_figure",
    "MH_PATHS",
    "MH_STAGES",
]

#: Morgan & Hunt (1994) paths checked by :func:`morgan_hunt_figure`: (from, to, expected sign), firm-table columns.
MH_PATHS: tuple[tuple[str, str, int], ...] = tuple((p.source, p.target, p.sign) for p in PATHS)

#: The Morgan-Hunt model's stages and their firm-table columns, in the order the figure lists them.
MH_STAGES: dict[str, tuple[str, ...]] = {
    "Antecedents": kpi_registry.names("antecedent"),
    "Mediators": ("mean_trust", "commitment"),
    "Outcomes": OUTCOMES,
}
#: Reader's names of firm-table columns whose own name would mislead.
MH_LABELS = {"mean_trust": "trust", "cooperation": "propensity to cooperate"}

KIND_COLORS = {"enterprise": "#4C72B0", "leading_firm": "#DD8452", "association": "#55A868", "cdc": "#8172B3"}
KIND_MARKERS = {"enterprise": "o", "leading_firm": "^", "association": "s", "cdc": "D"}
KIND_LABELS = {"enterprise": "Enterprise (SME)", "leading_firm": "Leading firm", "association": "Association",
               "cdc": "Development center (CDC)"}
COOP_COLORS = {True: "#2CA02C", False: "#D62728"}
ACTOR_COLOR = "#7F7F7F"
_GOLDEN = math.pi * (3 - math.sqrt(5))

def snapshot_arrays(nodes: pd.DataFrame, edges: pd.DataFrame) -> dict[str, np.ndarray]:
    """A stored snapshot (nodes and edges frames) as the column arrays :func:`draw_network` takes."""
    return {c: nodes[c].to_numpy() for c in nodes.columns} | {c: edges[c].to_numpy() for c in edges.columns}


def _spiral(ids: np.ndarray) -> np.ndarray:
    """Deterministic start positions: a sunflower spiral in node-id order."""
    k = np.arange(1, ids.size + 1)
    r = np.sqrt(k / max(ids.size, 1))
    return np.column_stack([r * np.cos(k * _GOLDEN), r * np.sin(k * _GOLDEN)])


class NetworkLayout:
    """Node positions kept across drawings, so the app's picture stays still while the run moves.

    The first call lays out the shown nodes (spring layout started from a
    fixed spiral, no random numbers); nodes that appear later (entrants) are
    placed next to the mean of their already placed neighbours.
    """

    def __init__(self) -> None:
        self.pos: dict[int, np.ndarray] = {}

    def positions(self, ids: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Positions (n, 2) of ``ids`` given the shown edges ``src``-``dst``."""
        import networkx as nx

        missing = [int(i) for i in ids if int(i) not in self.pos]
        if missing and len(missing) == len(ids):
            g = nx.Graph()
            g.add_nodes_from(int(i) for i in ids)
            g.add_edges_from(zip(src.tolist(), dst.tolist()))
            start = {int(i): p for i, p in zip(ids, _spiral(ids))}
            k = 1.5 / math.sqrt(max(len(ids), 1))
            laid = nx.spring_layout(g, pos=start, k=k, iterations=60, seed=0)
            self.pos.update({n: np.asarray(p, dtype=float) for n, p in laid.items()})
            self._pull_in_outliers([n for n in g.nodes if g.degree(n) > 0])
            self._row_of_isolated(g)
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

    def _pull_in_outliers(self, nodes: list[int], reach: float = 1.25) -> None:
        """Put nodes far outside the bulk (a small component the spring layout flung away) on its rim.

        The drawing is scaled to its extremes, so one stray pair would otherwise squeeze
        everything else into a blob. The rim is ``reach`` times the distance from the
        median position within which 95 % of the nodes lie.
        """
        if len(nodes) < 20:
            return
        pts = np.array([self.pos[n] for n in nodes])
        centre = np.median(pts, axis=0)
        dist = np.hypot(*(pts - centre).T)
        rim = reach * float(np.percentile(dist, 95))
        if rim <= 0:
            return
        for n, p, d in zip(nodes, pts, dist):
            if d > rim:
                self.pos[n] = centre + (p - centre) * (rim / d)

    def _row_of_isolated(self, g) -> None:
        """Nodes without links in a row under the drawing: the spring layout flings them far out, shrinking the rest."""
        alone = [n for n in g.nodes if g.degree(n) == 0]
        linked = np.array([self.pos[n] for n in g.nodes if g.degree(n) > 0])
        if not alone or not len(linked):
            return
        (x0, y0), (x1, y1) = linked.min(axis=0), linked.max(axis=0)
        xs = np.linspace(x0, x1, len(alone) + 2)[1:-1]
        for n, x in zip(alone, xs):
            self.pos[n] = np.array([x, y0 - 0.12 * max(y1 - y0, 1e-9)])


def select_nodes(snapshot: Mapping[str, np.ndarray], max_firms: int = 300) -> tuple[np.ndarray, str]:
    """Which nodes the network drawing shows, and a caption saying how they were chosen.

    All active associations, CDCs and leading firms are always shown. If more than
    ``max_firms`` active enterprises exist, about ``max_firms`` are shown: the
    best-connected half of the budget, then an evenly spaced sample (by id) of their
    firm partners, and for a hub none of whose partners was drawn, its first partner;
    so every shown firm has a shown link and the drawing has no stray pieces.

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
    # the rest from the hubs' firm partners, so every shown firm has a shown link and the
    # drawing has no stray pieces; evenly spaced by id among them, then among all if too few
    firm_like = (kind == "enterprise") | (kind == "leading_firm")
    src = np.fromiter((index.get(int(x), -1) for x in np.asarray(snapshot["edge_src"])), dtype=int)
    dst = np.fromiter((index.get(int(x), -1) for x in np.asarray(snapshot["edge_dst"])), dtype=int)
    ok = (src >= 0) & (dst >= 0)
    src, dst = src[ok], dst[ok]
    anchor = np.zeros(node_id.size, dtype=bool)
    anchor[hubs] = True
    anchor |= active & (kind == "leading_firm")
    linked = np.zeros(node_id.size, dtype=bool)
    ff = firm_like[src] & firm_like[dst]
    linked[dst[ff & anchor[src]]] = True
    linked[src[ff & anchor[dst]]] = True
    budget = max_firms - hubs.size
    near = np.setdiff1d(np.flatnonzero(linked & ent), hubs)
    spaced = near[np.linspace(0, near.size - 1, min(budget, near.size)).round().astype(int)] if near.size else near
    if spaced.size < budget:
        rest = np.setdiff1d(cand, np.concatenate([hubs, spaced]))
        extra = rest[np.linspace(0, rest.size - 1, min(budget - spaced.size, rest.size)).round().astype(int)] \
            if rest.size else rest
        spaced = np.concatenate([spaced, extra])
    mask = active & (kind != "enterprise")
    mask[hubs] = True
    mask[spaced] = True
    # a hub whose partners all fell outside the sample gets its first firm partner back
    nbr_of: dict[int, list[int]] = {}
    for a, b in zip(src[ff].tolist(), dst[ff].tolist()):
        nbr_of.setdefault(a, []).append(b)
        nbr_of.setdefault(b, []).append(a)
    for h in hubs.tolist():
        partners = [j for j in nbr_of.get(h, []) if active[j]]
        if partners and not mask[partners].any():
            mask[partners[0]] = True
    shown = int((mask & firm_like).sum())
    coop = np.asarray(snapshot["cooperating"], dtype=bool)
    hidden = ent & ~mask
    share = float(coop[hidden].mean()) if hidden.any() else float("nan")
    return mask, (f"{shown} of {n_firms} firms shown (the best-connected and an even sample of their partners); "
                  f"hidden firms cooperating: {share:.0%}")


def _sizes(values: np.ndarray, lo: float = 18.0, hi: float = 180.0) -> np.ndarray:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0).clip(min=0.0)
    top = v.max() if v.size else 0.0
    if top <= 0:
        return np.full(v.shape, lo)
    return lo + (hi - lo) * np.sqrt(v / top)


@dataclass(eq=False)
class NetworkDrawing:
    """A drawn network and where each node went (data units), for callers that map clicks to nodes.

    Attributes:
        fig: the figure.
        caption: what is shown (all firms, or a sample).
        ax: the axes the nodes are drawn in.
        ids, kind: id and actor type of each drawn node.
        pos: positions (n, 2) in data units.
        sizes: marker areas (points squared).
    """

    fig: Figure
    caption: str
    ax: object
    ids: np.ndarray
    kind: np.ndarray
    pos: np.ndarray
    sizes: np.ndarray


def draw_network(snapshot: Mapping[str, np.ndarray], layout: NetworkLayout | None = None, *, color_by: str = "kind",
                 size_by: str = "revenue", max_firms: int = 300, selected: int | None = None,
                 title: str = "") -> NetworkDrawing:
    """Draw the cluster network of a snapshot (``model.graph_snapshot()`` or a stored one).

    Args:
        snapshot: node arrays (``node_id, node_kind, cooperating, revenue, commitment, active``; ``node_name``
            for a data cluster, whose associations, leading firms and selected firm are then labelled by name) and
            edge arrays (``edge_src, edge_dst, edge_trust``).
        layout: positions kept between drawings (a new one if ``None``).
        color_by: ``"kind"`` (actor type) or ``"cooperation"`` (this step's choice of firms).
        size_by: ``"revenue"`` or ``"commitment"`` for firms; associations and CDCs have a fixed size.
        max_firms: enterprises drawn before the drawing switches to a sample.
        selected: node id to ring.
        title: figure title.
    """
    layout = layout or NetworkLayout()
    mask, caption = select_nodes(snapshot, max_firms)
    ids = np.asarray(snapshot["node_id"])[mask]
    kind = np.asarray(snapshot["node_kind"]).astype(str)[mask]
    names = np.asarray(snapshot["node_name"]).astype(str)[mask] if "node_name" in snapshot else None
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
            for (x, y), n, name in zip(pos[sel], ids[sel], names[sel] if names is not None else ids[sel]):
                label = "CDC" if k == "cdc" else (str(name) if names is not None else f"Assoc. {n}")
                ax.annotate(label, (x, y),
                            xytext=(-8, -20) if k == "cdc" else (8, -14), textcoords="offset points", fontsize=8,
                            weight="bold", zorder=7,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": KIND_COLORS[k], "alpha": 0.85})
    if selected is not None and int(selected) in where:
        x, y = pos[where[int(selected)]]
        ring = max(420.0, float(sizes[where[int(selected)]]) * 2.6)
        ax.scatter([x], [y], s=ring, facecolors="none", edgecolors="#E8A317", linewidths=3.2, zorder=6)
        ax.scatter([x], [y], s=ring, facecolors="none", edgecolors="black", linewidths=1.2, zorder=6)
        label = names[where[int(selected)]] if names is not None else f"firm {selected}"
        ax.annotate(label, (x, y), xytext=(10, 8), textcoords="offset points", fontsize=9, weight="bold",
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
    if names is not None:
        # leading firms sit near the centre: their names are stacked above the drawing's top, each with a leader
        bottom, top = ax.get_ylim()
        for j, i in enumerate(np.flatnonzero(kind == "leading_firm")[:8]):
            ax.annotate(names[i], pos[i], xytext=(pos[i, 0], top - 0.06 * j * (top - bottom)), textcoords="data",
                        fontsize=7, zorder=9,
                        xycoords="data", ha="center", va="bottom",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": KIND_COLORS["leading_firm"],
                              "alpha": 0.9},
                        arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "#666666"})
    return NetworkDrawing(fig, caption, ax, ids, kind, pos, sizes)


def network_figure(snapshot: Mapping[str, np.ndarray], layout: NetworkLayout | None = None,
                   **options) -> tuple[Figure, str]:
    """The figure and caption of :func:`draw_network` (same arguments)."""
    drawing = draw_network(snapshot, layout, **options)
    return drawing.fig, drawing.caption


def _mh_label(name: str) -> str:
    return MH_LABELS.get(name, name.replace("_", " "))


def morgan_hunt_figure(firms: pd.DataFrame, selected: int | None = None, title: str = "") -> Figure:
    """The Morgan–Hunt model in one run's firms: the variables' levels, and whether its paths hold.

    Top: cluster mean of each variable, antecedents → mediators → outcomes, and the
    selected firm's value beside it. Bottom: Spearman rho across firms for each of
    the thirteen paths, green where its sign agrees with the theory (|rho| > 0.05),
    red where it disagrees, grey where there is no clear relation.

    Args:
        firms: ``model.firm_table()`` or a stored ``firms.parquet`` (one row per active firm).
        selected: id of a firm to show beside the cluster means (absent or exited: none shown).
        title: figure title.
    """
    row = firms.loc[firms["id"] == selected] if selected is not None else firms.iloc[:0]
    names = [n for stage in MH_STAGES.values() for n in stage]
    stage_of = {n: s for s, stage in MH_STAGES.items() for n in stage}
    cluster = np.array([firms[n].astype(float).mean() if n in firms else np.nan for n in names])
    firm = np.array([float(row[n].astype(float).iloc[0]) if len(row) and n in row else np.nan for n in names])

    fig = Figure(figsize=(6.4, 8.4), dpi=100)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [len(names) + 1.5, len(MH_PATHS)]})
    fig.subplots_adjust(left=0.36, right=0.97, bottom=0.06, top=0.92, hspace=0.32)
    # a gap between stages, so the three groups read as antecedents -> mediators -> outcomes
    gaps = np.cumsum([0.0] + [0.6 if stage_of[a] != stage_of[b] else 0.0 for a, b in zip(names, names[1:])])
    y = -(np.arange(len(names)) + gaps)
    has_firm = bool(np.isfinite(firm).any())
    h = 0.38 if has_firm else 0.7
    top.barh(y + (h / 2 if has_firm else 0), cluster, height=h, color="#4C72B0", label="cluster mean")
    if has_firm:
        who = str(row["name"].iloc[0]) if "name" in row.columns else f"firm {selected}"  # a data cluster's name
        top.barh(y - h / 2, firm, height=h, color="#DD8452", label=who)
    top.set_yticks(y, [_mh_label(n) for n in names], fontsize=8)
    for stage, stage_names in MH_STAGES.items():
        ys = y[[names.index(n) for n in stage_names]]
        top.annotate(stage, (1.0, ys.max() + 0.45), xycoords=("axes fraction", "data"), ha="right", fontsize=8,
                     style="italic", color="#444444")
    top.set_xlim(0, max(1.0, float(np.nanmax(np.r_[cluster, firm, 0.0]))))
    top.tick_params(axis="x", labelsize=7)
    top.grid(axis="x", alpha=0.3)
    top.legend(fontsize=7, loc="lower right")
    top.set_title("Levels (index 0-1)", fontsize=9)

    rhos, colours, labels, known = [], [], [], 0
    for x, yv, sign in MH_PATHS:
        rho = float("nan")
        if x in firms and yv in firms:
            a, b = firms[x].to_numpy(float), firms[yv].to_numpy(float)
            ok = np.isfinite(a) & np.isfinite(b)
            a, b = a[ok], b[ok]
            if len(a) > 2 and np.ptp(a) > 0 and np.ptp(b) > 0:
                rho = float(sps.spearmanr(a, b).statistic)
        known += bool(np.isfinite(rho))
        clear = np.isfinite(rho) and abs(rho) > 0.05
        colours.append(("#2a9d4b" if np.sign(rho) == sign else "#c0392b") if clear else "#888888")
        rhos.append(rho if np.isfinite(rho) else 0.0)
        labels.append(f"{_mh_label(x)} → {_mh_label(yv)} ({'+' if sign > 0 else '−'})")
    yp = -np.arange(len(MH_PATHS))
    bottom.barh(yp, rhos, height=0.65, color=colours)
    bottom.axvline(0, color="black", lw=0.7)
    bottom.set_xlim(-1, 1)
    bottom.set_yticks(yp, labels, fontsize=7.5)
    bottom.tick_params(axis="x", labelsize=7)
    bottom.grid(axis="x", alpha=0.3)
    bottom.set_xlabel("Spearman rho across firms", fontsize=8)
    if not known:  # e.g. before the first step, when the firms do not differ yet
        bottom.text(0.5, 0.5, "no variation across firms yet", transform=bottom.transAxes, ha="center", fontsize=9,
                    color="#555555", bbox={"fc": "white", "ec": "none"})
    bottom.set_title("Paths (expected sign): green agrees, red disagrees, grey |rho| ≤ 0.05", fontsize=9)
    fig.suptitle(title or "Morgan–Hunt: antecedents → trust & commitment → outcomes", fontsize=10)
    return fig
