"""The results page's logic without Solara: find result folders, read them through ``analysis.io`` (a
calibration through ``analysis.calibration``), and make the tables and figures the page shows (filtered by
lever, for a chosen KPI; a calibration's parameter and target).

A result folder is the ``--out`` folder of ``run.py run``, ``sweep``, ``compare`` or ``calibrate`` (a
``manifest.json`` beside its data). Its report (``report/``, written by ``run.py report``, ``compare`` or
``calibrate``) adds CSV tables and PNG figures, which the page lists as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.calibration import (
    POSTERIOR_COLOUR,
    PRIOR_COLOUR,
    Calibration,
    draw_marginal,
    draw_pair,
    load_calibration,
    observed_interval,
    posterior_summary,
    predictive_checks,
)
from analysis.io import KINDS, Results, available_kpis, load_results, read_manifest
from sim import ScenarioError, kpis

__all__ = ["DEFAULT_RESULTS_DIRS", "RESULTS_DIRS", "results_dirs", "find_result_folders", "folder_label", "open_results",
           "kpi_choices", "lever_levels", "filter_runs", "by_level", "compare_table", "over_time_figure", "by_level_figure",
           "report_tables", "report_figures", "calibration_posterior", "calibration_checks", "marginal_figure",
           "pair_figure", "target_figure"]

_ROOT = Path(__file__).resolve().parent.parent

#: The repository's folders searched for result folders (``make compare`` writes ``results/main``).
DEFAULT_RESULTS_DIRS: tuple[Path, ...] = (_ROOT / "examples" / "results", _ROOT / "results", _ROOT / "out")


def results_dirs(environ=os.environ) -> tuple[Path, ...]:
    """The default folders plus those in ``CLUSTERCOOP_RESULTS_DIR`` (paths separated by ``os.pathsep``)."""
    extra = tuple(Path(p).expanduser() for p in environ.get("CLUSTERCOOP_RESULTS_DIR", "").split(os.pathsep) if p)
    return DEFAULT_RESULTS_DIRS + tuple(p for p in extra if p not in DEFAULT_RESULTS_DIRS)


#: Folders the results page searches, read once when the app starts.
RESULTS_DIRS: tuple[Path, ...] = results_dirs()


def find_result_folders(dirs: tuple[Path, ...] | list[Path] = RESULTS_DIRS, depth: int = 3) -> list[Path]:
    """Folders under ``dirs`` (``depth`` levels down) holding a ``manifest.json``, sorted by path."""
    found: list[Path] = []
    for root in map(Path, dirs):
        if not root.is_dir():
            continue
        for level in range(depth + 1):
            found += [p.parent for p in root.glob("/".join(["*"] * level + ["manifest.json"]))]
    return sorted(set(found))


def folder_label(folder: Path) -> str:
    """How the page names a found folder: its path from the repository when inside it, else as given."""
    try:
        return Path(folder).resolve().relative_to(_ROOT).as_posix()
    except ValueError:
        return str(folder)


def open_results(folder: str | Path) -> Results | Calibration:
    """Read a result folder through ``analysis.io.load_results``, a calibration folder through
    ``analysis.calibration.load_calibration``.

    Raises:
        ScenarioError: not a result folder, unfinished or damaged, with what to do.
    """
    folder = Path(str(folder).strip()).expanduser()
    if not folder.is_absolute() and not folder.exists() and (_ROOT / folder).exists():
        folder = _ROOT / folder  # a path from the repository, as the page lists found folders
    if not str(folder) or not folder.exists():
        raise ScenarioError(f"{folder}: no such folder; give the --out folder of run.py run, sweep, compare or "
                            "calibrate")
    kinds = (*KINDS, "calibration")
    if read_manifest(folder, kinds, "the --out folder of run.py run, sweep, compare or calibrate")["kind"] == "calibration":
        return load_calibration(folder)
    return load_results(folder)


def kpi_choices(res: Results) -> list[str]:
    """The KPIs the page offers: the report's KPIs the folder holds, then the other registry KPIs it holds."""
    main = available_kpis(res.runs)
    rest = [k.name for k in kpis.KPIS if k.name not in main and f"{k.name}_mean" in res.runs.columns]
    return main + available_kpis(res.runs, rest)


def lever_levels(res: Results) -> dict[str, list[float]]:
    """Each swept lever's distinct values (a sweep), sorted; empty for a comparison or a run."""
    if res.kind != "sweep":
        return {}
    return {p: sorted(pd.unique(res.runs[p].dropna()).tolist()) for p in res.params}


