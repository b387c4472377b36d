"""Trust and commitment after Morgan & Hunt (1994), as 001 (Figure 2) presents it.

The KMV model over the state's arrays (the loops are compiled, ``sim/kernels.py``):

* **Antecedents** per actor: relationship termination costs (TC), relationship
  benefits (RB), shared values (SV), communication (COMM), opportunistic
  behaviour (OPP); SV, COMM and OPP are also held per relationship.
* **Trust** per directed relationship d (observer i, partner j), a
  partial adjustment towards a logistic target::

      target_d = sigma(b0 + w_sv SV_d + w_comm COMM_d - w_opp OPP_d)
      trust_d <- trust_d + speed (target_d - trust_d)

* **Commitment** to the cluster per actor::

      target_i = sigma(c0 + w_tc TC_i + w_rb RB_i + w_v SV_i + w_t T_i)

  and to partners the same with the contract-based termination costs.
* **Outcomes** depend on the antecedents only through trust and commitment
  (the mediated model the survey favoured): acquiescence (+C), propensity to
  leave (-C), cooperation (+C, +T; computed in ``behaviour.py`` with the
  incentive), functional conflict (+T), decision-making uncertainty (-T,
  computed as 1 - functional conflict: the same logistic curve mirrored).

Every sign above is one of the thirteen paths of MODEL.md; tests check each.
"""

from __future__ import annotations

import numpy as np

from . import kernels

__all__ = ["sigmoid", "update_trust", "update_relationships", "update_commitment", "update_outcomes", "OUTCOME_SLOPE"]

#: Slope of the outcome curves around their midpoint (an assumption; see docs/ODD.md).
OUTCOME_SLOPE = 6.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _relationship_pass(st, alive_d: np.ndarray, live_ff: np.ndarray, p, *, sums: bool):
    """One fused loop over the edges (``kernels.relationship_pass``): SV_u, contracts, trust, sums."""
    n, e = st.n_nodes, st.n_edges
    t = p.trust
    acc = np.zeros((n, 4)) if sums else np.zeros((0, 4))
    contracts = np.zeros(n, dtype=np.int64)
    kernels.relationship_pass(
        alive_d, st.ua[:e], st.ub[:e], np.ascontiguousarray(st.values[:n].T), live_ff, st.contract_left[:e], st.comm[: 2 * e], st.opp[: 2 * e],
        st.trust[: 2 * e], float(t.bias), float(t.w_shared_values), float(t.w_communication), float(t.w_opportunism),
        float(t.speed), sums, st.e_shared_values[:e], contracts, acc,
    )
    return acc, contracts


def update_trust(st, alive_d: np.ndarray, p) -> None:
    """Move trust on every live directed edge towards its KMV target::

        SV_u     = clip(1 - sqrt(mean_k (v_ak - v_bk)^2), 0, 1)   (the two ends' value profiles)
        target_d = sigma(b0 + w_sv SV_u + w_comm COMM_d - w_opp OPP_d)
        trust_d <- clip(trust_d + speed (target_d - trust_d), 0, 1)
    """
    _relationship_pass(st, alive_d, np.zeros(st.n_edges, dtype=bool), p, sums=False)


def update_relationships(st, alive_d: np.ndarray, live_ff: np.ndarray, degree: np.ndarray, culture: np.ndarray, p) -> np.ndarray:
    """Shared values and the trust update per edge; antecedents and mean trust per actor.

    Per edge (one loop, ``kernels.relationship_pass``): SV_u from the value
    profiles, the live contracts per actor, and the trust update (see
    ``update_trust``). Per actor (``kernels.actor_antecedents``): SV_i, COMM_i,
    OPP_i are the means over the actor's live relationships (SV_i half that
    mean, half the similarity to the cluster culture; the culture alone for
    isolates); TC_i = 0.6 k/(k+2) + 0.4 sunk/(sunk+capacity) with k live
    contracts; RB_i = b/(b+0.5), b the perceived benefits; mean trust over
    live partners (the mean over all live edges for active isolates; a firm
    that left keeps its last). The sums read
    COMM/OPP/SV, which the trust update does not change.

    Args:
        st: the ``ClusterState``.
        alive_d: ``(2E,)`` mask of live directed edges.
        live_ff: ``(E,)`` mask of live firm-firm edges (where contracts count).
        degree: ``(N,)`` live edges per actor (float; the denominators of the means).
        culture: ``(V,)`` the cluster culture (mean member values).
        p: the ``Scenario``.

    Returns:
        ``(N,)`` number of live contracts per actor.
    """
    n = st.n_nodes
    acc, contracts = _relationship_pass(st, alive_d, live_ff, p, sums=True)
    fallback = 0.5  # mean trust of an active isolate: the mean over all live edges (only worked out when needed)
    if np.any((degree == 0) & st.active[:n]):
        total, n_live = kernels.live_edge_trust(alive_d, st.trust[: 2 * st.n_edges])
        fallback = total / n_live if n_live else st.trust[0] if st.n_edges else 0.5
    kernels.actor_antecedents(
        acc, degree, st.active[:n], st.values[:n], np.ascontiguousarray(culture, dtype=np.float64), contracts, st.sunk[:n], st.capacity[:n],
        st.benefit[:n], float(p.internal_marketing.product), float(fallback), st.shared_values[:n], st.communication[:n],
        st.opportunistic_behaviour[:n], st.termination_costs[:n], st.relationship_benefits[:n], st.mean_trust[:n],
    )
    return contracts


def update_commitment(st, contracts_of: np.ndarray, p) -> None:
    """Commitment to the cluster and to partners, towards their KMV targets (``kernels.commitment_pass``)."""
    t = p.trust
    n = st.n_nodes
    kernels.commitment_pass(
        np.asarray(contracts_of, dtype=np.int64), st.relationship_benefits[:n], st.shared_values[:n], st.mean_trust[:n],
        st.termination_costs[:n], float(t.commitment_bias), float(t.w_benefits), float(t.w_values_commitment),
        float(t.w_trust_commitment), float(t.w_termination_costs), float(t.commitment_speed),
        st.commitment[:n], st.partner_commitment[:n],
    )


def update_outcomes(st) -> None:
    """Outcomes mediated by trust (T) and commitment (C) (``kernels.outcome_pass``)."""
    n = st.n_nodes
    kernels.outcome_pass(st.commitment[:n], st.mean_trust[:n], OUTCOME_SLOPE, st.acquiescence[:n],
                         st.propensity_to_leave[:n], st.functional_conflict[:n], st.decision_uncertainty[:n])
