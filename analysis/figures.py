"""Figures of the report (matplotlib, Agg backend), each readable on its own.

Every function returns a :class:`matplotlib.figure.Figure` with a title that says
what is shown, units or scales on the axes and a legend; :func:`save` writes it as
PNG and SVG. The network drawing and the Morgan–Hunt figure, which the app shares,
are in :mod:`analysis.network_figures`; the grid sweep's dose–response
figures in :mod:`analysis.dose_figures`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy import stats as sps  # noqa: E402

from sim import kpis as kpi_registry  # noqa: E402

__all__ = ["save", "timeseries_small_multiples", "distributions", "forest", "sensitivity_bars", "morris_plot",
           "label_points", "mark_events", "paired_over_time", "mean_band"]


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


VERDICT_COLORS = {"better": "#2a9d4b", "worse": "#c0392b", "same": "#7a7a7a"}


def mean_band(ts: pd.DataFrame, kpi: str, level: float = 0.95,
              draws: Mapping[int, object] | None = None) -> tuple[pd.Series, pd.Series]:
    """Mean over replicates per step and the half-width of its t-interval (over the draw means when ``draws``,
    replicate to parameter draw, puts several replicates in one draw: ``analysis.stats.unit_means``); the
    half-width is 0 at a step with one unit. The report's and the app's bands over time both come from here."""
    if draws is not None and ts["replicate"].map(draws).nunique() < ts["replicate"].nunique():
        ts = ts.assign(_draw=ts["replicate"].map(draws)).groupby(["step", "_draw"])[kpi].mean().reset_index()
    g = ts.groupby("step")[kpi]
    mean, sd, n = g.mean(), g.std(ddof=1).fillna(0.0), g.count()
    return mean, sps.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)


def timeseries_small_multiples(ts: pd.DataFrame, kpis: Sequence[str], scenarios: Sequence[str], reference: str,
                               verdicts: Mapping[tuple[str, str], str], level: float = 0.95,
                               events: Mapping[str, Sequence[dict]] | None = None,
                               draws: Mapping[int, object] | None = None,
                               unscaled: Collection[tuple[str, str]] = ()) -> Figure:
    """KPIs over time, one row per arrangement and one column per KPI, each over the reference.

    Each panel draws the reference's mean and band in black and grey, and the
    arrangement's mean and band in the colour of its verdict (``verdicts[(scenario,
    kpi)]``: better, worse or same); the reference's own row shows it alone.
    Panels of a column share their y axis, so rows compare at a glance. ``events``
    maps an arrangement to its timeline events, marked in its row (:func:`mark_events`). ``draws``: replicate to
    its parameter draw (bands over the draws when replicates share them), or None. A ratio KPI's column (one
    with a registry ``denominator``) is limited to the 2nd–98th percentile of what its panels draw, leaving out
    the ``(arrangement, kpi)`` pairs in ``unscaled`` (a ratio over almost nothing spent), so that one arm's spikes
    do not flatten the others; a panel with a tenth of its values beyond says so.
    """
    events = events or {}
    rows = [reference, *[s for s in scenarios if s != reference]]
    kpis = [k for k in kpis if k in ts.columns]
    fig = Figure(figsize=(1.9 * len(kpis) + 1.6, 0.95 * len(rows) + 1.2))
    axes = fig.subplots(len(rows), len(kpis), sharex=True, sharey="col", squeeze=False)
    ref_ts = ts[ts["scenario"] == reference]
    bands = {k: mean_band(ref_ts, k, level, draws) for k in kpis}
    drawn: dict[tuple[str, str], np.ndarray] = {}
    for i, name in enumerate(rows):
        sub = ts[ts["scenario"] == name]
        for j, kpi in enumerate(kpis):
            ax = axes[i, j]
            mean, half = bands[kpi]
            drawn[(reference, kpi)] = np.r_[(mean - half).to_numpy(), (mean + half).to_numpy()]
            ax.fill_between(mean.index, mean - half, mean + half, color="#bbbbbb", alpha=0.6, lw=0)
            ax.plot(mean.index, mean.to_numpy(), color="black", lw=0.9)
            if name != reference and not sub.empty:
                colour = VERDICT_COLORS.get(verdicts.get((name, kpi), "same"), "#7a7a7a")
                m, h = mean_band(sub, kpi, level, draws)
                drawn[(name, kpi)] = np.r_[(m - h).to_numpy(), (m + h).to_numpy()]
                ax.fill_between(m.index, m - h, m + h, color=colour, alpha=0.25, lw=0)
                ax.plot(m.index, m.to_numpy(), color=colour, lw=1.4)
            mark_events(ax, events.get(name, ()), labels=j == 0)
            ax.tick_params(labelsize=6, length=2)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
            ax.grid(alpha=0.25)
            if i == 0:
                unit = kpi_registry.kpi(kpi).unit if kpi in {k.name for k in kpi_registry.KPIS} else ""
                ax.set_title(f"{kpi.replace('_', ' ')}\n({unit})", fontsize=8)
            if j == 0:
                ax.set_ylabel(name + ("\n(reference)" if name == reference else ""), fontsize=8, rotation=0,
                              ha="right", va="center")
        axes[-1, 0].set_xlabel("step", fontsize=7)
    for j, kpi in enumerate(kpis):
        _clip_ratio_column(axes[:, j], kpi, rows, drawn, set(unscaled))
    handles = [Line2D([], [], color="black", lw=1, label=f"{reference} (reference), grey band: {level:.0%} interval"),
               *(Line2D([], [], color=c, lw=1.6, label=lab) for lab, c in
                 (("better, significant", VERDICT_COLORS["better"]), ("worse, significant", VERDICT_COLORS["worse"]),
                  ("cannot be told apart", VERDICT_COLORS["same"])))]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle("KPIs over time: each arrangement (colour) over the reference (black)", fontsize=11, y=1.0 + 0.35 / fig.get_figheight())
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()), h_pad=0.3, w_pad=0.6)
    return fig


def _clip_ratio_column(axes: np.ndarray, kpi: str, rows: Sequence[str], drawn: Mapping[tuple[str, str], np.ndarray],
                       unscaled: set[tuple[str, str]]) -> None:
    """Limit a ratio KPI's column to the 2nd–98th percentile of its panels' values; note where many go beyond."""
    if kpi not in {k.name for k in kpi_registry.KPIS} or not kpi_registry.kpi(kpi).denominator:
        return
    values = [drawn[(r, kpi)] for r in rows if (r, kpi) in drawn and (r, kpi) not in unscaled]
    pool = np.concatenate(values) if values else np.array([])
    pool = pool[np.isfinite(pool)]
    if pool.size < 2:
        return
    lo, hi = np.percentile(pool, [2, 98])
    pad = 0.08 * (hi - lo) if hi > lo else 0.5 * max(abs(hi), 1e-9)
    lo, hi = lo - pad, hi + pad
    axes[0].set_ylim(lo, hi)  # the column shares its y axis
    for ax, r in zip(axes, rows):
        v = drawn.get((r, kpi), np.array([]))
        v = v[np.isfinite(v)]
        if v.size and np.mean((v > hi) | (v < lo)) > 0.1:  # a first step or a noisy edge is not worth a note
            ax.text(0.98, 0.95, "values beyond the axis clipped", transform=ax.transAxes, fontsize=5.5,
                    color="#444444", ha="right", va="top", bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5})


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
        unit = kpi_registry.unit_of(kpi)
        ax.set_title(f"{kpi} ({unit})" if unit else kpi, fontsize=10 if len(kpi) + len(unit or "") < 34 else 8.5)
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
        unit = kpi_registry.unit_of(kpi)
        better = f"{'higher' if HIGHER_IS_BETTER.get(kpi, True) else 'lower'} is better"
        ax.set_title(f"{kpi}\n({unit}; {better})" if unit else f"{kpi} ({better})", fontsize=9)
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


def label_points(ax, x: np.ndarray, y: np.ndarray, labels: Sequence[str], fontsize: float = 7) -> None:
    """Label scatter points so that no two labels overlap: a label that would hit one already placed moves up.

    Placement works in display units of the figure as drawn now, so call it after
    the axes' limits are set; a label moved away from its point gets a thin leader line.
    """
    fig = ax.figure
    fig.draw_without_rendering()  # fixes the limits and the transform the placement reads
    to_px = fig.dpi / 72.0
    height = fontsize * 1.3 * to_px
    placed: list[tuple[float, float, float, float]] = []
    order = np.argsort(np.nan_to_num(np.asarray(y, float), nan=-np.inf))
    for i in order:
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        px, py = ax.transData.transform((x[i], y[i]))
        width = len(str(labels[i])) * fontsize * 0.62 * to_px
        left, bottom = px + 3 * to_px, py + 2 * to_px
        while any(left < r and left + width > l_ and bottom < t and bottom + height > b for l_, b, r, t in placed):
            bottom += height
        placed.append((left, bottom, left + width, bottom + height))
        moved = bottom - (py + 2 * to_px) > 1
        ax.annotate(str(labels[i]), (x[i], y[i]), xytext=((left - px) / to_px, (bottom - py) / to_px),
                    textcoords="offset points", fontsize=fontsize, va="bottom",
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#888888"} if moved else None)


def morris_plot(table: pd.DataFrame, kpis: Sequence[str] | None = None) -> Figure:
    """Morris screening per KPI: mu* per lever (95% interval), and sigma against mu* (the usual Morris plane)."""
    kpis, fig, axes = _kpi_rows(table, kpis, 1.8)
    planes = []
    for row, kpi in zip(axes, kpis):
        t = table[table["kpi"] == kpi].sort_values("mu_star")
        _mu_star_bars(row[0], t, f"mu* ({kpi} change per full range of the lever)", f"{kpi}: Morris mu*, 95% bootstrap CI")
        ax = row[1]
        ax.scatter(t["mu_star"], t["sigma"], color="#4C72B0")
        top = float(np.nanmax(np.r_[t["mu_star"].to_numpy(float), t["sigma"].to_numpy(float), 1e-12]))
        ax.plot([0, top], [0, top], color="grey", lw=0.6, ls="--", label="sigma = mu*")
        ax.set_xlabel("mu* (overall influence)")
        ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_title(f"{kpi}: Morris plane", fontsize=10)
        ax.margins(x=0.3, y=0.15)  # room for the labels
        ax.legend(fontsize=7, loc="upper left")
        planes.append((ax, t))
    fig.suptitle("Morris screening: which levers move the KPIs", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    for ax, t in planes:  # after the layout, which sets the scale the labels are spaced in
        label_points(ax, t["mu_star"].to_numpy(float), t["sigma"].to_numpy(float), list(t["param"]))
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
        unit = kpi_registry.kpi(kpi).unit if kpi in {k.name for k in kpi_registry.KPIS} else ""
        ax.set_title(f"{kpi}\n(difference, {unit})" if unit else kpi, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: paired difference per step, {level:.0%} t-interval band; dashed: events, "
                 "dotted: their end", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig
