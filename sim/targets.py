"""Observed targets: what was measured in a real cluster, read from a small TOML file.

Each ``[[target]]`` names a KPI of the registry (:mod:`sim.kpis`) or a survey construct of
Morgan & Hunt, a statistic of its time series, the observed value and its uncertainty::

    [[target]]
    construct = "trust"          # or kpi = "mean_trust"
    scale = [1, 7]               # a survey answered on a 1-7 Likert scale
    statistic = "at"             # at | mean | sum | trend
    step = 24                    # at: the state at the end of this step
    value = 4.9
    se = 0.2                     # or interval = [4.5, 5.3] with level = 0.95

``mean`` and ``sum`` are taken over ``window = [first, last]`` (steps, both included), ``trend``
is the least-squares slope per step over the window. A construct's value on a survey scale
``[lo, hi]`` is mapped linearly onto the model's 0-1 index. Every problem raises
:class:`ScenarioError` naming the file, the target, the field and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from . import kpis
from .errors import ScenarioError, quote
from .scenario_files import other_input_kind, read_toml

__all__ = ["Target", "CONSTRUCTS", "STATISTICS", "load_targets", "targets_from_dict", "target_values",
           "check_steps", "is_targets_file"]

#: Survey constructs (Morgan & Hunt, 1994) and the KPI that measures each in the model (0-1 index).
CONSTRUCTS: dict[str, str] = {
    "trust": "mean_trust",
    "commitment": "mean_commitment",
    "partner_commitment": "partner_commitment",
    "shared_values": "shared_values",
    "communication": "communication",
    "opportunism": "opportunistic_behaviour",
    "relationship_benefits": "relationship_benefits",
    "termination_costs": "termination_costs",
    "acquiescence": "acquiescence",
    "propensity_to_leave": "propensity_to_leave",
    "functional_conflict": "functional_conflict",
    "decision_uncertainty": "decision_uncertainty",
}

#: Statistics of a KPI's series a target may name, with the fields each needs.
STATISTICS: dict[str, tuple[str, ...]] = {"at": ("step",), "mean": ("window",), "sum": ("window",),
                                          "trend": ("window",)}

_FIELDS = ("name", "kpi", "construct", "scale", "statistic", "step", "window", "value", "se", "interval", "level")


@dataclass(frozen=True)
class Target:
    """One observed target, on the model's scale (a construct's survey scale already mapped).

    Attributes:
        name: unique name (default ``<kpi>_<statistic>_<step or window>``).
        kpi: the model column the statistic is taken of.
        statistic: ``at``, ``mean``, ``sum`` or ``trend``.
        first: first step of the window (``at``: the step).
        last: last step of the window (``at``: the step).
        value: observed value.
        se: its standard error (an interval is turned into one assuming a normal error).
    """

    name: str
    kpi: str
    statistic: str
    first: int
    last: int
    value: float
    se: float

    def of(self, frame: pd.DataFrame) -> float:
        """The statistic of one run's time series (``step`` column, one row per step)."""
        steps = frame["step"].to_numpy()
        y = frame[self.kpi].to_numpy(dtype=float)[(steps >= self.first) & (steps <= self.last)]
        if self.statistic in ("at", "mean"):
            return float(y.mean())
        if self.statistic == "sum":
            return float(y.sum())
        x = np.arange(len(y), dtype=float)
        x -= x.mean()
        return float((x * (y - y.mean())).sum() / (x * x).sum())

    def describe(self) -> dict[str, Any]:
        """JSON-ready record."""
        return asdict(self)


def _fail(where: str, field: str, problem: str) -> ScenarioError:
    return ScenarioError(f"{where}: {field}: {problem}")


