"""The validation game of Santos & Pacheco (2005), *Scale-free networks provide a unifying framework for the
emergence of cooperation* (Phys. Rev. Lett. 95, 098104), as its own model (ODD 7.14).

Scenarios with ``validation.kind = "pd_imitation"``. Every firm cooperates
(C) or defects (D) and plays the one-shot Prisoner's Dilemma with every
neighbour (R = 1, T = b, P = S = 0), accumulating payoffs::

    P_x = sum over neighbours y of [y cooperates] (1 if x cooperates else b)

then all firms update synchronously by the imitation rule of the cluster
model (``submodels.imitation``): x picks a random neighbour y and, when
P_y > P_x, adopts y's strategy with probability (P_y - P_x) / (b max(k_x, k_y)).
Half the firms start as cooperators, chosen at random. Structures,
mechanisms, market and demography are not used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .agents import Enterprise
from .kpis import SNAPSHOT_EDGE_COLUMNS, SNAPSHOT_NODE_COLUMNS
from .metrics import gini
from .model import ModelBase
from .scenario import Scenario, ScenarioError
from .structures.network import generate_graph
from .submodels.imitation import move_towards, pick_partners

__all__ = ["ValidationModel", "PDGame", "pd_payoffs"]


def pd_payoffs(coop: np.ndarray, src: np.ndarray, dst: np.ndarray, b: float, n: int) -> np.ndarray:
    """Accumulated PD payoffs: C earns 1 per C neighbour, D earns b per C neighbour."""
    c_neigh = np.bincount(src, weights=coop[dst].astype(np.float64), minlength=n)
    return np.where(coop, c_neigh, b * c_neigh)


class PDGame:
    """The game on a fixed graph (undirected ``edges``, ``(m, 2)``)."""

    def __init__(self, n: int, edges: np.ndarray, b: float, rng: np.random.Generator):
        self.n = n
        self.b = b
        self.rng = rng
        self.src = np.concatenate([edges[:, 0], edges[:, 1]])
        self.dst = np.concatenate([edges[:, 1], edges[:, 0]])
        order = np.argsort(self.src, kind="stable")
        self.nbr = self.dst[order]
        self.degree = np.bincount(self.src, minlength=n)
        self.indptr = np.concatenate([[0], np.cumsum(self.degree)])
        self.coop = np.zeros(n, dtype=bool)
        self.coop[rng.permutation(n)[: n // 2]] = True
        self.payoff = np.zeros(n)
        self._everyone = np.arange(n)
        self._all_active = np.ones(n, dtype=bool)

    def step(self) -> None:
        """Play all games, then imitate synchronously (one uniform per node for the partner, one for the move)."""
        self.payoff = pd_payoffs(self.coop, self.src, self.dst, self.b, self.n)
        who, other = pick_partners(self.indptr, self.nbr, self._everyone, self._all_active, self.rng.random(self.n))
        r_move = self.rng.random(self.n)[who]
        strategy = self.coop.astype(np.float64)
        move_towards(who, other, r_move, self.payoff, strategy, self.b, 1.0, degree=self.degree)
        self.coop = strategy > 0.5


class ValidationModel(ModelBase):
    """The Santos-Pacheco game as a Mesa model, with the cluster model's KPI columns (most stay 0).

    Args:
        scenario: a scenario with ``validation.kind = "pd_imitation"``.
        rng: an int seed; None takes ``scenario.run.seed``.
    """

    def __init__(self, scenario: Scenario, *, rng: int | None = None):
        if scenario.validation.kind != "pd_imitation":
            raise ScenarioError(f"validation.kind = {scenario.validation.kind!r}: not the validation game; "
                                "build the model with sim.make_model(scenario)")
        super().__init__(scenario, rng)
        s = self.params.structure
        edges = generate_graph(s.generator, s.n_firms, s.mean_degree, s.rewire_p, int(self.rng.integers(0, 2**31 - 1)))
        self.game = PDGame(s.n_firms, edges, self.params.validation.b, self.rng)
        self.game_edges = edges
        for node in range(s.n_firms):
            self.node_agent[node] = Enterprise(self, node)
        self.state = None
        self._start_collecting()

    def step(self) -> None:
        """Play, imitate, record."""
        g = self.game
        g.step()
        self.step_count = int(self.time)
        self.members = g.n
        self.enterprise_members = g.n
        self.cooperation_rate = float(g.coop.mean())
        self.enterprise_cooperation_rate = self.cooperation_rate
        self.payoff_gini = gini(g.payoff)
        self.revenue = float(g.payoff.sum())
        self.profit = self.revenue
        self.datacollector.collect(self)

    def firm_table(self) -> pd.DataFrame:
        """One row per player: its strategy and last payoff."""
        return pd.DataFrame({"id": np.arange(self.game.n), "kind": "enterprise", "cooperating": self.game.coop, "payoff": self.game.payoff})

    def graph_snapshot(self) -> dict[str, np.ndarray]:
        """The players and the graph, in the cluster model's format."""
        n = self.game.n
        nodes = (np.arange(n), np.full(n, "enterprise"), self.game.coop.copy(), self.game.payoff.copy(), np.zeros(n),
                 np.ones(n, bool))
        edges = (self.game_edges[:, 0].copy(), self.game_edges[:, 1].copy(), np.ones(len(self.game_edges)))
        # in the order of the registry's snapshot columns
        return dict(zip(SNAPSHOT_NODE_COLUMNS, nodes, strict=True)) | dict(zip(SNAPSHOT_EDGE_COLUMNS, edges, strict=True))
