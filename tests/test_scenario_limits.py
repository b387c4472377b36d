"""Scenario files and values past the reading limits: a clear message naming the file and key, exit 2, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import run
from runner.robust import read_policies
from sim.errors import QUOTE_CHARS, ScenarioError, quote
from sim.scenario import Scenario, load_scenario, validate_paths
from sim.scenario_files import MAX_DEPTH, MAX_ITEMS, MAX_TEXT, check_limits, parse_value

ROOT = Path(__file__).resolve().parent.parent
DEEP = 5000

#: Files past a limit: (text, what the message must name).
PAST_LIMITS = {
    "arrays 5000 deep": (f"[market]\ndemand = {'[' * DEEP}{']' * DEEP}\n", "line 2: 'demand'"),
    "inline tables 5000 deep": (f"[market]\ndemand = {'{a = ' * DEEP}1{'}' * DEEP}\n", "line 2: 'demand'"),
    "dotted key 5000 deep": ("x" + ".a" * DEEP + " = 1\n", "x.a.a.a"),
    "table header 5000 deep": ("[x" + ".a" * DEEP + "]\nb = 1\n", "x.a.a.a"),
    "deep timeline set": ("[[policy]]\nat = 1\nset = " + "{a = " * 40 + "1" + "}" * 40 + "\n", "line 3: 'set'"),
    "long text": (f"description = '{'y' * (MAX_TEXT + 1)}'\n", "description"),
    "long key": (f"[market]\n{'k' * (MAX_TEXT + 1)} = 1\n", "market"),
    "many items": ("[[policy]]\nat = 1\nset = {\"market.demand\" = [" + "1," * (MAX_ITEMS + 1) + "]}\n",
                   "policy[0].set.market.demand"),
    "integer of 5000 digits": (f"[run]\nseed = {'9' * DEEP}\n", "line 2: 'seed'"),
}


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = run.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _longest_run(text: str, char: str) -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


@pytest.mark.parametrize("case", sorted(PAST_LIMITS))
def test_a_file_past_a_limit_is_refused_naming_file_and_key(capsys, tmp_path, case):
    text, names = PAST_LIMITS[case]
    path = tmp_path / "past.toml"
    path.write_text(text)
    code, _, err = _cli(capsys, "validate", path)
    assert code == 2, err
    assert str(path) in err and names in err, err
    assert "Traceback" not in err and len(err) < 1000, err[:2000]


def test_validate_folder_keeps_going_and_reports_each_file(capsys, tmp_path):
    for case, (text, _) in PAST_LIMITS.items():
        (tmp_path / f"{case.replace(' ', '_')}.toml").write_text(text)
    (tmp_path / "good.toml").write_text("[structure]\nkind = 'star'\n")
    code, out, err = _cli(capsys, "validate", tmp_path)
    assert code == 2
    assert f"1 valid, {len(PAST_LIMITS)} invalid" in out
    for case in PAST_LIMITS:
        assert f"invalid  {tmp_path / case.replace(' ', '_')}.toml" in err
    assert "ok       " in out and "good.toml" in out


def test_deep_nesting_in_a_subprocess_exits_2_with_a_short_message(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(PAST_LIMITS["arrays 5000 deep"][0])
    proc = subprocess.run([sys.executable, "run.py", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr) < 1000
    assert f"at most {MAX_DEPTH} levels" in proc.stderr


@pytest.mark.parametrize("value, names", [
    ("[" * DEEP + "]" * DEEP, "nested deeper"),
    ("9" * DEEP, "more than 4,300 digits"),
    ("'" + "z" * (MAX_TEXT + 1) + "'", "characters"),
])
def test_a_set_value_past_a_limit_is_refused(capsys, tmp_path, value, names):
    path = tmp_path / "ok.toml"
    path.write_text("[run]\nsteps = 5\n")
    code, _, err = _cli(capsys, "run", path, "--set", f"market.demand={value}", "--out", tmp_path / "never")
    assert code == 2 and "--set market.demand" in err and names in err, err[:2000]
    assert len(err) < 1000 and not (tmp_path / "never").exists()


def test_a_long_value_is_quoted_by_a_short_prefix(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(f"[structure]\nkind = '{'q' * (MAX_TEXT - 1)}'\n")  # within the size limit, not a choice
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "structure.kind" in msg and f"{MAX_TEXT - 1:,} characters" in msg
    assert _longest_run(msg, "q") <= QUOTE_CHARS


def test_the_robust_files_share_the_limits(tmp_path):
    path = tmp_path / "policies.toml"
    path.write_text("[[policies]]\nname = 'a'\nset = " + "{a = " * 100 + "1" + "}" * 100 + "\n")
    with pytest.raises(ScenarioError, match=r"policies.toml: line 3: 'set': arrays or inline tables nested"):
        read_policies(path, Scenario())


def test_check_limits_walks_any_depth_without_recursion():
    data: dict = {}
    node = data
    for _ in range(100_000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ScenarioError, match=rf"<src>: a\.a\.a\.a\.a\.a\.\.\. \({MAX_DEPTH} levels\): nested deeper"):
        check_limits(data, "<src>")
    check_limits({"policy": [{"at": 1, "set": {"mechanisms": {"regulation": {"enabled": True}}}}]}, "<src>")


def test_quote_cuts_long_values_and_says_their_size():
    assert quote("star") == "'star'" and quote(0.25) == "0.25" and quote([1, 2]) == "[1, 2]"
    assert quote("x" * 5000).endswith("(5,000 characters)") and len(quote("x" * 5000)) < QUOTE_CHARS + 30
    assert quote(list(range(2_000_000))).endswith("(2,000,000 items)")
    deep: list = []
    node = deep
    for _ in range(DEEP):
        node.append([])
        node = node[0]
    assert len(quote(deep)) <= QUOTE_CHARS + 3
    assert "digits" in quote(10 ** DEEP)


# hypothesis: arbitrary nesting and sizes anywhere in a file give a scenario or a short ScenarioError

def _toml(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value).lower() if isinstance(value, bool) else repr(value)


values = st.recursive(
    st.one_of(st.integers(-10, 10), st.floats(0, 1), st.booleans(), st.text("ab", max_size=3)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text("k", min_size=1, max_size=2), inner,
                                                                          max_size=2)),
    max_leaves=12)


@st.composite
def odd_file(draw):
    place = draw(st.sampled_from(["[market]\ndemand", "[[policy]]\nat = 1\nset", "description", "[structure]\nkind"]))
    kind = draw(st.sampled_from(["value", "deep", "long", "wide"]))
    if kind == "value":
        value = _toml(draw(values))
    elif kind == "deep":
        n = draw(st.integers(1, 3000))
        opening = draw(st.sampled_from(["[", "{x = "]))
        value = opening * n + "1" + ("]" if opening == "[" else "}") * n
    elif kind == "long":
        value = '"' + "w" * draw(st.integers(0, 3 * MAX_TEXT)) + '"'
    else:
        value = "[" + "0," * draw(st.integers(0, 2 * MAX_ITEMS)) + "]"
    return f"{place} = {value}\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=odd_file())
def test_any_nesting_or_size_gives_a_scenario_or_a_short_message(tmp_path, text):
    path = tmp_path / "odd.toml"
    path.write_text(text)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        msg = str(exc)
        assert str(path) in msg
        assert max(len(line) for line in msg.split("\n")) < 600, msg[:2000]
    [(_, _, problem)] = validate_paths([path])
    assert problem is None or str(path) in problem


@settings(max_examples=40, deadline=None)
@given(value=values)
def test_parse_value_reads_any_small_value_back(value):
    assert parse_value(_toml(value)) == value
