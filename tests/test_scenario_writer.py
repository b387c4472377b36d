"""The one scenario writer (``sim.scenario_files.scenario_toml``): what it writes reads back as the same scenario."""

from __future__ import annotations

import tempfile
import tomllib
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import run
from sim.errors import ScenarioError
from sim.scenario import Scenario, load_scenario
from sim.scenario_files import scenario_toml
from sim.timeline import flatten_keys

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
REAL_KEYS = sorted(k for k, v in flatten_keys(Scenario().model_dump()).items()
                   if isinstance(v, float) and not k.startswith("validation."))


def _reload(text: str, folder: Path) -> Scenario:
    path = folder / "written.toml"
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a field behind a closed gate is still written faithfully
        return load_scenario(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(REAL_KEYS), st.floats(0, 1, allow_subnormal=True), max_size=6),
       name=st.text(min_size=1, max_size=30), description=st.text(max_size=60))
def test_any_scenario_reads_back_as_itself(changes, name, description):
    try:
        scenario = load_scenario(BASELINE).with_overrides({**changes, "name": name, "description": description})
    except ScenarioError:
        assume(False)  # a value outside a field's range is not a scenario
    with tempfile.TemporaryDirectory() as tmp:
        text = scenario_toml(scenario, Path(tmp))
        assert _reload(text, Path(tmp)).model_dump() == scenario.model_dump()


def test_sections_dotted_keys_and_the_timeline_read_back(tmp_path):
    scenario = load_scenario(BASELINE).with_overrides({
        "uncertain.params": {"trust.w_benefits": {"dist": "normal", "mean": 2.0, "sd": 0.5, "lo": 1.0, "hi": 3.0},
                             "market.demand": {"dist": "uniform", "lo": 0.8, "hi": 1.2}},
        "uncertain.seeds_per_draw": 3,
        "policy": [{"at": 5, "set": {"information.digitalization": 0.8}, "ramp": 4, "label": 'a "quoted"\nlabel'}],
    })
    text = scenario_toml(scenario, tmp_path)
    data = tomllib.loads(text)
    assert data["uncertain"]["params"]["trust.w_benefits"]["sd"] == 0.5  # the dotted key kept whole
    assert text.count("[uncertain]") <= 1 and "uncertain." not in text.split("[uncertain")[0]  # one table
    assert _reload(text, tmp_path).model_dump() == scenario.model_dump()


def test_values_a_file_cannot_hold_are_refused():
    scenario = Scenario().model_copy(update={"name": "bad\ud800name"})
    with pytest.raises(ScenarioError, match="lone surrogate"):
        scenario_toml(scenario)


@pytest.mark.parametrize("source", ["examples/cluster/cluster_programme.toml", "edge_list"])
def test_data_files_are_named_relative_to_the_written_file(tmp_path, source):
    if source == "edge_list":
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "e.csv").write_text("source,target\nA,B\nB,C\nC,D\nD,A\n")
        (tmp_path / "in" / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n')
        path = tmp_path / "in" / "s.toml"
    else:
        path = ROOT / source
    scenario = load_scenario(path)
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    text = scenario_toml(scenario, elsewhere)
    data = tomllib.loads(text)
    named = data.get("data", {}).get("folder") or data["structure"]["edge_list_path"]
    assert not Path(named).is_absolute()  # relative, so the folders can move together
    assert _reload(text, elsewhere).model_dump() == scenario.model_dump()
    # where the file will be saved is not known: absolute paths, read back from anywhere
    assert _reload(scenario_toml(scenario), tmp_path).model_dump() == scenario.model_dump()


def test_the_app_writes_through_the_shared_writer(tmp_path):
    from viz import session

    scenario = load_scenario(BASELINE).with_overrides(
        {"uncertain.params": {"trust.w_benefits": {"dist": "uniform", "lo": 1.0, "hi": 3.0}}})
    text = session.scenario_toml(scenario, [], 30, note="exported")
    back = _reload(text, tmp_path)
    assert back.uncertain.params["trust.w_benefits"].hi == 3.0 and back.run.steps == 30


def test_calibrated_scenario_keeps_set_paths_and_one_uncertain_table(tmp_path, capsys):
    """``--set`` paths typed relative to the scenario still reach the files from the calibration folder."""
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "e.csv").write_text("source,target\n" + "".join(f"F{i},F{(i + 1) % 8}\nF{i},F{(i + 3) % 8}\n"
                                                              for i in range(8)))
    (folder / "s.toml").write_text(f'extends = "{BASELINE.as_posix()}"\n[run]\nsteps = 6\n[uncertain]\n'
                                   'seeds_per_draw = 3\n')
    (folder / "t.toml").write_text('[[target]]\nkpi = "mean_trust"\nstatistic = "mean"\nwindow = [1, 3]\n'
                                   'value = 0.5\nse = 0.05\n')
    out = tmp_path / "elsewhere" / "cal"
    code = run.main(["calibrate", str(folder / "s.toml"), "--targets", str(folder / "t.toml"),
                     "--param", "trust.initial=0.2:0.8", "--set", "structure.kind=edge_list",
                     "--set", "structure.edge_list_path=e.csv", "--set", "uncertain.seeds_per_draw=4",
                     "--population", "10", "--generations", "1", "--ppc", "0", "--seed", "2", "--quiet",
                     "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    calibrated = load_scenario(out / "calibrated.toml")
    assert Path(calibrated.structure.edge_list_path) == (folder / "e.csv").resolve()
    assert calibrated.uncertain.seeds_per_draw == 4
    assert Path(calibrated.uncertain.posterior) == (out / "posterior.parquet").resolve()
    text = (out / "calibrated.toml").read_text()
    assert text.count("[uncertain]") == 1 and "extends" not in text
