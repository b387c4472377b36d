"""Grid sweeps: dose–response per level, paired by seed; text levers; KPIs over time; safe figure names."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

import run
from analysis import dose
from analysis.document import file_stem
from analysis.grid_report import GRID_SECTIONS
from analysis.sweep_report import association
from runner import sweep
from tests.conftest import BASELINE, small_scenario

SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def _planted(seeds: int = 12, dose_effect: float = 0.4, seed_sd: float = 5.0) -> pd.DataFrame:
    """A grid a (numeric) × b (text) whose KPI is a seed's own level, plus ``dose_effect`` per unit of a, plus noise.

    b has no effect. The seeds differ by far more than the dose moves the KPI, as replicates of a
    cluster model do; only comparing within a seed separates the dose from them.
    """
    rng = np.random.default_rng(7)
    own = rng.normal(0.0, seed_sd, seeds)
    rows = []
    for s in range(seeds):
        for a in (0.0, 0.5, 1.0):
            for b in ("x", "y"):
                y = own[s] + dose_effect * a + rng.normal(0.0, 0.05)
                rows.append({"a": a, "b": b, "seed": s, "cooperation_rate_mean": y})
    runs = pd.DataFrame(rows)
    return runs.assign(run_id=np.arange(len(runs)))


A = dose.Lever("a", True, (0.0, 0.5, 1.0), 0.0)
B = dose.Lever("b", False, ("x", "y"), "x")


def test_pairing_by_seed_finds_a_dose_effect_that_the_seeds_spread_hides():
    runs = _planted()
    k = ["cooperation_rate"]
    table = dose.level_table(runs, A, k)
    manual = runs.groupby(["a", "seed"])["cooperation_rate_mean"].mean().groupby("a").mean()
    assert np.allclose(table["mean"].to_numpy(), manual.to_numpy())
    level_width = float((table["ci_high"] - table["ci_low"]).iloc[-1])
    diffs = dose.level_differences(runs, A, k).set_index("level")
    top = diffs.loc[1.0]
    assert top["ci_low"] < 0.4 < top["ci_high"] and top["significant"]
    assert (top["ci_high"] - top["ci_low"]) < level_width / 20  # the level means' own intervals overlap widely
    assert (table["ci_low"].max() < table["ci_high"].min())
    nothing = dose.level_differences(runs, B, k).iloc[0]
    assert not nothing["significant"] and nothing["ci_low"] < 0 < nothing["ci_high"]


def test_anova_and_best_levels_name_the_lever_that_moves_the_kpi():
    runs = _planted()
    k = ["cooperation_rate"]
    anova = dose.lever_anova(runs, [A, B], k).set_index("term")
    assert anova.loc["a", "partial_eta2"] > 0.95 and anova.loc["a", "p_value"] < 1e-6
    assert anova.loc["b", "partial_eta2"] < 0.5 and anova.loc["b", "p_value"] > 0.01
    tables = {lv.name: dose.level_table(runs, lv, k) for lv in (A, B)}
    diffs = {lv.name: dose.level_differences(runs, lv, k) for lv in (A, B)}
    best = dose.best_levels(tables, diffs, [A, B], k).set_index("lever")
    assert best.loc["a", "best"] == 1.0 and best.loc["a", "verdict"] == "better"
    assert best.loc["b", "verdict"] in ("reference", "same") and not best.loc["b", "significant"]


def test_one_replicate_gives_means_without_tests():
    runs = _planted(seeds=1)
    assert dose.level_differences(runs, A, ["cooperation_rate"]).empty
    assert dose.lever_anova(runs, [A, B], ["cooperation_rate"]).empty
    assert dose.level_table(runs, A, ["cooperation_rate"])["ci_low"].isna().all()


def test_a_text_lever_of_a_latin_hypercube_gets_a_rank_test_not_na():
    runs = _planted()
    table = association(runs, ["a", "b"], ["cooperation_rate"]).set_index("param")
    assert table.loc["a", "method"] == "Spearman rho" and table.loc["b", "method"].startswith("Kruskal")
    assert np.isfinite(table["strength"]).all() and (table["strength"].between(0, 1)).all()


# --------------------------------------------------------------------------- from the command line


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A grid over one numeric and one text lever, with its KPIs over time, and its report."""
    root = tmp_path_factory.mktemp("grid")
    out = root / "sweep"
    code = run.main(["sweep", str(BASELINE), "--param", "information.digitalization=0:1:3",
                     "--param", "structure.kind=network,star", "--set", "structure.n_firms=30",
                     "--replicates", "3", "--steps", "6", "--seed", "11", "--timeseries", "--quiet", "--out", str(out)])
    assert code == 0
    assert run.main(["report", str(out), "--out", str(out / "report")]) == 0
    return out