def filter_runs(res: Results, chosen: dict[str, list]) -> pd.DataFrame:
    """A sweep's runs whose levers take one of the chosen values (a lever not in ``chosen``, or with no
    values chosen, is not filtered)."""
    runs = res.runs
    keep = np.ones(len(runs), dtype=bool)
    for lever, values in chosen.items():
        if values and lever in runs:
            keep &= runs[lever].isin(values).to_numpy()
    return runs[keep]


def by_level(runs: pd.DataFrame, lever: str, kpi: str, stat: str = "mean", level: float = 0.95) -> pd.DataFrame:
    """Per value of ``lever``: runs, independent units, mean of ``<kpi>_<stat>`` and its t-interval, as the
    report's KPI table computes them (over the parameter draws when several runs share one:
    ``analysis.stats.t_interval``)."""
    from analysis.stats import draws_of, t_interval

    col = f"{kpi}_{stat}"
    rows = []
    for value, g in runs.groupby(lever, sort=True):
        mean, _, lo, hi, n = t_interval(g[col].to_numpy(float), level, draws_of(g))
        rows.append({lever: value, "runs": int(g[col].notna().sum()), "n_units": n, "mean": mean, "ci_low": lo,
                     "ci_high": hi})
    return pd.DataFrame(rows, columns=[lever, "runs", "n_units", "mean", "ci_low", "ci_high"])


def compare_table(res: Results, kpi_names: list[str], reference: str | None = None) -> pd.DataFrame:
    """A comparison's paired differences against its reference (Holm-adjusted, as its report computes them);
    ``n_units`` counts the units the interval is over: the pairs, or the parameter draws when pairs share one."""
    from analysis.stats import paired_differences

    reference = reference or res.manifest.get("reference") or res.scenarios[0]
    table = paired_differences(res.runs, reference, kpi_names, order=res.scenarios)
    return table[["scenario", "kpi", "reference", "ref_mean", "diff", "ci_low", "ci_high", "n_units", "significant"]]


def _draw_of_replicate(res: Results) -> dict | None:
    """Replicate to its parameter draw (the report's mapping), or None when the runs drew no parameters."""
    runs = res.runs
    return dict(zip(runs["replicate"], runs["draw"])) if {"draw", "replicate"} <= set(runs.columns) else None


