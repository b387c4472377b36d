"""Where a step's time goes: the median time of each submodel of ``ClusterModel.step``.

:func:`phase_times` walks the step's own list of submodels (``sim.model.STEP``):
it gives the model a copy of that list in which each function is wrapped with
a timer, runs ``steps`` steps, and reports each phase's median time per step.
What no phase covers (the step's context, Mesa's scheduling, the
DataCollector) is the remainder.

:func:`floor` prices what no implementation of these rules can avoid: the
``exp``/``tanh`` calls of the logistic curves and the uniform draws, counted
per step and timed on this machine.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import numpy as np

from sim import ClusterModel
from sim.model import STEP
from sim.numerics import sigmoid_array, tanh_array

__all__ = ["PHASES", "phase_times", "floor"]

#: The phases timed, in step order: the names of ``sim.model.STEP``.
PHASES: list[str] = [name for name, _ in STEP]


def _timed(label: str, phase, acc: dict[str, list[float]]):
    def timed(model, ctx):
        t0 = time.perf_counter()
        try:
            return phase(model, ctx)
        finally:
            acc[label].append(time.perf_counter() - t0)

    return timed


def phase_times(scenario, *, warmup: int = 5, steps: int = 40, seed: int = 1) -> list[dict]:
    """Median seconds per step of each phase, the whole step and the remainder.

    Returns rows ``{"phase", "median_s", "share"}`` in step order, then
    ``"rest of the step"`` and ``"whole step"``.
    """
    m = ClusterModel(scenario, rng=seed)
    for _ in range(warmup):
        m.step()
    acc: dict[str, list[float]] = defaultdict(list)
    m.phases = tuple((name, _timed(name, phase, acc)) for name, phase in STEP)
    whole = []
    for _ in range(steps):
        t0 = time.perf_counter()
        m.step()
        whole.append(time.perf_counter() - t0)
    step_s = statistics.median(whole)
    rows = []
    for label in PHASES:
        calls = acc.get(label, [])
        per_step = statistics.median(calls) * len(calls) / steps if calls else 0.0
        rows.append({"phase": label, "median_s": per_step})
    rest = max(0.0, step_s - sum(r["median_s"] for r in rows))
    rows.append({"phase": "rest of the step (context, scheduling, DataCollector)", "median_s": rest})
    rows.append({"phase": "whole step", "median_s": step_s})
    for r in rows:
        r["share"] = r["median_s"] / step_s if step_s > 0 else float("nan")
    return rows


def floor(model: ClusterModel, repeats: int = 7) -> dict:
    """The unavoidable per-step cost of the model's transcendental calls and random draws, timed here.

    The curves are timed with the model's own vectorized sigmoid and tanh
    (``sim.numerics.sigmoid_array``, ``tanh_array``), as the step computes them.

    Counts per step (cluster mode, all mechanisms on): one ``exp`` per live
    directed edge (trust target) and six per actor (two commitment targets,
    three outcome curves, the decision), one ``tanh`` per actor (the
    incentive); uniforms: one per directed edge (messages), one per
    undirected edge (contracts), two per actor (decision, pool exposure).
    """
    st = model.state
    n, e = st.n_nodes, st.n_edges
    n_exp = 2 * e + 6 * n
    n_tanh = n
    n_uniform = 3 * e + 2 * n
    x = np.random.default_rng(0).normal(0.0, 2.0, n_exp)
    out = np.empty_like(x)
    sigmoid_array(x, out)
    tanh_array(x[:n_tanh], out[:n_tanh])
    rng = np.random.default_rng(0)

    def best(f) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return min(times)

    exp_s = best(lambda: sigmoid_array(x, out))
    tanh_s = best(lambda: tanh_array(x[:n_tanh], out[:n_tanh]))
    uni_s = best(lambda: rng.random(n_uniform))
    return {"n_exp": n_exp, "n_tanh": n_tanh, "n_uniform": n_uniform, "exp_s": exp_s, "tanh_s": tanh_s,
            "uniform_s": uni_s, "total_s": exp_s + tanh_s + uni_s}
