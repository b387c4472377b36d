"""Uncertain parameters: the [uncertain] section, draws with common random numbers, the spread split."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import run
from analysis.uncertainty import split, spread_table
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.uncertainty import plan_of
from tests.conftest import small_scenario


def scenario(folder: Path, body: str, name: str = "unc") -> Path:
    return small_scenario(folder, name, n_firms=12, steps=6, body=body)


def posterior(folder: Path, weights=(0.0, 1.0, 3.0)) -> Path:
    path = folder / "post.parquet"
    pd.DataFrame({"trust.speed": [0.1, 0.2, 0.3], "firms.cooperativeness": [0.5, 0.6, 0.7],
                  "weight": list(weights)}).to_parquet(path)
    return path


UNIFORM = '[uncertain.params]\n"market.demand_shift" = {dist = "uniform", lo = -0.1, hi = 0.1}\n'


@pytest.mark.parametrize("body, words", [
    ('[uncertain.params]\n"trust.speed" = {dist = "uniform", lo = 0.1, hi = 0.3, mean = 0.2}\n', "takes no mean"),
    ('[uncertain.params]\n"trust.speed" = {dist = "normal", lo = 0.1, hi = 0.3, mean = 0.2}\n', "needs sd"),
    ('[uncertain.params]\n"trust.speed" = {dist = "triangular", lo = 0.1, hi = 0.3, mode = 0.5}\n', "mode (0.5)"),
    ('[uncertain.params]\n"trust.speed" = {dist = "uniform", lo = 0.3, hi = 0.1}\n', "must be below hi"),
    ('[uncertain.params]\n"trust.speed" = {dist = "beta", lo = 0.1, hi = 0.3}\n', "uniform"),
    ('[uncertain.params]\n"trust.sped" = {dist = "uniform", lo = 0.1, hi = 0.3}\n', "unknown key"),
    ('[uncertain.params]\n"structure.n_firms" = {dist = "uniform", lo = 5.0, hi = 9.0}\n', "only real-valued"),
    ('[uncertain.params]\n"trust.speed" = {dist = "uniform", lo = 0.1, hi = 3.0}\n', "trust.speed"),
    ('[uncertain]\nposterior = "nothing.parquet"\n', "file not found"),
    ('[uncertain]\nseeds_per_draw = 0\n', "seeds_per_draw"),
    ('[uncertain]\nsamples = 3\n', "samples"),
])
def test_bad_uncertain_section_exits_2_naming_the_field(capsys, tmp_path, body, words):
    path = scenario(tmp_path, body)
    code = run.main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "unc.toml" in err, err


def test_bad_posterior_columns(tmp_path):
    pd.DataFrame({"trust.speed": [0.1, 2.0]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(ScenarioError, match="posterior column"):
        load_scenario(scenario(tmp_path, '[uncertain]\nposterior = "p.parquet"\n'))
    pd.DataFrame({"trust.speed": [0.1, 0.2], "weight": [0.0, 0.0]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(ScenarioError, match="weight"):
        load_scenario(scenario(tmp_path, '[uncertain]\nposterior = "p.parquet"\n'))


def test_posterior_is_read_relative_to_the_file_that_names_it(tmp_path):
    (tmp_path / "cal").mkdir()
    posterior(tmp_path / "cal")
    scenario(tmp_path / "cal", '[uncertain]\nposterior = "post.parquet"\n', name="calibrated")
    child = tmp_path / "policy.toml"
    child.write_text('extends = "cal/calibrated.toml"\n[mechanisms.regulation]\nsanction = 1.5\n')
    plan = plan_of(load_scenario(child))
    assert Path(plan.posterior_file) == (tmp_path / "cal" / "post.parquet").resolve()


def test_draws_are_common_to_arms_shared_within_a_draw_and_follow_the_weights(tmp_path):
    posterior(tmp_path)
    body = ('[uncertain]\nposterior = "post.parquet"\nseeds_per_draw = 2\n' + UNIFORM
            + '"trust.w_opportunism" = {dist = "normal", mean = 4.0, sd = 0.5, lo = 3.0, hi = 5.0}\n')
    a = plan_of(load_scenario(scenario(tmp_path, body)))
    b = plan_of(load_scenario(scenario(tmp_path, '[uncertain]\nposterior = "post.parquet"\n' + UNIFORM, "b")))
    draws = [a.draw(7, r) for r in range(400)]
    assert draws[0] == draws[1] and draws[2] == draws[3] and draws[0] != draws[2]
    for r in range(0, 40):  # another arm declaring fewer parameters draws the same values of the shared ones
        assert b.draw(7, r) == {k: v for k, v in draws[r].items() if k != "trust.w_opportunism"}
    speeds = pd.Series([d["trust.speed"] for d in draws[::2]])
    assert 0.1 not in set(speeds)  # weight 0: never drawn
    assert speeds.eq(0.3).mean() == pytest.approx(0.75, abs=0.1)
    shift = np.array([d["market.demand_shift"] for d in draws[::2]])
    assert shift.min() >= -0.1 and shift.max() <= 0.1 and abs(shift.mean()) < 0.02
    w = np.array([d["trust.w_opportunism"] for d in draws[::2]])
    assert w.min() >= 3.0 and w.max() <= 5.0 and w.mean() == pytest.approx(4.0, abs=0.1)
    assert "trust.speed" not in a.draw(7, 0, skip={"trust.speed"})
    assert a.draw(8, 0) != a.draw(7, 0)


def test_split_recovers_known_components():
    rng = np.random.default_rng(1)
    draws = np.repeat(np.arange(400), 2)
    y = 2.0 * rng.standard_normal(400)[draws] + rng.standard_normal(800)  # parameter var 4, noise var 1
    param, noise = split(y, draws)
    assert param == pytest.approx(4.0, rel=0.2) and noise == pytest.approx(1.0, rel=0.15)
    assert np.isnan(split(y[:4], np.arange(4))[0])  # one seed per draw: not separable


def test_compare_draws_per_replicate_and_reports_the_split(capsys, tmp_path):
    posterior(tmp_path)
    path = scenario(tmp_path, '[uncertain]\nposterior = "post.parquet"\n' + UNIFORM)
    out = tmp_path / "cmp"
    code = run.main(["compare", str(path), f"{path}@name=fixed@market.demand_shift=0.05", "--reference", "unc",
                     "--replicates", "6", "--no-report", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "parameter share" in printed and "difference to unc" in printed
    runs = pd.read_parquet(out / "results.parquet")
    assert list(runs["draw"][:6]) == [0, 0, 1, 1, 2, 2]
    a, b = runs[runs.scenario == "unc"], runs[runs.scenario == "fixed"]
    assert list(a["trust.speed"]) == list(b["trust.speed"])  # common random numbers
    assert b["market.demand_shift"].isna().all() and a["market.demand_shift"].notna().all()  # the variant's own value wins
    man = json.loads((out / "manifest.json").read_text())
    assert man["seeds_per_draw"] == 2 and man["uncertain"]["unc"]["posterior_sha256"]
    table = spread_table(runs, ["cooperation_rate"], "unc")
    assert set(table["of"]) == {"value", "difference to unc"} and table["draws"].eq(3).all()


def test_sweep_draws_but_never_a_swept_parameter(capsys, tmp_path):
    path = scenario(tmp_path, UNIFORM + '"trust.speed" = {dist = "uniform", lo = 0.1, hi = 0.3}\n')
    out = tmp_path / "sw"
    code = run.main(["sweep", str(path), "--param", "trust.speed=0.15,0.25", "--replicates", "2", "--quiet",
                     "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    runs = pd.read_parquet(out / "results.parquet")
    assert sorted(set(runs["trust.speed"])) == [0.15, 0.25]
    assert runs.groupby("replicate")["market.demand_shift"].nunique().eq(1).all()  # same draw at every point


def test_seeds_per_draw_must_agree_between_arms(capsys, tmp_path):
    a = scenario(tmp_path, UNIFORM)
    b = scenario(tmp_path, "[uncertain]\nseeds_per_draw = 3\n" + UNIFORM, "b")
    code = run.main(["compare", str(a), str(b), "--replicates", "2", "--no-report", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "seeds_per_draw differs" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_replicates_must_fill_whole_draws(command, capsys, tmp_path):
    """3 replicates at 2 seeds per draw would leave the last draw one seed short: refused before any run."""
    a = scenario(tmp_path, "[uncertain]\nseeds_per_draw = 2\n" + UNIFORM)
    extra = ["--no-report"] if command == "compare" else ["--param", "trust.speed=0.15,0.25", "--quiet"]
    code = run.main([command, str(a), "--replicates", "3", *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "--replicates 3" in err and "uncertain.seeds_per_draw = 2" in err
    assert "use --replicates 2 or 4" in err and not (tmp_path / "o").exists()


def test_set_gives_every_arm_a_posterior(capsys, tmp_path):
    post = posterior(tmp_path)
    a = scenario(tmp_path, "")
    b = scenario(tmp_path, "[mechanisms.regulation]\nsanction = 1.5\n", "b")
    out = tmp_path / "cmp"
    code = run.main(["compare", str(a), str(b), "--set", f"uncertain.posterior={post}", "--replicates", "4",
                     "--no-report", "--quiet", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    runs = pd.read_parquet(out / "results.parquet")
    assert list(runs[runs.scenario == "unc"]["trust.speed"]) == list(runs[runs.scenario == "b"]["trust.speed"])
    assert set(runs["trust.speed"]) <= {0.2, 0.3}


CLUSTER = Path(__file__).resolve().parents[1] / "examples" / "cluster" / "cluster.toml"


@pytest.mark.parametrize("key", ["structure.mean_degree", "structure.rewire_p"])
def test_a_parameter_the_data_decides_is_refused_as_uncertain(capsys, tmp_path, key):
    path = tmp_path / "drawn.toml"
    path.write_text(f'extends = "{CLUSTER.as_posix()}"\n[uncertain.params]\n'
                    f'"{key}" = {{dist = "uniform", lo = 0.2, hi = 0.6}}\n')
    assert run.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"drawn.toml: uncertain: {key}: not used with [data]" in err and "trade.csv" in err, err
    out = tmp_path / "cmp"
    assert run.main(["compare", str(CLUSTER), str(path), "--replicates", "1", "--out", str(out)]) == 2
    assert key in capsys.readouterr().err and not out.exists()


def test_the_uncertain_refusal_is_the_sweep_s_own_with_its_words():
    """One check for --param, calibrate and [uncertain]: sim.data.refuse_unused, told what would not differ."""
    from sim.data import refuse_unused

    base = load_scenario(CLUSTER)
    with pytest.raises(ScenarioError) as seen:
        refuse_unused(base, ["structure.mean_degree"], "f.toml: uncertain:", "draw", "remove it")
    assert re.fullmatch(r"f\.toml: uncertain: structure\.mean_degree: not used with \[data\]: .+, so every draw "
                        r"gives the same runs; remove it", str(seen.value))
    drawn = base.with_overrides({"uncertain.params": {"structure.mean_degree": {"dist": "uniform", "lo": 2.0,
                                                                                "hi": 4.0}}})
    with pytest.raises(ScenarioError) as by_plan:
        plan_of(drawn, "f.toml")
    assert str(by_plan.value).split(": not used")[1].split(", so")[0] == str(seen.value).split(": not used")[1].split(
        ", so")[0]


def test_the_job_refuses_what_the_data_decides_also_when_set_after_loading(tmp_path):
    base = load_scenario(CLUSTER)
    drawn = base.with_overrides({"uncertain.params": {"structure.mean_degree": {"dist": "uniform", "lo": 2.0,
                                                                               "hi": 6.0}}})
    with pytest.raises(ScenarioError, match="structure.mean_degree: not used with"):
        plan_of(drawn, "job")
    pd.DataFrame({"structure.rewire_p": [0.1, 0.2]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(ScenarioError, match=r"rewire_p: not used with \[data\].*posterior file"):
        plan_of(base.with_overrides({"uncertain.posterior": str(tmp_path / "p.parquet")}), "job")
    assert plan_of(base.with_overrides({"uncertain.params": {"trust.speed": {"dist": "uniform", "lo": 0.1,
                                                                             "hi": 0.3}}}), "job") is not None


def test_the_printed_spread_table_has_one_number_format(capsys, tmp_path):
    from types import SimpleNamespace

    from analysis.tables import HEADLINE_KPIS

    rng = np.random.default_rng(3)
    rows = []
    for s in ("a", "b"):
        for r in range(8):  # KPIs of very different sizes, and a share that is not separable (one seed per draw)
            rows.append({"scenario": s, "replicate": r, "draw": r // 2,
                         **{f"{k}_mean": 10.0 ** (j % 5 - 2) * rng.random() for j, k in enumerate(HEADLINE_KPIS)}})
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet")
    run._compare_table(SimpleNamespace(out=tmp_path), None, "a")
    table = capsys.readouterr().out.split("share of variance from them):\n", 1)[1].splitlines()[1:]
    # the numbers (an exponent form counts, so it fails below); units such as "0-1" are not numbers
    cells = [c for line in table for c in line.split() if re.fullmatch(r"-?\d[\d.]*(e[+-]?\d+)?", c)]
    assert table and cells and all(re.fullmatch(r"-?\d+\.\d{3}", c) for c in cells), table
