"""Gates: the scenario fields that act only behind a switch, and the warnings for fields set where they cannot act.

A field such as ``mechanisms.regulation.sanction`` changes the model only when
regulation is on; ``structure.rewire_p`` only for a Watts-Strogatz network.
:data:`GATES` declares each such field (or a whole section) with its gate: a
condition on the scenario and the words that name it. A scenario that sets a
gated field (a value other than the default, in the file or on a ``[[policy]]``
event) while its gate stays closed over the whole run gets a
:class:`GateWarning` naming the field and the gate; :func:`closed_gate_warnings`
lists them, :func:`warn_closed_gates` issues them (``load_scenario`` calls it).

A gate counts as open when it is open at the start or once the timeline's
events, applied in order, have opened it. Fields a data cluster decides are
left to its own warning (``sim.data.DataWarning``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .timeline import flatten_keys

__all__ = ["Gate", "GATES", "GateWarning", "gate_of", "closed_gate_warnings", "warn_closed_gates"]


class GateWarning(UserWarning):
    """A scenario sets a field that cannot act because its gate is closed."""


@dataclass(frozen=True)
class Gate:
    """A condition under which a field acts.

    Attributes:
        says: the condition in the scenario's own words, e.g. ``mechanisms.regulation.enabled = true``.
        open: whether the condition holds for a scenario.
        opens: dotted overrides that open the gate (what ``tests/test_levers.py`` sets to see the field act).
    """

    says: str
    open: Callable[[Any], bool]
    opens: dict[str, Any]


def _switch(section: str) -> Gate:
    return Gate(f"{section}.enabled = true", lambda s: bool(s.get(f"{section}.enabled")), {f"{section}.enabled": True})


_CLUSTER = Gate("validation.kind = 'none' (the validation game reads only structure.* and validation.b)",
                lambda s: s.validation.kind == "none", {"validation.kind": "none"})
_FI, _REG, _CON = (_switch(f"mechanisms.{m}") for m in ("function_interest", "regulation", "contract"))
_NETWORK = Gate("structure.kind = 'network'", lambda s: s.structure.kind == "network", {"structure.kind": "network"})
_HIERARCHY = Gate("structure.kind = 'hierarchical'", lambda s: s.structure.kind == "hierarchical",
                  {"structure.kind": "hierarchical"})
_CHAIN = Gate("structure.kind = 'chain'", lambda s: s.structure.kind == "chain", {"structure.kind": "chain"})
_TIERED = Gate("structure.kind is 'hierarchical' or 'chain'", lambda s: s.structure.kind in ("hierarchical", "chain"),
               {"structure.kind": "hierarchical"})
_GENERATED = Gate("structure.kind is not 'edge_list' (the file gives the firms and associations)",
                  lambda s: s.structure.kind != "edge_list", {"structure.kind": "network"})
_EDGE_LIST = Gate("structure.kind = 'edge_list'", lambda s: s.structure.kind == "edge_list", {"structure.kind": "edge_list"})
_RELAY = Gate("information.cdc_share > 0 and information.digitalization < 1 (only relayed messages wait or get lost so)",
              lambda s: s.information.cdc_share > 0 and s.information.digitalization < 1,
              {"information.cdc_share": 0.5, "information.digitalization": 0.3})
_SHOCK = Gate("market.shock_step is set", lambda s: s.market.shock_step is not None, {"market.shock_step": 5})

#: Gated fields (a dotted key, or a section for all its keys but ``enabled``) and their gates; the longest
#: matching key wins. A field not listed acts in every scenario.
GATES: dict[str, Gate] = {
    "mechanisms.function_interest": _FI,
    "mechanisms.regulation": _REG,
    "mechanisms.contract": _CON,
    "internal_marketing.price": Gate("mechanisms.regulation.enabled = true (it scales the dues)",
                                     lambda s: s.mechanisms.regulation.enabled, _REG.opens),
    "internal_marketing.promotion": Gate("mechanisms.regulation.enabled = true (it scales the culture's pull)",
                                         lambda s: s.mechanisms.regulation.enabled, _REG.opens),
    "trade.saving": Gate("mechanisms.contract.enabled = true (orders save only under contract)",
                         lambda s: s.mechanisms.contract.enabled, _CON.opens),
    "structure.generator": _NETWORK,
    "structure.mean_degree": _NETWORK,
    "structure.rewire_p": Gate("structure.kind = 'network' and structure.generator = 'watts_strogatz'",
                               lambda s: s.structure.kind == "network" and s.structure.generator == "watts_strogatz",
                               {"structure.kind": "network", "structure.generator": "watts_strogatz"}),
    "structure.service_share": _HIERARCHY,
    "structure.up_links": _TIERED,
    "structure.peer_p": _TIERED,
    "structure.n_functions": _CHAIN,
    "structure.edge_list_path": _EDGE_LIST,
    "structure.edge_list_types_path": _EDGE_LIST,
    "structure.n_firms": _GENERATED,
    "structure.n_leading": _GENERATED,
    "structure.n_associations": Gate("structure.kind is 'network', 'hierarchical' or 'chain' (a star has its one centre, "
                                     "an edge list its own associations)",
                                     lambda s: s.structure.kind in ("network", "hierarchical", "chain"), {"structure.kind": "network"}),
    "demography.entry_links": Gate("structure.kind is 'network' or 'edge_list' (entrants attach as the other structures dictate)",
                                   lambda s: s.structure.kind in ("network", "edge_list"), {"structure.kind": "network"}),
    "information.relay_delay": _RELAY,
    "information.relay_loss": _RELAY,
    "information.direct_loss": Gate("information.cdc_share < 1 (no message goes direct)", lambda s: s.information.cdc_share < 1,
                                    {"information.cdc_share": 0.5}),
    "information.digitalization_cost": Gate("information.digitalization > 0", lambda s: s.information.digitalization > 0,
                                            {"information.digitalization": 0.3}),
    "information.digitalization_payer": Gate("information.digitalization > 0", lambda s: s.information.digitalization > 0,
                                             {"information.digitalization": 0.3}),
    "market.shock_size": _SHOCK,
    "market.shock_duration": _SHOCK,
    "market.competitor_entry_pressure": Gate("market.competitor_entry_step is set",
                                             lambda s: s.market.competitor_entry_step is not None, {"market.competitor_entry_step": 5}),
    "marketing.brand_fee": Gate("marketing.leading_traction > 0", lambda s: s.marketing.leading_traction > 0,
                                {"marketing.leading_traction": 0.5}),
    "marketing.exhibition_period": Gate("marketing.exhibition > 0", lambda s: s.marketing.exhibition > 0, {"marketing.exhibition": 0.5}),
    "learning.step_size": Gate("learning.imitation > 0", lambda s: s.learning.imitation > 0, {"learning.imitation": 0.3}),
    "validation.b": Gate("validation.kind = 'pd_imitation'", lambda s: s.validation.kind == "pd_imitation",
                         {"validation.kind": "pd_imitation"}),
}

#: Sections the validation game reads (every other field is gated by :data:`_CLUSTER`).
_VALIDATION_READS = ("structure", "validation", "run")
_NOT_LEVERS = ("name", "description", "policy", "run")


def gate_of(key: str) -> list[Gate]:
    """The gates of dotted field ``key`` (none for a field that always acts), the validation game's first."""
    section = key.split(".", 1)[0]
    out = [] if section in _VALIDATION_READS or section in _NOT_LEVERS else [_CLUSTER]
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        gate = GATES.get(prefix)
        if gate is not None and not (i < len(parts) and parts[-1] == "enabled"):
            out.append(gate)
            break
    return out


