"""Result callbacks: the output folder of a job, written so that a killed job resumes to the same files.

Layout of an output folder:
    ``manifest.json`` (identity of the job, versions, times, counts, the files below),
    ``parts/part-00012.parquet`` (rows of chunk 12; ``parts/ts-00012.parquet`` its time series
    for ``compare`` and ``sweep --timeseries``; ``parts/done-00012.json`` its seal: the sha256 of each of its files),
    ``snapshots/<scenario>/{nodes,edges,firms}.parquet`` (the end state of replicate 0 of each
    compared scenario), ``design_unit.parquet`` (a sampled sweep's design in
    the sampler's space), and at the end ``results.parquet`` (and ``timeseries.parquet``),
    consolidated in chunk order. Every file is written to a temporary name, synced and renamed, so
    it exists whole or not at all; a chunk's seal is written last. A rerun checks each finished
    chunk's files against the job (:meth:`ResultStore.verify`), moves a damaged one to
    ``quarantine/`` and runs that chunk again, so a resume gives the same files as an
    uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import RunnerError, ScenarioError
from sim.scenario import Scenario

from .chunks import SNAPSHOT_FILES, Chunk, ChunkResult, RunItem, origin_of, snapshot_origin
# the write helpers are re-exported: the commands import them from here
from .files import (
    LOCK,
    FolderLock,
    canonical_hash,
    now,
    read_checked,
    sync_dir,
    versions,
    write_atomic,
    write_json,
    write_parquet,
)

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
    "canonical_hash",
    "now",
]

MANIFEST = "manifest.json"
#: Most runs in one chunk: bounds the work lost when a job is killed and what a worker holds at once.
MAX_CHUNK = 50


def snapshot_paths(name: str) -> dict[str, str]:
    """Where the snapshot tables of scenario ``name`` live, relative to the output folder."""
    return {t: f"snapshots/{name}/{t}.parquet" for t in SNAPSHOT_FILES}


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
        keep_timeseries: also store each run's time series (see :class:`runner.chunks.Chunk`).
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
    keep_timeseries: bool | tuple[str, ...] = False
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

    def lock(self) -> None:
        """Create the folder if needed and take its lock (:class:`runner.files.FolderLock`).

        Raises:
            ScenarioError: another process holds the lock, or the folder cannot be created or written.
        """
        self._lock = FolderLock(self.out)
        self._lock.acquire()

    def unlock(self, remove_unused: bool = False) -> None:
        """Release the lock taken by :meth:`lock`.

        Args:
            remove_unused: first remove the folder if it holds nothing but an empty ``parts/`` and
                the lock file (see :meth:`runner.files.FolderLock.release`).
        """
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release(remove_unused, (self.parts.name,))

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
            if any(p.name != LOCK for p in self.out.iterdir()):
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
        self.remove_temporaries()
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

    def remove_temporaries(self) -> None:
        """Remove what a killed writer or consolidation left: temporary files, and parts once complete."""
        for folder in (self.out, self.parts, *self.out.glob("snapshots/*")):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp-*"):
                    tmp.unlink(missing_ok=True)

    def remove_parts(self) -> None:
        """Remove the part files (after consolidation)."""
        if not self.parts.is_dir():
            return
        for p in (*self.parts.glob("*.parquet"), *self.parts.glob("done-*.json")):
            p.unlink(missing_ok=True)
        try:
            self.parts.rmdir()
        except OSError:
            pass

    def _present_chunks(self) -> set[int]:
        if not self.parts.is_dir():
            return set()
        done = set()
        for p in self.parts.glob("part-*.parquet"):
            try:
                done.add(int(p.stem.split("-")[1]))
            except (IndexError, ValueError):
                continue
        return {i for i in done if i < self.job.n_chunks}

    def done_chunks(self) -> set[int]:
        """Chunks whose seal exists (written last, so the chunk was whole when written)."""
        done = set()
        for p in self.parts.glob("done-*.json") if self.parts.is_dir() else ():
            try:
                done.add(int(p.stem.split("-")[1]))
            except (IndexError, ValueError):
                continue
        return {i for i in done if i < self.job.n_chunks}

    def verify(self, index: int) -> str | None:
        """Why chunk ``index``'s files cannot be counted as done, or None if they can.

        Its seal must list its files with the sha256 they were written with; its rows must hold
        this job's run ids in order with this job's design values and seeds, and summary columns
        only; its time series and snapshots must belong to its runs.
        """
        chunk = self.job.chunk(index)
        reason = self._check_seal(index, chunk)
        if reason is not None:
            return reason
        try:
            return self._check_contents(index, chunk)
        except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
            return f"chunk {index}'s files cannot be read back ({exc})"

    def _check_contents(self, index: int, chunk: Chunk) -> str | None:
        part = self._part("part", index)
        expected = pd.DataFrame([{"run_id": it.run_id, **it.meta} for it in chunk.items])
        try:
            table = read_checked(part)
        except (OSError, pa.ArrowException, ValueError) as exc:
            return f"{part.name} is unreadable ({exc})"
        cols = table.column_names
        keys = list(expected.columns)
        if cols[: len(keys)] != keys:
            return f"{part.name} has columns {cols[: len(keys)]}, this job's runs have {keys}"
        extra = [c for c in cols[len(keys):] if not c.endswith(("_final", "_mean"))]
        if extra:
            return f"{part.name} has columns this job does not write: {', '.join(extra[:5])}"
        if table.num_rows != len(expected):
            return f"{part.name} has {table.num_rows} rows, chunk {index} has {len(expected)} runs"
        got = table.select(keys).to_pandas()
        if not got.equals(expected):
            return f"{part.name} holds other runs than chunk {index} of this job (run ids, design values or seeds)"
        if self.job.keep_timeseries:
            ts = self._part("ts", index)
            by_run = isinstance(self.job.keep_timeseries, tuple)  # a sweep's series are keyed by run id
            key = ["run_id"] if by_run else ["scenario", "replicate", "seed"]
            try:
                frame = read_checked(ts).select([*key, "step"]).to_pandas()
            except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
                return f"{ts.name} is missing or unreadable ({exc})"
            steps = {k if isinstance(k, tuple) else (k,): g.to_numpy()
                     for k, g in frame.groupby(key, sort=False)["step"]}
            for it in chunk.items:
                n = chunk.steps if chunk.steps is not None else chunk.bases[it.base].run.steps
                want = (it.run_id,) if by_run else (it.meta["scenario"], it.meta["replicate"], it.meta["seed"])
                got = steps.pop(want, None)
                if got is None or not np.array_equal(got, np.arange(1, n + 1)):
                    return f"{ts.name} lacks steps of run {it.run_id} or holds other runs"
            if steps:
                return f"{ts.name} holds other runs than chunk {index} of this job"
        for item in chunk.items:
            if item.snapshot is None:
                continue
            for table, rel in snapshot_paths(item.snapshot).items():
                try:
                    origin = origin_of(read_checked(self.out / rel))
                except (OSError, pa.ArrowException, ValueError) as exc:
                    return f"{rel} is missing or unreadable ({exc})"
                if origin != snapshot_origin(item, table):
                    return f"{rel} was written by another run than run {item.run_id} of this job"
        return None

    def verified_chunks(self, echo: Callable[[str], None]) -> set[int]:
        """Chunks whose files pass :meth:`verify`; the others are moved to ``quarantine/`` to be run again."""
        good = set()
        for index in sorted(self._present_chunks() | self.done_chunks()):
            reason = self.verify(index)
            if reason is None:
                good.add(index)
                continue
            moved = self.quarantine(index)
            echo(f"{self.out}: chunk {index} is damaged ({reason}); moved {', '.join(moved)} to "
                 f"{self.out / 'quarantine'} and running it again")
        return good

    def quarantine(self, index: int) -> list[str]:
        """Move chunk ``index``'s part files out of the way; return their names."""
        folder = self.out / "quarantine"
        folder.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        moved = []
        for part in (self._part("part", index), self._part("ts", index), self._seal(index)):
            if part.exists():
                os.replace(part, folder / f"{part.name}.{stamp}-{os.getpid()}")
                moved.append(part.name)
        return moved

    def runs_in(self, chunks: Iterable[int]) -> int:
        """Number of runs in the given chunks."""
        size, total = self.job.chunk_size, self.job.total
        return sum(min(total, (i + 1) * size) - i * size for i in chunks)

    def _seal(self, index: int) -> Path:
        return self.parts / f"done-{index:05d}.json"

    def write(self, result: ChunkResult) -> None:
        """Write one chunk's files, then its seal: the sha256 of each, which marks the chunk done."""
        files: dict[str, bytes] = {}
        for name, tables in result.snapshots.items():
            for table, rel in snapshot_paths(name).items():
                files[rel] = tables[table]
        if result.timeseries is not None:
            files[str(self._part("ts", result.index).relative_to(self.out))] = result.timeseries
        files[str(self._part("part", result.index).relative_to(self.out))] = result.rows
        for rel, data in files.items():
            (self.out / rel).parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.out / rel, data)
        seal = {"chunk": result.index, "job": self.job.fingerprint,
                "sha256": {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}}
        write_json(self._seal(result.index), seal)

    def _check_seal(self, index: int, chunk: Chunk) -> str | None:
        """Why chunk ``index``'s seal does not vouch for its files, or None if it does."""
        seal_path = self._seal(index)
        try:
            seal = json.loads(seal_path.read_text(encoding="utf-8"))
            digests = dict(seal["sha256"])
            if seal["chunk"] != index or seal["job"] != self.job.fingerprint:
                return f"{seal_path.name} belongs to another chunk or job"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"{seal_path.name} is missing or unreadable ({exc})"
        want = [str(self._part("part", index).relative_to(self.out))]
        if self.job.keep_timeseries:
            want.append(str(self._part("ts", index).relative_to(self.out)))
        want += [rel for it in chunk.items if it.snapshot is not None for rel in snapshot_paths(it.snapshot).values()]
        if sorted(want) != sorted(digests):
            return f"{seal_path.name} lists other files than chunk {index} writes"
        for rel, digest in digests.items():
            try:
                data = (self.out / rel).read_bytes()
            except OSError as exc:
                return f"{rel} is missing ({exc.strerror})"
            if hashlib.sha256(data).hexdigest() != digest:
                return f"{rel} differs from what was written (sha256)"
        return None

    # -- finishing

    def _consolidate(self, prefix: str, name: str) -> int:
        """Stream the parts of one table, in chunk order, into ``name`` (atomically).

        For the rows, every run id of the job must appear exactly once, in order.

        Raises:
            RunnerError: a part is missing or holds other run ids than its chunk.
        """
        target = self.out / name
        tmp = target.with_name(f".{name}.tmp-{os.getpid()}")
        writer = None
        rows, buffer, buffered = 0, [], 0
        size = self.job.chunk_size
        try:
            for i in range(self.job.n_chunks):
                part = self._part(prefix, i)
                if not part.is_file():
                    raise RunnerError(f"{part}: missing at consolidation; run the same command again")
                table = pq.read_table(part)
                if prefix == "part":
                    ids = table.column("run_id").to_numpy()
                    want = np.arange(i * size, min(self.job.total, (i + 1) * size))
                    if not np.array_equal(ids, want):
                        raise RunnerError(f"{part}: holds run ids other than chunk {i}'s; "
                                          "run the same command again to recompute it")
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
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
                sync_dir(self.out)
        finally:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
        if prefix == "part" and rows != self.job.total:
            raise RunnerError(f"{target}: {rows} rows consolidated, the job has {self.job.total} runs")
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
        self.remove_parts()
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
