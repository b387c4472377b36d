"""Information flow (002): direct contact or relay through the Cluster Development Center.

Each step every live relationship carries at most one message each way, sent
with probability ``message_rate * (0.5 + internal_marketing.place)`` (the 4P
"place": the information space). A message goes through the CDC with
probability ``cdc_share`` and directly otherwise:

* direct: lost with probability ``direct_loss``, no delay;
* relay: lost with probability ``relay_loss * (1 - digitalization)`` and
  delayed ``round(relay_delay * (1 - digitalization))`` steps.

Delivered messages land in a ring buffer ``inbox[slot, d]`` on the receiver's
directed edge and arrive when their slot comes up. Arrivals feed the
communication antecedent (an EMA per relationship) and expose the sender's
conduct to the receiver (reputation). The cluster pays
``digitalization_cost * digitalization`` per member per step for the IT-actor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels

__all__ = ["InfoStats", "exchange_messages", "relay_delay"]


@dataclass
class InfoStats:
    sent: int = 0
    lost: int = 0
    delay: float = 0.0  # mean delay (steps) of the messages delivered from this step's sends
    reports: np.ndarray | None = None  # int32: the live directed edges on which a message arrived this step, in order


def relay_delay(p) -> int:
    """Relay delay in steps at the scenario's digitalization level."""
    i = p.information
    return int(round(i.relay_delay * (1.0 - i.digitalization)))


def exchange_messages(st, alive_d: np.ndarray, degree: np.ndarray, t: int, p, rng: np.random.Generator, has_cdc: bool) -> InfoStats:
    """Send, lose, delay and deliver this step's messages; update ``comm``.

    One uniform per directed edge (``rng.random(2E)``) decides sending,
    routing and loss (split in turn, see ``sim/kernels.py``); the loop is
    ``kernels.exchange_messages``. Also sets ``st.exposure``: per node, the
    share of its live edges (``degree``, cached by the model) on which a
    message about it arrived this step; and lists those edges in
    ``InfoStats.reports`` (what the observers learn, ``kernels.observe_reports``).
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
    n_sent, n_lost, n_deliv, n_relayed, n_reports = kernels.exchange_messages(
        rng.random(e2), alive_d, st.ua[: st.n_edges], st.ub[: st.n_edges], st.inbox[t % slots, :e2], st.inbox[(t + delay) % slots, :e2], rate,
        info.cdc_share if has_cdc else 0.0, info.relay_loss * (1.0 - info.digitalization), info.direct_loss,
        p.trust.memory, st.comm[:e2], arrived, degree, st.exposure[:n], reports,
    )
    mean_delay = float(delay * n_relayed / n_deliv) if n_deliv else 0.0
    return InfoStats(sent=int(n_sent), lost=int(n_lost), delay=mean_delay, reports=reports[:n_reports])
