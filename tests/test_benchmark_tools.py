"""The benchmark's own tools work on a small model (the figures themselves are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.phases import PHASES, floor, phase_times
from benchmarks.reference import core_scenario
from sim import ClusterModel


@pytest.mark.parametrize("contracts", [True, False])
def test_phase_times_cover_every_phase_and_restore_the_functions(contracts):
    before = [getattr(owner, name) for _, owner, name in PHASES]
    scenario = core_scenario(**{"structure.n_firms": 150, "mechanisms.contract.enabled": contracts})
    rows = phase_times(scenario, warmup=1, steps=3)
    assert [r["phase"] for r in rows[: len(PHASES)]] == [label for label, _, _ in PHASES]
    for r in rows[: len(PHASES)]:  # every phase ran in every step, but the contracts when they are off
        ran = contracts or "contract_pass" not in r["phase"]
        assert (r["median_s"] > 0) == ran, r
    assert rows[-1]["phase"] == "whole step"
    assert sum(r["median_s"] for r in rows[:-1]) == pytest.approx(rows[-1]["median_s"], rel=0.5)
    assert [getattr(owner, name) for _, owner, name in PHASES] == before  # wrappers removed


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


def test_steady_rate_starts_when_every_worker_has_finished_a_chunk():
    """Two workers alternating 10-run chunks every second run 20 runs/s; the first part file would say 19/0.95 s."""
    from benchmarks.sweeps import _workers, steady_rate

    two = [(10, 0.0), (10, 0.05)] + [(10, t + d) for t in range(1, 20) for d in (0.0, 0.05)]
    assert steady_rate(two, 2) == pytest.approx(20.0)
    one = [(10, float(t)) for t in range(40)] + [(5, 40.5)]  # a short last chunk
    assert steady_rate(one, 1) == pytest.approx((39 * 10 + 5) / 40.5)
    assert steady_rate(two[:2], 2) != steady_rate(two[:2], 2)  # nan: no chunk after the workers' first
    assert (_workers([]), _workers(["--jobs", "2"]), _workers(["--dask-local", "3"])) == (1, 2, 3)


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
