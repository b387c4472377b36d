"""Evaluators' unit of work: a chunk of seeded runs, run in one worker, returned as encoded files.

A worker never returns a model: it returns the Parquet bytes of its rows, of the KPI series (for
comparisons, and sweeps run with ``--timeseries``) and of the end-of-run network and firm table of the runs asked to keep them, so the
runner's one process only writes bytes.
"""

from __future__ import annotations

import gc
import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim import make_model
from sim.metrics import summarize
from sim.scenario import Scenario

__all__ = [
    "CHUNK_LOG_ENV",
    "SNAPSHOT_FILES",
    "RunItem",
    "Chunk",
    "ChunkResult",
    "run_chunk",
    "run_chunks",
    "run_model",
    "summarize_run",
    "snapshot_tables",
    "parquet_bytes",
    "origin_of",
    "snapshot_origin",
]

#: Environment variable naming a file to which every process that runs chunks (the runner
#: serially, ``--jobs`` workers, Dask workers) appends one line per chunk: ``pid index runs start
#: end``, wall-clock seconds. Unset, nothing is written. The sweep benchmark reads it.
CHUNK_LOG_ENV = "CLUSTERCOOP_CHUNK_LOG"

#: Metadata key naming the run a snapshot file belongs to.
ORIGIN_KEY = b"clustercoop"

#: The tables of an end-of-run snapshot, each stored as ``snapshots/<scenario>/<name>.parquet``.
SNAPSHOT_FILES = ("nodes", "edges", "firms")


def parquet_bytes(frame: pd.DataFrame, origin: dict[str, Any] | None = None) -> bytes:
    """``frame`` as the bytes of a Parquet file (no index), with page checksums so damage is detected.

    ``origin`` (JSON-ready) is stored in the file's metadata under ``clustercoop`` to say which run
    wrote it; see :func:`origin_of`.
    """
    buf = io.BytesIO()
    if origin is None:
        frame.to_parquet(buf, index=False, write_page_checksum=True)
        return buf.getvalue()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {**(table.schema.metadata or {}), ORIGIN_KEY: json.dumps(origin, sort_keys=True).encode()}
    pq.write_table(table.replace_schema_metadata(meta), buf, write_page_checksum=True)
    return buf.getvalue()


def origin_of(table: pa.Table) -> dict[str, Any] | None:
    """The ``origin`` that :func:`parquet_bytes` stored in a table read back, or None."""
    raw = (table.schema.metadata or {}).get(ORIGIN_KEY)
    try:
        return json.loads(raw) if raw is not None else None
    except ValueError:
        return None


def summarize_run(frame: pd.DataFrame) -> dict[str, float]:
    """``<col>_final`` and ``<col>_mean`` of every model column (``step`` left out)."""
    # summarizing every column and dropping step's two entries equals summarizing the frame
    # without ``step``, and spares a copy of the frame
    out = summarize(frame)
    out.pop("step_final", None)
    out.pop("step_mean", None)
    return out


def run_model(scenario: Scenario, seed: int, steps: int | None):
    """Run one replicate; return ``(model, time series)``, the series as ``sim.run_one`` gives it."""
    model = make_model(scenario, rng=int(seed))
    model.run_for(steps if steps is not None else scenario.run.steps)
    return model, model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


def snapshot_tables(model) -> dict[str, pd.DataFrame]:
    """The end-of-run network (nodes, edges) and firm table of ``model``, as frames."""
    snap = model.graph_snapshot()
    return {
        "nodes": pd.DataFrame({k: v for k, v in snap.items() if not k.startswith("edge_")}),
        "edges": pd.DataFrame({k: v for k, v in snap.items() if k.startswith("edge_")}),
        "firms": model.firm_table().reset_index(drop=True),
    }


@dataclass
class RunItem:
    """One run of a chunk: ids for its row, the scenario to use, its seed.

    ``snapshot`` names the folder under ``snapshots/`` that keeps this run's end state (None: not kept).
    """

    run_id: int
    base: int
    overrides: dict[str, Any]
    seed: int
    meta: dict[str, Any]
    snapshot: str | None = None


