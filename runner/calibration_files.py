"""The files of a calibration folder: what it holds, whether a folder may be used, and the calibrated scenario."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.targets import Target
from sim.weighted import weighted_quantile

from .files import LOCK

if TYPE_CHECKING:
    from .calibrate import Bound

__all__ = ["POSTERIOR", "CALIBRATED", "PRIOR_SAMPLE", "PPC", "GENERATIONS", "DB", "MANIFEST", "write_calibrated",
           "check_folder", "particles_frame"]

#: Files a calibration writes into its folder.
POSTERIOR, CALIBRATED, PRIOR_SAMPLE, PPC, GENERATIONS, DB = (
    "posterior.parquet", "calibrated.toml", "prior_predictive.parquet", "ppc.parquet", "generations.parquet",
    "calibration.db")
MANIFEST = "manifest.json"


def _toml_value(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (bool, int, str, list)):
        return json.dumps(v)
    raise ScenarioError(f"calibrate: cannot write {v!r} into {CALIBRATED}")


def write_calibrated(out: Path, scenario_path: Path, base: Scenario, overrides: Mapping[str, Any],
                     posterior: pd.DataFrame, bounds: Sequence[Bound]) -> Path:
    """``calibrated.toml``: the scenario with ``--set`` and the posterior medians, pointing at the posterior."""
    rel = os.path.relpath(Path(scenario_path).resolve(), out.resolve())
    w = posterior["weight"].to_numpy()
    lines = [f"# Calibrated by run.py calibrate: parameters at their posterior medians (used by run); compare and "
             f"sweep draw them per replicate from {POSTERIOR}.",
             f"extends = {json.dumps(rel)}",
             f"name = {json.dumps(base.name + '_calibrated')}"]
    fixed = dict(overrides)
    for key in ("structure.edge_list_path", "structure.edge_list_types_path"):
        p = base.get(key)
        if p:  # data files are read relative to the scenario file that is loaded
            fixed[key] = os.path.relpath(p, out.resolve())
    for k, v in fixed.items():
        if k not in {b.key for b in bounds}:
            lines.append(f"{k} = {_toml_value(v)}")
    for b in bounds:
        lines.append(f"{b.key} = {weighted_quantile(posterior[b.key].to_numpy(), w, 0.5)!r}")
    # compare and sweep draw the parameters per replicate from the posterior; run uses the medians above
    lines += ["", "[uncertain]", f"posterior = {json.dumps(POSTERIOR)}", ""]
    path = out / CALIBRATED
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def check_folder(out: Path, fingerprint: str) -> str:
    """``new`` or ``resume``; refuse a folder that holds anything else."""
    try:
        return _check_folder(out, fingerprint)
    except OSError as exc:  # a folder that cannot be read (permissions, a broken mount)
        raise ScenarioError(f"--out {out}: cannot read {exc.filename or out} ({exc.strerror or exc}); "
                            "choose a folder you can read and write") from None


def _check_folder(out: Path, fingerprint: str) -> str:
    if not out.exists():
        return "new"
    if not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a folder")
    man = out / MANIFEST
    if man.is_file():
        try:
            m = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            m = {}
        if m.get("kind") == "calibration" and m.get("fingerprint") == fingerprint:
            return "resume"
        raise ScenarioError(f"--out {out}: holds another job ({m.get('kind', 'unknown')}, other scenario, data files, "
                            "targets, parameters, population, seed or steps); choose a new folder")
    if any(p.name != LOCK for p in out.iterdir()):
        raise ScenarioError(f"--out {out}: not empty and not a calibration folder; choose a new folder")
    return "new"


def particles_frame(particles: Sequence, bounds: Sequence[Bound], targets: Sequence[Target]) -> pd.DataFrame:
    rows = [{**{b.key: float(p.parameter[b.key]) for b in bounds},
             **{f"sim:{t.name}": float(p.sum_stat[t.name]) for t in targets}} for p in particles]
    return pd.DataFrame(rows)
