"""Turn the benchmark results into ``results.md`` and two PNG plots."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from .timing import fit_exponent  # noqa: E402

__all__ = ["write", "headline_rows", "targets"]

MIB = 2**20


def _ms(s: float) -> str:
    return f"{1000 * s:,.1f}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _find(rows: list[dict], impl: str, n: int, structure: str = "network", degree: float = 8.0) -> dict | None:
    for r in rows:
        if r["impl"] == impl and r["n_firms"] == n and r["structure"] == structure and r["mean_degree"] == degree:
            return r
    return None


def _ratios(rows: list[dict], row: dict) -> tuple[float, float] | None:
    """Reference / vectorized, by median wall time and by median CPU time (same run)."""
    ref = _find(rows, "reference", row["n_firms"], row["structure"], row["mean_degree"])
    if row["impl"] != "vectorized" or ref is None:
        return None
    return ref["median_s"] / row["median_s"], ref["cpu_median_s"] / row["cpu_median_s"]


def _speedup(rows: list[dict], row: dict) -> str:
    if row["impl"] != "vectorized":
        return ""
    r = _ratios(rows, row)
    return f"{r[0]:,.0f}x (CPU {r[1]:,.0f}x)" if r else "n/a"


def _step_rows(rows: list[dict]) -> list[list]:
    return [[r["impl"], r["structure"], f"{r['n_firms']:,}", f"{r['directed_edges']:,}", r["steps"], _ms(r["median_s"]), _ms(r["min_s"]),
             _ms(r["cpu_median_s"]), f"{r['edge_updates_per_s'] / 1e6:,.3f}", f"{r['directed_edges'] / r['cpu_median_s'] / 1e6:,.3f}", _speedup(rows, r)] for r in rows]


STEP_HEADER = ["implementation", "structure", "firms", "directed edges", "timed steps", "median ms/step", "min ms/step",
               "CPU ms/step", "M edge-updates/s (wall)", "M edge-updates/s (CPU)", "vectorized / reference"]


def _first_size_rounds(res: dict) -> dict[str, list[dict]]:
    """The throughput rows of the first sweep size, per executor, in round order."""
    first = res["throughput"][0]["runs"] if res["throughput"] else 0
    rounds: dict[str, list[dict]] = {}
    for r in res["throughput"]:
        if r["runs"] == first:
            rounds.setdefault(r["executor"], []).append(r)
    return rounds


def _throughput(res: dict) -> dict[str, dict[str, float]]:
    """Per executor, over its rounds of the first sweep size: median runs/s with start-up and steady-state runs/s."""
    return {name: {"runs": rs[0]["runs"], "rounds": len(rs), "wall": statistics.median(r["runs_per_s"] for r in rs),
                   "marginal": statistics.median(r["steady_runs_per_s"] for r in rs)}
            for name, rs in _first_size_rounds(res).items()}


def round_ratios(res: dict, key: str = "steady_runs_per_s") -> dict[str, list[float]]:
    """Per parallel executor: its rate over the serial rate of the same round, one ratio per round.

    The shared machine's speed drifts within a minute, so the ratio of two medians taken over
    different rounds mixes the executors with the drift; the serial and parallel sweeps of one
    round run seconds apart, and the median of their ratios is the speed-up estimate.
    Rounds without a finite rate on both sides are left out.
    """
    rows = _first_size_rounds(res)
    serial = {r.get("round", 1): r[key] for r in rows.get("serial", [])}
    out: dict[str, list[float]] = {}
    for name, rs in rows.items():
        if name == "serial":
            continue
        out[name] = []
        for r in rs:
            base = serial.get(r.get("round", 1), math.nan)
            if math.isfinite(r[key]) and math.isfinite(base) and base > 0:
                out[name].append(r[key] / base)
    return out


def _efficiency(res: dict) -> dict[str, tuple[float, float, float]]:
    """Per parallel executor: (speed-up wall, speed-up steady state, steady-state efficiency on its workers).

    Both speed-ups are medians of per-round ratios (``round_ratios``).
    """
    walls, steadies = round_ratios(res, "runs_per_s"), round_ratios(res)
    workers = {name: rs[0].get("workers", 2) for name, rs in _first_size_rounds(res).items()}
    return {k: (statistics.median(walls[k]), statistics.median(v), statistics.median(v) / workers[k])
            for k, v in steadies.items() if v and walls.get(k)}


def _ratio_range(res: dict, name: str) -> str:
    """'range 1.61-1.96x over 7 rounds' for a parallel executor's steady-state ratios."""
    v = round_ratios(res).get(name, [])
    return f"range {min(v):.2f}-{max(v):.2f}x over {len(v)} rounds" if v else "no rounds"


