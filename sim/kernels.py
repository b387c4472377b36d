"""Compiled loops (Numba) behind the step's hot blocks.

Each kernel fuses what used to be several numpy passes over the edges into
one loop. The equations stay documented where they belong (``trust.py``,
``information.py``, ``mechanisms/contract.py``, ``model.py``, docs/ODD.md);
the kernels only compute them, and each docstring names its equation.

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

All kernels are compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "exchange_messages",
    "shared_values",
    "relationship_pass",
    "count_contracts",
    "contract_pass",
    "observe_opportunism",
    "live_trust_sum",
    "csr_by_source",
]

_ASSOCIATION = 2  # sim.structures.ASSOCIATION (checked in sim/state.py)
_LEADING = 1


@numba.njit(cache=True, inline="always")
def _split(x: float, q: float, hit: bool) -> float:
    """Rescale uniform ``x`` after the trial ``x < q`` so it is uniform again."""
    if hit:
        return x / q
    return (x - q) / (1.0 - q)


@numba.njit(cache=True)
def exchange_messages(r, alive_d, ua, ub, inbox_now, inbox_later, rate, cdc_share, relay_loss, direct_loss, memory,
                      comm, arrived, heard, partners):
    """Information (002, ``information.py``): send, route, lose, delay, deliver; then COMM_d.

    Per live directed edge, with one uniform ``r[d]`` split into three trials:
    sent with ``rate``; via the CDC with ``cdc_share`` (else direct); lost with
    ``relay_loss`` (relay) or ``direct_loss`` (direct). Delivered messages go
    to the inbox row ``inbox_now`` (direct) or ``inbox_later`` (relay; the same
    row when there is no delay). Arrivals empty ``inbox_now``; ``COMM_d <- COMM_d + memory (arrived_d - COMM_d)`` on live
    edges; ``heard``/``partners`` count, per partner ``dst[d]``, the live edges
    on which a message arrived (the exposure of ODD "information").

    Returns ``(sent, lost, delivered, relayed)``.
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
    # the per-node counts in a loop of their own: scattered stores in the loop above stall it
    for d in range(alive_d.shape[0]):
        if alive_d[d]:
            j = ub[d >> 1] if (d & 1) == 0 else ua[d >> 1]  # the partner, dst[d]
            partners[j] += 1.0
            heard[j] += 1.0 if arrived[d] else 0.0
    return sent, sent - delivered, delivered, relayed


@numba.njit(cache=True)
def shared_values(values, ua, ub, out):
    """Trust (``trust.edge_shared_values``): SV_u = clip(1 - sqrt(mean_k (v_ak - v_bk)^2), 0, 1)."""
    dim = values.shape[1]
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        acc = 0.0
        for k in range(dim):
            diff = values[a, k] - values[b, k]
            acc += diff * diff
        s = 1.0 - math.sqrt(acc / dim)
        out[u] = min(1.0, max(0.0, s))


@numba.njit(cache=True)
def relationship_pass(alive_d, ua, ub, e_sv, comm, opp, trust, bias, w_sv, w_comm, w_opp, speed, move_trust, sums, acc):
    """Morgan-Hunt per relationship (``trust.py``): antecedent sums, the trust update, trust sums.

    On each live directed edge d (observer ``src[d]``):

    * when ``move_trust``: ``target = sigma(bias + w_sv SV + w_comm COMM - w_opp OPP)``,
      ``trust_d <- clip(trust_d + speed (target - trust_d), 0, 1)``;
    * then, when ``sums``: count the edge and add SV_u, COMM_d, OPP_d and the
      new trust to the observer's row of ``acc`` (N, 5) (columns: count, SV,
      COMM, OPP, trust; the per-actor means of ``trust.update_relationships``;
      the trust update does not change SV, COMM, OPP).

    Returns ``(sum of trust, number of live edges)`` for the isolates' fallback.
    """
    if move_trust:
        for d in range(alive_d.shape[0]):
            x = bias + w_sv * e_sv[d >> 1] + w_comm * comm[d] - w_opp * opp[d]
            t = trust[d] + speed * (1.0 / (1.0 + math.exp(-x)) - trust[d])
            trust[d] = min(1.0, max(0.0, t)) if alive_d[d] else trust[d]
    # the sums in a loop of their own: scattered stores stall a loop that also computes
    total = 0.0
    n_live = 0
    for d in range(alive_d.shape[0]):
        if not alive_d[d]:
            continue
        u = d >> 1
        if sums:
            s = ua[u] if (d & 1) == 0 else ub[u]  # the observer, src[d]
            acc[s, 0] += 1.0
            acc[s, 1] += e_sv[u]
            acc[s, 2] += comm[d]
            acc[s, 3] += opp[d]
            acc[s, 4] += trust[d]
        total += trust[d]
        n_live += 1
    return total, n_live


