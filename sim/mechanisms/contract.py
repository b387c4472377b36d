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

from ..trust import sigmoid

__all__ = ["ContractResult", "run_contracts", "contracts_per_node"]


@dataclass
class ContractResult:
    cash: np.ndarray  # (N,)
    breaches: int
    caught: np.ndarray  # (N,) bool: a breach of the node was caught
    created: float  # value created minus transaction costs; cash.sum() must equal it
    surplus: np.ndarray  # (N,) honoured value received
    observed: np.ndarray  # (E,) bool: the pair traded under contract this step
    breach_a: np.ndarray  # (E,) bool
    breach_b: np.ndarray  # (E,) bool


def contracts_per_node(st, live: np.ndarray) -> np.ndarray:
    e = st.n_edges
    has = live & (st.contract_left[:e] > 0)
    return np.bincount(st.ua[:e][has], minlength=st.n_nodes) + np.bincount(st.ub[:e][has], minlength=st.n_nodes)


def run_contracts(st, live_ff: np.ndarray, p, rng: np.random.Generator) -> ContractResult:
    """Trade, breach, enforce, expire, renew and sign contracts on live firm-firm links."""
    c = p.mechanisms.contract
    mk = p.marketing
    n, e = st.n_nodes, st.n_edges
    ua, ub = st.ua[:e], st.ub[:e]
    left = st.contract_left[:e]
    left[~live_ff] = 0
    on = left > 0
    coop = st.cooperating[:n]
    br_a = on & ~coop[ua]
    br_b = on & ~coop[ub]
    pair_trust = 0.5 * (st.trust[0 : 2 * e : 2] + st.trust[1 : 2 * e : 2])
    # money moves on contracted links only: compute there (same values, same order)
    k = np.flatnonzero(on)
    ka, kb, bra, brb = ua[k], ub[k], br_a[k], br_b[k]
    bonus = 1.0 + mk.channel_sharing * (st.product_group[ka] != st.product_group[kb])
    bonus = bonus * (1.0 + mk.leading_traction * ((st.kind[ka] == 1) | (st.kind[kb] == 1)))
    size = np.sqrt(st.capacity[ka] * st.capacity[kb])  # contract size: geometric mean capacity
    tc = c.transaction_cost * size * (1.0 - 0.5 * pair_trust[k])
    val_a = np.where(~brb, c.value * size * bonus, 0.0)
    val_b = np.where(~bra, c.value * size * bonus, 0.0)
    gain = c.breach_gain * size * (bra.astype(float) - brb.astype(float))  # to a; b gets -gain
    caught_a = br_a & (rng.random(e) < c.enforcement_prob)
    caught_b = br_b & (rng.random(e) < c.enforcement_prob)
    pen = c.breach_penalty * size * (caught_b[k].astype(float) - caught_a[k].astype(float))  # to a
    pay_a = val_a + gain + pen - tc
    pay_b = val_b - gain - pen - tc
    cash = np.bincount(ka, weights=pay_a, minlength=n) + np.bincount(kb, weights=pay_b, minlength=n)
    surplus = np.bincount(ka, weights=val_a, minlength=n) + np.bincount(kb, weights=val_b, minlength=n)
    caught = np.zeros(n, dtype=bool)
    caught[ua[caught_a]] = True
    caught[ub[caught_b]] = True
    created_e = np.zeros(e)
    created_e[k] = val_a + val_b - 2.0 * tc
    created = float(created_e.sum())
    # lifecycle: caught breaches end the contract; others age, expire, renew
    left[caught_a | caught_b] = 0
    running = left > 0
    left[running] -= 1
    expired = running & (left == 0)
    draw = rng.random(e)
    x = np.flatnonzero(expired)
    renew = np.zeros(e, dtype=bool)
    renew[x] = draw[x] < sigmoid(c.renewal_slope * (pair_trust[x] - c.renewal_threshold))
    left[renew] = c.duration
    free = live_ff & (left == 0) & ~expired & ~(caught_a | caught_b)
    sign = free & (rng.random(e) < c.formation_rate * pair_trust)
    left[sign] = c.duration
    return ContractResult(
        cash=cash,
        breaches=int(br_a.sum() + br_b.sum()),
        caught=caught,
        created=created,
        surplus=surplus,
        observed=on,
        breach_a=br_a,
        breach_b=br_b,
    )
