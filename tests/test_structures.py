"""Structure builders produce the shapes they claim."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import Scenario, make_model
from sim.state import ENTERPRISE, LEADING
from sim.structures import build_structure
from sim.structures.hierarchical import tier_sizes


def params(**kw):
    return Scenario().with_overrides({f"structure.{k}": v for k, v in kw.items()}).structure


def degrees(s):
    return np.bincount(s.edges.ravel(), minlength=s.n_firms)


def test_star_has_one_centre_and_a_single_layer():
    s = build_structure(params(kind="star", n_firms=50), np.random.default_rng(1))
    assert len(s.edges) == 0  # firms link only to the centre
    assert s.n_associations == 1
    assert sorted(s.assoc_edges[:, 1].tolist()) == list(range(50))
    assert set(s.assoc_edges[:, 0].tolist()) == {0}


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 300), functions=st.integers(2, 20), up_links=st.integers(1, 4), peer_p=st.floats(0, 0.5),
       n_leading=st.integers(0, 5), seed=st.integers(0, 2**31 - 1))
def test_chain_is_a_line_of_function_groups(n, functions, up_links, peer_p, n_leading, seed):
    p = params(kind="chain", n_firms=n, n_functions=functions, up_links=up_links, peer_p=peer_p,
               n_leading=min(n_leading, n - 1))
    s = build_structure(p, np.random.default_rng(seed))
    stages = min(functions, n)
    size = np.bincount(s.tier.astype(np.int64), minlength=stages)
    assert len(size) == stages and size.min() >= 1 and size.max() - size.min() <= 1  # every firm in one stage
    gap = np.abs(np.diff(s.tier[s.edges].astype(np.int64), axis=1))
    assert (gap <= 1).all()  # links only inside a stage or to the next
    assert (s.edges[:, 0] < s.edges[:, 1]).all() and len(np.unique(s.edges, axis=0)) == len(s.edges)
    # every firm after the first stage reaches the stage before: the groups form one line
    before = np.zeros(n, bool)
    ends = s.tier[s.edges]
    before[s.edges[:, 0][ends[:, 0] == ends[:, 1] + 1]] = True
    before[s.edges[:, 1][ends[:, 1] == ends[:, 0] + 1]] = True
    assert before[s.tier > 0].all()
    assert (s.firm_kind == LEADING).sum() == p.n_leading
    again = build_structure(p, np.random.default_rng(seed))
    assert np.array_equal(s.edges, again.edges) and np.array_equal(s.tier, again.tier)
    assert np.array_equal(s.firm_kind, again.firm_kind) and np.array_equal(s.assoc_of, again.assoc_of)


def test_chain_degree_is_modest_and_leading_firms_carry_middle_functions():
    s = build_structure(params(kind="chain", n_firms=200, n_leading=2, peer_p=0.0), np.random.default_rng(2))
    # up_links = 2 to the stage before, from four of five stages: 2 * 2 * 4 / 5 = 3.2 links per firm
    assert 3.0 <= degrees(s).mean() <= 3.2
    assert sorted(s.tier[s.firm_kind == LEADING].tolist()) == [1, 3]


def test_chain_entrants_join_the_thinnest_stage_and_link_to_its_neighbours(monkeypatch):
    from sim.submodels import demography

    model = make_model(Scenario().with_overrides({"structure.kind": "chain", "structure.n_firms": 60,
                                                  "demography.entry_rate": 0.2, "demography.entry_cost": 0.0}), rng=3)
    st_ = model.state
    for node in np.flatnonzero(st_.firm_mask() & (st_.tier[: st_.n_nodes] == 2)).tolist():
        model.node_agent[node].leave("closed")  # the middle function is lost: entry must carry it again
    calls = []
    real = demography.entrant_links

    def spy(model, nodes, firms):
        a, b = real(model, nodes, firms)
        calls.append((nodes.copy(), firms.copy(), st_.tier[: st_.n_nodes].astype(np.int64), a, b))
        return a, b

    monkeypatch.setattr(demography, "entrant_links", spy)
    model.run_for(20)
    assert sum(len(c[0]) for c in calls) >= 5
    assert calls[0][2][calls[0][0][0]] == 2  # the first entrant rejoins the emptied stage
    for nodes, firms, tier, a, b in calls:
        running = np.bincount(tier[: len(firms)][firms], minlength=5)
        for node in nodes.tolist():
            assert running[tier[node]] == running.min()  # each joins a stage with the fewest active firms
            running[tier[node]] += 1
        assert set(a.tolist()) == set(nodes.tolist()) and firms[b].all()
        assert (np.abs(tier[a] - tier[b]) == 1).all()  # only to the stages before and after its own
        for node in nodes.tolist():  # to both neighbouring stages the chain has
            assert set(tier[b[a == node]].tolist()) == {s for s in (tier[node] - 1, tier[node] + 1) if 0 <= s < 5}


def test_hierarchical_has_tiers_linked_upwards():
    p = params(kind="hierarchical", n_firms=100, n_leading=3, service_share=0.3, peer_p=0.0)
    s = build_structure(p, np.random.default_rng(3))
    top, mid, bot = tier_sizes(100, 3, 0.3)
    assert (np.bincount(s.tier, minlength=3) == [top, mid, bot]).all()
    assert (s.firm_kind[s.tier == 0] == LEADING).all() and (s.firm_kind[s.tier > 0] == ENTERPRISE).all()
    t = s.tier[s.edges]
    assert (np.abs(t[:, 0] - t[:, 1]) == 1).all()  # without peer links, every link joins adjacent tiers
    assert (degrees(s)[s.tier == 2] >= 1).all()


@pytest.mark.parametrize("generator", ["barabasi_albert", "erdos_renyi", "watts_strogatz", "random_regular"])
@pytest.mark.parametrize("k", [4, 8])
def test_network_mean_degree(generator, k):
    s = build_structure(params(kind="network", n_firms=2000, generator=generator, mean_degree=k), np.random.default_rng(4))
    mean = degrees(s).mean()
    assert abs(mean - k) / k < 0.1, (generator, k, mean)
    assert (s.edges[:, 0] < s.edges[:, 1]).all() and len(np.unique(s.edges, axis=0)) == len(s.edges)


def test_network_leading_firms_are_hubs():
    s = build_structure(params(kind="network", n_firms=500, n_leading=3), np.random.default_rng(5))
    d = degrees(s)
    assert d[s.firm_kind == LEADING].min() >= np.sort(d)[-3]


def test_builders_are_seeded():
    p = params(kind="network", n_firms=300)
    a = build_structure(p, np.random.default_rng(9))
    b = build_structure(p, np.random.default_rng(9))
    assert np.array_equal(a.edges, b.edges) and np.array_equal(a.firm_kind, b.firm_kind)


def test_edge_list_reads_a_real_cluster(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target\nA,B\nB,C\nC,D\nAssoc,A\nAssoc,C\n")
    (tmp_path / "types.csv").write_text("id,kind\nA,leading_firm\nAssoc,association\n")
    p = params(kind="edge_list", edge_list_path=str(tmp_path / "edges.csv"), edge_list_types_path=str(tmp_path / "types.csv"))
    s = build_structure(p, np.random.default_rng(0))
    assert s.n_firms == 4 and s.n_associations == 1
    assert len(s.edges) == 3 and len(s.assoc_edges) == 2
    assert s.firm_kind[s.labels.index("A")] == LEADING
