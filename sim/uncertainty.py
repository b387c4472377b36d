"""Uncertain parameters of a scenario, drawn per replicate with common random numbers.

A scenario's ``[uncertain]`` section declares parameters whose value is not known::

    [uncertain]
    posterior = "posterior.parquet"   # rows drawn whole (by weight), e.g. from run.py calibrate
    seeds_per_draw = 2                # replicates sharing one draw (separates the two spreads)

    [uncertain.params]
    "market.demand_shift" = {dist = "uniform", lo = -0.1, hi = 0.1}
    "trust.w_opportunism" = {dist = "normal", mean = 4.0, sd = 0.5, lo = 2.0, hi = 6.0}  # truncated
    "trust.w_benefits" = {dist = "triangular", lo = 1.0, mode = 2.0, hi = 3.0}

``compare`` and ``sweep`` give replicate ``r`` the draw ``d = r // seeds_per_draw`` (their replicates a
multiple of ``seeds_per_draw``, so every draw has as many seeds). Each
parameter's value is its distribution's quantile at a uniform number seeded by the master seed,
``d`` and the parameter's name, and the posterior row is picked the same way; so the same
replicate gets the same draw in every arm (common random numbers), also when the arms declare
different parameters. ``run`` uses the scenario's own values. The draws come from seeds
derived from the master seed before the model starts; the model's randomness is untouched.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ScenarioError

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["Distribution", "UncertainParams", "Plan", "plan_of", "check_uncertain", "resolve_posterior_path",
           "seeds_per_draw_of"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)


class Distribution(_Strict):
    """One uncertain parameter's distribution on ``[lo, hi]``."""

    dist: Literal["uniform", "normal", "triangular"]
    lo: float
    hi: float
    mean: float | None = None
    sd: float | None = Field(None, gt=0.0)
    mode: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Distribution":
        if not self.lo < self.hi:
            raise ValueError(f"lo ({self.lo}) must be below hi ({self.hi})")
        need = {"uniform": (), "normal": ("mean", "sd"), "triangular": ("mode",)}[self.dist]
        for f in ("mean", "sd", "mode"):
            given = getattr(self, f) is not None
            if given != (f in need):
                raise ValueError(f"{self.dist} {'needs' if not given else 'takes no'} {f}"
                                 f" (a {self.dist} on [lo, hi] takes {', '.join(need) or 'only lo and hi'})")
        if self.mode is not None and not self.lo <= self.mode <= self.hi:
            raise ValueError(f"mode ({self.mode}) must lie in [lo, hi]")
        return self

    def quantile(self, u: float) -> float:
        """The value at probability ``u`` (inverse CDF; a normal is truncated to ``[lo, hi]``)."""
        from scipy import stats

        if self.dist == "uniform":
            return self.lo + u * (self.hi - self.lo)
        if self.dist == "triangular":
            c = (self.mode - self.lo) / (self.hi - self.lo)
            return float(stats.triang.ppf(u, c, loc=self.lo, scale=self.hi - self.lo))
        a, b = (self.lo - self.mean) / self.sd, (self.hi - self.mean) / self.sd
        return float(np.clip(stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd), self.lo, self.hi))


class UncertainParams(_Strict):
    """The ``[uncertain]`` section: distributions and/or a posterior file, and replicates per draw."""

    posterior: str | None = Field(None, description="Parquet file of draws (one column per dotted key, optional "
                                                    "weight), relative to the file that names it")
    seeds_per_draw: int = Field(2, ge=1, le=1000, description="replicates that share one draw of the parameters")
    params: dict[str, Distribution] = Field({}, description="dotted key -> distribution")

    @property
    def declared(self) -> bool:
        return bool(self.posterior or self.params)


def _stream(name: str) -> int:
    return zlib.crc32(name.encode())


def _uniform(master: int, draw: int, name: str) -> float:
    return float(np.random.default_rng(np.random.SeedSequence([int(master), int(draw), _stream(name)])).random())


