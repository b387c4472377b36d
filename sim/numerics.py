"""Shared compiled numerics of the submodels' loops: options, exp, sigmoid, tanh, uniform splitting.

Every compiled loop of ``sim/submodels/`` takes its options from here
(:data:`JIT`, or :data:`CURVES_JIT` for the loops that evaluate logistic
curves on every edge or actor) and calls the inline helpers below.

Random numbers: the loops never draw. The caller draws one uniform array
with the model's ``numpy.random.Generator`` and passes it in; a loop that
needs several Bernoulli trials in sequence on one item reuses that uniform
by *splitting* (:func:`split`): after testing ``x < q``, ``x / q`` (on
success) or ``(x - q) / (1 - q)`` (on failure) is again uniform on [0, 1)
and independent of the outcome. Same scenario + seed => bit-identical results.

Vectorization: the loops that evaluate the logistic curves (trust,
commitment, outcomes, the decision) are written so that LLVM turns them into
SIMD code for the host CPU: no division checks (``error_model="numpy"``), no
``d >> 1`` gathers (loops over the pairs 2u, 2u + 1 instead), no branches, and
an ``exp`` of our own (:func:`exp`) in place of the C library's scalar call,
which LLVM cannot vectorize. ``tests/test_kernels.py`` checks both its
accuracy and that those loops stay vectorized.

Loops write into arrays the caller allocated and return scalars only: boxing
an array allocated in compiled code runs Python on the way out, where a
Ctrl-C surfaced as ``SystemError`` instead of ``KeyboardInterrupt``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

__all__ = ["JIT", "CURVES_JIT", "split", "exp", "sigmoid", "tanh", "exp_array", "sigmoid_array", "tanh_array",
           "sigmoid_np"]

#: Options of every compiled loop: compiled once and cached on disk; a float division by zero gives inf/nan
#: as in numpy instead of raising (the loops guard their divisions), which drops a check per division and
#: lets LLVM vectorize the loops that have one.
JIT = {"cache": True, "error_model": "numpy"}
#: The loops that evaluate the logistic curves on every edge or actor also let LLVM fuse a multiply and an
#: add into one FMA instruction, rounded once instead of twice. Results move in the last bits only and stay
#: the same run to run; a CPU without FMA rounds twice, so its last bits can differ.
CURVES_JIT = {**JIT, "fastmath": {"contract"}}


@numba.njit(inline="always", **JIT)
def split(x: float, q: float, hit: bool) -> float:
    """Rescale uniform ``x`` after the trial ``x < q`` so it is uniform again."""
    if hit:
        return x / q
    return (x - q) / (1.0 - q)


# exp(x) = 2^k exp(r) with k = round(x / ln 2) and r = x - k ln 2 (ln 2 split in two for exactness,
# Cody-Waite), exp(r) on |r| <= ln(2)/2 by its Taylor polynomial of degree 12 (truncation below 2e-16
# relative), and 2^k written into the exponent bits: plain arithmetic that LLVM vectorizes.

@intrinsic
def _bits_as_float(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (an LLVM bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@intrinsic
def _float_bits(typingctx, x):
    """Reinterpret the 64 bits of a float64 as an int64 (an LLVM bitcast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


_LN2_HI = 6.93147180369123816490e-01  # ln 2 = _LN2_HI + _LN2_LO; _LN2_HI has zeros in its low bits
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_ROUNDER = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer, kept in the low mantissa bits
_ROUNDER_BITS = 0x4338000000000000  # the bits of _ROUNDER


@numba.njit(inline="always", **JIT)
def exp(x: float) -> float:
    """exp(x), within 3 ulp of libm, in arithmetic LLVM vectorizes (arguments clamped to [-708, 709])."""
    x = 709.0 if x > 709.0 else x
    x = -708.0 if x < -708.0 else x
    t = x * _INV_LN2 + _ROUNDER
    k = t - _ROUNDER  # round(x / ln 2), exactly
    r = (x - k * _LN2_HI) - k * _LN2_LO
    # sum of r^j / j!, j = 0 .. 12, by Estrin's scheme (pairs, then pairs of pairs): a chain of dependent
    # multiply-adds 4 deep instead of Horner's 12
    r2 = r * r
    r4 = r2 * r2
    p01 = 1.0 + r
    p23 = 0.5 + r * (1.0 / 6.0)
    p45 = 1.0 / 24.0 + r * (1.0 / 120.0)
    p67 = 1.0 / 720.0 + r * (1.0 / 5040.0)
    p89 = 1.0 / 40320.0 + r * (1.0 / 362880.0)
    p1011 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0)
    p0_3 = p01 + r2 * p23
    p4_7 = p45 + r2 * p67
    p8_11 = p89 + r2 * p1011
    p = (p0_3 + r4 * p4_7) + (r4 * r4) * (p8_11 + r4 * (1.0 / 479001600.0))
    two_k = _bits_as_float((_float_bits(t) - _ROUNDER_BITS + 1023) << 52)  # 2^k, k in [-1021, 1023]
    return p * two_k


@numba.njit(inline="always", **JIT)
def sigmoid(x: float) -> float:
    """The logistic curve 1 / (1 + exp(-x)) of every KMV target and outcome."""
    return 1.0 / (1.0 + exp(-x))


@numba.njit(inline="always", **JIT)
def tanh(x: float) -> float:
    """tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2 |x|): within 3e-16 of libm's."""
    e = exp(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return t if x >= 0.0 else -t


@numba.njit(**CURVES_JIT)
def exp_array(x, out):
    """``out[i] = exp(x[i])``: the loops' exp over an array (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@numba.njit(**CURVES_JIT)
def sigmoid_array(x, out):
    """``out[i] = sigmoid(x[i])`` (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = sigmoid(x[i])


@numba.njit(**CURVES_JIT)
def tanh_array(x, out):
    """``out[i] = tanh(x[i])`` (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = tanh(x[i])


def sigmoid_np(x):
    """The logistic curve in numpy, for the few curves evaluated outside the compiled loops."""
    return 1.0 / (1.0 + np.exp(-x))
