"""Structure builders produce the shapes they claim."""

import numpy as np
import pytest

from sim import Scenario
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


def test_chain_is_a_path():
    s = build_structure(params(kind="chain", n_firms=40), np.random.default_rng(2))
    d = degrees(s)
    assert len(s.edges) == 39
    assert (d == 1).sum() == 2 and (d == 2).sum() == 38
    # connected: walking the chain order visits every firm
    order = s.chain_order
    pairs = {tuple(e) for e in s.edges.tolist()}
    assert all(tuple(sorted((int(a), int(b)))) in pairs for a, b in zip(order[:-1], order[1:]))


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
