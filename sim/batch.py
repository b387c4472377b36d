"""Batch runs: one run, sweeps and comparisons, with a resumable result store.

The runner turns scenarios into many seeded runs and streams their summaries to
disk. Everything here is deterministic given the master seed: the same command
gives bit-identical files whether it runs serially, on a process pool
(``jobs``) or on a Dask cluster, and whether or not it was killed and resumed.

Seeds:
    Replicate ``r`` uses child ``r`` of ``numpy.random.SeedSequence(master)``,
    turned into a 63-bit integer (:func:`replicate_seeds`). Every design point
    and every compared scenario uses the same seed for the same replicate
    (common random numbers), and each row records its seed, so a single run is
    reproduced with ``run.py run SCENARIO --seed SEED --set key=value``.

Store layout of an output folder:
    ``manifest.json`` (identity of the job, versions, times, counts),
    ``parts/part-00012.parquet`` (rows of chunk 12; ``parts/ts-00012.parquet``
    its time series for ``compare``), and at the end ``results.parquet`` (and
    ``timeseries.parquet``), consolidated in chunk order. Every file is
    written to a temporary name and renamed, so a part exists whole or not at
    all; a rerun skips the chunks whose parts exist.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .scenario import Scenario, ScenarioError, load_scenario, parse_value

__all__ = [
    "HEADLINE_KPIS",
    "MAIN_SCENARIOS",
    "ParamSpec",
    "build_design",
    "morris_sample",
    "compare",
    "compare_main",
    "parse_overrides",
    "parse_param",
    "replicate_seeds",
    "dask_batch_size",
    "run_chunk",
    "run_chunks",
    "run_single",
    "scenario_files",
    "summarize_run",
    "sweep",
    "validate_paths",
]

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"

#: KPIs printed after a single run and at the end of a comparison.
HEADLINE_KPIS: tuple[str, ...] = (
    "cooperation_rate",
    "mean_trust",
    "mean_commitment",
    "members",
    "free_rider_share",
    "profit",
    "brand_equity",
    "payoff_gini",
)

#: Scenarios (stems in ``scenarios/``) compared by ``compare-main``: the
#: baseline, the four structures, the mechanism variants, the six marketing modes.
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
)

#: Replicates and master seed of ``compare-main`` (chosen so that it finishes
#: in under five minutes on two cores; see the README).
MAIN_REPLICATES = 20
MAIN_SEED = 20240601

DESIGNS = ("grid", "lhs", "sobol", "morris")

#: Grid levels of the Morris trajectory design (SALib ``num_levels``); the step is levels / (2 (levels - 1)) of a range.
MORRIS_LEVELS = 4
MAX_CHUNK = 50
#: A Dask task carries whole chunks until it takes about this long in its worker (see ``_dask``).
DASK_TASK_SECONDS = 1.0
MANIFEST = "manifest.json"


# --------------------------------------------------------------------------- small helpers


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _canonical_hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to a temporary name and rename it to ``path``: the file exists whole or not at all.
    ``sync`` also flushes it to disk first (the manifest; part files skip it)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    _write_atomic(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as the bytes of a Parquet file."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _write_parquet(path: Path, frame: pd.DataFrame) -> None:
    _write_atomic(path, _parquet_bytes(frame), sync=False)


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a result depends on."""
    from importlib import metadata

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("clustercoop", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "networkx",
                 "scipy", "SALib", "dask", "distributed", "tqdm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=5, check=False).stdout.strip()
        if commit:
            out["git_commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def scenario_chain(path: Path) -> list[Path]:
    """The file and every file it ``extends``, nearest first (after a successful load)."""
    chain, seen = [], set()
    path = Path(path)
    while path.resolve() not in seen and path.is_file():
        seen.add(path.resolve())
        chain.append(path)
        parent = tomllib.loads(path.read_text(encoding="utf-8")).get("extends")
        if not isinstance(parent, str):
            break
        path = path.parent / parent
    return chain


def scenario_record(path: Path) -> dict[str, Any]:
    """File name, sha256 and the sha256 of every file in its ``extends`` chain."""
    chain = scenario_chain(Path(path))
    return {
        "file": str(path),
        "sha256": _sha256(Path(path)),
        "extends_chain": [{"file": p.name, "sha256": _sha256(p)} for p in chain[1:]],
    }


# --------------------------------------------------------------------------- validation


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files named by ``paths``: files as given, folders searched for ``*.toml``.

    Raises:
        ScenarioError: a path does not exist or a folder holds no TOML file.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.toml"))
            if not found:
                raise ScenarioError(f"{p}: no scenario files (*.toml) in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: file not found")
    return files


def validate_paths(paths: Sequence[str | Path]) -> list[tuple[Path, Scenario | None, str | None]]:
    """Load every scenario file under ``paths``; collect every problem instead of stopping.

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
                out.append((f, load_scenario(f), None))
            except ScenarioError as exc:
                out.append((f, None, str(exc)))
    return out


def parse_overrides(items: Sequence[str] | None, source: str = "--set") -> dict[str, Any]:
    """Parse ``dotted.key=value`` strings (values typed as TOML) into a dict.

    Raises:
        ScenarioError: an item without ``=`` or a key given twice.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"{source} {item!r}: expected dotted.key=value, e.g. structure.kind=star")
        if key in out:
            raise ScenarioError(f"{source} {key}: given twice")
        out[key] = parse_value(text.strip())
    return out


def _check_key(base: Scenario, key: str, source: str) -> Any:
    """The current value at ``key``; a ScenarioError listing allowed keys if there is none."""
    node: Any = base.model_dump()
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:i]) or "<top level>"
            allowed = ", ".join(sorted(node)) if isinstance(node, dict) else "(none: not a section)"
            raise ScenarioError(f"{source} {key}: unknown key; allowed keys under {where}: {allowed}")
        node = node[part]
    if isinstance(node, dict):
        raise ScenarioError(f"{source} {key}: is a section, not a value; give one of its keys, "
                            f"e.g. {key}.{next(iter(node))}")
    return node


