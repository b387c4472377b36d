"""clustercoop: an agent-based model of cooperation inside industrial clusters.

Public interface::

    from sim import Scenario, load_scenario, ClusterModel, run_one, ScenarioError
"""

from .agents import Association, DevelopmentCenter, Enterprise, LeadingFirm
from .model import ClusterModel, run_one
from .scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "ClusterModel",
    "run_one",
    "Enterprise",
    "LeadingFirm",
    "Association",
    "DevelopmentCenter",
]
