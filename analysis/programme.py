"""Policy programmes against a reference: effects over time, what each gain costs, when it pays.

Reads result files only: the per-step KPIs of a ``compare`` (``timeseries.parquet``)
and the scenarios recorded in its manifest (their ``[[policy]]`` timelines).

Methods (replicate r of every scenario has the same seed, so runs pair by replicate):
    * Paired difference at step t: ``d_rt = programme_rt - reference_rt``, a
      Student t-interval over replicates at each step. When several replicates
      share one draw of uncertain parameters, ``d_rt`` is first averaged within
      each draw and every interval below is over the draws (the independent units).
    * Before/after: per replicate, the mean of ``d_rt`` over the steps before the
      first event and over the steps from it on; a t-interval of each.
    * Time to effect: :data:`TIME_TO_EFFECT` (at least :data:`MIN_EFFECT_STEPS` steps, counted from the
      first event on): the effect is measured while the programme runs.
    * Arms without a timeline (static arms) whose public spending differs from the reference's (the 95 %
      interval of the summed difference excludes 0) get the same tables with the effects measured from
      the run's first step; the around-event table and band figure are for timeline arms only.
    * Gain per unit of spending: ``sum_t d_rt(KPI) / sum_t d_rt(spending)`` over
      the steps from the first event, the ratio of the mean sums with a
      delta-method t-interval, ``R +- t se``, ``se = sd_r(g_r - R c_r) / (sqrt(n) |mean c|)``.
      Not reported when the programme's extra spending is not different from 0.
      The spending KPIs are the registry's cost KPIs (``sim.kpis``, per step);
      cost-effectiveness is the gain per unit of public spending
      (``sim.kpis.public_spending_kpi``) whenever the programme spends public money.
    * Break-even: the first step from the first event from which the cumulative
      mean difference of the benefit (profit, net of what firms pay) less the
      extra spending paid by others stays >= 0; and the step from which its
      lower 95 % bound stays >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim import kpis as kpi_registry

from .stats import unit_means

__all__ = ["MIN_EFFECT_STEPS", "TIME_TO_EFFECT", "events_of", "event_label", "paired_by_step", "time_to_effect", "window_of", "before_after",
           "gain_per_spending", "break_even", "around_events", "spending_kpis", "budget_kpis", "component_kpis",
           "arms_of", "tables", "section"]


#: Fewest consecutive significant steps that make a time to effect: with one pointwise interval per step, a short
#: significant stretch is what chance alone gives now and then.
MIN_EFFECT_STEPS = 6

#: The time-to-effect rule in words, for the report's section and the workbook's notes.
TIME_TO_EFFECT = (f"the first step of the last stretch of at least {MIN_EFFECT_STEPS} steps whose 95% t-intervals all "
                  "exclude 0 with one sign, reaching the end of the run, or, for a programme whose events all end "
                  "(until) before the run does, its last step in force; \"never\" when there is no such stretch "
                  f"(a window shorter than {MIN_EFFECT_STEPS} steps has none)")


def budget_kpis() -> tuple[str, ...]:
    """The spending KPI of each budget (public, association, firms): what adds up to the arrangement's cost."""
    return tuple(kpi_registry.spending_of(p) for p in kpi_registry.PAYERS)


def component_kpis() -> tuple[str, ...]:
    """Cost KPIs that name no budget (marketing spending, the IT-actor's cost): parts of the budgets, not added."""
    return tuple(k for k in kpi_registry.cost_kpis() if k not in budget_kpis())


def spending_kpis() -> tuple[str, ...]:
    """The spending KPIs (the registry's cost flag): the budgets, public spending first, then their components."""
    return (*budget_kpis(), *component_kpis())


def _unit(name: str) -> str:
    """The registry's unit of a KPI ("" for a column it does not list)."""
    try:
        return kpi_registry.kpi(name).unit
    except KeyError:
        return ""


def _named(name: str) -> str:
    unit = _unit(name)
    return f"{name} ({unit})" if unit else name


def event_label(ev: Mapping[str, Any]) -> str:
    """The label of an event, or its changes written out."""
    if ev.get("label"):
        return str(ev["label"])
    return ", ".join(f"{k} = {v}" for k, v in _flat(ev.get("set", {})).items())