def over_time_figure(res: Results, kpi: str, level: float = 0.95) -> Figure | None:
    """The chosen KPI per step for each scenario of a comparison or run: mean over replicates, shaded by its
    t-interval (the report's band: over the parameter draws when replicates share one). None if the folder kept
    no time series."""
    from analysis.figures import mean_band

    ts = res.timeseries
    if ts is None or kpi not in ts:
        return None
    draws = _draw_of_replicate(res)
    fig = Figure(figsize=(8, 3.6), dpi=100)
    ax = fig.subplots()
    for name in res.scenarios:
        mean, half = mean_band(ts[ts["scenario"] == name], kpi, level, draws)
        line, = ax.plot(mean.index, mean.to_numpy(), lw=1.6, label=name)
        ax.fill_between(mean.index, mean - half, mean + half, color=line.get_color(), alpha=0.18, lw=0)
    unit = kpis.kpi(kpi).unit if kpi in {k.name for k in kpis.KPIS} else ""
    shared = draws is not None and len(set(draws.values())) < len(draws)
    ax.set_title(f"{kpi.replace('_', ' ')} ({unit}): mean of {res.replicates} replicates, shaded: {level:.0%} "
                 + (f"t-interval over their {len(set(draws.values()))} parameter draws" if shared else "t-interval"),
                 fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def by_level_figure(table: pd.DataFrame, lever: str, kpi: str) -> Figure:
    """Mean of the KPI per value of the lever with its interval (a sweep's runs after the filter)."""
    fig = Figure(figsize=(6.5, 3.4), dpi=100)
    ax = fig.subplots()
    ax.errorbar(table[lever], table["mean"], yerr=[table["mean"] - table["ci_low"], table["ci_high"] - table["mean"]],
                marker="o", capsize=3, lw=1.4)
    ax.set_xlabel(lever)
    ax.set_ylabel(f"{kpi.replace('_', ' ')} (mean over the run's second half)", fontsize=8)
    ax.set_title(f"{kpi.replace('_', ' ')} by {lever}: mean and 95% t-interval over the runs shown"
                 + (" (over their parameter draws)" if (table["n_units"] < table["runs"]).any() else ""), fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def report_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The report's CSV tables (``report/*.csv``) by file name."""
    out = {}
    for path in sorted((Path(folder) / "report").glob("*.csv")):
        try:
            out[path.name] = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError):
            continue  # a table the page cannot read is left out, the others still show
    return out


def report_figures(folder: str | Path) -> list[Path]:
    """The report's PNG figures (``report/`` and its sub-folders), sorted."""
    return sorted((Path(folder) / "report").rglob("*.png"))


# --------------------------------------------------------------------------- a calibration folder

#: Central share of the posterior (and of the predictive runs) the calibration's tables and figures show.
LEVEL = 0.9


def calibration_posterior(cal: Calibration) -> pd.DataFrame:
    """Per calibrated parameter: prior range, posterior mean, median, 90% interval, sd and narrowing."""
    return posterior_summary(cal.posterior, cal.params, LEVEL)


def calibration_checks(cal: Calibration) -> pd.DataFrame | None:
    """Each observed target against the posterior predictive runs (None if the folder has none)."""
    return predictive_checks(cal.ppc, cal.targets, LEVEL) if cal.ppc is not None else None


def _param(cal: Calibration, key: str) -> dict:
    for p in cal.params:
        if p["key"] == key:
            return p
    raise ScenarioError(f"{key}: not a calibrated parameter; allowed: {', '.join(p['key'] for p in cal.params)}")


def marginal_figure(cal: Calibration, key: str) -> Figure:
    """One parameter's posterior (weighted) against its prior: the prior sample, the uniform density, and the
    posterior median and 90% interval."""
    p = _param(cal, key)
    fig = Figure(figsize=(6.5, 3.4), dpi=100)
    ax = fig.subplots()
    draw_marginal(ax, cal.posterior, p, cal.prior, LEVEL)
    ax.set_title(f"{key}: posterior of {len(cal.posterior)} particles against the uniform prior", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def pair_figure(cal: Calibration, x_key: str, y_key: str) -> Figure:
    """Two parameters in the posterior (point size: weight), axes spanning their priors: a ridge means the
    targets fix a combination of the two, not each."""
    px, py = _param(cal, x_key), _param(cal, y_key)
    fig = Figure(figsize=(4.6, 3.4), dpi=100)
    ax = fig.subplots()
    draw_pair(ax, cal.posterior, px, py)
    ax.set_xlabel(x_key)
    ax.set_ylabel(y_key)
    ax.set_title("Posterior pairs (point size: weight); axes span the prior", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def target_figure(cal: Calibration, name: str) -> Figure | None:
    """One target: its simulated values before (prior sample) and after calibration (posterior predictive runs)
    against the observed value and its 90% interval. None if the folder holds neither sample."""
    target = next((t for t in cal.targets if t["name"] == name), None)
    if target is None:
        raise ScenarioError(f"{name}: not a target of this calibration; allowed: "
                            f"{', '.join(t['name'] for t in cal.targets)}")
    col = f"sim:{name}"
    samples = [(label, frame[col].to_numpy(float), colour) for label, frame, colour in
               (("prior sample", cal.prior, PRIOR_COLOUR), ("posterior predictive", cal.ppc, POSTERIOR_COLOUR))
               if frame is not None]
    if not samples:
        return None
    fig = Figure(figsize=(6.5, 3.4), dpi=100)
    ax = fig.subplots()
    obs = float(target["value"])
    lo, hi = observed_interval(obs, float(target["se"]), LEVEL)
    every = np.concatenate([s for _, s, _ in samples] + [np.array([lo, hi])])
    bins = np.linspace(np.nanmin(every), np.nanmax(every), 30) if np.ptp(every) > 0 else 10
    for label, values, colour in samples:
        ax.hist(values, bins=bins, density=True, color=colour, alpha=0.75, label=f"{label} ({len(values)} runs)")
    ax.axvspan(lo, hi, color="black", alpha=0.08, label=f"observed, {LEVEL:.0%} interval")
    ax.axvline(obs, color="black", lw=1.6, label=f"observed {obs:.3g}")
    ax.set_xlabel(f"{target['kpi']} ({target['statistic']}) in the model's units")
    ax.set_ylabel("density")
    ax.set_title(f"{name}: observed against simulated", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
