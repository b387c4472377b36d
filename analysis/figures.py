"""Figures of the report (matplotlib, Agg backend), each readable on its own.

Every function returns a :class:`matplotlib.figure.Figure` with a title that says
what is shown, units or scales on the axes and a legend; :func:`save` writes it as
PNG and SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy import stats as sps  # noqa: E402

__all__ = [
    "save",
    "timeseries_ci",
    "distributions",
    "forest",
    "sensitivity_bars",
    "network_snapshot",
    "morgan_hunt_panel",
    "MH_PATHS",
]

#: Morgan & Hunt (1994) paths drawn by :func:`morgan_hunt_panel`: (from, to, expected sign).
MH_PATHS: tuple[tuple[str, str, int], ...] = (
    ("termination_costs", "commitment", +1),
    ("relationship_benefits", "commitment", +1),
    ("shared_values", "commitment", +1),
    ("shared_values", "mean_trust", +1),
    ("communication", "mean_trust", +1),
    ("opportunistic_behaviour", "mean_trust", -1),
    ("mean_trust", "commitment", +1),
    ("commitment", "acquiescence", +1),
    ("commitment", "propensity_to_leave", -1),
    ("commitment", "cooperation", +1),
    ("mean_trust", "cooperation", +1),
    ("mean_trust", "functional_conflict", +1),
    ("mean_trust", "decision_uncertainty", -1),
)

KIND_COLOURS = {"enterprise": "#4C72B0", "leading_firm": "#DD8452", "association": "#55A868", "cdc": "#8172B3"}
KIND_MARKERS = {"enterprise": "o", "leading_firm": "s", "association": "D", "cdc": "*"}


def _colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def save(fig: Figure, folder: str | Path, name: str, dpi: int = 110) -> tuple[Path, bytes]:
    """Write ``name.png`` and ``name.svg`` into ``folder``; return the PNG path and bytes, close the figure."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    png = buf.getvalue()
    (folder / f"{name}.png").write_bytes(png)
    fig.savefig(folder / f"{name}.svg", format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return folder / f"{name}.png", png


def _grid(n: int, ncols: int = 4, size: tuple[float, float] = (3.6, 2.7)) -> tuple[Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows + 0.8), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def timeseries_ci(ts: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str], level: float = 0.95,
                  events: Sequence[dict] = ()) -> Figure:
    """KPI over time per scenario: mean over replicates with a t-interval band; ``events`` marked (:func:`mark_events`)."""
    fig, axes = _grid(len(kpis))
    colours = _colours(len(scenarios))
    for ax, kpi in zip(axes.flat, kpis):
        for colour, name in zip(colours, scenarios):
            sub = ts[ts["scenario"] == name]
            if sub.empty or kpi not in sub.columns:
                continue
            g = sub.groupby("step")[kpi]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = sps.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            ax.plot(mean.index, mean.to_numpy(), color=colour, lw=1.4, label=name)
            ax.fill_between(mean.index, (mean - half).to_numpy(), (mean + half).to_numpy(), color=colour,
                            alpha=0.18 if len(scenarios) <= 6 else 0.07, lw=0)
        mark_events(ax, events, labels=ax is axes.flat[0])
        ax.set_title(kpi, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=c, lw=2) for c in colours]
    fig.legend(handles, scenarios, loc="lower center", ncol=min(len(scenarios), 6), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, -0.02 - 0.025 * math.ceil(len(scenarios) / 6)))
    fig.suptitle(f"KPIs over time: mean over replicates with {level:.0%} t-interval band", fontsize=12)
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    return fig


def distributions(runs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str], stat: str = "mean") -> Figure:
    """Box plots of each KPI across replicates, one box per scenario, replicates as dots."""
    fig, axes = _grid(len(kpis), ncols=4, size=(3.8, 0.32 * len(scenarios) + 1.4))
    colours = _colours(len(scenarios))
    for ax, kpi in zip(axes.flat, kpis):
        data = [runs.loc[runs["scenario"] == s, f"{kpi}_{stat}"].dropna().to_numpy(float) for s in scenarios]
        pos = np.arange(len(scenarios))[::-1]
        bp = ax.boxplot(data, positions=pos, orientation="horizontal", widths=0.6, patch_artist=True, showfliers=False)
        for patch, c in zip(bp["boxes"], colours):
            patch.set_facecolor(c)
            patch.set_alpha(0.35)
        for y, d, c in zip(pos, data, colours):
            jitter = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else np.zeros(len(d))
            ax.scatter(d, y + jitter, s=9, color=c, zorder=3)
        ax.set_yticks(pos)
        ax.set_yticklabels(scenarios, fontsize=7)
        ax.set_title(kpi, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    label = "time average over the second half of the run" if stat == "mean" else "value at the last step"
    fig.suptitle(f"Distribution over replicates of each KPI ({label})", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def forest(diffs: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str], reference: str) -> Figure:
    """Paired difference (scenario − reference) with its Holm-adjusted interval, one panel per KPI.

    Filled markers: significant after Holm's correction; green better, red worse
    (by the KPI's direction), grey not significant.
    """
    from .io import HIGHER_IS_BETTER

    others = [s for s in scenarios if s != reference]
    fig, axes = _grid(len(kpis), ncols=4, size=(3.8, 0.3 * len(others) + 1.4))
    for ax, kpi in zip(axes.flat, kpis):
        d = diffs[diffs["kpi"] == kpi].set_index("scenario").reindex(others)
        pos = np.arange(len(others))[::-1]
        for y, (name, r) in zip(pos, d.iterrows()):
            if not np.isfinite(r["diff"]):
                continue
            good = (r["diff"] > 0) == HIGHER_IS_BETTER.get(kpi, True)
            colour = ("#2a9d4b" if good else "#c0392b") if r["significant"] else "#888888"
            lo = r["ci_low"] if np.isfinite(r["ci_low"]) else r["diff"]
            hi = r["ci_high"] if np.isfinite(r["ci_high"]) else r["diff"]
            ax.plot([lo, hi], [y, y], color=colour, lw=1.6)
            ax.plot(r["diff"], y, "o", color=colour, mfc=colour if r["significant"] else "white", ms=5)
        ax.axvline(0, color="black", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_yticks(pos)
        ax.set_yticklabels(others, fontsize=7)
        ax.set_title(f"{kpi} ({'higher' if HIGHER_IS_BETTER.get(kpi, True) else 'lower'} is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], color="#2a9d4b", marker="o", lw=1.6, label="better, significant (Holm)"),
               Line2D([], [], color="#c0392b", marker="o", lw=1.6, label="worse, significant (Holm)"),
               Line2D([], [], color="#888888", marker="o", mfc="white", lw=1.6, label="not distinguishable")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.03))
    fig.suptitle(f"Difference from the reference '{reference}' (paired by seed, Holm-adjusted t-interval)", fontsize=12)
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    return fig


def _mu_star_bars(ax, t: pd.DataFrame, xlabel: str, title: str) -> None:
    """Morris mu* per lever (rows of ``t`` in plot order) with its 95% half-width, if ``t`` has it."""
    y = np.arange(len(t))
    if "mu_star" in t.columns:
        ax.barh(y, t["mu_star"], 0.6, xerr=t["mu_star_conf"], color="#55A868", capsize=2)
    ax.set_yticks(y)
    ax.set_yticklabels(t["param"], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)


def _kpi_rows(table: pd.DataFrame, kpis: Sequence[str] | None, header: float):
    """The KPIs to draw (all of ``table``'s by default) and a grid of two panels per KPI, sized to the levers."""
    kpis = list(kpis or dict.fromkeys(table["kpi"]))
    fig, axes = plt.subplots(len(kpis), 2, figsize=(11, 0.45 * table["param"].nunique() * len(kpis) + header * len(kpis)),
                             squeeze=False)
    return kpis, fig, axes


def sensitivity_bars(table: pd.DataFrame, kpis: Sequence[str] | None = None) -> Figure:
    """Sobol' S1 and ST (with 95% intervals) and Morris mu* per lever, one row of panels per KPI."""
    kpis, fig, axes = _kpi_rows(table, kpis, 1.5)
    for row, kpi in zip(axes, kpis):
        t = table[table["kpi"] == kpi].sort_values("ST")
        y = np.arange(len(t))
        ax = row[0]
        ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], color="#4C72B0", label="first order S1", capsize=2)
        ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], color="#DD8452", label="total ST", capsize=2)
        ax.set_yticks(y)
        ax.set_yticklabels(t["param"], fontsize=8)
        ax.set_xlabel("Sobol' index (share of output variance)")
        ax.set_title(f"{kpi}: Sobol' indices, 95% bootstrap CI", fontsize=10)
        ax.axvline(0, color="black", lw=0.6)
        ax.legend(fontsize=7, loc="lower right")
        _mu_star_bars(row[1], t, f"Morris mu* ({kpi} change per full range of the lever)",
                      f"{kpi}: Morris screening (radial design), 95% CI")
    fig.suptitle("Global sensitivity: which levers move the KPIs", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def morris_plot(table: pd.DataFrame, kpis: Sequence[str] | None = None) -> Figure:
    """Morris screening per KPI: mu* per lever (95% interval), and sigma against mu* (the usual Morris plane)."""
    kpis, fig, axes = _kpi_rows(table, kpis, 1.8)
    for row, kpi in zip(axes, kpis):
        t = table[table["kpi"] == kpi].sort_values("mu_star")
        _mu_star_bars(row[0], t, f"mu* ({kpi} change per full range of the lever)", f"{kpi}: Morris mu*, 95% bootstrap CI")
        ax = row[1]
        ax.scatter(t["mu_star"], t["sigma"], color="#4C72B0")
        for _, r in t.iterrows():
            ax.annotate(r["param"], (r["mu_star"], r["sigma"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        top = float(np.nanmax(np.r_[t["mu_star"].to_numpy(float), t["sigma"].to_numpy(float), 1e-12]))
        ax.plot([0, top], [0, top], color="grey", lw=0.6, ls="--", label="sigma = mu*")
        ax.set_xlabel("mu* (overall influence)")
        ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_title(f"{kpi}: Morris plane", fontsize=10)
        ax.margins(x=0.3, y=0.15)  # room for the labels
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Morris screening: which levers move the KPIs", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def _layout(n: int, src: np.ndarray, dst: np.ndarray, seed: int = 0) -> np.ndarray:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist()))
    linked = [v for v in range(n) if g.degree(v) > 0]
    pos = nx.spring_layout(g.subgraph(linked), seed=seed, k=2.0 / math.sqrt(max(len(linked), 1)), iterations=80)
    xy = np.zeros((n, 2))
    for v in linked:
        xy[v] = pos[v]
    isolated = [v for v in range(n) if g.degree(v) == 0]  # a row under the drawing, not flung to a corner
    if isolated:
        low = xy[linked, 1].min() - 0.15 if linked else 0.0
        xy[isolated, 0] = np.linspace(-1, 1, len(isolated) + 2)[1:-1]
        xy[isolated, 1] = low
    return xy


def network_snapshot(snapshot: dict[str, np.ndarray], title: str = "", seed: int = 0) -> Figure:
    """The interaction network at the end of a run.

    Nodes: colour and marker by actor type; filled when cooperating, hollow when
    defecting; inactive (exited) actors are left out. Edges: width and darkness
    grow with trust.
    """
    active = np.asarray(snapshot["active"], bool)
    ids = np.asarray(snapshot["node_id"])[active]
    index = {int(v): i for i, v in enumerate(ids)}
    src, dst = np.asarray(snapshot["edge_src"]), np.asarray(snapshot["edge_dst"])
    trust = np.asarray(snapshot["edge_trust"], float)
    keep = np.array([int(a) in index and int(b) in index for a, b in zip(src, dst)], bool)
    s = np.array([index[int(a)] for a in src[keep]], int)
    d = np.array([index[int(b)] for b in dst[keep]], int)
    w = trust[keep]
    xy = _layout(len(ids), s, d, seed)
    fig, ax = plt.subplots(figsize=(9, 8))
    if len(s):
        segs = np.stack([xy[s], xy[d]], axis=1)
        wc = np.clip(w, 0, 1)
        thin = min(1.0, math.sqrt(150 / len(s)))  # dense networks get thinner lines
        colours = plt.get_cmap("Greys")(0.15 + 0.8 * wc**2)
        colours[:, 3] = 0.25 + 0.65 * wc
        ax.add_collection(LineCollection(segs, linewidths=thin * (0.15 + 2.6 * wc**2), colors=colours, zorder=1))
    kinds = np.asarray(snapshot["node_kind"])[active]
    coop = np.asarray(snapshot["cooperating"], bool)[active]
    is_firm = np.isin(kinds, ["enterprise", "leading_firm"])
    coop = coop | ~is_firm  # cooperation is a firm's choice; associations and the CDC are drawn filled
    for kind in dict.fromkeys(kinds):
        colour, marker = KIND_COLOURS.get(kind, "#999999"), KIND_MARKERS.get(kind, "o")
        size = {"enterprise": 28, "leading_firm": 110, "association": 140, "cdc": 260}.get(kind, 40)
        for on, face in ((True, colour), (False, "white")):
            m = (kinds == kind) & (coop == on)
            if m.any():
                ax.scatter(xy[m, 0], xy[m, 1], s=size, marker=marker, facecolors=face, edgecolors=colour,
                           linewidths=1.2, zorder=3)
    handles = [Line2D([], [], ls="", marker=KIND_MARKERS.get(k, "o"), color=KIND_COLOURS.get(k, "#999"), ms=8,
                      label=f"{k} ({int((kinds == k).sum())})") for k in dict.fromkeys(kinds)]
    handles += [Line2D([], [], ls="", marker="o", color="black", mfc="black", ms=7, label="filled: cooperating"),
                Line2D([], [], ls="", marker="o", color="black", mfc="white", ms=7, label="hollow: defecting"),
                Line2D([], [], color="#999999", lw=0.4, label="edge: low trust"),
                Line2D([], [], color="#222222", lw=2.5, label="edge: high trust")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_axis_off()
    ax.autoscale()
    share = coop[is_firm].mean() if is_firm.any() else float("nan")
    ax.set_title(title or "Cluster network at the last step", fontsize=11)
    ax.text(0.0, -0.02, f"{len(ids)} active actors, {len(s)} links, mean trust {w.mean() if len(w) else float('nan'):.2f}, "
            f"firms cooperating {share:.0%}", transform=ax.transAxes, fontsize=8)
    fig.tight_layout()
    return fig


def morgan_hunt_panel(firms: pd.DataFrame, title: str = "") -> Figure:
    """The thirteen Morgan–Hunt paths as scatter plots over firms, with expected sign and Spearman rho.

    Rows: antecedents → commitment, antecedents → trust, trust → commitment and
    trust/commitment → outcomes. A green tick marks an observed sign that agrees
    with the theory (rho beyond ±0.05), red a disagreement, grey no clear relation.
    """
    fig, axes = _grid(len(MH_PATHS), ncols=5, size=(3.2, 2.8))
    for ax, (x, y, sign) in zip(axes.flat, MH_PATHS):
        if x not in firms.columns or y not in firms.columns:
            ax.set_title(f"{x} → {y}: not recorded", fontsize=8)
            continue
        a, b = firms[x].to_numpy(float), firms[y].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        ax.scatter(a, b, s=5, alpha=0.35, color="#4C72B0")
        rho = sps.spearmanr(a, b).statistic if len(a) > 2 and np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
        if len(a) > 10 and np.ptp(a) > 0:
            edges = np.quantile(a, np.linspace(0, 1, 9))
            idx = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, 7)
            mids = [a[idx == i].mean() for i in range(8) if (idx == i).any()]
            means = [b[idx == i].mean() for i in range(8) if (idx == i).any()]
            ax.plot(mids, means, color="black", lw=1.5)
        agrees = np.isfinite(rho) and abs(rho) > 0.05 and np.sign(rho) == sign
        clear = np.isfinite(rho) and abs(rho) > 0.05
        mark, colour = ("✓", "#2a9d4b") if agrees else (("✗", "#c0392b") if clear else ("?", "#888888"))
        ax.set_title(f"{x} → {y}\nexpected {'+' if sign > 0 else '−'}, rho={rho:+.2f} {mark}", fontsize=8, color=colour)
        ax.set_xlabel(x, fontsize=7)
        ax.set_ylabel(y, fontsize=7)
        ax.tick_params(labelsize=7)
    fig.suptitle(title or "Morgan–Hunt KMV paths across firms (one dot per firm; line: binned mean)", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def mark_events(ax, events: Sequence[dict], labels: bool = True) -> None:
    """Dashed vertical lines at the steps of a timeline's events, labelled at the top (``analysis.programme.events_of``)."""
    for k, ev in enumerate(events):
        ax.axvline(ev["at"], color="#555555", ls="--", lw=0.9, zorder=0)
        if ev.get("until"):
            ax.axvline(ev["until"], color="#555555", ls=":", lw=0.9, zorder=0)
        if labels and ev.get("label"):
            ax.text(ev["at"], 1.0 - 0.09 * (k % 4), f" {ev['label']}", transform=ax.get_xaxis_transform(),
                    fontsize=6.5, color="#333333", va="top", ha="left", clip_on=True)


def paired_over_time(paired: dict[str, pd.DataFrame], events: Sequence[dict], title: str,
                     level: float = 0.95) -> Figure:
    """Per KPI, the paired difference (programme minus reference) per step with its t-interval band, events marked.

    ``paired`` maps a KPI to ``analysis.programme.paired_by_step``'s frame.
    """
    fig, axes = _grid(len(paired))
    for ax, (kpi, p) in zip(axes.flat, paired.items()):
        ax.plot(p["step"], p["diff"], color="#4C72B0", lw=1.3)
        ax.fill_between(p["step"], p["low"], p["high"], color="#4C72B0", alpha=0.2, lw=0)
        ax.axhline(0, color="black", lw=0.7)
        mark_events(ax, events, labels=ax is axes.flat[0])
        ax.set_title(kpi, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: paired difference per step, {level:.0%} t-interval band; dashed: events, "
                 "dotted: their end", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig
