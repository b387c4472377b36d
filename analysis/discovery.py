"""Scenario discovery on a sweep: under which lever settings does a KPI condition hold?

``run.py discover SWEEP_DIR --kpi cooperation_rate --below 0.6`` marks every run
of the sweep that meets the condition (a *case of interest*) and asks EMA
Workbench (``ema_workbench.analysis``) where in lever space those runs sit:

* **PRIM** (Friedman & Fisher 1999, as used for scenario discovery by Bryant &
  Lempert 2010): the peeling trajectory of boxes with their coverage (share of
  all cases that fall in the box), density (share of the box's runs that are
  cases) and mass (share of all runs in the box); the chosen box, its restricted
  levers, their limits and quasi-p values (one-sided binomial test of each
  restriction); and how often each lever is restricted again when PRIM runs on
  random halves of the runs (EMA's resampling).
* **CART** (EMA's wrapper of scikit-learn's decision tree): the leaves as boxes
  with their coverage and density, and the tree.
* **Feature scoring**: extra-trees importances of each lever for the cases of
  interest (and for the KPI itself when the condition names one).

Each run is one experiment (replicates are separate rows, so replicate noise
lowers density instead of being averaged away). List-valued levers of type
string or bool are categorical (PRIM restricts them to a subset of values).

The module reads result files only: :func:`discover_sweep` loads a sweep folder,
:func:`discover` works on ``(experiments, outcomes)`` frames, :func:`write_discovery`
(in :mod:`analysis.discovery_report`) writes ``discovery.html``, ``discovery.md``, ``boxes.csv``, ``peeling.csv``,
``cart_leaves.csv``, ``feature_scores.csv`` and ``figures/``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError

from . import figures  # noqa: F401  (sets the Agg backend before EMA imports pyplot)
from .discovery_report import headline, write_discovery
from .io import Results, load_results

__all__ = ["Discovery", "select_cases", "experiments_frame", "lever_frame", "outcomes_frame", "discover", "headline",
           "write_discovery",
           "discover_sweep"]

STATS = ("mean", "final")


def _ema():
    """EMA's analysis modules, imported quietly (it warns about optional parallel back-ends we do not use)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import cart, feature_scoring, prim
        from ema_workbench.analysis.scenario_discovery_util import RuleInductionType
    # EMA logs progress at INFO through its own handler; the report says what matters
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim, cart, feature_scoring, RuleInductionType


# --------------------------------------------------------------------------- inputs


def experiments_frame(res: Results) -> pd.DataFrame:
    """The swept levers of a sweep, one row per run; string and bool levers as pandas categoricals.

    Raises:
        ScenarioError: the folder is not a sweep.
    """
    if res.kind != "sweep":
        raise ScenarioError(f"{res.folder}: a {res.kind} folder; discover needs a sweep folder (levers varied "
                            "over runs), written by run.py sweep")
    return lever_frame(res.runs, res.manifest["design"]["params"])


def lever_frame(runs: pd.DataFrame, params: list[dict[str, Any]]) -> pd.DataFrame:
    """The columns of ``runs`` named by ``params`` (the runner's lever records), typed for EMA.

    String and bool levers become pandas categoricals over their listed values (else the values seen),
    int levers int64, the rest float64.
    """
    cols = {}
    for p in params:
        v = runs[p["name"]]
        if p.get("type") in ("str", "bool"):
            values = [str(x) for x in p.get("values", sorted(set(v.astype(str))))]
            cols[p["name"]] = pd.Categorical(v.astype(str), categories=values)
        elif p.get("type") == "int":
            cols[p["name"]] = v.astype("int64")
        else:
            cols[p["name"]] = v.astype("float64")
    return pd.DataFrame(cols)


def outcomes_frame(res: Results, stat: str = "mean") -> pd.DataFrame:
    """Every KPI of the runs: bare names (``cooperation_rate``) hold ``stat``, full names both statistics."""
    if stat not in STATS:
        raise ScenarioError(f"--stat {stat!r}: one of {', '.join(STATS)}")
    full = [c for c in res.runs.columns if c.endswith(("_mean", "_final"))]
    out = {c: pd.to_numeric(res.runs[c], errors="coerce").astype(float) for c in full}
    suffix = f"_{stat}"
    for c in full:
        if c.endswith(suffix):
            out[c[: -len(suffix)]] = out[c]
    return pd.DataFrame(out, index=res.runs.index)