@numba.njit(cache=True)
def count_contracts(ua, ub, live, left, out):
    """Contracts (``contract.contracts_per_node``): live contracts per actor, into ``out``."""
    for u in range(ua.shape[0]):
        if live[u] and left[u] > 0:
            out[ua[u]] += 1
            out[ub[u]] += 1


@numba.njit(cache=True)
def contract_pass(ua, ub, live_ff, left, coop, trust, product_group, kind, capacity, r,
                  value, breach_gain, breach_penalty, transaction_cost, enforcement_prob, duration,
                  renewal_slope, renewal_threshold, formation_rate, channel_sharing, leading_traction,
                  cash, surplus, caught, observed, breach_a, breach_b):
    """Contracts (003 3.3 (3), ``mechanisms/contract.py``): trade, breach, enforce, age, renew, sign.

    Per firm-firm edge, one uniform ``r[u]`` split into the trials it needs:
    on a contract, ``x < enforcement_prob`` for a's breach, then for b's, then
    (not caught, just expired) ``x < sigma(renewal_slope (T_pair - threshold))``;
    on a live uncontracted link, ``x < formation_rate T_pair``. Payoffs as in
    the module docstring of ``contract.py``; cash and surplus accumulate into
    ``cash``/``surplus`` (zeroed by the caller).

    Returns ``(breaches, created)``.
    """
    breaches = 0
    created = 0.0
    for u in range(ua.shape[0]):
        if not live_ff[u]:
            left[u] = 0
        on = left[u] > 0
        observed[u] = on
        a, b = ua[u], ub[u]
        bra = on and not coop[a]
        brb = on and not coop[b]
        breach_a[u], breach_b[u] = bra, brb
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
            if ca:
                caught[a] = True
            if cb:
                caught[b] = True
            if ca or cb:
                left[u] = 0
            else:
                left[u] -= 1
                if left[u] == 0:
                    renew = 1.0 / (1.0 + math.exp(-renewal_slope * (pair_trust - renewal_threshold)))
                    if x < renew:
                        left[u] = duration
        elif live_ff[u]:
            if x < formation_rate * pair_trust:
                left[u] = duration
    return breaches, created


@numba.njit(cache=True)
def observe_opportunism(alive_d, arrived, observed, breach_a, breach_b, ua, ub, kind, unfair, coop, memory, opp, reported):
    """Opportunism observed (ODD, ``model.py``): ``OPP_d <- OPP_d + memory (obs_d - OPP_d)``.

    On live edges where the pair traded under contract, ``obs_d`` is the
    partner's breach; otherwise, where a report arrived, it is the partner's
    defection (for an association partner: its unfairness share).
    """
    for j in range(reported.shape[0]):  # what a report about node j tells (scratch array, length N)
        reported[j] = unfair[j] if kind[j] == _ASSOCIATION else (0.0 if coop[j] else 1.0)
    for d in range(alive_d.shape[0]):
        u = d >> 1
        j = ub[u] if (d & 1) == 0 else ua[u]  # the partner, dst[d]
        breach = breach_b[u] if (d & 1) == 0 else breach_a[u]
        obs = (1.0 if breach else 0.0) if observed[u] else reported[j]
        seen = alive_d[d] & (observed[u] | arrived[d])
        opp[d] += (memory * (obs - opp[d])) if seen else 0.0


@numba.njit(cache=True)
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


@numba.njit(cache=True)
def csr_by_source(ua, ub, is_ff, n_nodes):
    """Neighbour index (``state.ff_csr``): CSR of firm-firm directed edges by observer.

    A stable counting sort: neighbours of each node keep edge order, ``ua -> ub``
    edges before ``ub -> ua`` ones (as the former concatenate-and-sort did).
    """
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    for u in range(ua.shape[0]):
        if is_ff[u]:
            indptr[ua[u] + 1] += 1
            indptr[ub[u] + 1] += 1
    for i in range(n_nodes):
        indptr[i + 1] += indptr[i]
    nbr = np.empty(indptr[n_nodes], dtype=np.int64)
    fill = indptr[:-1].copy()
    for u in range(ua.shape[0]):  # all ua -> ub first, as in the former order
        if is_ff[u]:
            nbr[fill[ua[u]]] = ub[u]
            fill[ua[u]] += 1
    for u in range(ua.shape[0]):
        if is_ff[u]:
            nbr[fill[ub[u]]] = ua[u]
            fill[ub[u]] += 1
    return indptr, nbr
