"""Morgan-Hunt's thirteen paths as they emerge: regressions on the firms of seeded runs.

Firms of 12 seeds of the baseline (a network) and of the hierarchical structure are pooled
at one step after warm-up; ``analysis.kmv`` estimates each path with a run-clustered 95 %
interval. Only settled firms enter (in the cluster for the last :data:`SETTLE` steps), as
Morgan & Hunt surveyed established relationships: an entrant's commitment starts at
``commitment_initial`` whatever its antecedents and needs about 1 / ``commitment_speed``
steps to reflect them. A path the model does not reproduce as an emergent relation is an expected
failure with its reason, strict, so the test flips when the model is fixed.
"""

import numpy as np
import pandas as pd
import pytest

from analysis import kmv
from sim import Scenario, make_model
from tests.conftest import mean_interval, paired_interval

SEEDS = range(12)
STEPS = 60  # past the warm-up: commitment and trust have moved off their initial values
SETTLE = 20  # commitment closes all but 0.8^20 (about 1 %) of its gap to its target in this many steps

#: Paths whose outcome is today a sigmoid of one mediator, so the regression recovers a formula.
DETERMINED = {
    "acquiescence": "acquiescence is a deterministic sigmoid of commitment: the regression is degenerate",
    "propensity_to_leave": "propensity to leave is a deterministic sigmoid of commitment: the regression is degenerate",
    "functional_conflict": "functional conflict is a deterministic sigmoid of trust: the regression is degenerate",
}


def cross_section(scenarios: dict, seeds, steps: int, settle: int = SETTLE) -> pd.DataFrame:
    """Firm tables after ``steps`` steps of the firms active for the last ``settle`` of them, pooled over scenarios
    and seeds, with ``scenario`` and ``run`` columns."""
    frames = []
    for label, scenario in scenarios.items():
        for seed in seeds:
            model = make_model(scenario, rng=int(seed))
            model.run_for(steps - settle)
            settled = model.state.firms()
            model.run_for(settle)
            table = model.firm_table()
            frames.append(table[table["id"].isin(settled)].assign(scenario=label, run=f"{label}/{seed}"))
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
        reason = DETERMINED.get(p.target)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(p, id=f"{p.source}->{p.target}", marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("path", list(_path_params()))
def test_path_emerges_with_its_sign(paths, path):
    row = paths.loc[(path.source, path.target)]
    assert row["verdict"] == "reproduced", (path, row.to_dict())
    assert path.sign * row["low"] > 0 and path.sign * row["high"] > 0
    assert not row["degenerate"], f"{path.target} is a deterministic function of {path.source}"


def contracts_and_trust(delay: int, seed: int, steps: int = 100) -> tuple[float, float, float]:
    """Second-half means of decision uncertainty, contracts running and mean trust (60 firms, digitalization 0,
    80 % of messages relayed with ``delay``)."""
    over = {"structure.n_firms": 60, "information.digitalization": 0.0, "information.cdc_share": 0.8,
            "information.relay_delay": delay}
    model = make_model(Scenario().with_overrides(over), rng=seed)
    model.run_for(steps)
    k = model.kpis().iloc[steps // 2:]
    return float(k["decision_uncertainty"].mean()), float(k["contracts_active"].mean()), float(k["mean_trust"].mean())


@pytest.mark.slow
def test_decision_uncertainty_makes_firms_cautious_in_contracts():
    """Decision uncertainty acts: where stale news (relay delay 8 instead of 0) raises it and trust barely moves,
    fewer contracts run, by a larger share than the change in trust could explain (12 paired seeds, 95 % intervals).

    Across the firms of one run the same caution does not show: uncertainty varies little between firms and a
    link's contract reflects its whole history, so trust and reputation take the variance (docs/ODD.md 7.3.5).
    """
    late = np.array([contracts_and_trust(8, s) for s in SEEDS])
    fresh = np.array([contracts_and_trust(0, s) for s in SEEDS])
    assert paired_interval(late[:, 0], fresh[:, 0])[0] > 0  # uncertainty is higher with late news
    assert paired_interval(late[:, 1], fresh[:, 1])[1] < 0  # fewer contracts
    relative = (late[:, 1] / fresh[:, 1] - 1) - (late[:, 2] / fresh[:, 2] - 1)
    assert mean_interval(relative)[1] < 0, relative  # contracts fall by more than trust does


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
