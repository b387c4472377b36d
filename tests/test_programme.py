"""analysis.programme on synthetic time series whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import programme as pg

STEPS, REPS, START = 40, 12, 15


def frame(effect, spend=None, noise=0.0, seed=0) -> pd.DataFrame:
    """Reference and programme runs paired by replicate: programme = reference + effect(step), plus noise
    where the effect is not 0 (a programme run equals its reference run until its event)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(REPS):
        base = rng.integers(5, 15, STEPS).astype(float)  # shared by the pair (common random numbers); whole numbers keep sums exact
        for s in range(1, STEPS + 1):
            e = effect(s)
            cost = spend(s) if spend else 0.0
            jitter = rng.normal(0.0, noise) if noise and e != 0 else 0.0
            rows.append({"scenario": "ref", "replicate": r, "step": s, "kpi": base[s - 1], "cost": 1.0,
                         "profit": base[s - 1]})
            rows.append({"scenario": "prog", "replicate": r, "step": s, "kpi": base[s - 1] + e + jitter,
                         "cost": 1.0 + cost, "profit": base[s - 1] + e + jitter})
    return pd.DataFrame(rows)


def test_paired_difference_per_step_recovers_the_effect_and_is_exactly_zero_before_the_event():
    ts = frame(lambda s: 2.0 if s >= START else 0.0, noise=0.3)
    p = pg.paired_by_step(ts, "kpi", "prog", "ref")
    before, after = p[p.step < START], p[p.step >= START]
    assert (before["diff"] == 0).all() and (before["low"] == 0).all()
    assert ((after["low"] < 2.0) & (after["high"] > 2.0)).mean() > 0.8  # 95 % intervals, 26 steps
    assert p["n"].iloc[0] == REPS


def test_time_to_effect_is_the_first_step_from_which_the_difference_stays_significant():
    # no effect for 5 steps after the event, then a clear one; a single significant blip before that does not count
    ts = frame(lambda s: 3.0 if s >= START + 5 else (3.0 if s == START + 1 else 0.0), noise=0.2)
    p = pg.paired_by_step(ts, "kpi", "prog", "ref")
    assert pg.time_to_effect(p, START) == START + 5
    none = pg.paired_by_step(frame(lambda s: 0.0, noise=0.2), "kpi", "prog", "ref")
    assert pg.time_to_effect(none, START) is None
    # a lone significant last step, or a stretch whose sign flips, is not an effect
    last = pg.paired_by_step(frame(lambda s: 0.0, noise=0.2), "kpi", "prog", "ref")
    last.loc[last.index[-1], ["low", "high"]] = [0.1, 0.3]
    assert pg.time_to_effect(last, START) is None
    flip = pg.paired_by_step(ts, "kpi", "prog", "ref")
    flip.loc[flip.index[-12:-8], ["low", "high"]] = [-0.3, -0.1]
    assert pg.time_to_effect(flip, START) == int(flip["step"].iloc[-8])


def test_before_after_gives_zero_before_and_the_effect_after_with_intervals():
    ts = frame(lambda s: 1.5 if s >= START else 0.0, noise=0.5)
    t = pg.before_after(ts, ["kpi"], "prog", "ref", START).iloc[0]
    assert t["before"] == 0 and t["before_low"] == 0 and t["before_high"] == 0
    assert t["after_low"] < 1.5 < t["after_high"] and t["after_low"] > 1.0
    assert t["time_to_effect"] == START


def test_gain_per_unit_of_spending_is_the_ratio_of_extra_gain_to_extra_spending():
    # two money units more spending per step buy one unit of KPI per step: 0.5 per unit
    ts = frame(lambda s: 1.0 if s >= START else 0.0, spend=lambda s: 2.0 if s >= START else 0.0)
    g = pg.gain_per_spending(ts, ["kpi"], "cost", "prog", "ref", START).iloc[0]
    assert g["per_unit"] == pytest.approx(0.5)
    assert g["extra_spending"] == pytest.approx(2.0 * (STEPS - START + 1))
    # with noise, the 95 % interval covers the true 0.5 in about 95 % of synthetic programmes
    covered = [(lambda g: g["per_unit_low"] < 0.5 < g["per_unit_high"])(pg.gain_per_spending(
        frame(lambda s: 1.0 if s >= START else 0.0, spend=lambda s: 2.0 if s >= START else 0.0, noise=1.0, seed=k),
        ["kpi"], "cost", "prog", "ref", START).iloc[0]) for k in range(40)]
    assert 0.85 <= np.mean(covered) <= 1.0
    # no extra spending: no ratio
    free = pg.gain_per_spending(frame(lambda s: 1.0), ["kpi"], "cost", "prog", "ref", START).iloc[0]
    assert np.isnan(free["per_unit"])


