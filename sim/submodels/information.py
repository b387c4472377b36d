"""Information (*Territorial cluster management digitalization*): direct contact or relay through the
Cluster Development Center (ODD 7.2).

Each step every live relationship carries at most one message each way, sent
with probability ``message_rate * (0.5 + internal_marketing.place)`` (the 4P
"place": the information space). A message goes through the CDC with
probability ``cdc_share`` and directly otherwise:

* direct: lost with probability ``direct_loss``, no delay;
* relay: lost with probability ``relay_loss * (1 - digitalization)`` and
  delayed ``round(relay_delay * (1 - digitalization))`` steps.

A message carries what its sender saw when it sent it: its ``news`` (its own
last conduct, set by ``submodels.opportunism`` at the end of the step before)
and its freshness ``1 / (1 + age)``, age the delay it travels. Delivered
messages land in ring buffers ``inbox[slot, d]`` (how many),
``inbox_news[slot, d]`` and ``inbox_fresh[slot, d]`` (their summed content)
on the receiver's directed edge and arrive when their slot comes up, so late
news is stale: a relayed report tells what the partner did ``delay`` steps
before. Arrivals feed the communication antecedent,
``COMM_d <- COMM_d + memory (arrived_d - COMM_d)`` on live edges, and expose
the sender's conduct to the receiver: the ``exposure`` of actor j is the
share of its live partners that heard about it this step (reputation), the
edges with an arrival are the ones on which opportunism is observed from
the news they brought (``submodels.opportunism``), and each receiver's
``staleness``, ``S_i <- S_i + memory (mean (1 - freshness) of its arrivals - S_i)``
(kept when nothing arrives), is the quality of its information that drives
decision uncertainty (``submodels.trust``).

The IT-actor costs ``digitalization_cost * digitalization`` per active firm
per step, paid by the association's members through their dues (equal
shares; every active firm an equal share when there are no members) or by
public funds for the Cluster Development Center, and then by no firm
(``digitalization_payer``; :func:`pay_it_actor`).
"""

from __future__ import annotations

import numba
import numpy as np

from ..context import InfoStats
from ..numerics import JIT

__all__ = ["InfoStats", "relay_delay", "exchange_messages", "message_pass", "exchange", "pay_it_actor"]


def relay_delay(p) -> int:
    """Relay delay in steps at the scenario's digitalization level."""
    i = p.information
    return int(round(i.relay_delay * (1.0 - i.digitalization)))


def exchange(model, ctx) -> None:
    """The step's messages (:func:`exchange_messages`) into ``ctx.info``."""
    st, m = model.state, ctx.masks
    ctx.info = exchange_messages(st, m.alive_d, m.degree, ctx.t, model.params, model.rng, has_cdc=True)


def pay_it_actor(model, ctx) -> None:
    """The IT-actor's cost of the step (``ctx.digitalization_cost``), paid by its payer (module docstring)."""
    info = model.params.information
    m = ctx.masks
    ctx.digitalization_cost = info.digitalization_cost * info.digitalization * len(m.firms_idx)
    if info.digitalization_payer == "public" or ctx.digitalization_cost == 0:
        return
    # the members' dues pay it; a cluster without members pays it firm by firm
    payers = m.members if m.members.any() else m.firms
    ctx.cash -= np.where(payers, ctx.digitalization_cost / payers.sum(), 0.0)
    ctx.ledger["digitalization"] = -ctx.digitalization_cost  # firms (members' dues) to the IT-actor


def exchange_messages(st, alive_d: np.ndarray, degree: np.ndarray, t: int, p, rng: np.random.Generator, has_cdc: bool) -> InfoStats:
    """Send, lose, delay and deliver this step's messages; update ``comm`` and ``exposure``.

    One uniform per directed edge (``rng.random(2E)``) decides sending,
    routing and loss (split in turn); the loop is :func:`message_pass`.
    ``degree`` is the live degree per node (the denominator of ``exposure``).
    The edges on which a message arrived are listed in ``InfoStats.reports``.
    """
    info = p.information
    e2 = 2 * st.n_edges
    n = st.n_nodes
    rate = min(1.0, info.message_rate * (0.5 + p.internal_marketing.place))
    delay = relay_delay(p)
    slots = st.inbox_slots
    # message on directed edge d travels from dst[d] to src[d] (the receiver observes)
    arrived = np.empty(e2, dtype=np.bool_)
    reports = np.empty(e2, dtype=np.int32)
    news = np.empty(e2)
    now, later = t % slots, (t + delay) % slots
    n_sent, n_lost, n_deliv, n_relayed, n_reports = message_pass(
        rng.random(e2), alive_d, st.ua[: st.n_edges], st.ub[: st.n_edges], st.inbox[now, :e2], st.inbox[later, :e2], rate,
        info.cdc_share if has_cdc else 0.0, info.relay_loss * (1.0 - info.digitalization), info.direct_loss,
        p.trust.memory, st.comm[:e2], arrived, degree, st.exposure[:n], reports,
        st.news[:n], 1.0 / (1.0 + delay), st.inbox_news[now, :e2], st.inbox_news[later, :e2],
        st.inbox_fresh[now, :e2], st.inbox_fresh[later, :e2], news, st.staleness[:n],
    )
    mean_delay = float(delay * n_relayed / n_deliv) if n_deliv else 0.0
    return InfoStats(sent=int(n_sent), lost=int(n_lost), delay=mean_delay, reports=reports[:n_reports], news=news)