# --------------------------------------------------------------------------- seeds and designs


def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """Seeds of replicates ``0..replicates-1``: SeedSequence children as 53-bit integers.

    Replicate ``r`` always gets the same seed whatever the number of replicates.
    53 bits keep a seed exact when a spreadsheet or a float column carries it.
    """
    children = np.random.SeedSequence(int(master_seed)).spawn(int(replicates))
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(11)) for c in children]


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: a list of values or a range ``lo:hi[:n]``.

    Attributes:
        name: dotted scenario key.
        spec: the text as given.
        kind: ``"int"``, ``"float"``, ``"bool"`` or ``"str"`` (the field's type).
        values: the listed values, or ``None`` for a range.
        low, high, n: the range, ``n`` points for a grid.
    """

    name: str
    spec: str
    kind: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None

    def grid_values(self) -> list:
        """The values a grid visits."""
        if self.values is not None:
            return list(self.values)
        pts = np.linspace(self.low, self.high, self.n)
        if self.kind == "int":
            return list(dict.fromkeys(int(round(v)) for v in pts))
        return [float(v) for v in pts]

    def from_unit(self, u: np.ndarray) -> list:
        """Map sampler output (within the bounds of :meth:`bounds`) to values."""
        if self.values is not None:
            idx = np.minimum(np.floor(u).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.kind == "int":
            return [int(round(v)) for v in u]
        return [float(v) for v in u]

    def bounds(self) -> list[float]:
        """Sampler bounds: the range, or ``[0, k]`` over the index of a list."""
        if self.values is not None:
            return [0.0, float(len(self.values))]
        return [float(self.low), float(self.high)]

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for the manifest."""
        if self.values is not None:
            return {"name": self.name, "spec": self.spec, "type": self.kind, "values": list(self.values)}
        return {"name": self.name, "spec": self.spec, "type": self.kind, "low": self.low,
                "high": self.high, "n": self.n}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def parse_param(text: str, base: Scenario, design: str) -> ParamSpec:
    """Parse ``dotted.key=SPEC`` against the base scenario.

    SPEC is a list ``a,b,c`` or a range ``lo:hi:n`` (``n`` points on a grid;
    ``lo:hi`` suffices for lhs, sobol and morris). Values are checked against the schema.

    Raises:
        ScenarioError: naming the parameter, the bad value and what is allowed.
    """
    source = "--param"
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ScenarioError(f"{source} {text!r}: expected dotted.key=SPEC with SPEC a,b,c or lo:hi:n")
    current = _check_key(base, name, source)
    kind = _kind_of(current) if current is not None else "float"

    def check(value: Any) -> Any:
        base.with_overrides({name: value}, source=f"{source} {name}={value!r}")
        return value

    if ":" in spec and "," not in spec and kind in ("int", "float"):
        pieces = spec.split(":")
        if len(pieces) not in (2, 3):
            raise ScenarioError(f"{source} {name}: range {spec!r} must be lo:hi:n")
        try:
            low, high = float(pieces[0]), float(pieces[1])
            n = int(pieces[2]) if len(pieces) == 3 else None
        except ValueError:
            raise ScenarioError(f"{source} {name}: range {spec!r} must be numbers lo:hi:n, "
                                f"n a whole number") from None
        if not low < high:
            raise ScenarioError(f"{source} {name}: range {spec!r} needs lo < hi")
        if design == "grid" and (n is None or n < 2):
            raise ScenarioError(f"{source} {name}: a grid range needs n >= 2 points, as lo:hi:n (got {spec!r})")
        for v in (low, high):
            check(int(round(v)) if kind == "int" else v)
        return ParamSpec(name, spec, kind, low=low, high=high, n=n)
    values = [parse_value(v.strip()) for v in spec.split(",") if v.strip() != ""]
    if not values:
        raise ScenarioError(f"{source} {name}: no values in {spec!r}")
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(f"{source} {name}: repeated values in {spec!r}")
    for v in values:
        check(v)
    if kind == "float":
        values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
    return ParamSpec(name, spec, kind, values=tuple(values))


def morris_sample(problem: dict[str, Any], trajectories: int, seed: int) -> np.ndarray:
    """SALib's Morris trajectories for ``problem``: ``trajectories * (k + 1)`` rows within the bounds.

    Deterministic in ``seed`` (the sweep's master seed), so the analysis can draw
    the same design again (``analysis.sensitivity.sweep_morris``).
    """
    from SALib.sample import morris

    return morris.sample(problem, int(trajectories), num_levels=MORRIS_LEVELS, seed=int(seed) % (2**32))


def build_design(params: Sequence[ParamSpec], design: str, samples: int | None, seed: int) -> pd.DataFrame:
    """The design points, one row per point and one column per parameter.

    Args:
        params: the swept parameters.
        design: ``grid`` (all combinations), ``lhs`` (SALib Latin hypercube,
            ``samples`` points), ``sobol`` (SALib Saltelli/Sobol' sequence,
            ``samples * (2 * len(params) + 2)`` points) or ``morris`` (SALib
            Morris trajectories on :data:`MORRIS_LEVELS` levels, ``samples``
            trajectories of ``len(params) + 1`` points).
        samples: base sample size for lhs and sobol; trajectories for morris.
        seed: the master seed (seeds the samplers).

    Raises:
        ScenarioError: unknown design, or samples missing or not allowed.
    """
    if design not in DESIGNS:
        raise ScenarioError(f"--design {design!r}: unknown design; allowed: {', '.join(DESIGNS)}")
    if not params:
        raise ScenarioError("--param: give at least one parameter to sweep, e.g. --param mechanisms.regulation.sanction=0:2:5")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ScenarioError(f"--param: a parameter is given twice: {', '.join(names)}")
    if design == "grid":
        if samples is not None:
            raise ScenarioError("--samples: only for --design lhs, sobol or morris (a grid visits every combination)")
        rows = list(itertools.product(*(p.grid_values() for p in params)))
        cols = {p.name: [r[i] for r in rows] for i, p in enumerate(params)}
        return pd.DataFrame(cols)
    n = 16 if samples is None else int(samples)
    if n < 1:
        raise ScenarioError(f"--samples {n}: must be >= 1")
    if design == "morris" and n < 2:
        raise ScenarioError(f"--samples {n}: the Morris design needs at least 2 trajectories (10 to 50 is usual)")
    if design == "sobol" and n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        raise ScenarioError(f"--samples {n}: the Sobol' design needs a power of 2; allowed e.g. {lower} or {lower * 2}")
    problem = {"num_vars": len(params), "names": names, "bounds": [p.bounds() for p in params]}
    if design == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, n, seed=int(seed) % (2**32))
    elif design == "morris":
        x = morris_sample(problem, n, seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, n, calc_second_order=True, seed=int(seed) % (2**32))
    return pd.DataFrame({p.name: p.from_unit(x[:, i]) for i, p in enumerate(params)})


