"""The kernels' own exp, sigmoid and tanh (sim/kernels.py) against libm, and the loops that must stay vectorized."""

from __future__ import annotations

import math
import re

import numba
import numpy as np
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
    """The point of the kernels' exp: the loops that call it compile to 256-bit vector code.

    Not a timing: it reads the compiled assembly for the vector form of the
    exponent step of ``_exp`` (``vpsllq $52`` on a ymm register). If a change
    makes LLVM fall back to scalar code (a division check, a ``d >> 1``
    gather, a branch), the step at N = 10k gets about 1 ms slower, and this
    test names the kernel.
    """
    model = ClusterModel(Scenario().with_overrides({"structure.n_firms": 40, "run.steps": 2}, source="test"), rng=1)
    model.run_for(2)  # compiles the kernels for the model's argument types
    for name in ("relationship_pass", "commitment_pass", "outcome_pass", "decision_pass", "sigmoid_array"):
        kernel = getattr(kernels, name)
        fresh = numba.njit(**{**kernels._JIT, "cache": False})(kernel.py_func)  # cached code cannot be inspected
        fresh.compile(kernel.signatures[0])
        asm = fresh.inspect_asm(fresh.signatures[0])
        assert re.search(r"vpsllq\s+\$52,\s*%ymm", asm), f"{name}: the loop with the exp is not vectorized"


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
