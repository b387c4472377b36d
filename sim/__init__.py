"""clustercoop: an agent-based model of cooperation inside industrial clusters.

Public interface::

    from sim import Scenario, load_scenario, make_model, run_one, ScenarioError

``make_model(scenario, rng=seed)`` returns a ``ClusterModel`` or, for the
Santos-Pacheco validation scenarios, a ``ValidationModel``.
"""

from .agents import Association, DevelopmentCenter, Enterprise, LeadingFirm
from .errors import RunnerError, ScenarioError
from .factory import make_model, run_one
from .model import ClusterModel
from .scenario import Scenario, load_scenario
from .validation import ValidationModel

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
