"""Compiled loops (Numba) behind the step's hot blocks.

Each kernel fuses what would be several numpy passes over the edges or the
actors into one loop. The equations stay documented where they belong
(``trust.py``, ``behaviour.py``, ``information.py``, ``mechanisms/``,
``market.py``, ``model.py``, docs/ODD.md); the kernels only compute them,
and each docstring names its equation. Where a loop keeps a pass of its own
(scatters, the vectorized curves), that measured faster than merging it: one
loop doing messages, trust and the per-actor sums took 1.4x the time of the
separate kernels. What paid instead was doing less: the opportunism
observed is updated where the work is already known, inside the contracts'
branch for the pairs under contract and over the list of arrivals that the
messages' loop makes for the reports (``observe_reports``), not by a select
on every edge: about 0.75 instead of 0.95 ms per step for contracts and
opportunism at N = 10k, timed in the step.
``benchmarks/phases.py`` measures each phase; compare versions with
``python -m benchmarks.versus REV`` (same run, interleaved), because the
shared machine moves absolute timings by 25 %. Time a kernel inside the
step, not by replaying one step's inputs: replayed inputs let the branch
predictor learn the random outcomes, and a branchy loop that looked 20 %
faster that way was 30 % slower in the step.

Conventions (``sim/state.py``): undirected edge ``u`` has ends ``ua[u]``,
``ub[u]``; directed edge ``d = 2u`` observes ``ub`` from ``ua``, ``d = 2u + 1``
the reverse; ``u = d >> 1``. Arrays are passed already sliced to the live
length (``n_nodes``, ``n_edges`` or ``2 * n_edges``).

Random numbers: the kernels never draw. The caller draws one uniform array
with the model's ``numpy.random.Generator`` and passes it in; a kernel that
needs several Bernoulli trials in sequence on one edge reuses that uniform
by *splitting*: after testing ``x < q``, ``x / q`` (on success) or
``(x - q) / (1 - q)`` (on failure) is again uniform on [0, 1) and
independent of the outcome. Same scenario + seed => bit-identical results.

Vectorization: the loops that evaluate the logistic curves (the trust
update, commitment, outcomes, the decision) are written so that LLVM turns
them into SIMD code for the host CPU (4-wide AVX2, or 8-wide AVX-512 where
LLVM picks it): no division checks (``error_model="numpy"``), no
``d >> 1`` gathers (loops over the pairs 2u, 2u + 1 instead), no branches, and
an ``exp`` of our own (``_exp`` below) in place of the C library's scalar
call. ``tests/test_kernels.py`` checks both the accuracy of ``_exp`` and that
these loops stay vectorized.

All kernels are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

__all__ = [
    "exchange_messages",
    "relationship_pass",
    "actor_antecedents",
    "commitment_pass",
    "outcome_pass",
    "decision_pass",
    "pool_pass",
    "revenue_pass",
    "profit_pass",
    "regulation_pass",
    "contract_pass",
    "observe_reports",
    "partner_reports",
    "kpi_sums",
    "live_trust_sum",
    "gini_of_sorted",
    "csr_by_source",
    "culture_and_associations",
    "live_ff_degree",
    "pull_values",
    "live_edge_trust",
    "edge_masks",
    "exit_candidates",
    "exp_array",
    "sigmoid_array",
    "tanh_array",
]

#: Options of every kernel: compiled once and cached on disk; a float division by zero gives inf/nan as in
#: numpy instead of raising (the kernels guard their divisions), which drops a check per division and lets
#: LLVM vectorize the loops that have one.
_JIT = {"cache": True, "error_model": "numpy"}
#: The kernels that evaluate the logistic curves on every edge or actor (and the array helpers that test
#: their ``exp``) also let LLVM fuse a multiply and an add into one FMA instruction, rounded once instead
#: of twice: the step 1.03x faster (interleaved). Results move in the last bits only (``_exp`` stays within
#: 3 ulp of libm) and stay the same run to run; a CPU without FMA rounds twice, so its last bits can differ.
_CURVES_JIT = {**_JIT, "fastmath": {"contract"}}

_ASSOCIATION = 2  # sim.structures.ASSOCIATION (checked in sim/state.py)
_LEADING = 1


@numba.njit(inline="always", **_JIT)
def _split(x: float, q: float, hit: bool) -> float:
    """Rescale uniform ``x`` after the trial ``x < q`` so it is uniform again."""
    if hit:
        return x / q
    return (x - q) / (1.0 - q)


# ---------------------------------------------------------------- exp, sigmoid, tanh
# libm's exp is a scalar call that LLVM cannot vectorize (numba's SVML path needs a patched llvmlite,
# and numpy's float64 exp is not SIMD on AVX2), and the step calls it about 140k times at N = 10k.
# ``_exp`` computes the same function in plain arithmetic that LLVM vectorizes: exp(x) = 2^k exp(r)
# with k = round(x / ln 2) and r = x - k ln 2 (ln 2 split in two for exactness, Cody-Waite), exp(r) on
# |r| <= ln(2)/2 by its Taylor polynomial of degree 12 (truncation below 2e-16 relative; Estrin's scheme), and 2^k
# written into the exponent bits. Within 3 ulp of libm over the whole range (tests/test_kernels.py).

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


@numba.njit(inline="always", **_JIT)
def _exp(x: float) -> float:
    """exp(x), within 3 ulp of libm, in arithmetic LLVM vectorizes (arguments clamped to [-708, 709])."""
    x = 709.0 if x > 709.0 else x
    x = -708.0 if x < -708.0 else x
    t = x * _INV_LN2 + _ROUNDER
    k = t - _ROUNDER  # round(x / ln 2), exactly
    r = (x - k * _LN2_HI) - k * _LN2_LO
    # sum of r^j / j!, j = 0 .. 12, by Estrin's scheme: pairs, then pairs of pairs. Its chain of
    # dependent multiply-adds is 4 deep where Horner's is 12: 1.4x faster over an array, the step 1.05x
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


@numba.njit(inline="always", **_JIT)
def _sigmoid(x: float) -> float:
    """The logistic curve 1 / (1 + exp(-x)) of every KMV target and outcome."""
    return 1.0 / (1.0 + _exp(-x))


@numba.njit(inline="always", **_JIT)
def _tanh(x: float) -> float:
    """tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2 |x|): within 3e-16 of libm's."""
    e = _exp(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return t if x >= 0.0 else -t


@numba.njit(**_CURVES_JIT)
def exp_array(x, out):
    """``out[i] = _exp(x[i])``: the kernels' exp over an array (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = _exp(x[i])


@numba.njit(**_CURVES_JIT)
def sigmoid_array(x, out):
    """``out[i] = _sigmoid(x[i])`` (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = _sigmoid(x[i])


@numba.njit(**_CURVES_JIT)
def tanh_array(x, out):
    """``out[i] = _tanh(x[i])`` (tests and benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


@numba.njit(**_JIT)
def exchange_messages(r, alive_d, ua, ub, inbox_now, inbox_later, rate, cdc_share, relay_loss, direct_loss, memory,
                      comm, arrived, degree, exposure, reports):
    """Information (002, ``information.py``): send, route, lose, delay, deliver; then COMM_d.

    Per live directed edge, with one uniform ``r[d]`` split into three trials:
    sent with ``rate``; via the CDC with ``cdc_share`` (else direct); lost with
    ``relay_loss`` (relay) or ``direct_loss`` (direct). Delivered messages go
    to the inbox row ``inbox_now`` (direct) or ``inbox_later`` (relay; the same
    row when there is no delay). Arrivals empty ``inbox_now``; ``COMM_d <- COMM_d + memory (arrived_d - COMM_d)`` on live
    edges; ``exposure[j]`` is the share of node j's live edges (``degree[j]``)
    on which a message about j arrived (ODD "information"; 0 without edges).
    The live directed edges on which a message arrived go, in order, to the
    front of ``reports`` (int32, at least ``len(alive_d)`` long): the edges
    whose observer learns about its partner (``observe_reports``).

    Returns ``(sent, lost, delivered, relayed, number of reports)``.
    """
    sent = 0
    delivered = 0
    relayed = 0
    # safe reciprocals: at rate 0 nothing is sent, at cdc_share 0 or 1 one route is never taken,
    # so the rescaled number is not used there and 0 avoids a division by zero
    inv_rate = 1.0 / rate if rate > 0.0 else 0.0
    inv_cdc = 1.0 / cdc_share if cdc_share > 0.0 else 0.0
    inv_direct = 1.0 / (1.0 - cdc_share) if cdc_share < 1.0 else 0.0
    # branch-free on the random outcomes (bitwise & and selects): mispredicted branches cost more than the work
    for d in range(alive_d.shape[0]):
        live = alive_d[d]
        x = r[d]
        send = live & (x < rate)
        x = x * inv_rate
        via = x < cdc_share
        x = (x * inv_cdc) if via else ((x - cdc_share) * inv_direct)  # split again
        p_loss = relay_loss if via else direct_loss
        ok = send & (x >= p_loss)
        sent += send
        delivered += 1 if ok else 0  # (an int select: adding bools to all three counters is 3x slower)
        relayed += 1 if (ok and via) else 0
        inbox_later[d] += ok & via
        inbox_now[d] += ok & (not via)
        got = inbox_now[d] > 0
        inbox_now[d] = 0
        arrived[d] = got
        c = comm[d]
        comm[d] = c + memory * ((1.0 if got else 0.0) - c) if live else c
    # the per-node counts in a loop of their own: scattered stores in the loop above stall it.
    # Directed edge 2u is about ub[u] (its dst), 2u + 1 about ua[u]; a relayed message can still
    # arrive on an edge that died meanwhile, hence the mask.
    # The same loop lists those edges in ``reports`` (a branch-free compaction).
    heard = np.zeros(exposure.shape[0], dtype=np.int64)
    n_reports = 0
    for u in range(ua.shape[0]):
        got_b = arrived[2 * u] & alive_d[2 * u]
        got_a = arrived[2 * u + 1] & alive_d[2 * u + 1]
        heard[ub[u]] += got_b
        heard[ua[u]] += got_a
        reports[n_reports] = 2 * u
        n_reports += 1 if got_b else 0
        reports[n_reports] = 2 * u + 1
        n_reports += 1 if got_a else 0
    for j in range(exposure.shape[0]):
        exposure[j] = heard[j] / degree[j] if degree[j] > 0 else 0.0
    return sent, sent - delivered, delivered, relayed, n_reports


@numba.njit(**_CURVES_JIT)
def relationship_pass(alive_d, ua, ub, values_t, live_ff, left, comm, opp, trust, bias, w_sv, w_comm, w_opp, speed,
                      sums, e_sv, contracts, acc):
    """Morgan-Hunt per relationship (``trust.py``): shared values, contracts, trust, per-actor sums.

    Per undirected edge u (ends a, b), with ``values_t`` the (V, N) transpose of the value profiles:

    * ``SV_u = clip(1 - sqrt(mean_k (v_ak - v_bk)^2), 0, 1)`` into ``e_sv[u]``;
    * a live contract on a live firm-firm link (``live_ff[u]``, ``left[u] > 0``)
      adds 1 to ``contracts[a]`` and ``contracts[b]`` (the k_i of the termination costs);
    * on each live direction d in (2u, 2u + 1):
      ``target = sigma(bias + w_sv SV_u + w_comm COMM_d - w_opp OPP_d)``,
      ``trust_d <- clip(trust_d + speed (target - trust_d), 0, 1)``.

    Then, when ``sums``: per live directed edge, add SV, COMM, OPP and the new
    trust to the observer's row of ``acc`` (N, 4) (columns: SV, COMM, OPP,
    trust; divided by the live degree they are the per-actor means of
    ``trust.update_relationships``; the trust update does not change SV, COMM, OPP).
    """
    dim = values_t.shape[0]
    m = ua.shape[0]
    # SV: dimension by dimension over the transposed values (V, N): each pass gathers from one
    # contiguous row, and the inner loop over edges compiles better than a short loop over k
    for u in range(m):
        e_sv[u] = 0.0
    for k in range(dim):
        row = values_t[k]
        for u in range(m):
            diff = row[ua[u]] - row[ub[u]]
            e_sv[u] += diff * diff
    for u in range(m):
        e_sv[u] = min(1.0, max(0.0, 1.0 - math.sqrt(e_sv[u] / dim)))
    for u in range(m):  # branch-free: whether a link holds a contract is a coin flip to the branch predictor
        on = live_ff[u] & (left[u] > 0)
        contracts[ua[u]] += on
        contracts[ub[u]] += on
    # the trust update in a loop of its own, over the pairs (2u, 2u + 1): LLVM vectorizes this shape
    # (a flat loop over d reading e_sv[d >> 1] stays scalar), and with it the sigmoid's exp
    for u in range(m):
        common = bias + w_sv * e_sv[u]
        for d in (2 * u, 2 * u + 1):
            x = common + w_comm * comm[d] - w_opp * opp[d]
            t = trust[d] + speed * (_sigmoid(x) - trust[d])
            trust[d] = min(1.0, max(0.0, t)) if alive_d[d] else trust[d]
    # the sums in a loop of their own: scattered stores stall a loop that also computes.
    # Directed edge 2u is observed by ua[u], 2u + 1 by ub[u]; edges in order of d.
    if sums:
        for u in range(m):
            if not alive_d[2 * u]:
                continue
            for d, s in ((2 * u, ua[u]), (2 * u + 1, ub[u])):
                acc[s, 0] += e_sv[u]
                acc[s, 1] += comm[d]
                acc[s, 2] += opp[d]
                acc[s, 3] += trust[d]


@numba.njit(**_JIT)
def edge_masks(ua, ub, active, is_ff, alive_d, live_ff, degree):
    """The model's edge masks (``ClusterModel._masks``) in one pass: ``alive_d`` (both directions of each
    edge whose ends are both active), ``live_ff`` (the live firm-firm links) and the live degree per
    node (``degree``, zeroed by the caller)."""
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        live = active[a] & active[b]
        alive_d[2 * u] = live
        alive_d[2 * u + 1] = live
        live_ff[u] = live & is_ff[u]
        degree[a] += live
        degree[b] += live


@numba.njit(**_JIT)
def live_edge_trust(alive_d, trust):
    """Sum and number of trust values on live directed edges (the isolates' fallback of ``actor_antecedents``)."""
    total = 0.0
    n_live = 0
    for d in range(alive_d.shape[0]):
        if alive_d[d]:
            total += trust[d]
            n_live += 1
    return total, n_live


@numba.njit(**_JIT)
def actor_antecedents(acc, degree, active, values, culture, contracts, sunk, capacity, benefit, product, fallback_trust,
                      shared_values, communication, opportunism, termination_costs, relationship_benefits, mean_trust):
    """Antecedents and mean trust per actor (``trust.update_relationships``, ODD 7.3-7.4).

    From the per-actor sums ``acc`` of ``relationship_pass`` and the live degree
    ``degree`` (isolates: no live edge)::

        own_SV_i = clip(1 - sqrt(mean_k (v_ik - culture_k)^2), 0, 1)
        SV_i     = 0.5 mean SV_d + 0.5 own_SV_i          (own_SV_i for the mean of isolates)
        COMM_i, OPP_i = mean COMM_d, OPP_d              (0 for isolates)
        TC_i     = 0.6 k_i / (k_i + 2) + 0.4 sunk_i / (sunk_i + cap_i)
        RB_i     = b / (b + 0.5),  b = max(benefit_i (0.5 + product), 0)
        T_i      = mean trust_d                          (``fallback_trust`` for active isolates)

    An inactive row (a firm that left) keeps its last mean trust.
    """
    dim = values.shape[1]
    for i in range(acc.shape[0]):
        sq = 0.0
        for k in range(dim):
            diff = values[i, k] - culture[k]
            sq += diff * diff
        own = min(1.0, max(0.0, 1.0 - math.sqrt(sq / dim)))
        cnt = degree[i]
        if cnt > 0:
            shared_values[i] = 0.5 * (acc[i, 0] / cnt) + 0.5 * own
            communication[i] = acc[i, 1] / cnt
            opportunism[i] = acc[i, 2] / cnt
            mean_trust[i] = acc[i, 3] / cnt
        else:
            shared_values[i] = 0.5 * own + 0.5 * own
            communication[i] = 0.0
            opportunism[i] = 0.0
            if active[i]:
                mean_trust[i] = fallback_trust
        k_i = float(contracts[i])
        cap = max(capacity[i], 1e-9)
        termination_costs[i] = 0.6 * k_i / (k_i + 2.0) + 0.4 * sunk[i] / (sunk[i] + cap)
        perceived = max(benefit[i] * (0.5 + product), 0.0)
        relationship_benefits[i] = perceived / (perceived + 0.5)


@numba.njit(**_CURVES_JIT)
def commitment_pass(contracts, relationship_benefits, shared_values, mean_trust, termination_costs, bias, w_rb, w_sv,
                    w_trust, w_tc, speed, commitment, partner_commitment):
    """Commitment (``trust.update_commitment``, ODD 7.5), to the cluster and to partners::

        common_i = bias + w_rb RB_i + w_sv SV_i + w_trust T_i
        C_i  <- C_i + speed (sigma(common_i + w_tc TC_i) - C_i)
        PC_i <- PC_i + speed (sigma(common_i + w_tc k_i / (k_i + 2)) - PC_i)
    """
    for i in range(commitment.shape[0]):
        common = bias + w_rb * relationship_benefits[i] + w_sv * shared_values[i] + w_trust * mean_trust[i]
        target = _sigmoid(common + w_tc * termination_costs[i])
        commitment[i] += speed * (target - commitment[i])
        k_i = float(contracts[i])
        target_p = _sigmoid(common + w_tc * (k_i / (k_i + 2.0)))
        partner_commitment[i] += speed * (target_p - partner_commitment[i])


@numba.njit(**_CURVES_JIT)
def outcome_pass(commitment, mean_trust, slope, acquiescence, propensity_to_leave, functional_conflict, decision_uncertainty):
    """Outcomes (``trust.update_outcomes``, ODD 7.6), mediated by C and T::

        acquiescence = sigma(K (C - 0.5)),   propensity_to_leave = sigma(-K (C - 0.35))
        functional_conflict = sigma(K (T - 0.5)),   decision_uncertainty = sigma(-K (T - 0.5))
    """
    for i in range(commitment.shape[0]):
        c = commitment[i]
        t = mean_trust[i]
        acquiescence[i] = _sigmoid(slope * (c - 0.5))
        propensity_to_leave[i] = _sigmoid(-slope * (c - 0.35))
        fc = _sigmoid(slope * (t - 0.5))
        functional_conflict[i] = fc
        decision_uncertainty[i] = 1.0 - fc  # sigma(-x) = 1 - sigma(x)


@numba.njit(**_CURVES_JIT)
def decision_pass(r, firms, members, group_of, group_size, capacity, exposure, last_share, contracts,
                  commitment, mean_trust, disposition,
                  monitoring, reputation_detection, fi_on, fi_return, contribution, equal_sharing, sanction, fi_fine_on,
                  contract_on, contract_stake, enforcement_prob,
                  bias, w_commitment, w_trust, w_disposition, w_incentive, scale,
                  p_detect, cooperation, cooperating):
    """Detection probability, expected gain and the cooperation draw (``behaviour.decide``, ODD 7.7).

    Per actor i, with one uniform ``r[i]``, ``c_i = contribution cap_i``,
    ``S_i = sanction cap_i`` (0 without regulation) and ``fi_return = r (1 - b_s - r_s)``::

        p_detect_i = 1 - (1 - monitoring)(1 - reputation_detection exposure_i)
        gain_i  = [fi_on, member] (fi_return c_i / n_a - c_i + p_detect_i share_i^{t-1})   (equal sharing)
                  [fi_on, member] (fi_return c_i - c_i)                                  (proportional)
                + [fi_fine_on, member] p_detect_i S_i
                + [contract_on] (k_i cap_i contract_stake + [member, k_i >= 1] enforcement_prob S_i)
        cooperation_i = sigma(bias + w_c C_i + w_t T_i + w_d disposition_i + w_inc tanh(gain_i / (scale cap_i)))
        cooperating_i = [firm] and r_i < cooperation_i     (cooperation_i is 0 for non-firms)

    ``n_a = max(group_size[group_of[i]], 1)``; ``contract_stake = enforcement_prob
    (breach_penalty + value duration / 2) - breach_gain``.
    """
    for i in range(firms.shape[0]):
        cap = capacity[i]
        pd = 1.0 - (1.0 - monitoring) * (1.0 - reputation_detection * exposure[i])
        p_detect[i] = pd
        fine = sanction * cap
        gain = 0.0
        if fi_on and members[i]:
            c = contribution * cap
            own = fi_return * c
            if equal_sharing:
                own = own / max(group_size[group_of[i]], 1)
                gain += own - c + pd * last_share[i]
            else:
                gain += own - c
        if fi_fine_on and members[i]:
            gain += pd * fine
        if contract_on:
            gain += contracts[i] * cap * contract_stake
            if members[i] and contracts[i] > 0:
                gain += enforcement_prob * fine
        cooperation[i] = gain / (scale * max(cap, 1e-9))  # scratch: the scaled gain, for the loop below
    # the curves in a branch-free loop of their own, which LLVM vectorizes with the tanh and the exp
    for i in range(firms.shape[0]):
        x = (bias + w_commitment * commitment[i] + w_trust * mean_trust[i] + w_disposition * disposition[i]
             + w_incentive * _tanh(cooperation[i]))
        prob = _sigmoid(x)
        cooperation[i] = prob if firms[i] else 0.0
        cooperating[i] = firms[i] & (r[i] < prob)


@numba.njit(**_JIT)
def imitation_partners(indptr, nbr, who, r, active, who_out, other_out):
    """Imitation (``behaviour.imitate``, ODD 7.15): a uniformly random firm-firm neighbour of each
    firm in ``who``, as ``game.random_neighbours`` draws it: ``nbr[indptr[i] + floor(r_k deg_i)]``
    for the k-th firm i. Firms without a neighbour, or whose pick has left, are dropped; the kept
    pairs go to the front of ``who_out``/``other_out``. Returns how many were kept.
    """
    kept = 0
    for k in range(who.shape[0]):
        i = who[k]
        start = indptr[i]
        deg = indptr[i + 1] - start
        if deg > 0:
            j = nbr[start + np.int64(math.floor(r[k] * deg))]
            if active[j]:
                who_out[kept] = i
                other_out[kept] = j
                kept += 1
    return kept


@numba.njit(**_JIT)
def imitation_moves(who, other, r, payoff, firms_idx, step_size, disposition):
    """Imitation (``behaviour.imitate``, ODD 7.15): ``game.imitation_probability`` with k = 1, and the move.

    ``D`` = the payoff range over ``firms_idx`` (at least 1e-9); firm ``who[k]``
    moves when ``r[k] < clip((P_other - P_who) / D, 0, 1)``:
    ``disposition <- disposition + step_size (disposition_other - disposition)``,
    every move reading the dispositions from before any of them.
    """
    lo = np.inf
    hi = -np.inf
    for i in firms_idx:
        lo = min(lo, payoff[i])
        hi = max(hi, payoff[i])
    spread = max(1e-9, hi - lo)
    delta = np.zeros(who.shape[0])
    for k in range(who.shape[0]):
        prob = min(1.0, max(0.0, (payoff[other[k]] - payoff[who[k]]) / spread))
        if r[k] < prob:
            delta[k] = step_size * (disposition[other[k]] - disposition[who[k]])
    for k in range(who.shape[0]):
        disposition[who[k]] += delta[k]


@numba.njit(**_JIT)
def pool_pass(r, members, coop, assoc_of, capacity, p_detect, contribution, brand_share, rnd_share, multiplier,
              equal_sharing, pool, brand, rnd, unshared, contrib, detected, share, cash):
    """Function-interest pool (``function_interest.run_pool``, ODD 7.8), per association ``a``.

    Per actor (one uniform ``r[i]``): ``c_i = [member, cooperating] contribution cap_i``;
    a defecting member is exposed when ``r_i < p_detect_i``. Per association::

        pool_a = sum c_i,  brand_a = brand_share pool_a,  rnd_a = rnd_share pool_a
        returned_a = multiplier (pool_a - brand_a - rnd_a)

    shared among the eligible (members not exposed): equally
    (``returned_a / eligible_a``; a pool nobody may share is ``unshared_a``)
    or in proportion to contributions (``returned_a c_i / pool_a``).
    ``cash_i += share_i - c_i``. The per-association arrays (``pool`` ...
    ``unshared``, zeroed, one row per association) are filled for the totals.
    """
    n = members.shape[0]
    n_assoc = pool.shape[0]
    eligible = np.zeros(n_assoc)
    for i in range(n):
        c = 0.0
        exposed = False
        if members[i]:
            if coop[i]:
                c = contribution * capacity[i]
            else:
                exposed = r[i] < p_detect[i]
            pool[assoc_of[i]] += c
            if not exposed:
                eligible[assoc_of[i]] += 1.0
        contrib[i] = c
        detected[i] = exposed
    for k in range(n_assoc):
        brand[k] = brand_share * pool[k]
        rnd[k] = rnd_share * pool[k]
        returned = multiplier * (pool[k] - brand[k] - rnd[k])
        if equal_sharing:
            unshared[k] = returned if eligible[k] == 0 else 0.0
            eligible[k] = returned / eligible[k] if eligible[k] > 0 else 0.0  # now: the share per head
        else:
            unshared[k] = 0.0
            eligible[k] = returned  # now: the amount to share in proportion
    for i in range(n):
        s = 0.0
        if members[i] and not detected[i]:
            a = assoc_of[i]
            if equal_sharing:
                s = eligible[a]
            elif pool[a] > 0:
                s = eligible[a] * (contrib[i] / pool[a])
        share[i] = s
        cash[i] += s - contrib[i]


@numba.njit(**_JIT)
def regulation_pass(members, detected, caught, assoc_of, capacity, dues_rate, sanction, reputation_penalty, strike_memory,
                    expulsion_strikes, income, reputation, strikes, cash, expelled):
    """Regulation (``regulation.apply_regulation``, ODD 7.10): dues, fines, reputation, strikes, expulsion.

    Offenders are the exposed free riders (``detected``) and the caught
    breachers (``caught``). Per actor: ``dues_i = [member] dues_rate cap_i``,
    ``fines_i = [member, offender] sanction cap_i``, both paid to the
    association (``income``, one row per association) and taken from
    ``cash``; an offender loses ``reputation_penalty`` of reputation (floor 0);
    ``strikes_i <- strike_memory strikes_i + [member, offender]``; a member
    with ``strikes_i >= expulsion_strikes`` is to be expelled: its row goes to
    the front of ``expelled`` (in row order).

    Returns ``(sum of dues, sum of fines, number expelled)``.
    """
    dues_total = 0.0
    fines_total = 0.0
    n_expelled = 0
    for i in range(members.shape[0]):
        offender = detected[i] or caught[i]
        d = 0.0
        f = 0.0
        if members[i]:
            d = dues_rate * capacity[i]
            if offender:
                f = sanction * capacity[i]
            income[assoc_of[i]] += d + f
        dues_total += d
        fines_total += f
        cash[i] += -(d + f)
        if offender:
            reputation[i] = max(0.0, reputation[i] - reputation_penalty)
        strikes[i] = strike_memory * strikes[i] + (1.0 if (members[i] and offender) else 0.0)
        if members[i] and strikes[i] >= expulsion_strikes:
            expelled[n_expelled] = i
            n_expelled += 1
    return dues_total, fines_total, n_expelled


@numba.njit(**_JIT)
def revenue_pass(firms, members, brand_users, kind, capacity, channel_bonus, demand, premium, equity, corporate,
                 revenue, brand_revenue):
    """Market (``Market.revenue``, ODD 7.13): revenue of every actor (0 for non-firms) and its brand part::

        base_i = cap_i demand
        lift_i = premium (equity [member] + 0.5 corporate [brand user]) + premium corporate [leading firm]
        revenue_i = base_i (1 + lift_i)(1 + channel_bonus_i),   brand_revenue_i = base_i lift_i
    """
    for i in range(firms.shape[0]):
        base = capacity[i] * demand if firms[i] else 0.0
        lift = premium * (equity * (1.0 if members[i] else 0.0) + (0.5 * corporate) * (1.0 if (brand_users[i] and firms[i]) else 0.0))
        lift = lift + (premium * corporate) * (1.0 if kind[i] == _LEADING else 0.0)
        revenue[i] = base * (1.0 + lift) * (1.0 + channel_bonus[i])
        brand_revenue[i] = base * lift


@numba.njit(**_JIT)
def profit_pass(firms, members, capacity, energy, revenue, cash, share, surplus, brand_revenue, contribution,
                margin, energy_price, fixed_cost, memory, dues_rate,
                profit, resources, payoff, benefit, sunk):
    """Profit (ODD 7.14) and what members take from it into the next step (7.3), per actor::

        gross_i   = revenue_i (margin - energy_price energy_i) - fixed_cost cap_i
        profit_i  = gross_i + cash_i          (0 for non-firms);  resources_i += profit_i
        payoff_i  = profit_i / cap_i
        benefit_i <- benefit_i + memory ((share_i + surplus_i + margin brand_revenue_i) / cap_i - benefit_i)
        sunk_i    <- 0.95 sunk_i + contribution_i + [member] dues_rate cap_i

    (``dues_rate`` is 0 without regulation.)
    """
    for i in range(firms.shape[0]):
        cap = max(capacity[i], 1e-9)
        if firms[i]:
            gross = revenue[i] * (margin - energy_price * energy[i]) - fixed_cost * capacity[i]
            pr = gross + cash[i]
            profit[i] = pr
            payoff[i] = pr / cap
            received = (share[i] + surplus[i] + brand_revenue[i] * margin) / cap
            benefit[i] += memory * (received - benefit[i])
        else:
            profit[i] = 0.0
            payoff[i] = 0.0
        resources[i] += profit[i]
        sunk[i] = 0.95 * sunk[i] + (contribution[i] + (dues_rate * capacity[i] if members[i] else 0.0))


@numba.njit(**_JIT)
def contract_pass(ua, ub, live_ff, left, coop, trust, product_group, kind, capacity, r,
                  value, breach_gain, breach_penalty, transaction_cost, enforcement_prob, duration,
                  renewal_slope, renewal_threshold, formation_rate, channel_sharing, leading_traction,
                  cash, surplus, caught, memory, opp):
    """Contracts (003 3.3 (3), ``mechanisms/contract.py``): trade, breach, enforce, age, renew, sign.

    Per firm-firm edge, one uniform ``r[u]`` split into the trials it needs:
    on a contract, ``x < enforcement_prob`` for a's breach, then for b's, then
    (not caught, just expired) ``x < sigma(renewal_slope (T_pair - threshold))``;
    on a live uncontracted link, ``x < formation_rate T_pair``. Payoffs as in
    the module docstring of ``contract.py``; cash and surplus accumulate into
    ``cash``/``surplus`` (zeroed by the caller).

    The pairs that trade under contract also observe each other here:
    ``opp_d <- opp_d + memory ([partner breached] - opp_d)`` on both
    directions, inside the contract branch (ODD 7.3). Every other live edge
    observes through reports (``observe_reports``, called before this loop).

    Returns ``(breaches, created, contracts in force after the step)``.
    """
    breaches = 0
    created = 0.0
    in_force = 0
    for u in range(ua.shape[0]):
        if not live_ff[u]:
            left[u] = 0
        on = left[u] > 0
        a, b = ua[u], ub[u]
        bra = on and not coop[a]
        brb = on and not coop[b]
        pair_trust = 0.5 * (trust[2 * u] + trust[2 * u + 1])
        x = r[u]
        if on:
            bonus = 1.0 + channel_sharing * (1.0 if product_group[a] != product_group[b] else 0.0)
            bonus = bonus * (1.0 + leading_traction * (1.0 if kind[a] == _LEADING or kind[b] == _LEADING else 0.0))
            size = math.sqrt(capacity[a] * capacity[b])
            tc = transaction_cost * size * (1.0 - 0.5 * pair_trust)
            val_a = 0.0 if brb else value * size * bonus
            val_b = 0.0 if bra else value * size * bonus
            gain = breach_gain * size * ((1.0 if bra else 0.0) - (1.0 if brb else 0.0))
            ca = cb = False
            if bra:
                ca = x < enforcement_prob
                x = _split(x, enforcement_prob, ca)
                breaches += 1
            if brb:
                cb = x < enforcement_prob
                x = _split(x, enforcement_prob, cb)
                breaches += 1
            pen = breach_penalty * size * ((1.0 if cb else 0.0) - (1.0 if ca else 0.0))
            cash[a] += val_a + gain + pen - tc
            cash[b] += val_b - gain - pen - tc
            surplus[a] += val_a
            surplus[b] += val_b
            created += val_a + val_b - 2.0 * tc
            opp[2 * u] += memory * ((1.0 if brb else 0.0) - opp[2 * u])  # 2u: a observes b
            opp[2 * u + 1] += memory * ((1.0 if bra else 0.0) - opp[2 * u + 1])
            if ca:
                caught[a] = True
            if cb:
                caught[b] = True
            if ca or cb:
                left[u] = 0
            else:
                left[u] -= 1
                if left[u] == 0:
                    renew = _sigmoid(renewal_slope * (pair_trust - renewal_threshold))
                    if x < renew:
                        left[u] = duration
        elif live_ff[u]:
            if x < formation_rate * pair_trust:
                left[u] = duration
        in_force += left[u] > 0
    return breaches, created, in_force


@numba.njit(**_JIT)
def partner_reports(coop, members, detected, group_of, group_size, assoc_idx, reported):
    """What a report about node j tells its partners (ODD 7.3), into ``reported``: 1 for a defecting
    firm, 0 for a cooperating one; for an association, its unfairness: the share of its members
    (``group_of``, ``group_size`` as in ``decision_pass``) who defected and were not detected."""
    n = coop.shape[0]
    for j in range(n):
        reported[j] = 0.0 if coop[j] else 1.0
    n_assoc = assoc_idx.shape[0]
    unexposed = np.zeros(n_assoc + 1)  # non-members fall in the last, unused group
    for i in range(n):
        unexposed[group_of[i]] += 1.0 if (members[i] and not coop[i] and not detected[i]) else 0.0
    for a in range(n_assoc):
        reported[assoc_idx[a]] = unexposed[a] / group_size[a] if group_size[a] > 0 else 0.0


@numba.njit(**_JIT)
def observe_reports(reports, ua, ub, live_ff, left, reported, memory, opp):
    """Opportunism observed from reports (ODD 7.3): on each live directed edge d in ``reports``
    (``exchange_messages`` lists those on which a message arrived), ``opp_d <- opp_d + memory
    (reported[partner] - opp_d)``, with ``reported`` from ``partner_reports``; except on pairs under a
    live contract (``live_ff[u]``, ``left[u] > 0``, before this step's contracts), which observe the
    breach instead (``contract_pass``). Without the contract mechanism no link holds a contract.

    The list holds about a third of the live edges; going through it instead of every edge, with the
    contracted pairs done in their own branch of ``contract_pass``, made contracts and opportunism
    about 0.75 instead of 0.95 ms per step at N = 10k (the step 1.03x, interleaved).
    """
    for i in range(reports.shape[0]):
        d = reports[i]
        u = d >> 1
        if not (live_ff[u] and left[u] > 0):
            j = ub[u] if (d & 1) == 0 else ua[u]  # 2u: ua observes ub
            opp[d] += memory * (reported[j] - opp[d])


@numba.njit(fastmath={"reassoc", "nsz"}, **_JIT)
def kpi_sums(firms, members, kind, cooperating, columns, revenue, energy, sums):
    """KPIs (``model._record``): per-type sums over the firms of the step, in one pass.

    ``sums[g]`` for g = ``kind`` (0 enterprise, 1 leading firm): count,
    cooperators, then the sum of each array in ``columns``. Returns
    ``(members, free riders among them, sum of energy intensity * revenue)``.

    Compiled with reassociation allowed, so LLVM vectorizes the sums: they
    may differ from a left-to-right sum in the last bits. Only KPIs read them;
    nothing feeds back into the model.
    """
    n = firms.shape[0]
    # per row, whether it counts for enterprises (w0) or leading firms (w1); then branch-free passes
    # (a runtime row index ``sums[kind[i], ...]`` and a branch per row kept this at 3x the time)
    w0 = np.empty(n)
    w1 = np.empty(n)
    count0 = count1 = coop0 = coop1 = energy_revenue = 0.0
    n_members = 0
    free_riders = 0
    for i in range(n):
        leading = kind[i] != 0
        a = 1.0 if (firms[i] & (not leading)) else 0.0
        b = 1.0 if (firms[i] & leading) else 0.0
        w0[i] = a
        w1[i] = b
        c = 1.0 if cooperating[i] else 0.0
        count0 += a
        count1 += b
        coop0 += a * c
        coop1 += b * c
        energy_revenue += (energy[i] * revenue[i]) if firms[i] else 0.0
        member = firms[i] & members[i]
        n_members += 1 if member else 0
        free_riders += 1 if (member & (not cooperating[i])) else 0
    sums[0, 0] += count0
    sums[1, 0] += count1
    sums[0, 1] += coop0
    sums[1, 1] += coop1
    for j in range(len(columns)):  # column by column: each a straight pass over one array
        col = columns[j]
        s0 = 0.0
        s1 = 0.0
        for i in range(n):
            s0 += col[i] if w0[i] > 0.0 else 0.0  # selects, not products: 0 * inf would be nan
            s1 += col[i] if w1[i] > 0.0 else 0.0
        sums[0, 2 + j] = s0
        sums[1, 2 + j] = s1
    return n_members, free_riders, energy_revenue


@numba.njit(fastmath={"reassoc", "nsz"}, **_JIT)
def gini_of_sorted(xs):
    """Gini coefficient (``metrics.gini``) of ``xs`` sorted ascending, after shifting it to be non-negative.

    With ``v = xs - min(0, xs[0])``, ``C = sum of the running sums of v`` =
    ``sum_i (n - i) v_i``: ``G = (n + 1 - 2 C / sum v) / n`` (0 when sum v <= 0).
    A KPI only (summation order free, as in ``kpi_sums``).
    """
    n = xs.shape[0]
    shift = -min(0.0, xs[0])
    total = 0.0
    running = 0.0
    for i in range(n):
        v = xs[i] + shift
        total += v
        running += (n - i) * v
    return (n + 1 - 2 * (running / total)) / n if total > 0 else 0.0


@numba.njit(**_JIT)
def live_trust_sum(ua, ub, active, kind, trust):
    """KPI ``mean_trust`` (``model._record``): sum and count of trust on live edges observed by firms."""
    total = 0.0
    n = 0
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        if active[a] and active[b]:
            if kind[a] != _ASSOCIATION:
                total += trust[2 * u]
                n += 1
            if kind[b] != _ASSOCIATION:
                total += trust[2 * u + 1]
                n += 1
    return total, n


@numba.njit(**_JIT)
def culture_and_associations(values, firms, group_of, group_size, assoc_idx, culture):
    """Culture (``model._step_cluster``, ODD 7.3): the mean values of the active firms, into ``culture``
    (0.5 in every dimension without firms); then each association holds its members' mean values.

    ``group_of[i]`` is member i's association (``len(assoc_idx)`` for non-members);
    an association without members holds the cluster ``culture``.
    """
    n_assoc = assoc_idx.shape[0]
    dim = values.shape[1]
    total = np.zeros((n_assoc + 1, dim))
    n_firms = 0
    culture[:] = 0.0
    for i in range(group_of.shape[0]):
        g = group_of[i]
        for k in range(dim):
            total[g, k] += values[i, k]
        if firms[i]:
            n_firms += 1
            for k in range(dim):
                culture[k] += values[i, k]
    for k in range(dim):
        culture[k] = culture[k] / n_firms if n_firms else 0.5
    for a in range(n_assoc):
        for k in range(dim):
            values[assoc_idx[a], k] = total[a, k] / max(group_size[a], 1) if group_size[a] > 0 else culture[k]


@numba.njit(**_JIT)
def live_ff_degree(ua, ub, is_ff, active, out):
    """Entry (``model._entrant_links``): live firm-firm links per node (both ends active), into ``out``."""
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        if is_ff[u] and active[a] and active[b]:
            out[a] += 1
            out[b] += 1


@numba.njit(**_JIT)
def pull_values(values, members, culture, rate):
    """Regulation, culture (``regulation.culture_pull``): ``v_i <- v_i + rate (culture - v_i)`` for members."""
    for i in range(members.shape[0]):
        if members[i]:
            for k in range(values.shape[1]):
                values[i, k] += rate * (culture[k] - values[i, k])


@numba.njit(**_JIT)
def exit_candidates(firms, active, resources, r, leave_rate, propensity_to_leave, bankrupt, leaving):
    """Exits (``model._exits``): active firms with negative resources go bankrupt; of the others, a firm
    leaves when ``r_i < leave_rate propensity_to_leave_i`` (one uniform per row). Rows go to the front
    of ``bankrupt`` and ``leaving`` (in row order); returns how many of each."""
    n_bankrupt = 0
    n_leaving = 0
    for i in range(firms.shape[0]):
        if not (firms[i] and active[i]):
            continue
        if resources[i] < 0:
            bankrupt[n_bankrupt] = i
            n_bankrupt += 1
        elif r[i] < leave_rate * propensity_to_leave[i]:
            leaving[n_leaving] = i
            n_leaving += 1
    return n_bankrupt, n_leaving


@numba.njit(**_JIT)
def csr_by_source(ua, ub, is_ff, indptr, nbr):
    """Neighbour index (``state.ff_csr``): CSR of firm-firm directed edges by observer.

    A stable counting sort: neighbours of each node keep edge order, ``ua -> ub``
    edges before ``ub -> ua`` ones (as the former concatenate-and-sort did).
    Fills ``indptr`` (N + 1, zeroed by the caller) and the front of ``nbr``
    (at least 2 E long); returns how many entries of ``nbr`` it filled.

    The caller allocates both: a kernel that returned arrays it allocated would
    box them into Python objects on its way out, and a Ctrl-C landing there
    surfaced as ``SystemError: ... returned a result with an exception set``
    instead of ``KeyboardInterrupt`` (seen in a sweep interrupted mid-run).
    """
    n_nodes = indptr.shape[0] - 1
    for u in range(ua.shape[0]):
        if is_ff[u]:
            indptr[ua[u] + 1] += 1
            indptr[ub[u] + 1] += 1
    for i in range(n_nodes):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    for u in range(ua.shape[0]):  # all ua -> ub first, as in the former order
        if is_ff[u]:
            nbr[fill[ua[u]]] = ub[u]
            fill[ua[u]] += 1
    for u in range(ua.shape[0]):
        if is_ff[u]:
            nbr[fill[ub[u]]] = ua[u]
            fill[ub[u]] += 1
    return indptr[n_nodes]
