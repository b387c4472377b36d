"""The files of a calibration folder: what it holds, whether a folder may be used, and the calibrated scenario."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.scenario_files import scenario_toml
from sim.targets import Target
from sim.weighted import weighted_quantile

from .files import LOCK, write_atomic

if TYPE_CHECKING:
    from .calibrate import Bound

__all__ = ["POSTERIOR", "CALIBRATED", "PRIOR_SAMPLE", "PPC", "GENERATIONS", "DB", "MANIFEST", "NUISANCE",
           "write_calibrated", "calibrated_description", "check_folder", "particles_frame"]

#: Files a calibration writes into its folder.
POSTERIOR, CALIBRATED, PRIOR_SAMPLE, PPC, GENERATIONS, DB = (
    "posterior.parquet", "calibrated.toml", "prior_predictive.parquet", "ppc.parquet", "generations.parquet",
    "calibration.db")
MANIFEST = "manifest.json"
#: Prefix of the summary statistics that carry a candidate's nuisance draws (not compared with any target).
NUISANCE = "nuisance:"


def write_calibrated(out: Path, scenario_path: Path, base: Scenario, overrides: Mapping[str, Any],
                     posterior: pd.DataFrame, bounds: Sequence[Bound]) -> Path:
    """``calibrated.toml``: the scenario as calibrated, standing alone, its posterior drawn by compare and sweep.

    It holds every value of ``base`` (the scenario with ``--set``) that differs from the defaults, the
    calibrated parameters at their posterior medians (what ``run`` uses), and ``[uncertain]`` naming
    :data:`POSTERIOR`, whose columns ``compare`` and ``sweep`` draw per replicate. Parameters of the
    base's ``[uncertain]`` held fixed by ``--set`` stay fixed. Data files are named relative to the
    folder. Written by the project's one scenario writer (:func:`sim.scenario_files.scenario_toml`),
    whole or not at all.
    """
    w = posterior["weight"].to_numpy()
    drawn = [c for c in posterior.columns if c != "weight"]
    medians = {b.key: weighted_quantile(posterior[b.key].to_numpy(), w, 0.5) for b in bounds}
    keep = {k: v.model_dump(exclude_none=True) for k, v in base.uncertain.params.items()
            if k not in drawn and k not in overrides}
    calibrated = base.with_overrides({**medians, "name": base.name + "_calibrated",
                                      "description": calibrated_description(scenario_path, overrides, bounds),
                                      "uncertain.posterior": str((out / POSTERIOR).resolve()),
                                      "uncertain.params": keep}, source=f"{out / CALIBRATED}")
    note = (f"Calibrated by run.py calibrate from {Path(scenario_path).name}: parameters at their posterior medians "
            f"(used by run);\ncompare and sweep draw them per replicate from {POSTERIOR}.")
    path = out / CALIBRATED
    write_atomic(path, scenario_toml(calibrated, out, comment=note).encode("utf-8"))
    return path


def calibrated_description(scenario_path: Path, overrides: Mapping[str, Any], bounds: Sequence[Bound]) -> str:
    """What the calibrated scenario is: its base file, the ``--set`` overrides and the calibrated parameters.

    The base's own description would describe another cluster once ``--set`` changed it (its firm count, say).
    """
    changed = f" with {', '.join(f'{k}={v}' for k, v in overrides.items())}" if overrides else ""
    return (f"Calibrated from {Path(scenario_path).name}{changed}: "
            f"{', '.join(b.key for b in bounds)} at their posterior medians")


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
    """Parameters (calibrated, then the nuisance values drawn) and ``sim:<target>`` of each particle."""
    rows = [{**{b.key: float(p.parameter[b.key]) for b in bounds},
             **{k[len(NUISANCE):]: float(v) for k, v in p.sum_stat.items() if k.startswith(NUISANCE)},
             **{f"sim:{t.name}": float(p.sum_stat[t.name]) for t in targets}} for p in particles]
    return pd.DataFrame(rows)
