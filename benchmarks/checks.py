"""Checks of the machinery behind the speed figures, not of the model's claims.

Usage::

    python -m benchmarks.checks            # every check; exit status 1 if one fails
    python -m benchmarks.checks NAME ...   # only these (names as printed)

They assert how the code runs: the compiled loops stay vectorized and return
no array they allocated, a worker freezes what its imports made before its
first chunk, ``--dask-local`` workers run without Dask's malloc trimming and
with one numeric thread, and
the benchmark's own tools (the chunk log and its steady-state window, speed-ups
paired per round, the phase timer, the floor, the commit comparison) compute
what they claim. ``make bench`` runs them before the benchmarks; the test
suite (``make test``) holds the claims about the cluster.
"""

from __future__ import annotations

import importlib
import math
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["CHECKS", "Skip", "main"]

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"


class Skip(Exception):
    """A check that does not apply on this machine."""


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def _apply(f, x) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    f(x, out)
    return out


def _compiled_loops() -> dict:
    """Every compiled loop of the model, by ``module.name``."""
    import numba

    import sim.submodels
    from sim import metrics, numerics, state

    modules = [numerics, state, metrics] + [importlib.import_module(f"sim.submodels.{m.name}")
                                            for m in pkgutil.iter_modules(sim.submodels.__path__)]
    return {f"{mod.__name__}.{name}": f for mod in modules for name, f in vars(mod).items()
            if isinstance(f, numba.core.registry.CPUDispatcher) and f.py_func.__module__ == mod.__name__}


# ----------------------------------------------------------------------------------------- the model's code


def check_curve_loops_are_vectorized() -> None:
    """The loops that call the model's own ``exp`` compile to 256- or 512-bit vector code.

    The point of that ``exp`` is vectorization: the assembly must hold the vector form of its exponent
    step (``vpsllq $52`` on a ymm register with AVX2, a zmm register with AVX-512). A change that makes
    LLVM fall back to scalar code (a division check, a gather, a branch) fails here, naming the loop.
    """
    import numba
    from llvmlite import binding as llvm

    from sim import ClusterModel, Scenario, numerics

    if not llvm.get_host_cpu_features().get("avx2", False):
        raise Skip("the host CPU has no AVX2: numba compiles without 256-bit vectors here")
    model = ClusterModel(Scenario().with_overrides({"structure.n_firms": 40, "run.steps": 2}, source="checks"), rng=1)
    model.run_for(2)  # compiles the loops for the model's argument types
    _apply(numerics.sigmoid_array, [0.0])  # and the array helper, which the model does not call
    loops = _compiled_loops()
    for name in ("submodels.trust.relationship_pass", "submodels.trust.commitment_pass", "submodels.trust.outcome_pass",
                 "submodels.decision.decision_pass", "numerics.sigmoid_array"):
        kernel = loops[f"sim.{name}"]
        options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}  # its own flags (fastmath)
        fresh = numba.njit(**options, cache=False)(kernel.py_func)  # cached code cannot be inspected
        fresh.compile(kernel.signatures[0])
        asm = fresh.inspect_asm(fresh.signatures[0])
        assert re.search(r"vpsllq\s+\$52,\s*%[yz]mm", asm), f"{name}: the loop with the exp is not vectorized"


def check_no_compiled_loop_returns_an_array_it_allocated() -> None:
    """The compiled loops write into arrays their caller allocated and return scalars only.

    Boxing an array made in compiled code runs Python on the way out of the loop, where an interrupt is not
    raised cleanly.
    """
    import numba

    from sim import ClusterModel, Scenario

    for contracts in (True, False):  # compiles the loops for the model's argument types
        sc = Scenario().with_overrides({"structure.n_firms": 60, "mechanisms.contract.enabled": contracts,
                                        "demography.leave_rate": 0.3}, source="checks")
        ClusterModel(sc, rng=3).run_for(6)
    checked = 0
    for name, loop in _compiled_loops().items():
        for sig in loop.nopython_signatures:
            ret = sig.return_type
            parts = ret.types if isinstance(ret, numba.types.BaseTuple) else (ret,)
            assert not any(isinstance(t, numba.types.Array) for t in parts), f"{name} returns an array: {ret}"
            checked += 1
    assert checked >= 20, f"only {checked} compiled signatures found"


# ----------------------------------------------------------------------------------------- the runner's workers


