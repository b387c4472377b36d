"""The benchmark's own tools work on a small model (the figures themselves are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.phases import PHASES, floor, phase_times
from benchmarks.reference import core_scenario
from sim import ClusterModel


def test_phase_times_cover_every_phase_and_restore_the_functions():
    before = [getattr(owner, name) for _, owner, name in PHASES]
    rows = phase_times(core_scenario(**{"structure.n_firms": 150}), warmup=1, steps=3)
    assert [r["phase"] for r in rows[: len(PHASES)]] == [label for label, _, _ in PHASES]
    assert all(r["median_s"] > 0 for r in rows[: len(PHASES)]), rows  # every phase ran in every step
    assert rows[-1]["phase"] == "whole step"
    assert sum(r["median_s"] for r in rows[:-1]) == pytest.approx(rows[-1]["median_s"], rel=0.5)
    assert [getattr(owner, name) for _, owner, name in PHASES] == before  # wrappers removed


def test_floor_counts_follow_the_graph():
    model = ClusterModel(core_scenario(**{"structure.n_firms": 200}), rng=1)
    fl = floor(model, repeats=1)
    n, e = model.state.n_nodes, model.state.n_edges
    assert (fl["n_exp"], fl["n_tanh"], fl["n_uniform"]) == (2 * e + 6 * n, n, 3 * e + 2 * n)
    assert fl["total_s"] == pytest.approx(fl["exp_s"] + fl["tanh_s"] + fl["uniform_s"])
