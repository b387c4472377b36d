"""The model's interface, determinism and invariants."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import (Association, ClusterModel, DevelopmentCenter, Enterprise, LeadingFirm, Scenario, ValidationModel, load_scenario,
                 make_model, run_one)
from sim.metrics import ANTECEDENT_COLUMNS, BY_TYPE_COLUMNS, KPI_COLUMNS

REQUIRED = (
    "members entries exits cooperation_rate mean_trust mean_commitment propensity_to_leave acquiescence "
    "functional_conflict decision_uncertainty revenue profit brand_equity free_rider_share contract_breaches "
    "info_sent info_lost info_delay payoff_gini energy_intensity marketing_roi"
).split()


def small(**over):
    base = {"structure.n_firms": 60, "run.steps": 15}
    base.update(over)
    return Scenario().with_overrides(base)


def test_interface_and_columns():
    s = load_scenario("scenarios/baseline.toml")
    m = ClusterModel(s, rng=42)
    m.run_for(5)
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 5
    for col in REQUIRED + list(ANTECEDENT_COLUMNS) + list(BY_TYPE_COLUMNS):
        assert col in df.columns, col
    assert df["step"].tolist() == [1, 2, 3, 4, 5]
    assert m.params is s
    assert len(m.agents_by_type[Association]) >= 1
    assert len(m.agents_by_type[LeadingFirm]) == s.structure.n_leading
    assert isinstance(m.cdc, DevelopmentCenter)
    firm = m.agents_by_type[Enterprise][0]
    assert 0.0 <= firm.trust <= 1.0 and 0.0 <= firm.commitment <= 1.0


@pytest.mark.parametrize("kind", ["hierarchical", "star", "chain", "network"])
def test_same_seed_same_results(kind):
    s = small(**{"structure.kind": kind})
    a, b = run_one(s, 7), run_one(s, 7)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = run_one(s, 8)
    assert not a.equals(c)


def test_default_seed_comes_from_scenario():
    s = small()
    a = ClusterModel(s)
    a.run_for(3)
    b = ClusterModel(s, rng=s.run.seed)
    b.run_for(3)
    pd.testing.assert_frame_equal(a.kpis(), b.kpis())


def check_invariants(m):
    st_ = m.state
    n, e = st_.n_nodes, st_.n_edges
    for name in ("trust",):
        x = getattr(st_, name)[: 2 * e]
        assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all()
    for name in ("commitment", "partner_commitment", "mean_trust", "reputation", *ANTECEDENT_COLUMNS,
                 "acquiescence", "propensity_to_leave", "propensity_to_cooperate", "functional_conflict",
                 "decision_uncertainty"):
        x = getattr(st_, name)[:n]
        assert np.isfinite(x).all(), name
        assert (x >= -1e-12).all() and (x <= 1 + 1e-12).all(), name
    df = m.kpis()
    num = df.select_dtypes("number")
    assert np.isfinite(num.to_numpy()).all()
    # membership accounting: members_t = members_{t-1} + entries_t - exits_t
    members = df["members"].to_numpy()
    assert (members[1:] == members[:-1] + df["entries"].to_numpy()[1:] - df["exits"].to_numpy()[1:]).all()
    assert members[-1] == len(m.agents_by_type[Enterprise]) + len(m.agents_by_type.get(LeadingFirm, []))
    assert sum(m.exit_reasons.values()) == m.params.structure.n_firms + df["entries"].sum() - members[-1]
    assert df["exits"].sum() == sum(m.exit_reasons.values())


kinds = st.sampled_from(["hierarchical", "star", "chain", "network"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=kinds,
    n=st.integers(5, 80),
    digital=st.floats(0, 1),
    sharing=st.sampled_from(["equal", "proportional"]),
    fi=st.booleans(),
    reg=st.booleans(),
    con=st.booleans(),
    enforcement=st.floats(0, 1),
    entry=st.floats(0, 0.2),
    modes=st.lists(st.floats(0, 1), min_size=6, max_size=6),
    seed=st.integers(0, 2**31 - 1),
)
def test_invariants_hold_for_any_levers(kind, n, digital, sharing, fi, reg, con, enforcement, entry, modes, seed):
    over = {
        "structure.kind": kind, "structure.n_firms": n, "structure.n_leading": min(2, n - 1),
        "structure.mean_degree": min(4.0, n - 1.0), "information.digitalization": digital,
        "mechanisms.function_interest.sharing": sharing, "mechanisms.function_interest.enabled": fi,
        "mechanisms.regulation.enabled": reg, "mechanisms.contract.enabled": con,
        "mechanisms.contract.enforcement_prob": enforcement, "demography.entry_rate": entry,
        "market.shock_step": 3, "market.competitor_entry_step": 5,
    }
    for name, v in zip(["cluster_brand", "channel_sharing", "leading_traction", "exhibition", "cooperative_rnd", "alliance"], modes):
        over[f"marketing.{name}"] = v
    m = ClusterModel(Scenario().with_overrides(over), rng=seed)
    m.run_for(8)
    check_invariants(m)


def test_the_pool_spends_what_it_collects_on_marketing_and_creates_no_money():
    """Pool out equals the contributions plus the public match, every step; the members' cash loses exactly
    their contributions (the returns come through sales)."""
    for sharing in ("equal", "proportional"):
        for subsidy in (0.0, 0.5):
            s = small(**{"mechanisms.function_interest.sharing": sharing, "mechanisms.function_interest.subsidy": subsidy,
                         "marketing.cluster_brand": 0.5, "marketing.cooperative_rnd": 0.5})
            m = ClusterModel(s, rng=3)
            m.run_for(10)
            df = m.kpis()
            assert df["public_good_in"].min() > 0
            assert np.allclose(df["public_good_out"], (1.0 + subsidy) * df["public_good_in"])


def test_contract_money_is_conserved():
    """Breach gains and penalties are transfers: cash paid equals the savings minus transaction costs."""
    from sim.submodels.contract import run_contracts

    m = ClusterModel(small(**{"structure.n_firms": 200}), rng=5)
    m.run_for(3)
    st_ = m.state
    rng = np.random.default_rng(0)
    st_.cooperating[: st_.n_nodes] = rng.random(st_.n_nodes) < 0.5
    alive = st_.edge_alive()
    live_ff = alive & st_.is_ff[: st_.n_edges]
    res = run_contracts(st_, live_ff, m.market.price, m.params, rng)
    assert res.breaches > 0
    assert res.cash.sum() == pytest.approx(res.created, rel=1e-12, abs=1e-9)


def test_reports_and_contract_loop_observe_opportunism_as_one_pass_would():
    """observe_reports (the edges with an arrival, not under contract) then the contracts' loop (the pairs
    under contract): the same numbers as the rule of ODD 7.6 applied to every edge in one pass."""
    from sim.submodels.contract import run_contracts
    from sim.submodels.opportunism import observe_reports

    m = ClusterModel(small(**{"structure.n_firms": 200}), rng=7)
    m.run_for(3)
    st_ = m.state
    n, e = st_.n_nodes, st_.n_edges
    rng = np.random.default_rng(1)
    coop = rng.random(n) < 0.6
    st_.cooperating[:n] = coop
    st_.active[rng.choice(n, 10, replace=False)] = False  # some dead edges
    alive = st_.edge_alive()
    live_ff = alive & st_.is_ff[:e]
    alive_d = np.repeat(alive, 2)
    arrived = rng.random(2 * e) < 0.4  # messages, some on dead edges (a relayed one can outlive its edge)
    news = rng.random(2 * e)  # what each arrival tells (its sender's news when sent)
    memory = m.params.trust.memory
    # the rule on its own, from the state before the contracts' step (ODD 7.6)
    ua, ub = st_.ua[:e], st_.ub[:e]
    traded = live_ff & (st_.contract_left[:e] > 0)
    obs = np.empty(2 * e)
    obs[0::2] = np.where(traded, ~coop[ub], news[0::2])  # d = 2u: ua observes ub
    obs[1::2] = np.where(traded, ~coop[ua], news[1::2])
    seen = alive_d & (np.repeat(traded, 2) | arrived)
    opp0 = st_.opp[: 2 * e].copy()
    expected = opp0 + np.where(seen, memory * (obs - opp0), 0.0)
    # what the step does: the list of live arrivals (as exchange_messages makes it), reports, then contracts
    reports = np.flatnonzero(arrived & alive_d).astype(np.int32)
    observe_reports(reports, ua, ub, live_ff, st_.contract_left[:e], news, memory, st_.opp[: 2 * e])
    run_contracts(st_, live_ff, m.market.price, m.params, rng)
    assert traded.sum() > 0 and seen.sum() > traded.sum() and (arrived & ~alive_d).any()
    assert np.array_equal(st_.opp[: 2 * e], expected)


def test_messages_list_the_live_arrivals_in_order():
    """exchange_messages lists in InfoStats.reports exactly the live directed edges on which a message arrived."""
    from sim.submodels import information

    m = ClusterModel(small(**{"structure.n_firms": 200, "information.relay_delay": 3}), rng=3)
    m.run_for(4)
    st_ = m.state
    e2 = 2 * st_.n_edges
    st_.active[np.random.default_rng(2).choice(st_.n_nodes, 10, replace=False)] = False
    masks = st_.masks()
    info = information.exchange_messages(st_, masks.alive_d, masks.degree, int(m.time), m.params, m.rng, has_cdc=True)
    assert info.reports.dtype == np.int32 and np.all(np.diff(info.reports) > 0) and len(info.reports) < e2
    assert np.all(masks.alive_d[info.reports])
    # each node heard on as many of its edges as the list says: the exposure the same loop computed
    heard = np.bincount(np.where(info.reports % 2 == 0, st_.ub[info.reports // 2], st_.ua[info.reports // 2]), minlength=st_.n_nodes)
    deg = masks.degree
    np.testing.assert_array_equal(st_.exposure[: st_.n_nodes], np.where(deg > 0, heard / np.maximum(deg, 1), 0.0))
    assert len(info.reports) > 0 and (st_.exposure[: st_.n_nodes] > 0).any()


def test_entry_and_exit_keep_agents_and_rows_in_step():
    s = small(**{"demography.entry_rate": 0.1, "demography.leave_rate": 0.3, "structure.n_firms": 80})
    m = ClusterModel(s, rng=11)
    m.run_for(15)
    df = m.kpis()
    assert df["entries"].sum() > 0 and df["exits"].sum() > 0
    check_invariants(m)
    for agent in m.agents_by_type[Enterprise]:
        assert m.state.active[agent.node]


def test_firm_table_and_graph_snapshot():
    m = ClusterModel(small(), rng=1)
    m.run_for(3)
    table = m.firm_table()
    assert len(table) == m.members
    assert {"mean_trust", "commitment", "termination_costs", "acquiescence"} <= set(table.columns)
    snap = m.graph_snapshot()
    assert "cdc" in set(snap["node_kind"]) and "association" in set(snap["node_kind"])
    assert len(snap["edge_src"]) == len(snap["edge_dst"]) == len(snap["edge_trust"])


def test_model_is_picklable():
    import pickle

    m = ClusterModel(small(), rng=1)
    m.run_for(2)
    clone = pickle.loads(pickle.dumps(m))
    assert clone.kpis().equals(m.kpis())


@pytest.mark.parametrize("over", [
    {"information.message_rate": 0.0}, {"information.cdc_share": 1.0}, {"information.cdc_share": 0.0},
    {"information.digitalization": 1.0, "information.relay_loss": 1.0},
])
def test_information_levers_at_their_bounds_run(over):
    m = ClusterModel(small(**over), rng=2)
    m.run_for(4)
    check_invariants(m)
    if over.get("information.message_rate") == 0.0:
        assert m.kpis()["info_sent"].sum() == 0


def test_nan_and_infinity_are_refused():
    from sim import ScenarioError

    for value in (float("nan"), float("inf")):
        with pytest.raises(ScenarioError, match="trust.bias"):
            Scenario().with_overrides({"trust.bias": value})


@pytest.mark.parametrize("validation", [False, True])
def test_kpi_collector_collects_what_mesas_datacollector_does(validation):
    """KPICollector skips Mesa's deep copy of each value: the frame is the same as Mesa's own collector's,
    index included, and every collected value is an immutable number (so the copy protected nothing)."""
    import mesa

    from sim.metrics import KPICollector

    s = small(**{"structure.n_firms": 60}) if not validation else load_scenario(Path(__file__).resolve().parent.parent / "scenarios/validation/santos_pacheco_regular.toml", {"run.steps": 5})
    m = make_model(s, rng=4)
    assert type(m.datacollector) is KPICollector
    plain = mesa.DataCollector(model_reporters=dict(m.datacollector.model_reporters))
    for _ in range(6):
        m.step()
        plain.collect(m)
    ours, theirs = m.kpis(), plain.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(ours, theirs)
    assert all(isinstance(v, (int, float)) for col in m.datacollector.model_vars.values() for v in col)


def test_make_model_builds_the_model_a_scenario_asks_for():
    """make_model gives the cluster or the validation game; ClusterModel refuses the game and names the factory."""
    from sim import ScenarioError

    game = load_scenario(Path(__file__).resolve().parent.parent / "scenarios/validation/santos_pacheco_regular.toml")
    assert type(make_model(small(), rng=1)) is ClusterModel
    assert type(make_model(game, rng=1)) is ValidationModel
    with pytest.raises(ScenarioError, match="make_model"):
        ClusterModel(game, rng=1)
    with pytest.raises(ScenarioError, match="make_model"):
        ValidationModel(small(), rng=1)


def test_the_model_description_lists_the_step_as_the_code_runs_it():
    """docs/ODD.md section 3.1 lists the entries of sim.model.STEP, in order, with the functions they call."""
    import re

    from sim.model import STEP

    text = (Path(__file__).resolve().parent.parent / "docs" / "ODD.md").read_text()
    section = text[text.index("### 3.1 "):text.index("### 3.2 ")]
    rows = re.findall(r"^\| \d+ \| ([^|]+?) \| `([\w.]+)` \|", section, flags=re.M)
    listed = [(name, f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}") for name, f in STEP]
    assert rows == listed


def test_each_submodel_file_cites_the_model_description_subsection_that_names_it():
    """Every file of sim/submodels/ cites in its docstring the subsection of docs/ODD.md section 7 whose heading
    names the file, so the description's numbers and the code's files stay matched."""
    import ast
    import re

    root = Path(__file__).resolve().parent.parent
    headings = re.findall(r"^### (7\.\d+) (.*)$", (root / "docs" / "ODD.md").read_text(), flags=re.M)
    for path in sorted((root / "sim" / "submodels").glob("*.py")):
        if path.name == "__init__.py":
            continue
        naming = {number for number, title in headings if f"sim/submodels/{path.name}" in title}
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        cited = {n for group in re.findall(r"ODD ([\d., ]+)", doc) for n in re.findall(r"7\.\d+", group)}
        assert naming, f"no subsection of ODD section 7 names sim/submodels/{path.name}"
        assert naming <= cited, f"{path.name} cites ODD {sorted(cited)}, its subsection is {sorted(naming)}"
