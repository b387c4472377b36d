"""Where a step's time goes: the median time of each phase of ``ClusterModel._step_cluster``.

Each phase is a function the step calls (listed in :data:`PHASES`); for the
measurement it is wrapped with a timer, the model runs ``steps`` steps, and
each phase reports its median time per step. What no phase covers (the
step's own numpy lines, masks, Python) is the remainder. The wrappers exist
only inside :func:`phase_times`; they are removed before it returns.

:func:`floor` prices what no implementation of these rules can avoid: the
``exp``/``tanh`` calls of the logistic curves and the uniform draws, counted
per step and timed on this machine.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from sim import ClusterModel, behaviour, information, kernels, market, trust
from sim.mechanisms import contract, function_interest, regulation

__all__ = ["PHASES", "phase_times", "floor"]

#: (label, owner, attribute): the step's phases, in step order. ``_record`` includes the KPI kernels.
PHASES: list[tuple[str, object, str]] = [
    ("information: messages (kernels.exchange_messages)", information, "exchange_messages"),
    ("trust: SV, contracts, trust, antecedents (relationship_pass, actor_antecedents)", trust, "update_relationships"),
    ("trust: commitment (commitment_pass)", trust, "update_commitment"),
    ("trust: outcomes (outcome_pass)", trust, "update_outcomes"),
    ("behaviour: decision (decision_pass)", behaviour, "decide"),
    ("function-interest pool (pool_pass)", function_interest, "run_pool"),
    ("opportunism: what reports tell (partner_reports)", kernels, "partner_reports"),
    ("opportunism observed from reports (observe_reports)", kernels, "observe_reports"),
    ("contracts and, in the same loop, what their pairs observe (contract_pass)", contract, "run_contracts"),
    ("regulation (regulation_pass)", regulation, "apply_regulation"),
    ("regulation: culture (pull_values)", regulation, "culture_pull"),
    ("market: brand equity", market.Market, "invest"),
    ("market: revenue (revenue_pass)", market.Market, "revenue"),
    ("behaviour: imitation", behaviour, "imitate"),
    ("exits", ClusterModel, "_exits"),
    ("entries", ClusterModel, "_entries"),
    ("KPIs (_record: kpi_sums, live_trust_sum, Gini)", ClusterModel, "_record"),
]


@contextmanager
def _timed_phases(acc: dict[str, list[float]]):
    saved = []
    for label, owner, name in PHASES:
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def wrapper(*args, __f=original, __label=label, **kwargs):
            t0 = time.perf_counter()
            try:
                return __f(*args, **kwargs)
            finally:
                acc[__label].append(time.perf_counter() - t0)

        setattr(owner, name, wrapper)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def phase_times(scenario, *, warmup: int = 5, steps: int = 40, seed: int = 1) -> list[dict]:
    """Median seconds per step of each phase, the whole step and the remainder.

    Returns rows ``{"phase", "median_s", "share"}`` in step order, then
    ``"rest of the step"`` and ``"whole step"``.
    """
    m = ClusterModel(scenario, rng=seed)
    for _ in range(warmup):
        m.step()
    acc: dict[str, list[float]] = defaultdict(list)
    whole = []
    with _timed_phases(acc):
        for _ in range(steps):
            t0 = time.perf_counter()
            m.step()
            whole.append(time.perf_counter() - t0)
    step_s = statistics.median(whole)
    rows = []
    for label, _, _ in PHASES:
        calls = acc.get(label, [])
        per_step = statistics.median(calls) * len(calls) / steps if calls else 0.0
        rows.append({"phase": label, "median_s": per_step})
    rest = max(0.0, step_s - sum(r["median_s"] for r in rows))
    rows.append({"phase": "rest of the step (masks, marketing lines, DataCollector, Python)", "median_s": rest})
    rows.append({"phase": "whole step", "median_s": step_s})
    for r in rows:
        r["share"] = r["median_s"] / step_s if step_s > 0 else float("nan")
    return rows


def floor(model: ClusterModel, repeats: int = 7) -> dict:
    """The unavoidable per-step cost of the model's transcendental calls and random draws, timed here.

    The curves are timed with the kernels' own vectorized sigmoid and tanh
    (``kernels.sigmoid_array``, ``kernels.tanh_array``), as the step computes them.

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
    kernels.sigmoid_array(x, out)
    kernels.tanh_array(x[:n_tanh], out[:n_tanh])
    rng = np.random.default_rng(0)

    def best(f) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return min(times)

    exp_s = best(lambda: kernels.sigmoid_array(x, out))
    tanh_s = best(lambda: kernels.tanh_array(x[:n_tanh], out[:n_tanh]))
    uni_s = best(lambda: rng.random(n_uniform))
    return {"n_exp": n_exp, "n_tanh": n_tanh, "n_uniform": n_uniform, "exp_s": exp_s, "tanh_s": tanh_s,
            "uniform_s": uni_s, "total_s": exp_s + tanh_s + uni_s}