# --------------------------------------------------------------------------- one run, one chunk


def _model_run_one() -> Callable:
    from sim import run_one

    return run_one


def summarize_run(frame: pd.DataFrame) -> dict[str, float]:
    """``<col>_final`` and ``<col>_mean`` of every model column (``step`` left out)."""
    from .metrics import summarize

    # summarize every column and drop step's two entries: the same dict as summarizing
    # ``frame.drop(columns=["step"])`` (columns are reduced one by one), without copying
    # the frame (the copy cost more than the summary itself on small runs)
    out = summarize(frame)
    out.pop("step_final", None)
    out.pop("step_mean", None)
    return out


@dataclass
class RunItem:
    """One run of a chunk: ids for its row, the scenario to use, its seed."""

    run_id: int
    base: int
    overrides: dict[str, Any]
    seed: int
    meta: dict[str, Any]


@dataclass
class Chunk:
    """A batch of runs sent to a worker as one task."""

    index: int
    bases: list[Scenario]
    items: list[RunItem]
    steps: int | None
    keep_timeseries: bool = False


@dataclass
class ChunkResult:
    """What a worker returns: its chunk's summary rows and, for comparisons, the KPI series, both already
    encoded as Parquet files. Encoding a wide frame is most of the cost of writing a part (about 50 ms
    for 50 rows); done in the workers it runs in parallel, and the runner's one process, which shares
    the cores with them, only writes the bytes."""

    index: int
    rows: bytes  # Parquet: one row per run
    timeseries: bytes | None = None  # Parquet: the KPI series of every run (compare only)
    n_runs: int = 0
    seconds: float = 0.0  # wall time in the worker (sizes Dask's tasks; never written)


_first_chunk_of_process = True  # cleared by run_chunk

#: Environment variable naming a file to which every process that runs chunks (the runner
#: serially, ``--jobs`` workers, Dask workers) appends one line per chunk: ``pid index runs start
#: end``, wall-clock seconds. Unset, nothing is written. The benchmark times a sweep's steady state
#: from it (``benchmarks/sweeps.py``).
CHUNK_LOG_ENV = "CLUSTERCOOP_CHUNK_LOG"


