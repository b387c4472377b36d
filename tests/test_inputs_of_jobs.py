"""Inputs of the job commands: what a job's cost counts, which TOML files ``validate`` recognises, layout limits."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import run
from runner.cost import BYTES_PER_FIRM, BYTES_PER_LINK, estimate
from sim.scenario import load_scenario
from sim.weighted import weighted_quantile

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- cost of an edge list


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(3, 60), chords=st.integers(0, 20))
def test_the_cost_of_an_edge_list_counts_the_files_firms_and_links(n, chords):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = [(i, (i + 1) % n) for i in range(n)] + [(i % n, (i * 7 + 2) % n) for i in range(chords)]
        rows = list({frozenset((a, b)): (a, b) for a, b in rows if a != b}.values())  # one row per link
        (folder / "e.csv").write_text("source,target\n" + "".join(f"F{a},F{b}\n" for a, b in rows))
        # n_firms says 5,000: the files, not the field, set the size of the model
        (folder / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\nn_firms = 5000\n')
        with pytest.warns(Warning):  # n_firms cannot act with an edge list: its gate says so
            scenario = load_scenario(folder / "s.toml")
        cost = estimate([scenario], 1, 10, 1)
        links = len({(min(a, b), max(a, b)) for a, b in rows})  # duplicates and reversed pairs are one link
        assert cost.model_gb * 1e9 == pytest.approx(n * BYTES_PER_FIRM + links * BYTES_PER_LINK)
        assert cost.link_steps == pytest.approx(10 * max(n, links))


# --------------------------------------------------------------------------- validate: other kinds of TOML


def test_validate_examples_recognises_targets_and_robust_files(capsys):
    assert run.main(["validate", str(ROOT / "examples")]) == 0
    out = capsys.readouterr().out
    assert "robust policies: 4 policies" in out and "robust uncertainties: 5 uncertain levers" in out
    assert "observed targets" in out and "0 invalid" in out


@pytest.mark.parametrize("text, words", [
    ('[regret]\ncooperation_rate = "most"\n[[policies]]\nname = "a"\n[[policies]]\nname = "b"\n',
     "[regret] cooperation_rate = 'most': \"max\""),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname = "a"\nset = { "trust.speed" = 7.0 }\n'
     '[[policies]]\nname = "b"\n', "policy a"),
    ('[regret]\ncooperation_rate = "max"\n[[policies]]\nname = "a"\n', "at least two policies"),
    ('scenario = "../../scenarios/baseline.toml"\n[uncertainties]\n"trust.sped" = "0:1"\n', "trust.sped"),
    ('scenario = "nowhere.toml"\n[uncertainties]\n"trust.speed" = "0:1"\n', "nowhere.toml"),
    ('scenario = "../../scenarios/baseline.toml"\n[uncertainties]\n"trust.speed" = "0:3"\n', "trust.speed"),
])
def test_validate_checks_robust_files_with_their_own_schema(capsys, tmp_path, text, words):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    f = folder / "robust.toml"
    f.write_text(text)
    assert run.main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"invalid  {f}" in err and words in err, err
    assert "unknown key; allowed keys here: data" not in err  # not reported as a bad scenario


def test_a_bad_scenario_is_still_a_bad_scenario(capsys, tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("[trust]\nsped = 0.1\n")
    assert run.main(["validate", str(f)]) == 2
    assert "sped: unknown key" in capsys.readouterr().err
    f.write_text("[trust]\nspeed = 0.1\n")
    assert run.main(["validate", str(f)]) == 0


# --------------------------------------------------------------------------- one weighted quantile


@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), q=st.floats(0, 1))
def test_weighted_quantile_with_equal_weights_is_numpys_hazen_quantile(x, q):
    x = np.asarray(x)
    assert weighted_quantile(x, np.ones(len(x)), q) == pytest.approx(np.quantile(x, q, method="hazen"), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(0.01, 10)), min_size=1, max_size=30),
       q1=st.floats(0, 1), q2=st.floats(0, 1))
def test_weighted_quantile_is_monotone_and_within_the_values(data, q1, q2):
    x, w = np.array([d[0] for d in data]), np.array([d[1] for d in data])
    lo, hi = sorted((q1, q2))
    a, b = weighted_quantile(x, w, lo), weighted_quantile(x, w, hi)
    assert x.min() - 1e-9 <= a <= b + 1e-9 and b <= x.max() + 1e-9


def test_the_runner_and_analysis_share_one_weighted_quantile():
    import analysis.calibration
    import runner.calibration_files

    assert analysis.calibration.weighted_quantile is weighted_quantile
    assert runner.calibration_files.weighted_quantile is weighted_quantile
    imports = [line for line in (ROOT / "sim" / "weighted.py").read_text().splitlines() if line.startswith(("import", "from"))]
    assert imports == ["from __future__ import annotations", "import numpy as np"]  # analysis may import it


# --------------------------------------------------------------------------- layout


def test_calibration_modules_stay_short():
    for name in ("calibrate", "abc_smc", "calibration_files"):
        assert len((ROOT / "runner" / f"{name}.py").read_text().splitlines()) <= 500, name
