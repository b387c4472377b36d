"""Build the model a scenario asks for, and run one replicate."""

from __future__ import annotations

import pandas as pd

from .model import ClusterModel, ModelBase
from .scenario import Scenario
from .validation import ValidationModel

__all__ = ["make_model", "run_one"]


def make_model(scenario: Scenario | None = None, *, rng: int | None = None) -> ModelBase:
    """The cluster model, or the validation game for ``validation.kind = "pd_imitation"``.

    Args:
        scenario: validated parameters (the baseline if None).
        rng: an int seed; None takes ``scenario.run.seed``.
    """
    scenario = scenario if scenario is not None else Scenario()
    if scenario.validation.kind == "pd_imitation":
        return ValidationModel(scenario, rng=rng)
    return ClusterModel(scenario, rng=rng)


def run_one(scenario: Scenario, seed: int, steps: int | None = None) -> pd.DataFrame:
    """Run one replicate and return its time series (one row per step).

    Args:
        scenario: validated parameters.
        seed: the replicate's seed.
        steps: number of steps (``scenario.run.steps`` if None).
    """
    model = make_model(scenario, rng=int(seed))
    model.run_for(steps if steps is not None else scenario.run.steps)
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
