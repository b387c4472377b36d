"""Calibration: estimate a scenario's uncertain parameters from observed targets by ABC-SMC (pyabc).

``calibrate`` draws parameters from uniform priors (``--param key=lo:hi``), runs the model, takes
each target's statistic (:mod:`sim.targets`), adds a measurement error with the target's standard
error, and keeps the draws whose statistics lie close to the observed ones (distance: the
root-sum-square of the differences in standard errors), over generations of pyabc's ABC-SMC with
a shrinking threshold (the median distance of the last generation).

Seeds and parallel runs: candidate ``i`` of generation ``t`` is simulated with numpy's global
generator seeded from ``SeedSequence([master, t + 1, i])`` wherever it runs, and a generation keeps
the first ``population`` accepted candidates by index (:class:`SeededSampler`). So the posterior
depends on the master seed only, not on ``--jobs``, Dask or how the work was batched; a run
stopped between generations and started again continues from its last finished generation
(pyabc's history database, ``calibration.db``) exactly as if it had not stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import math
import multiprocessing
import os
import random
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

from .chunks import run_model
from .executors import Executor, _dask_client, _worker_init
from .store import canonical_hash, now, versions, write_json, write_parquet

__all__ = ["Bound", "parse_bounds", "Simulator", "SeededSampler", "calibrate", "CalibrationOutcome",
           "candidate_seed", "POSTERIOR", "CALIBRATED"]

#: Files a calibration writes into its folder.
POSTERIOR, CALIBRATED, PRIOR_SAMPLE, PPC, GENERATIONS, DB = (
    "posterior.parquet", "calibrated.toml", "prior_predictive.parquet", "ppc.parquet", "generations.parquet",
    "calibration.db")
MANIFEST = "manifest.json"


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


def candidate_seed(master: int, t: int, i: int) -> int:
    """Seed of numpy's global generator for candidate ``i`` of generation ``t`` (-1: the prior sample)."""
    return int(np.random.SeedSequence([int(master), t + 1, i]).generate_state(1)[0])


@dataclass
class Simulator:
    """The model as pyabc sees it: parameters in, the targets' statistics (with measurement error) out."""

    scenario: Scenario
    keys: tuple[str, ...]
    targets: tuple[Target, ...]
    steps: int

    def __call__(self, par: Mapping[str, float]) -> dict[str, float]:
        # numpy's global generator is seeded per candidate by the sampler; pyabc draws from it too
        seed = int(np.random.randint(0, 2**53, dtype=np.int64))
        noise = np.random.normal(0.0, 1.0, len(self.targets))
        return self.simulate({k: float(par[k]) for k in self.keys}, seed, noise)

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


_loaded: dict[bytes, Callable] = {}  # the last generation's simulate_one in this worker, by digest


def _evaluate(payload: bytes | Callable, seeds: Sequence[int]) -> list:
    """Run pyabc's ``simulate_one`` (pickled, or itself when serial) once per seed; return the particles."""
    if callable(payload):
        simulate_one = payload
    else:
        import cloudpickle

        digest = hashlib.blake2b(payload, digest_size=16).digest()
        if digest not in _loaded:
            _loaded.clear()
            _loaded[digest] = cloudpickle.loads(payload)
        simulate_one = _loaded[digest]
    out = []
    for s in seeds:
        np.random.seed(s)
        random.seed(s)
        out.append(simulate_one())
    return out


def _simulate_many(simulator: Simulator, items: Sequence[tuple[dict, int, list[float]]]) -> list[dict]:
    """Posterior predictive runs: ``(values, seed, noise)`` each."""
    return [simulator.simulate(v, s, np.asarray(z)) for v, s, z in items]


class _Done:
    """A finished result in the shape of a future (serial evaluation)."""

    def __init__(self, fn: Callable, args: tuple):
        self._value = fn(*args)

    def result(self):
        return self._value

    def cancel(self) -> bool:
        return False


