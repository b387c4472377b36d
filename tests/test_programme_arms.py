"""Cost-effectiveness for every arm that spends differently, programmes that stop, and the tables as files."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis import export, programme as pg
from analysis.document import Document
from analysis.stats import kpi_table, paired_differences

STEPS, REPS, AT, UNTIL = 40, 10, 12, 25

#: The subsidy programme's timeline, as a manifest records it.
RECORDS = {"ref": {"run": {"steps": STEPS}}, "static": {"run": {"steps": STEPS}}, "same": {"run": {"steps": STEPS}},
           "prog": {"run": {"steps": STEPS}, "policy": [
               {"at": AT, "until": UNTIL, "label": "subsidy",
                "set": {"mechanisms": {"function_interest": {"subsidy": 0.5}}}}]}}


def series(seed: int = 0) -> pd.DataFrame:
    """Per-step KPIs of four arms paired by replicate.

    ``prog`` spends 2 MU of public money a step while its subsidy runs and gains 1 of cooperation then (nothing
    after); ``static`` spends 3 MU a step for the whole run and gains 1.5; ``same`` differs only by noise and spends
    like the reference.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(REPS):
        base = rng.integers(5, 15, STEPS).astype(float)
        for s in range(1, STEPS + 1):
            on = AT <= s < UNTIL
            arms = {"ref": (0.0, 0.0), "prog": (1.0 if on else 0.0, 2.0 if on else 0.0), "static": (1.5, 3.0),
                    "same": (0.0, 0.0)}
            for name, (gain, public) in arms.items():
                noise = rng.normal(0.0, 0.2) if name != "ref" and (gain or name == "same") else 0.0
                rows.append({"scenario": name, "replicate": r, "step": s,
                             "cooperation_rate": base[s - 1] + gain + noise,
                             "profit": base[s - 1] + gain, "public_spending": 1.0 + public,
                             "firm_spending": 4.0, "marketing_spend": 2.0 + public / 2})
    return pd.DataFrame(rows)


def test_a_programme_that_stops_is_measured_while_it_runs():
    assert pg.window_of(pg.events_of(RECORDS["prog"]), 1, STEPS) == (AT, UNTIL - 1)
    assert pg.window_of([{"at": 5, "until": None}, {"at": 9, "until": 20}], 1, STEPS) == (5, STEPS)
    assert pg.window_of([], 1, STEPS) == (1, STEPS)
    ts = series()
    p = pg.paired_by_step(ts, "cooperation_rate", "prog", "ref")
    # up to the end of the run the effect has gone, so it never "stays"; within the programme's window it does
    assert pg.time_to_effect(p, AT) is None
    assert pg.time_to_effect(p, AT, end=UNTIL - 1) == AT
    eff = pg.tables(ts, RECORDS, ["ref", "prog"], "ref", ["cooperation_rate"])["programme_effects"].iloc[0]
    assert eff["time_to_effect_step"] == AT and eff["significant_until_step"] == UNTIL - 1


def test_a_static_arm_that_spends_public_money_gets_spending_and_cost_effectiveness_from_step_1(tmp_path):
    ts = series()
    arms = pg.arms_of(ts, RECORDS, ["ref", "prog", "static", "same"], "ref")
    assert [(a["arm"], a["timeline"], a["start"]) for a in arms] == [("prog", True, AT), ("static", False, 1)]
    t = pg.tables(ts, RECORDS, ["ref", "prog", "static", "same"], "ref", ["cooperation_rate", "profit"])
    ce = t["cost_effectiveness"].set_index(["arm", "kpi"])
    assert ce.loc[("static", "cooperation_rate"), "per"] == "public_spending"
    assert ce.loc[("static", "cooperation_rate"), "gain per MU of public_spending"] == pytest.approx(0.5, abs=0.01)
    assert ce.loc[("prog", "cooperation_rate"), "gain per MU of public_spending"] == pytest.approx(0.5, abs=0.02)
    # a gain of 1.5 profit a step against 3 of public money a step never pays for itself
    assert pd.isna(t["break_even"].set_index("arm").loc["static", "break_even_step"])
    eff = t["programme_effects"].set_index(["arm", "kpi"])
    assert eff.loc[("static", "cooperation_rate"), "from_step"] == 1
    assert pd.isna(eff.loc[("static", "cooperation_rate"), "before"])
    assert eff.loc[("static", "cooperation_rate"), "time_to_effect_step"] == 1
    assert set(t["around_events"]["arm"]) == {"prog"}  # around-event bands: timeline arms only
    spend = t["spending"][t["spending"]["arm"] == "static"].set_index("spending")
    assert spend.loc["public_spending", "part"] == "budget: public"
    assert spend.loc["marketing_spend", "part"].startswith("of which")
    assert spend.loc["public_spending", "extra spending (MU, summed over steps)"] == pytest.approx(3.0 * STEPS)
    # the report's section shows both arms, the components as "of which", the stopping programme's window
    doc = Document("t", tmp_path / "figures")
    shown = pg.section(doc, ts, RECORDS, ["ref", "prog", "static", "same"], "ref", ["cooperation_rate", "profit"])
    md = doc.render_md()
    assert shown == ["prog", "static"] and "### static against ref" in md and "### same against ref" not in md
    assert "of which: marketing_spend" in md and "measured from step 1" in md
    assert f"significant from it to step {UNTIL - 1}" in md
    assert "Cost-effectiveness: gain per unit of extra public_spending" in md


