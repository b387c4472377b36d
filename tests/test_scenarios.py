"""The shipped scenario library: every file valid, documented, and saying what it should."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from runner.commands import MAIN_SCENARIOS, main_scenario_files
from sim.scenario import load_scenario, validate_paths

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = ROOT / "scenarios"
FILES = sorted(SCENARIOS.rglob("*.toml"))
MODES = ("cluster_brand", "channel_sharing", "leading_traction", "exhibition", "cooperative_rnd", "alliance")


def test_library_has_the_required_files():
    names = {p.relative_to(SCENARIOS).as_posix() for p in FILES}
    required = {"baseline.toml", "hierarchical.toml", "star.toml", "chain.toml", "network.toml",
                "no_regulation.toml", "contracts_only.toml", "fi_equal.toml", "fi_proportional.toml",
                "demand_shock.toml", "competitor_entry.toml",
                "validation/santos_pacheco_ba.toml", "validation/santos_pacheco_regular.toml"}
    required |= {f"{m}.toml" for m in MODES}
    required |= {f"digitalization/digitalization_stage{i}.toml" for i in range(1, 6)}
    assert required <= names, sorted(required - names)


def test_every_shipped_scenario_validates():
    results = validate_paths([SCENARIOS])
    assert len(results) == len(FILES)
    problems = [msg for _, _, msg in results if msg]
    assert not problems, problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(SCENARIOS).as_posix())
def test_file_opens_with_a_question_and_extends_the_baseline(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "each file starts with a comment saying what question it answers"
    if path.name != "baseline.toml":
        extends = tomllib.loads(text).get("extends", "")
        if path.parent.name == "programmes" and Path(extends).name != "baseline.toml":  # its static reference
            extends = tomllib.loads((path.parent / extends).read_text(encoding="utf-8")).get("extends", "")
        assert Path(extends).name == "baseline.toml"


@pytest.mark.parametrize("path", sorted((SCENARIOS / "programmes").glob("*.toml")), ids=lambda p: p.name)
def test_a_programme_is_its_reference_plus_a_timeline(path):
    prog = load_scenario(path)
    ref = load_scenario(path.parent / tomllib.loads(path.read_text(encoding="utf-8"))["extends"])
    assert prog.policy and all(ev.label for ev in prog.policy)
    same = lambda s: s.model_dump(exclude={"name", "description", "policy"})  # noqa: E731
    assert same(prog) == same(ref)


def test_structures_mechanisms_and_modes_differ_as_named():
    load = lambda name: load_scenario(SCENARIOS / f"{name}.toml")  # noqa: E731
    base = load("baseline")
    for kind in ("hierarchical", "star", "chain", "network"):
        assert load(kind).structure.kind == kind
    for mode in MODES:
        s = load(mode)
        assert s.get(f"marketing.{mode}") == 0.8
        assert sum(s.get(f"marketing.{m}") for m in MODES) == pytest.approx(0.8)
    assert base.marketing.cluster_brand == 0.0
    assert not load("no_regulation").mechanisms.regulation.enabled
    only = load("contracts_only").mechanisms
    assert only.contract.enabled and not only.regulation.enabled and not only.function_interest.enabled
    assert load("fi_equal").mechanisms.function_interest.sharing == "equal"
    assert load("fi_proportional").mechanisms.function_interest.sharing == "proportional"
    assert load("demand_shock").market.shock_step is not None
    assert load("competitor_entry").market.competitor_entry_step is not None


def test_digitalization_stages_raise_the_lever():
    levels = [load_scenario(SCENARIOS / "digitalization" / f"digitalization_stage{i}.toml").information.digitalization
              for i in range(1, 6)]
    assert levels == sorted(levels) and len(set(levels)) == 5


@pytest.mark.parametrize("name, generator", [("santos_pacheco_ba", "barabasi_albert"),
                                              ("santos_pacheco_regular", "random_regular")])
def test_validation_scenarios(name, generator):
    s = load_scenario(SCENARIOS / "validation" / f"{name}.toml")
    assert s.validation.kind == "pd_imitation"
    assert (s.structure.kind, s.structure.generator) == ("network", generator)
    assert (s.structure.n_firms, s.structure.mean_degree) == (1000, 4.0)


def test_compare_main_list_is_shipped():
    files = main_scenario_files()
    assert [f.stem for f in files] == [name.rsplit("/", 1)[-1] for name in MAIN_SCENARIOS]


def test_a_copied_scenario_whose_extends_breaks_names_the_value_the_resolved_path_and_the_shipped_file(tmp_path):
    import shutil

    from sim.errors import ScenarioError

    copy = tmp_path / "deep" / "uac"
    shutil.copytree(ROOT / "examples" / "cluster", copy)
    with pytest.raises(ScenarioError) as err:
        load_scenario(copy / "cluster.toml")
    msg = str(err.value)
    written = tomllib.loads((copy / "cluster.toml").read_text())["extends"]
    assert f"extends = {written!r}: file not found" in msg and "relative to the scenario file" in msg
    assert str((copy / written).resolve()) in msg
    assert "did you mean the shipped scenarios/baseline.toml? write its path" in msg
    (copy / "cluster.toml").write_text('extends = "nowhere_like_this.toml"\n')
    with pytest.raises(ScenarioError) as err:
        load_scenario(copy / "cluster.toml")  # no shipped file of that name: no hint, and never a fallback
    assert "file not found" in str(err.value) and "shipped" not in str(err.value)


def test_a_mistyped_scenario_file_name_gets_the_closest_shipped_name():
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"file not found \(did you mean 'no_regulation.toml'\?\)"):
        load_scenario(SCENARIOS / "no_regultion.toml")
    from sim.scenario_files import scenario_files

    with pytest.raises(ScenarioError, match=r"did you mean 'no_regulation.toml'"):
        scenario_files([SCENARIOS / "no_regultion.toml"])


@pytest.mark.parametrize("section", ["mechanisms.regulation", "structure", "trust"])
def test_a_mistyped_key_gets_a_did_you_mean_beside_the_allowed_keys(section):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sim.errors import ScenarioError

    keys = sorted(load_scenario(SCENARIOS / "baseline.toml").model_dump()
                  [section.split(".")[0]] if "." not in section else
                  load_scenario(SCENARIOS / "baseline.toml").model_dump()["mechanisms"]["regulation"])

    @settings(max_examples=15, deadline=None)
    @given(key=st.sampled_from([k for k in keys if len(k) >= 5]), i=st.integers(0, 100))
    def swapped(key, i):
        i %= len(key) - 1
        typo = key[:i] + key[i + 1] + key[i] + key[i + 2:]  # two neighbouring letters swapped
        if typo == key or typo in keys:
            return
        with pytest.raises(ScenarioError) as err:
            load_scenario(SCENARIOS / "baseline.toml", {f"{section}.{typo}": 1})
        msg = str(err.value)
        assert "unknown key (did you mean" in msg and "allowed keys here:" in msg
        assert all(k in msg for k in keys)

    swapped()


def test_a_key_without_its_leading_sections_is_told_its_full_path():
    """`--set regulation.sanction` or `--set sanction` names `mechanisms.regulation.sanction`: for every nested
    key, its tail alone gets a suggestion that is a real dotted path ending with that tail."""
    from sim.errors import ScenarioError
    from sim.scenario_files import flatten_keys

    data = load_scenario(SCENARIOS / "baseline.toml").model_dump()
    leaves = set(flatten_keys(data))
    tails = {".".join(p.split(".")[j:]) for p in leaves if p.count(".") >= 1 for j in range(1, p.count(".") + 1)}
    tails = {t for t in tails if t not in leaves and t.split(".")[0] not in data}
    assert "regulation.sanction" in tails and "sanction" in tails
    for tail in sorted(tails):
        with pytest.raises(ScenarioError) as err:
            load_scenario(SCENARIOS / "baseline.toml", {tail: 1})
        named = re.search(r"did you mean '([^']+)'", str(err.value))
        assert named and named.group(1) in leaves and named.group(1).endswith("." + tail), (tail, str(err.value))