def targets(res: dict) -> list[list]:
    """The performance targets with the measured figure and whether it is met."""
    out = []
    vec = _find(res["speed"], "vectorized", 10_000)
    ratios = _ratios(res["speed"], vec) if vec else None
    if ratios:
        out.append(["vectorized >= 50x the reference at N = 10,000 (same run)", f"{ratios[0]:,.0f}x by wall time, {ratios[1]:,.0f}x by CPU time",
                    "met" if min(ratios) >= 50 else "MISSED"])
    if vec:
        eu = vec["edge_updates_per_s"]
        eu_cpu = vec["directed_edges"] / vec["cpu_median_s"]
        out.append([">= 20 M edge-updates/s, whole step, N = 10,000, one core",
                    f"{eu / 1e6:.2f} M/s by wall time ({_ms(vec['median_s'])} ms/step), {eu_cpu / 1e6:.2f} M/s by CPU time ({_ms(vec['cpu_median_s'])} ms/step)",
                    "met" if max(eu, eu_cpu) >= 20e6 else "MISSED"])
    big = [m for m in res["memory"] if m["n_firms"] == 100_000]
    if big:
        peak = big[0]["peak"]
        out.append(["N = 100,000, mean degree 8 in < 2 GiB", f"{peak / MIB:,.0f} MiB peak RSS", "met" if peak < 2 * 2**30 else "MISSED"])
    for name, (wall, marginal, _) in _efficiency(res).items():
        out.append([f"sweep >= 1.8x serial on 2 cores ({name})",
                    f"{marginal:.2f}x steady state (median per-round ratio, {_ratio_range(res, name)}), {wall:.2f}x with start-up",
                    "met" if marginal >= 1.8 else "MISSED"])
    return out


def headline_rows(res: dict) -> list[list]:
    """The short table of the main figures."""
    rows = []
    vec = _find(res["speed"], "vectorized", 10_000)
    full = _find(res["speed"], "vectorized (full)", 10_000)
    ref = _find(res["speed"], "reference", 10_000)
    if vec:
        rows.append(["step, N = 10,000, k = 8, core configuration (vectorized)", f"{_ms(vec['median_s'])} ms = {vec['edge_updates_per_s'] / 1e6:.2f} M edge-updates/s"])
    if full:
        rows.append(["step, N = 10,000, k = 8, full default model (vectorized)", f"{_ms(full['median_s'])} ms = {full['edge_updates_per_s'] / 1e6:.2f} M edge-updates/s"])
    if ref:
        rows.append(["step, N = 10,000, k = 8, naive Mesa reference", f"{_ms(ref['median_s'])} ms = {ref['edge_updates_per_s'] / 1e6:.3f} M edge-updates/s"])
    if vec and ref:
        r = _ratios(res["speed"], vec)
        rows.append(["speed-up over the reference, same run", f"{r[0]:,.0f}x by wall time, {r[1]:,.0f}x by CPU time"])
    for m in res["memory"]:
        if m["n_firms"]:
            rows.append([f"peak RSS, one model, N = {m['n_firms']:,}", f"{m['peak'] / MIB:,.0f} MiB"])
    tp = _throughput(res)
    rows.append([f"sweep of tiny runs, serial (steady state)", f"{tp['serial']['marginal']:.1f} runs/s"])
    for name, (_, marginal, eff) in _efficiency(res).items():
        rows.append([f"sweep of tiny runs, {name} (steady state)", f"{tp[name]['marginal']:.1f} runs/s; {marginal:.2f}x serial (median per-round ratio, {_ratio_range(res, name)}), efficiency {100 * eff:.0f} %"])
    return rows