def _kpi_names(outcomes: pd.DataFrame) -> list[str]:
    return [c for c in outcomes.columns if not c.endswith(("_mean", "_final"))]


def select_cases(outcomes: pd.DataFrame, kpi: str | None = None, below: float | None = None,
                 above: float | None = None, where: str | None = None) -> tuple[np.ndarray, str, str | None]:
    """Mark the runs that meet the condition.

    Args:
        outcomes: one column per KPI (see :func:`outcomes_frame`).
        kpi: KPI compared with ``below`` and/or ``above`` (both: a band).
        below: cases have ``kpi < below``.
        above: cases have ``kpi > above``.
        where: instead of ``kpi``, a boolean expression over KPI names (``and``, ``or``, ``not``,
            comparisons, arithmetic), e.g. ``"cooperation_rate < 0.6 and mean_trust > 0.5"``.

    Returns:
        The boolean case mask, the condition as text, and the KPI named by ``kpi`` (else ``None``).

    Raises:
        ScenarioError: no or contradictory condition, an unknown KPI, a bad expression, no case or only cases.
    """
    names = _kpi_names(outcomes)
    if where is not None:
        if kpi is not None or below is not None or above is not None:
            raise ScenarioError("--where is a condition of its own; give either --where or --kpi with "
                                "--below/--above, not both")
        text = where.strip()
        if not text:
            raise ScenarioError("--where: empty expression; e.g. --where \"cooperation_rate < 0.6\"")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = outcomes.eval(text, engine="python", inplace=False)
        except NameError as exc:
            raise ScenarioError(f"--where {text!r}: {exc}; KPIs are: {', '.join(names)}") from None
        except Exception as exc:  # pandas raises several types for a malformed expression
            raise ScenarioError(f"--where {text!r}: not a valid expression over KPIs ({type(exc).__name__}: "
                                f"{exc}); e.g. \"cooperation_rate < 0.6 and mean_trust > 0.5\"") from None
        if not isinstance(result, pd.Series) or result.dtype != bool:
            raise ScenarioError(f"--where {text!r}: must be true or false for each run (a comparison), "
                                "e.g. \"cooperation_rate < 0.6\"")
        y, label, named = result.to_numpy(bool), text, None
    else:
        if kpi is None:
            raise ScenarioError("no condition: give --kpi NAME with --below X and/or --above X, or --where EXPR")
        if kpi not in outcomes.columns:
            raise ScenarioError(f"--kpi {kpi!r}: no such KPI in results.parquet; KPIs are: {', '.join(names)}")
        if below is None and above is None:
            raise ScenarioError(f"--kpi {kpi}: give --below X and/or --above X to say which runs are of interest")
        for flag, v in (("--below", below), ("--above", above)):
            if v is not None and not math.isfinite(v):
                raise ScenarioError(f"{flag} {v}: must be a finite number")
        if below is not None and above is not None and not above < below:
            raise ScenarioError(f"--above {above} --below {below}: an empty band; --above must be less than --below")
        x = outcomes[kpi].to_numpy(float)
        y = np.isfinite(x)
        parts = []
        if above is not None:
            y &= x > above
            parts.append(f"{kpi} > {above:g}")
        if below is not None:
            y &= x < below
            parts.append(f"{kpi} < {below:g}")
        label, named = " and ".join(parts), kpi
    n, k = y.size, int(y.sum())
    span = ""
    if named is not None:
        vals = outcomes[named].to_numpy(float)
        fin = vals[np.isfinite(vals)]
        if fin.size:
            span = f" ({named} ranges from {fin.min():.4g} to {fin.max():.4g})"
    if k == 0:
        raise ScenarioError(f"no run meets {label} (0 of {n} runs){span}; nothing to discover: "
                            "choose another threshold")
    if k == n:
        raise ScenarioError(f"every run meets {label} ({n} of {n} runs){span}; nothing to discover: "
                            "choose another threshold")
    return y, label, named


