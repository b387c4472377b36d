"""Trust and commitment after Morgan & Hunt (1994), as *Internal marketing of clusters* (Figure 2) presents it.

ODD 7.3: 7.3.1 (antecedents), 7.3.2 (trust), 7.3.3 (commitment), 7.3.4 (outcomes).

* **Antecedents** per actor: relationship termination costs (TC), relationship
  benefits (RB), shared values (SV), communication (COMM), opportunistic
  behaviour (OPP); SV, COMM and OPP are also held per relationship::

      SV_u   = clip(1 - sqrt(mean_k (v_ak - v_bk)^2), 0, 1)             (the two ends' value profiles)
      SV_i   = 0.5 mean SV_d + 0.5 clip(1 - sqrt(mean_k (v_ik - culture_k)^2), 0, 1)
      COMM_i, OPP_i = mean COMM_d, OPP_d over live relationships      (0 for isolates)
      TC_i   = 0.6 k_i / (k_i + 2) + 0.4 sunk_i / (sunk_i + cap_i)      (k_i live contracts)
      RB_i   = b / (b + 0.5),  b = max(benefit_i (0.5 + product), 0)

* **Trust** per directed relationship d (observer i, partner j), a partial
  adjustment towards a logistic target::

      target_d = sigma(b0 + w_sv SV_u + w_comm COMM_d - w_opp OPP_d)
      trust_d <- clip(trust_d + speed (target_d - trust_d), 0, 1)
      T_i      = mean trust_d over i's live relationships

* **Commitment** to the cluster per actor, and to partners with the
  contract-based termination costs::

      common_i = c0 + w_rb RB_i + w_v SV_i + w_t T_i
      C_i  <- C_i + speed (sigma(common_i + w_tc TC_i) - C_i)
      PC_i <- PC_i + speed (sigma(common_i + w_tc k_i / (k_i + 2)) - PC_i)

* **Outcomes** depend on the antecedents only through trust and commitment
  (the mediated model the survey favoured), K = :data:`OUTCOME_SLOPE`::

      acquiescence = sigma(K (C - 0.5)),       propensity_to_leave = sigma(-K (C - 0.35))
      functional_conflict = sigma(K (T - 0.5))
      decision_uncertainty = sigma(-K (T - 0.5) - K_Q (Q - 0.5))

  with ``Q = 1 - staleness`` the quality of the information the actor receives
  (how fresh its news is, ``submodels.information``) and K_Q = :data:`INFORMATION_SLOPE`.
  The fifth outcome, cooperation (+C, +T), is the decision (``submodels.decision``).
  The outcomes act: propensity to leave on exit (``demography``), functional
  conflict on ending contracts after a breach and decision uncertainty on
  caution (``contract``, ``decision``), acquiescence on paying dues
  (``regulation``).

Every sign above is one of the thirteen paths of the KMV model, fixed by the schema (weights ``>= 0``) or by
the outcome curves' constant slopes; tests/test_kmv_paths.py checks that each emerges in the firms of seeded runs.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..numerics import CURVES_JIT, JIT, sigmoid

__all__ = ["relationships", "update_trust", "update_relationships", "update_commitment", "update_outcomes",
           "OUTCOME_SLOPE", "INFORMATION_SLOPE", "relationship_pass", "live_edge_trust", "actor_antecedents", "commitment_pass",
           "outcome_pass"]

#: Slope of the outcome curves around their midpoint (an assumption; see docs/ODD.md).
OUTCOME_SLOPE = 6.0
#: Slope of decision uncertainty in the quality of information (an assumption: half the weight of trust).
INFORMATION_SLOPE = 3.0


def relationships(model, ctx) -> None:
    """The Morgan-Hunt chain of the step: antecedents and trust, commitment, outcomes."""
    st, m, p = model.state, ctx.masks, model.params
    ctx.contracts_of = update_relationships(st, m.alive_d, m.live_ff, m.degree, ctx.culture, p)
    update_commitment(st, ctx.contracts_of, p)
    update_outcomes(st)


def _relationship_pass(st, alive_d: np.ndarray, live_ff: np.ndarray, p, *, sums: bool):
    """One fused loop over the edges (:func:`relationship_pass`): SV_u, contracts, trust, sums."""
    n, e = st.n_nodes, st.n_edges
    t = p.trust
    acc = np.zeros((n, 4)) if sums else np.zeros((0, 4))
    contracts = np.zeros(n, dtype=np.int64)
    relationship_pass(
        alive_d, st.ua[:e], st.ub[:e], np.ascontiguousarray(st.values[:n].T), live_ff, st.contract_left[:e], st.comm[: 2 * e], st.opp[: 2 * e],
        st.trust[: 2 * e], float(t.bias), float(t.w_shared_values), float(t.w_communication), float(t.w_opportunism),
        float(t.speed), sums, st.e_shared_values[:e], contracts, acc,
    )
    return acc, contracts


def update_trust(st, alive_d: np.ndarray, p) -> None:
    """Move trust on every live directed edge towards its KMV target (module docstring)."""
    _relationship_pass(st, alive_d, np.zeros(st.n_edges, dtype=bool), p, sums=False)


def update_relationships(st, alive_d: np.ndarray, live_ff: np.ndarray, degree: np.ndarray, culture: np.ndarray, p) -> np.ndarray:
    """Shared values and the trust update per edge; antecedents and mean trust per actor.

    Per edge (one loop, :func:`relationship_pass`): SV_u, the live contracts
    per actor, and the trust update. Per actor (:func:`actor_antecedents`):
    the antecedents and mean trust (the mean over all live edges for active
    isolates; a firm that left keeps its last). The sums read COMM/OPP/SV,
    which the trust update does not change.

    Args:
        st: the ``ClusterState``.
        alive_d: ``(2E,)`` mask of live directed edges.
        live_ff: ``(E,)`` mask of live firm-firm edges (where contracts count).
        degree: ``(N,)`` live edges per actor (float; the denominators of the means).
        culture: ``(V,)`` the cluster culture (mean firm values).
        p: the ``Scenario``.

    Returns:
        ``(N,)`` number of live contracts per actor.
    """
    n = st.n_nodes
    acc, contracts = _relationship_pass(st, alive_d, live_ff, p, sums=True)
    fallback = 0.5  # mean trust of an active isolate: the mean over all live edges (only worked out when needed)
    if np.any((degree == 0) & st.active[:n]):
        total, n_live = live_edge_trust(alive_d, st.trust[: 2 * st.n_edges])
        fallback = total / n_live if n_live else st.trust[0] if st.n_edges else 0.5
    actor_antecedents(
        acc, degree, st.active[:n], st.values[:n], np.ascontiguousarray(culture, dtype=np.float64), contracts, st.sunk[:n], st.capacity[:n],
        st.benefit[:n], float(p.internal_marketing.product), float(fallback), st.shared_values[:n], st.communication[:n],
        st.opportunistic_behaviour[:n], st.termination_costs[:n], st.relationship_benefits[:n], st.mean_trust[:n],
    )
    return contracts


def update_commitment(st, contracts_of: np.ndarray, p) -> None:
    """Commitment to the cluster and to partners, towards their KMV targets (:func:`commitment_pass`)."""
    t = p.trust
    n = st.n_nodes
    commitment_pass(
        np.asarray(contracts_of, dtype=np.int64), st.relationship_benefits[:n], st.shared_values[:n], st.mean_trust[:n],
        st.termination_costs[:n], float(t.commitment_bias), float(t.w_benefits), float(t.w_values_commitment),
        float(t.w_trust_commitment), float(t.w_termination_costs), float(t.commitment_speed),
        st.commitment[:n], st.partner_commitment[:n],
    )


def update_outcomes(st) -> None:
    """Outcomes mediated by trust (T) and commitment (C) (:func:`outcome_pass`)."""
    n = st.n_nodes
    outcome_pass(st.commitment[:n], st.mean_trust[:n], st.staleness[:n], OUTCOME_SLOPE, INFORMATION_SLOPE, st.acquiescence[:n],
                 st.propensity_to_leave[:n], st.functional_conflict[:n], st.decision_uncertainty[:n])


@numba.njit(**CURVES_JIT)
def relationship_pass(alive_d, ua, ub, values_t, live_ff, left, comm, opp, trust, bias, w_sv, w_comm, w_opp, speed,
                      sums, e_sv, contracts, acc):
    """Shared values, contracts and trust per relationship, and the per-actor sums.

    Per undirected edge u (ends a, b), with ``values_t`` the (V, N) transpose of the value profiles:
    SV_u into ``e_sv[u]``; a live contract on a live firm-firm link (``live_ff[u]``, ``left[u] > 0``)
    adds 1 to ``contracts[a]`` and ``contracts[b]``; on each live direction the trust update. Then,
    when ``sums``: per live directed edge, add SV, COMM, OPP and the new trust to the observer's row
    of ``acc`` (N, 4).
    """
    dim = values_t.shape[0]
    m = ua.shape[0]
    # SV dimension by dimension over the transposed values (V, N): each pass gathers from one
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
            t = trust[d] + speed * (sigmoid(x) - trust[d])
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


@numba.njit(**JIT)
def live_edge_trust(alive_d, trust):
    """Sum and number of trust values on live directed edges (the isolates' mean trust)."""
    total = 0.0
    n_live = 0
    for d in range(alive_d.shape[0]):
        if alive_d[d]:
            total += trust[d]
            n_live += 1
    return total, n_live


@numba.njit(**JIT)
def actor_antecedents(acc, degree, active, values, culture, contracts, sunk, capacity, benefit, product, fallback_trust,
                      shared_values, communication, opportunism, termination_costs, relationship_benefits, mean_trust):
    """Antecedents and mean trust per actor, from the sums ``acc`` of :func:`relationship_pass` and the
    live degree (module docstring). Isolates: SV is the culture similarity alone, COMM and OPP are 0,
    an active isolate's mean trust is ``fallback_trust``; an inactive row keeps its last mean trust.
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


@numba.njit(**CURVES_JIT)
def commitment_pass(contracts, relationship_benefits, shared_values, mean_trust, termination_costs, bias, w_rb, w_sv,
                    w_trust, w_tc, speed, commitment, partner_commitment):
    """Commitment to the cluster and to partners (module docstring)."""
    for i in range(commitment.shape[0]):
        common = bias + w_rb * relationship_benefits[i] + w_sv * shared_values[i] + w_trust * mean_trust[i]
        target = sigmoid(common + w_tc * termination_costs[i])
        commitment[i] += speed * (target - commitment[i])
        k_i = float(contracts[i])
        target_p = sigmoid(common + w_tc * (k_i / (k_i + 2.0)))
        partner_commitment[i] += speed * (target_p - partner_commitment[i])


@numba.njit(**CURVES_JIT)
def outcome_pass(commitment, mean_trust, staleness, slope, info_slope, acquiescence, propensity_to_leave,
                 functional_conflict, decision_uncertainty):
    """The four outcomes mediated by C and T, decision uncertainty also by the information's quality
    ``1 - staleness`` (module docstring)."""
    for i in range(commitment.shape[0]):
        c = commitment[i]
        t = mean_trust[i]
        acquiescence[i] = sigmoid(slope * (c - 0.5))
        propensity_to_leave[i] = sigmoid(-slope * (c - 0.35))
        functional_conflict[i] = sigmoid(slope * (t - 0.5))
        decision_uncertainty[i] = sigmoid(-slope * (t - 0.5) - info_slope * (0.5 - staleness[i]))
