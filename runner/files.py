"""Files a job writes: whole or not at all (temporary name, sync, rename), and the record of versions.

Kept apart from :mod:`runner.store` (which decides *what* a job's folder holds) because
snapshots, reports and the commands write through the same few functions.
"""

from __future__ import annotations

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

from .chunks import parquet_bytes

__all__ = ["now", "canonical_hash", "write_atomic", "sync_dir", "write_json", "write_parquet", "read_checked",
           "versions"]

ROOT = Path(__file__).resolve().parent.parent


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

