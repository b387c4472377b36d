"""The two kinds of failure a user can meet, kept apart so each gets its own message and exit status.

``ScenarioError`` is bad input the user can fix (a scenario file, an override, a command-line
value, an output folder that cannot be used); ``RunnerError`` is the machinery failing under a
valid request (a Dask scheduler that does not answer, a file system that fails mid-run).
"""

from __future__ import annotations

__all__ = ["ScenarioError", "RunnerError"]


class ScenarioError(ValueError):
    """Bad user input: a scenario file, an override, a lever value or a command-line option."""


class RunnerError(RuntimeError):
    """An infrastructure failure under valid input: a cluster, a worker or a file system."""
