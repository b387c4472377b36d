"""Scenario discovery (analysis/discovery.py, run.py discover): PRIM finds a region planted by construction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.discovery import discover, discover_sweep, experiments_frame, outcomes_frame, select_cases
from analysis.io import load_results
from sim.scenario import ScenarioError
from tests.conftest import ROOT, readme_block, small_scenario


LEVERS = ("a", "b", "c", "kind")
KINDS = ["star", "chain", "network"]


def fake_sweep(folder: Path, n: int = 400, seed: int = 0, region: str = "ab", noise: float = 0.06) -> Path:
    """A sweep folder in the format run.py sweep writes, with an outcome known by construction.

    Four levers: ``a`` in [0, 1], ``b`` in [0, 2], ``c`` in [0, 1] (no effect), ``kind`` categorical.
    ``cooperation_rate`` is about 0.45 inside the region and 0.8 outside, plus normal noise; the region is
    ``a <= 0.3 and b >= 1.2`` (``region="ab"``) or ``a <= 0.3 and kind == star`` (``region="a-kind"``).
    """
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 2, n), "c": rng.uniform(0, 1, n),
                      "kind": rng.choice(KINDS, n)})
    inside = (x["a"] <= 0.3) & ((x["b"] >= 1.2) if region == "ab" else (x["kind"] == "star"))
    coop = np.where(inside, 0.45, 0.8) + rng.normal(0, noise, n)
    runs = x.assign(run_id=np.arange(n), replicate=0, seed=12345, cooperation_rate_mean=coop,
                    cooperation_rate_final=coop + rng.normal(0, noise, n),
                    mean_trust_mean=rng.uniform(0, 1, n), mean_trust_final=rng.uniform(0, 1, n))
    folder.mkdir(parents=True, exist_ok=True)
    runs.to_parquet(folder / "results.parquet", index=False)
    params = [{"name": "a", "spec": "0:1", "type": "float", "low": 0.0, "high": 1.0, "n": None},
              {"name": "b", "spec": "0:2", "type": "float", "low": 0.0, "high": 2.0, "n": None},
              {"name": "c", "spec": "0:1", "type": "float", "low": 0.0, "high": 1.0, "n": None},
              {"name": "kind", "spec": ",".join(KINDS), "type": "str", "values": KINDS}]
    manifest = {"kind": "sweep", "status": "complete", "master_seed": 12345,
                "design": {"kind": "lhs", "params": params, "samples": n, "points": n, "replicates": 1}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def inside_box(experiments: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """Runs inside a box given as rows of boxes.csv."""
    mask = np.ones(len(experiments), bool)
    for _, r in limits.iterrows():
        v = experiments[r["lever"]]
        if r["kind"] == "categorical":
            mask &= v.astype(str).isin(str(r["categories"]).split("|")).to_numpy()
        else:
            if np.isfinite(r["low"]):
                mask &= (v >= r["low"]).to_numpy()
            if np.isfinite(r["high"]):
                mask &= (v <= r["high"]).to_numpy()
    return mask


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prim_recovers_a_planted_region_of_two_levers_among_four(tmp_path, seed):
    folder = fake_sweep(tmp_path / "sweep", seed=seed)
    disc, path = discover_sweep(folder, kpi="cooperation_rate", below=0.6, resamples=0, seed=seed)
    assert path.is_file()
    box = disc.boxes[disc.boxes["box"] == 1].set_index("lever")
    assert set(box.index) == {"a", "b"}
    # the region's edges, within 5 % of each lever's range
    assert abs(box.loc["a", "high"] - 0.3) <= 0.05 and np.isnan(box.loc["a", "low"])
    assert abs(box.loc["b", "low"] - 1.2) <= 0.10 and np.isnan(box.loc["b", "high"])
    stats = disc.box_stats.iloc[0]
    assert stats["coverage"] >= 0.9 and stats["density"] >= 0.9
    assert box.loc["a", "qp_high"] < 1e-3 and box.loc["b", "qp_low"] < 1e-3
    # the reported coverage and density are those of the box's runs, recounted from the CSV limits
    res = load_results(folder)
    x = experiments_frame(res)
    y = res.runs["cooperation_rate_mean"].to_numpy() < 0.6
    m = inside_box(x, pd.read_csv(path.parent / "boxes.csv").query("box == 1"))
    assert stats["runs"] == m.sum() and stats["cases"] == (m & y).sum()
    assert stats["coverage"] == pytest.approx((m & y).sum() / y.sum())
    assert stats["density"] == pytest.approx((m & y).sum() / m.sum())
    assert stats["mass"] == pytest.approx(m.mean())
    # CART and feature scoring point at the same two levers
    assert set(disc.feature_scores["lever"].head(2)) == {"a", "b"}
    top = disc.cart_leaves.iloc[0]
    assert top["density"] >= 0.9 and "a <=" in top["rule"] and "b >=" in top["rule"]


def test_prim_restricts_a_categorical_lever_to_its_failing_value(tmp_path):
    folder = fake_sweep(tmp_path / "sweep", region="a-kind")
    disc, _ = discover_sweep(folder, kpi="cooperation_rate", below=0.6, resamples=0)
    box = disc.boxes[disc.boxes["box"] == 1].set_index("lever")
    assert set(box.index) == {"a", "kind"}
    assert box.loc["kind", "kind"] == "categorical" and box.loc["kind", "categories"] == "star"
    assert abs(box.loc["a", "high"] - 0.3) <= 0.05
    assert disc.box_stats.iloc[0]["density"] >= 0.9 and disc.box_stats.iloc[0]["coverage"] >= 0.9


@pytest.mark.slow
def test_same_seed_same_files_and_the_seed_matters(tmp_path):
    folder = fake_sweep(tmp_path / "sweep", n=200, noise=0.15)
    outs = []
    for i, seed in enumerate((3, 3, 4)):
        out = tmp_path / f"d{i}"
        discover_sweep(folder, out, kpi="cooperation_rate", below=0.6, resamples=6, boxes=2, seed=seed)
        outs.append(out)
    for name in ("boxes.csv", "peeling.csv", "resample.csv", "cart_leaves.csv", "feature_scores.csv",
                 "discovery.md"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "feature_scores.csv").read_bytes() != (outs[2] / "feature_scores.csv").read_bytes()
    html = (outs[0] / "discovery.html").read_text()
    assert "http://" not in html and "https://" not in html
    for name in ("prim_box1", "prim_tradeoff1", "prim_peeling1", "cart_tree", "feature_scores"):
        assert (outs[0] / "figures" / f"{name}.png").is_file()


def test_where_expression_and_a_band():
    rng = np.random.default_rng(0)
    out = pd.DataFrame({"cooperation_rate": rng.uniform(0, 1, 50), "mean_trust": rng.uniform(0, 1, 50)})
    y, text, named = select_cases(out, where="cooperation_rate < 0.6 and mean_trust > 0.5")
    assert named is None and text == "cooperation_rate < 0.6 and mean_trust > 0.5"
    np.testing.assert_array_equal(y, (out["cooperation_rate"] < 0.6) & (out["mean_trust"] > 0.5))
    y, text, named = select_cases(out, kpi="mean_trust", above=0.2, below=0.7)
    assert named == "mean_trust" and text == "mean_trust > 0.2 and mean_trust < 0.7"
    np.testing.assert_array_equal(y, (out["mean_trust"] > 0.2) & (out["mean_trust"] < 0.7))


@pytest.mark.parametrize("kwargs, words", [
    ({"kpi": "cooperation", "below": 0.6}, ["--kpi 'cooperation'", "cooperation_rate"]),
    ({"kpi": "cooperation_rate", "below": 0.0}, ["no run meets cooperation_rate < 0", "ranges from"]),
    ({"kpi": "cooperation_rate", "below": 5.0}, ["every run meets"]),
    ({"kpi": "cooperation_rate"}, ["--below X and/or --above X"]),
    ({}, ["no condition"]),
    ({"kpi": "cooperation_rate", "above": 0.7, "below": 0.5}, ["empty band"]),
    ({"where": "trust < 0.5"}, ["--where", "trust", "mean_trust"]),
    ({"where": "cooperation_rate * 2"}, ["true or false"]),
    ({"where": "cooperation_rate <"}, ["not a valid expression"]),
    ({"where": "cooperation_rate < 0.6", "kpi": "mean_trust"}, ["either --where or --kpi"]),
    ({"kpi": "cooperation_rate", "below": 0.6, "min_density": 1.5}, ["--min-density"]),
    ({"kpi": "cooperation_rate", "below": 0.6, "boxes": 0}, ["--boxes"]),
])
def test_bad_conditions_name_what_is_wrong(kwargs, words):
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.uniform(0, 1, 40)})
    out = pd.DataFrame({"cooperation_rate": rng.uniform(0.2, 0.9, 40), "mean_trust": rng.uniform(0, 1, 40)})
    with pytest.raises(ScenarioError) as exc:
        discover(x, out, resamples=0, **kwargs)
    for w in words:
        assert w in str(exc.value)


def test_cli_bad_inputs_exit_2_with_a_message(tmp_path, capsys):
    import run

    folder = fake_sweep(tmp_path / "sweep", n=60)
    empty = tmp_path / "empty"
    empty.mkdir()
    compare = tmp_path / "cmp"
    compare.mkdir()
    (compare / "manifest.json").write_text(json.dumps({"kind": "compare", "status": "complete",
                                                       "scenarios": ["s"]}))
    pd.DataFrame({"scenario": ["s", "s"], "replicate": [0, 1], "seed": [1, 2],
                  "cooperation_rate_mean": [0.5, 0.6]}).to_parquet(compare / "results.parquet")
    cases = [
        ([folder, "--kpi", "nope", "--below", "0.6"], ["nope", "cooperation_rate"]),
        ([folder, "--kpi", "cooperation_rate", "--below", "-1"], ["no run meets"]),
        ([empty, "--kpi", "cooperation_rate", "--below", "0.6"], ["no manifest.json"]),
        ([tmp_path / "missing", "--kpi", "cooperation_rate", "--below", "0.6"], ["not a folder"]),
        ([compare, "--kpi", "cooperation_rate", "--below", "0.6"], ["compare folder", "sweep"]),
        ([folder, "--where", "cooperation_rate <"], ["--where"]),
    ]
    for argv, words in cases:
        code = run.main(["discover", *map(str, argv)])
        err = capsys.readouterr().err
        assert code == 2, argv
        for w in words:
            assert w in err, (argv, err)
    (folder / "results.parquet").unlink()
    assert run.main(["discover", str(folder), "--kpi", "cooperation_rate", "--below", "0.6"]) == 2
    assert "no results.parquet" in capsys.readouterr().err


@pytest.mark.slow
def test_discover_end_to_end_on_a_real_sweep(tmp_path, capsys):
    import run

    scen = small_scenario(tmp_path, n_firms=40, steps=15)
    sweep = tmp_path / "sweep"
    code = run.main(["sweep", str(scen), "--param", "firms.cooperativeness=0.2:0.8",
                     "--param", "mechanisms.regulation.monitoring_prob=0:1",
                     "--param", "mechanisms.function_interest.sharing=proportional,equal",
                     "--design", "lhs", "--samples", "24", "--quiet", "--out", str(sweep)])
    assert code == 0
    capsys.readouterr()
    coop = pd.read_parquet(sweep / "results.parquet")["cooperation_rate_mean"]
    threshold = float(coop.quantile(0.3))
    out = tmp_path / "disc"
    proc = subprocess.run([sys.executable, "run.py", "discover", str(sweep), "--kpi", "cooperation_rate",
                           "--below", repr(threshold), "--resamples", "4", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "box 1: cooperation_rate <" in proc.stdout and "coverage" in proc.stdout
    boxes = pd.read_csv(out / "boxes.csv")
    assert set(boxes["lever"]) <= {"firms.cooperativeness", "mechanisms.regulation.monitoring_prob",
                                   "mechanisms.function_interest.sharing"}
    assert ((boxes["coverage"] > 0) & (boxes["coverage"] <= 1) & (boxes["density"] > 0)
            & (boxes["density"] <= 1)).all()
    md = (out / "discovery.md").read_text()
    for section in ("## Summary", "## PRIM box 1", "## CART", "## Feature scores", "## Methods"):
        assert section in md
    res = load_results(sweep)
    assert str(experiments_frame(res)["mechanisms.function_interest.sharing"].dtype) == "category"
    assert "cooperation_rate" in outcomes_frame(res).columns


@pytest.mark.slow
def test_readme_worked_example_reproduces(tmp_path, capsys):
    import run

    shown = readme_block("it prints (line broken here):")
    sweep = tmp_path / "lhs"
    code = run.main(["sweep", str(ROOT / "scenarios" / "baseline.toml"), "--param", "firms.cooperativeness=0.2:0.8",
                     "--param", "mechanisms.regulation.monitoring_prob=0:1",
                     "--param", "information.digitalization=0:1",
                     "--param", "mechanisms.function_interest.sharing=proportional,equal",
                     "--design", "lhs", "--samples", "128", "--replicates", "2", "--seed", "1", "--jobs", "2",
                     "--quiet", "--out", str(sweep)])
    assert code == 0
    capsys.readouterr()
    assert run.main(["discover", str(sweep), "--kpi", "cooperation_rate", "--below", "0.6"]) == 0
    printed = capsys.readouterr().out
    assert " ".join(shown.split()) in " ".join(printed.split())


def test_one_lever_sweep_gives_cart_leaves(tmp_path, capsys):
    """A sweep of a single lever gives a report with CART leaves (EMA cannot name a one-lever tree's leaves)."""
    import run

    out = tmp_path / "sweep"
    assert run.main(["sweep", "scenarios/baseline.toml", "--param", "information.digitalization=0.1,0.9",
                     "--replicates", "6", "--steps", "8", "--seed", "1", "--jobs", "1", "--out", str(out), "--quiet"]) in (0, None)
    coop = pd.read_parquet(out / "results.parquet")["cooperation_rate_mean"]
    threshold = float(coop.median()) + 1e-12
    assert run.main(["discover", str(out), "--kpi", "cooperation_rate", "--below", repr(threshold)]) in (0, None)
    capsys.readouterr()
    leaves = pd.read_csv(out / "discovery" / "cart_leaves.csv")
    assert len(leaves) >= 1 and leaves["coverage"].between(0, 1).all()
