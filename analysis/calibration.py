"""The calibration report: posterior marginals and pairs, predictive checks, what each target constrained.

Reads only the files ``run.py calibrate`` writes (manifest, posterior, prior predictive sample,
posterior predictive runs, generations) and builds ``calibration.html`` and ``calibration.md``
with :class:`analysis.document.Document`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, spearmanr

from sim.errors import ScenarioError
from sim.weighted import weighted_quantile

from .document import Document, num
from .io import read_manifest
from .figures import plt

__all__ = ["Calibration", "load_calibration", "calibration_report", "posterior_summary", "target_constraints", "predictive_checks",
           "observed_interval", "draw_marginal", "draw_pair", "PRIOR_COLOUR", "POSTERIOR_COLOUR", "weighted_quantile"]

#: Share of the prior sample kept per target when measuring what that target alone constrains.
KEEP_SHARE = 0.2
#: Colours of the prior sample and of the posterior in every calibration figure (report and app).
PRIOR_COLOUR, POSTERIOR_COLOUR = "#bbbbbb", "#2b6cb0"


def _wsd(x: np.ndarray, w: np.ndarray) -> float:
    m = np.average(x, weights=w)
    return float(np.sqrt(np.average((x - m) ** 2, weights=w)))


def posterior_summary(posterior: pd.DataFrame, params: list[dict], level: float = 0.9) -> pd.DataFrame:
    """Per parameter: prior range, posterior mean, median, central interval, sd and narrowing.

    Narrowing is ``1 - posterior sd / prior sd`` (uniform prior): 0 learnt nothing, 1 pinned down.
    """
    w = posterior["weight"].to_numpy()
    rows = []
    for p in params:
        x = posterior[p["key"]].to_numpy()
        prior_sd = (p["hi"] - p["lo"]) / np.sqrt(12)
        sd = _wsd(x, w)
        rows.append({"parameter": p["key"], "prior low": p["lo"], "prior high": p["hi"],
                     "mean": float(np.average(x, weights=w)), "median": weighted_quantile(x, w, 0.5),
                     f"{level:.0%} low": weighted_quantile(x, w, (1 - level) / 2),
                     f"{level:.0%} high": weighted_quantile(x, w, (1 + level) / 2),
                     "sd": sd, "narrowing": 1 - sd / prior_sd})
    return pd.DataFrame(rows)


def target_constraints(prior_sample: pd.DataFrame, params: list[dict], targets: list[dict]) -> pd.DataFrame:
    """How much each target alone narrows each parameter, and how strongly they move together.

    For target ``j`` the prior sample's draws whose simulated ``j`` lies nearest the observed value
    (the closest :data:`KEEP_SHARE`, in standard errors) are kept, as rejection ABC on that target
    alone would; ``narrowing = 1 - sd(kept) / sd(all)``. ``rho`` is the Spearman correlation of the
    parameter with the simulated target over the whole prior sample.
    """
    rows = []
    n = len(prior_sample)
    keep = max(5, int(round(KEEP_SHARE * n)))
    for t in targets:
        sim = prior_sample[f"sim:{t['name']}"].to_numpy()
        z = np.abs(sim - t["value"]) / t["se"]
        kept = np.argsort(z, kind="stable")[:keep]
        for p in params:
            x = prior_sample[p["key"]].to_numpy()
            sd_all = x.std()
            rho = spearmanr(x, sim).statistic if np.ptp(sim) > 0 else np.nan
            rows.append({"target": t["name"], "parameter": p["key"],
                         "narrowing": 1 - x[kept].std() / sd_all if sd_all > 0 else np.nan, "rho": float(rho)})
    return pd.DataFrame(rows)


def predictive_checks(ppc: pd.DataFrame, targets: list[dict], level: float = 0.9) -> pd.DataFrame:
    """Observed targets against posterior predictive runs: median, band and the observed value's rank."""
    rows = []
    for t in targets:
        sim = ppc[f"sim:{t['name']}"].to_numpy()
        lo, hi = np.quantile(sim, [(1 - level) / 2, (1 + level) / 2])
        rows.append({"target": t["name"], "kpi": t["kpi"], "statistic": t["statistic"], "observed": t["value"],
                     "se": t["se"], "simulated median": float(np.median(sim)), f"{level:.0%} low": float(lo),
                     f"{level:.0%} high": float(hi), "share below observed": float(np.mean(sim < t["value"])),
                     "inside band": bool(lo <= t["value"] <= hi)})
    return pd.DataFrame(rows)