def _flat(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``sim.scenario_files.flatten_keys`` for a recorded event (analysis imports nothing of the model but its registry)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def events_of(scenario: Mapping[str, Any] | None, last_step: int | None = None) -> list[dict[str, Any]]:
    """The timeline of a recorded scenario (a manifest's scenario dict), sorted by step.

    Each event is ``{"at", "until", "ramp", "label", "set"}``; the old demand-shock and
    competitor-entry keys appear as the events the model made of them. ``last_step``:
    the last step the runs reached, if fewer than the scenario's ``run.steps``.
    """
    if not scenario:
        return []
    steps = scenario.get("run", {}).get("steps")
    if last_step is not None:
        steps = min(steps, last_step) if steps is not None else last_step
    m = scenario.get("market", {})
    out = []
    if m.get("shock_step") is not None:
        end = m["shock_step"] + m.get("shock_duration", 0)
        out.append({"at": max(1, m["shock_step"]), "until": end if steps is None or end <= steps else None,
                    "ramp": None, "label": "demand shock", "set": {"market.demand_shift": m.get("shock_size")}})
    if m.get("competitor_entry_step") is not None:
        out.append({"at": max(1, m["competitor_entry_step"]), "until": None, "ramp": None, "label": "competitor entry",
                    "set": {"market.competitor_pressure": m.get("competitor_entry_pressure")}})
    for ev in scenario.get("policy", []) or []:
        out.append({"at": int(ev["at"]), "until": ev.get("until"), "ramp": ev.get("ramp"), "label": event_label(ev),
                    "set": _flat(ev.get("set", {}))})
    if steps is not None:
        out = [e for e in out if e["at"] <= steps]
    return sorted(out, key=lambda e: e["at"])


def _pairs(ts: pd.DataFrame, kpi: str, programme: str, reference: str,
           draws: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """Steps x units of ``programme - reference`` for one KPI (replicates both scenarios ran).

    The units are the replicates, or with ``draws`` (replicate to parameter draw) shared by several
    replicates, the draws: each replicate's difference averaged within its draw (:func:`analysis.stats.unit_means`).
    """
    wide = ts[ts["scenario"].isin([programme, reference])].pivot_table(
        index="step", columns=["scenario", "replicate"], values=kpi, aggfunc="first")
    d = wide[programme] - wide[reference]
    d = d.dropna(axis=1, how="all").sort_index()
    if draws is None:
        return d
    of = [draws[r] for r in d.columns]
    units = unit_means(d.to_numpy(dtype=float), of)
    if units.shape[1] == d.shape[1]:
        return d
    return pd.DataFrame(units, index=d.index, columns=pd.Index(sorted(set(of)), name="draw"))


def _t_rows(d: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and t-interval per row of ``d`` (rows x replicates)."""
    n = d.shape[1]
    mean = d.mean(axis=1)
    if n < 2:
        nan = np.full_like(mean, math.nan)
        return mean, nan, nan
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * d.std(axis=1, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def paired_by_step(ts: pd.DataFrame, kpi: str, programme: str, reference: str, level: float = 0.95,
                   draws: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """Per step: the mean paired difference ``programme - reference`` and its t-interval.

    Returns:
        columns ``step, diff, low, high, n``.
    """
    d = _pairs(ts, kpi, programme, reference, draws)
    mean, lo, hi = _t_rows(d.to_numpy(dtype=float), level)
    return pd.DataFrame({"step": d.index.to_numpy(), "diff": mean, "low": lo, "high": hi, "n": d.shape[1]})


def time_to_effect(paired: pd.DataFrame, start: int, min_steps: int = MIN_EFFECT_STEPS,
                   end: int | None = None) -> int | None:
    """The first step >= ``start`` from which every step's interval excludes 0 with one sign, or None.

    The stretch must reach ``end`` (default: the end of the run; a programme that stops at step ``until``
    is measured up to ``until - 1``) and last at least ``min_steps`` steps: with one pointwise interval
    per step, a lone significant last step is what chance alone gives now and then. A window shorter than
    ``min_steps`` steps therefore has no time to effect.
    """
    after = paired[(paired["step"] >= start) & ((paired["step"] <= end) if end is not None else True)]
    pos, neg = (after["low"] > 0).to_numpy(), (after["high"] < 0).to_numpy()
    sig = pos if len(pos) and pos[-1] else neg
    if not len(sig) or not sig[-1]:
        return None
    # the last run of significant steps of one sign reaching the end of the window
    k = len(sig) - int(np.argmin(sig[::-1])) if not sig.all() else 0
    if len(sig) - k < min_steps:
        return None
    return int(after["step"].iloc[k])


def window_of(events: Sequence[Mapping[str, Any]], first: int, last: int) -> tuple[int, int]:
    """The steps a programme is measured over: from its first event (``first``, the run's first step, for
    an arm without a timeline) to the end of the run, or to the step before its last ``until`` when every
    event ends before the run does."""
    if not events:
        return first, last
    start = min(int(e["at"]) for e in events)
    ends = [e.get("until") for e in events]
    if all(u is not None and int(u) <= last for u in ends):
        return start, max(start, max(int(u) for u in ends) - 1)
    return start, last


def _interval(x: np.ndarray, level: float) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def before_after(ts: pd.DataFrame, kpis: Sequence[str], programme: str, reference: str, start: int,
                 level: float = 0.95, draws: Mapping[int, Any] | None = None, end: int | None = None) -> pd.DataFrame:
    """Per KPI: the mean paired difference before step ``start`` and from it on, with t-intervals, and the time to
    effect (a stretch reaching ``end``, default the end of the run: :func:`time_to_effect`).

    Returns:
        one row per KPI: ``kpi, before, before_low, before_high, after, after_low, after_high, time_to_effect, n``.
    """
    rows = []
    for k in kpis:
        d = _pairs(ts, k, programme, reference, draws)
        pre = d[d.index < start].mean(axis=0).to_numpy(dtype=float)
        post = d[d.index >= start].mean(axis=0).to_numpy(dtype=float)
        b, bl, bh = _interval(pre, level)
        a, al, ah = _interval(post, level)
        mean, lo, hi = _t_rows(d.to_numpy(dtype=float), level)
        tte = time_to_effect(pd.DataFrame({"step": d.index, "low": lo, "high": hi}), start, end=end)
        rows.append({"kpi": k, "before": b, "before_low": bl, "before_high": bh, "after": a, "after_low": al,
                     "after_high": ah, "time_to_effect": tte, "n": d.shape[1]})
    return pd.DataFrame(rows)


def gain_per_spending(ts: pd.DataFrame, kpis: Sequence[str], spending: str, programme: str, reference: str,
                      start: int, level: float = 0.95, draws: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """Per KPI: the programme's gain per unit of extra ``spending`` from step ``start`` on (module docstring).

    Returns:
        one row per KPI: ``kpi, spending, extra_spending (mean sum), extra_low, extra_high, gain (mean sum),
        per_unit, per_unit_low, per_unit_high, n``; ``per_unit`` is NaN when the extra spending's
        interval contains 0.
    """
    c_frame = _pairs(ts, spending, programme, reference, draws)
    c = c_frame[c_frame.index >= start].sum(axis=0)
    cm, cl, ch = _interval(c.to_numpy(dtype=float), level)
    spends = bool(np.isfinite(cl) and (cl > 0 or ch < 0))
    rows = []
    for k in kpis:
        g = _pairs(ts, k, programme, reference, draws)
        g = g[g.index >= start].sum(axis=0).reindex(c.index)
        gv, cv = g.to_numpy(dtype=float), c.to_numpy(dtype=float)
        n = len(gv)
        ratio = lo = hi = math.nan
        if spends and n >= 2:
            ratio = float(gv.mean() / cv.mean())
            se = float(np.std(gv - ratio * cv, ddof=1)) / (math.sqrt(n) * abs(float(cv.mean())))
            half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * se
            lo, hi = ratio - half, ratio + half
        rows.append({"kpi": k, "spending": spending, "extra_spending": cm, "extra_low": cl, "extra_high": ch,
                     "gain": float(gv.mean()) if n else math.nan, "per_unit": ratio, "per_unit_low": lo,
                     "per_unit_high": hi, "n": n})
    return pd.DataFrame(rows)


def break_even(ts: pd.DataFrame, programme: str, reference: str, start: int, benefit: str = "profit",
               cost: str | None = None, level: float = 0.95, draws: Mapping[int, Any] | None = None) -> dict[str, Any]:
    """When the programme pays for itself (module docstring).

    Args:
        benefit: a money KPI already net of what the firms pay (``profit``).
        cost: spending paid by others than the firms (public funds), or None.

    Returns:
        ``{"step", "significant_step", "net", "n"}``: the first step from which the mean cumulative net gain
        stays >= 0 and the first from which its lower bound does (None if never), the net gain at the end, and
        the units (replicates, or shared draws) it is over.
    """
    d = _pairs(ts, benefit, programme, reference, draws)
    d = d[d.index >= start]
    if cost is not None:
        c = _pairs(ts, cost, programme, reference, draws)
        d = d - c[c.index >= start].reindex(index=d.index, columns=d.columns)
    cum = d.cumsum(axis=0)
    mean, lo, _ = _t_rows(cum.to_numpy(dtype=float), level)
    steps = cum.index.to_numpy()

    def first_staying(ok: np.ndarray) -> int | None:
        if not len(ok) or not ok[-1]:
            return None
        k = 0 if ok.all() else len(ok) - int(np.argmin(ok[::-1]))
        return int(steps[k])

    return {"step": first_staying(mean >= 0), "significant_step": first_staying(np.nan_to_num(lo, nan=-np.inf) >= 0),
            "net": float(mean[-1]) if len(mean) else math.nan, "n": int(cum.shape[1])}


def around_events(ts: pd.DataFrame, kpis: Sequence[str], programme: str, reference: str,
                  events: Sequence[Mapping[str, Any]], window: int = 6, level: float = 0.95,
                  draws: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """The step change at each event: the mean paired difference over ``window`` steps before and from it.

    Returns:
        one row per (event, KPI): ``event, at, kpi, before, after, change, change_low, change_high, n``,
        ``change`` the per-replicate after-minus-before with its t-interval.
    """
    rows = []
    for ev in events:
        at = int(ev["at"])
        for k in kpis:
            d = _pairs(ts, k, programme, reference, draws)
            pre = d[(d.index >= at - window) & (d.index < at)].mean(axis=0).to_numpy(dtype=float)
            post = d[(d.index >= at) & (d.index < at + window)].mean(axis=0).to_numpy(dtype=float)
            m, lo, hi = _interval(post - pre, level)
            rows.append({"event": event_label(ev), "at": at, "kpi": k, "before": float(np.nanmean(pre)),
                         "after": float(np.nanmean(post)), "change": m, "change_low": lo, "change_high": hi,
                         "n": len(pre)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the tables of a comparison


def arms_of(ts: pd.DataFrame, records: Mapping[str, Mapping[str, Any] | None], scenarios: Sequence[str],
            reference: str, draws: Mapping[int, Any] | None = None) -> list[dict[str, Any]]:
    """The arms measured against ``reference``: each with a timeline, and each static arm that spends public money
    differently from it.

    Returns:
        one dict per arm: ``arm, events, timeline (bool), start, end`` (:func:`window_of`), ``last`` (the run's
        last step), in scenario order.
    """
    if ts is None or not len(ts):
        return []
    first, last = int(ts["step"].min()), int(ts["step"].max())
    public = kpi_registry.public_spending_kpi()
    out = []
    for arm in scenarios:
        if arm == reference or arm not in set(ts["scenario"]):
            continue
        events = events_of(records.get(arm), last)
        if not events:
            if public not in ts.columns:
                continue
            g = gain_per_spending(ts, [public], public, arm, reference, first, draws=draws).iloc[0]
            if not (np.isfinite(g["extra_low"]) and (g["extra_low"] > 0 or g["extra_high"] < 0)):
                continue
        start, end = window_of(events, first, last)
        out.append({"arm": arm, "events": events, "timeline": bool(events), "start": start, "end": end, "last": last})
    return out


def _money(name: str) -> str:
    """The unit of a per-step money KPI summed over steps (``MU``)."""
    return _unit(name).removesuffix(" per step") or "units"


def _main_spending(extra: Mapping[str, pd.Series]) -> str | None:
    """What gains are measured against: public money if the arm spends it differently, else the budget (then the
    component) with the largest extra spending that differs from 0."""
    differs = {s: abs(g["extra_spending"]) for s, g in extra.items() if np.isfinite(g["per_unit"])}
    public = kpi_registry.public_spending_kpi()
    if public in differs:
        return public
    for group in (budget_kpis(), component_kpis()):
        pick = {s: v for s, v in differs.items() if s in group}
        if pick:
            return max(pick, key=pick.get)
    return None


def tables(ts: pd.DataFrame, records: Mapping[str, Mapping[str, Any] | None], scenarios: Sequence[str],
           reference: str, kpis: Sequence[str], draws: Mapping[int, Any] | None = None,
           window: int = 6) -> dict[str, pd.DataFrame]:
    """Every arm of :func:`arms_of` against ``reference``: its effects, extra spending, cost-effectiveness and, for
    timeline arms, the step change at each event; the frames the report shows and writes as CSV.

    Returns:
        ``{"programme_effects", "spending", "cost_effectiveness", "break_even", "around_events"}``, each one row
        per arm and KPI (spending KPI; arm, for the break-even when the results hold profit; event and KPI): the
        KPI's unit in a ``unit`` column, sums over steps in the column names' units. Empty frames when there is no
        such arm.
    """
    arms = arms_of(ts, records, scenarios, reference, draws)
    kpis = [k for k in kpis if ts is not None and k in ts.columns]
    spend = [k for k in spending_kpis() if ts is not None and k in ts.columns]
    budgets = set(budget_kpis())
    public = kpi_registry.public_spending_kpi()
    effects, spending, cost, even, around = [], [], [], [], []
    for a in arms:
        arm, start, end, last = a["arm"], a["start"], a["end"], a["last"]
        ba = before_after(ts, kpis, arm, reference, start, draws=draws, end=end)
        for r in ba.to_dict("records"):
            effects.append({"arm": arm, "reference": reference, "timeline": a["timeline"], "kpi": r["kpi"],
                            "unit": _unit(r["kpi"]), "before_step": start if a["timeline"] else None,
                            "before": r["before"], "before_low": r["before_low"], "before_high": r["before_high"],
                            "from_step": start, "to_step": last, "after": r["after"], "after_low": r["after_low"],
                            "after_high": r["after_high"], "time_to_effect_step": r["time_to_effect"],
                            "significant_until_step": end, "n_units": r["n"]})
        extra = {}
        for sk in spend:
            g = gain_per_spending(ts, [sk], sk, arm, reference, start, draws=draws).iloc[0]
            extra[sk] = g
            spending.append({"arm": arm, "reference": reference, "spending": sk,
                             "part": ("budget: " + (kpi_registry.kpi(sk).payer or "")) if sk in budgets
                             else "of which (a component of the budgets, not added)",
                             "from_step": start, "to_step": last,
                             f"extra spending ({_money(sk)}, summed over steps)": g["extra_spending"],
                             "extra_low": g["extra_low"], "extra_high": g["extra_high"], "n_units": g["n"]})
        main = _main_spending(extra)
        if "profit" in ts.columns:
            net_of = public if public in ts.columns else None
            be = break_even(ts, arm, reference, start, cost=net_of, draws=draws)
            even.append({"arm": arm, "reference": reference, "from_step": start, "to_step": last,
                         "net_of": net_of or "", "break_even_step": be["step"],
                         "break_even_significant_step": be["significant_step"],
                         f"{_net_profit(net_of)} at the end ({_money('profit')})": be["net"], "n_units": be["n"]})
        if main is not None:
            gp = gain_per_spending(ts, [k for k in kpis if k != main], main, arm, reference, start, draws=draws)
            for r in gp.to_dict("records"):
                cost.append({"arm": arm, "reference": reference, "kpi": r["kpi"], "unit": _unit(r["kpi"]),
                             "per": main, "from_step": start, "to_step": last,
                             "gain (KPI unit x steps, summed)": r["gain"],
                             f"gain per {_money(main)} of {main}": r["per_unit"], "per_unit_low": r["per_unit_low"],
                             "per_unit_high": r["per_unit_high"], "n_units": r["n"]})
        if a["timeline"]:
            ar = around_events(ts, kpis[: min(len(kpis), 8)], arm, reference, a["events"], window=window, draws=draws)
            for r in ar.to_dict("records"):
                around.append({"arm": arm, "reference": reference, "event": r["event"], "at_step": r["at"],
                               "kpi": r["kpi"], "unit": _unit(r["kpi"]), "window_steps": window,
                               "before": r["before"], "after": r["after"], "change": r["change"],
                               "change_low": r["change_low"], "change_high": r["change_high"], "n_units": r["n"]})
    return {"programme_effects": pd.DataFrame(effects), "spending": pd.DataFrame(spending),
            "cost_effectiveness": pd.DataFrame(cost), "break_even": pd.DataFrame(even),
            "around_events": pd.DataFrame(around)}


def _net_profit(net_of: str | None) -> str:
    """What the break-even adds up: the extra profit, net of the public spending when the results hold it."""
    return f"extra profit net of {net_of}" if net_of else "extra profit"


# --------------------------------------------------------------------------- the report's section


#: The frames of :func:`tables`, in the order the report names them.
TABLES: tuple[str, ...] = ("programme_effects", "spending", "cost_effectiveness", "break_even", "around_events")


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ci(m: float, lo: float, hi: float) -> str:
    if not np.isfinite(m):
        return "n/a"
    if not np.isfinite(lo):
        return f"{m:.4g}"
    return f"{m:.4g} [{lo:.4g}, {hi:.4g}]"


def _step(s: Any) -> str:
    return "never" if s is None or (isinstance(s, float) and math.isnan(s)) else str(int(s))


def section(doc, ts: pd.DataFrame, records: Mapping[str, Mapping[str, Any] | None], scenarios: Sequence[str],
            reference: str, kpis: Sequence[str], window: int = 6, draws: Mapping[int, Any] | None = None,
            frames: Mapping[str, pd.DataFrame] | None = None) -> list[str]:
    """The report's "Policy programmes and cost-effectiveness" section: every arm of :func:`arms_of`.

    Args:
        doc: the report document (``h2``, ``h3``, ``p``, ``bullets``, ``table``, ``figure``).
        ts: the compare's per-step KPIs; records: scenario name to its recorded scenario dict.
        kpis: the KPIs to show (those absent from ``ts`` are skipped).
        draws: replicate to its parameter draw (uncertain parameters), or None; shared draws are the units.
        frames: :func:`tables` of the same arguments, if already computed.

    Returns:
        the arms shown (empty: no section written).
    """
    from . import figures

    if ts is None:
        return []
    last = int(ts["step"].max())
    arms = arms_of(ts, records, scenarios, reference, draws)
    if not arms:
        return []
    frames = frames if frames is not None else tables(ts, records, scenarios, reference, kpis, draws, window)
    kpis = [k for k in kpis if k in ts.columns]
    public = kpi_registry.public_spending_kpi()
    ref_events = events_of(records.get(reference), last)
    doc.h2("Policy programmes and cost-effectiveness")
    written = [f"{name}.csv" for name in TABLES if name in frames and len(frames[name])]
    doc.p(f"Each scenario with a timeline against {reference}, and each scenario without one whose public spending "
          f"differs from {reference}'s (its effects measured from step {int(ts['step'].min())}), paired by replicate "
          "(common random numbers): the difference arm − reference per step; before: steps before the first event, "
          f"after: from it on; time to effect: {TIME_TO_EFFECT}. Extra "
          "spending: each budget's (public, association, firms) difference summed over the steps; the lines "
          "\"of which\" are parts of those budgets, not added to them. Gain per unit of spending: the summed "
          "difference of the KPI over the summed extra public spending (else the largest other extra spending) "
          "from the first event on, with a delta-method 95% interval; shown when the extra spending differs from 0. "
          "Break-even: the first step from which the cumulative extra profit (already net of what the firms pay) "
          "less the extra public spending stays ≥ 0, and from which its lower 95% bound does."
          + (f" The same tables are {_listed(written)} next to this report, and sheets of report.xlsx." if written
             else ""))
    if ref_events:
        doc.p(f"The reference {reference} has events of its own: "
              + "; ".join(f"step {e['at']}: {e['label']}" for e in ref_events) + ".")
    eff, spe, ce, bev, ar = (frames[k] for k in TABLES)
    for a in arms:
        arm, start, end, events = a["arm"], a["start"], a["end"], a["events"]
        doc.h3(f"{arm} against {reference}")
        if events:
            doc.bullets([("", f"step {e['at']}"
                          + (f", ramped over {e['ramp']} steps" if e.get("ramp") else "")
                          + (f", until step {e['until']}" if e.get("until") else "")
                          + f": {e['label']} (" + ", ".join(f"{k} = {v}" for k, v in e["set"].items()) + ")")
                         for e in events])
        else:
            doc.p(f"No timeline: {arm} differs from {reference} for the whole run, so its effects, spending and "
                  f"cost-effectiveness are measured from step {start}.")
        e = eff[eff["arm"] == arm]
        tte = ("time to effect (step; significant from it to the end of the run)" if end == a["last"] else
               f"time to effect (step; significant from it to step {end}, the programme's last step in force)")
        shown = {"KPI (unit)": [_named(k) for k in e["kpi"]]}
        if events:
            shown[f"before step {start}"] = [_ci(*r) for r in e[["before", "before_low", "before_high"]].to_numpy()]
        shown[f"from step {start}"] = [_ci(*r) for r in e[["after", "after_low", "after_high"]].to_numpy()]
        short = end - start + 1 < MIN_EFFECT_STEPS
        shown[tte] = [f"never (a window of {end - start + 1} steps, shorter than {MIN_EFFECT_STEPS})" if short
                      else _step(s) for s in e["time_to_effect_step"]]
        doc.table(pd.DataFrame(shown))
        sp = spe[spe["arm"] == arm]
        if len(sp):
            col = next(c for c in sp.columns if c.startswith("extra spending ("))
            doc.p(f"Extra spending of {arm}, summed over the steps from step {start}, mean over replicates [95% "
                  "t-interval]:")
            doc.table(pd.DataFrame({
                "spending KPI": [("of which: " + k) if not part.startswith("budget") else k
                                 for k, part in zip(sp["spending"], sp["part"])],
                "budget": [part.removeprefix("budget: ") if part.startswith("budget") else "part of the budgets above"
                           for part in sp["part"]],
                col.replace("summed over steps", f"from step {start}"): [
                    _ci(*r) for r in sp[[col, "extra_low", "extra_high"]].to_numpy()]}))
        c = ce[ce["arm"] == arm] if len(ce) else ce
        if len(c):
            main = c["per"].iloc[0]
            ratio = next(col for col in c.columns if col.startswith("gain per "))
            lead = "Cost-effectiveness: gain" if main == public else "Gain"
            doc.p(f"{lead} per unit of extra {main} (summed KPI difference over summed extra {main}):")
            doc.table(pd.DataFrame({"KPI (unit)": [_named(k) for k in c["kpi"]],
                                    "gain (sum over steps)": [f"{v:.4g}" for v in c["gain (KPI unit x steps, summed)"]],
                                    ratio.replace("gain ", "", 1): [
                                        _ci(*r) for r in c[[ratio, "per_unit_low", "per_unit_high"]].to_numpy()]}))
        elif len(sp):
            doc.p("No spending KPI differs from the reference's with 95% confidence: no gain per unit of "
                  "spending to report.")
        b = bev[bev["arm"] == arm] if len(bev) else bev
        if len(b):
            be = b.iloc[0]
            net = next(col for col in b.columns if col.startswith("extra profit"))
            doc.p(f"Break-even: step {_step(be['break_even_step'])} (mean), step "
                  f"{_step(be['break_even_significant_step'])} (lower 95% bound); cumulative "
                  f"{_net_profit(be['net_of'] and 'extra ' + be['net_of'])} at the end of the run {be[net]:.4g} "
                  f"{_money('profit') if _unit('profit') else ''}."
                  + ("" if be["net_of"] else " The results hold no public spending, so money "
                     "from outside the firms (a subsidy) is not counted as a cost here."))
        if not events:
            continue
        doc.p(f"Around each event: the mean paired difference over the {window} steps before it and the {window} "
              "steps from it, and the change with its 95% t-interval.")
        r = ar[ar["arm"] == arm]
        doc.table(pd.DataFrame({"event": [f"{at}: {ev}" for at, ev in zip(r["at_step"], r["event"])],
                                "KPI (unit)": [_named(k) for k in r["kpi"]],
                                "before": [f"{v:.4g}" for v in r["before"]], "after": [f"{v:.4g}" for v in r["after"]],
                                "change": [_ci(*x) for x in r[["change", "change_low", "change_high"]].to_numpy()]}))
        head = kpis[: min(len(kpis), 8)]
        paired = {k: paired_by_step(ts, k, arm, reference, draws=draws) for k in head}
        doc.figure(figures.paired_over_time(paired, events, f"{arm} − {reference}"), f"programme_{arm}",
                   f"{arm} minus {reference} per step, mean over paired replicates with 95% band; dashed lines: "
                   "events, dotted: their end")
    return [a["arm"] for a in arms]
