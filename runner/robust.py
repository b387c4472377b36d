"""Policies across uncertain futures: ``run.py robust POLICIES UNCERTAINTIES``.

The UNCERTAINTIES file names the base scenario and the uncertain levers (each a range ``lo:hi`` or a
list ``a,b,c``, as ``sweep --param`` takes them); ``--samples N`` futures are drawn from them by Latin
hypercube, seeded by the master seed. The POLICIES file lists the policies (lever settings under
``set`` and/or a timeline of ``[[policies.timeline]]`` entries, like a scenario's ``[[policy]]``) and
the criteria the analysis applies: the KPIs for regret with their direction, and the satisficing
thresholds. Every policy runs in every future with the same replicate seeds (common random numbers),
through the same resumable, parallel and Dask runner as a sweep; ``analysis.robust`` reads the folder.

Example POLICIES file::

    stat = "mean"                       # KPI statistic: time average ("mean") or last step ("final")
    [regret]                            # KPI = "max" (more is better) or "min"
    cooperation_rate = "max"
    [satisficing]                       # KPI = "OP VALUE", OP one of >=, >, <=, <
    cooperation_rate = ">= 0.6"
    [[policies]]
    name = "status_quo"
    [[policies]]
    name = "monitoring"
    set = { "mechanisms.regulation.monitoring_prob" = 0.6 }
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics import KPI_COLUMNS
from sim.errors import quote
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_record
from sim.scenario_files import other_input_kind, read_toml

from .chunks import RunItem, parquet_bytes
from .commands import SIZE_KEYS
from .cost import Limits
from .designs import design_size, largest, parse_param, replicate_seeds, sample_design
from .executors import Executor
from .jobs import Outcome, check_job, check_options, execute
from .store import Job, canonical_hash

__all__ = ["THRESHOLD_OPS", "read_policies", "read_uncertainties", "robust", "robust_file_kind", "check_robust_file"]

THRESHOLD_OPS = (">=", "<=", ">", "<")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _unknown(path: Path, where: str, keys: set[str], allowed: tuple[str, ...]) -> None:
    extra = sorted(keys - set(allowed))
    if extra:
        raise ScenarioError(f"{path}: {where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(allowed)}")


def read_uncertainties(path: str | Path) -> tuple[Path, list[str]]:
    """The base scenario file and the uncertain levers as ``key=SPEC`` texts.

    Raises:
        ScenarioError: missing file, no ``scenario`` or no ``[uncertainties]``, a spec that is not text.
    """
    path = Path(path)
    data = read_toml(path, "uncertainties")
    _unknown(path, "top level", set(data), ("scenario", "uncertainties"))
    scen = data.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ScenarioError(f"{path}: scenario: give the base scenario file, e.g. scenario = \"../baseline.toml\"")
    table = data.get("uncertainties")
    if not isinstance(table, dict) or not table:
        raise ScenarioError(f"{path}: [uncertainties]: give at least one lever, e.g. \"market.demand\" = \"0.7:1.3\"")
    specs = []
    for key, spec in table.items():
        if isinstance(spec, list):
            spec = ",".join(str(v).lower() if isinstance(v, bool) else str(v) for v in spec)
        if not isinstance(spec, str):
            raise ScenarioError(f"{path}: [uncertainties] {key} = {quote(spec)}: give a range \"lo:hi\" or a list "
                                "\"a,b,c\" (as text)")
        specs.append(f"{key}={spec}")
    return (path.parent / scen), specs


def read_policies(path: str | Path, base: Scenario) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The policies and the criteria of a POLICIES file, checked against ``base``.

    Returns:
        ``(policies, criteria)``: each policy ``{"name", "description", "set", "timeline"}``; criteria
        ``{"stat", "kpis": [{"name", "direction"}], "thresholds": [{"kpi", "op", "value"}]}``.

    Raises:
        ScenarioError: naming the file, the policy, the key and what is allowed.
    """
    path = Path(path)
    data = read_toml(path, "policies")
    _unknown(path, "top level", set(data), ("stat", "regret", "satisficing", "policies"))
    stat = data.get("stat", "mean")
    if stat not in ("mean", "final"):
        raise ScenarioError(f"{path}: stat = {quote(stat)}: one of \"mean\" (time average) or \"final\" (last step)")
    regret = data.get("regret")
    if not isinstance(regret, dict) or not regret:
        raise ScenarioError(f"{path}: [regret]: give at least one KPI and its direction, e.g. "
                            "cooperation_rate = \"max\"")
    kpis = []
    for k, d in regret.items():
        if k not in KPI_COLUMNS:
            raise ScenarioError(f"{path}: [regret] {k}: not a KPI; KPIs are: {', '.join(KPI_COLUMNS)}")
        if d not in ("max", "min"):
            raise ScenarioError(f"{path}: [regret] {k} = {quote(d)}: \"max\" (more is better) or \"min\"")
        kpis.append({"name": k, "direction": d})
    thresholds = []
    for k, text in (data.get("satisficing") or {}).items():
        if k not in KPI_COLUMNS:
            raise ScenarioError(f"{path}: [satisficing] {k}: not a KPI; KPIs are: {', '.join(KPI_COLUMNS)}")
        m = re.fullmatch(r"\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*", str(text))
        try:
            value = float(m.group(2)) if m else None
        except ValueError:
            value = None
        if m is None or value is None:
            raise ScenarioError(f"{path}: [satisficing] {k} = {quote(text)}: give \"OP VALUE\" with OP one of "
                                f"{', '.join(THRESHOLD_OPS)}, e.g. \">= 0.6\"")
        thresholds.append({"kpi": k, "op": m.group(1), "value": value})
    entries = data.get("policies")
    if not isinstance(entries, list) or len(entries) < 2:
        raise ScenarioError(f"{path}: [[policies]]: give at least two policies to compare")
    policies, seen = [], set()
    for i, e in enumerate(entries):
        where = f"policy {i + 1}"
        if not isinstance(e, dict):
            raise ScenarioError(f"{path}: {where}: must be a table")
        _unknown(path, where, set(e), ("name", "description", "set", "timeline"))
        name = e.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScenarioError(f"{path}: {where}: name {quote(name)} must be letters, digits, '_', '-' or '.'")
        if name in seen:
            raise ScenarioError(f"{path}: policy name {quote(name)} is given twice")
        seen.add(name)
        sets = e.get("set", {})
        timeline = e.get("timeline", [])
        if not isinstance(sets, dict) or not isinstance(timeline, list):
            raise ScenarioError(f"{path}: policy {name}: set must be a table of dotted keys, timeline a list of "
                                "[[policies.timeline]] entries")
        policies.append({"name": name, "description": str(e.get("description", "")), "set": dict(sets),
                         "timeline": list(timeline)})
        _policy_scenario(base, policies[-1], f"{path}: policy {name}")
    return policies, {"stat": stat, "kpis": kpis, "thresholds": thresholds}


