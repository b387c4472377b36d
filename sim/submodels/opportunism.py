"""Opportunism observed (ODD 7.6): what each actor learns about its partners' conduct.

For a live directed edge d (observer s, partner j)::

    observation_d = [j breached its contract with s]      if the pair traded under contract this step
                  = news the message from j brought        if a report arrived
    opp_d <- opp_d + memory (observation_d - opp_d)      (:func:`observe_partner`)

A report arrives where a message arrived this step (``submodels.information``
lists those edges and what each brought). Each edge is updated once, by its
contract or by a report. A message tells what its sender's news was when it
was sent, so a relayed report is stale: at the end of the step each actor's
news for its next messages is set from its conduct of this step::

    news_j   = [j did not cooperate]                    for a firm
             = unfair_j                                 for an association
    unfair_a = #{members of a: not cooperating, not detected} / #{members of a}

Where the update runs: the reports are applied here (:func:`observe`), just
before the contracts' loop, skipping the pairs under contract at the start
of the step; the pairs under contract observe each other inside the
contracts' loop (``contract.contract_pass`` calls :func:`observe_partner`),
which knows who breached without a second pass over the edges. The result
is that of one pass after all contracts.
"""

from __future__ import annotations

import numba
import numpy as np

from ..numerics import JIT

__all__ = ["observe", "observe_partner", "partner_reports", "observe_reports"]


def observe(model, ctx) -> None:
    """What the reports of this step tell, on every edge with an arrival and no contract; then each actor's
    news for the messages of the next step."""
    st, m, n, e = model.state, ctx.masks, ctx.n, model.state.n_edges
    observe_reports(ctx.info.reports, st.ua[:e], st.ub[:e], m.live_ff, st.contract_left[:e], ctx.info.news,
                    model.params.trust.memory, st.opp[: 2 * e])
    partner_reports(st.cooperating[:n], m.members, ctx.pool.detected, m.member_assoc, m.assoc_members, m.assoc_idx, st.news[:n])


@numba.njit(inline="always", **JIT)
def observe_partner(opp, d, observation, memory):
    """The rule: ``opp_d <- opp_d + memory (observation - opp_d)``."""
    opp[d] += memory * (observation - opp[d])


@numba.njit(**JIT)
def partner_reports(coop, members, detected, group_of, group_size, assoc_idx, reported):
    """What a report about node j tells its partners (its news), into ``reported``: 1 for a defecting firm, 0
    for a cooperating one; for an association, its unfairness (``group_of``, ``group_size`` as in the decision)."""
    n = coop.shape[0]
    for j in range(n):
        reported[j] = 0.0 if coop[j] else 1.0
    n_assoc = assoc_idx.shape[0]
    unexposed = np.zeros(n_assoc + 1)  # non-members fall in the last, unused group
    for i in range(n):
        unexposed[group_of[i]] += 1.0 if (members[i] and not coop[i] and not detected[i]) else 0.0
    for a in range(n_assoc):
        reported[assoc_idx[a]] = unexposed[a] / group_size[a] if group_size[a] > 0 else 0.0


@numba.njit(**JIT)
def observe_reports(reports, ua, ub, live_ff, left, news, memory, opp):
    """On each live directed edge d in ``reports`` (the arrivals), observe ``news[d]``, what its message
    told; except on
    pairs under a live contract (``live_ff[u]``, ``left[u] > 0``, before this step's contracts), which
    observe the breach in the contracts' loop instead. Going through the list of arrivals (about a third of
    the live edges) instead of every edge keeps this pass short."""
    for i in range(reports.shape[0]):
        d = reports[i]
        u = d >> 1
        if not (live_ff[u] and left[u] > 0):
            observe_partner(opp, d, news[d], memory)