def run_chunk(chunk: Chunk) -> ChunkResult:
    """Run every item of a chunk; return summaries (never models).

    The first chunk of a process freezes the garbage collector's view of what the imports made
    (``gc.freeze()``): some 200,000 objects of the model, pandas, pyarrow, numba and, in a Dask
    worker, distributed, which live as long as the process. Python's first full collection
    scanned them all, 0.12 to 0.14 s of CPU inside a chunk (in a Dask worker, its second chunk,
    which then took 1.4x as long as later ones in 7 of 7 benchmark rounds); with them frozen it
    takes 0.02 to 0.03 s. The runs' own objects are collected as before.
    """
    global _first_chunk_of_process
    t0, started = time.perf_counter(), time.time()
    run_one = _model_run_one()
    if _first_chunk_of_process:
        gc.freeze()
        _first_chunk_of_process = False
    rows, series = [], []
    for item in chunk.items:
        scenario = chunk.bases[item.base]
        if item.overrides:
            scenario = scenario.with_overrides(item.overrides, source="design point")
        frame = run_one(scenario, item.seed, chunk.steps)
        rows.append({"run_id": item.run_id, **item.meta, **summarize_run(frame)})
        if chunk.keep_timeseries:
            ts = frame.copy()
            keys = [k for k in item.meta if k != "scenario_file"]
            for i, k in enumerate(keys):
                ts.insert(i, k, item.meta[k])
            series.append(ts)
    ts_bytes = _parquet_bytes(pd.concat(series, ignore_index=True)) if series else None
    result = ChunkResult(chunk.index, _parquet_bytes(pd.DataFrame(rows)), ts_bytes, len(chunk.items), time.perf_counter() - t0)
    log = os.environ.get(CHUNK_LOG_ENV)
    if log:  # one short line in append mode: lines of concurrent workers do not interleave
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {chunk.index} {len(chunk.items)} {started:.6f} {time.time():.6f}\n")
    return result


def run_chunks(chunks: list[Chunk]) -> list[ChunkResult]:
    """Run several chunks in one task (Dask, ``_dask``); one result per chunk."""
    return [run_chunk(c) for c in chunks]


# --------------------------------------------------------------------------- executors


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serial(chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
    for chunk in chunks:
        yield run_chunk(chunk)


def _bounded(submit: Callable, wait_one: Callable, chunks: Iterator[Chunk], limit: int) -> Iterator[ChunkResult]:
    """Keep at most ``limit`` tasks in flight; yield results as they finish."""
    pending: set = set()
    for chunk in chunks:
        pending.add(submit(chunk))
        while len(pending) >= limit:
            done, pending = wait_one(pending)
            for fut in done:
                yield fut.result()
    while pending:
        done, pending = wait_one(pending)
        for fut in done:
            yield fut.result()


def _processes(chunks: Iterator[Chunk], jobs: int) -> Iterator[ChunkResult]:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_sigint)
    try:
        def wait_one(pending):
            done, rest = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            return done, rest

        yield from _bounded(lambda c: pool.submit(run_chunk, c), wait_one, chunks, 2 * jobs)
    except GeneratorExit:
        # stopped early (Ctrl-C): unfinished chunks are lost anyway, so do not wait for them
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(scheduler: str | None, local_workers: int | None, processes: bool = True):
    """Connect to a scheduler or start a LocalCluster; return ``(client, cluster or None)``."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a pinned dependency
        raise ScenarioError("--scheduler/--dask-local: needs dask[distributed]; pip install 'dask[distributed]'") from None
    # Unset: MALLOC_TRIM_THRESHOLD_=65536, which Dask's default pre-spawn environment gives every
    # worker a nanny starts (None removes a variable there), against fragmentation in long-lived
    # workers holding large data. Ours hold one task at a time (a chunk or a few, see
    # dask_batch_size), as --jobs workers hold one chunk (whose memory the benchmark measures
    # flat over 5x the runs). With it, glibc hands memory back to
    # the system whenever 64 KiB are free at the top of the heap and faults it in again on the
    # next allocation: 40 chunks of 50 tiny runs on two workers ran 1 to 2 % faster without it
    # (3 of 3 interleaved rounds: 387 vs 378, 384 vs 382, 387 vs 383 runs/s).
    # The workers' statistical profiler (on by default) samples the task thread's Python
    # stack every 10 ms from the event-loop thread, competing for the GIL with the
    # pure-Python model step; nobody reads those profiles here (no dashboard), so it is
    # off for the workers we start (the nanny hands this config to its worker).
    # Housekeeping timers also wake every process of a LocalCluster (scheduler, nannies, workers)
    # many times a second; on a machine whose cores all run workers that time comes out of the
    # runs, so the event-loop health check, the system monitor and the nanny's memory poll run
    # at a calmer pace, and work stealing (tasks of about equal length, submitted a few at a time)
    # is off.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                          "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
                          "distributed.worker.profile.enabled": False,
                          "distributed.admin.tick.interval": "500ms",
                          "distributed.admin.system-monitor.interval": "5s",
                          "distributed.worker.memory.monitor-interval": "1s",
                          "distributed.scheduler.work-stealing": False}):
        if scheduler:
            try:
                return Client(scheduler, timeout="20s"), None
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        cluster = LocalCluster(n_workers=int(local_workers), threads_per_worker=1, processes=processes,
                               dashboard_address=None, silence_logs=40)
        return Client(cluster), cluster


def dask_batch_size(chunk_seconds: float | None, left: int, workers: int, target: float = DASK_TASK_SECONDS) -> int:
    """Chunks in the next Dask task: enough for about ``target`` seconds of work, one while unknown.

    Each Dask task costs the machine some 10 to 20 ms beyond its runs (the scheduler's transitions,
    the client fetching the result, the worker's messages and its event loop taking the GIL from
    the runs; estimated from the runner's CPU per task and Dask's gap to ``--jobs``): 4 to 8 % of a
    0.25 s chunk of tiny runs on two cores. Tasks of several chunks spread that over a second of
    work. So that no worker waits at the end for another's long task, a task takes
    at most a ``2 * workers``-th of the chunks still to submit (``left``): the last tasks are single
    chunks again.

    Args:
        chunk_seconds: mean worker time of the chunks finished so far (None before the first).
        left: chunks not yet submitted.
        workers: workers of the cluster.
        target: seconds of work per task.
    """
    if not chunk_seconds or chunk_seconds <= 0:
        return 1
    return max(1, min(math.ceil(target / chunk_seconds), left // (2 * workers)))


def _dask(chunks: Iterator[Chunk], client, tag: str, total: int | None = None) -> Iterator[ChunkResult]:
    """Chunks on Dask, several per task once their time is known (``dask_batch_size``).

    Batching changes only which task runs a chunk: every chunk still has its own result and
    part file, so results, part files and resuming are the same as with one chunk per task.
    """
    from distributed import wait

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    chunks = iter(chunks)
    seconds: list[float] = []  # worker time of each finished chunk

    def batches() -> Iterator[list[Chunk]]:
        left = total
        while True:
            k = 1 if left is None else dask_batch_size(sum(seconds) / len(seconds) if seconds else None, left, workers)
            batch = list(itertools.islice(chunks, k))
            if not batch:
                return
            if left is not None:
                left -= len(batch)
            yield batch

    def submit(batch: list[Chunk]):
        # pure=False and the chunk indices in the key: identical runs are never merged
        key = f"clustercoop-{tag}-chunks-{batch[0].index:06d}-{batch[-1].index:06d}"
        return client.submit(run_chunks, batch, key=key, pure=False)

    def wait_one(pending):
        res = wait(list(pending), return_when="FIRST_COMPLETED")
        return res.done, set(res.not_done)

    tasks = _bounded(submit, wait_one, batches(), 2 * workers + 2)
    try:
        for results in tasks:
            for result in results:
                seconds.append(result.seconds)
                yield result
    finally:  # stopped early (Ctrl-C): drop the futures in flight now
        tasks.close()


@dataclass
class Executor:
    """How to run chunks: serially, on ``jobs`` processes, or on Dask."""

    jobs: int = 1
    scheduler: str | None = None
    dask_local: int | None = None
    dask_processes: bool = True

    def __post_init__(self) -> None:
        chosen = [x for x in (self.jobs != 1, self.scheduler is not None, self.dask_local is not None) if x]
        if len(chosen) > 1:
            raise ScenarioError("--jobs, --scheduler and --dask-local: choose one")
        if self.jobs < 1:
            raise ScenarioError(f"--jobs {self.jobs}: must be >= 1")
        if self.dask_local is not None and self.dask_local < 1:
            raise ScenarioError(f"--dask-local {self.dask_local}: must be >= 1 worker")

    @property
    def workers(self) -> int:
        """How many chunks run at once (an estimate for a remote cluster)."""
        if self.dask_local:
            return self.dask_local
        if self.scheduler:
            return 8
        return self.jobs

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for the manifest."""
        if self.scheduler:
            return {"kind": "dask", "scheduler": "remote"}
        if self.dask_local:
            return {"kind": "dask-local", "workers": self.dask_local}
        return {"kind": "processes" if self.jobs > 1 else "serial", "jobs": self.jobs}

    def __enter__(self) -> "Executor":
        self._client, self._cluster = (None, None)
        if self.scheduler or self.dask_local:
            self._client, self._cluster = _dask_client(self.scheduler, self.dask_local, self.dask_processes)
        return self

    def __exit__(self, *exc) -> None:
        if getattr(self, "_client", None) is not None:
            self._client.close()
        if getattr(self, "_cluster", None) is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def map(self, chunks: Iterator[Chunk], tag: str, total: int | None = None) -> Iterator[ChunkResult]:
        """Results of the chunks, in completion order (inside ``with executor:`` for Dask).

        ``total`` (the number of chunks) lets Dask put several chunks in one task; without it,
        every task is one chunk.
        """
        if self.scheduler or self.dask_local:
            return _dask(chunks, self._client, tag, total)
        if self.jobs > 1:
            return _processes(chunks, self.jobs)
        return _serial(chunks)