def test_the_programme_tables_are_csv_files_and_workbook_sheets(tmp_path):
    ts = series()
    ts = ts[ts["scenario"] != "same"]
    frames = pg.tables(ts, RECORDS, ["ref", "prog", "static"], "ref", ["cooperation_rate", "profit"])
    runs = ts[ts["step"] > STEPS // 2].groupby(["scenario", "replicate"], sort=False)[
        ["cooperation_rate", "profit"]].mean().add_suffix("_mean").reset_index()
    runs["seed"] = runs["replicate"] + 100
    kpis = ["cooperation_rate", "profit"]
    written = export.write_exports(tmp_path, runs, ts, kpi_table(runs, kpis), paired_differences(runs, "ref", kpis),
                                   kpis, ["ref", "prog", "static"], "ref", programme=frames)
    names = {p.name for p in written}
    assert {f"{name}.csv" for name in export.PROGRAMME_TABLES} <= names
    back = pd.read_csv(tmp_path / "cost_effectiveness.csv")
    assert "gain per MU of public_spending" in back.columns and "unit" in back.columns
    effects = pd.read_csv(tmp_path / "programme_effects.csv", dtype=str)
    assert not effects["time_to_effect_step"].dropna().str.contains(".", regex=False).any()  # whole steps
    book = openpyxl.load_workbook(tmp_path / export.WORKBOOK)
    for name in export.PROGRAMME_TABLES:
        ws = book[name]
        csv = pd.read_csv(tmp_path / f"{name}.csv")
        assert [c.value for c in ws[1]] == list(csv.columns) and ws.max_row == len(csv) + 1
    notes = " ".join(str(c.value) for c in book["notes"]["A"])
    assert "of which" in notes and "significant_until_step" in notes
    # without programme tables nothing extra is written
    other = tmp_path / "plain"
    other.mkdir()
    written = export.write_exports(other, runs, ts, kpi_table(runs, kpis), paired_differences(runs, "ref", kpis),
                                   kpis, ["ref", "prog", "static"], "ref")
    assert not any(p.stem in export.PROGRAMME_TABLES for p in written)


def test_a_programme_window_shorter_than_the_rule_has_no_time_to_effect(tmp_path):
    """A programme in force for 3 steps (at 12, until 15) and one for 1 step: too short for the 6-step rule."""
    ts = series()
    for until in (AT + 3, AT + 1):
        records = {**RECORDS, "prog": {"run": {"steps": STEPS}, "policy": [
            {"at": AT, "until": until, "label": "short", "set": {"market": {"demand": 2.0}}}]}}
        start, end = pg.window_of(pg.events_of(records["prog"]), 1, STEPS)
        p = pg.paired_by_step(ts, "profit", "static", "ref")  # significant at every step
        assert end - start + 1 < pg.MIN_EFFECT_STEPS and pg.time_to_effect(p, start, end=end) is None
        assert pg.time_to_effect(p, start, end=start + pg.MIN_EFFECT_STEPS - 1) == start  # long enough: counts
        eff = pg.tables(ts.replace({"scenario": {"prog": "old", "static": "prog"}}), records, ["ref", "prog"], "ref",
                        ["profit"])["programme_effects"].iloc[0]
        assert eff["significant_until_step"] == until - 1 and pd.isna(eff["time_to_effect_step"])
    doc = Document("t", tmp_path / "figures")
    pg.section(doc, ts.replace({"scenario": {"prog": "old", "static": "prog"}}), records, ["ref", "prog"], "ref",
               ["profit"])
    assert f"never (a window of 1 steps, shorter than {pg.MIN_EFFECT_STEPS})" in doc.render_md()


def test_the_section_names_the_files_written_and_reads_the_break_even_from_its_frame(tmp_path):
    ts = series()
    # "same" gets a timeline but spends like the reference: no cost-effectiveness row, yet a break-even
    records = {**RECORDS, "same": {"run": {"steps": STEPS}, "policy": [
        {"at": AT, "label": "nothing", "set": {"market": {"demand": 1.0}}}]}}
    frames = pg.tables(ts, records, ["ref", "same"], "ref", ["cooperation_rate", "profit"])
    assert frames["cost_effectiveness"].empty and frames["break_even"]["arm"].tolist() == ["same"]
    be = frames["break_even"].iloc[0]
    frames["break_even"].loc[0, "extra profit net of public_spending at the end (MU)"] = 1234.5
    doc = Document("t", tmp_path / "figures")
    pg.section(doc, ts, records, ["ref", "same"], "ref", ["cooperation_rate", "profit"], frames=frames)
    md = doc.render_md()
    assert f"Break-even: step {pg._step(be['break_even_step'])} (mean)" in md and "end of the run 1234" in md
    two = ts[ts["scenario"].isin(["ref", "same"])]
    written = export.write_exports(tmp_path, _runs(two), two, kpi_table(_runs(two), ["profit"]),
                                   paired_differences(_runs(two), "ref", ["profit"]), ["profit"], ["ref", "same"],
                                   "ref", programme=frames)
    names = [p.name for p in written if p.stem in export.PROGRAMME_TABLES]
    assert "cost_effectiveness.csv" not in names and "break_even.csv" in names
    assert f"The same tables are {', '.join(names[:-1])} and {names[-1]} next" in md.replace("\n", " ")
    # static arms only: no around-event table, so the section does not name its file
    static = pg.tables(ts, RECORDS, ["ref", "static"], "ref", ["cooperation_rate"])
    doc = Document("t2", tmp_path / "figures2")
    pg.section(doc, ts, RECORDS, ["ref", "static"], "ref", ["cooperation_rate"], frames=static)
    md = doc.render_md()
    assert static["around_events"].empty and "around_events.csv" not in md and "break_even.csv" in md


def _runs(ts: pd.DataFrame) -> pd.DataFrame:
    runs = ts[ts["step"] > STEPS // 2].groupby(["scenario", "replicate"], sort=False)[
        ["cooperation_rate", "profit"]].mean().add_suffix("_mean").reset_index()
    runs["seed"] = runs["replicate"] + 100
    return runs
