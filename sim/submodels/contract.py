"""Contracts (Tu Hongbo, *On the Clusters Marketing Model of High-tech Industry Clusters*,
section 3.3 (3)): bilateral supply contracts on trade links (ODD 7.7).

A contract governs a trade link (``trade.py``): it carries the buyer's orders
to the supplier, and its money terms are shares of the order ``o_u`` it
carries this step (``trade.orders``: the buyer's inputs at the supplier's
price, spread over its contracted suppliers by trust and reputation). Each
step each party honours it when it cooperates and breaches it otherwise. On
live trade link u = (a, b) under contract, with ``T_u`` the pair's mean
trust::

    bonus_u = (1 + channel_sharing [group_a != group_b]) (1 + leading_traction [a or b leading])
    pay_a   = saving/2 o_u bonus [b honours] + breach_gain o_u ([a breaches] - [b breaches])
            + breach_penalty o_u ([b caught] - [a caught]) - transaction_cost o_u (1 - 0.5 T_u)

and symmetrically for b: an honoured order saves ``saving`` of its value
(transport, search, stock), split between the partners; a breach loses the
breached side's saving and passes ``breach_gain`` of the order to the
breacher. The order's payment itself is part of the supplier's sales and of
the buyer's variable costs (``market``). The bonus carries two marketing
modes: channel network sharing (partners of different product groups) and
orders from a leading firm (traction). A breach is caught with
``enforcement_prob``: the breacher pays ``breach_penalty`` of the order to
its partner. Whether the partner then ends the contract is its choice: it
ends it with probability::

    end_{b->a} = (1 - FC_b) sigma(renewal_slope (renewal_threshold - trust_{b->a}))

(a partner it still trusts keeps the relationship; functional conflict lets
the dispute be resolved instead, Morgan & Hunt 1994). At expiry a contract
is renewed with probability
``sigmoid(renewal_slope (T_u - renewal_threshold)) R_u K_u W_u`` and an
uncontracted live trade link signs with probability ``formation_rate T_u
R_u K_u W_u``, ``R_u`` the lower reputation of the pair (a firm with a bad
name finds it hard to sign), ``K_u = 1 - CAUTION max(DU_a, DU_b)`` the
caution of the more uncertain partner (decision uncertainty, ``trust.py``)
and ``W_u = max(0, 1 - transaction_cost (1 - 0.5 T_u) / (saving/2 bonus_u))``
what a partner's saving is worth after its transaction cost (a contract
that costs more than it saves is not signed). Contracts
on dead links are cancelled first. The pairs that traded under contract
observe each other's breach (``opportunism.observe_partner``) in the same
loop.

Money accounts: breach gains and penalties are transfers (sum to zero); the
savings and the transaction costs are the contracts' net contribution, the
ledger's ``trade_savings``.
"""

from __future__ import annotations


import numba
import numpy as np

from ..context import ContractResult
from ..numerics import JIT, sigmoid, split
from ..state import LEADING
from .decision import CAUTION
from .opportunism import observe_partner
from .trade import orders, role_of_link

__all__ = ["trade", "run_contracts", "contract_pass", "worth", "bonus"]


def trade(model, ctx) -> None:
    """The step's contracts into ``ctx.contracts`` (zeros when the mechanism is off); ``cash`` takes their payments."""
    p, n = model.params, ctx.n
    if p.mechanisms.contract.enabled:
        ctx.contracts = run_contracts(model.state, ctx.masks.live_ff, model.market.price, p, model.rng)
        ctx.cash += ctx.contracts.cash
        # breach gains and penalties pass between the partners; what is left is the savings net of costs
        ctx.ledger["trade_savings"] = ctx.contracts.created
    else:
        ctx.contracts = ContractResult(surplus=np.zeros(n), caught=np.zeros(n, dtype=bool))


def run_contracts(st, live_ff: np.ndarray, price: np.ndarray, p, rng: np.random.Generator) -> ContractResult:
    """Trade, breach, enforce, expire, renew and sign contracts on live firm-firm links.

    One uniform per undirected edge (``rng.random(E)``) serves, split in turn,
    the catch of a's breach, of b's, the partners' choice to end it, and the
    renewal, or the signing on an uncontracted link; the loop is :func:`contract_pass`. The result's ``cash``
    holds each actor's payments of the step. Orders are placed at ``price``, the product groups' prices of
    the last step.
    """
    c = p.mechanisms.contract
    mk = p.marketing
    n, e = st.n_nodes, st.n_edges
    cash, surplus = np.zeros(n), np.zeros(n)
    caught = np.zeros(n, dtype=bool)
    order = np.empty(e)
    orders(st.ua[:e], st.ub[:e], live_ff, st.contract_left[:e], st.product_group[:n], st.kind[:n], st.capacity[:n],
           st.trust[: 2 * e], st.reputation[:n], st.volume[:e], np.asarray(price, dtype=np.float64), float(p.trade.input_share),
           np.zeros(n), order)
    breaches, created, in_force = contract_pass(
        st.ua[:e], st.ub[:e], live_ff, st.contract_left[:e], st.cooperating[:n], st.trust[: 2 * e],
        st.product_group[:n], st.kind[:n], st.reputation[:n], order, rng.random(e),
        float(p.trade.saving), float(c.breach_gain), float(c.breach_penalty), float(c.transaction_cost), float(c.enforcement_prob),
        int(c.duration), float(c.renewal_slope), float(c.renewal_threshold), float(c.formation_rate),
        float(mk.channel_sharing), float(mk.leading_traction),
        cash, surplus, caught, float(p.trust.memory), st.opp[: 2 * e],
        st.functional_conflict[:n], st.decision_uncertainty[:n], CAUTION,
    )
    return ContractResult(surplus=surplus, caught=caught, breaches=int(breaches), in_force=int(in_force),
                          created=float(created), cash=cash)


