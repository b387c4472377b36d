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

__all__ = ["InfoStats", "exchange_messages", "relay_delay"]


@dataclass
class InfoStats:
    sent: int = 0
    lost: int = 0
    delay: float = 0.0  # mean delay (steps) of the messages delivered from this step's sends
    arrived: np.ndarray | None = None  # (2E,) bool: a message arrived on the edge this step


def relay_delay(p) -> int:
    """Relay delay in steps at the scenario's digitalization level."""
    i = p.information
    return int(round(i.relay_delay * (1.0 - i.digitalization)))


def exchange_messages(st, alive_d: np.ndarray, t: int, p, rng: np.random.Generator, has_cdc: bool) -> InfoStats:
    """Send, lose, delay and deliver this step's messages; update ``comm``."""
    info = p.information
    e2 = 2 * st.n_edges
    rate = min(1.0, info.message_rate * (0.5 + p.internal_marketing.place))
    # message on directed edge d travels from dst[d] to src[d] (the receiver observes)
    send = alive_d & (rng.random(e2) < rate)
    via_cdc = send & (rng.random(e2) < (info.cdc_share if has_cdc else 0.0))
    p_loss = np.where(via_cdc, info.relay_loss * (1.0 - info.digitalization), info.direct_loss)
    lost = send & (rng.random(e2) < p_loss)
    delivered = send & ~lost
    delay = relay_delay(p)
    slots = st.inbox_slots
    now = t % slots
    direct = delivered & ~via_cdc
    relayed = delivered & via_cdc
    st.inbox[now, :e2] += direct
    st.inbox[(t + delay) % slots, :e2] += relayed
    arrived = st.inbox[now, :e2] > 0
    st.inbox[now, :e2] = 0
    m = p.trust.memory
    comm = st.comm[:e2]
    comm += np.where(alive_d, m * (arrived - comm), 0.0)
    n_sent = int(send.sum())
    n_deliv = int(delivered.sum())
    mean_delay = float(delay * relayed.sum() / n_deliv) if n_deliv else 0.0
    return InfoStats(sent=n_sent, lost=int(lost.sum()), delay=mean_delay, arrived=arrived)