# --------------------------------------------------------------------------- analysis


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes:
        condition: the condition as text.
        n_runs: runs analysed; ``n_cases``: runs meeting the condition.
        levers: lever names in design order.
        box_stats: one row per PRIM box: coverage, density, mass, runs, cases, restricted levers, peeling step.
        boxes: one row per box and restricted lever: limits (or categories) and quasi-p values.
        peeling: every step of every box's peeling trajectory, the chosen ones marked.
        resample: per lever of the first box, how often (percent) PRIM on random halves restricts it again
            at the chosen coverage and at the chosen density.
        cart_leaves: one row per CART leaf: coverage, density, mass and its rule.
        cart_text: the tree as text.
        feature_scores: extra-trees importance per lever for the cases (and for the KPI, if named).
        settings: the parameters of the analysis, including the seed.
    """

    condition: str
    n_runs: int
    n_cases: int
    levers: list[str]
    box_stats: pd.DataFrame
    boxes: pd.DataFrame
    peeling: pd.DataFrame
    resample: pd.DataFrame
    cart_leaves: pd.DataFrame
    cart_text: str
    feature_scores: pd.DataFrame
    settings: dict[str, Any]
    _prim_boxes: list = field(default_factory=list, repr=False)
    _cart: Any = field(default=None, repr=False)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def _limits(box_lim: pd.DataFrame, box_init: pd.DataFrame, qp: dict, experiments: pd.DataFrame) -> list[dict]:
    """Rows of the restricted levers of one box (categories sorted so the output does not depend on hashing)."""
    rows = []
    for lever in experiments.columns:
        if lever not in box_lim.columns or lever not in box_init.columns:
            continue  # PRIM drops a lever with a single value
        lo, hi = box_lim[lever].iloc[0], box_lim[lever].iloc[1]
        lo0, hi0 = box_init[lever].iloc[0], box_init[lever].iloc[1]
        if isinstance(lo, set):
            if lo == lo0:
                continue
            order = list(experiments[lever].cat.categories)
            kept = [c for c in order if c in lo]
            q = qp.get(lever, [-1, -1])[0]
            rows.append({"lever": lever, "kind": "categorical", "low": np.nan, "high": np.nan,
                         "categories": "|".join(kept), "qp_low": q if q >= 0 else np.nan, "qp_high": np.nan,
                         "rule": f"{lever} in {{{', '.join(kept)}}}"})
            continue
        low_cut, high_cut = bool(lo != lo0), bool(hi != hi0)
        if not (low_cut or high_cut):
            continue
        q_lo, q_hi = qp.get(lever, [-1, -1])
        if low_cut and high_cut:
            rule = f"{_fmt(lo)} <= {lever} <= {_fmt(hi)}"
        elif low_cut:
            rule = f"{lever} >= {_fmt(lo)}"
        else:
            rule = f"{lever} <= {_fmt(hi)}"
        rows.append({"lever": lever, "kind": "numeric", "low": float(lo) if low_cut else np.nan,
                     "high": float(hi) if high_cut else np.nan, "categories": "",
                     "qp_low": q_lo if low_cut and q_lo >= 0 else np.nan,
                     "qp_high": q_hi if high_cut and q_hi >= 0 else np.nan, "rule": rule})
    return rows


def _choose(trajectory: pd.DataFrame, min_density: float) -> tuple[int, bool]:
    """Step of the trajectory to keep: the greatest coverage with density >= ``min_density`` (ties: denser).

    Returns the step and whether it reached ``min_density`` (if none does, the densest step is kept).
    """
    t = trajectory.reset_index(drop=True)
    ok = t[t["density"] >= min_density - 1e-12]
    if len(ok):
        best = ok.sort_values(["coverage", "density", "id"], ascending=[False, False, True], kind="stable")
        return int(best.index[0]), True
    best = t.sort_values(["density", "coverage", "id"], ascending=[False, False, True], kind="stable")
    return int(best.index[0]), False


def discover(experiments: pd.DataFrame, outcomes: pd.DataFrame, *, kpi: str | None = None,
             below: float | None = None, above: float | None = None, where: str | None = None,
             min_density: float = 0.8, mass_min: float = 0.05, peel_alpha: float = 0.05, boxes: int = 1,
             resamples: int = 10, seed: int = 0, unit: str = "runs") -> Discovery:
    """Scenario discovery with EMA Workbench's PRIM, CART and feature scoring.

    Args:
        experiments: one row per run, one column per lever (categoricals for string levers).
        outcomes: one row per run, one column per KPI (same index as ``experiments``).
        kpi, below, above, where: the condition (see :func:`select_cases`).
        min_density: the box kept from each peeling trajectory is the one with the greatest coverage among
            those at least this dense.
        mass_min: smallest share of runs a PRIM box (or CART leaf) may hold.
        peel_alpha: share of runs peeled off per PRIM step.
        boxes: PRIM boxes to find, one after another on the runs outside earlier boxes.
        resamples: PRIM runs on random halves to measure how reproducible each restriction of the first box
            is (0: none).
        seed: seeds the resampling, the CART tie-breaks and the extra trees; same seed, same output.
        unit: what one row is, for the report's sentences (``runs``; ``futures`` for a robustness job).

    Raises:
        ScenarioError: a bad condition or setting, or too few runs.
    """
    prim, cart, feature_scoring, RuleInductionType = _ema()
    if len(experiments) != len(outcomes):
        raise ScenarioError(f"{len(experiments)} experiments but {len(outcomes)} outcome rows")
    if experiments.shape[1] == 0:
        raise ScenarioError("no levers: the sweep varied nothing, so there is nothing to discover")
    if not 0 < min_density <= 1:
        raise ScenarioError(f"--min-density {min_density}: must be in (0, 1]")
    if not 0 < mass_min < 1:
        raise ScenarioError(f"--mass-min {mass_min}: must be in (0, 1)")
    if not 0 < peel_alpha < 0.5:
        raise ScenarioError(f"--peel-alpha {peel_alpha}: must be in (0, 0.5)")
    if boxes < 1:
        raise ScenarioError(f"--boxes {boxes}: must be at least 1")
    if resamples < 0:
        raise ScenarioError(f"--resamples {resamples}: must be 0 or more")
    y, condition, named = select_cases(outcomes, kpi, below, above, where)
    x = experiments.reset_index(drop=True)
    n, k = len(y), int(y.sum())
    if n < 10:
        raise ScenarioError(f"{n} runs: too few for scenario discovery; use a sweep of at least 10 runs "
                            "(a few dozen or more)")
    settings = {"min_density": min_density, "mass_min": mass_min, "peel_alpha": peel_alpha, "boxes": boxes,
                "resamples": resamples, "seed": seed, "unit": unit}

    # PRIM: one box at a time; each later box starts from the runs outside the earlier ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA's own pandas deprecation notices
        p = prim.Prim(x, y.copy(), peel_alpha=peel_alpha, paste_alpha=peel_alpha, mass_min=mass_min)
    found, stats_rows, limit_rows, peel_rows, resample_rows = [], [], [], [], []
    for b in range(1, boxes + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = p.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory.reset_index(drop=True)
        step, reached = _choose(traj, min_density)
        box.select(step)
        found.append(box)
        rows = _limits(box.box_lims[step], p.box_init, box.p_values[step], x)
        row = traj.loc[step]
        stats_rows.append({"box": b, "step": step, "coverage": float(row["coverage"]),
                           "density": float(row["density"]), "mass": float(row["mass"]),
                           "runs": int(row["n"]), "cases": int(row["k"]), "restricted": len(rows),
                           "reached_min_density": reached,
                           "rule": " and ".join(r["rule"] for r in rows) or "(no restriction)"})
        for r in rows:
            limit_rows.append({"box": b, "coverage": float(row["coverage"]), "density": float(row["density"]),
                               "mass": float(row["mass"]), **r})
        for i, t in traj.iterrows():
            peel_rows.append({"box": b, "step": int(i), "coverage": float(t["coverage"]),
                              "density": float(t["density"]), "mass": float(t["mass"]),
                              "restricted": int(t["res_dim"]), "runs": int(t["n"]), "cases": int(t["k"]),
                              "chosen": int(i) == step})
        # EMA's resample mixes row labels and positions for boxes after the first, so only box 1 is resampled
        if resamples and b == 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rs = box.resample(step, iterations=resamples, rng=np.random.default_rng([seed, b]))
            for lever, r in rs.iterrows():
                # EMA sums 1/iterations per hit; rounding removes the float residue (99.999...)
                resample_rows.append({"box": b, "lever": lever,
                                      "reproduce_coverage_pct": round(float(r["reproduce coverage"]), 6),
                                      "reproduce_density_pct": round(float(r["reproduce density"]), 6)})
        # the next find_box peels what is left; stop when no case remains outside the boxes found
        remaining = np.ones(n, bool)
        for fb in found:
            remaining[fb.yi] = False
        if not y[remaining].any():
            break

    # CART: EMA's box extraction over scikit-learn's tree, fitted here with a seeded tie-break
    # (EMA's build_tree leaves random_state unset, so equally good splits could differ between runs)
    from sklearn import tree as sktree

    c = cart.CART(x, y, mass_min=mass_min)
    c.clf = sktree.DecisionTreeClassifier(min_samples_leaf=max(1, int(mass_min * n)), random_state=seed)
    c.clf.fit(c._x, c.y)
    names = list(c.feature_names)
    if len(names) == 1:
        # EMA reads every node's feature name, leaves included (index -2): with one lever that index does not exist
        c.feature_names = [*names, "(leaf)"]
    leaves = []
    for i, (lim, st) in enumerate(zip(c.boxes, c.stats)):
        rows = _limits(lim, p.box_init, {}, x)
        leaves.append({"leaf": i + 1, "coverage": float(st["coverage"]), "density": float(st["density"]),
                       "mass": float(st["mass"]), "runs": int(round(st["mass"] * n)),
                       "rule": " and ".join(r["rule"] for r in rows) or "(all runs)"})
    cart_leaves = pd.DataFrame(leaves).sort_values(["density", "coverage"], ascending=False, kind="stable")
    cart_text = sktree.export_text(c.clf, feature_names=[str(f).replace(c.sep, " == ") for f in names])

    # feature scoring: extra trees on the cases, and on the KPI when the condition names one
    n_feat = max(1, round(x.shape[1] / 3))  # EMA's default of k/3, but at least one lever
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # out-of-bag warnings on small sweeps
        fs_cases, _ = feature_scoring.get_ex_feature_scores(
            x, y.astype(int), mode=RuleInductionType.CLASSIFICATION, max_features=n_feat, random_state=seed)
        scores = pd.DataFrame({"lever": fs_cases.index, "score_cases": fs_cases.iloc[:, 0].to_numpy(float)})
        if named is not None:
            v = outcomes[named].to_numpy(float)
            fin = np.isfinite(v)
            fs_kpi, _ = feature_scoring.get_ex_feature_scores(
                x[fin].reset_index(drop=True), v[fin], mode=RuleInductionType.REGRESSION, max_features=n_feat,
                random_state=seed)
            scores = scores.merge(pd.DataFrame({"lever": fs_kpi.index,
                                                f"score_{named}": fs_kpi.iloc[:, 0].to_numpy(float)}), on="lever")
    scores = scores.sort_values("score_cases", ascending=False, kind="stable").reset_index(drop=True)

    cols_limits = ["box", "lever", "kind", "low", "high", "categories", "qp_low", "qp_high", "coverage", "density",
                   "mass", "rule"]
    return Discovery(
        condition=condition, n_runs=n, n_cases=k, levers=list(x.columns),
        box_stats=pd.DataFrame(stats_rows),
        boxes=pd.DataFrame(limit_rows, columns=cols_limits),
        peeling=pd.DataFrame(peel_rows),
        resample=pd.DataFrame(resample_rows, columns=["box", "lever", "reproduce_coverage_pct",
                                                      "reproduce_density_pct"]),
        cart_leaves=cart_leaves.reset_index(drop=True), cart_text=cart_text, feature_scores=scores,
        settings=settings, _prim_boxes=found, _cart=c)


def discover_sweep(sweep_dir: str | Path, out: str | Path | None = None, *, stat: str = "mean",
                   **kwargs: Any) -> tuple[Discovery, Path]:
    """Scenario discovery on a sweep folder, written to ``out`` (default ``SWEEP_DIR/discovery``).

    Args:
        sweep_dir: the ``--out`` folder of ``run.py sweep``.
        out: where the report and tables go.
        stat: which KPI statistic bare KPI names mean: ``mean`` (time average) or ``final`` (last step).
        **kwargs: the condition and settings of :func:`discover`.

    Returns:
        The discovery and the path of ``discovery.html``.

    Raises:
        ScenarioError: not a finished sweep folder, or a bad condition or setting.
    """
    res = load_results(sweep_dir)
    experiments = experiments_frame(res)
    outcomes = outcomes_frame(res, stat)
    disc = discover(experiments, outcomes, **kwargs)
    design = res.manifest["design"]
    source = (f"Sweep {res.folder.name}: {design.get('kind')} design over "
              + "; ".join(f"{p['name']} ({p.get('spec', '')})" for p in design["params"])
              + f", {design.get('points')} points × {design.get('replicates', 1)} replicate(s), master seed "
              f"{res.manifest.get('master_seed', 'n/a')}. KPI statistic: {stat} "
              f"({'time average over the run' if stat == 'mean' else 'value at the last step'}).")
    path = write_discovery(disc, Path(out) if out is not None else res.folder / "discovery", source)
    return disc, path
