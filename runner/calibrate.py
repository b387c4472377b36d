"""Calibration: estimate a scenario's uncertain parameters from observed targets by ABC-SMC (pyabc).

``calibrate`` draws parameters from uniform priors (``--param key=lo:hi``), runs the model, takes
each target's statistic (:mod:`sim.targets`), adds a measurement error with the target's standard
error, and keeps the draws whose statistics lie close to the observed ones (distance: the
root-sum-square of the differences in standard errors), over generations of pyabc's ABC-SMC with
a shrinking threshold (the median distance of the last generation).

Seeds and parallel runs: the posterior depends on the master seed only, not on ``--jobs``, Dask or
how the work was batched (:mod:`runner.abc_smc`); a run stopped between generations and started
again continues from its last finished generation (pyabc's history database, ``calibration.db``)
exactly as if it had not stopped. The folder's files and the calibrated scenario:
:mod:`runner.calibration_files`.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.data import input_digests, refuse_unused
from sim.errors import RunnerError, ScenarioError
from sim.scenario import Scenario, check_key, load_scenario, scenario_record
from sim.targets import Target, check_steps, load_targets, target_values
from sim.uncertainty import Plan, plan_of

from .abc_smc import Pool, SeededSampler, candidate_seed
from .calibration_files import (
    CALIBRATED,
    DB,
    GENERATIONS,
    MANIFEST,
    NUISANCE,
    POSTERIOR,
    PPC,
    PRIOR_SAMPLE,
    check_folder,
    particles_frame,
    write_calibrated,
)
from .chunks import run_model
from .cost import Limits
from .executors import Executor
from .files import FolderLock, fs_failure
from .store import canonical_hash, now, versions, write_json, write_parquet

__all__ = ["Bound", "parse_bounds", "Simulator", "SeededSampler", "calibrate", "CalibrationOutcome",
           "candidate_seed", "POSTERIOR", "CALIBRATED"]


@dataclass(frozen=True)
class Bound:
    """A calibrated parameter and its uniform prior ``[lo, hi]``."""

    key: str
    lo: float
    hi: float


def parse_bounds(items: Sequence[str] | None, base: Scenario) -> list[Bound]:
    """Parse ``key=lo:hi`` items; each key must be a real-valued field and both ends allowed values.

    Raises:
        ScenarioError: naming the item, the key and what is allowed.
    """
    if not items:
        raise ScenarioError("calibrate: give at least one --param key=lo:hi, e.g. --param trust.speed=0.05:0.5")
    out: list[Bound] = []
    for item in items:
        key, sep, spec = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--param {item!r}: expected key=lo:hi, e.g. trust.speed=0.05:0.5")
        current = check_key(base, key, "--param")
        if isinstance(current, bool) or not isinstance(current, float):
            raise ScenarioError(f"--param {key}: holds {current!r} ({type(current).__name__}); only real-valued "
                                "parameters can be calibrated")
        parts = spec.split(":")
        try:
            lo, hi = (float(p) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            lo = hi = None
        if lo is None or not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ScenarioError(f"--param {key}={spec}: expected lo:hi, two numbers with lo < hi, e.g. {key}=0.1:0.9")
        for v in (lo, hi):
            base.with_overrides({key: v}, source=f"--param {key}={spec}")
        if any(b.key == key for b in out):
            raise ScenarioError(f"--param {key}: given twice")
        out.append(Bound(key, lo, hi))
    return out


@dataclass
class Simulator:
    """The model as pyabc sees it: parameters in, the targets' statistics (with measurement error) out.

    ``nuisance``: the base scenario's ``[uncertain]`` parameters that are neither calibrated nor set
    on the command line; each candidate draws them afresh (from its own stream) and reports the
    values drawn as statistics named ``nuisance:<key>``, which the distance leaves out.
    """

    scenario: Scenario
    keys: tuple[str, ...]
    targets: tuple[Target, ...]
    steps: int
    nuisance: Plan | None = None
    fixed: frozenset[str] = frozenset()

    def __call__(self, par: Mapping[str, float]) -> dict[str, float]:
        # numpy's global generator is seeded per candidate by the sampler; pyabc draws from it too
        seed = int(np.random.randint(0, 2**53, dtype=np.int64))
        noise = np.random.normal(0.0, 1.0, len(self.targets))
        values = {k: float(par[k]) for k in self.keys}
        if self.nuisance is None:
            return self.simulate(values, seed, noise)
        drawn = self.nuisance.draw(int(np.random.randint(0, 2**53, dtype=np.int64)), 0, self.fixed)
        stats = self.simulate({**drawn, **values}, seed, noise)
        return {**stats, **{NUISANCE + k: v for k, v in drawn.items()}}

    def simulate(self, values: Mapping[str, float], seed: int, noise: np.ndarray | None) -> dict[str, float]:
        """Statistics of one run at ``values``; ``noise`` (standard normals, one per target) scaled by each se."""
        scenario = self.scenario.with_overrides(dict(values), source="calibration draw")
        try:
            _, frame = run_model(scenario, seed, self.steps)
        except ScenarioError:
            raise
        except Exception as exc:  # a model failure is reported with the draw that caused it
            raise RunnerError(f"calibrate: the model failed at {dict(values)} seed {seed}: "
                              f"{type(exc).__name__}: {exc}") from exc
        stats = target_values(self.targets, frame)
        if noise is not None:
            for t, z in zip(self.targets, noise):
                stats[t.name] += float(z) * t.se
        return stats


class TargetDistance:
    """Root-sum-square of ``(simulated - observed) / se`` over the targets (the nuisance draws left out)."""

    def __init__(self, weights: Mapping[str, float]):
        self.weights = dict(weights)
        self.__name__ = "target_distance"  # pyabc records the function's name in its database

    def __call__(self, x: Mapping[str, float], x_0: Mapping[str, float]) -> float:
        names = list(self.weights)
        w = np.array([self.weights[n] for n in names])
        d = np.abs(w * (np.array([x[n] for n in names], dtype=float) - np.array([x_0[n] for n in names], dtype=float)))
        return float((d**2).sum() ** 0.5)


def _simulate_many(simulator: Simulator, items: Sequence[tuple[dict, int, list[float]]]) -> list[dict]:
    """Posterior predictive runs: ``(values, seed, noise)`` each."""
    return [simulator.simulate(v, s, np.asarray(z)) for v, s, z in items]


@dataclass
class CalibrationOutcome:
    """What a calibration did, for the command line."""

    out: Path
    generations: int
    simulations: int
    resumed_from: int
    stopped: str
    posterior: pd.DataFrame = field(repr=False)
    bounds: list[Bound] = field(default_factory=list)

    @property
    def message(self) -> str:
        resumed = f", resumed after generation {self.resumed_from - 1}" if self.resumed_from else ""
        return (f"{self.out}: {self.generations} generations ({self.simulations} simulations{resumed}); "
                f"stopped: {self.stopped} -> {self.out / POSTERIOR}, {self.out / CALIBRATED}")


def calibrate(scenario_path: str | Path, targets_path: str | Path, params: Sequence[str], out: str | Path, *,
              population: int = 200, generations: int = 8, min_epsilon: float = 0.0, min_acceptance: float = 0.02,
              ppc: int = 50, seed: int | None = None, steps: int | None = None,
              overrides: Mapping[str, Any] | None = None, executor: Executor | None = None, quiet: bool = False,
              echo: Callable[[str], None] | None = None,
              limits: Limits | None = None) -> CalibrationOutcome:
    """Estimate ``params`` of a scenario from the targets by ABC-SMC; write posterior and checks.

    The report (:func:`analysis.calibration.calibration_report`) is the command layer's to write:
    the runner does not import analysis.

    Args:
        scenario_path: the scenario file.
        targets_path: the targets file (:mod:`sim.targets`).
        params: ``key=lo:hi`` items: uniform priors of the calibrated parameters.
        out: output folder; the same command again continues a stopped calibration.
        population: accepted particles per generation.
        generations: most generations in all (a larger value later adds generations).
        min_epsilon: stop once the threshold (in standard errors) is this small.
        min_acceptance: stop once a generation accepts a smaller share of its candidates.
        ppc: posterior draws simulated again for the predictive checks (0: none).
        seed: master seed (default: the scenario's run.seed).
        steps: steps per run (default: the scenario's run.steps).
        overrides: ``--set`` overrides of the scenario.
        executor: processes or Dask, as for sweeps.
        limits: the cost limits of :mod:`runner.cost`, as for sweeps; the job counts the simulations it
            needs at least (the prior sample, every generation accepting all, the predictive runs).

    Raises:
        ScenarioError: bad scenario, targets, parameters, option or folder, a job above the cost limits,
            or a folder another process is working on (before anything is written).
        RunnerError: the machinery or the file system failed; finished generations are kept and the
            manifest says ``failed``.
    """
    from .commands import check_job, check_options

    echo = echo or (lambda s: print(s, file=sys.stderr))
    executor = executor or Executor()
    check_options(steps, seed)
    for name, v, lo in (("--population", population, 10), ("--generations", generations, 1), ("--ppc", ppc, 0)):
        if v < lo:
            raise ScenarioError(f"{name} {v}: must be >= {lo}")
    if not 0 <= min_acceptance < 1:
        raise ScenarioError(f"--min-acceptance {min_acceptance}: must be in [0, 1)")
    if not (math.isfinite(min_epsilon) and min_epsilon >= 0):
        raise ScenarioError(f"--min-epsilon {min_epsilon}: must be >= 0")
    scenario_path = Path(scenario_path)
    base = load_scenario(scenario_path, overrides)
    check_job([base], 1, steps, 1, None)  # --steps within the schema's cap; one model fits
    steps = base.run.steps if steps is None else int(steps)
    targets = load_targets(targets_path)
    check_steps(targets, steps, str(targets_path))
    bounds = parse_bounds(params, base)
    refuse_unused(base, [b.key for b in bounds], "--param")
    check_job([base], population * (generations + 1) + ppc, steps, executor.workers, limits)
    master = base.run.seed if seed is None else int(seed)
    fixed = frozenset({*(b.key for b in bounds), *(overrides or {})})  # calibrated or set: not drawn
    nuisance = _nuisance(base, str(scenario_path), fixed)
    identity = {"scenario": base.model_dump(), "targets": [t.describe() for t in targets],
                "params": [vars(b) for b in bounds], "population": population, "master_seed": master,
                "steps": steps, "measurement_error": "normal, the target's se"}
    if nuisance is not None:  # absent without one, so a folder of an earlier calibration still resumes
        identity["nuisance"] = {"keys": _nuisance_keys(nuisance, fixed), **nuisance.describe()}
    if digests := input_digests(base):  # an edited data file is another calibration
        identity["data_files"] = digests
    fingerprint = canonical_hash(identity)
    out = Path(out)
    check_folder(out, fingerprint)  # a folder holding something else is refused before anything is created
    created = not out.exists()
    lock = FolderLock(out)
    lock.acquire()
    manifest: dict[str, Any] = {}
    try:
        state = check_folder(out, fingerprint)  # again: another process may have changed it before we held the lock
        previous = json.loads((out / MANIFEST).read_text(encoding="utf-8")) if state == "resume" else {}
        import pyabc

        manifest.update({"kind": "calibration", "fingerprint": fingerprint, "identity": identity,
                         "scenario_file": scenario_record(scenario_path), "targets_file": str(targets_path),
                         "set": dict(overrides or {}), "library": {"pyabc": pyabc.__version__},
                         "seeding": "candidate i of generation t runs with numpy's global generator seeded by "
                                    "SeedSequence([master_seed, t + 1, i]).generate_state(1)[0]; the first "
                                    "population accepted candidates by index form the generation, whatever --jobs "
                                    "or Dask",
                         "versions": versions(), "started_at": now(), "status": "running",
                         "executor": executor.describe(),
                         "stop_rule": {"generations": generations, "min_epsilon": min_epsilon,
                                       "min_acceptance": min_acceptance}})
        write_json(out / MANIFEST, manifest)
        simulator = Simulator(base, tuple(b.key for b in bounds), tuple(targets), steps, nuisance, fixed)
        outcome = _run(out, scenario_path, simulator, overrides, bounds, master, population, generations,
                       min_epsilon, min_acceptance, ppc, executor, quiet, echo, state, previous, manifest)
    except KeyboardInterrupt:
        _mark(out, manifest, "interrupted")
        echo(f"interrupted: finished generations are kept in {out / DB}; run the same command again to continue")
        raise
    except Exception as exc:
        failure = _failure(exc, out)
        _mark(out, manifest, "failed", str(failure or exc))  # whatever stopped it, the folder says it did not finish
        if failure is None:
            raise
        raise failure from None
    finally:
        lock.release(remove_unused=created)  # a job that failed before writing anything leaves no folder
    return outcome


def _failure(exc: BaseException, out: Path) -> RunnerError | ScenarioError | None:
    """The error a failure under a running calibration becomes (None: a programming error, raised as it is)."""
    if isinstance(exc, (RunnerError, ScenarioError)):
        return exc
    if isinstance(exc, OSError):
        return fs_failure(exc, f"--out {out}", "finished generations are kept")
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:  # pyabc brings it; without it there is no database to fail
        return None
    if isinstance(exc, SQLAlchemyError):  # pyabc's database: a full disk shows here, not as an OSError
        return RunnerError(f"--out {out}: pyabc's database {out / DB} failed ({getattr(exc, 'orig', None) or exc}); "
                           "finished generations are kept, free space or fix the folder and run the same command again")
    return None


def _mark(out: Path, manifest: dict[str, Any], status: str, reason: str | None = None) -> None:
    """Say in the manifest how the calibration stopped (nothing if it was never written or cannot be)."""
    if not manifest:
        return
    manifest.update(status=status, finished_at=now(), **({"reason": reason} if reason else {}))
    try:
        write_json(out / MANIFEST, manifest)
    except OSError:
        pass  # the message still names the cause


def _nuisance_keys(plan: Plan, fixed: frozenset[str]) -> list[str]:
    return [k for k in plan.keys if k not in fixed]


def _nuisance(base: Scenario, source: str, fixed: frozenset[str]) -> Plan | None:
    """The base's ``[uncertain]`` parameters a calibration draws per simulation (None: there are none)."""
    plan = plan_of(base, source)
    return plan if plan is not None and _nuisance_keys(plan, fixed) else None


def _run(out: Path, scenario_path: Path, simulator: Simulator, overrides: Mapping[str, Any] | None,
         bounds: list[Bound], master: int, population: int, generations: int, min_epsilon: float,
         min_acceptance: float, ppc: int, executor: Executor, quiet: bool, echo: Callable[[str], None], state: str,
         previous: dict[str, Any], manifest: dict[str, Any]) -> CalibrationOutcome:
    """The generations, then the posterior, the calibrated scenario and the predictive runs; the manifest last."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)  # the progress bar and our lines say what it would
    base, targets = simulator.scenario, list(simulator.targets)
    prior = pyabc.Distribution(**{b.key: pyabc.RV("uniform", b.lo, b.hi - b.lo) for b in bounds})
    distance = pyabc.distance.FunctionDistance(TargetDistance({t.name: 1.0 / t.se for t in targets}))
    observed = {t.name: t.value for t in targets}
    db = out / DB
    with Pool(executor) as pool:
        sampler = SeededSampler(master, pool, quiet)
        abc = pyabc.ABCSMC(simulator, prior, distance, population_size=population, sampler=sampler,
                           eps=pyabc.MedianEpsilon())
        url = "sqlite:///" + str(db.resolve())
        resumed_from = 0
        if state == "resume" and db.is_file() and pyabc.History(url).n_populations > 0:
            history = abc.load(url, 1)
            resumed_from = history.max_t + 1
            if not quiet:
                echo(f"{out}: resuming after generation {resumed_from - 1}")
        else:
            db.unlink(missing_ok=True)
            history = abc.new(url, observed)
        np.random.seed(candidate_seed(master, resumed_from - 1, 2**31))  # the main process draws nothing else
        left = generations - resumed_from
        if previous.get("status") == "complete" and previous.get("stop_rule") == manifest["stop_rule"]:
            left = 0  # stopped by its own rule before: the same command does not add a generation
        if left > 0:
            history = abc.run(minimum_epsilon=min_epsilon, max_nr_populations=left,
                              min_acceptance_rate=min_acceptance)
        if sampler.prior_sample is not None:
            write_parquet(out / PRIOR_SAMPLE, particles_frame(sampler.prior_sample, bounds, targets))
        pops = history.get_all_populations()
        pops = pops[pops["t"] >= 0].reset_index(drop=True)
        done = int(history.max_t) + 1
        frame, w = history.get_distribution(m=0, t=history.max_t)
        posterior = frame[[b.key for b in bounds]].reset_index(drop=True).astype(float)
        posterior.columns.name = None
        if simulator.nuisance is not None:  # the nuisance values each particle ran with: the joint posterior
            ext = history.get_population_extended(m=0, t=int(history.max_t))
            for k in _nuisance_keys(simulator.nuisance, simulator.fixed):
                posterior[k] = ext.loc[frame.index, f"sumstat_{NUISANCE}{k}"].to_numpy(dtype=float)
        posterior["weight"] = np.asarray(w, dtype=float) / np.sum(w)
        gens = pd.DataFrame({"generation": pops["t"].astype(int), "epsilon": pops["epsilon"].astype(float),
                             "simulations": pops["samples"].astype(int), "accepted": pops["particles"].astype(int)})
        gens["acceptance_rate"] = gens["accepted"] / gens["simulations"]
        last = gens.iloc[-1]
        stopped = ("threshold reached --min-epsilon" if last.epsilon <= min_epsilon else
                   "acceptance rate below --min-acceptance" if last.acceptance_rate < min_acceptance else
                   f"{done} generations (--generations)")
        write_parquet(out / POSTERIOR, posterior)
        write_parquet(out / GENERATIONS, gens)
        write_calibrated(out, scenario_path, base, dict(overrides or {}), posterior, bounds)
        (out / PPC).unlink(missing_ok=True)  # a check of an earlier posterior is not one of this
        if ppc:
            write_parquet(out / PPC, _ppc(pool, simulator, posterior, bounds, targets, master, ppc))
    simulations = int(gens["simulations"].sum())
    manifest.update(status="complete", finished_at=now(), generations=done, stopped=stopped, simulations=simulations,
                    files=[POSTERIOR, CALIBRATED, GENERATIONS, DB] + [f for f in (PRIOR_SAMPLE, PPC) if (out / f).is_file()])
    write_json(out / MANIFEST, manifest)
    return CalibrationOutcome(out, done, simulations, resumed_from, stopped, posterior, bounds)


def _ppc(pool: Pool, simulator: Simulator, posterior: pd.DataFrame, bounds: Sequence[Bound],
         targets: Sequence[Target], master: int, draws: int) -> pd.DataFrame:
    """Simulate ``draws`` posterior draws again (own seeds and measurement errors): one row each."""
    rng = np.random.default_rng(np.random.SeedSequence([master, 0xC0FFEE]))
    idx = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
    seeds = rng.integers(0, 2**53, size=draws)
    noise = rng.standard_normal((draws, len(targets)))
    columns = [c for c in posterior.columns if c != "weight"]  # calibrated and nuisance parameters alike
    items = [({k: float(posterior[k].iloc[i]) for k in columns}, int(s), list(z))
             for i, s, z in zip(idx, seeds, noise)]
    size = max(1, math.ceil(len(items) / (2 * pool.workers)))
    stats = pool.map(_simulate_many, simulator, [items[i:i + size] for i in range(0, len(items), size)])
    rows = [{"draw": k, **values, "seed": seed, **{f"sim:{n}": v for n, v in s.items()}}
            for k, ((values, seed, _), s) in enumerate(zip(items, stats))]
    return pd.DataFrame(rows)
