"""Global sensitivity analysis with SALib: Sobol' indices and Morris-type screening.

A sweep with ``--design sobol`` evaluates the Saltelli design of SALib
(``N · (2k + 2)`` points, second order on): per base row ``A``, the rows
``AB_1..AB_k`` (A with column i from B), ``BA_1..BA_k`` and ``B``. From it:

* **Sobol'** first-order ``S1`` and total ``ST`` indices with 95% bootstrap
  intervals (``SALib.analyze.sobol``). With replicates, the design point's
  output is the mean over replicates; the share of the output variance that is
  replicate noise is reported as ``noise_share``.
* **Morris screening** from the same runs: ``A`` and ``AB_i`` (and ``B`` and
  ``BA_i``) differ in parameter ``i`` only, a radial one-at-a-time design
  (Campolongo, Saltelli & Cariboni 2011). Elementary effects
  ``(f(AB_i) − f(A)) / Δx_i`` with ``Δx_i`` in units of the parameter's range give
  ``mu``, ``mu_star`` (mean absolute effect), ``sigma`` and a bootstrap interval of
  ``mu_star``, as SALib's Morris analysis reports them.

Levers are ranked by ``ST`` (what share of the variance the lever is involved in),
then ``mu_star``.

A sweep with ``--design morris`` evaluates SALib's Morris trajectories
(``r`` trajectories of ``k + 1`` points on a 4-level grid), a cheaper
screening: :func:`sweep_morris` reads the stored sample matrix, checks it
against the design points stored with the runs, and runs
``SALib.analyze.morris`` (``mu``, ``mu_star`` with a 95% bootstrap interval,
``sigma``); levers are ranked by ``mu_star``. :func:`morris_function` does the
same for a Python function.

Both read the sample matrix the runner stored (``design_unit.parquet``); no
design is drawn again here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError

from .io import Results, load_results

__all__ = [
    "problem_from_manifest",
    "design_matrix",
    "point_outputs",
    "sobol_analyze",
    "radial_morris",
    "sweep_sensitivity",
    "sweep_morris",
    "rank_levers",
    "leaders",
    "sobol_function",
    "morris_function",
]


def problem_from_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """SALib problem (names and bounds) of a sweep manifest, as the sampler used it."""
    params = manifest["design"]["params"]
    names, bounds = [], []
    for p in params:
        names.append(p["name"])
        if "values" in p:
            bounds.append([0.0, float(len(p["values"]))])
        else:
            bounds.append([float(p["low"]), float(p["high"])])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def design_matrix(res: Results) -> np.ndarray:
    """The design points as numbers, one row per point (list-valued parameters as their index)."""
    reps = res.replicates
    first = res.runs.iloc[::reps]
    cols = []
    for p in res.manifest["design"]["params"]:
        v = first[p["name"]]
        if "values" in p:
            lookup = {repr(x): i for i, x in enumerate(p["values"])}
            cols.append(np.array([lookup.get(repr(x), np.nan) for x in v], dtype=float))
        else:
            cols.append(v.to_numpy(float))
    return np.column_stack(cols)


def point_outputs(res: Results, kpi: str, stat: str = "mean") -> tuple[np.ndarray, float]:
    """Mean output per design point (over replicates) and the replicate-noise share of the variance."""
    col = f"{kpi}_{stat}"
    if col not in res.runs.columns:
        raise ScenarioError(f"{res.folder}: no column {col} in results.parquet")
    reps = res.replicates
    y = res.runs[col].to_numpy(float).reshape(-1, reps)
    noise = np.nan
    if reps > 1:
        total = y.var(ddof=1) if y.size > 1 else 0.0
        within = float(np.mean(y.var(axis=1, ddof=1)))
        noise = within / total if total > 0 else np.nan
    return y.mean(axis=1), noise


def sobol_analyze(problem: dict[str, Any], y: np.ndarray, num_resamples: int = 500, seed: int = 0) -> pd.DataFrame:
    """Sobol' S1 and ST with 95% intervals from outputs in Saltelli order (second order on).

    Returns:
        One row per parameter: ``param, S1, S1_conf, ST, ST_conf`` (``*_conf`` is the half-width).

    Raises:
        ScenarioError: outputs not a multiple of ``2k + 2`` or not finite.
    """
    from SALib.analyze import sobol

    k = problem["num_vars"]
    y = np.asarray(y, dtype=float)
    if y.size == 0 or y.size % (2 * k + 2):
        raise ScenarioError(f"Sobol' analysis needs N·(2k+2) outputs in Saltelli order (k={k}); got {y.size}; "
                            "use a sweep with --design sobol")
    if not np.isfinite(y).all():
        raise ScenarioError("Sobol' analysis: the output has missing or infinite values")
    if np.ptp(y) == 0:
        z = np.zeros(k)
        return pd.DataFrame({"param": problem["names"], "S1": z, "S1_conf": z, "ST": z, "ST_conf": z})
    si = sobol.analyze(problem, y, calc_second_order=True, num_resamples=num_resamples, conf_level=0.95,
                       print_to_console=False, seed=seed)
    return pd.DataFrame({"param": problem["names"], "S1": si["S1"], "S1_conf": si["S1_conf"],
                         "ST": si["ST"], "ST_conf": si["ST_conf"]})


def radial_morris(problem: dict[str, Any], x: np.ndarray, y: np.ndarray, num_resamples: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """Elementary effects from a Saltelli design (see the module docstring).

    Args:
        problem: SALib problem (names, bounds).
        x: design points in Saltelli order, shape ``(N·(2k+2), k)``.
        y: outputs, shape ``(N·(2k+2),)``.

    Returns:
        One row per parameter: ``param, mu, mu_star, sigma, mu_star_conf, n_effects``.
    """
    k = problem["num_vars"]
    x, y = np.asarray(x, float), np.asarray(y, float)
    block = 2 * k + 2
    if y.size % block or x.shape != (y.size, k):
        raise ScenarioError(f"Morris screening needs a Saltelli design of N·(2k+2) points (k={k}); got {y.size}")
    span = np.array([b[1] - b[0] for b in problem["bounds"]], float)
    span[span == 0] = 1.0
    xb, yb = x.reshape(-1, block, k), y.reshape(-1, block)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(k):
        pairs = [(0, 1 + i), (block - 1, 1 + k + i)]  # A -> AB_i, B -> BA_i
        ee = []
        for base, moved in pairs:
            dx = (xb[:, moved, i] - xb[:, base, i]) / span[i]
            ok = np.abs(dx) > 1e-12
            ee.append((yb[ok, moved] - yb[ok, base]) / dx[ok])
        e = np.concatenate(ee)
        e = e[np.isfinite(e)]
        if e.size == 0:
            rows.append({"param": problem["names"][i], "mu": np.nan, "mu_star": np.nan, "sigma": np.nan,
                         "mu_star_conf": np.nan, "n_effects": 0})
            continue
        boot = np.abs(e[rng.integers(0, e.size, size=(num_resamples, e.size))]).mean(axis=1)
        rows.append({"param": problem["names"][i], "mu": float(e.mean()), "mu_star": float(np.abs(e).mean()),
                     "sigma": float(e.std(ddof=1)) if e.size > 1 else np.nan,
                     "mu_star_conf": float(1.96 * boot.std(ddof=1)), "n_effects": int(e.size)})
    return pd.DataFrame(rows)


def rank_levers(sobol: pd.DataFrame, morris: pd.DataFrame | None = None, threshold: float = 0.05) -> pd.DataFrame:
    """Levers sorted by total index, with a plain label.

    A lever is ``influential`` when the lower end of its ST interval exceeds ``threshold``,
    ``negligible`` when the upper end is below it, and ``uncertain`` otherwise.
    """
    t = sobol.copy()
    if morris is not None:
        t = t.merge(morris[["param", "mu_star", "mu_star_conf"]], on="param", how="left")
    lo, hi = t["ST"] - t["ST_conf"], t["ST"] + t["ST_conf"]
    t["label"] = np.where(lo > threshold, "influential", np.where(hi < threshold, "negligible", "uncertain"))
    keys = ["ST", "mu_star"] if "mu_star" in t.columns else ["ST"]
    t = t.sort_values(keys, ascending=False).reset_index(drop=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t


def leaders(table: pd.DataFrame, value: str, conf: str) -> pd.DataFrame:
    """Per KPI, the top lever and the levers that cannot be told apart from it.

    Two levers cannot be told apart when their 95% intervals (``value ± conf``)
    overlap: a conservative screen, since overlapping intervals do not prove equal
    influence, but separate ones do show an order.

    Returns:
        One row per KPI: ``kpi, top, value, conf, tied`` (a comma-separated list of the
        levers whose interval reaches the top lever's, empty if none).
    """
    rows = []
    for kpi, t in table.groupby("kpi", sort=False):
        t = t.sort_values(value, ascending=False)
        first = t.iloc[0]
        low = first[value] - np.nan_to_num(first[conf], nan=np.inf)
        rest = t.iloc[1:]
        tied = rest[(rest[value] + np.nan_to_num(rest[conf], nan=np.inf)) >= low]["param"].tolist()
        rows.append({"kpi": kpi, "top": first["param"], "value": first[value], "conf": first[conf],
                     "tied": ", ".join(tied)})
    return pd.DataFrame(rows)


def _sweep_of(folder: str | Path | Results, kind: str, what: str) -> Results:
    """The results of a sweep folder written with ``--design kind`` (``what`` names the analysis in errors)."""
    res = folder if isinstance(folder, Results) else load_results(folder)
    if res.kind != "sweep":
        raise ScenarioError(f"{res.folder}: sensitivity analysis needs a sweep folder (this is a {res.kind})")
    design = res.manifest["design"].get("kind")
    if design != kind:
        raise ScenarioError(f"{res.folder}: {what} a sweep with --design {kind} (this one is {design})")
    return res


def _per_kpi(res: Results, kpis: Sequence[str], stat: str, analyze: Callable[[np.ndarray], pd.DataFrame]) -> pd.DataFrame:
    """``analyze(y)`` of each KPI's design-point means, with ``kpi`` and ``noise_share`` columns, as one long table.

    KPIs with a non-finite value at some design point are left out; none left is an error.
    """
    out = []
    for kpi in kpis:
        y, noise = point_outputs(res, kpi, stat)
        if not np.isfinite(y).all():
            continue
        t = analyze(y)
        t.insert(0, "kpi", kpi)
        t["noise_share"] = noise
        out.append(t)
    if not out:
        raise ScenarioError(f"{res.folder}: none of {', '.join(kpis)} has finite values in every run")
    return pd.concat(out, ignore_index=True)


def sweep_sensitivity(folder: str | Path | Results, kpis: Sequence[str], stat: str = "mean",
                      seed: int = 0) -> pd.DataFrame:
    """Sobol' indices, Morris screening and lever rank of each KPI for a ``--design sobol`` sweep.

    Returns:
        Long table: ``kpi, rank, param, S1, S1_conf, ST, ST_conf, mu_star, mu_star_conf, label, noise_share``.

    Raises:
        ScenarioError: not a sweep, or not a Sobol' design.
    """
    res = _sweep_of(folder, "sobol", "Sobol' indices need")
    problem = problem_from_manifest(res.manifest)
    unit = res.design_unit()
    x = design_matrix(res) if unit is None else unit  # older folders: the run parameters (lists by index)
    return _per_kpi(res, kpis, stat,
                    lambda y: rank_levers(sobol_analyze(problem, y, seed=seed), radial_morris(problem, x, y, seed=seed)))


def _morris_design(res: Results) -> np.ndarray:
    """The Morris design of a ``--design morris`` sweep as stored with it, checked against the run parameters."""
    x = res.design_unit()
    if x is None:
        raise ScenarioError(f"{res.folder}: no design_unit.parquet (the sample matrix); this sweep was written by an "
                            "older version: rerun it to get the Morris screening")
    stored = design_matrix(res)
    if x.shape != stored.shape:
        raise ScenarioError(f"{res.folder}: {stored.shape[0]} design points, but design_unit.parquet has "
                            f"{x.shape[0]}; the folder is mixed or damaged: rerun the sweep into a new folder")
    for j, p in enumerate(res.manifest["design"]["params"]):
        if "values" in p:
            want = np.minimum(np.floor(x[:, j]), len(p["values"]) - 1)
        elif p.get("type") == "int":
            want = np.round(x[:, j])
        else:
            want = x[:, j]
        if not np.allclose(want, stored[:, j], rtol=0, atol=1e-9):
            raise ScenarioError(f"{res.folder}: the design points of {p['name']} differ from the sample matrix in "
                                "design_unit.parquet; the folder is mixed or damaged: rerun the sweep")
    return x


def sweep_morris(folder: str | Path | Results, kpis: Sequence[str], stat: str = "mean", seed: int = 0) -> pd.DataFrame:
    """Morris screening (SALib) of each KPI for a ``--design morris`` sweep.

    Returns:
        Long table: ``kpi, rank, param, mu, mu_star, sigma, mu_star_conf, noise_share``; ``mu`` and
        ``mu_star`` are KPI changes per full range of the lever, ranked by ``mu_star``.

    Raises:
        ScenarioError: not a sweep, or not a Morris design.
    """
    from SALib.analyze import morris as morris_analyze

    res = _sweep_of(folder, "morris", "Morris screening needs")
    levels = int(res.manifest["design"]["levels"])
    problem = problem_from_manifest(res.manifest)
    x = _morris_design(res)

    def analyze(y: np.ndarray) -> pd.DataFrame:
        si = morris_analyze.analyze(problem, x, y, num_levels=levels, conf_level=0.95, num_resamples=1000, seed=seed)
        t = _morris_table(problem, si).sort_values("mu_star", ascending=False).reset_index(drop=True)
        t.insert(0, "rank", np.arange(1, len(t) + 1))
        return t

    return _per_kpi(res, kpis, stat, analyze)


def _morris_table(problem: dict[str, Any], si) -> pd.DataFrame:
    """SALib's Morris result as a table: ``param, mu, mu_star, sigma, mu_star_conf``."""
    return pd.DataFrame({"param": problem["names"], "mu": np.asarray(si["mu"], float),
                         "mu_star": np.asarray(si["mu_star"], float), "sigma": np.asarray(si["sigma"], float),
                         "mu_star_conf": np.asarray(si["mu_star_conf"], float)})


def sobol_function(func: Callable[[np.ndarray], np.ndarray], problem: dict[str, Any], n: int = 1024,
                   seed: int = 0) -> pd.DataFrame:
    """Sobol' indices of a vectorised function ``func(X) -> y`` through the same path as a sweep."""
    from SALib.sample import sobol as sobol_sample

    x = sobol_sample.sample(problem, n, calc_second_order=True, seed=seed)
    return sobol_analyze(problem, func(x), seed=seed)


def morris_function(func: Callable[[np.ndarray], np.ndarray], problem: dict[str, Any], trajectories: int = 100,
                    levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """SALib's Morris method (trajectory design) on a vectorised function."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    x = morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    si = morris_analyze.analyze(problem, x, func(x), num_levels=levels, conf_level=0.95, seed=seed)
    return _morris_table(problem, si)