def test_a_grid_over_a_numeric_and_a_text_lever_gives_a_dose_response_report(grid):
    page = (grid / "report" / "report.html").read_text()
    md = (grid / "report" / "report.md").read_text()
    for section in GRID_SECTIONS:
        assert section in page
    for fig in ("dose_1", "dose_2", "heat_1", "over_time_1", "over_time_2"):
        assert (grid / "report" / "figures" / f"{fig}.png").is_file(), fig
        assert f"figures/{fig}.png" in md
    assert "Sobol" not in md and "Morris" not in md  # the Methods describe the grid that was run
    assert "a full grid, every combination" in md
    assert "No timeseries" not in md and "kept no KPIs over time" not in md
    summary = pd.read_csv(grid / "report" / "summary.csv")
    kinds = summary[summary["lever"] == "structure.kind"]
    assert set(kinds["level_label"]) == {"structure.kind=network", "structure.kind=star"}
    assert kinds["mean"].notna().all()
    star = kinds[kinds["level_label"] == "structure.kind=star"]
    assert star["diff"].notna().all() and star["diff_ci_low"].notna().all()
    ranking = md.split("## Lever ranking")[1]
    assert "structure.kind" in ranking and "| n/a |" not in ranking


def test_sweep_timeseries_keeps_the_kpis_of_every_step_and_changes_no_result(grid, tmp_path):
    ts = pd.read_parquet(grid / "timeseries.parquet")
    runs = pd.read_parquet(grid / "results.parquet")
    assert list(ts.columns[:2]) == ["run_id", "step"] and "cooperation_rate" in ts.columns
    assert ts.groupby("run_id")["step"].apply(list).map(lambda s: s == list(range(1, 7))).all()
    assert set(ts["run_id"]) == set(runs["run_id"])
    # the stored series ends where the run's final value was taken
    last = ts[ts["step"] == 6].set_index("run_id")["cooperation_rate"]
    assert np.allclose(last.sort_index(), runs.set_index("run_id")["cooperation_rate_final"].sort_index())
    plain = tmp_path / "plain"
    sweep(BASELINE, ["information.digitalization=0:1:3", "structure.kind=network,star"], plain, replicates=3,
          seed=11, steps=6, overrides={"structure.n_firms": 30}, quiet=True)
    assert pd.read_parquet(plain / "results.parquet").equals(runs)
    assert not (plain / "timeseries.parquet").exists()


def test_a_sweep_with_timeseries_resumes_to_the_same_files_and_refuses_a_switch(grid, tmp_path, cli,
                                                                                  interrupt_before_finish):
    args = (BASELINE, ["information.digitalization=0:1:3", "structure.kind=network,star"])
    kw = dict(replicates=3, seed=11, steps=6, overrides={"structure.n_firms": 30}, quiet=True, timeseries=True)
    out = tmp_path / "resumed"
    interrupt_before_finish(sweep, *args, out, **kw)
    parts = sorted((out / "parts").glob("ts-*.parquet"))
    assert len(parts) >= 2
    parts[0].unlink()  # a series lost: its chunk is run again
    parts[1].write_bytes(parts[-1].read_bytes())  # another chunk's series: caught and run again
    sweep(*args, out, **kw)
    assert pd.read_parquet(out / "timeseries.parquet").equals(pd.read_parquet(grid / "timeseries.parquet"))
    assert pd.read_parquet(out / "results.parquet").equals(pd.read_parquet(grid / "results.parquet"))
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    code, _, err = cli("sweep", BASELINE, "--param", "information.digitalization=0:1:3", "--param",
                       "structure.kind=network,star", "--set", "structure.n_firms=30", "--replicates", 3,
                       "--steps", 6, "--seed", 11, "--quiet", "--out", out)
    assert code == 2 and "timeseries" in err


def test_a_grid_without_timeseries_says_how_to_get_them(grid, tmp_path):
    folder = tmp_path / "nots"
    shutil.copytree(grid, folder, ignore=shutil.ignore_patterns("report", "timeseries.parquet"))
    assert run.main(["report", str(folder), "--out", str(folder / "report")]) == 0
    assert "run it with --timeseries" in (folder / "report" / "report.md").read_text()


# --------------------------------------------------------------------------- variant names


def test_file_stems_are_safe_and_keep_names_apart():
    names = ["programme_base@information.digitalization=0.8", "programme_base@information.digitalization=0.9",
             "programme_base information digitalization 0.8", "forest", "a/b\\c:d"]
    stems = [file_stem(n) for n in names]
    assert all(SAFE.match(s) for s in stems)
    assert len(set(stems)) == len(stems)
    assert file_stem("forest") == "forest"


def test_variant_names_render_in_headings_and_give_safe_figure_files(tmp_path, cli):
    prog = small_scenario(tmp_path, "prog", n_firms=30, steps=12,
                          body='[[policy]]\nat = 4\nuntil = 8\nlabel = "subsidy"\n'
                               'set = { "mechanisms.function_interest.multiplier" = 2.2 }\n')
    base = small_scenario(tmp_path, "base", n_firms=30, steps=12)
    variant = "prog@information.digitalization=0.8"
    out = tmp_path / "cmp"
    code, _, err = cli("compare", base, f"{prog}@information.digitalization=0.8", "--replicates", 3,
                       "--seed", 2, "--quiet", "--reference", "base", "--out", out)
    assert code == 0, err
    page = (out / "report" / "report.html").read_text()
    md = (out / "report" / "report.md").read_text()
    assert f"<h3>{variant} against base</h3>" in page
    assert f"### {variant} against base" in md
    figs = sorted((out / "report" / "figures").iterdir())
    assert figs and all(SAFE.match(f.name) for f in figs)
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert any("programme_prog_information.digitalization_0.8" in link for link in links)
    assert all((out / "report" / link).is_file() for link in links)