@numba.njit(**JIT)
def message_pass(r, alive_d, ua, ub, inbox_now, inbox_later, rate, cdc_share, relay_loss, direct_loss, memory,
                 comm, arrived, degree, exposure, reports, sender_news, relay_fresh, news_now, news_later,
                 fresh_now, fresh_later, news, staleness):
    """Send, route, lose, delay and deliver; then COMM_d, ``exposure``, the list of arrivals, what they
    tell and the receivers' ``staleness``.

    Per live directed edge, with one uniform ``r[d]`` split into three trials:
    sent with ``rate``; via the CDC with ``cdc_share`` (else direct); lost with
    ``relay_loss`` (relay) or ``direct_loss`` (direct). Delivered messages go
    to the inbox row ``inbox_now`` (direct) or ``inbox_later`` (relay; the same
    row when there is no delay). Arrivals empty ``inbox_now``. The live
    directed edges on which a message arrived go, in order, to the front of
    ``reports`` (int32, at least ``len(alive_d)`` long). A message sent on d
    carries its sender's ``sender_news`` and freshness 1 (direct) or
    ``relay_fresh`` (relayed) into ``news_*``/``fresh_*`` beside its count;
    an arrival's mean news goes to ``news[d]`` (the rest of ``news`` is not
    read). ``arrived`` is scratch.

    Returns ``(sent, lost, delivered, relayed, number of reports)``.
    """
    sent = 0
    delivered = 0
    relayed = 0
    # safe reciprocals: at rate 0 nothing is sent, at cdc_share 0 or 1 one route is never taken,
    # so the rescaled number is not used there and 0 avoids a division by zero
    inv_rate = 1.0 / rate if rate > 0.0 else 0.0
    inv_cdc = 1.0 / cdc_share if cdc_share > 0.0 else 0.0
    inv_direct = 1.0 / (1.0 - cdc_share) if cdc_share < 1.0 else 0.0
    # what d's partner would tell, gathered first into ``news``: a gather inside the loop below keeps
    # LLVM from vectorizing it. Directed edge 2u is about ub[u] (its dst), 2u + 1 about ua[u].
    for u in range(ua.shape[0]):
        news[2 * u] = sender_news[ub[u]]
        news[2 * u + 1] = sender_news[ua[u]]
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
        delivered += 1 if ok else 0  # an int select: adding bools to the counters compiles to slower code
        relayed += 1 if (ok and via) else 0
        told = news[d]
        late = 1.0 if (ok and via) else 0.0
        early = 1.0 if (ok and not via) else 0.0
        inbox_later[d] += ok & via
        news_later[d] += late * told
        fresh_later[d] += late * relay_fresh
        inbox_now[d] += ok & (not via)
        news_now[d] += early * told
        fresh_now[d] += early
        count = inbox_now[d]
        got = count > 0
        # a relayed message can still arrive on an edge that died meanwhile: it empties the inbox, no more
        heard = got & live
        news[d] = news_now[d] / count if got else 0.0
        arrived[d] = heard
        fresh_now[d] = fresh_now[d] / count if heard else 0.0  # scratch until the reports' pass: mean freshness
        inbox_now[d] = 0
        news_now[d] = 0.0
        c = comm[d]
        comm[d] = c + memory * ((1.0 if got else 0.0) - c) if live else c
    # the arrivals compacted into ``reports`` without branches, then the per-node counts over the arrivals
    # only (about a third of the edges), in loops of their own: scattered stores in the loop above stall it
    n_reports = 0
    for d in range(arrived.shape[0]):
        reports[n_reports] = d
        n_reports += 1 if arrived[d] else 0
    heard_of = np.zeros(exposure.shape[0], dtype=np.int64)
    received = np.zeros(exposure.shape[0], dtype=np.int64)
    stale = np.zeros(exposure.shape[0])
    for i in range(n_reports):
        d = reports[i]
        u = d >> 1
        odd = (d & 1) == 1
        observer = ub[u] if odd else ua[u]  # 2u is observed by ua[u], about ub[u]
        partner = ua[u] if odd else ub[u]
        heard_of[partner] += 1
        received[observer] += 1
        stale[observer] += 1.0 - fresh_now[d]
        fresh_now[d] = 0.0
    for j in range(exposure.shape[0]):
        exposure[j] = heard_of[j] / degree[j] if degree[j] > 0 else 0.0
        if received[j] > 0:
            staleness[j] += memory * (stale[j] / received[j] - staleness[j])
    return sent, sent - delivered, delivered, relayed, n_reports