def robust_file_kind(path: str | Path) -> str | None:
    """``"policies"`` or ``"uncertainties"`` if ``path`` is TOML shaped as that file of ``run.py robust``, else None."""
    kind = other_input_kind(path)
    return kind if kind in ("policies", "uncertainties") else None


def check_robust_file(path: str | Path) -> str:
    """Check a POLICIES or UNCERTAINTIES file of ``run.py robust`` on its own; a line saying what it holds.

    An uncertainties file is checked with its base scenario (levers and ranges); a policies file
    names no scenario, so its levers are checked against the schema's defaults (``robust`` checks
    them again against the uncertainties file's scenario).

    Raises:
        ScenarioError: naming the file, the entry and what is allowed.
    """
    path = Path(path)
    kind = robust_file_kind(path)
    if kind == "uncertainties":
        scen_path, texts = read_uncertainties(path)
        base = load_scenario(scen_path)
        for t in texts:
            parse_param(t, base, "lhs")
        return f"robust uncertainties: {len(texts)} uncertain levers of {scen_path.name}"
    if kind == "policies":
        policies, criteria = read_policies(path, Scenario())
        return (f"robust policies: {len(policies)} policies, {len(criteria['kpis'])} regret KPI(s), "
                f"{len(criteria['thresholds'])} threshold(s); levers checked against the default scenario")
    raise ScenarioError(f"{path}: not a policies or uncertainties file of run.py robust")


