"""Contract mechanism (003 section 3.3 (3)): bilateral contracts on firm-firm links.

A contract runs ``duration`` steps; its money terms below are per unit of
contract size, the geometric mean capacity of the two parties. Each step each party honours it when it
cooperates and breaches it otherwise. Payoff to party x with partner y::

    value * bonus * [y honours] + breach_gain * ([x breaches] - [y breaches])
    - transaction_cost * (1 - 0.5 * mean trust of the pair)

``bonus`` is ``1 + channel_sharing`` for partners in different product groups
(channel network sharing, 003 4.2) and ``1 + leading_traction`` when a
partner is a leading firm (orders from the leader, 4.3). A breach is caught
with ``enforcement_prob``: the breacher pays ``breach_penalty`` to its partner
and the contract ends. At expiry a contract is renewed with probability
``sigmoid(renewal_slope * (mean trust - renewal_threshold))``; uncontracted
live links sign with probability ``formation_rate * mean trust``.

Money accounts: breach gains and penalties are transfers (sum to zero);
only ``value`` and transaction costs create or use money.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels

__all__ = ["ContractResult", "run_contracts"]


@dataclass
class ContractResult:
    cash: np.ndarray  # (N,)
    breaches: int
    in_force: int  # contracts running after the step (the KPI contracts_active)
    caught: np.ndarray  # (N,) bool: a breach of the node was caught
    created: float  # value created minus transaction costs; cash.sum() must equal it
    surplus: np.ndarray  # (N,) honoured value received


def run_contracts(st, live_ff: np.ndarray, p, rng: np.random.Generator) -> ContractResult:
    """Trade, breach, enforce, expire, renew and sign contracts on live firm-firm links.

    One uniform per undirected edge (``rng.random(E)``) serves, split in turn,
    the catch of a's breach, of b's, and the renewal, or the signing on an
    uncontracted link; the loop is ``kernels.contract_pass``. The same loop
    updates the opportunism observed (``st.opp``, ODD 7.3) on both directions
    of each pair that traded under contract: the partner's breach. (Every
    other live edge observes through reports, ``kernels.observe_reports``,
    which the model calls first.)
    """
    c = p.mechanisms.contract
    mk = p.marketing
    n, e = st.n_nodes, st.n_edges
    cash, surplus = np.zeros(n), np.zeros(n)
    caught = np.zeros(n, dtype=bool)
    breaches, created, in_force = kernels.contract_pass(
        st.ua[:e], st.ub[:e], live_ff, st.contract_left[:e], st.cooperating[:n], st.trust[: 2 * e],
        st.product_group[:n], st.kind[:n], st.capacity[:n], rng.random(e),
        float(c.value), float(c.breach_gain), float(c.breach_penalty), float(c.transaction_cost), float(c.enforcement_prob),
        int(c.duration), float(c.renewal_slope), float(c.renewal_threshold), float(c.formation_rate),
        float(mk.channel_sharing), float(mk.leading_traction),
        cash, surplus, caught, float(p.trust.memory), st.opp[: 2 * e],
    )
    return ContractResult(
        cash=cash,
        breaches=int(breaches),
        in_force=int(in_force),
        caught=caught,
        created=float(created),
        surplus=surplus,
    )