def snapshot_origin(item: RunItem, table: str) -> dict[str, Any]:
    """What a snapshot file records about the run that wrote it."""
    return {"run_id": item.run_id, "seed": item.seed, "scenario": item.snapshot, "table": table}


@dataclass
class Chunk:
    """A batch of runs sent to a worker as one task.

    ``keep_timeseries``: ``False`` keeps no series; ``True`` every column, keyed by the run's
    scenario, replicate and seed (``compare``); a tuple of KPI names those columns only, keyed by
    ``run_id`` (``sweep --timeseries``: a sweep's many runs keep what the report draws).
    """

    index: int
    bases: list[Scenario]
    items: list[RunItem]
    steps: int | None
    keep_timeseries: bool | tuple[str, ...] = False


@dataclass
class ChunkResult:
    """What a worker returns, already encoded as Parquet (encoding runs in parallel in the workers)."""

    index: int
    rows: bytes  # one row per run
    timeseries: bytes | None = None  # the KPI series of every run, if kept
    n_runs: int = 0
    seconds: float = 0.0  # wall time in the worker (sizes Dask's tasks; never written)
    snapshots: dict[str, dict[str, bytes]] = field(default_factory=dict)  # scenario -> table -> bytes


_first_chunk_of_process = True  # cleared by run_chunk


def _series(item: RunItem, frame: pd.DataFrame, keep: bool | tuple[str, ...]) -> pd.DataFrame:
    """The rows of one run's time series to store: see :attr:`Chunk.keep_timeseries`."""
    if keep is True:
        ts = frame.copy()
        keys = [k for k in item.meta if k != "scenario_file"]
        for i, k in enumerate(keys):
            ts.insert(i, k, item.meta[k])
        return ts
    ts = frame[["step", *(c for c in keep if c in frame.columns)]].copy()
    ts.insert(0, "run_id", item.run_id)  # design values and seed are in the run's row
    return ts


def run_chunk(chunk: Chunk) -> ChunkResult:
    """Run every item of a chunk; return summaries and snapshots, never models.

    The first chunk of a process freezes what the imports made (``gc.freeze()``): those objects
    live as long as the process, and the collector would otherwise scan them all in a full
    collection inside a chunk.
    """
    global _first_chunk_of_process
    t0, started = time.perf_counter(), time.time()
    if _first_chunk_of_process:
        gc.freeze()
        _first_chunk_of_process = False
    rows, series, snapshots = [], [], {}
    for item in chunk.items:
        scenario = chunk.bases[item.base]
        if item.overrides:
            scenario = scenario.with_overrides(item.overrides, source="design point")
        model, frame = run_model(scenario, item.seed, chunk.steps)
        if item.snapshot is not None:
            snapshots[item.snapshot] = {k: parquet_bytes(v, snapshot_origin(item, k))
                                        for k, v in snapshot_tables(model).items()}
        del model
        rows.append({"run_id": item.run_id, **item.meta, **summarize_run(frame)})
        if chunk.keep_timeseries:
            series.append(_series(item, frame, chunk.keep_timeseries))
    ts_bytes = parquet_bytes(pd.concat(series, ignore_index=True)) if series else None
    result = ChunkResult(chunk.index, parquet_bytes(pd.DataFrame(rows)), ts_bytes, len(chunk.items),
                         time.perf_counter() - t0, snapshots)
    log = os.environ.get(CHUNK_LOG_ENV)
    if log:  # one short line in append mode: lines of concurrent workers do not interleave
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {chunk.index} {len(chunk.items)} {started:.6f} {time.time():.6f}\n")
    return result


def run_chunks(chunks: list[Chunk]) -> list[ChunkResult]:
    """Run several chunks in one task (Dask); one result per chunk."""
    return [run_chunk(c) for c in chunks]