@numba.njit(inline="always", **JIT)
def bonus(group_a, group_b, kind_a, kind_b, channel_sharing, leading_traction):
    """``bonus_u`` of the module docstring: channel sharing between product groups, traction of a leading firm."""
    b = 1.0 + channel_sharing * (1.0 if group_a != group_b else 0.0)
    return b * (1.0 + leading_traction * (1.0 if kind_a == LEADING or kind_b == LEADING else 0.0))


@numba.njit(inline="always", **JIT)
def worth(saving, transaction_cost, boost, pair_trust):
    """Share of a partner's saving left after its transaction cost, ``W_u`` (0 when the cost eats it all)."""
    half = 0.5 * saving * boost
    if half <= 0.0:
        return 0.0
    return max(0.0, 1.0 - transaction_cost * (1.0 - 0.5 * pair_trust) / half)


@numba.njit(**JIT)
def contract_pass(ua, ub, live_ff, left, coop, trust, product_group, kind, reputation, order, r,
                  saving, breach_gain, breach_penalty, transaction_cost, enforcement_prob, duration,
                  renewal_slope, renewal_threshold, formation_rate, channel_sharing, leading_traction,
                  cash, surplus, caught, memory, opp, conflict, uncertainty, caution):
    """The contracts of one step (module docstring), per firm-firm edge.

    One uniform ``r[u]`` split into the trials it needs: on a contract,
    ``x < enforcement_prob`` for a's breach, then for b's, then (a breach
    caught) the partners' choice to end it, then (still running, just
    expired) the renewal; on a live uncontracted link, the signing.
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
        x = r[u]
        if on:
            # read only where needed: most links hold no contract and most draws sign none
            bra = not coop[a]
            brb = not coop[b]
            pair_trust = 0.5 * (trust[2 * u] + trust[2 * u + 1])
            boost = bonus(product_group[a], product_group[b], kind[a], kind[b], channel_sharing, leading_traction)
            size = order[u]
            tc = transaction_cost * size * (1.0 - 0.5 * pair_trust)
            val_a = 0.0 if brb else 0.5 * saving * size * boost
            val_b = 0.0 if bra else 0.5 * saving * size * boost
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
                # the wronged partner chooses: end the contract, or resolve the dispute and go on
                end = 0.0
                if ca:
                    end = (1.0 - conflict[b]) * sigmoid(renewal_slope * (renewal_threshold - trust[2 * u + 1]))
                if cb:
                    end_a = (1.0 - conflict[a]) * sigmoid(renewal_slope * (renewal_threshold - trust[2 * u]))
                    end = end + end_a - end * end_a  # either may end it
                ended = x < end
                x = split(x, end, ended)
                if ended:
                    left[u] = 0
            if left[u] > 0:
                left[u] -= 1
                if left[u] == 0:
                    care = (1.0 - caution * max(uncertainty[a], uncertainty[b])) * worth(saving, transaction_cost, boost, pair_trust)
                    renew = sigmoid(renewal_slope * (pair_trust - renewal_threshold)) * min(reputation[a], reputation[b]) * care
                    if x < renew:
                        left[u] = duration
        # signing: every factor after formation_rate is at most 1 (trust, reputation, caution, worth), so a
        # draw at or above formation_rate never signs and the rest is not worked out
        elif live_ff[u] and x < formation_rate and role_of_link(product_group[a], product_group[b], kind[a], kind[b]) != 0:
            pair_trust = 0.5 * (trust[2 * u] + trust[2 * u + 1])
            boost = bonus(product_group[a], product_group[b], kind[a], kind[b], channel_sharing, leading_traction)
            care = (1.0 - caution * max(uncertainty[a], uncertainty[b])) * worth(saving, transaction_cost, boost, pair_trust)
            if x < formation_rate * pair_trust * min(reputation[a], reputation[b]) * care:
                left[u] = duration
        in_force += left[u] > 0
    return breaches, created, in_force
