"""The two kinds of failure a user can meet, kept apart so each gets its own message and exit status.

``ScenarioError`` is bad input the user can fix (a scenario file, an override, a command-line
value, an output folder that cannot be used); ``RunnerError`` is the machinery failing under a
valid request (a Dask scheduler that does not answer, a file system that fails mid-run).
"""

from __future__ import annotations

import reprlib

__all__ = ["ScenarioError", "RunnerError", "quote"]

#: Longest quotation of a user's value in a message: a value may be megabytes long or thousands deep.
QUOTE_CHARS = 60
_REPR = reprlib.Repr(maxlevel=3, maxtuple=6, maxlist=6, maxdict=4, maxset=6, maxfrozenset=6, maxdeque=6,
                     maxarray=6, maxstring=QUOTE_CHARS, maxlong=QUOTE_CHARS, maxother=QUOTE_CHARS)


class ScenarioError(ValueError):
    """Bad user input: a scenario file, an override, a lever value or a command-line option."""


class RunnerError(RuntimeError):
    """An infrastructure failure under valid input: a cluster, a worker or a file system."""


def quote(value: object) -> str:
    """``repr(value)`` for a message: at most :data:`QUOTE_CHARS` characters, saying the size of what is cut."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an integer too long for Python to print
        return "an integer of thousands of digits"
    if len(text) > QUOTE_CHARS:
        text = text[:QUOTE_CHARS] + "..."
    if isinstance(value, str) and len(value) > QUOTE_CHARS:
        return f"{text} ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict)) and (len(value) > 6 or text.endswith("...")):
        return f"{text} ({len(value):,} items)"
    return text
