"""The kernels' own exp, sigmoid and tanh (sim/kernels.py) against libm, the loops that must stay vectorized,
and the imitation loops against the rule of sim/game.py."""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from llvmlite import binding as llvm
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import ClusterModel, Scenario, kernels

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
    assert _ulps(_apply(kernels.exp_array, x), np.exp(x)).max() <= 3.0


@settings(max_examples=300, deadline=None)
@given(FINITE)
def test_exp_matches_libm_at_any_argument(x):
    got = _apply(kernels.exp_array, [x])[0]
    want = math.exp(x)
    assert abs(got - want) <= 3.0 * np.spacing(want)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_sigmoid_and_tanh_stay_in_range_and_match_libm(x):
    s = _apply(kernels.sigmoid_array, [x])[0]
    t = _apply(kernels.tanh_array, [x])[0]
    assert 0.0 <= s <= 1.0 and -1.0 <= t <= 1.0
    want = 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0
    assert abs(s - want) <= 4.0 * np.spacing(max(want, 1e-300)) or abs(s - want) < 1e-300
    assert abs(t - math.tanh(x)) <= 3e-16


def test_sigmoid_symmetry_and_extremes():
    x = np.linspace(-30.0, 30.0, 6001)
    s, s_neg = _apply(kernels.sigmoid_array, x), _apply(kernels.sigmoid_array, -x)
    assert np.allclose(s + s_neg, 1.0, rtol=0, atol=4e-16)
    assert _apply(kernels.sigmoid_array, [0.0])[0] == 0.5
    assert np.array_equal(_apply(kernels.sigmoid_array, [np.inf, -np.inf]) > 0.5, [True, False])
    assert np.isnan(_apply(kernels.exp_array, [np.nan])[0])


def test_trust_and_curve_loops_are_vectorized():
    """The point of the kernels' exp: the loops that call it compile to 256- or 512-bit vector code.

    Not a timing: it reads the compiled assembly for the vector form of the
    exponent step of ``_exp`` (``vpsllq $52`` on a ymm register with AVX2, a
    zmm register where LLVM picks AVX-512 for the host, as on a Zen 5 EPYC).
    If a change makes LLVM fall back to scalar code (a division check, a
    ``d >> 1`` gather, a branch), the step at N = 10k gets about 1 ms slower,
    and this test names the kernel. Numba compiles for the host CPU, so on a
    CPU without AVX2 there is no such vector form to look for.
    """
    if not llvm.get_host_cpu_features().get("avx2", False):
        pytest.skip("the host CPU has no AVX2: numba compiles the kernels without 256-bit vectors here")
    model = ClusterModel(Scenario().with_overrides({"structure.n_firms": 40, "run.steps": 2}, source="test"), rng=1)
    model.run_for(2)  # compiles the kernels for the model's argument types
    _apply(kernels.sigmoid_array, [0.0])  # and the array helper, which the model does not call
    for name in ("relationship_pass", "commitment_pass", "outcome_pass", "decision_pass", "sigmoid_array"):
        kernel = getattr(kernels, name)
        options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}  # its own flags (fastmath)
        fresh = numba.njit(**options, cache=False)(kernel.py_func)  # cached code cannot be inspected
        fresh.compile(kernel.signatures[0])
        asm = fresh.inspect_asm(fresh.signatures[0])
        assert re.search(r"vpsllq\s+\$52,\s*%[yz]mm", asm), f"{name}: the loop with the exp is not vectorized"


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


def test_no_kernel_returns_an_array_it_allocated():
    """Kernels write into arrays the caller allocated and return scalars only.

    Boxing an array allocated in compiled code runs Python on the way out; a
    Ctrl-C landing there turned into ``SystemError: ... returned a result with
    an exception set`` (an interrupted sweep exited 1 instead of 130).
    """
    for contracts in (True, False):
        sc = Scenario().with_overrides({"structure.n_firms": 60, "mechanisms.contract.enabled": contracts,
                                        "demography.leave_rate": 0.3}, source="test")
        ClusterModel(sc, rng=3).run_for(6)
    checked = 0
    for name in kernels.__all__:
        for sig in getattr(kernels, name).nopython_signatures:
            ret = sig.return_type
            parts = ret.types if isinstance(ret, numba.types.BaseTuple) else (ret,)
            assert not any(isinstance(t, numba.types.Array) for t in parts), f"{name} returns an array: {ret}"
            checked += 1
    assert checked >= 20


def _imitate_with_game_functions(indptr, nbr, active, payoff, disposition, firms_idx, imitation, step_size, rng):
    """The imitation rule written with ``game.random_neighbours`` and ``game.imitation_probability``
    (what the validation game uses), drawing in the same order as ``behaviour.imitate``."""
    from sim.game import imitation_probability, random_neighbours

    who = firms_idx[rng.random(len(firms_idx)) < imitation]
    if len(who) == 0:
        return
    other = random_neighbours(indptr, nbr, who, rng)
    ok = other >= 0
    ok[ok] &= active[other[ok]]
    who, other = who[ok], other[ok]
    spread = max(1e-9, float(np.ptp(payoff[firms_idx])))
    move = rng.random(len(who)) < imitation_probability(payoff[who], payoff[other], 1, 1, spread)
    w, o = who[move], other[move]
    disposition[w] += step_size * (disposition[o] - disposition[w])


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_imitation_kernels_follow_the_game_functions(n, density, imitation, seed):
    """behaviour.imitate (kernels.imitation_partners, imitation_moves) moves the same firms by the same
    amounts as the rule written with game.py's functions, from the same draws: bit for bit."""
    from types import SimpleNamespace

    from sim import behaviour

    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n, 1)
    keep = rng.random(len(a)) < density
    src = np.concatenate([a[keep], b[keep]])
    dst = np.concatenate([b[keep], a[keep]])
    order = np.argsort(src, kind="stable")
    nbr = dst[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))])
    active = rng.random(n) < 0.8
    payoff = rng.normal(0.0, 1.0, n)
    disposition = rng.random(n)
    firms_idx = np.flatnonzero(active)
    if len(firms_idx) == 0:
        return
    p = SimpleNamespace(learning=SimpleNamespace(imitation=imitation, step_size=0.3))
    state = SimpleNamespace(ff_csr=lambda: (indptr, nbr), active=active, payoff=payoff, disposition=disposition.copy())
    behaviour.imitate(state, firms_idx, p, np.random.default_rng(seed + 1))
    want = disposition.copy()
    _imitate_with_game_functions(indptr, nbr, active, payoff, want, firms_idx, imitation, 0.3, np.random.default_rng(seed + 1))
    assert np.array_equal(state.disposition, want)
