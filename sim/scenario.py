"""Scenario: the validated parameter object, read from TOML.

A scenario file is TOML with the sections of the schema (:mod:`sim.schema`); every key has a default, so
an empty file is the baseline. A file may say ``extends = "other.toml"``
(relative to itself) and change only what differs. ``load_scenario`` applies
dotted overrides (``{"structure.kind": "star"}``) last.

All bad input raises :class:`ScenarioError`, whose message names the file,
the dotted field, the bad value and what is allowed. Reading files, ``--set`` and variants are in
:mod:`sim.scenario_files`, the timeline's rules in :mod:`sim.timeline`; callers import them from here too.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ScenarioError, quote
from .scenario_files import (VARIANT_SEP, check_key, parse_overrides, parse_value, read_toml_chain, scenario_chain,
                             scenario_files, split_variant)
from .schema import PolicyEvent, Scenario, scenario_from_dict
from .timeline import SET_UP_ONLY, flatten_keys, set_up_only_reason
from .uncertainty import check_uncertain

__all__ = [
    "Scenario",
    "ScenarioError",
    "PolicyEvent",
    "SET_UP_ONLY",
    "load_scenario",
    "scenario_from_dict",
    "parse_value",
    "set_up_only_reason",
    "flatten_keys",
    "parse_overrides",
    "check_key",
    "scenario_files",
    "validate_paths",
    "scenario_chain",
    "scenario_record",
    "split_variant",
    "load_variant",
    "VARIANT_SEP",
]


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario file.

    Args:
        path: a TOML file.
        overrides: dotted paths to values, applied after the file,
            e.g. ``{"structure.kind": "star", "run.steps": 50}``.

    Raises:
        ScenarioError: with the file, the dotted field, the bad value and what is allowed.

    Warns:
        sim.gates.GateWarning: per field set where its gate keeps it from acting.
    """
    path = Path(path)
    data = read_toml_chain(path)
    data.setdefault("name", path.stem)
    source = str(path)
    scenario = scenario_from_dict(data, source)
    if overrides:
        scenario = scenario.with_overrides(overrides, source=f"{source} (override)")
    if scenario.structure.edge_list_path and not Path(scenario.structure.edge_list_path).is_absolute():
        # edge-list files are read relative to the scenario file
        s = scenario.structure
        resolved = {"structure.edge_list_path": str((path.parent / s.edge_list_path).resolve())}
        if s.edge_list_types_path and not Path(s.edge_list_types_path).is_absolute():
            resolved["structure.edge_list_types_path"] = str((path.parent / s.edge_list_types_path).resolve())
        scenario = scenario.with_overrides(resolved, source=source)
    from .data import resolve  # the data files are checked completely before anything runs

    scenario = resolve(scenario, path.parent)
    check_uncertain(scenario, source)
    if scenario.data.folder or scenario.data.firms:
        from .data import warn_unused

        warn_unused(scenario, _set_with_data(path, overrides), source)
    from .gates import warn_closed_gates  # here: gates reads the schema of this module

    warn_closed_gates(scenario, source)
    return scenario


def _set_with_data(path: Path, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Dotted keys the files from ``path`` up to the one naming the [data] files set, then ``overrides``: what
    the analyst of the data set (a generic scenario it extends keeps its own values unremarked)."""
    out: dict[str, Any] = {}
    for f in scenario_chain(path):
        raw = tomllib.loads(f.read_text(encoding="utf-8-sig"))
        raw.pop("policy", None)
        for k, v in flatten_keys(raw).items():
            out.setdefault(k, v)
        d = raw.get("data")
        if isinstance(d, dict) and (d.get("folder") or d.get("firms")):
            break
    else:
        out = {}  # the data came from an override: only the overrides were set with it
    return {**out, **(overrides or {})}


def validate_paths(paths: Sequence[str | Path], overrides: Mapping[str, Any] | None = None,
                   ) -> list[tuple[Path, Scenario | None, str | None]]:
    """Load every scenario file under ``paths``; collect every problem instead of stopping.

    Args:
        paths: files or folders.
        overrides: dotted overrides applied to every file (``--set``).

    Returns:
        ``(file, scenario or None, error message or None)`` per file; a path that
        does not exist gives one entry with the error.
    """
    out: list[tuple[Path, Scenario | None, str | None]] = []
    for p in map(Path, paths):
        try:
            files = scenario_files([p])
        except ScenarioError as exc:
            out.append((p, None, str(exc)))
            continue
        for f in files:
            try:
                out.append((f, load_scenario(f, overrides), None))
            except ScenarioError as exc:
                out.append((f, None, str(exc)))
    return out


def load_variant(arm: str, overrides: Mapping[str, Any] | None = None) -> tuple[str, Path, dict[str, Any], Scenario]:
    """Load an inline variant ``FILE@key=value@...`` of one scenario file.

    The file is read with ``overrides`` (``--set``), then the variant's own overrides win.
    Its name is ``name=`` if given, else the file stem and the items as typed
    (``baseline@information.digitalization=0.8``).

    Returns:
        ``(name, file, the variant's overrides, resolved scenario)``.

    Raises:
        ScenarioError: naming the arm, the key, the value and what is allowed.
    """
    file, items = split_variant(arm)
    source = f"compare arm {arm!r}"
    if not items or any(not i.strip() for i in items):
        raise ScenarioError(f"{source}: expected FILE{VARIANT_SEP}key=value[{VARIANT_SEP}key=value...], "
                            f"e.g. scenarios/baseline.toml{VARIANT_SEP}information.digitalization=0.8")
    if not file.is_file():
        raise ScenarioError(f"{source}: {file}: file not found (an inline variant needs one scenario file)")
    own = parse_overrides(items, source=source)
    if "name" in own:
        name = own["name"]
        if not isinstance(name, str) or not name.strip():
            raise ScenarioError(f"{source}: name={quote(name)}: must be a non-empty text")
    else:
        name = VARIANT_SEP.join([file.stem, *(i.strip() for i in items)])
    if any(c in name for c in "/\\"):
        # the name is also the folder of the arm's snapshot
        raise ScenarioError(f"{source}: name {quote(name)} holds a path separator; give the arm a name=, e.g. "
                            f"{file}{VARIANT_SEP}name=variant1{VARIANT_SEP}{items[0].strip()}")
    base = load_scenario(file, overrides)
    scenario = base.with_overrides({**own, "name": name}, source=source)
    from .data import resolve, warn_unused  # a variant's own [data] paths: relative to its file, checked now

    scenario = resolve(scenario, file.parent)
    warn_unused(scenario, own, source)
    return name, file, own, scenario


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def scenario_record(path: Path) -> dict[str, Any]:
    """File name, sha256 and the sha256 of every file in its ``extends`` chain and of a data cluster's files
    (for a manifest)."""
    chain = scenario_chain(Path(path))
    record = {
        "file": str(path),
        "sha256": _sha256(Path(path)),
        "extends_chain": [{"file": p.name, "sha256": _sha256(p)} for p in chain[1:]],
    }
    try:
        data = load_scenario(path).data
    except ScenarioError:  # valid only with the command's --set: the resolved scenario in the manifest tells
        return record
    if data.folder or data.firms:  # a data cluster: its files are part of what was run
        from .data import data_files

        record["data_files"] = [{"file": Path(f).name, "sha256": _sha256(Path(f))}
                                for f in data_files(data).values() if f]
    return record
