"""Samplers: swept parameters, the design points they span, and the seeds of replicates.

Everything here is deterministic in the master seed, so a sweep's points and seeds are the same
in every session that resumes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import quote
from sim.scenario import Scenario, ScenarioError, check_key, parse_value

__all__ = [
    "DESIGNS",
    "MORRIS_LEVELS",
    "ParamSpec",
    "parse_param",
    "replicate_seeds",
    "morris_sample",
    "sample_design",
    "build_design",
    "design_size",
    "largest",
]

DESIGNS = ("grid", "lhs", "sobol", "morris")

#: Grid levels of the Morris trajectory design (SALib ``num_levels``); the step is levels / (2 (levels - 1)) of a range.
MORRIS_LEVELS = 4


def replicate_seeds(master_seed: int, replicates: int) -> list[int]:
    """Seeds of replicates ``0..replicates-1``: SeedSequence children as 53-bit integers.

    Replicate ``r`` always gets the same seed whatever the number of replicates.
    53 bits keep a seed exact when a spreadsheet or a float column carries it.
    """
    children = np.random.SeedSequence(int(master_seed)).spawn(int(replicates))
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(11)) for c in children]


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: a list of values or a range ``lo:hi[:n]``.

    Attributes:
        name: dotted scenario key.
        spec: the text as given.
        kind: ``"int"``, ``"float"``, ``"bool"`` or ``"str"`` (the field's type).
        values: the listed values, or ``None`` for a range.
        low, high, n: the range, ``n`` points for a grid.
    """

    name: str
    spec: str
    kind: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None

    def grid_values(self) -> list:
        """The values a grid visits."""
        if self.values is not None:
            return list(self.values)
        pts = np.linspace(self.low, self.high, self.n)
        if self.kind == "int":
            return list(dict.fromkeys(int(round(v)) for v in pts))
        return [float(v) for v in pts]

    def from_unit(self, u: np.ndarray) -> list:
        """Map sampler output (within the bounds of :meth:`bounds`) to values."""
        if self.values is not None:
            idx = np.minimum(np.floor(u).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        if self.kind == "int":
            return [int(round(v)) for v in u]
        return [float(v) for v in u]

    def bounds(self) -> list[float]:
        """Sampler bounds: the range, or ``[0, k]`` over the index of a list."""
        if self.values is not None:
            return [0.0, float(len(self.values))]
        return [float(self.low), float(self.high)]

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for the manifest."""
        if self.values is not None:
            return {"name": self.name, "spec": self.spec, "type": self.kind, "values": list(self.values)}
        return {"name": self.name, "spec": self.spec, "type": self.kind, "low": self.low,
                "high": self.high, "n": self.n}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def parse_param(text: str, base: Scenario, design: str) -> ParamSpec:
    """Parse ``dotted.key=SPEC`` against the base scenario.

    SPEC is a list ``a,b,c`` or a range ``lo:hi:n`` (``n`` points on a grid;
    ``lo:hi`` suffices for lhs, sobol and morris). Values are checked against the schema.

    Raises:
        ScenarioError: naming the parameter, the bad value and what is allowed.
    """
    source = "--param"
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ScenarioError(f"{source} {quote(text)}: expected dotted.key=SPEC with SPEC a,b,c or lo:hi:n")
    current = check_key(base, name, source)
    kind = _kind_of(current) if current is not None else "float"

    def check(value: Any) -> Any:
        base.with_overrides({name: value}, source=f"{source} {name}={quote(value)}")
        return value

    if ":" in spec and "," not in spec and kind in ("int", "float"):
        pieces = spec.split(":")
        if len(pieces) not in (2, 3):
            raise ScenarioError(f"{source} {name}: range {quote(spec)} must be lo:hi:n")
        try:
            low, high = float(pieces[0]), float(pieces[1])
            n = int(pieces[2]) if len(pieces) == 3 else None
        except ValueError:
            raise ScenarioError(f"{source} {name}: range {quote(spec)} must be numbers lo:hi:n, "
                                f"n a whole number") from None
        if not low < high:
            raise ScenarioError(f"{source} {name}: range {quote(spec)} needs lo < hi")
        if design == "grid" and (n is None or n < 2):
            raise ScenarioError(f"{source} {name}: a grid range needs n >= 2 points, as lo:hi:n (got {quote(spec)})")
        for v in (low, high):
            check(int(round(v)) if kind == "int" else v)
        return ParamSpec(name, spec, kind, low=low, high=high, n=n)
    values = [parse_value(v.strip(), f"{source} {name}") for v in spec.split(",") if v.strip() != ""]
    if not values:
        raise ScenarioError(f"{source} {name}: no values in {quote(spec)}")
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(f"{source} {name}: repeated values in {quote(spec)}")
    for v in values:
        check(v)
    if kind == "float":
        values = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
    return ParamSpec(name, spec, kind, values=tuple(values))


def morris_sample(problem: dict[str, Any], trajectories: int, seed: int) -> np.ndarray:
    """SALib's Morris trajectories for ``problem``: ``trajectories * (k + 1)`` rows within the bounds."""
    from SALib.sample import morris

    return morris.sample(problem, int(trajectories), num_levels=MORRIS_LEVELS, seed=int(seed) % (2**32))


def sample_design(params: Sequence[ParamSpec], design: str, samples: int | None,
                  seed: int) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The design points and, for a sampled design, the sampler's matrix they were mapped from.

    Args:
        params: the swept parameters.
        design: ``grid`` (all combinations), ``lhs`` (SALib Latin hypercube,
            ``samples`` points), ``sobol`` (SALib Saltelli/Sobol' sequence,
            ``samples * (2 * len(params) + 2)`` points) or ``morris`` (SALib
            Morris trajectories on :data:`MORRIS_LEVELS` levels, ``samples``
            trajectories of ``len(params) + 1`` points).
        samples: base sample size for lhs and sobol; trajectories for morris.
        seed: the master seed (seeds the samplers).

    Returns:
        ``(points, unit)``: one row per point and one column per parameter; ``unit`` is the
        sampler's output in :meth:`ParamSpec.bounds` space (None for a grid), which the
        sensitivity estimators need rather than the rounded or listed values.

    Raises:
        ScenarioError: unknown design, or samples missing or not allowed.
    """
    if design not in DESIGNS:
        raise ScenarioError(f"--design {quote(design)}: unknown design; allowed: {', '.join(DESIGNS)}")
    if not params:
        raise ScenarioError("--param: give at least one parameter to sweep, e.g. --param mechanisms.regulation.sanction=0:2:5")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ScenarioError(f"--param: a parameter is given twice: {', '.join(names)}")
    if design == "grid":
        if samples is not None:
            raise ScenarioError("--samples: only for --design lhs, sobol or morris (a grid visits every combination)")
        rows = list(itertools.product(*(p.grid_values() for p in params)))
        cols = {p.name: [r[i] for r in rows] for i, p in enumerate(params)}
        return pd.DataFrame(cols), None
    n = 16 if samples is None else int(samples)
    if n < 1:
        raise ScenarioError(f"--samples {n}: must be >= 1")
    if design == "morris" and n < 2:
        raise ScenarioError(f"--samples {n}: the Morris design needs at least 2 trajectories (10 to 50 is usual)")
    if design == "sobol" and n & (n - 1):
        lower = 1 << (n.bit_length() - 1)
        raise ScenarioError(f"--samples {n}: the Sobol' design needs a power of 2; allowed e.g. {lower} or {lower * 2}")
    problem = {"num_vars": len(params), "names": names, "bounds": [p.bounds() for p in params]}
    if design == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, n, seed=int(seed) % (2**32))
    elif design == "morris":
        x = morris_sample(problem, n, seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, n, calc_second_order=True, seed=int(seed) % (2**32))
    return pd.DataFrame({p.name: p.from_unit(x[:, i]) for i, p in enumerate(params)}), x


def design_size(params: Sequence[ParamSpec], design: str, samples: int | None) -> int:
    """How many points :func:`sample_design` gives, counted without drawing them (an upper bound for int grids)."""
    n = 16 if samples is None else max(0, int(samples))
    k = len(params)
    if design == "grid":
        size = 1
        for p in params:
            size *= len(p.values) if p.values is not None else int(p.n or 0)
        return size
    return {"lhs": n, "sobol": n * (2 * k + 2), "morris": n * (k + 1)}.get(design, 0)


def largest(params: Sequence[ParamSpec], base: Scenario, keys: Sequence[str]) -> Scenario:
    """``base`` with each of ``keys`` that is swept set to its largest value (for a cost estimate)."""
    over = {}
    for p in params:
        if p.name in keys:
            top = max(p.values) if p.values is not None else p.high
            over[p.name] = int(round(top)) if p.kind == "int" else float(top)
    return base.with_overrides(over, source="--param") if over else base


def build_design(params: Sequence[ParamSpec], design: str, samples: int | None, seed: int) -> pd.DataFrame:
    """The design points of :func:`sample_design`, one row per point and one column per parameter."""
    return sample_design(params, design, samples, seed)[0]