# --------------------------------------------------------------------------- the store


@dataclass
class Job:
    """Everything that identifies a batch job, and how to produce its chunks.

    Attributes:
        kind: ``"sweep"`` or ``"compare"``.
        identity: what must match for a rerun to resume (hashed into the fingerprint).
        record: extra manifest fields (files, hashes, design description).
        total: number of runs.
        chunk_size: runs per chunk (kept from the first session on resume).
        make_item: ``run_id -> RunItem``.
        bases: the base scenarios the items refer to.
        steps: steps per run (``None``: each scenario's ``run.steps``).
        keep_timeseries: also store each run's time series.
    """

    kind: str
    identity: dict[str, Any]
    record: dict[str, Any]
    total: int
    make_item: Callable[[int], RunItem]
    bases: list[Scenario]
    steps: int | None
    keep_timeseries: bool = False
    chunk_size: int = 0
    fingerprint: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.fingerprint = _canonical_hash(self.identity)

    def chunk(self, index: int) -> Chunk:
        """Chunk ``index``: run ids ``[index * size, (index + 1) * size)``."""
        lo = index * self.chunk_size
        hi = min(self.total, lo + self.chunk_size)
        return Chunk(index, self.bases, [self.make_item(i) for i in range(lo, hi)], self.steps,
                     self.keep_timeseries)

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return math.ceil(self.total / self.chunk_size)


