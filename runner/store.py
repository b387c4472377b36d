"""Result callbacks: the output folder of a job, written so that a killed job resumes to the same files.

Layout of an output folder:
    ``manifest.json`` (identity of the job, versions, times, counts, the files below),
    ``parts/part-00012.parquet`` (rows of chunk 12; ``parts/ts-00012.parquet`` its time series
    for ``compare``), ``snapshots/<scenario>/{nodes,edges,firms}.parquet`` (the end state of
    replicate 0 of each compared scenario), ``design_unit.parquet`` (a sampled sweep's design in
    the sampler's space), and at the end ``results.parquet`` (and ``timeseries.parquet``),
    consolidated in chunk order. Every file is written to a temporary name and renamed, so it
    exists whole or not at all; a chunk's rows are written last, so a rerun skips the chunks whose
    rows exist.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.scenario import Scenario, ScenarioError

from .chunks import SNAPSHOT_FILES, Chunk, ChunkResult, RunItem, parquet_bytes

__all__ = [
    "MANIFEST",
    "MAX_CHUNK",
    "Job",
    "ResultStore",
    "default_chunk_size",
    "snapshot_paths",
    "versions",
    "write_atomic",
    "write_json",
    "write_parquet",
]

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"
#: Most runs in one chunk: bounds the work lost when a job is killed and what a worker holds at once.
MAX_CHUNK = 50


def now() -> str:
    """The current UTC time, to the second, as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def canonical_hash(obj: Any) -> str:
    """SHA-256 of ``obj`` as canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to a temporary name and rename it to ``path``: the file exists whole or not at all.

    ``sync`` also flushes it to disk before the rename (the manifest; part files skip it).
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as Parquet, atomically."""
    write_atomic(path, parquet_bytes(frame), sync=False)


def snapshot_paths(name: str) -> dict[str, str]:
    """Where the snapshot tables of scenario ``name`` live, relative to the output folder."""
    return {t: f"snapshots/{name}/{t}.parquet" for t in SNAPSHOT_FILES}


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


@dataclass
class Job:
    """Everything that identifies a batch job, and how to produce its chunks.

    Attributes:
        kind: ``"sweep"`` or ``"compare"``.
        identity: what must match for a rerun to resume (hashed into the fingerprint).
        record: extra manifest fields (files, hashes, design description).
        total: number of runs.
        make_item: ``run_id -> RunItem``.
        bases: the base scenarios the items refer to.
        steps: steps per run (``None``: each scenario's ``run.steps``).
        keep_timeseries: also store each run's time series.
        files: files written once when the folder is created (name -> bytes), e.g. the design.
        chunk_size: runs per chunk (kept from the first session on resume).
    """

    kind: str
    identity: dict[str, Any]
    record: dict[str, Any]
    total: int
    make_item: Callable[[int], RunItem]
    bases: list[Scenario]
    steps: int | None
    keep_timeseries: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    chunk_size: int = 0
    fingerprint: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.fingerprint = canonical_hash(self.identity)

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
    """Runs per chunk: ``total / 16`` (at least 1, at most ``MAX_CHUNK``).

    A chunk is one task and one part file, so it is sized from the job alone, never from the
    executor: a sweep started serially resumes on ``--jobs`` or Dask with the same chunks (the size
    is also kept in the manifest). Sixteen chunks keep a few workers balanced; tiny runs need
    chunks of dozens of runs to outweigh the cost of a task.
    """
    return max(1, min(MAX_CHUNK, total // 16))


class ResultStore:
    """The output folder of a job: manifest, part files, snapshots, consolidated tables."""

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

    def open(self, executor_record: dict[str, Any], state: str) -> None:
        """Create the folder, manifest and the job's fixed files, or mark a new session of a resumed job."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        for tmp in self.parts.glob(".*.tmp-*"):
            tmp.unlink(missing_ok=True)
        for name, data in self.job.files.items():
            if not (self.out / name).is_file():
                write_atomic(self.out / name, data, sync=False)
        session = {"started_at": now(), "executor": executor_record, "versions": versions()}
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
        write_json(self.manifest_path, self.manifest)

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
        """Write one chunk's files: snapshots and time series first, rows last (the rows mark it done)."""
        for name, tables in result.snapshots.items():
            folder = self.out / "snapshots" / name
            folder.mkdir(parents=True, exist_ok=True)
            for table, data in tables.items():
                write_atomic(folder / f"{table}.parquet", data, sync=False)
        if result.timeseries is not None:
            write_atomic(self._part("ts", result.index), result.timeseries, sync=False)
        write_atomic(self._part("part", result.index), result.rows, sync=False)

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
        self.manifest["finished_at"] = now()
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

    def stop(self, status: str, reason: str | None = None) -> int:
        """Mark the job ``interrupted`` or ``failed`` (with ``reason``); return the runs kept."""
        kept = self.runs_in(self.done_chunks())
        self.manifest["status"] = status
        if reason:
            self.manifest["failure"] = reason
        self.manifest["counts"]["runs_done"] = kept
        self.manifest["sessions"][-1]["finished_at"] = now()
        self.save()
        return kept
