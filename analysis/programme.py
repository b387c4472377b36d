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
    * Time to effect: the start of the last stretch of steps whose intervals all exclude 0 with one sign,
      if it reaches the end of the run and lasts at least 6 steps (from the first event on).
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

__all__ = ["events_of", "event_label", "paired_by_step", "time_to_effect", "before_after", "gain_per_spending",
           "break_even", "around_events", "spending_kpis"]


def spending_kpis() -> tuple[str, ...]:
    """The spending KPIs (the registry's cost flag), public spending first, then the rest in column order."""
    public = kpi_registry.public_spending_kpi()
    return (public, *(k for k in kpi_registry.cost_kpis() if k != public))


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
    """``sim.timeline.flatten_keys`` for a recorded event (analysis imports nothing of the model but its registry)."""
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


def time_to_effect(paired: pd.DataFrame, start: int, min_steps: int = 6) -> int | None:
    """The first step >= ``start`` from which every step's interval excludes 0 with one sign, or None.

    The stretch must reach the end of the run and last at least ``min_steps`` steps: with one pointwise interval
    per step, a lone significant last step is what chance alone gives now and then.
    """
    after = paired[paired["step"] >= start]
    pos, neg = (after["low"] > 0).to_numpy(), (after["high"] < 0).to_numpy()
    sig = pos if len(pos) and pos[-1] else neg
    if not len(sig) or not sig[-1]:
        return None
    # the last run of significant steps of one sign reaching the end of the run
    k = len(sig) - int(np.argmin(sig[::-1])) if not sig.all() else 0
    if len(sig) - k < min(min_steps, len(sig)):
        return None
    return int(after["step"].iloc[k])