def default_chunk_size(total: int) -> int:
    """Runs per task: ``total / 16`` (at least 1, at most ``MAX_CHUNK``).

    A chunk is one task and one part file, so it is sized from the job alone, never
    from the executor: a sweep started serially resumes on ``--jobs`` or Dask with
    the same chunks (the size is also kept in the manifest). Sixteen chunks keep two
    to four workers balanced (at least four chunks each); beyond 800 runs the chunks
    stay at ``MAX_CHUNK`` runs, which bounds the work lost when a sweep is killed and
    the rows and time series a worker holds at once. Tiny runs (tens of ms) need
    chunks of dozens of runs: the benchmark's 600-run sweep on ``--jobs 2`` ran at
    about 70 runs/s with the former 9-run chunks and 84 to 94 with 31 to 50.
    """
    return max(1, min(MAX_CHUNK, total // 16))


class ResultStore:
    """The output folder of a job: manifest, part files, consolidated tables."""

    def __init__(self, out: Path, job: Job):
        self.out = Path(out)
        self.job = job
        self.parts = self.out / "parts"
        self.manifest_path = self.out / MANIFEST
        self.manifest: dict[str, Any] = {}

    # -- opening

    def check(self) -> str:
        """Compare with what is on disk: ``"new"``, ``"resume"`` or ``"complete"``.

        Raises:
            ScenarioError: the folder holds something else or a different job.
        """
        if not self.out.exists():
            return "new"
        if not self.out.is_dir():
            raise ScenarioError(f"--out {self.out}: exists and is not a folder")
        if not self.manifest_path.is_file():
            if any(self.out.iterdir()):
                raise ScenarioError(f"--out {self.out}: exists, is not empty and holds no {MANIFEST}; "
                                    "choose a new folder")
            return "new"
        try:
            old = json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ScenarioError(f"--out {self.out}: unreadable {MANIFEST} ({exc}); choose a new folder") from None
        if old.get("kind") != self.job.kind or old.get("fingerprint") != self.job.fingerprint:
            old_id = old.get("identity", {})
            diff = sorted(k for k in set(old_id) | set(self.job.identity)
                          if old_id.get(k) != self.job.identity.get(k))
            raise ScenarioError(
                f"--out {self.out}: holds a different {old.get('kind', 'job')} "
                f"(differs in: {', '.join(diff) or 'kind'}); use a new --out folder or remove this one")
        self.manifest = old
        self.job.chunk_size = int(old.get("chunk_size", self.job.chunk_size))
        if old.get("status") == "complete" and (self.out / "results.parquet").is_file():
            return "complete"
        return "resume"

    def open(self, executor: Executor, state: str) -> None:
        """Create the folder and manifest, or mark a new session of a resumed job."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        for tmp in self.parts.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
        session = {"started_at": _now(), "executor": executor.describe(), "versions": versions()}
        if state == "new" or not self.manifest:
            self.manifest = {
                "kind": self.job.kind,
                "fingerprint": self.job.fingerprint,
                **self.job.record,
                "chunk_size": self.job.chunk_size,
                "versions": session["versions"],
                "started_at": session["started_at"],
                "finished_at": None,
                "status": "running",
                "counts": {"runs_total": self.job.total, "runs_done": 0, "chunks_total": self.job.n_chunks},
                "sessions": [],
                "identity": self.job.identity,
            }
        self.manifest["status"] = "running"
        self.manifest["sessions"].append(session)
        self.save()

    def save(self) -> None:
        """Write the manifest atomically."""
        _write_json(self.manifest_path, self.manifest)

    # -- parts

    def _part(self, prefix: str, index: int) -> Path:
        return self.parts / f"{prefix}-{index:05d}.parquet"

    def done_chunks(self) -> set[int]:
        """Chunks whose results part exists (written last, so the chunk is whole)."""
        if not self.parts.is_dir():
            return set()
        done = set()
        for p in self.parts.glob("part-*.parquet"):
            try:
                done.add(int(p.stem.split("-")[1]))
            except (IndexError, ValueError):
                continue
        return {i for i in done if i < self.job.n_chunks}

    def runs_in(self, chunks: Iterable[int]) -> int:
        """Number of runs in the given chunks."""
        size, total = self.job.chunk_size, self.job.total
        return sum(min(total, (i + 1) * size) - i * size for i in chunks)

    def write(self, result: ChunkResult) -> None:
        """Write one chunk's parts: time series first, rows last (the rows mark it done)."""
        if result.timeseries is not None:
            _write_atomic(self._part("ts", result.index), result.timeseries, sync=False)
        _write_atomic(self._part("part", result.index), result.rows, sync=False)

    # -- finishing

    def _consolidate(self, prefix: str, name: str) -> int:
        """Stream the parts of one table, in chunk order, into ``name`` (atomically)."""
        target = self.out / name
        tmp = target.with_name(f".{name}.tmp-{os.getpid()}")
        writer = None
        rows, buffer, buffered = 0, [], 0
        try:
            for i in range(self.job.n_chunks):
                part = self._part(prefix, i)
                if not part.is_file():
                    continue
                table = pq.read_table(part)
                buffer.append(table)
                buffered += table.num_rows
                if buffered >= 20_000:
                    writer = self._flush(writer, tmp, buffer)
                    rows += buffered
                    buffer, buffered = [], 0
            if buffer:
                writer = self._flush(writer, tmp, buffer)
                rows += buffered
            if writer is not None:
                writer.close()
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return rows

    @staticmethod
    def _flush(writer, tmp: Path, tables: list) -> Any:
        table = pa.concat_tables(tables, promote_options="default")
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table.cast(writer.schema))
        return writer

    def finish(self) -> int:
        """Consolidate the parts, mark the job complete, remove the parts; return rows written."""
        rows = self._consolidate("part", "results.parquet")
        if self.job.keep_timeseries:
            self._consolidate("ts", "timeseries.parquet")
        self.manifest["status"] = "complete"
        self.manifest["finished_at"] = _now()
        self.manifest["counts"]["runs_done"] = rows
        self.manifest["sessions"][-1]["finished_at"] = self.manifest["finished_at"]
        self.save()
        for p in self.parts.glob("*.parquet"):
            p.unlink(missing_ok=True)
        try:
            self.parts.rmdir()
        except OSError:
            pass
        return rows


def _progress(total: int, initial: int, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    disable = quiet or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=disable, dynamic_ncols=True,
                smoothing=0.1)


@dataclass
class Outcome:
    """What a batch job did, for the command line to report."""

    out: Path
    state: str
    total: int
    done_before: int
    done_now: int

    @property
    def message(self) -> str:
        """One line for the user."""
        if self.state == "complete":
            return (f"{self.out}: already complete ({self.total} runs in results.parquet); nothing to do")
        resumed = f", resumed after {self.done_before} already done" if self.done_before else ""
        return f"{self.out}: {self.total} runs{resumed} -> {self.out / 'results.parquet'}"


def execute(job: Job, out: Path, executor: Executor, quiet: bool = False,
            echo: Callable[[str], None] | None = None) -> Outcome:
    """Run the chunks of ``job`` that are not yet on disk, then consolidate.

    ``KeyboardInterrupt`` stops the executor, keeps the finished chunks, marks the
    manifest ``interrupted`` and is re-raised.
    """
    echo = echo or (lambda s: print(s, file=sys.stderr))
    log = os.environ.get(CHUNK_LOG_ENV)
    if log:  # the workers append to it; say so now rather than fail in the middle of a sweep
        try:
            open(log, "a", encoding="utf-8").close()
        except OSError as exc:
            raise ScenarioError(f"{CHUNK_LOG_ENV}={log}: cannot append to this file ({exc.strerror})") from None
    store = ResultStore(out, job)
    if not job.chunk_size:
        job.chunk_size = default_chunk_size(job.total)
    state = store.check()
    if state == "complete":
        return Outcome(store.out, state, job.total, job.total, 0)
    done = store.done_chunks() if state == "resume" else set()
    before = store.runs_in(done)
    with executor:
        store.open(executor, state)
        return _execute(job, store, executor, done, before, quiet, echo)


def _execute(job: Job, store: ResultStore, executor: Executor, done: set[int], before: int, quiet: bool,
             echo: Callable[[str], None]) -> Outcome:
    todo = [i for i in range(job.n_chunks) if i not in done]
    if before and not quiet:
        echo(f"{store.out}: resuming, {before} of {job.total} runs already done")
    bar = _progress(job.total, before, job.kind, quiet)
    done_now = 0
    results = executor.map((job.chunk(i) for i in todo), tag=job.fingerprint[:12], total=len(todo))
    try:
        for result in results:
            store.write(result)
            done_now += result.n_runs
            bar.update(result.n_runs)
    except KeyboardInterrupt:
        results.close()
        bar.close()
        kept = store.runs_in(store.done_chunks())
        store.manifest["status"] = "interrupted"
        store.manifest["counts"]["runs_done"] = kept
        store.manifest["sessions"][-1]["finished_at"] = _now()
        store.save()
        echo(f"interrupted: kept {kept} of {job.total} runs in {store.out}; "
             "run the same command again to continue")
        raise
    finally:
        bar.close()
    store.finish()
    return Outcome(store.out, "done", job.total, before, done_now)


# --------------------------------------------------------------------------- commands


def _load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    return load_scenario(Path(path), overrides or None)


def _check_steps(steps: int | None) -> None:
    if steps is not None and steps < 1:
        raise ScenarioError(f"--steps {steps}: must be >= 1")


def _check_seed(seed: int | None) -> None:
    if seed is not None and seed < 0:
        raise ScenarioError(f"--seed {seed}: must be >= 0")


def run_single(scenario_path: str | Path, out: str | Path, seed: int | None = None, steps: int | None = None,
               overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One run: ``timeseries.parquet``, ``summary.json`` and ``manifest.json`` in ``out``.

    Args:
        scenario_path: scenario file.
        out: output folder (created; files in it are replaced).
        seed: model seed (default: the scenario's ``run.seed``).
        steps: steps (default: the scenario's ``run.steps``).
        overrides: dotted overrides applied after the file.

    Returns:
        The summary (``<kpi>_final`` / ``<kpi>_mean``) with the scenario name, seed and steps.
    """
    _check_steps(steps)
    _check_seed(seed)
    scenario = _load(scenario_path, overrides)
    seed = scenario.run.seed if seed is None else int(seed)
    steps = scenario.run.steps if steps is None else int(steps)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: exists and is not a folder")
    started = _now()
    frame = _model_run_one()(scenario, seed, steps)
    summary = {"scenario": scenario.name, "seed": seed, "steps": steps, **summarize_run(frame)}
    manifest = {
        "kind": "run",
        "scenario": scenario_record(Path(scenario_path)),
        "overrides": dict(overrides or {}),
        "seed": seed,
        "steps": steps,
        "resolved_scenario": scenario.model_dump(),
        "versions": versions(),
        "started_at": started,
        "finished_at": _now(),
        "counts": {"steps": len(frame), "columns": len(frame.columns)},
    }
    out.mkdir(parents=True, exist_ok=True)
    _write_parquet(out / "timeseries.parquet", frame)
    _write_json(out / "summary.json", summary)
    _write_json(out / MANIFEST, manifest)
    return summary


def sweep(scenario_path: str | Path, params: Sequence[str], out: str | Path, design: str = "grid",
          samples: int | None = None, replicates: int = 1, seed: int | None = None, steps: int | None = None,
          overrides: Mapping[str, Any] | None = None, executor: Executor | None = None,
          quiet: bool = False) -> Outcome:
    """Sweep parameters of one scenario over a design, with replicates; see the module docstring.

    Raises:
        ScenarioError: bad scenario, parameter, design or output folder (before anything is written).
    """
    executor = executor or Executor()
    _check_steps(steps)
    _check_seed(seed)
    if replicates < 1:
        raise ScenarioError(f"--replicates {replicates}: must be >= 1")
    if design not in DESIGNS:
        raise ScenarioError(f"--design {design!r}: unknown design; allowed: {', '.join(DESIGNS)}")
    base = _load(scenario_path, overrides)
    master = base.run.seed if seed is None else int(seed)
    specs = [parse_param(p, base, design) for p in params]
    points = build_design(specs, design, samples, master)
    names = [s.name for s in specs]
    records = points.to_dict("records")
    if len(records) <= 20_000:
        for i, rec in enumerate(records):
            base.with_overrides(rec, source=f"--param design point {i} {rec}")
    seeds = replicate_seeds(master, replicates)

    def make_item(run_id: int) -> RunItem:
        p, r = divmod(run_id, replicates)
        rec = records[p]
        return RunItem(run_id, 0, rec, seeds[r], {**rec, "replicate": r, "seed": seeds[r]})

    identity = {
        "scenario": base.model_dump(),
        "overrides": dict(overrides or {}),
        "design": design,
        "params": [s.describe() for s in specs],
        "samples": samples,
        "points_sha256": _canonical_hash(records),
        "replicates": replicates,
        "master_seed": master,
        "steps": steps,
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
    job = Job("sweep", identity, record, len(records) * replicates, make_item, [base], steps)
    return execute(job, Path(out), executor, quiet)


def compare(scenario_paths: Sequence[str | Path], out: str | Path, replicates: int = 10,
            seed: int | None = None, steps: int | None = None, executor: Executor | None = None,
            quiet: bool = False) -> Outcome:
    """Run the same replicates (same seeds) of each scenario; rows and time series to Parquet.

    Raises:
        ScenarioError: bad scenarios (every problem listed), duplicate names, bad options.
    """
    executor = executor or Executor()
    _check_steps(steps)
    _check_seed(seed)
    if replicates < 1:
        raise ScenarioError(f"--replicates {replicates}: must be >= 1")
    if not scenario_paths:
        raise ScenarioError("compare: give at least one scenario file")
    checked = validate_paths(scenario_paths)
    problems = [msg for _, _, msg in checked if msg]
    if problems:
        raise ScenarioError("\n".join(problems))
    files = [f for f, _, _ in checked]
    bases = [s for _, s, _ in checked]
    stems = [f.stem for f in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ScenarioError(f"compare: scenario names (file stems) must be unique; repeated: {', '.join(dup)}")
    master = MAIN_SEED if seed is None else int(seed)
    seeds = replicate_seeds(master, replicates)

    def make_item(run_id: int) -> RunItem:
        s, r = divmod(run_id, replicates)
        meta = {"scenario": stems[s], "scenario_file": str(files[s]), "replicate": r, "seed": seeds[r]}
        return RunItem(run_id, s, {}, seeds[r], meta)

    identity = {
        "scenarios": {stem: b.model_dump() for stem, b in zip(stems, bases)},
        "replicates": replicates,
        "master_seed": master,
        "steps": steps,
    }
    record = {
        "scenario_files": [scenario_record(f) for f in files],
        "scenarios": stems,
        "replicates": replicates,
        "master_seed": master,
        "seeding": "replicate r uses numpy.random.SeedSequence(master_seed).spawn(R)[r]"
                   ".generate_state(1, uint64) >> 11 in every scenario (common random numbers)",
        "replicate_seeds": seeds,
        "steps": steps if steps is not None else "scenario run.steps",
    }
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
                 quiet: bool = False) -> Outcome:
    """Compare the shipped scenarios (structures, mechanisms, marketing modes)."""
    return compare(main_scenario_files(), out, replicates=replicates or MAIN_REPLICATES, seed=MAIN_SEED,
                   executor=executor, quiet=quiet)


def headline_table(results: pd.DataFrame, by: str = "scenario", kpis: Sequence[str] = HEADLINE_KPIS) -> pd.DataFrame:
    """Mean of the time-averaged headline KPIs per group (rows) for printing."""
    cols = [f"{k}_mean" for k in kpis if f"{k}_mean" in results.columns]
    table = results.groupby(by, sort=False)[cols].mean()
    table.columns = [c.removesuffix("_mean") for c in cols]
    return table
