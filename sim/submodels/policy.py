"""Policy events due this step apply (ODD 7.15, the timeline).

A scenario's ``[[policy]]`` entries change levers at given steps. At the
start of step t, before any other submodel, in file order, each event

* that starts at t records the values in force of its levers;
* that is ramping sets each lever to ``old + (new - old) (t - at + 1) / ramp``
  (the new value exactly at ``at + ramp - 1``; integers rounded);
* without a ramp sets the new values at ``at``;
* that ends at t (``until``) puts back the values it recorded.

The old single-event keys become events when the model is built: the demand
shock sets ``market.demand_shift`` to ``shock_size`` from ``shock_step``
until ``shock_step + shock_duration``; competitor entry raises
``market.competitor_pressure`` to ``competitor_entry_pressure`` (if higher)
from ``competitor_entry_step``.

Levers change on the model's own copy of the scenario, which every part of
the model reads; nothing draws a random number here, so a run equals the
static run up to its first event. The relay inbox grows when a change
lengthens the relay delay beyond its slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scenario import Scenario, flatten_keys
from .information import relay_delay

__all__ = ["Event", "timeline", "apply_due"]


@dataclass
class Event:
    """One event of a model's timeline (a ``[[policy]]`` entry or an old single-event key)."""

    at: int
    changes: dict[str, Any]
    ramp: int | None = None
    until: int | None = None
    label: str = ""
    before: dict[str, Any] = field(default_factory=dict)  # the values in force when the event started


def timeline(p: Scenario) -> list[Event]:
    """The events of a scenario: the old shock and entry keys first, then the ``[[policy]]`` entries in order."""
    m, steps = p.market, p.run.steps
    events = []
    # the first step is 1: an old key at step 0 takes effect from step 1, as it always did
    if m.shock_step is not None and m.shock_step + m.shock_duration > 1 and m.shock_step <= steps:
        end = m.shock_step + m.shock_duration
        events.append(Event(max(m.shock_step, 1), {"market.demand_shift": m.shock_size},
                            until=end if end <= steps else None, label="demand shock"))
    if m.competitor_entry_step is not None and m.competitor_entry_step <= steps:
        events.append(Event(max(m.competitor_entry_step, 1),
                            {"market.competitor_pressure": max(m.competitor_pressure, m.competitor_entry_pressure)},
                            label="competitor entry"))
    for ev in p.policy:
        events.append(Event(ev.at, flatten_keys(ev.set), ev.ramp, ev.until, ev.label))
    return events


def _section(p: Scenario, key: str) -> tuple[Any, str]:
    *path, name = key.split(".")
    obj: Any = p
    for part in path:
        obj = getattr(obj, part)
    return obj, name


def _set(p: Scenario, key: str, value: Any) -> None:
    obj, name = _section(p, key)
    setattr(obj, name, value)  # validated on assignment


def _ramped(old: Any, new: Any, k: int, ramp: int) -> Any:
    """Step ``k`` (0-based) of a linear ramp from ``old`` to ``new`` over ``ramp`` steps."""
    if k + 1 >= ramp:
        return new
    value = old + (new - old) * (k + 1) / ramp
    return int(round(value)) if isinstance(old, int) and isinstance(new, int) else float(value)


def apply_due(model, ctx) -> None:
    """Apply the events due at step ``ctx.t`` to ``model.params`` (module docstring)."""
    events = model.timeline
    if not events:
        return
    t, p = ctx.t, model.params
    changed = False
    for ev in events:
        if ev.at == t:
            ev.before = {k: p.get(k) for k in ev.changes}
        if ev.ramp is not None and ev.at <= t < ev.at + ev.ramp:
            for k, v in ev.changes.items():
                _set(p, k, _ramped(ev.before[k], v, t - ev.at, ev.ramp))
            changed = True
        elif ev.at == t:
            for k, v in ev.changes.items():
                _set(p, k, v)
            changed = True
        if ev.until == t:
            for k, v in ev.before.items():
                _set(p, k, v)
            changed = True
    if changed:
        _fit_inbox(model.state, relay_delay(p) + 1, t)


def _fit_inbox(st, slots: int, t: int) -> None:
    """Widen the relay inbox's ring buffer to ``slots`` rows, keeping each waiting message's arrival step.

    Row ``s % slots`` holds what arrives at step s; the rows waiting are those of steps t to t + slots - 1.
    """
    old_slots = st.inbox_slots
    if slots <= old_slots:
        return
    for name in ("inbox", "inbox_news", "inbox_fresh"):  # the messages and their content
        old = getattr(st, name)
        new = np.zeros((slots, old.shape[1]), dtype=old.dtype)
        for s in range(t, t + old_slots):
            new[s % slots] = old[s % old_slots]
        setattr(st, name, new)
    st.inbox_slots = slots
