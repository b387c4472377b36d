"""clustercoop: an agent-based model of cooperation inside industrial clusters.

Public interface::

    from sim import Scenario, load_scenario, make_model, run_one, ScenarioError

``make_model(scenario, rng=seed)`` returns a ``ClusterModel`` or, for the
Santos-Pacheco validation scenarios, a ``ValidationModel``.

The names load on first use, so ``from sim import kpis`` (as analysis does) does not
load the model, Mesa or numba.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import RunnerError, ScenarioError

if TYPE_CHECKING:
    from .agents import Association, DevelopmentCenter, Enterprise, LeadingFirm
    from .factory import make_model, run_one
    from .model import ClusterModel
    from .scenario import Scenario, load_scenario
    from .validation import ValidationModel

# public name -> the submodule defining it
_LAZY = {
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "make_model": "factory",
    "run_one": "factory",
    "ClusterModel": "model",
    "ValidationModel": "validation",
    "Enterprise": "agents",
    "LeadingFirm": "agents",
    "Association": "agents",
    "DevelopmentCenter": "agents",
}

__all__ = [
    "Scenario",
    "ScenarioError",
    "RunnerError",
    "load_scenario",
    "make_model",
    "ClusterModel",
    "ValidationModel",
    "run_one",
    "Enterprise",
    "LeadingFirm",
    "Association",
    "DevelopmentCenter",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
