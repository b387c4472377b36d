"""The runner: seeds, designs, executors, the resumable store, its manifest, snapshots and errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runner import Executor, build_design, parse_param, replicate_seeds, sweep
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import BASELINE, ROOT, small_scenario

PARAMS = ["mechanisms.regulation.sanction=0:2:3", "structure.kind=star,chain"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return small_scenario(tmp_path, n_firms=30, steps=10)


def read(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "results.parquet")


# --------------------------------------------------------------------------- seeds and designs


def test_seeds_come_from_seedsequence_and_are_stable():
    seeds = replicate_seeds(42, 5)
    child = np.random.SeedSequence(42).spawn(5)[3]
    assert seeds[3] == int(child.generate_state(1, np.uint64)[0] >> np.uint64(11))
    assert replicate_seeds(42, 3) == seeds[:3]
    assert len(set(seeds)) == 5 and all(0 <= s < 2**53 for s in seeds)
    assert replicate_seeds(43, 5) != seeds


def test_param_specs():
    base = load_scenario(BASELINE)
    p = parse_param("structure.n_firms=30:60:4", base, "grid")
    assert p.kind == "int" and p.grid_values() == [30, 40, 50, 60]
    p = parse_param("market.margin=0.1:0.5:3", base, "grid")
    assert p.grid_values() == pytest.approx([0.1, 0.3, 0.5])
    p = parse_param("market.margin=0,1", base, "grid")
    assert p.values == (0.0, 1.0) and all(isinstance(v, float) for v in p.values)
    p = parse_param("structure.kind=star,chain", base, "lhs")
    assert p.values == ("star", "chain")
    with pytest.raises(ScenarioError, match="market.margin"):
        parse_param("market.margin=0:3:4", base, "grid")
    with pytest.raises(ScenarioError, match="unknown key"):
        parse_param("market.margins=0,1", base, "grid")


def test_designs_have_the_expected_size_and_are_deterministic():
    base = load_scenario(BASELINE)
    specs = [parse_param(s, base, "grid") for s in PARAMS]
    grid = build_design(specs, "grid", None, 1)
    assert len(grid) == 6 and list(grid.columns) == ["mechanisms.regulation.sanction", "structure.kind"]
    specs = [parse_param(s, base, "sobol") for s in ["market.margin=0.1:0.5", "structure.kind=star,chain,network"]]
    lhs = build_design(specs, "lhs", 10, 7)
    assert len(lhs) == 10 and lhs["market.margin"].between(0.1, 0.5).all()
    assert build_design(specs, "lhs", 10, 7).equals(lhs)
    sob = build_design(specs, "sobol", 8, 7)
    assert len(sob) == 8 * (2 * 2 + 2)
    assert set(sob["structure.kind"]) <= {"star", "chain", "network"}
    mor = build_design(specs, "morris", 5, 7)
    assert len(mor) == 5 * (2 + 1) and build_design(specs, "morris", 5, 7).equals(mor)
    assert mor["market.margin"].between(0.1, 0.5).all() and set(mor["structure.kind"]) <= {"star", "chain", "network"}
    with pytest.raises(ScenarioError, match="at least 2 trajectories"):
        build_design(specs, "morris", 1, 7)


def test_morris_sweep_end_to_end(tiny, tmp_path):
    from analysis.sensitivity import sweep_morris

    params = ["mechanisms.regulation.sanction=0:2", "mechanisms.contract.duration=2:10", "structure.kind=star,chain,network"]
    sweep(tiny, params, tmp_path / "mo", design="morris", samples=3, seed=4, steps=6, quiet=True)
    runs = read(tmp_path / "mo")
    assert len(runs) == 3 * (3 + 1)
    table = sweep_morris(tmp_path / "mo", ["cooperation_rate", "profit"])
    assert len(table) == 2 * 3 and set(table["param"]) == {p.split("=")[0] for p in params}
    assert (table["mu_star"] >= table["mu"].abs() - 1e-12).all() and sorted(table["rank"].unique()) == [1, 2, 3]


# --------------------------------------------------------------------------- executors


@pytest.mark.slow
def test_serial_jobs_and_dask_give_identical_results(tiny, tmp_path):
    kwargs = dict(replicates=2, seed=11, quiet=True)
    sweep(tiny, PARAMS, tmp_path / "serial", **kwargs)
    sweep(tiny, PARAMS, tmp_path / "jobs", executor=Executor(jobs=2), **kwargs)
    # a LocalCluster with 2 workers (threads in this process: quicker to start in CI)
    sweep(tiny, PARAMS, tmp_path / "dask", executor=Executor(dask_local=2, dask_processes=False), **kwargs)
    serial = read(tmp_path / "serial")
    assert len(serial) == 12
    assert serial.equals(read(tmp_path / "jobs"))
    assert serial.equals(read(tmp_path / "dask"))
    cols = list(serial.columns)
    assert cols[:5] == ["run_id", "mechanisms.regulation.sanction", "structure.kind", "replicate", "seed"]
    assert "cooperation_rate_final" in cols and "cooperation_rate_mean" in cols
    # common random numbers: replicate r has the same seed at every design point
    assert serial.groupby("replicate")["seed"].nunique().eq(1).all()


def test_dask_batch_size():
    from runner.executors import dask_batch_size

    assert dask_batch_size(None, 40, 2) == 1  # no chunk finished yet
    assert dask_batch_size(0.25, 34, 2) == 4  # about a second of work
    assert dask_batch_size(0.25, 10, 2) == 2  # at most a quarter of what is left, for 2 workers
    assert dask_batch_size(0.25, 3, 2) == 1  # the last tasks are single chunks
    assert dask_batch_size(5.0, 100, 2) == 1  # chunks longer than a second go alone


def test_dask_puts_short_chunks_together_and_returns_each_once(tiny):
    """Many short chunks: fewer tasks than chunks, every chunk's result exactly once, as run alone."""
    from distributed import get_task_stream

    import runner.chunks as chunking

    base = load_scenario(tiny, {"run.steps": 2, "structure.n_firms": 10})
    chunks = [chunking.Chunk(i, [base], [chunking.RunItem(i, 0, {}, 100 + i, {"i": i})], None) for i in range(40)]
    with Executor(dask_local=2, dask_processes=False) as ex, get_task_stream(client=ex._client) as stream:
        results = list(ex.map(iter(chunks), tag="test", total=len(chunks)))
    assert sorted(r.index for r in results) == list(range(40))
    spans = [tuple(int(x) for x in t["key"].rsplit("-", 2)[1:]) for t in stream.data]  # (first, last) chunk of each task
    assert sum(b - a + 1 for a, b in spans) == 40 and len(spans) < 40
    alone = chunking.run_chunk(chunks[17])
    assert next(r for r in results if r.index == 17).rows == alone.rows