def closed_gate_warnings(scenario) -> list[str]:
    """One line per field the scenario sets where it cannot act: the field, its value and the closed gate."""
    from .scenario import Scenario, flatten_keys

    default = flatten_keys(Scenario().model_dump())
    now = flatten_keys(scenario.model_dump(exclude={"policy"}))
    set_keys = {k: v for k, v in now.items() if k in default and v != default[k] and k not in _NOT_LEVERS}
    # the scenarios over the run: the start, then after each event of the timeline in order
    stages = [scenario]
    for ev in scenario.policy:
        try:
            stages.append(stages[-1].with_overrides(flatten_keys(ev.set), source="gates"))
        except Exception:  # noqa: BLE001 - the timeline's own check reports a bad event
            break
        for k, v in flatten_keys(ev.set).items():
            set_keys.setdefault(k, v)
    from .data import unused_fields

    decided = unused_fields(scenario)  # a data cluster's own warning (sim.data.DataWarning) speaks for these
    lines = []
    for key, value in set_keys.items():
        if key in decided:
            continue
        for gate in gate_of(key):
            if not any(gate.open(s) for s in stages):
                lines.append(f"{key} = {value!r} cannot act here: it acts only when {gate.says}")
                break
    return lines


def warn_closed_gates(scenario, source: str) -> list[str]:
    """Issue a :class:`GateWarning` per line of :func:`closed_gate_warnings`, prefixed by ``source``; return them."""
    lines = [f"{source}: {line}" for line in closed_gate_warnings(scenario)]
    for line in lines:
        warnings.warn(line, GateWarning, stacklevel=3)
    return lines
