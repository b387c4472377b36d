"""The run page's levers: which scenario keys they set, their ranges from the schema, and a lever moved during a
run turned into a timeline event (no Solara)."""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any, Literal

from sim import ClusterModel, Scenario, ScenarioError
from sim.scenario import set_up_only_reason
from sim.submodels.policy import Event

__all__ = ["Lever", "LEVERS", "FILE_KINDS", "shown_levers", "cluster_counts", "lever_values", "changed_overrides",
           "live_lever_reason", "event_label", "add_lever_event", "app_events"]


@dataclass(frozen=True)
class Lever:
    """One control on the page, bound to a dotted scenario key.

    Attributes:
        key: dotted key passed to ``load_scenario`` overrides.
        label: short label on the page.
        kind: ``"slider"`` (float), ``"int"`` (integer slider), ``"switch"`` or ``"select"``.
        group: the card the lever is shown in.
        min, max, step: slider range; the documented (schema) bounds unless the
            schema is open-ended, then a practical cap noted in ``help``.
        options: choices of a ``select``.
        help: the schema description and documented range.
    """

    key: str
    label: str
    kind: Literal["slider", "int", "switch", "select"]
    group: str
    min: float = 0.0
    max: float = 1.0
    step: float = 0.05
    options: tuple[str, ...] = ()
    help: str = ""


def _schema_field(key: str):
    model: Any = Scenario
    info = None
    for part in key.split("."):
        info = model.model_fields[part]
        model = info.annotation
    return info


def _bounds(info) -> tuple[float | None, float | None]:
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
        hi = getattr(meta, "lt", None) if getattr(meta, "lt", None) is not None else hi
    return lo, hi


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _lever(key: str, label: str, group: str, *, ui_min: float | None = None, ui_max: float | None = None,
           step: float | None = None, exclude: tuple[str, ...] = ()) -> Lever:
    """Build a lever from the scenario schema (type, bounds, description)."""
    info = _schema_field(key)
    ann = info.annotation
    desc = info.description or ""
    if ann is bool:
        return Lever(key, label, "switch", group, help=desc)
    if typing.get_origin(ann) is Literal:
        opts = tuple(a for a in typing.get_args(ann) if a not in exclude)
        return Lever(key, label, "select", group, options=opts, help=desc + (" — " if desc else "") + " | ".join(opts))
    lo, hi = _bounds(info)
    lo = 0.0 if lo is None else lo
    documented = f"range {_fmt(lo)} to {_fmt(hi)}" if hi is not None else f"range ≥ {_fmt(lo)}"
    top = hi if (ui_max is None or (hi is not None and hi <= ui_max)) else ui_max
    if top is None:
        raise ValueError(f"lever {key} is open-ended; give ui_max")
    bottom = lo if ui_min is None else max(lo, ui_min)
    if hi is None or top < hi or bottom > lo:
        documented += f"; slider {_fmt(bottom)} to {_fmt(top)}"
    text = (desc + "; " if desc else "") + documented
    if ann is int:
        return Lever(key, label, "int", group, min=bottom, max=top, step=step or 1, help=text)
    return Lever(key, label, "slider", group, min=bottom, max=top, step=step or round((top - bottom) / 20, 6),
                 help=text)


#: The main levers shown on the run page, in display order.
LEVERS: tuple[Lever, ...] = (
    _lever("structure.kind", "Structure", "Structure", exclude=("edge_list", "data")),  # both need files
    _lever("structure.n_firms", "Firms", "Structure", ui_min=10, ui_max=2000, step=10),
    _lever("structure.generator", "Network generator", "Structure"),
    _lever("structure.mean_degree", "Mean degree", "Structure", ui_max=20, step=1),
    _lever("mechanisms.function_interest.enabled", "Function-interest (joint marketing pool)", "Mechanisms"),
    _lever("mechanisms.function_interest.sharing", "Sharing rule", "Mechanisms"),
    _lever("mechanisms.regulation.enabled", "Regulation (association)", "Mechanisms"),
    _lever("mechanisms.regulation.sanction", "Sanction", "Mechanisms", ui_max=5, step=0.1),
    _lever("mechanisms.regulation.monitoring_prob", "Monitoring probability", "Mechanisms"),
    _lever("mechanisms.contract.enabled", "Contracts", "Mechanisms"),
    _lever("mechanisms.contract.enforcement_prob", "Contract enforcement probability", "Mechanisms"),
    _lever("mechanisms.contract.duration", "Contract duration (steps)", "Mechanisms", ui_max=60),
    _lever("information.digitalization", "Digitalization", "Information"),
    _lever("marketing.cluster_brand", "Cluster brand", "Marketing"),
    _lever("marketing.channel_sharing", "Channel sharing", "Marketing"),
    _lever("marketing.leading_traction", "Leading-firm traction", "Marketing"),
    _lever("marketing.exhibition", "Exhibition promotion", "Marketing"),
    _lever("marketing.cooperative_rnd", "Cooperative R&D", "Marketing"),
    _lever("marketing.alliance", "Marketing alliance", "Marketing"),
)


