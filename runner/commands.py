"""The runner's commands: one run, a sweep, a comparison and the main job, each a job for :mod:`runner.jobs`.

Seeds:
    Replicate ``r`` uses child ``r`` of ``numpy.random.SeedSequence(master)``, turned into a
    53-bit integer (:func:`runner.designs.replicate_seeds`). Every design point and every compared
    scenario uses the same seed for the same replicate (common random numbers), and each row
    records its seed, so a single run is reproduced with
    ``run.py run SCENARIO --seed SEED --set key=value``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim import kpis as kpi_registry
from sim.data import input_digests, refuse_unused
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario, load_variant, scenario_record, split_variant, validate_paths
from sim.uncertainty import Plan, plan_of, seeds_per_draw_of

from .chunks import RunItem, parquet_bytes, run_model, snapshot_tables, summarize_run
from .cost import Limits
from .designs import DESIGNS, MORRIS_LEVELS, design_size, largest, parse_param, replicate_seeds, sample_design
from .executors import Executor
from .files import fs_failure
from .jobs import Outcome, check_job, check_options, execute
from .store import (
    MANIFEST,
    Job,
    canonical_hash,
    now,
    snapshot_paths,
    versions,
    write_json,
    write_parquet,
)

__all__ = [
    "MAIN_SCENARIOS",
    "MAIN_REPLICATES",
    "MAIN_SEED",
    "SWEEP_SERIES",
    "Outcome",
    "execute",
    "run_single",
    "sweep",
    "compare",
    "compare_main",
    "main_scenario_files",
    "check_options",
    "check_job",
    "SIZE_KEYS",
]

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

#: Scenarios (stems in ``scenarios/``) compared by ``compare-main``: the
#: baseline, the four structures, the mechanism variants, the six marketing modes, and the
#: further arms the source papers' claims compare (analysis/claims.py).
MAIN_SCENARIOS: tuple[str, ...] = (
    "baseline",
    "hierarchical",
    "star",
    "chain",
    "network",
    "no_regulation",
    "contracts_only",
    "fi_equal",
    "fi_proportional",
    "cluster_brand",
    "channel_sharing",
    "leading_traction",
    "exhibition",
    "cooperative_rnd",
    "alliance",
    "no_function_interest",
    "no_contracts",
    "chain_digital",
    "digitalization/digitalization_stage1",
    "digitalization/digitalization_stage5",
)

#: Replicates and master seed of ``compare-main`` (run.py's help repeats the replicates).
MAIN_REPLICATES = 20
MAIN_SEED = 20240601

#: The KPIs ``sweep --timeseries`` keeps per step: the report's KPIs and what the arrangements cost.
SWEEP_SERIES: tuple[str, ...] = tuple(dict.fromkeys((*kpi_registry.report_kpis(), *kpi_registry.cost_kpis())))

#: Levers that set the size of a model: a job's cost counts them at their largest swept value.
SIZE_KEYS = ("structure.n_firms", "structure.mean_degree")


# --------------------------------------------------------------------------- commands


def _load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    return load_scenario(Path(path), overrides or None)


def run_single(scenario_path: str | Path, out: str | Path, seed: int | None = None, steps: int | None = None,
               overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One run: ``timeseries.parquet``, ``summary.json``, ``manifest.json`` and its snapshot in ``out``.

    Args:
        scenario_path: scenario file.
        out: output folder (created; files in it are replaced).
        seed: model seed (default: the scenario's ``run.seed``).
        steps: steps (default: the scenario's ``run.steps``).
        overrides: dotted overrides applied after the file.

    Returns:
        The summary (``<kpi>_final`` / ``<kpi>_mean``) with the scenario name, seed and steps.

    Raises:
        ScenarioError: bad scenario, option or output folder.
        RunnerError: the file system failed while writing.
    """
    check_options(steps, seed)
    scenario = _load(scenario_path, overrides)
    check_job([scenario], 1, steps, 1, None)
    seed = scenario.run.seed if seed is None else int(seed)
    steps = scenario.run.steps if steps is None else int(steps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a folder")
    started = now()
    model, frame = run_model(scenario, seed, steps)
    tables = snapshot_tables(model)
    del model
    summary = {"scenario": scenario.name, "seed": seed, "steps": steps, **summarize_run(frame)}
    stem = Path(scenario_path).stem
    manifest = {
        "kind": "run",
        "scenario": scenario_record(Path(scenario_path)),
        "overrides": dict(overrides or {}),
        "seed": seed,
        "steps": steps,
        "resolved_scenario": scenario.model_dump(),
        "versions": versions(),
        "started_at": started,
        "finished_at": now(),
        "counts": {"steps": len(frame), "columns": len(frame.columns)},
        "snapshots": {stem: snapshot_paths(stem)},
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for table, rel in snapshot_paths(stem).items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            write_parquet(out / rel, tables[table])
        write_parquet(out / "timeseries.parquet", frame)
        write_json(out / "summary.json", summary)
        write_json(out / MANIFEST, manifest)
    except OSError as exc:
        raise fs_failure(exc, f"--out {out}") from None
    return summary


def sweep(scenario_path: str | Path, params: Sequence[str], out: str | Path, design: str = "grid",
          samples: int | None = None, replicates: int = 1, seed: int | None = None, steps: int | None = None,
          overrides: Mapping[str, Any] | None = None, executor: Executor | None = None,
          quiet: bool = False, limits: Limits | None = None, timeseries: bool = False) -> Outcome:
    """Sweep parameters of one scenario over a design, with replicates.

    A sampled design (lhs, sobol, morris) also stores the sampler's matrix as ``design_unit.parquet``.
    ``timeseries`` also keeps :data:`SWEEP_SERIES` per step of every run in ``timeseries.parquet``
    (``run_id``, ``step``, the KPIs), written chunk by chunk like the rows.

    Raises:
        ScenarioError: bad scenario, parameter, design or output folder (before anything is written).
    """
    executor = executor or Executor()
    check_options(steps, seed, replicates)
    if design not in DESIGNS:
        raise ScenarioError(f"--design {design!r}: unknown design; allowed: {', '.join(DESIGNS)}")
    base = _load(scenario_path, overrides)
    master = base.run.seed if seed is None else int(seed)
    specs = [parse_param(p, base, design) for p in params]
    refuse_unused(base, [s.name for s in specs], "--param")
    check_job([largest(specs, base, SIZE_KEYS)], design_size(specs, design, samples) * replicates, steps,
              executor.workers, limits)
    points, unit = sample_design(specs, design, samples, master)
    names = [s.name for s in specs]
    records = points.to_dict("records")
    if len(records) <= 20_000:
        for i, rec in enumerate(records):
            base.with_overrides(rec, source=f"--param design point {i} {rec}")
    seeds = replicate_seeds(master, replicates)
    plan = plan_of(base, str(scenario_path))
    _whole_draws([plan], replicates)
    fixed = {*names, *(overrides or {})}  # a swept or --set value is not drawn

    def make_item(run_id: int) -> RunItem:
        p, r = divmod(run_id, replicates)
        rec = records[p]
        drawn, extra = _drawn([plan], 0, master, r, fixed)
        return RunItem(run_id, 0, {**drawn, **rec}, seeds[r], {**rec, "replicate": r, "seed": seeds[r], **extra})

    identity = {
        "scenario": base.model_dump(),
        "overrides": dict(overrides or {}),
        "design": design,
        "params": [s.describe() for s in specs],
        "samples": samples,
        "points_sha256": canonical_hash(records),
        "replicates": replicates,
        "master_seed": master,
        "steps": steps,
        **({"timeseries": list(SWEEP_SERIES)} if timeseries else {}),  # absent when off: older sweeps resume
        **_uncertain_identity([plan]),
        **_inputs_identity({"scenario": base}),
    }
    record = {
        "scenario_file": scenario_record(Path(scenario_path)),
        "design": {"kind": design, "params": [s.describe() for s in specs], "samples": samples,
                   "points": len(records), "replicates": replicates, "columns": names,
                   **({"levels": MORRIS_LEVELS, "trajectories": len(records) // (len(specs) + 1)} if design == "morris" else {})},
        "master_seed": master,
        "seeding": "replicate r uses numpy.random.SeedSequence(master_seed).spawn(R)[r]"
                   ".generate_state(1, uint64) >> 11, the same for every design point",
        "replicate_seeds": seeds,
        "steps": steps if steps is not None else "scenario run.steps",
    }
    files = {}
    if unit is not None:
        files["design_unit.parquet"] = parquet_bytes(pd.DataFrame(unit, columns=names))
        record["design_unit"] = "design_unit.parquet"
    if timeseries:
        record["timeseries"] = {"file": "timeseries.parquet", "columns": ["run_id", "step", *SWEEP_SERIES]}
    record.update(_uncertain_identity([plan]))
    job = Job("sweep", identity, record, len(records) * replicates, make_item, [base], steps,
              keep_timeseries=SWEEP_SERIES if timeseries else False, files=files)
    return execute(job, Path(out), executor, quiet)


def _drawn(plans: Sequence[Plan | None], arm: int, master: int, replicate: int, fixed: set[str],
           ) -> tuple[dict[str, float], dict[str, Any]]:
    """Uncertain values of one run and its row's extra columns (``draw`` and every drawn key of any arm).

    A key some arm draws is a column (NaN in an arm that does not draw it), unless this run sets it
    (a swept parameter, ``--set``, a variant's own value), whose value is in its own column or the manifest.
    """
    if not any(plans):
        return {}, {}
    per = seeds_per_draw_of(plans, "uncertain")
    plan = plans[arm]
    drawn = plan.draw(master, replicate, fixed) if plan is not None else {}
    keys = sorted({k for p in plans if p is not None for k in p.keys})
    return drawn, {"draw": replicate // per, **{k: drawn.get(k, float("nan")) for k in keys if k not in fixed}}


def _whole_draws(plans: Sequence[Plan | None], replicates: int) -> None:
    """Refuse replicates that leave the last parameter draw with fewer seeds than the others: means over the
    replicates and over the draws would then differ, and the report shows both.

    Raises:
        ScenarioError: ``replicates`` is not a multiple of ``uncertain.seeds_per_draw``.
    """
    per = seeds_per_draw_of(plans, "uncertain")
    if per is not None and replicates % per:
        up = replicates + per - replicates % per
        down = replicates - replicates % per
        raise ScenarioError(f"--replicates {replicates}: not a multiple of uncertain.seeds_per_draw = {per}, so the "
                            "last parameter draw would have fewer seeds than the others; use --replicates "
                            + (f"{down} or {up}" if down else str(up)) + " (or change uncertain.seeds_per_draw)")


def _inputs_identity(scenarios: Mapping[str, Scenario]) -> dict[str, Any]:
    """The sha256 of the data and edge-list files each scenario reads (nothing when none reads any): an edited
    file makes another job, which the store refuses to resume."""
    digests = {name: d for name, s in scenarios.items() if (d := input_digests(s))}
    return {"data_files": digests} if digests else {}


def _uncertain_identity(plans: Sequence[Plan | None], names: Sequence[str] | None = None) -> dict[str, Any]:
    """The uncertain parameters for a job's identity and record (nothing when no arm declares any)."""
    if not any(plans):
        return {}
    names = names or ["scenario"]
    return {"uncertain": {n: p.describe() for n, p in zip(names, plans) if p is not None},
            "seeds_per_draw": seeds_per_draw_of(plans, "uncertain"),
            "uncertain_seeding": "draw d = replicate // seeds_per_draw; each parameter is its distribution's "
                                 "quantile at a uniform from SeedSequence([master_seed, d, crc32(key)]), the "
                                 "posterior row the weighted quantile at SeedSequence([master_seed, d, "
                                 "crc32('<posterior>')]): the same in every arm"}


def _compare_arms(arms: Sequence[str | Path], overrides: Mapping[str, Any] | None,
                  ) -> list[tuple[str, Path, dict[str, Any], Scenario]]:
    """Resolve compare arms (files, folders, inline variants) to ``(name, file, variant overrides, scenario)``."""
    out, problems = [], {}  # message -> the arms that gave it
    for arm in arms:
        if split_variant(arm)[1]:
            try:
                out.append(load_variant(str(arm), overrides))
            except ScenarioError as exc:
                problems.setdefault(str(exc), []).append(str(arm))
            continue
        for f, scenario, msg in validate_paths([arm], overrides):
            if msg:
                problems.setdefault(msg, []).append(str(f))
            else:
                out.append((f.stem, f, {}, scenario))
    if problems:  # arms sharing a data folder share its problems: listed once, under every arm that has them
        raise ScenarioError("\n".join(f"compare arm{'s' * (len(who) > 1)} {', '.join(who)}:\n  "
                                      + msg.replace("\n", "\n  ") for msg, who in problems.items()))
    names = [a[0] for a in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"compare: scenario names (file stems, or a variant's name) must be unique; "
                            f"repeated: {', '.join(dup)}")
    return out


def compare(scenario_paths: Sequence[str | Path], out: str | Path, replicates: int = 10,
            seed: int | None = None, steps: int | None = None, executor: Executor | None = None,
            quiet: bool = False, limits: Limits | None = None,
            overrides: Mapping[str, Any] | None = None) -> Outcome:
    """Run the same replicates (same seeds) of each scenario; rows, time series and snapshots to Parquet.

    An arm is a file, a folder of files, or an inline variant ``FILE@key=value@...``
    (:func:`sim.scenario.load_variant`). Replicate 0 of each arm also keeps its end state
    under ``snapshots/<scenario>/``.

    Args:
        overrides: dotted overrides applied to every arm (``--set``); a variant's own win.

    Raises:
        ScenarioError: bad scenarios (every problem listed), duplicate names, bad options.
    """
    executor = executor or Executor()
    check_options(steps, seed, replicates)
    if not scenario_paths:
        raise ScenarioError("compare: give at least one scenario file")
    arms = _compare_arms(scenario_paths, overrides)
    stems = [a[0] for a in arms]
    files = [a[1] for a in arms]
    bases = [a[3] for a in arms]
    check_job(bases, len(bases) * replicates, steps, executor.workers, limits)
    master = MAIN_SEED if seed is None else int(seed)
    seeds = replicate_seeds(master, replicates)
    plans = [plan_of(b, str(f)) for b, f in zip(bases, files)]
    _whole_draws(plans, replicates)
    fixed = [{*own, *(overrides or {})} for _, _, own, _ in arms]  # a value set on the command line is not drawn

    def make_item(run_id: int) -> RunItem:
        s, r = divmod(run_id, replicates)
        drawn, extra = _drawn(plans, s, master, r, fixed[s])
        meta = {"scenario": stems[s], "scenario_file": str(files[s]), "replicate": r, "seed": seeds[r], **extra}
        return RunItem(run_id, s, drawn, seeds[r], meta, snapshot=stems[s] if r == 0 else None)

    identity = {
        "scenarios": {stem: b.model_dump() for stem, b in zip(stems, bases)},
        "replicates": replicates,
        "master_seed": master,
        "steps": steps,
        **_uncertain_identity(plans, stems),
        **_inputs_identity(dict(zip(stems, bases))),
    }
    record = {
        "scenario_files": [scenario_record(f) for f in files],
        "scenarios": stems,
        "set": dict(overrides or {}),
        "arms": [{"name": n, "file": str(f), "overrides": own} for n, f, own, _ in arms],
        "replicates": replicates,
        "master_seed": master,
        "seeding": "replicate r uses numpy.random.SeedSequence(master_seed).spawn(R)[r]"
                   ".generate_state(1, uint64) >> 11 in every scenario (common random numbers)",
        "replicate_seeds": seeds,
        "steps": steps if steps is not None else "scenario run.steps",
        "snapshots": {stem: {"replicate": 0, "seed": seeds[0], **snapshot_paths(stem)} for stem in stems},
    }
    record.update(_uncertain_identity(plans, stems))
    job = Job("compare", identity, record, len(files) * replicates, make_item, bases, steps,
              keep_timeseries=True)
    return execute(job, Path(out), executor, quiet)


def main_scenario_files() -> list[Path]:
    """The shipped scenario files compared by ``compare-main``."""
    files = [SCENARIO_DIR / f"{name}.toml" for name in MAIN_SCENARIOS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise ScenarioError(f"compare-main: shipped scenario files missing: {', '.join(missing)}")
    return files


def compare_main(out: str | Path, replicates: int | None = None, executor: Executor | None = None,
                 quiet: bool = False, limits: Limits | None = None) -> Outcome:
    """Compare the shipped scenarios (structures, mechanisms, marketing modes)."""
    return compare(main_scenario_files(), out, replicates=replicates or MAIN_REPLICATES, seed=MAIN_SEED,
                   executor=executor, quiet=quiet, limits=limits)
