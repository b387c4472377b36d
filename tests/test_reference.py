"""The naive Mesa reference (benchmarks/reference.py) against the vectorized model.

Both run the same core configuration on small graphs; their random draws
differ, so the check is statistical: per structure, the mean over seeds of
each run's time-averaged cooperation rate, trust and commitment must agree
within ``4`` standard errors of the difference plus a small absolute slack.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reference import ReferenceModel, core_scenario
from sim import ClusterModel

SEEDS = range(10)
STEPS = 30
KPIS = ("cooperation_rate", "mean_trust", "mean_commitment")
SLACK = 0.01


def _run(cls, scenario, seed: int) -> np.ndarray:
    model = cls(scenario, rng=seed)
    for _ in range(STEPS):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    return frame[list(KPIS)].to_numpy(dtype=float).mean(axis=0)


@pytest.mark.parametrize("kind", ["network", "star", "chain", "hierarchical"])
def test_reference_matches_vectorized(kind):
    scenario = core_scenario(**{"structure.kind": kind, "structure.n_firms": 80, "structure.mean_degree": 6})
    ref = np.array([_run(ReferenceModel, scenario, s) for s in SEEDS])
    vec = np.array([_run(ClusterModel, scenario, 1000 + s) for s in SEEDS])
    se = np.sqrt(ref.var(axis=0, ddof=1) / len(ref) + vec.var(axis=0, ddof=1) / len(vec))
    diff = np.abs(ref.mean(axis=0) - vec.mean(axis=0))
    for name, d, s, r, v in zip(KPIS, diff, se, ref.mean(axis=0), vec.mean(axis=0)):
        assert d <= 4 * s + SLACK, f"{kind} {name}: reference {r:.3f} vs vectorized {v:.3f} (se {s:.3f})"


def test_reference_is_per_agent_mesa():
    """The reference keeps its agents in Mesa's Network grid and removes leavers from it."""
    scenario = core_scenario(**{"structure.n_firms": 30, "structure.mean_degree": 4})
    model = ReferenceModel(scenario, rng=42)
    for _ in range(5):
        model.step()
    cells = [c for c in model.grid.all_cells.cells if c.agents]
    assert len(cells) == len(model.agents)
    assert all(a.active for a in model.agents)
    assert model.grid.G.number_of_nodes() == 30 + scenario.structure.n_associations
