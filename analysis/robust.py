"""Robustness of policies across uncertain futures: regret, satisficing, and where the favoured one fails.

Reads the folder of ``run.py robust`` (``results.parquet``: one row per policy, future and
replicate; ``manifest.json``: the policies, the uncertain levers, the KPIs with their direction and
the satisficing thresholds). Every policy met every future with the same replicate seeds (common
random numbers), so differences between policies within a future carry no seed noise of their own.

* **Per future**: each KPI's mean over the replicates of a policy in a future.
* **Regret** (Savage 1951, as used in robust decision making): in each future, how far a policy
  falls short of the best policy there, in the KPI's units (``best - value`` for a KPI where more
  is better, ``value - best`` otherwise); per policy its mean, 90th percentile and maximum over the
  futures and the share of futures where it is the best. EMA Workbench has no regret function (its
  tutorials compute it as here), so this is a groupby over the per-future table.
* **Satisficing** (Starr's domain criterion): the share of futures in which a policy meets every
  threshold, with a 95% Clopper-Pearson interval, and the share per threshold.
* **Where the favoured policy fails**: the favoured policy is the one meeting the thresholds in the
  most futures (ties: the smaller maximum regret on the first KPI); its futures that miss a threshold
  go through :mod:`analysis.discovery` (EMA's PRIM, CART, feature scoring) over the uncertain levers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError

from . import figures  # noqa: F401  (sets the Agg backend)
from .io import read_manifest

__all__ = ["OPS", "Robustness", "per_future", "regret_table", "regret_summary", "satisficing", "favoured",
           "failure_condition", "robustness", "write_robustness", "load_robust", "robust_report"]

#: Comparison operators a threshold may use.
OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def per_future(runs: pd.DataFrame, kpis: list[str], stat: str = "mean",
               uncertainties: list[str] | None = None) -> pd.DataFrame:
    """Mean over replicates of each KPI per policy and future (policy and future order kept).

    Returns:
        One row per policy and future: ``policy, future``, the uncertain levers, then one column per KPI.
    """
    cols = {k: f"{k}_{stat}" for k in kpis}
    missing = [c for c in cols.values() if c not in runs.columns]
    if missing:
        raise ScenarioError(f"results.parquet: no column(s) {', '.join(missing)}")
    unc = list(uncertainties or [])
    frame = runs[["policy", "future", *unc, *cols.values()]].rename(columns={v: k for k, v in cols.items()})
    order = list(dict.fromkeys(runs["policy"]))
    means = frame.groupby(["policy", "future"], sort=False)[kpis].mean()
    first = frame.groupby(["policy", "future"], sort=False)[unc].first() if unc else None
    out = means if first is None else first.join(means)
    out = out.reset_index()
    out["policy"] = pd.Categorical(out["policy"], categories=order)
    return out.sort_values(["policy", "future"], kind="stable").reset_index(drop=True).assign(
        policy=lambda d: d["policy"].astype(str))


def regret_table(pf: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Regret of every policy in every future for every KPI.

    Args:
        pf: the per-future table (:func:`per_future`).
        directions: KPI -> ``"max"`` (more is better) or ``"min"``.

    Returns:
        Long table: ``policy, future, kpi, value, best, regret`` (regret >= 0, 0 for the best policy).
    """
    rows = []
    for kpi, direction in directions.items():
        if direction not in ("max", "min"):
            raise ScenarioError(f"KPI {kpi}: direction {direction!r} must be 'max' or 'min'")
        best = pf.groupby("future")[kpi].transform("max" if direction == "max" else "min")
        regret = (best - pf[kpi]) if direction == "max" else (pf[kpi] - best)
        rows.append(pd.DataFrame({"policy": pf["policy"], "future": pf["future"], "kpi": kpi,
                                  "value": pf[kpi], "best": best, "regret": regret.clip(lower=0.0)}))
    return pd.concat(rows, ignore_index=True)


def regret_summary(reg: pd.DataFrame) -> pd.DataFrame:
    """Per policy and KPI: mean, 90th percentile and maximum regret over the futures, share of futures best."""
    g = reg.groupby(["kpi", "policy"], sort=False)["regret"]
    out = pd.DataFrame({"mean_regret": g.mean(), "p90_regret": g.quantile(0.9), "max_regret": g.max(),
                        "best_share": g.apply(lambda r: float((r <= 0).mean()))}).reset_index()
    return out