def _number(where: str, field: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _fail(where, field, f"must be a finite number (got {quote(v)})")
    return float(v)


def _step(where: str, field: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise _fail(where, field, f"must be a whole step number >= 1 (got {quote(v)})")
    return v


def _pair(where: str, field: str, v: Any) -> list:
    if not isinstance(v, list) or len(v) != 2:
        raise _fail(where, field, f"must be a list of two values [low, high] (got {quote(v)})")
    return v


def _one(entry: Mapping[str, Any], where: str) -> Target:
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise _fail(where, unknown[0], f"unknown field; allowed: {', '.join(_FIELDS)}")
    if ("kpi" in entry) == ("construct" in entry):
        raise _fail(where, "kpi/construct", "give exactly one: kpi = \"<KPI>\" or construct = \"<survey construct>\"")
    scale = (0.0, 1.0)
    if "kpi" in entry:
        name = entry["kpi"]
        try:
            kpis.kpi(name)
        except (KeyError, TypeError):
            raise _fail(where, "kpi", f"unknown KPI {quote(name)}; allowed: {', '.join(k.name for k in kpis.KPIS)}") from None
        if "scale" in entry:
            raise _fail(where, "scale", "only a construct (survey answer) has a scale; a KPI is on the model's own")
        column = name
    else:
        name = entry["construct"]
        if name not in CONSTRUCTS:
            raise _fail(where, "construct", f"unknown construct {quote(name)}; allowed: {', '.join(CONSTRUCTS)}")
        column = CONSTRUCTS[name]
        if "scale" in entry:
            lo, hi = (_number(where, "scale", x) for x in _pair(where, "scale", entry["scale"]))
            if not lo < hi:
                raise _fail(where, "scale", f"low end must be below high end (got {[lo, hi]})")
            scale = (lo, hi)
    stat = entry.get("statistic")
    if stat not in STATISTICS:
        raise _fail(where, "statistic", f"{quote(stat)} is not a statistic; allowed: {', '.join(STATISTICS)}")
    if stat == "at":
        if "window" in entry:
            raise _fail(where, "window", "statistic 'at' takes step = N, not a window")
        if "step" not in entry:
            raise _fail(where, "step", "missing; statistic 'at' needs the step of the observation, e.g. step = 24")
        first = last = _step(where, "step", entry["step"])
        when = f"{first}"
    else:
        if "step" in entry:
            raise _fail(where, "step", f"statistic {quote(stat)} takes window = [first, last], not a step")
        if "window" not in entry:
            raise _fail(where, "window", f"missing; statistic {quote(stat)} needs window = [first, last] (steps, both included)")
        first, last = (_step(where, "window", x) for x in _pair(where, "window", entry["window"]))
        if last < first + (1 if stat == "trend" else 0):
            need = "at least two steps" if stat == "trend" else "first <= last"
            raise _fail(where, "window", f"{[first, last]}: needs {need}")
        when = f"{first}_{last}"
    if "value" not in entry:
        raise _fail(where, "value", "missing; give the observed value")
    value = _number(where, "value", entry["value"])
    if ("se" in entry) == ("interval" in entry):
        raise _fail(where, "se/interval", "give exactly one: se = <standard error> or interval = [low, high]")
    if "level" in entry and "interval" not in entry:
        raise _fail(where, "level", "only an interval has a level")
    if "se" in entry:
        se = _number(where, "se", entry["se"])
        if se <= 0:
            raise _fail(where, "se", f"must be > 0 (got {se}); an observation without error cannot be matched by a "
                                     "stochastic model")
    else:
        lo, hi = (_number(where, "interval", x) for x in _pair(where, "interval", entry["interval"]))
        level = _number(where, "level", entry.get("level", 0.95))
        if not 0 < level < 1:
            raise _fail(where, "level", f"must be between 0 and 1, e.g. 0.95 (got {level})")
        if not lo < value < hi:
            raise _fail(where, "interval", f"{[lo, hi]} must contain the value {value} strictly inside")
        se = float((hi - lo) / (2 * norm.ppf(0.5 + level / 2)))
    width = scale[1] - scale[0]
    if stat in ("at", "mean") and scale != (0.0, 1.0) and not scale[0] <= value <= scale[1]:
        raise _fail(where, "value", f"{value} lies outside the scale {list(scale)}")
    offset = scale[0] if stat in ("at", "mean") else 0.0  # a sum or slope scales without the offset
    value, se = (value - offset) / width, se / width
    if stat in ("at", "mean") and kpis.kpi(column).unit in (kpis.SHARE, kpis.INDEX) and not 0 <= value <= 1:
        raise _fail(where, "value", f"{entry['value']} is outside 0-1, the range of {column} "
                                    f"({kpis.kpi(column).unit}); a survey answer needs scale = [low, high]")
    label = entry.get("name", f"{name}_{stat}_{when}")
    if not isinstance(label, str) or not label.strip():
        raise _fail(where, "name", f"must be a non-empty text (got {quote(label)})")
    return Target(label, column, stat, first, last, value, se)


def targets_from_dict(data: Mapping[str, Any], source: str = "<targets>") -> list[Target]:
    """Targets from parsed TOML (``{"target": [...]}``).

    Raises:
        ScenarioError: naming ``source``, the target (position and name) and the field.
    """
    extra = sorted(set(data) - {"target"})
    if extra:
        raise ScenarioError(f"{source}: {extra[0]}: unknown key; a targets file holds only [[target]] tables")
    entries = data.get("target")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(f"{source}: no targets; give one or more [[target]] tables, each with kpi or construct, "
                            "statistic, value and se or interval")
    out = []
    for i, entry in enumerate(entries, 1):
        named = entry.get("name")
        where = f"{source}: target {i}" + (f" ({named})" if isinstance(named, str) else "")
        out.append(_one(entry, where))
    names = [t.name for t in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"{source}: target names must be unique; repeated: {', '.join(dup)} (give name = \"...\")")
    return out


def load_targets(path: str | Path) -> list[Target]:
    """Read and validate a targets file.

    Raises:
        ScenarioError: the file is missing, not TOML, or a target is bad.
    """
    path = Path(path)
    return targets_from_dict(read_toml(path, "targets"), str(path))


def is_targets_file(path: str | Path) -> bool:
    """True if ``path`` is TOML holding ``[[target]]`` tables (so ``validate`` checks it as targets)."""
    return other_input_kind(path) == "targets"


def check_steps(targets: Sequence[Target], steps: int, source: str) -> None:
    """Every target's steps lie within a run of ``steps`` steps.

    Raises:
        ScenarioError: naming the target and the run length.
    """
    for t in targets:
        if t.last > steps:
            raise ScenarioError(f"{source}: target {t.name}: step {t.last} is after the run's last step ({steps}); "
                                "give a longer run (--steps or run.steps) or an earlier step")


def target_values(targets: Sequence[Target], frame: pd.DataFrame) -> dict[str, float]:
    """Every target's statistic of one run's time series, by target name."""
    return {t.name: t.of(frame) for t in targets}