#: Structure kinds built from the scenario's files.
FILE_KINDS: tuple[str, ...] = ("edge_list", "data")
#: The levers such files decide (a cluster built from files ignores them).
_FILE_DECIDED = ("structure.kind", "structure.n_firms", "structure.generator", "structure.mean_degree")


def shown_levers(kind: str | None) -> tuple[Lever, ...]:
    """The levers that apply to a scenario whose structure is ``kind``: none of the structure's for one built from files."""
    if kind in FILE_KINDS:
        return tuple(lev for lev in LEVERS if lev.key not in _FILE_DECIDED)
    return LEVERS


def cluster_counts(model: ClusterModel) -> str:
    """The cluster's active firms and live links, e.g. ``80 firms, 123 links``."""
    st = model.state
    return f"{len(st.firms()):,} firms, {int(st.edge_alive().sum()):,} links"


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """Current value of every lever in ``scenario``."""
    return {lev.key: scenario.get(lev.key) for lev in LEVERS}


def changed_overrides(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """The lever values that differ from the scenario file (the overrides to apply)."""
    base = lever_values(scenario)
    out = {}
    for key, value in values.items():
        old = base.get(key)
        if isinstance(old, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isclose(old, float(value), rel_tol=1e-9, abs_tol=1e-12):
                continue
        elif old == value:
            continue
        out[key] = value
    return out


def live_lever_reason(key: str) -> str | None:
    """Why lever ``key`` cannot change a running cluster (it needs a rebuild), or None if it can."""
    return set_up_only_reason(key)


def event_label(changes: dict[str, Any]) -> str:
    """A short figure label for lever changes, e.g. ``digitalization 0.9, sanction 2``."""
    names = {lev.key: lev.label for lev in LEVERS}
    parts = []
    for key, value in changes.items():
        name = names.get(key, key.rsplit(".", 1)[-1].replace("_", " "))
        shown = ("on" if value else "off") if isinstance(value, bool) else (_fmt(value) if isinstance(value, (int, float)) else str(value))
        parts.append(f"{name.split(' (')[0]} {shown}")
    return ", ".join(parts)


def add_lever_event(model: ClusterModel, changes: dict[str, Any], events: list[Event]) -> Event:
    """Put lever changes on the running model's timeline from its next step, as a ``[[policy]]`` event would.

    Changes made before the next step joins the app's event already waiting
    for that step, so several levers moved between two steps make one event.

    Args:
        model: the running model (its ``timeline`` is read by the policy submodel at every step).
        changes: dotted lever keys to new values.
        events: the events this page added so far (appended to or updated in place).

    Returns:
        The event that carries the changes.

    Raises:
        ScenarioError: a lever that only a rebuild can change, a value the schema refuses,
            or a model without a timeline (the validation game).
    """
    if not hasattr(model, "timeline"):
        raise ScenarioError("this model (the validation game) has no timeline; its levers apply on Reset")
    for key in changes:
        why = live_lever_reason(key)
        if why is not None:
            raise ScenarioError(f"{key} cannot change during a run: {why}; it applies when the cluster is rebuilt")
    # the same check a scenario file's event gets: the values must make a valid scenario
    model.params.with_overrides(changes, source="lever")
    at = int(model.time) + 1
    event = next((e for e in events if e.at == at), None)
    if event is None:
        event = Event(at, {}, label="")
        events.append(event)
        model.timeline.append(event)
    event.changes.update(changes)
    event.label = event_label(event.changes)
    return event


def app_events(events: list[Event]) -> list[dict]:
    """The page's events in the figures' form (``analysis.programme.events_of``)."""
    return [{"at": e.at, "until": None, "ramp": None, "label": e.label, "set": dict(e.changes)} for e in events]
