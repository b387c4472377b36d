"""The benchmark's own tools work on a small model (the figures themselves are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.phases import PHASES, floor, phase_times
from benchmarks.reference import core_scenario
from sim import ClusterModel
from sim.model import STEP


@pytest.mark.parametrize("contracts", [True, False])
def test_phase_times_cover_every_submodel_of_the_step(contracts):
    scenario = core_scenario(**{"structure.n_firms": 150, "mechanisms.contract.enabled": contracts})
    rows = phase_times(scenario, warmup=1, steps=3)
    assert [r["phase"] for r in rows[: len(PHASES)]] == [name for name, _ in STEP]
    assert all(r["median_s"] > 0 for r in rows[: len(PHASES)])  # every submodel is called in every step
    assert rows[-1]["phase"] == "whole step"
    assert sum(r["median_s"] for r in rows[:-1]) == pytest.approx(rows[-1]["median_s"], rel=0.5)


def test_floor_counts_follow_the_graph():
    model = ClusterModel(core_scenario(**{"structure.n_firms": 200}), rng=1)
    fl = floor(model, repeats=1)
    n, e = model.state.n_nodes, model.state.n_edges
    assert (fl["n_exp"], fl["n_tanh"], fl["n_uniform"]) == (2 * e + 6 * n, n, 3 * e + 2 * n)
    assert fl["total_s"] == pytest.approx(fl["exp_s"] + fl["tanh_s"] + fl["uniform_s"])


def test_versus_times_another_commit_interleaved_and_cleans_up():
    """``python -m benchmarks.versus REV``: same-run ratio against a commit; its worktree is gone afterwards."""
    import subprocess

    from benchmarks.versus import ROOT, compare, main

    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    before = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    res = compare("HEAD", rounds=2, n=60, steps=3, progress=lambda line: None)
    assert len(res["this"]) == len(res["other"]) == len(res["ratios"]) == 2
    assert all(t > 0 for t in res["this"] + res["other"]) and res["ratio"] > 0
    assert subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout == before
    assert main(["no-such-revision-anywhere"]) == 2


def test_steady_rate_opens_when_the_last_worker_finishes_its_first_chunk():
    """Two workers, one starting 0.35 s late: the window holds no start-up of either."""
    import math

    from benchmarks.sweeps import _workers, steady_rate

    early = [(1, 10, 0.0, 0.5)] + [(1, 10, 0.5 + 0.5 * i, 1.0 + 0.5 * i) for i in range(20)]  # 20 runs/s
    late = [(2, 10, 0.35, 0.85)] + [(2, 10, 0.85 + 0.5 * i, 1.35 + 0.5 * i) for i in range(19)]
    # opens at 0.85 (the late worker's first end); early's chunk [0.5, 1.0] counts 0.15/0.5 of its runs
    runs = 10 * 0.3 + 10 * 19 + 10 * 19
    assert steady_rate(early + late) == pytest.approx(runs / (10.5 - 0.85))
    assert steady_rate(early + late) == pytest.approx(40.0, rel=0.01)  # both workers at 20 runs/s
    serial = [(7, 10, 0.1 * i, 0.1 * (i + 1)) for i in range(30)]
    assert steady_rate(serial) == pytest.approx(100.0)
    assert math.isnan(steady_rate([]))  # nothing ran
    assert math.isnan(steady_rate([(1, 10, 0.0, 1.0), (2, 10, 0.0, 1.0)]))  # no chunk after every worker's first
    assert (_workers([]), _workers(["--jobs", "2"]), _workers(["--dask-local", "3"])) == (1, 2, 3)


def test_every_process_that_runs_chunks_logs_them_when_asked(tmp_path):
    """The chunk log of a real --jobs 2 sweep: one line per chunk, from the two workers."""
    import subprocess
    import sys

    from benchmarks.procs import ROOT
    from benchmarks.sweeps import read_chunk_log
    from runner.chunks import CHUNK_LOG_ENV

    log = tmp_path / "chunks.log"
    args = [sys.executable, "run.py", "sweep", "scenarios/baseline.toml", "--param", "mechanisms.regulation.sanction=0:1:4",
            "--replicates", "8", "--steps", "2", "--set", "structure.n_firms=10", "--quiet", "--out", str(tmp_path / "out"),
            "--jobs", "2"]
    subprocess.run(args, cwd=ROOT, env={**__import__("os").environ, CHUNK_LOG_ENV: str(log)}, check=True,
                   capture_output=True, timeout=300)
    chunks = read_chunk_log(log)
    assert len(chunks) == 16 and sum(r for _, r, _, _ in chunks) == 32  # 32 runs in chunks of 2
    assert len({pid for pid, *_ in chunks}) == 2 and all(end > start for *_, start, end in chunks)


def test_speed_ups_pair_each_parallel_sweep_with_the_serial_sweep_of_its_round():
    """A machine that drifts between rounds: the paired ratio sees the true 1.9x, the ratio of medians does not."""
    import math

    from benchmarks.report import _efficiency, _throughput, round_ratios

    serial = [300.0, 200.0, 320.0, 180.0, 310.0]  # the machine's speed drifts from round to round
    rows = []
    for rnd, s in enumerate(serial, start=1):
        order = [("serial", 1, s), ("--jobs 2", 2, 1.9 * s), ("--dask-local 2", 2, 1.8 * s)]
        for name, workers, rate in order[rnd % 3:] + order[:rnd % 3]:
            rows.append({"executor": name, "runs": 2000, "round": rnd, "workers": workers,
                         "steady_runs_per_s": rate, "runs_per_s": rate / 2})
    # a failed window in one round (nan) drops that round only
    rows.append({"executor": "--jobs 2", "runs": 2000, "round": 6, "workers": 2, "steady_runs_per_s": math.nan, "runs_per_s": 1.0})
    rows.append({"executor": "serial", "runs": 2000, "round": 6, "workers": 1, "steady_runs_per_s": 250.0, "runs_per_s": 1.0})
    rows.append({"executor": "serial", "runs": 100, "round": 1, "workers": 1, "steady_runs_per_s": 1.0, "runs_per_s": 1.0})  # another size
    res = {"throughput": rows}
    ratios = round_ratios(res)
    assert ratios["--jobs 2"] == pytest.approx([1.9] * 5)
    assert ratios["--dask-local 2"] == pytest.approx([1.8] * 5)
    eff = _efficiency(res)
    assert eff["--jobs 2"][1] == pytest.approx(1.9) and eff["--jobs 2"][2] == pytest.approx(0.95)
    assert eff["--dask-local 2"][1] == pytest.approx(1.8)
    tp = _throughput(res)
    assert tp["--dask-local 2"]["marginal"] / tp["serial"]["marginal"] != pytest.approx(1.8)  # what pairing corrects
