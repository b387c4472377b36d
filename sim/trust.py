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

__all__ = ["sigmoid", "edge_shared_values", "update_antecedents", "update_trust", "update_commitment", "update_outcomes", "OUTCOME_SLOPE"]

#: Slope of the outcome curves around their midpoint (an assumption; see docs/ODD.md).
OUTCOME_SLOPE = 6.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def edge_shared_values(values: np.ndarray, ua: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Similarity in [0, 1] of the value profiles at both ends of each edge."""
    if values.shape[1] >= 8:  # numpy sums 8+ terms pairwise; keep its order there
        dist = np.sqrt(((values[ua] - values[ub]) ** 2).sum(axis=1) / values.shape[1])
        return np.clip(1.0 - dist, 0.0, 1.0)
    # column by column (1-D gathers, 4x faster), summed in the order .sum(axis=1) uses below 8 terms
    cols = values.T.copy()
    d = cols[0][ua] - cols[0][ub]
    acc = d * d
    for col in cols[1:]:
        d = col[ua] - col[ub]
        acc += d * d
    acc /= values.shape[1]
    np.sqrt(acc, out=acc)
    np.subtract(1.0, acc, out=acc)
    return np.clip(acc, 0.0, 1.0, out=acc)


def _mean_by(idx: np.ndarray, x: np.ndarray, n: int, default: np.ndarray | float) -> np.ndarray:
    cnt = np.bincount(idx, minlength=n)
    tot = np.bincount(idx, weights=x, minlength=n)
    out = np.where(cnt > 0, tot / np.maximum(cnt, 1), default)
    return out


def update_antecedents(st, alive_d: np.ndarray, src: np.ndarray, culture: np.ndarray, contracts_of: np.ndarray, p) -> None:
    """Compute the five antecedents per actor from the edge state.

    Args:
        st: the ``ClusterState``.
        alive_d: ``(2E,)`` mask of live directed edges.
        src: ``(2E,)`` observers.
        culture: ``(V,)`` the cluster culture (mean member values).
        contracts_of: ``(N,)`` number of live contracts per actor.
        p: the ``Scenario``.
    """
    n = st.n_nodes
    s = src[alive_d]
    cnt = np.bincount(s, minlength=n)  # live partners per actor, shared by the three means
    has, denom = cnt > 0, np.maximum(cnt, 1)

    def mean(x: np.ndarray, default: np.ndarray | float) -> np.ndarray:
        return np.where(has, np.bincount(s, weights=x, minlength=n) / denom, default)

    sv_d = np.repeat(st.e_shared_values[: st.n_edges], 2)[alive_d]
    own_sv = np.clip(1.0 - np.sqrt(((st.values[:n] - culture) ** 2).sum(axis=1) / st.values.shape[1]), 0.0, 1.0)
    # shared values with partners, and with the cluster culture for actors without partners
    st.shared_values[:n] = 0.5 * mean(sv_d, own_sv) + 0.5 * own_sv
    st.communication[:n] = mean(st.comm[: 2 * st.n_edges][alive_d], 0.0)
    st.opportunistic_behaviour[:n] = mean(st.opp[: 2 * st.n_edges][alive_d], 0.0)
    # termination costs: contracts that would be lost and relationship-specific investment
    cap = np.maximum(st.capacity[:n], 1e-9)
    st.termination_costs[:n] = 0.6 * contracts_of / (contracts_of + 2.0) + 0.4 * st.sunk[:n] / (st.sunk[:n] + cap)
    # relationship benefits as members perceive them; the value proposition (4P: product) scales them
    perceived = st.benefit[:n] * (0.5 + p.internal_marketing.product)
    st.relationship_benefits[:n] = np.clip(perceived, 0.0, None) / (np.clip(perceived, 0.0, None) + 0.5)


def update_trust(st, alive_d: np.ndarray, p) -> None:
    """Move trust on every live directed edge towards its KMV target."""
    t = p.trust
    e2 = 2 * st.n_edges
    sv = np.repeat(st.e_shared_values[: st.n_edges], 2)
    target = sigmoid(t.bias + t.w_shared_values * sv + t.w_communication * st.comm[:e2] - t.w_opportunism * st.opp[:e2])
    trust = st.trust[:e2]
    trust += np.where(alive_d, t.speed * (target - trust), 0.0)
    np.clip(trust, 0.0, 1.0, out=trust)


def mean_trust_of(st, alive_d: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Mean trust of each actor in its live partners (the cluster mean for isolates)."""
    n = st.n_nodes
    tr = st.trust[: 2 * st.n_edges][alive_d]
    fallback = float(tr.mean()) if tr.size else st.trust[0] if st.n_edges else 0.5
    return _mean_by(src[alive_d], tr, n, fallback)


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