def _interval(x: np.ndarray, level: float) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def before_after(ts: pd.DataFrame, kpis: Sequence[str], programme: str, reference: str, start: int,
                 level: float = 0.95, draws: Mapping[int, Any] | None = None) -> pd.DataFrame:
    """Per KPI: the mean paired difference before step ``start`` and from it on, with t-intervals, and the time to effect.

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
        tte = time_to_effect(pd.DataFrame({"step": d.index, "low": lo, "high": hi}), start)
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
        ``{"step", "significant_step", "net"}``: the first step from which the mean cumulative net gain
        stays >= 0 and the first from which its lower bound does (None if never), and the net gain at the end.
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
            "net": float(mean[-1]) if len(mean) else math.nan}


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


# --------------------------------------------------------------------------- the report's section


def _ci(m: float, lo: float, hi: float) -> str:
    if not np.isfinite(m):
        return "n/a"
    if not np.isfinite(lo):
        return f"{m:.4g}"
    return f"{m:.4g} [{lo:.4g}, {hi:.4g}]"


def _step(s: Any) -> str:
    return "never" if s is None or (isinstance(s, float) and math.isnan(s)) else str(int(s))


def section(doc, ts: pd.DataFrame, records: Mapping[str, Mapping[str, Any] | None], scenarios: Sequence[str],
            reference: str, kpis: Sequence[str], window: int = 6, draws: Mapping[int, Any] | None = None) -> list[str]:
    """The report's "Policy programmes" section: every scenario with a timeline against ``reference``.

    Args:
        doc: the report document (``h2``, ``h3``, ``p``, ``bullets``, ``table``, ``figure``).
        ts: the compare's per-step KPIs; records: scenario name to its recorded scenario dict.
        kpis: the KPIs to show (those absent from ``ts`` are skipped).
        draws: replicate to its parameter draw (uncertain parameters), or None; shared draws are the units.

    Returns:
        the programmes shown (empty: no section written).
    """
    from . import figures

    if ts is None:
        return []
    last = int(ts["step"].max())
    progs = [s for s in scenarios if s != reference and events_of(records.get(s), last)]
    if not progs:
        return []
    kpis = [k for k in kpis if k in ts.columns]
    spend = [k for k in spending_kpis() if k in ts.columns]
    public = kpi_registry.public_spending_kpi()
    ref_events = events_of(records.get(reference), last)
    doc.h2("Policy programmes")
    doc.p(f"Each scenario with a timeline against {reference}, paired by replicate (common random numbers): the "
          "difference programme − reference per step; before: steps before the first event, after: from it on; "
          "time to effect: the first step from which the difference stays significant (95% t-interval excludes 0 "
          "with one sign to the end of the run, for at least 6 steps; \"never\" otherwise). Gain per unit of "
          "spending: the summed difference of the KPI over the summed "
          "extra spending from the first event on, with a delta-method 95% interval; shown when the extra "
          "spending differs from 0. Break-even: the first step from which the cumulative extra profit (already "
          "net of what the firms pay) stays ≥ 0, and from which its lower 95% bound does.")
    if ref_events:
        doc.p(f"The reference {reference} has events of its own: "
              + "; ".join(f"step {e['at']}: {e['label']}" for e in ref_events) + ".")
    for prog in progs:
        events = events_of(records.get(prog), last)
        start = min(e["at"] for e in events)
        doc.h3(f"{prog} against {reference}")
        doc.bullets([("", f"step {e['at']}"
                      + (f", ramped over {e['ramp']} steps" if e.get("ramp") else "")
                      + (f", until step {e['until']}" if e.get("until") else "")
                      + f": {e['label']} (" + ", ".join(f"{k} = {v}" for k, v in e["set"].items()) + ")")
                     for e in events])
        ba = before_after(ts, kpis, prog, reference, start, draws=draws)
        doc.table(pd.DataFrame({
            "KPI (unit)": [_named(k) for k in ba["kpi"]],
            f"before step {start}": [_ci(*r) for r in ba[["before", "before_low", "before_high"]].to_numpy()],
            f"from step {start}": [_ci(*r) for r in ba[["after", "after_low", "after_high"]].to_numpy()],
            "time to effect (step)": [_step(s) for s in ba["time_to_effect"]],
        }))
        if spend:
            rows = []
            for s in spend:
                g = gain_per_spending(ts, [s], s, prog, reference, start, draws=draws).iloc[0]
                summed = _unit(s).removesuffix(" per step")
                rows.append({"spending KPI": s, f"extra spending from step {start}, summed over steps ({summed})":
                             _ci(g["extra_spending"], g["extra_low"], g["extra_high"])})
            doc.p("Extra spending of the programme, summed over the steps from the first event, mean over "
                  "replicates [95% t-interval]:")
            doc.table(pd.DataFrame(rows))
            extra = {s: gain_per_spending(ts, [kpis[0]], s, prog, reference, start, draws=draws).iloc[0] for s in spend}
            extra = {s: abs(g["extra_spending"]) for s, g in extra.items() if np.isfinite(g["per_unit"])}
            # public money first (cost-effectiveness); else the largest extra spending, the programme's main cost
            main = public if public in extra else max(extra, key=extra.get, default=None)
            if main is not None:
                gp = gain_per_spending(ts, [k for k in kpis if k != main], main, prog, reference, start, draws=draws)
                lead = "Cost-effectiveness: gain" if main == public else "Gain"
                doc.p(f"{lead} per unit of extra {main} (summed KPI difference over summed extra {main}):")
                money = _unit(main).removesuffix(" per step") or "unit"
                doc.table(pd.DataFrame({"KPI (unit)": [_named(k) for k in gp["kpi"]],
                                        "gain (sum over steps)": [f"{v:.4g}" for v in gp["gain"]],
                                        f"per {money} of {main}": [_ci(*r) for r in gp[["per_unit", "per_unit_low",
                                                                                       "per_unit_high"]].to_numpy()]}))
            else:
                doc.p("No spending KPI differs from the reference's with 95% confidence: no gain per unit of "
                      "spending to report.")
        if "profit" in ts.columns:
            be = break_even(ts, prog, reference, start, cost=public if public in ts.columns else None, draws=draws)
            doc.p(f"Break-even: step {_step(be['step'])} (mean), step {_step(be['significant_step'])} (lower 95% "
                  f"bound); cumulative extra profit at the end of the run {be['net']:.4g} "
                  f"{_unit('profit').removesuffix(' per step') or ''}."
                  + ("" if public in ts.columns else " The results hold no public spending, so money "
                     "from outside the firms (a subsidy) is not counted as a cost here."))
        head = kpis[: min(len(kpis), 8)]
        doc.p(f"Around each event: the mean paired difference over the {window} steps before it and the {window} "
              "steps from it, and the change with its 95% t-interval.")
        ar = around_events(ts, head, prog, reference, events, window=window, draws=draws)
        doc.table(pd.DataFrame({"event": [f"{a}: {e}" for a, e in zip(ar["at"], ar["event"])],
                                "KPI (unit)": [_named(k) for k in ar["kpi"]],
                                "before": [f"{v:.4g}" for v in ar["before"]], "after": [f"{v:.4g}" for v in ar["after"]],
                                "change": [_ci(*r) for r in ar[["change", "change_low", "change_high"]].to_numpy()]}))
        paired = {k: paired_by_step(ts, k, prog, reference, draws=draws) for k in head}
        doc.figure(figures.paired_over_time(paired, events, f"{prog} − {reference}"), f"programme_{prog}",
                   f"{prog} minus {reference} per step, mean over paired replicates with 95% band; dashed lines: "
                   "events, dotted: their end")
    return progs