def check_first_chunk_of_a_process_freezes_the_imports() -> None:
    """``gc.freeze()`` once per process, before the first chunk's runs; later chunks freeze nothing more.

    Without it Python's first full collection in a worker scans every object the imports made, inside a
    chunk. Results are the same with and without the freeze.
    """
    with tempfile.TemporaryDirectory(prefix="clustercoop-checks-") as tmp:
        tiny = Path(tmp) / "tiny.toml"
        tiny.write_text(f'extends = "{BASELINE.as_posix()}"\n[structure]\nn_firms = 10\n[run]\nsteps = 2\n')
        code = f"""
import gc
import runner.chunks as chunking
from sim.scenario import load_scenario
base = load_scenario({str(tiny)!r})
chunks = [chunking.Chunk(i, [base], [chunking.RunItem(i, 0, {{}}, 100 + i, {{"i": i}})], None) for i in range(2)]
print(gc.get_freeze_count())
a = chunking.run_chunk(chunks[0])
print(gc.get_freeze_count())
b = chunking.run_chunk(chunks[1])
print(gc.get_freeze_count())
gc.unfreeze()
print(chunking.run_chunk(chunks[1]).rows == b.rows)
"""
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                             check=True).stdout.split()
    before, after_first, after_second, same = int(out[0]), int(out[1]), int(out[2]), out[3]
    assert after_first > before + 50_000, f"the first chunk froze {after_first - before} objects"  # the imports' objects
    assert after_second == after_first, "a later chunk froze again"
    assert same == "True", "a chunk gave other rows without the freeze"


def check_dask_local_workers_get_our_environment() -> None:
    """Workers that ``--dask-local`` starts (spawned by nannies) run without malloc trimming, one numeric thread each."""
    from runner import Executor

    before = dict(os.environ)
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    try:
        with Executor(dask_local=1) as ex:
            trim = ex._client.run(os.getenv, "MALLOC_TRIM_THRESHOLD_")
            threads = ex._client.run(os.getenv, "OMP_NUM_THREADS")
    finally:  # the nanny writes its pre-spawn environment into this process's too
        os.environ.clear()
        os.environ.update(before)
    assert list(trim.values()) == [None], f"MALLOC_TRIM_THRESHOLD_ in the workers: {trim}"
    assert list(threads.values()) == ["1"], f"OMP_NUM_THREADS in the workers: {threads}"


# ----------------------------------------------------------------------------------------- the benchmark's tools


def check_steady_window_opens_when_the_last_worker_finishes_its_first_chunk() -> None:
    """Two workers, one starting 0.35 s late: the window holds no start-up of either."""
    from .sweeps import _workers, steady_rate

    early = [(1, 10, 0.0, 0.5)] + [(1, 10, 0.5 + 0.5 * i, 1.0 + 0.5 * i) for i in range(20)]  # 20 runs/s
    late = [(2, 10, 0.35, 0.85)] + [(2, 10, 0.85 + 0.5 * i, 1.35 + 0.5 * i) for i in range(19)]
    # opens at 0.85 (the late worker's first end); early's chunk [0.5, 1.0] counts 0.15/0.5 of its runs
    runs = 10 * 0.3 + 10 * 19 + 10 * 19
    assert _close(steady_rate(early + late), runs / (10.5 - 0.85))
    assert _close(steady_rate(early + late), 40.0, rel=0.01)  # both workers at 20 runs/s
    serial = [(7, 10, 0.1 * i, 0.1 * (i + 1)) for i in range(30)]
    assert _close(steady_rate(serial), 100.0)
    assert math.isnan(steady_rate([]))  # nothing ran
    assert math.isnan(steady_rate([(1, 10, 0.0, 1.0), (2, 10, 0.0, 1.0)]))  # no chunk after every worker's first
    assert (_workers([]), _workers(["--jobs", "2"]), _workers(["--dask-local", "3"])) == (1, 2, 3)


def check_every_process_that_runs_chunks_logs_them_when_asked() -> None:
    """The chunk log of a real ``--jobs 2`` sweep: one line per chunk, from the two workers."""
    from runner.chunks import CHUNK_LOG_ENV

    from .sweeps import read_chunk_log

    with tempfile.TemporaryDirectory(prefix="clustercoop-checks-") as tmp:
        log = Path(tmp) / "chunks.log"
        args = [sys.executable, "run.py", "sweep", "scenarios/baseline.toml", "--param", "mechanisms.regulation.sanction=0:1:4",
                "--replicates", "8", "--steps", "2", "--set", "structure.n_firms=10", "--quiet", "--out", f"{tmp}/out",
                "--jobs", "2"]
        subprocess.run(args, cwd=ROOT, env={**os.environ, CHUNK_LOG_ENV: str(log)}, check=True, capture_output=True,
                       timeout=600)
        chunks = read_chunk_log(log)
    assert len(chunks) == 16 and sum(r for _, r, _, _ in chunks) == 32, "32 runs in chunks of 2"
    assert len({pid for pid, *_ in chunks}) == 2 and all(end > start for *_, start, end in chunks)