class _Pool:
    """Where simulations run: this process, spawned worker processes (``--jobs``) or Dask."""

    def __init__(self, executor: Executor):
        self.executor = executor
        self._procs = self._client = self._cluster = None

    @property
    def workers(self) -> int:
        return self.executor.workers

    def __enter__(self) -> "_Pool":
        ex = self.executor
        if ex.scheduler or ex.dask_local:
            self._client, self._cluster = _dask_client(ex.scheduler, ex.dask_local, ex.dask_processes)
        elif ex.jobs > 1:
            self._procs = cf.ProcessPoolExecutor(max_workers=ex.jobs, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_init, initargs=(os.getpid(),))
        return self

    def __exit__(self, *exc) -> None:
        if self._procs is not None:
            if exc[0] is not None:  # stopped early: do not wait for candidates nobody will read
                for proc in list(getattr(self._procs, "_processes", {}).values()):
                    proc.terminate()
            self._procs.shutdown(wait=exc[0] is None, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._procs = self._client = self._cluster = None

    def submit(self, fn: Callable, *args):
        if self._client is not None:
            return self._client.submit(fn, *args, pure=False)
        if self._procs is not None:
            return self._procs.submit(fn, *args)
        return _Done(fn, args)

    def wait_one(self, pending: Sequence) -> list:
        if self._client is not None:
            from distributed import wait

            return list(wait(list(pending), return_when="FIRST_COMPLETED").done)
        if self._procs is not None:
            return list(cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)[0])
        return list(pending)

    def map(self, fn: Callable, first: Any, batches: Sequence[Sequence]) -> list:
        """``fn(first, batch)`` for every batch, results in batch order."""
        futures = [self.submit(fn, first, b) for b in batches]
        return [x for f in futures for x in _result(f)]


def _result(future):
    try:
        return future.result()
    except cf.process.BrokenProcessPool as exc:
        raise RunnerError(f"--jobs: a worker process died ({exc}); finished generations are kept in "
                          f"{DB}, run the same command again to continue") from None


def _bar(total: int, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="accepted", disable=quiet or not sys.stderr.isatty(),
                dynamic_ncols=True, leave=False)


