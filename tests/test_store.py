"""The result store under damage: a resume never counts a bad part file, and ends with the same files."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import compare
from runner.files import LOCK, FolderLock, _same_file
from runner.store import ResultStore
from sim.errors import RunnerError, ScenarioError
from tests.conftest import ROOT, small_scenario

KW = dict(replicates=4, seed=5, steps=3, quiet=True)


def _scenarios(folder: Path) -> list[Path]:
    a, b = small_scenario(folder, n_firms=30), folder / "chain.toml"
    b.write_text('extends = "tiny.toml"\n[structure]\nkind = "chain"\n')
    return [a, b]


@pytest.fixture(scope="module")
def jobs(tmp_path_factory, interrupt_before_finish):
    """A finished reference, an unfinished copy of the same job, and an unfinished job with another seed."""
    root = tmp_path_factory.mktemp("store")
    scenarios = _scenarios(root)
    compare(scenarios, root / "ref", **KW)
    interrupt_before_finish(compare, scenarios, root / "template", **KW)
    interrupt_before_finish(compare, scenarios, root / "foreign", **{**KW, "seed": 6})
    return scenarios, root


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("snapshots/*/*.parquet"))}


DAMAGE = ["empty", "truncate", "garbage", "flip", "other_chunk", "foreign_job", "delete_ts"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.sampled_from(DAMAGE), pick=st.integers(0, 10_000), where=st.floats(0, 1, exclude_max=True),
       byte=st.integers(1, 255))
def test_a_damaged_file_is_recomputed_and_the_result_is_identical(jobs, tmp_path, damage, pick, where, byte):
    scenarios, root = jobs
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "out"  # hypothesis reuses tmp_path across examples
    shutil.copytree(root / "template", out)
    files = sorted(out.glob("parts/*")) + sorted(out.glob("snapshots/*/*.parquet"))
    target = files[pick % len(files)]
    data = target.read_bytes()
    cut = int(where * len(data))
    if damage == "empty":
        target.write_bytes(b"")
    elif damage == "truncate":
        target.write_bytes(data[:cut])
    elif damage == "garbage":
        target.write_bytes(bytes((b * 31 + byte) % 256 for b in data))
    elif damage == "flip":
        target.write_bytes(data[:cut] + bytes([data[cut] ^ byte]) + data[cut + 1:])
    elif damage == "other_chunk":
        # a part of another chunk, or the same table of the other scenario's snapshot
        others = [f for f in files if f != target and f.name[:3] == target.name[:3]]
        target.write_bytes(others[pick % len(others)].read_bytes())
    elif damage == "foreign_job":
        target.write_bytes((root / "foreign" / target.relative_to(out)).read_bytes())
    else:
        (out / "parts" / target.name.replace("part-", "ts-")).unlink(missing_ok=True)
    compare(scenarios, out, **KW)
    ref = root / "ref"
    assert pd.read_parquet(out / "results.parquet").equals(pd.read_parquet(ref / "results.parquet"))
    assert pd.read_parquet(out / "timeseries.parquet").equals(pd.read_parquet(ref / "timeseries.parquet"))
    assert _files(out) == _files(ref)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert not (out / "parts").exists()


def test_a_damaged_part_is_moved_to_quarantine_with_a_message(jobs, tmp_path, capsys):
    scenarios, root = jobs
    out = tmp_path / "q"
    shutil.copytree(root / "template", out)
    (out / "parts" / "part-00003.parquet").write_bytes(b"")
    compare(scenarios, out, **{**KW, "quiet": False})
    err = capsys.readouterr().err
    assert "chunk 3 is damaged (parts/part-00003.parquet differs from what was written" in err
    assert sorted(p.name.split(".")[0] for p in (out / "quarantine").iterdir()) == ["done-00003", "part-00003", "ts-00003"]


def test_a_killed_consolidation_is_cleaned_up_by_the_next_run(jobs, tmp_path):
    scenarios, root = jobs
    out = tmp_path / "c"
    shutil.copytree(root / "ref", out)
    shutil.copytree(root / "template" / "parts", out / "parts")  # the parts a kill left before their removal
    (out / ".results.parquet.tmp-12345").write_bytes(b"half")
    outcome = compare(scenarios, out, **KW)
    assert outcome.state == "complete"
    assert not (out / "parts").exists() and not list(out.glob(".*.tmp-*"))


def test_consolidation_checks_every_run_id_once(jobs, tmp_path):
    scenarios, root = jobs
    out = tmp_path / "u"
    shutil.copytree(root / "template", out)
    shutil.copy(out / "parts" / "part-00002.parquet", out / "parts" / "part-00003.parquet")
    store = _store_of(scenarios, out)
    with pytest.raises(RunnerError, match="part-00003.parquet: holds run ids other than chunk 3"):
        store.finish()
    assert not (out / "results.parquet").exists()


def _store_of(scenarios: list[Path], out: Path) -> ResultStore:
    """The store of the compare job in ``out``, opened as a rerun would open it."""
    import runner.commands as commands

    captured = {}

    def keep(job, out, executor, quiet=False, echo=None):
        captured["job"] = job

    real = commands.execute
    commands.execute = keep
    try:
        compare(scenarios, out, **KW)
    finally:
        commands.execute = real
    store = ResultStore(out, captured["job"])
    assert store.check() == "resume"
    store.manifest["sessions"].append({})
    return store


def test_a_folder_in_use_is_refused_naming_the_process(jobs, tmp_path, capsys):
    import fcntl
    import os

    import run

    scenarios, root = jobs
    out = tmp_path / "busy"
    shutil.copytree(root / "template", out)
    with open(out / ".lock", "w") as fh:  # what a running compare holds
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write(f"process {os.getpid()} on this host\n")
        fh.flush()
        code = run.main(["compare", *map(str, scenarios), "--replicates", "4", "--seed", "5", "--steps", "3",
                         "--out", str(out), "--quiet", "--no-report"])
    err = capsys.readouterr().err
    assert code == 2 and f"in use by process {os.getpid()}" in err
    assert not (out / "results.parquet").exists()
    assert run.main(["compare", *map(str, scenarios), "--replicates", "4", "--seed", "5", "--steps", "3",
                     "--out", str(out), "--quiet", "--no-report"]) == 0  # released: it finishes


    assert not (out / LOCK).exists()  # the finished job let go of its folder and removed the lock file


def test_a_finished_or_failed_job_leaves_no_lock_file_and_a_killed_jobs_lock_is_taken_over(jobs, tmp_path,
                                                                                           monkeypatch):
    scenarios, root = jobs
    assert not (root / "ref" / LOCK).exists()
    out = tmp_path / "stale"
    shutil.copytree(root / "template", out)
    (out / LOCK).write_text("process 1 on a host that died\n")  # no process holds it any more
    compare(scenarios, out, **KW)
    assert (out / "results.parquet").is_file() and not (out / LOCK).exists()

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device", str(self.manifest_path))

    failed = tmp_path / "failed"
    shutil.copytree(root / "template", failed)
    monkeypatch.setattr(ResultStore, "finish", full)
    with pytest.raises(RunnerError):
        compare(scenarios, failed, **KW)
    assert failed.is_dir() and not (failed / LOCK).exists()


def _holds(lock: FolderLock) -> None:
    """``lock`` holds its folder's lock file: it exists, is the file locked, and a third process is refused."""
    assert lock.folder.is_dir() and _same_file(lock._fd, lock.folder / LOCK)
    with pytest.raises(ScenarioError, match="in use by process"):
        FolderLock(lock.folder).acquire()


