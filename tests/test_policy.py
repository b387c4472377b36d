"""The timeline: [[policy]] events change levers during a run, from their step on and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.submodels.market import ECONOMIC_DEMAND
from sim.submodels.policy import _fit_inbox

SMALL = {"structure": {"n_firms": 60}, "run": {"steps": 30}}


def scenario(policy=(), **sections) -> Scenario:
    data = {**SMALL, **sections, "policy": list(policy)}
    return scenario_from_dict(data, "test.toml")


def frames(s: Scenario, seed: int) -> pd.DataFrame:
    m = sim.make_model(s, rng=seed)
    m.run_for(s.run.steps)
    return m.kpis()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_run_equals_the_static_run_before_its_event_and_differs_after(seed):
    static = scenario(mechanisms={"regulation": {"enabled": False}})
    event = scenario([{"at": 12, "set": {"mechanisms.regulation.enabled": True}}],
                     mechanisms={"regulation": {"enabled": False}})
    a, b = frames(static, seed), frames(event, seed)
    before = a["step"] < 12
    pd.testing.assert_frame_equal(a[before], b[before], check_exact=True)
    after = ~before
    # from its step on the association charges dues, so spending differs at once, and the run diverges
    assert (a.loc[after, "marketing_spend"].to_numpy() != b.loc[after, "marketing_spend"].to_numpy()).all()
    assert not a[after].equals(b[after])


def test_a_timeline_entry_on_demand_shift_is_the_old_shock_bit_for_bit():
    old = scenario(market={"shock_step": 8, "shock_size": -0.4, "shock_duration": 6})
    new = scenario([{"at": 8, "set": {"market.demand_shift": -0.4}, "until": 14}])
    pd.testing.assert_frame_equal(frames(old, 5), frames(new, 5), check_exact=True)
    k = frames(new, 5)
    # demand read last step's economic brand aspect, which draws buyers (sim.submodels.market)
    lift = 1.0 + ECONOMIC_DEMAND * Scenario().market.brand_premium * k["brand_economic"].shift(1, fill_value=0.0)
    assert (k["demand"] / lift).tolist()[6:14] == pytest.approx([1.0] + [0.6] * 6 + [1.0])


def test_ramp_and_until_move_the_lever_and_put_it_back():
    s = scenario([{"at": 5, "set": {"information.digitalization": 0.9}, "ramp": 3, "until": 20},
                  {"at": 10, "set": {"mechanisms.contract.duration": 20}, "ramp": 2}])
    m = sim.make_model(s, rng=1)
    seen = []
    for _ in range(s.run.steps):
        m.step()
        seen.append((m.params.information.digitalization, m.params.mechanisms.contract.duration))
    dig = [d for d, _ in seen]
    assert dig[:4] == [0.3] * 4 and dig[4:7] == pytest.approx([0.5, 0.7, 0.9]) and dig[6] == 0.9
    assert dig[7:19] == [0.9] * 12 and dig[19:] == [0.3] * 11
    assert [d for _, d in seen][8:11] == [12, 16, 20]
    # the caller's scenario is not changed: a sweep reuses it for every run
    assert s.information.digitalization == 0.3 and s.mechanisms.contract.duration == 12


def test_a_longer_relay_delay_mid_run_widens_the_inbox_and_delivers_late():
    s = scenario([{"at": 10, "set": {"information.digitalization": 0.0}}], information={"digitalization": 1.0})
    df = frames(s, 3)
    assert (df["info_delay"].iloc[:9] == 0).all()
    assert (df["info_delay"].iloc[12:] > 0).all()


def test_widening_the_inbox_keeps_each_waiting_message_on_its_arrival_step():
    class St:
        inbox_slots = 3
        inbox = np.array([[1, 0], [0, 2], [3, 0]], dtype=np.int8)  # row s % 3 arrives at step s
        inbox_news = inbox * 0.5  # what the waiting messages tell rides along with them
        inbox_fresh = inbox * 0.25

    st, t = St(), 7  # rows: step 7 -> 1, step 8 -> 2, step 9 -> 0
    names = ("inbox", "inbox_news", "inbox_fresh")
    waiting = {s: [getattr(st, k)[s % 3].copy() for k in names] for s in range(t, t + 3)}
    _fit_inbox(st, 5, t)
    assert st.inbox_slots == 5
    for s, rows in waiting.items():
        for k, row in zip(names, rows):
            assert (getattr(st, k)[s % 5] == row).all()
    assert st.inbox.sum() == sum(r[0].sum() for r in waiting.values())


def _error(tmp_path, text: str) -> str:
    f = tmp_path / "prog.toml"
    f.write_text("[run]\nsteps = 40\n" + text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(f)
    return str(exc.value)


@pytest.mark.parametrize("entry, words", [
    ('at = 5\nset = { "structure.n_firms" = 10 }', ["policy[1]", "structure.n_firms", "may not change during a run",
                                                   "network is built once"]),
    ('at = 5\nset = { "firms.values_dim" = 2 }', ["firms.values_dim", "shape"]),
    ('at = 5\nset = { "run.steps" = 20 }', ["run.steps", "may not change"]),
    ('at = 5\nset = { "market.shock_step" = 20 }', ["market.shock_step", "market.demand_shift"]),
    ('at = 50\nset = { "market.demand" = 2.0 }', ["policy[1]", "at = 50", "beyond the run", "run.steps = 40"]),
    ('at = 5\nuntil = 45\nset = { "market.demand" = 2.0 }', ["until", "45"]),
    ('at = 5\nuntil = 5\nset = { "market.demand" = 2.0 }', ["until", "after at"]),
    ('at = 30\nramp = 20\nset = { "market.demand" = 2.0 }', ["ramp", "step 49"]),
    ('at = 5\nramp = 3\nset = { "mechanisms.regulation.enabled" = true }', ["ramp", "not a number"]),
    ('at = 5\nset = { "information.digitalization" = 2.0 }', ["policy[1]", "information.digitalization", "2.0",
                                                            "<= 1.0"]),
    ('at = 5\nset = { mechanisms.regulation.enabled = "yes" }', ["mechanisms.regulation.enabled", "'yes'", "bool"]),
    ('at = 5\nset = { "information.nope" = 1 }', ["information.nope", "unknown key", "digitalization"]),
    ('at = 0\nset = { "market.demand" = 2.0 }', ["policy[1].at", ">= 1"]),
])
def test_validation_rejects_a_bad_timeline_entry_naming_file_entry_key_and_value(tmp_path, entry, words):
    msg = _error(tmp_path, '[[policy]]\nat = 2\nset = { "market.demand" = 1.5 }\n[[policy]]\n' + entry + "\n")
    assert "prog.toml" in msg
    for w in words:
        assert w in msg, (w, msg)


def test_validate_command_rejects_a_fixed_lever(tmp_path, capsys):
    from run import main

    f = tmp_path / "prog.toml"
    f.write_text('[[policy]]\nat = 5\nset = { "structure.kind" = "star" }\n')
    assert main(["validate", str(f)]) == 2
    assert "structure.kind" in capsys.readouterr().err


def test_every_set_up_only_entry_names_a_field_or_section_of_the_scenario():
    from sim.scenario import SET_UP_ONLY

    dump = Scenario().model_dump()
    for key in SET_UP_ONLY:
        node = dump
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, key
            node = node[part]