def check_speed_ups_pair_each_parallel_sweep_with_the_serial_sweep_of_its_round() -> None:
    """A machine that drifts between rounds: the paired ratio sees the true 1.9x, the ratio of medians does not."""
    from .report import _efficiency, _throughput, round_ratios

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
    assert all(_close(r, 1.9) for r in ratios["--jobs 2"]) and len(ratios["--jobs 2"]) == 5
    assert all(_close(r, 1.8) for r in ratios["--dask-local 2"]) and len(ratios["--dask-local 2"]) == 5
    eff = _efficiency(res)
    assert _close(eff["--jobs 2"][1], 1.9) and _close(eff["--jobs 2"][2], 0.95)
    assert _close(eff["--dask-local 2"][1], 1.8)
    tp = _throughput(res)
    assert not _close(tp["--dask-local 2"]["marginal"] / tp["serial"]["marginal"], 1.8)  # what pairing corrects


def check_phase_times_cover_every_submodel_of_the_step() -> None:
    """The phase timer walks the step's own list of submodels, with contracts on and off."""
    from sim.model import STEP

    from .phases import PHASES, phase_times
    from .reference import core_scenario

    for contracts in (True, False):
        scenario = core_scenario(**{"structure.n_firms": 150, "mechanisms.contract.enabled": contracts})
        rows = phase_times(scenario, warmup=1, steps=3)
        assert [r["phase"] for r in rows[: len(PHASES)]] == [name for name, _ in STEP]
        assert all(r["median_s"] > 0 for r in rows[: len(PHASES)]), "a submodel was not called in every step"
        assert rows[-1]["phase"] == "whole step"
        total = sum(r["median_s"] for r in rows[:-1])
        assert 0.5 * rows[-1]["median_s"] <= total <= 1.5 * rows[-1]["median_s"], "the phases do not add up to the step"


def check_floor_counts_follow_the_graph() -> None:
    """The floor counts one exp per curve, one tanh per node and the step's uniform draws."""
    from sim import ClusterModel

    from .phases import floor
    from .reference import core_scenario

    model = ClusterModel(core_scenario(**{"structure.n_firms": 200}), rng=1)
    fl = floor(model, repeats=1)
    n, e = model.state.n_nodes, model.state.n_edges
    assert (fl["n_exp"], fl["n_tanh"], fl["n_uniform"]) == (2 * e + 6 * n, n, 3 * e + 2 * n)
    assert _close(fl["total_s"], fl["exp_s"] + fl["tanh_s"] + fl["uniform_s"])


def check_versus_times_another_commit_interleaved_and_cleans_up() -> None:
    """``python -m benchmarks.versus REV``: a same-run ratio against a commit; its temporary worktree is gone afterwards."""
    from .versus import compare, main

    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode != 0:
        raise Skip("not a git checkout")
    res = compare("HEAD", rounds=2, n=60, steps=3, progress=lambda line: None)
    assert len(res["this"]) == len(res["other"]) == len(res["ratios"]) == 2
    assert all(t > 0 for t in res["this"] + res["other"]) and res["ratio"] > 0
    listed = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    assert f"worktree {res['worktree']}\n" not in listed, "the temporary worktree is still registered"
    assert not Path(res["worktree"]).exists(), "the temporary worktree is still on disk"
    assert main(["no-such-revision-anywhere"]) == 2


#: Every check, in the order they run.
CHECKS = {name[len("check_"):]: f for name, f in list(globals().items()) if name.startswith("check_") and callable(f)}


def main(argv: list[str] | None = None) -> int:
    """Run the named checks (all by default); print one line each; 1 if any failed, 2 for an unknown name."""
    names = list(sys.argv[1:] if argv is None else argv) or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        try:
            CHECKS[name]()
        except Skip as why:
            print(f"skip  {name}: {why}", flush=True)
            continue
        except Exception as exc:  # noqa: BLE001 - report every failing check, then fail
            failed += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print(f"FAIL  {name}: {type(exc).__name__}: {exc} (line {where.lineno}: {where.line})", flush=True)
            continue
        print(f"ok    {name} ({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"{failed} of {len(names)} checks FAILED" if failed else f"all {len(names)} checks passed or skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
