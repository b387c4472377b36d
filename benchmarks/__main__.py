"""Run every benchmark and write ``benchmarks/results/results.md`` with plots.

Usage::

    python -m benchmarks            # the full set (a few minutes)
    python -m benchmarks --quick    # a smaller subset

Sections: step speed (vectorized vs the naive reference, edge-updates/s),
where the step's time goes (per phase, and the floor of its exp/tanh calls
and random draws), per structure, cost growth with N and mean degree, peak memory of a model,
sweep throughput (serial, ``--jobs 2``, ``--dask-local 2``) and sweep memory
against the number of runs. Raw numbers go to ``results.json`` beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sim import ClusterModel

from . import report
from .machine import machine_info
from .memory import model_peak_rss
from .phases import floor, phase_times
from .sweeps import run_sweep
from .timing import scenario_for, time_model

RESULTS = Path(__file__).resolve().parent / "results"

#: Sizes and repeat counts; ``quick`` is the subset behind ``--quick``.
PLANS = {
    "full": {
        "speed_n": [1_000, 10_000, 100_000],
        "reference_n": [1_000, 10_000],
        "growth_n": [1_000, 3_000, 10_000, 30_000, 100_000],
        "growth_degree": [2, 4, 8, 16, 32],
        "structures": ["hierarchical", "star", "chain", "network"],
        "structure_reference": True,
        "memory_n": [10_000, 100_000],
        "throughput_runs": [2000],  # long enough that start-up is small next to the runs
        "throughput_rounds": 7,  # interleaved rounds: the machine drifts, so each round pairs with its own serial sweep
        "sweep_memory_runs": [2_000, 10_000],
    },
    "quick": {
        "speed_n": [1_000, 10_000],
        "reference_n": [1_000],
        "growth_n": [1_000, 3_000, 10_000],
        "growth_degree": [2, 8, 32],
        "structures": ["hierarchical", "star", "chain", "network"],
        "structure_reference": False,
        "memory_n": [10_000],
        "throughput_runs": [160],
        "throughput_rounds": 1,
        "sweep_memory_runs": [100, 400],
    },
}


def _repeats(n_firms: int, impl: str) -> tuple[int, int]:
    """(warmup, timed) steps: fewer for big or slow models."""
    if impl == "reference":
        return (1, 2) if n_firms >= 10_000 else (1, 3)
    return (2, 5) if n_firms >= 100_000 else (2, 15)


def _timed(impl: str, n: int, degree: float = 8.0, structure: str = "network", full: bool = False):
    warm, reps = _repeats(n, impl)
    label = impl + (" (full)" if full else "")
    t = time_model(label, scenario_for(n, degree, structure, full=full), warmup=warm, repeats=reps)
    print(f"  {label:<20} {structure:<13} N={n:<7} k={degree:<4} {1000 * t.median_s:10.2f} ms/step  "
          f"{t.edge_updates_per_s / 1e6:7.3f} M edge-updates/s", flush=True)
    return t.as_row()


def main(argv: list[str] | None = None) -> int:
    """Run the plan and write the report."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller subset of sizes and rounds")
    ap.add_argument("--sweep-runs", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                    help="run counts of the sweep-memory check (default: 2000 10000; --quick: 100 400)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="output folder (default: benchmarks/results)")
    args = ap.parse_args(argv)
    plan = dict(PLANS["quick" if args.quick else "full"])
    if args.sweep_runs:
        plan["sweep_memory_runs"] = list(args.sweep_runs)
    t_start = time.perf_counter()
    res: dict = {"plan": "quick" if args.quick else "full", "machine": machine_info(), "plan_sizes": plan}
    print("machine:", res["machine"], flush=True)

    time_model("vectorized", scenario_for(1_000), warmup=3, repeats=3)  # warm caches and CPU clocks; not reported
    print("step speed (network, mean degree 8):", flush=True)
    speed = []
    for n in plan["speed_n"]:
        speed.append(_timed("vectorized", n))
        speed.append(_timed("vectorized", n, full=True))
        if n in plan["reference_n"]:
            speed.append(_timed("reference", n))
    res["speed"] = speed

    print("where the step's time goes (N = 10,000, core configuration):", flush=True)
    res["phases"] = phase_times(scenario_for(10_000))
    for r in res["phases"]:
        print(f"  {r['phase']:<82} {1000 * r['median_s']:7.3f} ms  {100 * r['share']:5.1f} %", flush=True)
    floor_model = ClusterModel(scenario_for(10_000), rng=1)
    res["floor"] = floor(floor_model)
    res["floor_edges"] = int(floor_model.state.edge_alive().sum())  # undirected live edges of the graph
    print(f"  floor (exp, tanh, uniforms): {1000 * res['floor']['total_s']:.2f} ms", flush=True)

    print("per structure (N = 10,000):", flush=True)
    structures = []
    for kind in plan["structures"]:
        if kind == "network":
            structures += [r for r in speed if r["n_firms"] == 10_000]
            continue
        structures.append(_timed("vectorized", 10_000, structure=kind))
        structures.append(_timed("vectorized", 10_000, structure=kind, full=True))
        if plan["structure_reference"]:
            structures.append(_timed("reference", 10_000, structure=kind))
    res["structures"] = structures

    print("cost growth:", flush=True)
    known = {r["n_firms"]: r for r in speed if r["impl"] == "vectorized"}
    res["growth_n"] = [known.get(n) or _timed("vectorized", n) for n in plan["growth_n"]]
    res["growth_degree"] = [known[10_000] if k == 8 and 10_000 in known else _timed("vectorized", 10_000, degree=k)
                            for k in plan["growth_degree"]]

    print("memory of one model (fresh process each):", flush=True)
    res["memory"] = [model_peak_rss(0)] + [model_peak_rss(n) for n in plan["memory_n"]]
    for m in res["memory"]:
        print(f"  N={m['n_firms']:<7} peak RSS {m['peak'] / 2**20:8.1f} MiB", flush=True)

    print("sweep throughput (rounds of serial, --jobs 2, --dask-local 2, interleaved):", flush=True)
    res["throughput"] = []
    for rnd in range(plan["throughput_rounds"]):
        executors = [[], ["--jobs", "2"], ["--dask-local", "2"]]
        for ex in executors[rnd % 3:] + executors[:rnd % 3]:  # each round starts one executor later
            for runs in plan["throughput_runs"]:
                s = run_sweep(runs, ex, memory_interval=0.25)
                print(f"  round {rnd + 1} {s.executor:<16} {s.runs:>5} runs in {s.wall_s:7.1f} s = {s.runs_per_s:6.2f} runs/s; "
                      f"steady state {s.steady_runs_per_s:6.2f} runs/s", flush=True)
                res["throughput"].append({**s.__dict__, "runs_per_s": s.runs_per_s, "round": rnd + 1})

    print("sweep memory against runs (--jobs 2):", flush=True)
    res["sweep_memory"] = []
    for runs in plan["sweep_memory_runs"]:
        s = run_sweep(runs, ["--jobs", "2"])
        print(f"  {runs} runs: peak tree RSS {s.peak_tree_rss / 2**20:8.1f} MiB, largest process "
              f"{s.peak_process_rss / 2**20:8.1f} MiB, {s.wall_s:.0f} s", flush=True)
        res["sweep_memory"].append({**s.__dict__, "runs_per_s": s.runs_per_s})

    res["total_s"] = time.perf_counter() - t_start
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    report.write(res, args.out)
    print(f"wrote {args.out / 'results.md'} in {res['total_s'] / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