def _policy_scenario(base: Scenario, policy: Mapping[str, Any], source: str) -> Scenario:
    """The base scenario with the policy's levers set and its timeline after the base's own."""
    timeline = [e.model_dump() for e in base.policy] + list(policy["timeline"])
    return base.with_overrides({**policy["set"], "policy": timeline}, source=source)


def robust(policies_path: str | Path, uncertainties_path: str | Path, out: str | Path, samples: int = 32,
           replicates: int = 1, seed: int | None = None, steps: int | None = None,
           executor: Executor | None = None, quiet: bool = False, limits: Limits | None = None) -> Outcome:
    """Run every policy in every future (``samples`` Latin-hypercube futures) with common random numbers.

    Rows: ``run_id, policy, future, <uncertain levers>, replicate, seed`` and the KPI columns.

    Raises:
        ScenarioError: bad files, levers, options or output folder (before anything is written).
    """
    executor = executor or Executor()
    check_options(steps, seed, replicates)
    if samples < 2:
        raise ScenarioError(f"--samples {samples}: at least 2 futures")
    scen_path, texts = read_uncertainties(uncertainties_path)
    base = load_scenario(scen_path)
    policies, criteria = read_policies(policies_path, base)
    specs = [parse_param(t, base, "lhs") for t in texts]
    names = [s.name for s in specs]
    for p in policies:
        both = sorted(set(p["set"]) & set(names))
        if both:
            raise ScenarioError(f"{policies_path}: policy {p['name']} sets {', '.join(both)}, which "
                                f"{uncertainties_path} makes uncertain; a lever is either a policy or an uncertainty")
    bases = [_policy_scenario(base, p, f"{policies_path}: policy {p['name']}") for p in policies]
    check_job([largest(specs, b, SIZE_KEYS) for b in bases], len(bases) * design_size(specs, "lhs", samples)
              * replicates, steps, executor.workers, limits)
    master = base.run.seed if seed is None else int(seed)
    points, unit = sample_design(specs, "lhs", samples, master)
    futures = points.to_dict("records")
    for b, p in zip(bases, policies):
        for f, rec in enumerate(futures):
            b.with_overrides(rec, source=f"policy {p['name']} in future {f} {rec}")
    seeds = replicate_seeds(master, replicates)
    n_f = len(futures)

    def make_item(run_id: int) -> RunItem:
        p, rest = divmod(run_id, n_f * replicates)
        f, r = divmod(rest, replicates)
        rec = futures[f]
        return RunItem(run_id, p, rec, seeds[r],
                       {"policy": policies[p]["name"], "future": f, **rec, "replicate": r, "seed": seeds[r]})

    identity = {
        "policies": {p["name"]: b.model_dump() for p, b in zip(policies, bases)},
        "uncertainties": [s.describe() for s in specs],
        "futures_sha256": canonical_hash(futures),
        "samples": samples,
        "replicates": replicates,
        "master_seed": master,
        "steps": steps,
    }
    record = {
        "scenario_file": scenario_record(scen_path),
        "policies_file": str(policies_path),
        "uncertainties_file": str(uncertainties_path),
        "policies": [p["name"] for p in policies],
        "policy_definitions": policies,
        "uncertainties": [s.describe() for s in specs],
        "uncertainty_names": names,
        "design": "lhs",
        "futures": n_f,
        "replicates": replicates,
        "stat": criteria["stat"],
        "kpis": criteria["kpis"],
        "thresholds": criteria["thresholds"],
        "master_seed": master,
        "seeding": "replicate r uses numpy.random.SeedSequence(master_seed).spawn(R)[r]"
                   ".generate_state(1, uint64) >> 11 for every policy and future (common random numbers)",
        "replicate_seeds": seeds,
        "steps": steps if steps is not None else "scenario run.steps",
        "design_unit": "design_unit.parquet",
    }
    files = {"design_unit.parquet": parquet_bytes(pd.DataFrame(unit, columns=names))}
    job = Job("robust", identity, record, len(policies) * n_f * replicates, make_item, bases, steps, files=files)
    return execute(job, Path(out), executor, quiet)