def test_break_even_is_where_the_cumulative_net_gain_turns_and_stays_non_negative():
    # an outlay of 5 at the event, then 1 a step: the cumulative gain is back at 0 five steps later
    ts = frame(lambda s: -5.0 if s == START else (1.0 if s > START else 0.0))
    b = pg.break_even(ts, "prog", "ref", START)
    assert b["step"] == START + 5 and b["significant_step"] == START + 5
    assert b["net"] == pytest.approx(-5.0 + (STEPS - START))
    # paid by others: a cost of 2 a step outweighs a gain of 1 a step, so it never breaks even
    ts = frame(lambda s: 1.0 if s >= START else 0.0, spend=lambda s: 2.0 if s >= START else 0.0)
    assert pg.break_even(ts, "prog", "ref", START, cost="cost")["step"] is None


def test_around_events_measures_the_step_change_at_each_event():
    ts = frame(lambda s: 0.0 if s < 10 else (1.0 if s < 25 else 3.0), noise=0.1)
    events = [{"at": 10, "label": "first"}, {"at": 25, "set": {"market.demand": 2.0}}]
    t = pg.around_events(ts, ["kpi"], "prog", "ref", events, window=5)
    assert t["event"].tolist() == ["first", "market.demand = 2.0"]
    assert t["change"].to_numpy() == pytest.approx([1.0, 2.0], abs=0.15)
    assert (t["change_low"] < t["change"]).all()


def test_events_of_a_recorded_scenario_lists_the_timeline_and_the_old_keys_by_step():
    rec = {"run": {"steps": 60}, "market": {"shock_step": 40, "shock_size": -0.4, "shock_duration": 30,
                                            "competitor_entry_step": None},
           "policy": [{"at": 30, "set": {"mechanisms": {"regulation": {"enabled": True}}}, "label": "",
                       "ramp": None, "until": None},
                      {"at": 90, "set": {"market.demand": 2.0}, "label": "late"}]}
    ev = pg.events_of(rec)
    assert [(e["at"], e["label"]) for e in ev] == [(30, "mechanisms.regulation.enabled = True"), (40, "demand shock")]
    assert ev[1]["until"] is None  # the shock outlasts the run


@pytest.mark.slow
def test_a_shipped_programme_against_its_static_reference_from_the_command_line(tmp_path):
    """Regulation from step 30 raises cooperation from step 30 on, over 12 paired seeds, and not before."""
    import json
    from pathlib import Path

    from run import main

    root = Path(__file__).resolve().parent.parent / "scenarios"
    out = tmp_path / "cmp"
    assert main(["compare", str(root / "no_regulation.toml"), str(root / "programmes" / "regulation_from_30.toml"),
                 "--replicates", "12", "--steps", "45", "--reference", "no_regulation", "--out", str(out),
                 "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["identity"]["scenarios"]["regulation_from_30"]["policy"][0]["at"] == 30
    ts = pd.read_parquet(out / "timeseries.parquet")
    t = pg.before_after(ts, ["cooperation_rate"], "regulation_from_30", "no_regulation", 30).iloc[0]
    assert t["before"] == 0 and t["before_high"] == 0  # identical runs before the event
    assert t["after_low"] > 0.05 and t["time_to_effect"] == 30
    report = next(out.rglob("report.md")).read_text()
    section = report[report.index("## Policy programmes"):]
    assert "regulation_from_30 against no_regulation" in section and "time to effect" in section
    assert "| cooperation_rate (share 0-1) | 0 [0, 0] |" in section
    assert "Break-even" in section and "per unit of" in section
    assert "timeline events" in report  # the time-series figure marks them
    assert next(out.rglob("programme_regulation_from_30.png")).stat().st_size > 0


def test_the_app_figures_mark_a_programme_s_events():
    from pathlib import Path

    from sim.scenario import load_scenario
    from viz import figures, session

    path = Path(__file__).resolve().parent.parent / "scenarios" / "programmes" / "marketing_subsidy.toml"
    events = session.timeline_events(load_scenario(path))
    assert [(e["at"], e["until"], e["label"]) for e in events] == [(25, 49, "marketing subsidy (24 months)")]
    df = pd.DataFrame({"step": np.arange(1, 61), "cooperation_rate": np.linspace(0.5, 0.7, 60)})

    def vertical_lines(fig):
        return {float(line.get_xdata()[0]) for ax in fig.axes for line in ax.get_lines()
                if len(set(np.atleast_1d(line.get_xdata()))) == 1 and len(line.get_xdata()) == 2}

    assert {25.0, 49.0} <= vertical_lines(figures.kpi_figure(df, events=events))
    runs = {"a": df.assign(replicate=0)}
    assert {25.0, 49.0} <= vertical_lines(figures.compare_figure(runs, events=events))
    assert not vertical_lines(figures.kpi_figure(df.iloc[:10], events=events))  # not yet reached


def test_spending_comes_from_the_registry_and_public_money_comes_first():
    from sim import kpis

    spend = pg.spending_kpis()
    assert spend[0] == kpis.public_spending_kpi() == "public_spending"
    assert set(spend) == set(kpis.cost_kpis()) and all(kpis.kpi(k).unit == "MU per step" for k in spend)