# --------------------------------------------------------------------------- the store


def test_manifest_contents(tiny, tmp_path):
    out = tmp_path / "sw"
    sweep(tiny, PARAMS, out, replicates=2, seed=11, quiet=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "sweep" and m["status"] == "complete"
    assert m["scenario_file"]["file"] == str(tiny)
    assert m["scenario_file"]["sha256"] == __import__("hashlib").sha256(tiny.read_bytes()).hexdigest()
    assert m["scenario_file"]["extends_chain"][0]["file"] == "baseline.toml"
    assert m["design"]["kind"] == "grid" and m["design"]["points"] == 6 and m["design"]["replicates"] == 2
    assert [p["name"] for p in m["design"]["params"]] == ["mechanisms.regulation.sanction", "structure.kind"]
    assert m["master_seed"] == 11 and m["replicate_seeds"] == replicate_seeds(11, 2)
    assert m["counts"]["runs_total"] == 12 and m["counts"]["runs_done"] == 12
    for pkg in ("python", "mesa", "numpy", "pandas", "pyarrow", "SALib", "dask"):
        assert pkg in m["versions"]
    assert m["started_at"] <= m["finished_at"]
    assert not (out / "parts").exists()


def test_finished_sweep_does_nothing_and_other_design_is_refused(tiny, tmp_path):
    out = tmp_path / "sw"
    sweep(tiny, PARAMS, out, replicates=2, seed=11, quiet=True)
    before = (out / "results.parquet").stat().st_mtime_ns
    outcome = sweep(tiny, PARAMS, out, replicates=2, seed=11, quiet=True)
    assert outcome.state == "complete" and "nothing to do" in outcome.message
    assert (out / "results.parquet").stat().st_mtime_ns == before
    manifest = (out / "manifest.json").read_text()
    with pytest.raises(ScenarioError, match="different sweep.*replicates"):
        sweep(tiny, PARAMS, out, replicates=3, seed=11, quiet=True)
    with pytest.raises(ScenarioError, match="master_seed"):
        sweep(tiny, PARAMS, out, replicates=2, seed=12, quiet=True)
    assert (out / "manifest.json").read_text() == manifest
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ScenarioError, match="not empty"):
        sweep(tiny, PARAMS, other, quiet=True)


