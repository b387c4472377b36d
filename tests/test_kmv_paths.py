"""Morgan-Hunt's thirteen paths as they emerge: regressions on the firms of seeded runs.

Firms of 12 seeds of the baseline (a network) and of the hierarchical structure are pooled
at one step after warm-up; ``analysis.kmv`` estimates each path with a run-clustered 95 %
interval. A path the model does not reproduce as an emergent relation is an expected
failure with its reason, strict, so the test flips when the model is fixed.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import kmv
from sim import Scenario, make_model

SEEDS = range(12)
STEPS = 60  # past the warm-up: commitment and trust have moved off their initial values

#: Paths whose outcome is today a sigmoid of one mediator, so the regression recovers a formula.
DETERMINED = {
    "acquiescence": "acquiescence is a deterministic sigmoid of commitment: the regression is degenerate",
    "propensity_to_leave": "propensity to leave is a deterministic sigmoid of commitment: the regression is degenerate",
    "functional_conflict": "functional conflict is a deterministic sigmoid of trust: the regression is degenerate",
}

#: Paths the cross-section cannot separate from another predictor of the same equation.
CONFOUNDED = {
    ("shared_values", "commitment"): "shared values and relationship benefits both grow with a member's time in the "
    "cluster (the culture pulls its values, the pool's marketing builds its product brand), so across firms at "
    "step 60 benefits take their shared variance",
}


def cross_section(scenarios: dict, seeds, steps: int) -> pd.DataFrame:
    """Firm tables after ``steps`` steps, pooled over scenarios and seeds, with ``scenario`` and ``run`` columns."""
    frames = []
    for label, scenario in scenarios.items():
        for seed in seeds:
            model = make_model(scenario, rng=int(seed))
            model.run_for(steps)
            frames.append(model.firm_table().assign(scenario=label, run=f"{label}/{seed}"))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def firms() -> pd.DataFrame:
    scenarios = {kind: Scenario().with_overrides({"structure.kind": kind}) for kind in ("network", "hierarchical")}
    return cross_section(scenarios, SEEDS, STEPS)


@pytest.fixture(scope="module")
def paths(firms) -> pd.DataFrame:
    return kmv.estimate_paths(firms).set_index(["source", "target"])


def _path_params():
    for p in kmv.PATHS:
        reason = DETERMINED.get(p.target) or CONFOUNDED.get((p.source, p.target))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(p, id=f"{p.source}->{p.target}", marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("path", list(_path_params()))
def test_path_emerges_with_its_sign(paths, path):
    row = paths.loc[(path.source, path.target)]
    assert row["verdict"] == "reproduced", (path, row.to_dict())
    assert path.sign * row["low"] > 0 and path.sign * row["high"] > 0
    assert not row["degenerate"], f"{path.target} is a deterministic function of {path.source}"


@pytest.mark.slow
def test_decision_uncertainty_has_its_own_equation(firms):
    """Decision uncertainty follows trust and the quality (freshness) of a firm's information, not conflict alone."""
    identical = np.isclose(firms["decision_uncertainty"], 1.0 - firms["functional_conflict"], rtol=0, atol=1e-12)
    assert identical.mean() < kmv.DETERMINED_SHARE


@pytest.mark.slow
@pytest.mark.parametrize("outcome", kmv.OUTCOMES)
def test_trust_and_commitment_mediate(firms, outcome):
    """Direct antecedent paths (Morgan & Hunt's rival model) add little to trust and commitment."""
    row = kmv.mediation(firms).set_index("outcome").loc[outcome]
    assert row["rival_r2_gain"] < 0.05, row.to_dict()


# ----------------------------------------------------------------------------- the estimator on planted data


def planted(sign: int, n_runs: int = 12, per_run: int = 60, seed: int = 0) -> pd.DataFrame:
    """Firms whose variables follow the KMV equations with ``sign`` on every path, plus noise and run effects."""
    rng = np.random.default_rng(seed)
    n = n_runs * per_run
    run = np.repeat(np.arange(n_runs), per_run)
    a = {c: rng.normal(size=n) + rng.normal(size=n_runs)[run] for c in kmv.ANTECEDENTS}
    d = pd.DataFrame(a).assign(run=run)
    d["mean_trust"] = sign * (d.shared_values + d.communication - d.opportunistic_behaviour) + rng.normal(size=n)
    d["commitment"] = sign * (d.termination_costs + d.relationship_benefits + d.shared_values + d.mean_trust) + rng.normal(size=n)
    for out, (src, s) in {"acquiescence": ("commitment", 1), "propensity_to_leave": ("commitment", -1),
                          "functional_conflict": ("mean_trust", 1), "decision_uncertainty": ("mean_trust", -1)}.items():
        d[out] = sign * s * d[src] + rng.normal(size=n)
    d["cooperation"] = sign * (d.commitment + d.mean_trust) + rng.normal(size=n)
    return d


@pytest.mark.parametrize("sign,verdict", [(1, "reproduced"), (-1, "reversed")])
def test_estimator_recovers_planted_signs(sign, verdict):
    est = kmv.estimate_paths(planted(sign))
    assert (est["verdict"] == verdict).all(), est
    assert not est["degenerate"].any()


def test_estimator_cannot_tell_a_missing_path():
    d = planted(1)
    d["cooperation"] = d.commitment + np.random.default_rng(1).normal(size=len(d))  # no trust path
    row = kmv.estimate_paths(d).set_index(["source", "target"]).loc[("mean_trust", "cooperation")]
    assert row["verdict"] == "not distinguishable"


def test_degenerate_outcome_is_flagged():
    d = planted(1)
    d["acquiescence"] = 1.0 / (1.0 + np.exp(-3.0 * d.commitment))
    flagged = kmv.estimate_paths(d).groupby("target")["degenerate"].all()
    assert flagged["acquiescence"] and not flagged["cooperation"]


def test_direct_paths_break_mediation():
    d = planted(1)
    assert (kmv.mediation(d)["rival_r2_gain"] < 0.05).all()
    d["cooperation"] = d.commitment + 3.0 * d.termination_costs + np.random.default_rng(2).normal(size=len(d))
    assert kmv.mediation(d).set_index("outcome").loc["cooperation", "rival_r2_gain"] > 0.05