def _parse_thresholds(thresholds: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    out = []
    for t in thresholds:
        if t.get("op") not in OPS:
            raise ScenarioError(f"threshold on {t.get('kpi')}: operator {t.get('op')!r} is not one of "
                                f"{', '.join(OPS)}")
        out.append((str(t["kpi"]), str(t["op"]), float(t["value"])))
    return out


def _meets(pf: pd.DataFrame, thresholds: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({f"{k} {op} {v:g}": OPS[op](pf[k].to_numpy(float), v) for k, op, v in thresholds},
                        index=pf.index)


def satisficing(pf: pd.DataFrame, thresholds: list[dict[str, Any]], level: float = 0.95) -> pd.DataFrame:
    """Share of futures in which each policy meets every threshold (and each one alone).

    Returns:
        One row per policy: ``futures``, ``met``, ``share``, ``ci_low``, ``ci_high`` (Clopper-Pearson), then
        the share per threshold.
    """
    from scipy import stats

    parsed = _parse_thresholds(thresholds)
    meets = _meets(pf, parsed)
    rows = []
    for policy, idx in pf.groupby("policy", sort=False).groups.items():
        m = meets.loc[idx]
        met = int(m.all(axis=1).sum())
        n = len(m)
        ci = stats.binomtest(met, n).proportion_ci(confidence_level=level, method="exact")
        rows.append({"policy": policy, "futures": n, "met": met, "share": met / n, "ci_low": float(ci.low),
                     "ci_high": float(ci.high), **{f"share {c}": float(m[c].mean()) for c in m.columns}})
    return pd.DataFrame(rows)


def favoured(sat: pd.DataFrame, summary: pd.DataFrame, first_kpi: str) -> str:
    """The policy meeting the thresholds in the most futures; ties: the smaller maximum regret on ``first_kpi``."""
    mr = summary[summary["kpi"] == first_kpi].set_index("policy")["max_regret"]
    t = sat.assign(max_regret=sat["policy"].map(mr), order=np.arange(len(sat)))
    t = t.sort_values(["met", "max_regret", "order"], ascending=[False, True, True], kind="stable")
    return str(t.iloc[0]["policy"])


def failure_condition(thresholds: list[dict[str, Any]]) -> str:
    """The expression over KPIs that is true where a threshold is missed."""
    parts = [f"{k} {op} {v:g}" for k, op, v in _parse_thresholds(thresholds)]
    return "not (" + " and ".join(parts) + ")"


@dataclass
class Robustness:
    """What :func:`robustness` computed (all tables are plain frames; see the module docstring)."""

    per_future: pd.DataFrame
    regret: pd.DataFrame
    regret_summary: pd.DataFrame
    satisficing: pd.DataFrame
    favoured: str
    failure_condition: str
    discovery: Any  # analysis.discovery.Discovery, or None
    discovery_note: str


def robustness(runs: pd.DataFrame, kpis: dict[str, str], thresholds: list[dict[str, Any]],
               uncertainties: list[str], stat: str = "mean", experiments: pd.DataFrame | None = None,
               seed: int = 0) -> Robustness:
    """Regret, satisficing and scenario discovery of the favoured policy's failures.

    Args:
        runs: one row per policy, future and replicate (``policy``, ``future``, the levers, KPI columns).
        kpis: KPI -> ``"max"`` or ``"min"`` for regret, in order (the first breaks ties between policies).
        thresholds: ``{"kpi", "op", "value"}`` dicts for satisficing (empty: every future satisfies).
        uncertainties: the uncertain levers (columns of ``runs``).
        stat: ``mean`` (time average) or ``final``.
        experiments: the uncertain levers per future as EMA wants them (categoricals); default from ``runs``.
        seed: seed of the discovery's resampling, CART and feature scores.
    """
    from .discovery import discover

    if not kpis:
        raise ScenarioError("robust: no KPI to compute regret on")
    used = list(dict.fromkeys([*kpis, *(t["kpi"] for t in thresholds)]))
    pf = per_future(runs, used, stat, uncertainties)
    reg = regret_table(pf, kpis)
    summary = regret_summary(reg)
    sat = satisficing(pf, thresholds)
    best = favoured(sat, summary, next(iter(kpis)))
    cond = failure_condition(thresholds) if thresholds else ""
    disc, note = None, ""
    if not thresholds:
        note = "No satisficing thresholds, so no future counts as a failure."
    else:
        mine = pf[pf["policy"] == best].reset_index(drop=True)
        if experiments is None:
            experiments = mine[uncertainties]
        try:
            disc = discover(experiments.reset_index(drop=True), mine[used], where=cond, resamples=10, seed=seed,
                            unit="futures")
        except ScenarioError as exc:
            note = f"No scenario discovery for {best}: {exc}"
    return Robustness(pf, reg, summary, sat, best, cond, disc, note)


# --------------------------------------------------------------------------- files


def load_robust(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and the manifest of a ``run.py robust`` folder, checked.

    Raises:
        ScenarioError: not such a folder, unfinished, or rows that do not match the manifest.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(f"{folder}: not a folder; give the --out folder of run.py robust")
    manifest = read_manifest(folder, ("robust",), "the --out folder of run.py robust")
    if manifest.get("status") != "complete":
        raise ScenarioError(f"{folder}: the job is {manifest.get('status') or 'not finished'}; run the same "
                            "command again to finish it")
    path = folder / "results.parquet"
    if not path.is_file():
        raise ScenarioError(f"{folder}: no results.parquet; the job did not finish, run it again")
    try:
        runs = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ScenarioError(f"{path}: cannot be read as Parquet ({type(exc).__name__}); rerun the job") from None
    need = ["run_id", "policy", "future", "replicate", "seed", *manifest.get("uncertainty_names", [])]
    missing = [c for c in need if c not in runs.columns]
    if missing:
        raise ScenarioError(f"{path}: missing column(s) {', '.join(missing)}")
    expected = len(manifest.get("policies", [])) * int(manifest.get("futures", 0)) * int(manifest.get("replicates", 1))
    if len(runs) != expected:
        raise ScenarioError(f"{path}: {len(runs)} rows but the job has {expected} runs; rerun it to finish")
    return runs.sort_values("run_id", kind="stable").reset_index(drop=True), manifest


# --------------------------------------------------------------------------- output


def _regret_figure(reg: pd.DataFrame, policies: list[str]):
    import matplotlib.pyplot as plt

    kpis = list(dict.fromkeys(reg["kpi"]))
    fig, axes = plt.subplots(1, len(kpis), figsize=(4.2 * len(kpis), 0.8 + 0.45 * len(policies)), squeeze=False)
    for ax, kpi in zip(axes[0], kpis):
        r = reg[reg["kpi"] == kpi]
        data = [r.loc[r["policy"] == p, "regret"].to_numpy() for p in policies]
        ax.boxplot(data, orientation="horizontal", tick_labels=policies, whis=(0, 100))
        ax.invert_yaxis()
        ax.set_xlabel(f"regret in {kpi} (KPI units; 0 = best in that future)")
        ax.set_title(kpi, fontsize=10)
    fig.suptitle("Regret of each policy across the futures (whiskers: best and worst future)", fontsize=11)
    fig.tight_layout()
    return fig


def _satisficing_figure(sat: pd.DataFrame):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.45 * len(sat)))
    y = np.arange(len(sat))
    ax.barh(y, sat["share"], color="#4C72B0")
    ax.errorbar(sat["share"], y, xerr=[sat["share"] - sat["ci_low"], sat["ci_high"] - sat["share"]], fmt="none",
                ecolor="#222", capsize=3)
    ax.set_yticks(y, sat["policy"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of futures meeting every threshold (95% Clopper-Pearson interval)")
    ax.set_title("Satisficing: in how many futures does each policy do well enough?", fontsize=10)
    return fig


def write_robustness(rob: Robustness, out: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``robust.html``, ``robust.md``, the CSV tables and figures into ``out``; return the HTML path."""
    from .discovery import headline, write_discovery
    from .document import Document

    out = Path(out)
    policies = list(dict.fromkeys(rob.per_future["policy"]))
    n_fut = int(manifest.get("futures", rob.per_future["future"].nunique()))
    reps = int(manifest.get("replicates", 1))
    doc = Document(f"clustercoop robustness of {len(policies)} policies over {n_fut} futures", out / "figures")
    doc.h2("Summary")
    unc = "; ".join(f"{p['name']} ({p.get('spec', '')})" for p in manifest.get("uncertainties", []))
    stat = ("KPIs are time averages over the run." if manifest.get("stat", "mean") == "mean"
            else "KPIs are values at the last step.")
    doc.p(f"Policies: {', '.join(policies)}. Futures: {n_fut}, a Latin-hypercube sample of {unc}, master seed "
          f"{manifest.get('master_seed', 'n/a')}; {reps} replicate(s) per policy and future with the same seeds in "
          f"every policy and future (common random numbers). {stat}")
    sat = rob.satisficing
    fav = sat[sat["policy"] == rob.favoured].iloc[0]
    doc.p(f"Favoured policy: {rob.favoured}, meeting every threshold in {fav['met']} of {fav['futures']} futures "
          f"({100 * fav['share']:.0f} %, 95% interval {100 * fav['ci_low']:.0f} to {100 * fav['ci_high']:.0f} %).")
    doc.h2("Satisficing")
    doc.p("Thresholds: " + ", ".join(f"{t['kpi']} {t['op']} {t['value']:g}" for t in manifest.get("thresholds", []))
          + ". A policy satisfices in a future when the mean over replicates meets every threshold.")
    doc.table(sat)
    doc.figure(_satisficing_figure(sat), "satisficing", "Share of futures meeting every threshold")
    doc.h2("Regret")
    doc.p("Regret of a policy in a future: how far it falls short of the best policy in that future, in the KPI's "
          "units (0 for the best). Per policy: mean, 90th percentile and maximum over the futures, and the share of "
          "futures where it is the best.")
    doc.table(rob.regret_summary)
    doc.figure(_regret_figure(rob.regret, policies), "regret", "Regret per policy across the futures")
    doc.h2(f"Where {rob.favoured} fails")
    if rob.discovery is None:
        doc.p(rob.discovery_note)
    else:
        doc.p(f"Futures where {rob.favoured} misses a threshold ({rob.failure_condition}): "
              f"{rob.discovery.n_cases} of {rob.discovery.n_runs}. PRIM over the uncertain levers (full report in "
              "discovery/discovery.html):")
        doc.bullets([("", headline(rob.discovery, int(b))) for b in rob.discovery.box_stats["box"]])
        limits = rob.discovery.boxes
        if len(limits):
            doc.table(limits[["box", "lever", "low", "high", "categories", "qp_low", "qp_high"]])
        write_discovery(rob.discovery, out / "discovery",
                        f"Futures of the robustness job, policy {rob.favoured}; a case is a future where it misses a "
                        "threshold.")
    doc.h2("Methods")
    doc.bullets([
        ("", "Runs: every policy in every future, each with the same replicate seeds (common random numbers), "
             "through the project's resumable runner; results.parquet has one row per run."),
        ("", "Regret and satisficing are computed on the per-future means over replicates (per_future.csv). "
             "EMA Workbench has no regret or satisficing function, so these are pandas group-bys; the failing "
             "futures go through EMA's PRIM, CART and feature scoring (analysis/discovery.py)."),
        ("", "Satisficing intervals: exact binomial (Clopper-Pearson) over the futures."),
        ("", "Files: per_future.csv, regret.csv (policy, future, kpi, value, best, regret), regret_summary.csv, "
             "satisficing.csv, figures/, discovery/."),
    ])
    return doc.write(out, "robust", {"per_future": rob.per_future, "regret": rob.regret,
                                      "regret_summary": rob.regret_summary, "satisficing": rob.satisficing})


def robust_report(folder: str | Path, out: str | Path | None = None, seed: int = 0) -> tuple[Robustness, Path]:
    """Analyse a ``run.py robust`` folder and write its report (default ``FOLDER/report``)."""
    from .discovery import lever_frame

    runs, manifest = load_robust(folder)
    names = [p["name"] for p in manifest.get("uncertainties", [])]
    kpis = {k["name"]: k["direction"] for k in manifest.get("kpis", [])}
    thresholds = list(manifest.get("thresholds", []))
    pf_first = per_future(runs[runs["policy"] == runs["policy"].iloc[0]], list(kpis), manifest.get("stat", "mean"),
                          names)
    rob = robustness(runs, kpis, thresholds, names, manifest.get("stat", "mean"),
                     experiments=lever_frame(pf_first, manifest.get("uncertainties", [])), seed=seed)
    path = write_robustness(rob, Path(out) if out is not None else Path(folder) / "report", manifest)
    return rob, path