def test_resume_after_lost_parts_gives_the_same_rows(tiny, tmp_path):
    """A store with some chunks done (and a stray temp file) completes to the same table."""
    from runner.store import ResultStore

    ref = tmp_path / "ref"
    sweep(tiny, PARAMS, ref, replicates=2, seed=3, quiet=True)
    out = tmp_path / "partial"
    # stop the serial executor after 5 chunks by interrupting from the progress hook
    real = ResultStore.write
    calls = {"n": 0}

    def write_then_stop(self, result):
        real(self, result)
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt

    ResultStore.write = write_then_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep(tiny, PARAMS, out, replicates=2, seed=3, quiet=True)
    finally:
        ResultStore.write = real
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["counts"]["runs_done"] == 5
    assert len(list((out / "parts").glob("part-*.parquet"))) == 5
    (out / "parts" / ".part-00007.parquet.tmp-1").write_bytes(b"half a file")
    outcome = sweep(tiny, PARAMS, out, replicates=2, seed=3, quiet=True)
    assert outcome.done_before == 5 and outcome.done_now == 7
    assert read(out).equals(read(ref))
    assert isinstance(ResultStore, type)


def _sweep_cmd(scenario: Path, out: Path, *extra: str) -> list[str]:
    # 150 steps per run: the 12 chunks left after the fourth part take a few seconds, so the signal
    # lands mid-sweep even when this test process waits for a core on a loaded machine
    return [sys.executable, "run.py", "sweep", str(scenario), "--param", "mechanisms.regulation.sanction=0:2:8",
            "--param", "structure.kind=star,chain,network", "--replicates", "2", "--seed", "9", "--steps", "150",
            "--out", str(out), *extra]


