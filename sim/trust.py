"""Trust and commitment after Morgan & Hunt (1994), as 001 (Figure 2) presents it.

The KMV model, vectorized over the state:

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
  incentive), functional conflict (+T), decision-making uncertainty (-T).

Every sign above is one of the thirteen paths of MODEL.md; tests check each.
"""

from __future__ import annotations

import numpy as np

from . import kernels

__all__ = ["sigmoid", "edge_shared_values", "update_trust", "update_relationships", "update_commitment", "update_outcomes", "OUTCOME_SLOPE"]

#: Slope of the outcome curves around their midpoint (an assumption; see docs/ODD.md).
OUTCOME_SLOPE = 6.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def edge_shared_values(values: np.ndarray, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Similarity in [0, 1] of the value profiles at both ends of each edge::

        SV_u = clip(1 - sqrt(mean_k (v_ak - v_bk)^2), 0, 1)

    (loop: ``kernels.shared_values``).
    """
    out = np.empty(len(ua))
    kernels.shared_values(np.ascontiguousarray(values), ua, ub, out)
    return out


def _own_shared_values(st, culture: np.ndarray) -> np.ndarray:
    """Similarity of each actor's values to the culture, as ``edge_shared_values``."""
    n = st.n_nodes
    acc = np.zeros(n)
    for k in range(st.values_dim):  # column by column: faster than .sum(axis=1) over a few columns
        d = st.values[:n, k] - culture[k]
        acc += d * d
    return np.clip(1.0 - np.sqrt(acc / st.values_dim), 0.0, 1.0)


def _relationship_pass(st, alive_d: np.ndarray, p, *, move_trust: bool, sums: bool):
    """One fused loop over the live directed edges (``kernels.relationship_pass``)."""
    n, e = st.n_nodes, st.n_edges
    t = p.trust if move_trust else None
    weights = (t.bias, t.w_shared_values, t.w_communication, t.w_opportunism, t.speed) if move_trust else (0.0,) * 5
    acc = np.zeros((n, 5)) if sums else np.zeros((0, 5))
    total, n_live = kernels.relationship_pass(
        alive_d, st.ua[:e], st.ub[:e], st.e_shared_values[:e], st.comm[: 2 * e], st.opp[: 2 * e], st.trust[: 2 * e],
        *map(float, weights), move_trust, sums, acc,
    )
    return acc, total, n_live


def _set_antecedents(st, acc: np.ndarray, culture: np.ndarray, contracts_of: np.ndarray, p) -> None:
    n = st.n_nodes
    cnt, sv_sum, comm_sum, opp_sum = acc[:, 0], acc[:, 1], acc[:, 2], acc[:, 3]
    has, denom = cnt > 0, np.maximum(cnt, 1)
    own_sv = _own_shared_values(st, culture)
    # shared values with partners, and with the cluster culture for actors without partners
    st.shared_values[:n] = 0.5 * np.where(has, sv_sum / denom, own_sv) + 0.5 * own_sv
    st.communication[:n] = np.where(has, comm_sum / denom, 0.0)
    st.opportunistic_behaviour[:n] = np.where(has, opp_sum / denom, 0.0)
    # termination costs: contracts that would be lost and relationship-specific investment
    cap = np.maximum(st.capacity[:n], 1e-9)
    st.termination_costs[:n] = 0.6 * contracts_of / (contracts_of + 2.0) + 0.4 * st.sunk[:n] / (st.sunk[:n] + cap)
    # relationship benefits as members perceive them; the value proposition (4P: product) scales them
    perceived = np.clip(st.benefit[:n] * (0.5 + p.internal_marketing.product), 0.0, None)
    st.relationship_benefits[:n] = perceived / (perceived + 0.5)


def _mean_trust(st, acc: np.ndarray, total: float, n_live: int) -> np.ndarray:
    cnt, tr_sum = acc[:, 0], acc[:, 4]
    fallback = total / n_live if n_live else st.trust[0] if st.n_edges else 0.5
    return np.where(cnt > 0, tr_sum / np.maximum(cnt, 1), fallback)


def update_trust(st, alive_d: np.ndarray, p) -> None:
    """Move trust on every live directed edge towards its KMV target::

        target_d = sigma(b0 + w_sv SV_d + w_comm COMM_d - w_opp OPP_d)
        trust_d <- clip(trust_d + speed (target_d - trust_d), 0, 1)
    """
    _relationship_pass(st, alive_d, p, move_trust=True, sums=False)


def update_relationships(st, alive_d: np.ndarray, culture: np.ndarray, contracts_of: np.ndarray, p) -> None:
    """Antecedents per actor, the trust update per edge, and mean trust per actor, in one pass.

    Antecedents: SV_i, COMM_i, OPP_i are the means over the actor's live
    relationships (SV_i half that mean, half the similarity to the cluster
    culture; the culture alone for isolates); TC_i = 0.6 k/(k+2) + 0.4
    sunk/(sunk+capacity) with k live contracts; RB_i = b/(b+0.5), b the
    perceived benefits. They read COMM/OPP/SV, which the trust update (see
    ``update_trust``) does not change, so one pass serves both. Mean trust is
    over live partners (the cluster mean for isolates).

    Args:
        st: the ``ClusterState``.
        alive_d: ``(2E,)`` mask of live directed edges.
        culture: ``(V,)`` the cluster culture (mean member values).
        contracts_of: ``(N,)`` number of live contracts per actor.
        p: the ``Scenario``.
    """
    acc, total, n_live = _relationship_pass(st, alive_d, p, move_trust=True, sums=True)
    _set_antecedents(st, acc, culture, contracts_of, p)
    st.mean_trust[: st.n_nodes] = _mean_trust(st, acc, total, n_live)


def update_commitment(st, contracts_of: np.ndarray, p) -> None:
    """Commitment to the cluster and to partners, towards their KMV targets."""
    t = p.trust
    n = st.n_nodes
    common = t.commitment_bias + t.w_benefits * st.relationship_benefits[:n] + t.w_values_commitment * st.shared_values[:n] + t.w_trust_commitment * st.mean_trust[:n]
    target = sigmoid(common + t.w_termination_costs * st.termination_costs[:n])
    st.commitment[:n] += t.commitment_speed * (target - st.commitment[:n])
    partner_tc = contracts_of / (contracts_of + 2.0)
    target_p = sigmoid(common + t.w_termination_costs * partner_tc)
    st.partner_commitment[:n] += t.commitment_speed * (target_p - st.partner_commitment[:n])


def update_outcomes(st) -> None:
    """Outcomes mediated by trust (T) and commitment (C)."""
    n = st.n_nodes
    c = st.commitment[:n]
    tr = st.mean_trust[:n]
    k = OUTCOME_SLOPE
    st.acquiescence[:n] = sigmoid(k * (c - 0.5))
    st.propensity_to_leave[:n] = sigmoid(-k * (c - 0.35))
    st.functional_conflict[:n] = sigmoid(k * (tr - 0.5))
    st.decision_uncertainty[:n] = sigmoid(-k * (tr - 0.5))
