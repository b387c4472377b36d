"""Read result folders written by ``run.py run``, ``sweep`` and ``compare``.

The analysis reads result files only: ``results.parquet`` (one row per run),
``timeseries.parquet`` (``compare``, ``run``, and ``sweep --timeseries``,
read by :meth:`Results.sweep_series`), ``manifest.json``, the network
and firm table of one run per scenario (``snapshots/<scenario>/``) and a
sweep's sample matrix (``design_unit.parquet``). Every
check that fails raises :class:`sim.errors.ScenarioError` with a message that
names the file and says what to do, so ``run.py`` prints it and exits with 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim import kpis
from sim.errors import ScenarioError

__all__ = ["MAIN_KPIS", "HIGHER_IS_BETTER", "Results", "load_results", "available_kpis"]

#: KPIs of the report, in display order (the registry's ``report`` entries).
MAIN_KPIS: tuple[str, ...] = kpis.report_kpis()

#: Which direction is "better" for each KPI that has one (True: higher), from the registry.
HIGHER_IS_BETTER: dict[str, bool] = {k.name: k.direction == "higher" for k in kpis.KPIS if k.direction != "neither"}

KINDS = ("compare", "sweep", "run")


@dataclass
class Results:
    """One result folder, checked.

    Attributes:
        folder: the folder read.
        kind: ``"compare"``, ``"sweep"`` or ``"run"``.
        manifest: the parsed ``manifest.json``.
        runs: one row per run (``scenario``, ``replicate``, ``seed``, ``<kpi>_final``, ``<kpi>_mean``; for
            sweeps the parameters under their dotted names and ``run_id``).
        timeseries: one row per run and step, or ``None`` (a sweep's, if kept, is read by :meth:`sweep_series`).
        scenarios: scenario names in manifest order (compare, run); empty for a sweep.
        params: swept parameter names in design order (sweep); empty otherwise.
    """

    folder: Path
    kind: str
    manifest: dict[str, Any]
    runs: pd.DataFrame
    timeseries: pd.DataFrame | None = None
    scenarios: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)

    @property
    def replicates(self) -> int:
        """Replicates per scenario (or per design point)."""
        if self.kind == "sweep":
            return int(self.manifest.get("design", {}).get("replicates", 1))
        return int(self.manifest.get("replicates", 1))

    def scenario_file(self, name: str) -> str | None:
        """The scenario file recorded for ``name`` (as written at run time), if any."""
        if self.kind == "run":
            return self.manifest.get("scenario", {}).get("file")
        if self.kind == "sweep":
            return self.manifest.get("scenario_file", {}).get("file")
        for rec, stem in zip(self.manifest.get("scenario_files", []), self.scenarios):
            if stem == name:
                return rec.get("file")
        return None

    def resolved_scenario(self, name: str) -> dict[str, Any] | None:
        """The full scenario as it was run (stored in the manifest), if recorded."""
        if self.kind == "run":
            return self.manifest.get("resolved_scenario")
        if self.kind == "sweep":
            return self.manifest.get("identity", {}).get("scenario")
        return self.manifest.get("identity", {}).get("scenarios", {}).get(name)

    def snapshot(self, name: str) -> dict[str, np.ndarray] | None:
        """Network of replicate 0 of ``name`` at its last step, as arrays by column, or ``None`` if not stored.

        Nodes (``node_id, node_kind, cooperating, revenue, commitment, active``) come from
        ``snapshots/<name>/nodes.parquet`` (with ``node_name`` for a data cluster), links (``edge_src, edge_dst, edge_trust``) from
        ``edges.parquet``; older result folders have neither.

        Raises:
            ScenarioError: a stored file is damaged or lacks a column.
        """
        folder = self.folder / "snapshots" / name
        nodes_path, edges_path = folder / "nodes.parquet", folder / "edges.parquet"
        if not nodes_path.is_file() or not edges_path.is_file():
            return None
        nodes, edges = _read_parquet(nodes_path), _read_parquet(edges_path)
        _require(nodes, list(kpis.SNAPSHOT_NODE_COLUMNS), nodes_path)
        _require(edges, list(kpis.SNAPSHOT_EDGE_COLUMNS), edges_path)
        named = ("node_name",) if "node_name" in nodes.columns else ()  # a data cluster's names
        return {c: nodes[c].to_numpy() for c in (*kpis.SNAPSHOT_NODE_COLUMNS, *named)} | {
            c: edges[c].to_numpy() for c in kpis.SNAPSHOT_EDGE_COLUMNS}

    def firm_table(self, name: str) -> pd.DataFrame | None:
        """One row per active firm of replicate 0 of ``name`` at its last step, or ``None`` if not stored."""
        path = self.folder / "snapshots" / name / "firms.parquet"
        if not path.is_file():
            return None
        firms = _read_parquet(path)
        _require(firms, ["id", "kind"], path)
        return firms

    def design_unit(self) -> np.ndarray | None:
        """The sweep's sample matrix as the sampler drew it (one column per lever, design order), or ``None``.

        Read from ``design_unit.parquet``; older sweep folders do not have it.

        Raises:
            ScenarioError: the file is damaged or does not match the design.
        """
        path = self.folder / "design_unit.parquet"
        if self.kind != "sweep" or not path.is_file():
            return None
        frame = _read_parquet(path)
        _require(frame, self.params, path)
        points = int(self.manifest["design"].get("points", len(frame)))
        if len(frame) != points:
            raise ScenarioError(f"{path}: {len(frame)} rows but the design has {points} points; the folder is "
                                "mixed or damaged: rerun the sweep into a new folder")
        return frame[self.params].to_numpy(float)

    def has_sweep_series(self) -> bool:
        """Whether this sweep kept its KPIs over time (``sweep --timeseries``)."""
        return self.kind == "sweep" and (self.folder / "timeseries.parquet").is_file()

    def sweep_series(self, kpis: Sequence[str]) -> pd.DataFrame | None:
        """A sweep's KPIs over time, ``run_id, step`` and those of ``kpis`` it kept; None if it kept none.

        Reads only the columns asked for, so a report can go through a large sweep one KPI at a time.

        Raises:
            ScenarioError: the file is damaged or holds runs that results.parquet does not have.
        """
        if not self.has_sweep_series():
            return None
        import pyarrow.parquet as pq

        path = self.folder / "timeseries.parquet"
        try:
            have = pq.read_schema(path).names
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ScenarioError(f"{path}: cannot be read as Parquet ({exc}); rerun the sweep into a new folder") from None
        _require(pd.DataFrame(columns=have), ["run_id", "step"], path)
        frame = pd.read_parquet(path, columns=["run_id", "step", *[k for k in kpis if k in have]])
        if not np.isin(frame["run_id"].unique(), self.runs["run_id"].to_numpy()).all():
            raise ScenarioError(f"{path}: mixed inputs: runs that results.parquet does not have; do not copy "
                                "results between folders")
        return frame

    def steps(self) -> int | None:
        """Steps per run if the manifest fixed them, else ``None`` (each scenario's ``run.steps``)."""
        steps = self.manifest.get("steps")
        return int(steps) if isinstance(steps, int) and not isinstance(steps, bool) else None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ScenarioError(f"{path}: cannot be read as Parquet ({type(exc).__name__}: {exc}); "
                            "the file is corrupt or incomplete: rerun the command that wrote it") from None


def read_manifest(folder: Path, kinds: tuple[str, ...] = KINDS,
                  give: str = "a folder written by run.py run, sweep or compare") -> dict[str, Any]:
    """The manifest of a result folder of one of ``kinds``; ``give`` says which folder the command wants.

    Raises:
        ScenarioError: no manifest, an unreadable one, or another kind of job.
    """
    path = folder / "manifest.json"
    if not path.is_file():
        raise ScenarioError(f"{folder}: no manifest.json; give {give}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: unreadable ({exc}); the folder is damaged, rerun the command") from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in kinds:
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ScenarioError(f"{path}: kind {kind!r} is not one of {', '.join(kinds)}; give {give}")
    return manifest


def _require(frame: pd.DataFrame, cols: list[str], path: Path) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ScenarioError(f"{path}: missing column(s) {', '.join(missing)}; not a results file of this "
                            "project, or written by an incompatible version")


def _check_status(manifest: dict[str, Any], folder: Path) -> None:
    status = manifest.get("status")
    if status != "complete":
        raise ScenarioError(f"{folder}: the job is {status or 'not finished'} (manifest status); run the same "
                            "command again to finish it before analysing")


def _check_compare(runs: pd.DataFrame, manifest: dict[str, Any], path: Path) -> list[str]:
    _require(runs, ["scenario", "replicate", "seed"], path)
    names = [str(s) for s in manifest.get("scenarios", [])] or list(dict.fromkeys(runs["scenario"].astype(str)))
    extra = sorted(set(runs["scenario"].astype(str)) - set(names))
    if extra:
        raise ScenarioError(f"{path}: mixed inputs: rows of scenario(s) {', '.join(extra)} that the manifest "
                            f"does not list ({', '.join(names)}); do not copy results between folders")
    dup = runs.duplicated(["scenario", "replicate"])
    if dup.any():
        first = runs.loc[dup, ["scenario", "replicate"]].iloc[0]
        raise ScenarioError(f"{path}: mixed inputs: scenario {first['scenario']} replicate {first['replicate']} "
                            "appears more than once")
    seeds = runs.groupby("replicate")["seed"].nunique()
    if (seeds > 1).any():
        r = int(seeds[seeds > 1].index[0])
        raise ScenarioError(f"{path}: mixed inputs: replicate {r} has different seeds in different scenarios, "
                            "so the common random numbers are broken; rerun compare into a new folder")
    expected = manifest.get("replicate_seeds")
    if expected is not None:
        bad = set(runs["seed"].astype("int64")) - {int(s) for s in expected}
        if bad:
            raise ScenarioError(f"{path}: mixed inputs: seed(s) {sorted(bad)[:3]} are not the manifest's "
                                "replicate seeds; the rows come from another job")
    return names


def _check_sweep(runs: pd.DataFrame, manifest: dict[str, Any], path: Path) -> list[str]:
    design = manifest.get("design")
    if not isinstance(design, dict) or "params" not in design:
        raise ScenarioError(f"{path.parent / 'manifest.json'}: a sweep manifest without its design; rerun the sweep")
    names = [p["name"] for p in design["params"]]
    _require(runs, ["run_id", "replicate", "seed", *names], path)
    if runs["run_id"].duplicated().any():
        raise ScenarioError(f"{path}: mixed inputs: run ids repeat; rerun the sweep into a new folder")
    expected = int(design.get("points", 0)) * int(design.get("replicates", 1))
    if expected and len(runs) != expected:
        raise ScenarioError(f"{path}: {len(runs)} rows but the design has {expected} runs; the sweep is "
                            "incomplete or mixed: run the same command again to finish it")
    return names


def load_results(folder: str | Path) -> Results:
    """Read and check one result folder.

    Args:
        folder: the ``--out`` folder of ``run.py run``, ``sweep`` or ``compare``.

    Returns:
        The checked :class:`Results`.

    Raises:
        ScenarioError: missing, corrupt, unfinished or mixed inputs, with what to do.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError(f"{folder}: not a folder; give the --out folder of run.py run, sweep or compare")
    manifest = read_manifest(folder)
    kind = manifest["kind"]
    if kind == "run":
        return _load_run(folder, manifest)
    _check_status(manifest, folder)
    path = folder / "results.parquet"
    if not path.is_file():
        raise ScenarioError(f"{folder}: no results.parquet; the {kind} did not finish, run it again")
    runs = _read_parquet(path)
    if runs.empty:
        raise ScenarioError(f"{path}: no rows; nothing to analyse")
    if kind == "compare":
        scenarios = _check_compare(runs, manifest, path)
        runs = runs.assign(scenario=runs["scenario"].astype(str))
        ts = None
        ts_path = folder / "timeseries.parquet"
        if ts_path.is_file():
            ts = _read_parquet(ts_path)
            _require(ts, ["scenario", "replicate", "seed", "step"], ts_path)
            ts = ts.assign(scenario=ts["scenario"].astype(str))
            if not set(ts["scenario"]) <= set(scenarios):
                raise ScenarioError(f"{ts_path}: mixed inputs: scenarios that results.parquet does not have")
        return Results(folder, kind, manifest, runs, ts, scenarios=scenarios)
    params = _check_sweep(runs, manifest, path)
    runs = runs.sort_values("run_id", kind="stable").reset_index(drop=True)
    return Results(folder, kind, manifest, runs, None, params=params)


def _load_run(folder: Path, manifest: dict[str, Any]) -> Results:
    """A single run (``run.py run``): its summary as one row and its time series."""
    ts_path, summary_path = folder / "timeseries.parquet", folder / "summary.json"
    if not ts_path.is_file() or not summary_path.is_file():
        raise ScenarioError(f"{folder}: a run folder needs timeseries.parquet and summary.json; rerun run.py run")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{summary_path}: unreadable ({exc}); rerun run.py run") from None
    ts = _read_parquet(ts_path)
    name = str(summary.get("scenario", "run"))
    row = {"scenario": name, "replicate": 0, **summary}
    runs = pd.DataFrame([row])
    ts = ts.assign(scenario=name, replicate=0, seed=summary.get("seed", 0))
    return Results(folder, "run", manifest, runs, ts, scenarios=[name])


def available_kpis(runs: pd.DataFrame, kpis: tuple[str, ...] | list[str] = MAIN_KPIS, stat: str = "mean") -> list[str]:
    """The KPIs of ``kpis`` whose ``<kpi>_<stat>`` column exists and holds a finite value."""
    out = []
    for k in kpis:
        col = f"{k}_{stat}"
        if col in runs.columns and np.isfinite(pd.to_numeric(runs[col], errors="coerce")).any():
            out.append(k)
    return out