@dataclass
class Plan:
    """The uncertain parameters of one scenario, ready to draw (the posterior file read once)."""

    params: dict[str, Distribution]
    seeds_per_draw: int
    posterior: Any = None  # pandas frame of the posterior's parameter columns
    cumulative: np.ndarray | None = None  # cumulative weights of the posterior rows
    posterior_file: str | None = None
    posterior_sha256: str | None = None

    @property
    def keys(self) -> list[str]:
        return [*(self.posterior.columns if self.posterior is not None else ()), *self.params]

    def draw_index(self, replicate: int) -> int:
        return replicate // self.seeds_per_draw

    def draw(self, master: int, replicate: int, skip: Iterable[str] = ()) -> dict[str, float]:
        """The values of replicate ``replicate``; keys in ``skip`` are left out (set explicitly elsewhere)."""
        d = self.draw_index(replicate)
        skip = set(skip)
        out: dict[str, float] = {}
        if self.posterior is not None:
            row = int(np.searchsorted(self.cumulative, _uniform(master, d, "<posterior>"), side="right"))
            row = min(row, len(self.cumulative) - 1)
            for k in self.posterior.columns:
                if k not in skip:
                    out[k] = float(self.posterior[k].iloc[row])
        for k, dist in self.params.items():
            if k not in skip:
                out[k] = dist.quantile(_uniform(master, d, k))
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-ready record for a manifest."""
        return {"params": {k: v.model_dump(exclude_none=True) for k, v in self.params.items()},
                "posterior": self.posterior_file, "posterior_sha256": self.posterior_sha256,
                "posterior_rows": None if self.posterior is None else len(self.posterior),
                "seeds_per_draw": self.seeds_per_draw}


def _read_posterior(path: str, source: str):
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"{source}: uncertain.posterior: file not found: {p}")
    try:
        frame = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise ScenarioError(f"{source}: uncertain.posterior: {p}: not a readable Parquet file ({exc})") from None
    if len(frame) == 0:
        raise ScenarioError(f"{source}: uncertain.posterior: {p}: holds no rows")
    weight = frame.pop("weight").to_numpy(dtype=float) if "weight" in frame else np.ones(len(frame))
    if not np.all(np.isfinite(weight)) or np.any(weight < 0) or weight.sum() <= 0:
        raise ScenarioError(f"{source}: uncertain.posterior: {p}: column weight must be finite, >= 0 and not all 0")
    return frame, weight


def _check_key(scenario: "Scenario", key: str, lo: float, hi: float, source: str) -> None:
    from .scenario import check_key

    current = check_key(scenario, key, f"{source}: uncertain:")
    if isinstance(current, bool) or not isinstance(current, float):
        raise ScenarioError(f"{source}: uncertain: {key}: holds {current!r} ({type(current).__name__}); only "
                            "real-valued parameters can be uncertain")
    for v in (lo, hi):  # the schema's ranges are intervals, so both ends valid means every draw is
        scenario.with_overrides({key: float(v)}, source=f"{source}: uncertain: {key} = {v}")


def plan_of(scenario: "Scenario", source: str = "<scenario>") -> Plan | None:
    """Check the scenario's ``[uncertain]`` section and make its :class:`Plan` (None if it declares nothing).

    Raises:
        ScenarioError: an unknown or non-real key, a key the data files decide, a range the schema does not
            allow, a posterior
            file that is missing, unreadable, empty, or whose columns are not real-valued keys.
    """
    import hashlib

    from .data import refuse_unused  # loaded only for a declared section: data brings the cluster readers

    spec = scenario.uncertain
    if not spec.declared:
        return None
    refuse_unused(scenario, spec.params, f"{source}: uncertain:", "draw",
                  "remove it from [uncertain.params] or draw a field the model uses")
    for key, dist in spec.params.items():
        _check_key(scenario, key, dist.lo, dist.hi, source)
    frame = cumulative = sha = None
    if spec.posterior:
        frame, weight = _read_posterior(spec.posterior, source)
        refuse_unused(scenario, frame.columns, f"{source}: uncertain:", "draw",
                      f"remove it from the posterior file {spec.posterior} or draw a field the model uses")
        for key in frame.columns:
            col = frame[key]
            if not np.issubdtype(col.dtype, np.number) or not np.all(np.isfinite(col.to_numpy(dtype=float))):
                raise ScenarioError(f"{source}: uncertain.posterior: column {key}: must hold finite numbers")
            _check_key(scenario, key, float(col.min()), float(col.max()), f"{source} (posterior column)")
        both = sorted(set(frame.columns) & set(spec.params))
        if both:
            raise ScenarioError(f"{source}: uncertain: {', '.join(both)}: both in the posterior file and in "
                                "[uncertain.params]; declare each parameter once")
        frame = frame.astype(float)
        cumulative = np.cumsum(weight) / weight.sum()
        sha = hashlib.sha256(Path(spec.posterior).read_bytes()).hexdigest()
    return Plan(dict(spec.params), spec.seeds_per_draw, frame, cumulative, spec.posterior, sha)


def check_uncertain(scenario: "Scenario", source: str) -> None:
    """Raise :class:`ScenarioError` if the ``[uncertain]`` section is bad (see :func:`plan_of`)."""
    plan_of(scenario, source)


def resolve_posterior_path(data: Mapping[str, Any], folder: Path) -> None:
    """Make a relative ``uncertain.posterior`` of one file's data absolute, against that file's folder."""
    section = data.get("uncertain")
    if isinstance(section, dict) and isinstance(section.get("posterior"), str):
        p = Path(section["posterior"])
        if not p.is_absolute():
            section["posterior"] = str((folder / p).resolve())


def seeds_per_draw_of(plans: Iterable[Plan | None], source: str) -> int | None:
    """The one ``seeds_per_draw`` of every plan that declares something (None if none does).

    Raises:
        ScenarioError: the arms disagree, so the same replicate could not share one draw.
    """
    values = sorted({p.seeds_per_draw for p in plans if p is not None})
    if len(values) > 1:
        raise ScenarioError(f"{source}: uncertain.seeds_per_draw differs between the arms ({values}); "
                            "give them one value so each replicate shares its draw")
    return values[0] if values else None