def _plot_growth(res: dict, path: Path) -> tuple[float, float]:
    gn, gk = res["growth_n"], res["growth_degree"]
    xn, yn = [r["n_firms"] for r in gn], [r["median_s"] for r in gn]
    xk, yk = [r["mean_degree"] for r in gk], [r["median_s"] for r in gk]
    bn, bk = fit_exponent(xn, yn), fit_exponent(xk, yk)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, x, y, b, label in ((axes[0], xn, yn, bn, "firms N (mean degree 8)"), (axes[1], xk, yk, bk, "mean degree (N = 10,000)")):
        ax.loglog(x, [1000 * v for v in y], "o-", label=f"measured (slope {b:.2f})")
        ax.loglog([x[0], x[-1]], [1000 * y[0], 1000 * y[0] * (x[-1] / x[0])], ":", color="grey", label="linear (slope 1)")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(label)
        ax.set_ylabel("median ms per step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Vectorized step cost growth (core configuration, network)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return bn, bk


def _plot_speed(res: dict, path: Path) -> None:
    rows = [r for r in res["structures"]]
    kinds = list(dict.fromkeys(r["structure"] for r in rows))
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(impls)
    for i, impl in enumerate(impls):
        vals = [next((r["edge_updates_per_s"] for r in rows if r["structure"] == k and r["impl"] == impl), 0.0) for k in kinds]
        ax.bar([j + i * width for j in range(len(kinds))], vals, width, label=impl)
    ax.set_xticks([j + width * (len(impls) - 1) / 2 for j in range(len(kinds))], kinds)
    ax.set_yscale("log")
    ax.axhline(20e6, color="red", ls="--", lw=1, label="target 20 M/s")
    ax.set_ylabel("directed edge-updates per second")
    ax.set_title("Step throughput per structure, N = 10,000")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _phase_section(res: dict) -> list[str]:
    """Per-phase times of one step and the exp/tanh/uniform floor (absent in results of older runs)."""
    if "phases" not in res:
        return []
    fl = res["floor"]
    step = res["phases"][-1]["median_s"]
    return [
        "## Where the step's time goes (N = 10,000, mean degree 8, core configuration)",
        "",
        "Median time per step of each phase (`benchmarks/phases.py` wraps the functions the step calls with a timer; "
        "the phases run in this order). This measured step is a separate model from the speed table's, so its total differs "
        "a little.",
        "",
        _table(["phase", "ms/step", "share"],
               [[r["phase"], f"{1000 * r['median_s']:.3f}", f"{100 * r['share']:.1f} %"] for r in res["phases"]]),
        "",
        f"Floor: what any implementation of these rules computes per step here, timed alone in tight loops: "
        f"{fl['n_exp']:,} logistic curves with the kernels' vectorized `exp` ({1000 * fl['exp_s']:.2f} ms), "
        f"{fl['n_tanh']:,} `tanh` from the same `exp` ({1000 * fl['tanh_s']:.2f} ms) "
        f"and {fl['n_uniform']:,} uniform draws ({1000 * fl['uniform_s']:.2f} ms): {1000 * fl['total_s']:.2f} ms, "
        f"{100 * fl['total_s'] / step:.0f} % of this step. The 20 M edge-updates/s target allows "
        f"{1000 * 2 * res['floor_edges'] / 20e6:.1f} ms for this graph." if "floor_edges" in res else "",
        "",
    ]


def write(res: dict, out: Path) -> None:
    """Write ``results.md``, ``growth.png`` and ``structures.png`` into ``out``."""
    bn, bk = _plot_growth(res, out / "growth.png")
    _plot_speed(res, out / "structures.png")
    m = res["machine"]
    parts = [
        "# Benchmark results",
        "",
        f"Written by `python -m benchmarks{' --quick' if res['plan'] == 'quick' else ''}` in {res['total_s'] / 60:.1f} minutes. "
        "The machine is shared: timings are medians (and minima) of repeated single steps; ratios compare figures of the same run.",
        "",
        "## Machine",
        "",
        _table(["", ""], [[k, v] for k, v in m.items()]),
        "",
        "## Headline",
        "",
        _table(["measure", "value"], headline_rows(res)),
        "",
        "## Targets",
        "",
        _table(["target", "measured", ""], targets(res)),
        "",
        "## Step speed (network, mean degree 8)",
        "",
        "`vectorized` and `reference` run the same core configuration (`benchmarks/reference.py`: all three mechanisms, "
        "information direct and relayed, marketing modes off, no entry or voluntary exit); `vectorized (full)` is the "
        "default model with entry and exit. Edge-updates/s = live directed edges / median wall time of a whole step.",
        "",
        _table(STEP_HEADER, _step_rows(res["speed"])),
        "",
        *_phase_section(res),
        "## Per structure (N = 10,000)",
        "",
        _table(STEP_HEADER, _step_rows(res["structures"])),
        "",
        "![throughput per structure](structures.png)",
        "",
        "## Cost growth (vectorized, core configuration)",
        "",
        f"Fitted exponents (least squares on log-log): time per step ~ N^{bn:.2f} (mean degree 8) and ~ k^{bk:.2f} (N = 10,000).",
        "",
        _table(["firms", "mean degree", "directed edges", "median ms/step", "M edge-updates/s"],
               [[f"{r['n_firms']:,}", r["mean_degree"], f"{r['directed_edges']:,}", _ms(r["median_s"]), f"{r['edge_updates_per_s'] / 1e6:.3f}"]
                for r in res["growth_n"] + res["growth_degree"]]),
        "",
        "![cost growth](growth.png)",
        "",
        "## Memory of one model (fresh process each, full default model, 5 steps)",
        "",
        _table(["firms", "directed edges", "RSS after imports MiB", "RSS after build MiB", "RSS after steps MiB", "peak RSS MiB", "model's share MiB"],
               [[f"{x['n_firms']:,}" if x["n_firms"] else "imports only", f"{x['directed_edges']:,}", f"{x['imported'] / MIB:,.0f}",
                 f"{x['built'] / MIB:,.0f}", f"{x['after_steps'] / MIB:,.0f}", f"{x['peak'] / MIB:,.0f}", f"{(x['after_steps'] - x['imported']) / MIB:,.0f}"] for x in res["memory"]]),
        "",
        "## Sweep throughput (`run.py sweep`, tiny scenario)",
        "",
        "Wall time of the whole command, including interpreter start-up and starting the worker processes or the Dask cluster. "
        "The steady-state rate comes from the workers' own log of each chunk's start and end (`CLUSTERCOOP_CHUNK_LOG`): "
        "its window opens when the last worker to finish a first chunk finishes it and closes when the last chunk ends, "
        "and a chunk that straddles the opening counts with the share of its time inside. That leaves start-up (processes, "
        "imports, the Dask cluster, a worker that started late) and consolidation out. "
        "Parallel efficiency = steady-state speed-up / 2 workers.",
        "",
        "Parallel figures are only meaningful on an otherwise idle machine: the load column shows the 1-minute load average "
        "when each sweep ended (above about 2 on 2 cores, other work was competing).",
        "",
        "The executors run in interleaved rounds (serial, `--jobs 2`, `--dask-local 2`, each round starting one executor later "
        "than the one before, so that none always follows another). The shared machine's speed drifts within "
        "minutes, so a speed-up is the median over rounds of the parallel rate divided by the serial rate of the same round; "
        "the runs/s columns are medians per executor.",
        "",
        _table(["round", "executor", "runs", "firms", "steps", "wall s", "runs/s incl. start-up", "steady-state runs/s", "load after"],
               [[r.get("round", 1), r["executor"], r["runs"], r["n_firms"], r["steps"], f"{r['wall_s']:.1f}", f"{r['runs_per_s']:.2f}", f"{r['steady_runs_per_s']:.2f}",
                 f"{r['load_after']:.2f}" if "load_after" in r else "n/a"] for r in res["throughput"]]),
        "",
        _table(["executor", "steady-state runs/s (median of rounds)", "speed-up (steady, median per-round ratio)", "speed-up (with start-up)", "parallel efficiency (steady)"],
               [[k, f"{v['marginal']:.2f}",
                 f"{_efficiency(res)[k][1]:.2f}x" if k in _efficiency(res) else "1.00x",
                 f"{_efficiency(res)[k][0]:.2f}x" if k in _efficiency(res) else "1.00x",
                 f"{100 * _efficiency(res)[k][2]:.0f} %" if k in _efficiency(res) else ""] for k, v in _throughput(res).items()]),
        "",
        "## Sweep memory against the number of runs (`--jobs 2`)",
        "",
        "Peak of the summed RSS of the runner and its workers (sampled every 0.1 s), and of the largest single process.",
        "",
        _table(["runs", "wall s", "steady-state runs/s", "peak tree RSS MiB", "largest process MiB"],
               [[f"{r['runs']:,}", f"{r['wall_s']:.0f}", f"{r['steady_runs_per_s']:.2f}", f"{r['peak_tree_rss'] / MIB:,.0f}", f"{r['peak_process_rss'] / MIB:,.0f}"]
                for r in res["sweep_memory"]]),
        "",
    ]
    sm = res["sweep_memory"]
    if len(sm) >= 2:
        g = sm[-1]["peak_tree_rss"] / sm[0]["peak_tree_rss"]
        parts += [f"{sm[-1]['runs'] / sm[0]['runs']:.0f}x the runs took {g:.2f}x the peak memory.", ""]
    (out / "results.md").write_text("\n".join(parts), encoding="utf-8")
