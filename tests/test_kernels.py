"""The compiled loops' own exp, sigmoid and tanh (sim/numerics.py) against libm, and the one imitation rule
(sim/submodels/imitation.py) against Santos and Pacheco's update written in numpy. That the loops stay
vectorized and return no array they allocated is checked with the benchmarks (``python -m benchmarks.checks``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import ClusterModel, Scenario, numerics


FINITE = st.floats(min_value=-708.0, max_value=709.0, allow_nan=False, allow_infinity=False)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


def _apply(f, x) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    f(x, out)
    return out


def test_exp_within_three_ulp_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708.0, 709.0, 200_000), rng.normal(0.0, 3.0, 200_000), np.linspace(-40, 40, 80_001)])
    assert _ulps(_apply(numerics.exp_array, x), np.exp(x)).max() <= 3.0


@settings(max_examples=300, deadline=None)
@given(FINITE)
def test_exp_matches_libm_at_any_argument(x):
    got = _apply(numerics.exp_array, [x])[0]
    want = math.exp(x)
    assert abs(got - want) <= 3.0 * np.spacing(want)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_sigmoid_and_tanh_stay_in_range_and_match_libm(x):
    s = _apply(numerics.sigmoid_array, [x])[0]
    t = _apply(numerics.tanh_array, [x])[0]
    assert 0.0 <= s <= 1.0 and -1.0 <= t <= 1.0
    want = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
    assert abs(s - want) <= 4.0 * np.spacing(max(want, 1e-300)) or abs(s - want) < 1e-300
    assert abs(t - math.tanh(x)) <= 3e-16


def test_sigmoid_symmetry_and_extremes():
    x = np.linspace(-30.0, 30.0, 6001)
    s, s_neg = _apply(numerics.sigmoid_array, x), _apply(numerics.sigmoid_array, -x)
    assert np.allclose(s + s_neg, 1.0, rtol=0, atol=4e-16)
    assert _apply(numerics.sigmoid_array, [0.0])[0] == 0.5
    assert np.array_equal(_apply(numerics.sigmoid_array, [np.inf, -np.inf]) > 0.5, [True, False])
    assert np.isnan(_apply(numerics.exp_array, [np.nan])[0])


def test_inbox_counts_stay_within_their_small_dtype():
    """The inbox is uint8: a slot holds at most one direct and one relayed message before it is emptied."""
    sc = Scenario().with_overrides({"structure.n_firms": 60, "information.message_rate": 1.0, "internal_marketing.place": 1.0,
                                    "information.relay_loss": 0.0, "information.direct_loss": 0.0, "information.digitalization": 0.0},
                                   source="test")
    model = ClusterModel(sc, rng=2)
    peak = 0
    for _ in range(12):
        model.step()
        peak = max(peak, int(model.state.inbox.max()))
    assert 1 <= peak <= 2


def _random_neighbours(indptr, nbr, nodes, rng):
    """Santos and Pacheco's partner draw in numpy: one uniformly random neighbour per node (-1 for none)."""
    start = indptr[nodes]
    deg = indptr[nodes + 1] - start
    pick = start + np.floor(rng.random(len(nodes)) * deg).astype(np.int64)
    return np.where(deg > 0, nbr[np.minimum(pick, len(nbr) - 1)] if len(nbr) else -1, -1)


def _imitation_probability(p_self, p_other, k_self, k_other, d):
    """(P_y - P_x) / (D max(k_x, k_y)) when P_y > P_x, else 0."""
    return np.clip((p_other - p_self) / (d * np.maximum(np.maximum(k_self, k_other), 1)), 0.0, 1.0)


def _graph(n, density, rng):
    a, b = np.triu_indices(n, 1)
    keep = rng.random(len(a)) < density
    src = np.concatenate([a[keep], b[keep]])
    dst = np.concatenate([b[keep], a[keep]])
    order = np.argsort(src, kind="stable")
    return np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]), dst[order]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_cluster_imitation_follows_the_rule_written_in_numpy(n, density, imitation, seed):
    """The cluster's imitation (k = 1, D twice the payoffs' sd, partial moves of the disposition) moves the same
    firms by the same amounts as the rule written in numpy, from the same draws: bit for bit."""
    from types import SimpleNamespace

    from sim.submodels.imitation import imitate

    rng = np.random.default_rng(seed)
    indptr, nbr = _graph(n, density, rng)
    active = rng.random(n) < 0.8
    payoff = rng.normal(0.0, 1.0, n)
    disposition = rng.random(n)
    firms_idx = np.flatnonzero(active)
    if len(firms_idx) == 0:
        return
    p = SimpleNamespace(learning=SimpleNamespace(imitation=imitation, step_size=0.3))
    state_ = SimpleNamespace(ff_csr=lambda: (indptr, nbr), active=active, payoff_ema=payoff, disposition=disposition.copy())
    model = SimpleNamespace(state=state_, params=p, rng=np.random.default_rng(seed + 1))
    imitate(model, SimpleNamespace(masks=SimpleNamespace(firms_idx=firms_idx)))
    want = disposition.copy()
    draw = np.random.default_rng(seed + 1)
    who = firms_idx[draw.random(len(firms_idx)) < imitation]
    if len(who):
        other = _random_neighbours(indptr, nbr, who, draw)
        ok = other >= 0
        ok[ok] &= active[other[ok]]
        who, other = who[ok], other[ok]
        spread = max(1e-9, 2.0 * float(np.std(payoff[firms_idx])))
        move = draw.random(len(who)) < _imitation_probability(payoff[who], payoff[other], 1, 1, spread)
        w, o = who[move], other[move]
        want[w] += 0.3 * (want[o] - want[w])
    assert np.array_equal(state_.disposition, want)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), st.floats(0.0, 1.0), st.floats(1.0, 3.0), st.integers(0, 2**32 - 1))
def test_validation_game_follows_santos_and_pacheco(n, density, b, seed):
    """The game's synchronous update, through the cluster's imitation rule, equals Santos and Pacheco's
    update written in numpy (every node draws a neighbour, then adopts its strategy with probability
    (P_y - P_x) / (b max(k_x, k_y))), step after step from the same draws."""
    from sim.validation import PDGame, pd_payoffs

    rng = np.random.default_rng(seed)
    a, c = np.triu_indices(n, 1)
    keep = rng.random(len(a)) < density
    edges = np.stack([a[keep], c[keep]], axis=1)
    game = PDGame(n, edges, b, np.random.default_rng(seed + 1))
    coop = game.coop.copy()
    draw = np.random.default_rng(seed + 1)
    draw.permutation(n)  # the game's initial draw
    for _ in range(5):
        game.step()
        payoff = pd_payoffs(coop, game.src, game.dst, b, n)
        y = _random_neighbours(game.indptr, game.nbr, np.arange(n), draw)
        has = y >= 0
        prob = np.zeros(n)
        prob[has] = _imitation_probability(payoff[has], payoff[y[has]], game.degree[has], game.degree[y[has]], b)
        adopt = draw.random(n) < prob
        new = coop.copy()
        new[adopt] = coop[y[adopt]]
        coop = new
        assert np.array_equal(game.coop, coop) and np.array_equal(game.payoff, payoff)
