"""Contracts (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry Clusters*,
section 3.3 (3)): bilateral contracts on firm-firm links (ODD 7.7).

A contract runs ``duration`` steps; its money terms are per unit of contract
size, the geometric mean capacity of the two parties. Each step each party
honours it when it cooperates and breaches it otherwise. On live firm-firm
edge u = (a, b) under contract, with ``T_u`` the pair's mean trust::

    size_u  = sqrt(cap_a cap_b)
    bonus_u = (1 + channel_sharing [group_a != group_b]) (1 + leading_traction [a or b leading])
    pay_a   = value size bonus [b honours] + breach_gain size ([a breaches] - [b breaches])
            + breach_penalty size ([b caught] - [a caught]) - transaction_cost size (1 - 0.5 T_u)

and symmetrically for b. The bonus carries two marketing modes: channel
network sharing (partners of different product groups) and orders from a
leading firm (traction). A breach is caught with ``enforcement_prob``: the
breacher pays ``breach_penalty`` to its partner and the contract ends. At
expiry a contract is renewed with probability
``sigmoid(renewal_slope (T_u - renewal_threshold))``; uncontracted live links
sign with probability ``formation_rate T_u``. Contracts on dead links are
cancelled first. The pairs that traded under contract observe each other's
breach (``opportunism.observe_partner``) in the same loop.

Money accounts: breach gains and penalties are transfers (sum to zero); only
``value`` and transaction costs create or use money.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..context import ContractResult
from ..numerics import JIT, sigmoid, split
from ..state import LEADING
from .opportunism import observe_partner

__all__ = ["trade", "run_contracts", "contract_pass"]


def trade(model, ctx) -> None:
    """The step's contracts into ``ctx.contracts`` (zeros when the mechanism is off); ``cash`` takes their payments."""
    p, n = model.params, ctx.n
    if p.mechanisms.contract.enabled:
        ctx.contracts = run_contracts(model.state, ctx.masks.live_ff, p, model.rng)
        ctx.cash += ctx.contracts.cash
        # breach gains and penalties pass between the partners; what is left is the contracts' value net of costs
        ctx.ledger["contract_surplus"] = ctx.contracts.created
    else:
        ctx.contracts = ContractResult(surplus=np.zeros(n), caught=np.zeros(n, dtype=bool))


def run_contracts(st, live_ff: np.ndarray, p, rng: np.random.Generator) -> ContractResult:
    """Trade, breach, enforce, expire, renew and sign contracts on live firm-firm links.

    One uniform per undirected edge (``rng.random(E)``) serves, split in turn,
    the catch of a's breach, of b's, and the renewal, or the signing on an
    uncontracted link; the loop is :func:`contract_pass`. The result's ``cash``
    holds each actor's payments of the step.
    """
    c = p.mechanisms.contract
    mk = p.marketing
    n, e = st.n_nodes, st.n_edges
    cash, surplus = np.zeros(n), np.zeros(n)
    caught = np.zeros(n, dtype=bool)
    breaches, created, in_force = contract_pass(
        st.ua[:e], st.ub[:e], live_ff, st.contract_left[:e], st.cooperating[:n], st.trust[: 2 * e],
        st.product_group[:n], st.kind[:n], st.capacity[:n], rng.random(e),
        float(c.value), float(c.breach_gain), float(c.breach_penalty), float(c.transaction_cost), float(c.enforcement_prob),
        int(c.duration), float(c.renewal_slope), float(c.renewal_threshold), float(c.formation_rate),
        float(mk.channel_sharing), float(mk.leading_traction),
        cash, surplus, caught, float(p.trust.memory), st.opp[: 2 * e],
    )
    return ContractResult(surplus=surplus, caught=caught, breaches=int(breaches), in_force=int(in_force),
                          created=float(created), cash=cash)


@numba.njit(**JIT)
def contract_pass(ua, ub, live_ff, left, coop, trust, product_group, kind, capacity, r,
                  value, breach_gain, breach_penalty, transaction_cost, enforcement_prob, duration,
                  renewal_slope, renewal_threshold, formation_rate, channel_sharing, leading_traction,
                  cash, surplus, caught, memory, opp):
    """The contracts of one step (module docstring), per firm-firm edge.

    One uniform ``r[u]`` split into the trials it needs: on a contract,
    ``x < enforcement_prob`` for a's breach, then for b's, then (not caught,
    just expired) the renewal; on a live uncontracted link, the signing.
    Cash and surplus accumulate into ``cash``/``surplus`` (zeroed by the caller).

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
            bonus = bonus * (1.0 + leading_traction * (1.0 if kind[a] == LEADING or kind[b] == LEADING else 0.0))
            size = math.sqrt(capacity[a] * capacity[b])
            tc = transaction_cost * size * (1.0 - 0.5 * pair_trust)
            val_a = 0.0 if brb else value * size * bonus
            val_b = 0.0 if bra else value * size * bonus
            gain = breach_gain * size * ((1.0 if bra else 0.0) - (1.0 if brb else 0.0))
            ca = cb = False
            if bra:
                ca = x < enforcement_prob
                x = split(x, enforcement_prob, ca)
                breaches += 1
            if brb:
                cb = x < enforcement_prob
                x = split(x, enforcement_prob, cb)
                breaches += 1
            pen = breach_penalty * size * ((1.0 if cb else 0.0) - (1.0 if ca else 0.0))
            cash[a] += val_a + gain + pen - tc
            cash[b] += val_b - gain - pen - tc
            surplus[a] += val_a
            surplus[b] += val_b
            created += val_a + val_b - 2.0 * tc
            observe_partner(opp, 2 * u, 1.0 if brb else 0.0, memory)  # 2u: a observes b
            observe_partner(opp, 2 * u + 1, 1.0 if bra else 0.0, memory)
            if ca:
                caught[a] = True
            if cb:
                caught[b] = True
            if ca or cb:
                left[u] = 0
            else:
                left[u] -= 1
                if left[u] == 0:
                    renew = sigmoid(renewal_slope * (pair_trust - renewal_threshold))
                    if x < renew:
                        left[u] = duration
        elif live_ff[u]:
            if x < formation_rate * pair_trust:
                left[u] = duration
        in_force += left[u] > 0
    return breaches, created, in_force