def observed_interval(value: float, se: float, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` interval of an observed target: ``value`` -/+ the normal quantile times ``se``."""
    half = float(norm.ppf(0.5 + level / 2)) * se
    return value - half, value + half


def draw_marginal(ax, posterior: pd.DataFrame, param: dict, prior: pd.DataFrame | None = None,
                  level: float | None = None) -> None:
    """Draw one parameter's weighted posterior on ``ax`` against its uniform prior.

    Args:
        ax: the matplotlib axes drawn on.
        posterior: one column per parameter and ``weight``.
        param: the parameter, ``{"key", "lo", "hi"}``.
        prior: the prior sample, drawn behind the posterior when given.
        level: also mark the posterior median and its central ``level`` interval.
    """
    key = param["key"]
    x, w = posterior[key].to_numpy(float), posterior["weight"].to_numpy(float)
    bins = np.linspace(param["lo"], param["hi"], 25)
    if prior is not None:
        ax.hist(prior[key], bins=bins, density=True, color=PRIOR_COLOUR, label="prior sample")
    ax.hist(x, bins=bins, weights=w, density=True, color=POSTERIOR_COLOUR, alpha=0.75, label="posterior")
    ax.axhline(1 / (param["hi"] - param["lo"]), color="#555", ls="--", lw=1, label="prior density")
    if level is not None:
        lo, mid, hi = (weighted_quantile(x, w, q) for q in ((1 - level) / 2, 0.5, (1 + level) / 2))
        ax.axvline(mid, color="black", lw=1.4, label=f"median {mid:.3g}")
        ax.axvspan(lo, hi, color=POSTERIOR_COLOUR, alpha=0.08, label=f"{level:.0%} interval [{lo:.3g}, {hi:.3g}]")
    ax.set_xlim(param["lo"], param["hi"])
    ax.set_xlabel(key)
    ax.set_ylabel("density")


def draw_pair(ax, posterior: pd.DataFrame, x: dict, y: dict) -> None:
    """Draw two parameters of the posterior on ``ax`` (point size: weight), the axes spanning their priors."""
    w = posterior["weight"].to_numpy(float)
    ax.scatter(posterior[x["key"]], posterior[y["key"]], s=8 + 60 * w / w.max(), alpha=0.4, color=POSTERIOR_COLOUR,
               lw=0)
    ax.set_xlim(x["lo"], x["hi"])
    ax.set_ylim(y["lo"], y["hi"])


def _marginals(posterior: pd.DataFrame, params: list[dict], prior: pd.DataFrame | None):
    fig, axes = plt.subplots(1, len(params), figsize=(3.8 * len(params), 3.0), squeeze=False)
    for ax, p in zip(axes[0], params):
        draw_marginal(ax, posterior, p, prior)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Posterior marginals against the uniform prior")
    fig.tight_layout()
    return fig


def _pairs(posterior: pd.DataFrame, params: list[dict]):
    k = len(params)
    fig, axes = plt.subplots(k, k, figsize=(2.8 * k, 2.8 * k), squeeze=False)
    w = posterior["weight"].to_numpy()
    for i, pi in enumerate(params):
        for j, pj in enumerate(params):
            ax = axes[i][j]
            if i == j:
                ax.hist(posterior[pi["key"]], bins=20, weights=w, color=POSTERIOR_COLOUR)
            else:
                draw_pair(ax, posterior, pj, pi)
            ax.set_xlabel(pj["key"] if i == k - 1 else "", fontsize=8)
            ax.set_ylabel(pi["key"] if j == 0 else "", fontsize=8)
    fig.suptitle("Posterior pairs (point size: weight); axes span the prior")
    fig.tight_layout()
    return fig


def _ppc_figure(checks: pd.DataFrame, level: float = 0.9):
    fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.55 * len(checks)))
    y = np.arange(len(checks))[::-1]
    z = observed_interval(0.0, 1.0, level)[1]
    lo, hi = checks[f"{level:.0%} low"], checks[f"{level:.0%} high"]
    scale = checks["se"].to_numpy()
    # every target on its own units: show differences to the observed value in standard errors
    ax.hlines(y, (lo - checks["observed"]) / scale, (hi - checks["observed"]) / scale, color=POSTERIOR_COLOUR, lw=6,
              alpha=0.5, label=f"simulated, {level:.0%} band")
    ax.plot((checks["simulated median"] - checks["observed"]) / scale, y, "o", color=POSTERIOR_COLOUR,
            label="simulated median")
    ax.errorbar(np.zeros(len(y)), y, xerr=z, fmt="kd", capsize=3, label=f"observed, {level:.0%} interval")
    ax.set_yticks(y, checks["target"])
    ax.set_xlabel("difference to the observed value (standard errors of the observation)")
    ax.axvline(0, color="#999", lw=0.8)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Posterior predictive checks")
    fig.tight_layout()
    return fig


@dataclass
class Calibration:
    """One finished calibration folder (``run.py calibrate --out``), read.

    Attributes:
        folder: the folder read.
        manifest: the parsed ``manifest.json`` (kind ``calibration``).
        params: the calibrated parameters, ``{"key", "lo", "hi"}`` (uniform priors).
        targets: the observed targets on the model's scale, ``{"name", "kpi", "statistic", "value", "se", ...}``.
        posterior: the last generation, one column per parameter and ``weight``.
        generations: one row per generation (``epsilon``, ``simulations``, ...).
        prior: the prior predictive sample (parameters and ``sim:<target>``), or None.
        ppc: the posterior predictive runs (``sim:<target>``), or None.
    """

    folder: Path
    manifest: dict[str, Any]
    params: list[dict]
    targets: list[dict]
    posterior: pd.DataFrame
    generations: pd.DataFrame
    prior: pd.DataFrame | None = None
    ppc: pd.DataFrame | None = None

    @property
    def scenario(self) -> str:
        """The calibrated scenario's name."""
        return str(self.manifest["identity"]["scenario"].get("name", "scenario"))


def _parquet(path: Path, needed: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: unreadable ({exc}); run the calibration again") from None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ScenarioError(f"{path}: missing column(s) {', '.join(missing)}; not a calibration file of this project")
    return frame


def load_calibration(folder: str | Path) -> Calibration:
    """Read and check a calibration folder.

    Raises:
        ScenarioError: not a calibration folder, unfinished, or a file missing or damaged, with what to do.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    man = read_manifest(folder, ("calibration",), "the --out folder of run.py calibrate")
    if man.get("status") != "complete":
        raise ScenarioError(f"{folder}: the calibration is {man.get('status') or 'not finished'}; run the same "
                            "command again to finish it")
    try:
        ident = man["identity"]
        params, targets = list(ident["params"]), list(ident["targets"])
    except (KeyError, TypeError):
        raise ScenarioError(f"{path}: no identity with params and targets; the folder is damaged") from None
    sims = [f"sim:{t['name']}" for t in targets]
    keys = [p["key"] for p in params]
    optional = {}
    for name, needed in (("prior_predictive.parquet", keys + sims), ("ppc.parquet", sims)):
        optional[name] = _parquet(folder / name, needed) if (folder / name).is_file() else None
    return Calibration(folder, man, params, targets, _parquet(folder / "posterior.parquet", keys + ["weight"]),
                       _parquet(folder / "generations.parquet", ["epsilon", "simulations"]),
                       optional["prior_predictive.parquet"], optional["ppc.parquet"])


def calibration_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Build ``calibration.html`` and ``calibration.md`` from a calibration folder; return the HTML path."""
    cal = load_calibration(folder)
    folder = cal.folder
    out = Path(out) if out is not None else folder / "report"
    man, ident = cal.manifest, cal.manifest["identity"]
    params, targets = cal.params, cal.targets
    posterior, gens, prior, ppc = cal.posterior, cal.generations, cal.prior, cal.ppc
    out.mkdir(parents=True, exist_ok=True)
    doc = Document(f"Calibration of {ident['scenario']['name']} to {len(targets)} observed targets", out / "figures")
    summ = posterior_summary(posterior, params)
    doc.p(f"ABC-SMC (pyabc {man['library']['pyabc']}) over {len(gens)} generations of {ident['population']} "
          f"particles, {int(gens['simulations'].sum())} simulations of {ident['steps']} steps; stopped: "
          f"{man.get('stopped', 'n/a')}. Final threshold {num(float(gens['epsilon'].iloc[-1]))} "
          "(root-sum-square distance in standard errors of the observations).")
    doc.toc()
    doc.h2("Posterior")
    doc.p("Posterior mean, median and 90 % interval of each calibrated parameter; narrowing = 1 - posterior sd / "
          "prior sd (0: the targets said nothing about it, 1: pinned down).")
    doc.table(summ)
    doc.figure(_marginals(posterior, params, prior), "calibration_marginals", "Posterior marginals (blue) against "
               "the prior (grey: the prior sample, dashed: its density)")
    if len(params) > 1:
        doc.h2("Pairs")
        doc.p("Pairs of parameters in the posterior: a ridge means the targets fix a combination, not each one.")
        doc.figure(_pairs(posterior, params), "calibration_pairs", "Posterior pairs; axes span the prior range")
    if ppc is not None:
        checks = predictive_checks(ppc, targets)
        doc.h2("Posterior predictive checks")
        doc.p(f"{len(ppc)} posterior draws run again with new seeds and measurement errors; an observed value outside "
              "the simulated 90 % band, or a share below observed near 0 or 1, is a target the calibrated model "
              "does not reproduce.")
        doc.table(checks)
        doc.figure(_ppc_figure(checks), "calibration_ppc", "Observed targets (diamonds, 90 % interval) against "
                   "the posterior predictive runs (bars: 90 % band), in standard errors of the observation")
    if prior is not None:
        cons = target_constraints(prior, params, targets)
        doc.h2("What each target constrained")
        doc.p(f"For each target alone: the narrowing of each parameter when only the {KEEP_SHARE:.0%} of the "
              f"{len(prior)} prior draws nearest that observation are kept (rejection ABC on one target), and the "
              "rank correlation rho of parameter and simulated target over the prior. The last row is the full "
              "calibration with all targets.")
        wide = cons.pivot(index="target", columns="parameter", values="narrowing")
        rho = cons.pivot(index="target", columns="parameter", values="rho")
        table = pd.DataFrame({p["key"]: [f"{num(wide.loc[t['name'], p['key']])} (rho {num(rho.loc[t['name'], p['key']])})"
                                         for t in targets] for p in params},
                             index=[t["name"] for t in targets])
        table.loc["all targets (posterior)"] = [num(float(v)) for v in summ["narrowing"]]
        doc.table(table.reset_index(names="target"))
    doc.h2("Generations")
    doc.table(gens)
    doc.h2("Method")
    doc.bullets([("", "Priors: uniform on the --param ranges. Each candidate runs the model once with its own seed; "
                      "each target's statistic gets a normal measurement error with the target's standard error, so "
                      "the posterior is that of the observations measured with that error."),
                 ("", "Distance: root-sum-square of (simulated - observed) / se; threshold: the median distance of the "
                      "previous generation (pyabc MedianEpsilon); perturbation: multivariate normal kernel."),
                 ("", f"Seeds: {man['seeding']}."),
                 *([("", "Nuisance parameters (the scenario's [uncertain] ones not calibrated), drawn afresh for "
                         f"every simulation: {', '.join(ident['nuisance']['keys'])}; the values each particle ran "
                         "with are columns of posterior.parquet.")] if ident.get("nuisance") else [])])
    return doc.write(out, "calibration")