def test_a_first_run_that_fails_removes_its_folder_before_the_next_command_can_take_it(tmp_path, monkeypatch,
                                                                                       newcomer_on_release):
    import errno

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.manifest_path))

    monkeypatch.setattr(ResultStore, "open", full)
    out = tmp_path / "out"
    newcomer = newcomer_on_release(out)
    with pytest.raises(RunnerError, match="No space left"):
        compare(_scenarios(tmp_path), out, **KW)
    _holds(newcomer)  # it took the lock after the failed run had removed the folder, and keeps it
    assert {p.name for p in out.iterdir()} == {LOCK}


def test_a_lock_taken_on_a_removed_lock_file_is_taken_again_on_the_new_one(tmp_path, monkeypatch):
    import runner.files as files

    out = tmp_path / "out"
    holder, newcomer = FolderLock(out), FolderLock(out)
    holder.acquire()
    flock = files.fcntl.flock

    def holder_leaves_first(fd, op):  # the newcomer opened the old file; the holder removes it and lets go
        monkeypatch.setattr(files.fcntl, "flock", flock)
        holder.release(remove_unused=True)
        assert not out.exists()
        flock(fd, op)

    monkeypatch.setattr(files.fcntl, "flock", holder_leaves_first)
    newcomer.acquire()
    try:
        _holds(newcomer)
    finally:
        newcomer.release()

@pytest.mark.parametrize("where", ["read_only", "under_a_file"])
def test_an_unwritable_out_is_bad_input_naming_the_path(jobs, tmp_path, capsys, where):
    import os

    import run

    scenarios, _ = jobs
    if where == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        parent = tmp_path / "ro"
        parent.mkdir()
        parent.chmod(0o500)
        out = parent / "out"
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    code = run.main(["compare", *map(str, scenarios), "--replicates", "2", "--steps", "2", "--out", str(out),
                     "--quiet", "--no-report"])
    err = capsys.readouterr().err
    assert code == 2 and str(out) in err and "choose a folder you can write to" in err and "Traceback" not in err


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_jobs_workers_exit_when_the_runner_is_killed_alone(jobs, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    scenarios, _ = jobs
    out = tmp_path / "k"
    proc = subprocess.Popen([sys.executable, "run.py", "compare", *map(str, scenarios), "--replicates", "40",
                             "--steps", "150", "--jobs", "2", "--out", str(out), "--quiet", "--no-report"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("parts/done-*.json")):
            assert proc.poll() is None, "the compare ended before it could be killed"
            time.sleep(0.05)
        workers = _children(proc.pid)
        assert len(workers) >= 2  # two workers (and the resource tracker)
        os.kill(proc.pid, signal.SIGKILL)  # the runner alone, as the OOM killer does
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_full_disk_during_consolidation_fails_cleanly_and_the_rerun_is_identical(jobs, tmp_path, monkeypatch,
                                                                                   capsys):
    import errno

    import run

    scenarios, root = jobs
    out = tmp_path / "full"
    shutil.copytree(root / "template", out)

    def full(writer, tmp, tables):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(ResultStore, "_flush", staticmethod(full))
    argv = ["compare", *map(str, scenarios), "--replicates", "4", "--seed", "5", "--steps", "3", "--out", str(out),
            "--quiet", "--no-report"]
    assert run.main(argv) == run.EXIT_INFRASTRUCTURE
    err = capsys.readouterr().err
    assert "No space left on device" in err and ".results.parquet.tmp-" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "No space left" in m["failure"]
    monkeypatch.undo()
    assert run.main(argv) == 0
    assert pd.read_parquet(out / "results.parquet").equals(pd.read_parquet(root / "ref" / "results.parquet"))
    assert not list(out.glob(".*.tmp-*"))
