"""Files a job writes: whole or not at all (temporary name, sync, rename), and the record of versions.

Kept apart from :mod:`runner.store` (which decides *what* a job's folder holds) because
snapshots, reports and the commands write through the same few functions.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import RunnerError, ScenarioError

from .chunks import parquet_bytes

__all__ = ["now", "canonical_hash", "write_atomic", "sync_dir", "write_json", "write_parquet", "read_checked",
           "versions", "LOCK", "FolderLock", "fs_failure"]

ROOT = Path(__file__).resolve().parent.parent
#: File in an output folder that one process at a time holds locked, naming itself inside.
LOCK = ".lock"


class FolderLock:
    """The lock of a job's output folder, so one process at a time works on it.

    The operating system drops the lock when the holder dies, however it dies; the file then stays
    and the next holder takes it over. A holder letting go removes the file (and a folder it made
    and left unused) before closing it, and a newcomer checks that the file it locked is still the
    folder's lock file.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Create the folder if needed and take its lock.

        Raises:
            ScenarioError: another process holds the lock (naming it), or the folder cannot be
                created or written (read-only, under a file, no permission).
        """
        path = self.folder / LOCK
        while True:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                where = exc.filename or self.folder
                raise ScenarioError(f"--out {self.folder}: cannot create or write {where} ({exc.strerror}); "
                                    "choose a folder you can write to") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise ScenarioError(f"--out {self.folder}: in use by {holder}; wait for it to finish "
                                    "(then run the same command to continue) or choose another folder") from None
            if _same_file(fd, path):
                break
            os.close(fd)  # the holder removed the folder between our open and our lock: start afresh
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {platform.node()}, since {now()}\n".encode(), 0)
        self._fd = fd

    def release(self, remove_unused: bool = False, empty: tuple[str, ...] = ()) -> None:
        """Release the lock and remove its file (nothing if not held).

        Args:
            remove_unused: first remove the folder if it holds nothing but the lock file and the
                empty sub-folders ``empty`` (a job that made it and failed before writing anything).
                Done while still holding the lock, so the next holder never loses its lock file.
            empty: sub-folder names removed with the folder when empty.
        """
        if self._fd is None:
            return
        try:
            if remove_unused:
                _remove_if_unused(self.folder, empty)
            path = self.folder / LOCK
            # removed while still held, so a newcomer that opened it sees it is gone and opens afresh
            if _same_file(self._fd, path):
                path.unlink(missing_ok=True)
        except OSError:
            pass  # a lock file left behind is harmless: the next holder takes it over
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open ``fd`` is still the file at ``path`` (not unlinked or replaced since it was opened)."""
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _remove_if_unused(folder: Path, empty: tuple[str, ...]) -> None:
    """Remove ``folder`` if it holds nothing but the lock file and the empty sub-folders ``empty``."""
    try:
        for name in empty:
            sub = folder / name
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
        if {p.name for p in folder.iterdir()} <= {LOCK}:
            (folder / LOCK).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass


def fs_failure(exc: OSError, what: str, kept: str = "finished runs are kept") -> RunnerError:
    """The failure of a file system under a running job (full, removed, read-only) as one message."""
    where = exc.filename or "the output folder"
    return RunnerError(f"{what}: the file system failed at {where} ({exc.strerror or exc}); "
                       f"{kept}, free space or fix the folder and run the same command again")


def now() -> str:
    """The current UTC time, to the second, as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def canonical_hash(obj: Any) -> str:
    """SHA-256 of ``obj`` as canonical JSON (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to a temporary name and rename it to ``path``: the file exists whole or not at all.

    ``sync`` flushes the data to disk before the rename and the rename after it, so that after a
    power cut the file is either absent or whole.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if sync:
        sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as Parquet, atomically."""
    write_atomic(path, parquet_bytes(frame), sync=False)


def read_checked(path: Path) -> pa.Table:
    """Read a Parquet file checking both magic numbers and every page's checksum."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"PAR1":
            raise ValueError("not a Parquet file (bad header)")
    return pq.read_table(path, page_checksum_verification=True)



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

