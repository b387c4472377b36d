"""The ``[[policy]]`` timeline: which levers may change during a run, and the checks of each entry.

The fields of an entry are :class:`sim.scenario.PolicyEvent` (part of the schema);
:mod:`sim.submodels.policy` applies the entries step by step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ScenarioError, quote
from .scenario_files import flatten_keys, set_dotted

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["SET_UP_ONLY", "set_up_only_reason", "flatten_keys", "check_timeline"]


_DRAWN = "it is drawn when a firm enters the cluster, so a change would reach only later entrants"
_OLD_EVENT = ("the model puts it on the timeline when it is built; give a [[policy]] event on market.demand_shift "
              "or market.competitor_pressure instead")

#: Levers no ``[[policy]]`` event may change (a dotted key or a whole section), with the reason an error gives.
#: Every other lever may change during a run.
SET_UP_ONLY: dict[str, str] = {
    "name": "it is not a lever of the model",
    "description": "it is not a lever of the model",
    "policy": "the timeline cannot change itself",
    "structure": "the network is built once, when the model is set up",
    "data": "the cluster's files are read once, when the model is set up",
    "validation": "the validation game is another model",
    "run": "it defines the run itself",
    "uncertain": "it is drawn per replicate before the run",
    "firms.values_dim": "it sets the shape of the shared-values arrays",
    **{f"firms.{k}": _DRAWN for k in ("cooperativeness", "cooperativeness_sd", "resources", "capacity_sigma",
                                      "leading_capacity", "energy_intensity", "energy_intensity_sd",
                                      "n_product_groups", "values_spread")},
    "trust.initial": "it is the trust a new link starts with, read when the link is made",
    "trust.commitment_initial": _DRAWN,
    "mechanisms.contract.initial_share": "it is read only when the contracts of the start are signed",
    **{f"market.{k}": _OLD_EVENT for k in ("shock_step", "shock_size", "shock_duration", "competitor_entry_step",
                                           "competitor_entry_pressure")},
}


def set_up_only_reason(key: str) -> str | None:
    """Why the lever ``key`` may not change during a run, or None if it may."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        why = SET_UP_ONLY.get(".".join(parts[:i]))
        if why is not None:
            return why
    return None


def check_timeline(scenario: Scenario, source: str, validate: Callable[[dict, str], Any]) -> None:
    """Each ``[[policy]]`` entry: levers that may change, values allowed, steps inside the run.

    Args:
        scenario: the validated scenario holding the timeline.
        source: where it came from, for messages.
        validate: validates a scenario mapping (``scenario_from_dict``); given, not imported, because
            the schema holds the timeline.

    Raises:
        ScenarioError: naming the file, the entry, the key, the value and what is allowed.
    """
    if not scenario.policy:
        return
    steps = scenario.run.steps
    if scenario.validation.kind != "none":
        raise ScenarioError(f"{source}: policy: the validation game ({quote(scenario.validation.kind)}) has no timeline")
    base = scenario.model_dump()
    base["policy"] = []
    for i, ev in enumerate(scenario.policy):
        where = f"{source}: policy[{i}] (at = {ev.at})"
        if ev.at > steps:
            raise ScenarioError(f"{where}: at: step {ev.at} is beyond the run (run.steps = {steps}); allowed: 1 to {steps}")
        if ev.until is not None and not ev.at < ev.until <= steps:
            raise ScenarioError(f"{where}: until: step {ev.until} must come after at ({ev.at}) and within the run "
                                f"(run.steps = {steps})")
        if ev.ramp is not None and ev.at + ev.ramp - 1 > (ev.until - 1 if ev.until is not None else steps):
            end = "until" if ev.until is not None else "the run's last step"
            raise ScenarioError(f"{where}: ramp: {ev.ramp} steps end at step {ev.at + ev.ramp - 1}, after {end}")
        changes = flatten_keys(ev.set)
        if not changes:
            raise ScenarioError(f"{where}: set: empty; give dotted keys and values, e.g. "
                                "set = {\"mechanisms.regulation.enabled\" = true}")
        data = _deep_copy(base)
        for key, value in changes.items():
            set_dotted(data, key, value, f"{where}: set")
            why = set_up_only_reason(key)
            if why is not None:
                raise ScenarioError(f"{where}: set: {key} = {quote(value)}: this lever may not change during a run: {why}")
            if ev.ramp is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ScenarioError(f"{where}: ramp: {key} = {quote(value)} is not a number; a ramp moves numeric levers only")
        validate(data, f"{where}: set")


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data