def _wait_for_parts(out: Path, proc: subprocess.Popen, n: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list((out / "parts").glob("part-*.parquet")) if (out / "parts").is_dir() else []
        if len(parts) >= n or proc.poll() is not None:
            return len(parts)
        time.sleep(0.02)
    return -1


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_kill_and_resume_in_a_subprocess(tiny, tmp_path, sig):
    ref, out = tmp_path / "ref", tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_sweep_cmd(tiny, out, "--quiet"), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    n = _wait_for_parts(out, proc, 4)
    assert proc.poll() is None, f"the sweep ended before it could be stopped: {proc.communicate()}"
    assert n >= 4
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted: kept" in err and "Traceback" not in err
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not (out / "results.parquet").exists()
    resumed = subprocess.run(_sweep_cmd(tiny, out, "--quiet", "--jobs", "2"), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stdout
    done = subprocess.run(_sweep_cmd(tiny, out, "--quiet"), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "nothing to do" in done.stdout
    subprocess.run(_sweep_cmd(tiny, ref, "--quiet"), cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    got, want = read(out), read(ref)
    assert got["run_id"].is_unique and len(got) == 48
    assert got.equals(want)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert len(sessions) == 2 and sessions[1]["executor"] == {"kind": "processes", "jobs": 2}


# --------------------------------------------------------------------------- summaries


def _summarize_reference(frame: pd.DataFrame, burn_in: float = 0.5) -> dict[str, float]:
    """The straightforward pandas version that ``sim.metrics.summarize`` must reproduce bit for bit."""
    out: dict[str, float] = {}
    if len(frame) == 0:
        return out
    start = int(len(frame) * burn_in)
    tail = frame.iloc[start:] if start < len(frame) else frame.iloc[-1:]
    for col in frame.columns:
        if not np.issubdtype(frame[col].dtype, np.number):
            continue
        out[f"{col}_final"] = float(frame[col].iloc[-1])
        out[f"{col}_mean"] = float(tail[col].mean())
    return out


def _summary_frames() -> dict[str, pd.DataFrame]:
    from sim import run_one

    frames = {}
    for name in ("baseline", "star", "cluster_brand", "validation/santos_pacheco_ba"):
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml").with_overrides(
            {"structure.n_firms": 30}, source="test")
        frames[name] = run_one(scenario, 5, 12)
    rng = np.random.default_rng(1)
    n = 10_000  # longer than numpy's cast buffer (8,192 elements)
    frames["long int and float"] = pd.DataFrame({"x": rng.normal(size=n) * 1e6, "k": rng.integers(-2**62, 2**62, n)})
    frames["nan, float32, uint16, bool"] = pd.DataFrame({
        "a": [1.0, np.nan, 2.5, np.nan, 0.1], "b": np.arange(5, dtype=np.uint16), "c": np.float32([0.1] * 5),
        "flag": [True, False, True, True, False], "all_nan": [np.nan] * 5})
    frames["one row"] = pd.DataFrame({"a": [0.3], "b": [7]})
    frames["empty"] = pd.DataFrame({"a": []})
    return frames


def test_summarize_equals_the_pandas_reference_bit_for_bit():
    from sim.metrics import summarize

    for name, frame in _summary_frames().items():
        for f in (frame, frame.drop(columns=["step"], errors="ignore"), frame.iloc[::-1]):
            for burn_in in (0.5, 0.0, 0.9, 1.0, 1.5, -0.2):
                got, want = summarize(f, burn_in), _summarize_reference(f, burn_in)
                assert list(got) == list(want), (name, burn_in)
                for key, value in want.items():
                    assert type(got[key]) is float
                    assert np.float64(got[key]).tobytes() == np.float64(value).tobytes(), (name, burn_in, key)


def test_an_unwritable_chunk_log_is_refused_before_anything_is_written(tiny, tmp_path, monkeypatch):
    from runner.chunks import CHUNK_LOG_ENV

    monkeypatch.setenv(CHUNK_LOG_ENV, str(tmp_path / "no-such-folder" / "chunks.log"))
    with pytest.raises(ScenarioError, match=CHUNK_LOG_ENV):
        sweep(tiny, ["market.margin=0.2:0.4:2"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- what analysis reads, and failures


@pytest.mark.slow
def test_compare_keeps_replicate_0s_end_state_of_every_scenario(tiny, tmp_path):
    """snapshots/<scenario>/ hold the network and firm table of replicate 0, as its own run gives them,
    the same from every executor, recorded in the manifest."""
    from runner import compare
    from runner.chunks import run_model, snapshot_tables

    other = tmp_path / "other.toml"
    other.write_text(f'extends = "{tiny.as_posix()}"\n[structure]\nkind = "chain"\n')
    serial, jobs = tmp_path / "serial", tmp_path / "jobs"
    compare([tiny, other], serial, replicates=3, seed=5, steps=8, quiet=True)
    compare([tiny, other], jobs, replicates=3, seed=5, steps=8, executor=Executor(jobs=2), quiet=True)
    m = json.loads((serial / "manifest.json").read_text())
    seed0 = replicate_seeds(5, 3)[0]
    assert set(m["snapshots"]) == {"tiny", "other"}
    for name, path in (("tiny", tiny), ("other", other)):
        rec = m["snapshots"][name]
        assert rec["seed"] == seed0 and rec["replicate"] == 0
        want = snapshot_tables(run_model(load_scenario(path), seed0, 8)[0])
        for table in ("nodes", "edges", "firms"):
            assert rec[table] == f"snapshots/{name}/{table}.parquet"
            got = pd.read_parquet(serial / rec[table])
            pd.testing.assert_frame_equal(got, want[table])
            assert (serial / rec[table]).read_bytes() == (jobs / rec[table]).read_bytes()
        nodes = pd.read_parquet(serial / rec["nodes"])
        assert {"node_id", "node_kind", "cooperating", "revenue", "commitment", "active"} <= set(nodes.columns)
        assert list(pd.read_parquet(serial / rec["edges"]).columns) == ["edge_src", "edge_dst", "edge_trust"]


def test_run_keeps_its_end_state(tiny, tmp_path):
    from runner import run_single

    run_single(tiny, tmp_path / "one", seed=3, steps=5)
    m = json.loads((tmp_path / "one" / "manifest.json").read_text())
    firms = pd.read_parquet(tmp_path / "one" / m["snapshots"]["tiny"]["firms"])
    assert len(firms) > 0 and "mean_trust" in firms.columns


@pytest.mark.parametrize("design", ["morris", "sobol", "lhs"])
def test_a_sampled_sweep_stores_its_design_in_the_samplers_space(tiny, tmp_path, design):
    from runner.designs import sample_design

    params = ["market.margin=0.1:0.5", "structure.kind=star,chain,network"]
    out = tmp_path / design
    sweep(tiny, params, out, design=design, samples=2, seed=4, steps=3, quiet=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["design_unit"] == "design_unit.parquet"
    unit = pd.read_parquet(out / m["design_unit"])
    base = load_scenario(tiny)
    specs = [parse_param(p, base, design) for p in params]
    points, want = sample_design(specs, design, 2, 4)
    assert list(unit.columns) == ["market.margin", "structure.kind"] and len(unit) == len(read(out)) == len(points)
    assert np.array_equal(unit.to_numpy(), want)
    # the stored values are the sampler's mapped to the levers: a list parameter by index
    kinds = ["star", "chain", "network"]
    assert [kinds[min(int(u), 2)] for u in unit["structure.kind"]] == read(out)["structure.kind"].tolist()


def test_a_grid_sweep_has_no_sampled_design(tiny, tmp_path):
    sweep(tiny, ["market.margin=0.2,0.3"], tmp_path / "g", steps=3, quiet=True)
    assert "design_unit" not in json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert not (tmp_path / "g" / "design_unit.parquet").exists()


def test_a_scheduler_that_does_not_answer_is_an_infrastructure_failure(tiny, tmp_path, monkeypatch, capsys):
    import run
    import runner.executors

    monkeypatch.setattr(runner.executors, "SCHEDULER_TIMEOUT", "1s")
    code = run.main(["sweep", str(tiny), "--param", "market.margin=0.2,0.3", "--scheduler", "tcp://127.0.0.1:9",
                     "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == run.EXIT_INFRASTRUCTURE == 3
    assert "tcp://127.0.0.1:9" in err and "does not answer" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_file_system_failure_mid_run_marks_the_manifest_failed_and_resumes(tiny, tmp_path, monkeypatch):
    import errno

    from runner.store import ResultStore
    from sim.errors import RunnerError

    ref, out = tmp_path / "ref", tmp_path / "out"
    sweep(tiny, PARAMS, ref, replicates=2, seed=3, steps=4, quiet=True)
    real, calls = ResultStore.write, {"n": 0}

    def write_until_full(self, result):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.parts / "part-00003.parquet"))
        real(self, result)

    monkeypatch.setattr(ResultStore, "write", write_until_full)
    with pytest.raises(RunnerError, match="part-00003.parquet.*No space left"):
        sweep(tiny, PARAMS, out, replicates=2, seed=3, steps=4, quiet=True)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "No space left" in m["failure"] and m["counts"]["runs_done"] == 3
    monkeypatch.setattr(ResultStore, "write", real)
    assert sweep(tiny, PARAMS, out, replicates=2, seed=3, steps=4, quiet=True).done_before == 3
    assert read(out).equals(read(ref))