def _sampler_class():
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """pyabc sampler whose generations do not depend on where or in which order candidates ran.

        Candidates are numbered; each is simulated with its own seed (:func:`candidate_seed`) in
        batches on the pool; a generation keeps every candidate up to the ``n``-th accepted by
        index, and candidates simulated beyond it are dropped uncounted.
        """

        def __init__(self, master: int, pool: _Pool, quiet: bool = False):
            super().__init__()
            self.master, self.pool, self.quiet = master, pool, quiet
            self.prior_sample: list | None = None
            self.log: list[dict] = []

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle

            workers = self.pool.workers
            serial = self.pool._client is None and self.pool._procs is None
            payload = simulate_one if serial else cloudpickle.dumps(simulate_one)
            size = 1 if serial else max(1, min(16, n // (4 * workers)))
            window = 1 if serial else 2 * workers
            results: dict[int, list] = {}
            pending: dict[Any, int] = {}
            submitted = prefix = accepted = 0
            bar = _bar(n, "prior sample" if all_accepted else f"generation {t}", self.quiet)
            try:
                while accepted < n:
                    while len(pending) < window and submitted * size < max_eval:
                        seeds = [candidate_seed(self.master, t, i) for i in range(submitted * size, (submitted + 1) * size)]
                        pending[self.pool.submit(_evaluate, payload, seeds)] = submitted
                        submitted += 1
                    if not pending:
                        break
                    for fut in self.pool.wait_one(list(pending)):
                        results[pending.pop(fut)] = _result(fut)
                    before = accepted
                    while prefix in results and accepted < n:
                        accepted += sum(p.accepted for p in results[prefix])
                        prefix += 1
                    bar.update(min(accepted, n) - min(before, n))
            finally:
                for fut in pending:
                    fut.cancel()
                bar.close()
            sample = self._create_empty_sample()
            kept = evaluated = 0
            for b in range(prefix):
                for p in results[b]:
                    if kept >= n or evaluated >= max_eval:
                        break
                    sample.append(p)
                    evaluated += 1
                    kept += bool(p.accepted)
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            if all_accepted:
                self.prior_sample = list(sample.accepted_particles)
            else:
                self.log.append({"generation": t, "simulations": evaluated, "accepted": sample.n_accepted})
                if not self.quiet:  # one line per generation also where no bar is drawn (a log file)
                    print(f"generation {t}: {sample.n_accepted} accepted of {evaluated} simulated",
                          file=sys.stderr, flush=True)
            return sample

    return SeededSampler


def SeededSampler(master: int, pool: _Pool, quiet: bool = False):  # noqa: N802 (a class built on first use)
    """A :class:`pyabc.sampler.Sampler` with per-candidate seeds (pyabc is imported only when calibrating)."""
    return _sampler_class()(master, pool, quiet)


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
    report: Path | None = None

    @property
    def message(self) -> str:
        resumed = f", resumed after generation {self.resumed_from - 1}" if self.resumed_from else ""
        return (f"{self.out}: {self.generations} generations ({self.simulations} simulations{resumed}); "
                f"stopped: {self.stopped} -> {self.out / POSTERIOR}, {self.out / CALIBRATED}")


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(np.interp(q * cw[-1], cw - w[order] / 2, x[order]))


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
        lines.append(f"{b.key} = {_weighted_quantile(posterior[b.key].to_numpy(), w, 0.5)!r}")
    # compare and sweep draw the parameters per replicate from the posterior; run uses the medians above
    lines += ["", "[uncertain]", f"posterior = {json.dumps(POSTERIOR)}", ""]
    path = out / CALIBRATED
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _check_folder(out: Path, fingerprint: str) -> str:
    """``new`` or ``resume``; refuse a folder that holds anything else."""
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
    if any(out.iterdir()):
        raise ScenarioError(f"--out {out}: not empty and not a calibration folder; choose a new folder")
    return "new"


def calibrate(scenario_path: str | Path, targets_path: str | Path, params: Sequence[str], out: str | Path, *,
              population: int = 200, generations: int = 8, min_epsilon: float = 0.0, min_acceptance: float = 0.02,
              ppc: int = 50, seed: int | None = None, steps: int | None = None,
              overrides: Mapping[str, Any] | None = None, executor: Executor | None = None, quiet: bool = False,
              report: bool = True, echo: Callable[[str], None] | None = None) -> CalibrationOutcome:
    """Estimate ``params`` of a scenario from the targets by ABC-SMC; write posterior, checks and report.

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

    Raises:
        ScenarioError: bad scenario, targets, parameters, option or folder (before anything is written).
        RunnerError: the machinery failed; finished generations are kept.
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
    master = base.run.seed if seed is None else int(seed)
    identity = {"scenario": base.model_dump(), "targets": [t.describe() for t in targets],
                "params": [vars(b) for b in bounds], "population": population, "master_seed": master,
                "steps": steps, "measurement_error": "normal, the target's se"}
    if digests := input_digests(base):  # an edited data file is another calibration
        identity["data_files"] = digests
    fingerprint = canonical_hash(identity)
    out = Path(out)
    state = _check_folder(out, fingerprint)
    previous = json.loads((out / MANIFEST).read_text(encoding="utf-8")) if state == "resume" else {}
    stop_rule = {"generations": generations, "min_epsilon": min_epsilon, "min_acceptance": min_acceptance}

    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)  # the progress bar and our lines say what it would
    simulator = Simulator(base, tuple(b.key for b in bounds), tuple(targets), steps)
    prior = pyabc.Distribution(**{b.key: pyabc.RV("uniform", b.lo, b.hi - b.lo) for b in bounds})
    distance = pyabc.PNormDistance(p=2, fixed_weights={t.name: 1.0 / t.se for t in targets})
    observed = {t.name: t.value for t in targets}
    db = out / DB
    manifest = {"kind": "calibration", "fingerprint": fingerprint, "identity": identity,
                "scenario_file": scenario_record(scenario_path), "targets_file": str(targets_path),
                "set": dict(overrides or {}), "library": {"pyabc": pyabc.__version__},
                "seeding": "candidate i of generation t runs with numpy's global generator seeded by "
                           "SeedSequence([master_seed, t + 1, i]).generate_state(1)[0]; the first population "
                           "accepted candidates by index form the generation, whatever --jobs or Dask",
                "versions": versions(), "started_at": now(), "status": "running",
                "executor": executor.describe(), "stop_rule": stop_rule}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MANIFEST, manifest)
    with _Pool(executor) as pool:
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
        if previous.get("status") == "complete" and previous.get("stop_rule") == stop_rule:
            left = 0  # stopped by its own rule before: the same command does not add a generation
        try:
            if left > 0:
                history = abc.run(minimum_epsilon=min_epsilon, max_nr_populations=left,
                                  min_acceptance_rate=min_acceptance)
        except KeyboardInterrupt:
            manifest.update(status="interrupted", finished_at=now())
            write_json(out / MANIFEST, manifest)
            echo(f"interrupted: finished generations are kept in {db}; run the same command again to continue")
            raise
        except RunnerError as exc:
            manifest.update(status="failed", reason=str(exc), finished_at=now())
            write_json(out / MANIFEST, manifest)
            raise
        if sampler.prior_sample is not None:
            write_parquet(out / PRIOR_SAMPLE, _particles_frame(sampler.prior_sample, bounds, targets))
        pops = history.get_all_populations()
        pops = pops[pops["t"] >= 0].reset_index(drop=True)
        done = int(history.max_t) + 1
        frame, w = history.get_distribution(m=0, t=history.max_t)
        posterior = frame[[b.key for b in bounds]].reset_index(drop=True).astype(float)
        posterior.columns.name = None
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
        if ppc:
            write_parquet(out / PPC, _ppc(pool, simulator, posterior, bounds, targets, master, ppc))
    manifest.update(status="complete", finished_at=now(), generations=done, stopped=stopped,
                    simulations=int(gens["simulations"].sum()),
                    files=[POSTERIOR, CALIBRATED, GENERATIONS, DB] + [f for f in (PRIOR_SAMPLE, PPC) if (out / f).is_file()])
    write_json(out / MANIFEST, manifest)
    outcome = CalibrationOutcome(out, done, int(gens["simulations"].sum()), resumed_from, stopped, posterior, bounds)
    if report:
        from analysis.calibration import calibration_report

        outcome.report = calibration_report(out, out / "report")
    return outcome


def _particles_frame(particles: Sequence, bounds: Sequence[Bound], targets: Sequence[Target]) -> pd.DataFrame:
    rows = [{**{b.key: float(p.parameter[b.key]) for b in bounds},
             **{f"sim:{t.name}": float(p.sum_stat[t.name]) for t in targets}} for p in particles]
    return pd.DataFrame(rows)


def _ppc(pool: _Pool, simulator: Simulator, posterior: pd.DataFrame, bounds: Sequence[Bound],
         targets: Sequence[Target], master: int, draws: int) -> pd.DataFrame:
    """Simulate ``draws`` posterior draws again (own seeds and measurement errors): one row each."""
    rng = np.random.default_rng(np.random.SeedSequence([master, 0xC0FFEE]))
    idx = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
    seeds = rng.integers(0, 2**53, size=draws)
    noise = rng.standard_normal((draws, len(targets)))
    items = [({b.key: float(posterior[b.key].iloc[i]) for b in bounds}, int(s), list(z))
             for i, s, z in zip(idx, seeds, noise)]
    size = max(1, math.ceil(len(items) / (2 * pool.workers)))
    stats = pool.map(_simulate_many, simulator, [items[i:i + size] for i in range(0, len(items), size)])
    rows = [{"draw": k, **values, "seed": seed, **{f"sim:{n}": v for n, v in s.items()}}
            for k, ((values, seed, _), s) in enumerate(zip(items, stats))]
    return pd.DataFrame(rows)
