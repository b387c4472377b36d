"""Page logic without Solara: scenarios, model building and stepping, the KPI numbers, exports.

Everything the browser page does to the model goes through here, so
``tests/test_app.py`` can exercise it without a browser. The model is built
the same way as on the command line: scenario file -> ``load_scenario`` with
dotted overrides -> ``ClusterModel``. The levers are in :mod:`viz.levers`, the
compare page's runs and numbers in :mod:`viz.comparison`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sim import ClusterModel, Scenario, ScenarioError, kpis, load_scenario, make_model
from sim.scenario_files import other_input_kind
from sim.scenario_files import scenario_toml as write_scenario_toml
from sim.submodels.policy import Event

__all__ = [
    "SCENARIO_DIR", "EXAMPLE_DIRS", "ScenarioInfo", "KPI_PANELS", "natural_range", "kpi_chart_data", "firm_names",
    "latest_values", "list_scenarios", "parse_seed", "BuildResult", "build_model", "advance", "kpi_frame",
    "frame_bytes", "timeline_events", "scenario_toml",
]

#: Folder the scenario picker lists; ``CLUSTERCOOP_SCENARIO_DIR`` points it elsewhere.
SCENARIO_DIR = Path(os.environ.get("CLUSTERCOOP_SCENARIO_DIR") or Path(__file__).resolve().parent.parent / "scenarios")


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario file offered in the picker.

    Attributes:
        name: file stem, shown in the picker.
        path: the TOML file.
        description: what the scenario does: the file's ``description``, else its opening comment.
    """

    name: str
    path: Path
    description: str


def _first_comment(path: Path) -> str:
    """The question a scenario file answers: its opening comment up to the first full stop or question mark."""
    parts: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        parts.append(stripped.lstrip("#").strip())
        if parts[-1].endswith(("?", ".", "!")):
            break
    text = " ".join(p for p in parts if p)
    question = text.find("?")
    return text[: question + 1] if question >= 0 else text


#: Folders of shipped example scenarios the picker lists after ``SCENARIO_DIR`` (the data-based example cluster).
EXAMPLE_DIRS: tuple[Path, ...] = (Path(__file__).resolve().parent.parent / "examples" / "cluster",)


def _description(path: Path) -> str:
    """What a scenario does, in plain words: the file's own ``description``, else its opening comment."""
    import tomllib

    try:
        own = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("description")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        own = None
    return own if isinstance(own, str) and own.strip() else _first_comment(path)


def list_scenarios(directory: Path | str = SCENARIO_DIR,
                   examples: tuple[Path, ...] | None = None) -> list[ScenarioInfo]:
    """Scenario files in ``directory`` (``*.toml``, sub-folders too), top level first, then by name; then the
    shipped examples (``EXAMPLE_DIRS`` when ``directory`` is the default). A file holding another input of the
    tool (calibration targets, ``run.py robust``'s files: :func:`sim.scenario_files.other_input_kind`) is left out.

    A file in a sub-folder is named by its relative path without ``.toml``,
    e.g. ``digitalization/digitalization_stage1``; an example by its path from the repository,
    e.g. ``examples/cluster/cluster``.
    """
    directory = Path(directory)
    if examples is None:
        examples = EXAMPLE_DIRS if directory == SCENARIO_DIR else ()
    paths = sorted(directory.rglob("*.toml"), key=lambda p: (len(p.relative_to(directory).parts), str(p)))
    # in any folder, a file is skipped for what it holds (calibration targets, robust's files) not where it is
    out = [ScenarioInfo(p.relative_to(directory).with_suffix("").as_posix(), p, _description(p)) for p in paths
           if not other_input_kind(p)]
    root = Path(__file__).resolve().parent.parent
    for folder in examples:
        for p in sorted(Path(folder).glob("*.toml")):
            if not other_input_kind(p):
                name = p.relative_to(root).with_suffix("").as_posix() if p.is_relative_to(root) else p.stem
                out.append(ScenarioInfo(name, p, _description(p)))
    return out


#: KPI panels: title -> model-reporter columns drawn in it (the KPI registry's panels).
KPI_PANELS: dict[str, tuple[str, ...]] = kpis.panels()


def natural_range(columns: tuple[str, ...] | list[str]) -> tuple[float | None, float | None]:
    """The y-range a panel of these KPIs can take, from their registry units (None: open).

    Shares and indices lie in [0, 1]; counts of firms, contracts or messages start at 0;
    money and other units are open (profit can be negative).
    """
    lo, hi = 0.0, 1.0
    for col in columns:
        unit = kpis.kpi(col).unit if col in {k.name for k in kpis.KPIS} else ""
        if unit in (kpis.SHARE, kpis.INDEX):
            continue
        hi = None
        if unit not in (kpis.FIRMS, kpis.FIRMS_STEP, "contracts", "messages per step", "steps"):
            return None, None
    return lo, hi


#: Line colours of a panel's KPIs, in order (matplotlib's first colours, as in the PNG downloads).
LINE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def _clean(values) -> list[float | None]:
    return [float(v) if v == v else None for v in values]  # NaN -> null in JSON


def kpi_chart_data(df: pd.DataFrame, fixed_y: bool = False) -> tuple[list[int], list[dict]]:
    """The live KPI panels as numbers for the browser's chart: the steps, and per panel its title, y-range and series.

    Args:
        df: :func:`kpi_frame` of the run.
        fixed_y: give each panel its KPIs' natural range (:func:`natural_range`) instead of the data's.

    Returns:
        ``(steps, panels)``; a panel is ``{"title", "ylim": [lo, hi] (None: open), "series": [{"label", "color",
        "dash", "y"}]}``.
    """
    steps = [int(s) for s in df["step"]] if "step" in df else list(range(len(df)))
    panels = []
    for title, cols in KPI_PANELS.items():
        present = [c for c in cols if c in df]
        series = [{"label": c.replace("_", " "), "color": LINE_COLOURS[j % len(LINE_COLOURS)], "dash": False,
                   "y": _clean(df[c].to_numpy(float))} for j, c in enumerate(present)]
        lo, hi = natural_range(tuple(present)) if fixed_y else (None, None)
        panels.append({"title": title, "ylim": [lo, hi], "series": series})
    return steps, panels


def firm_names(model) -> dict[str, int]:
    """Display name -> node id of each active firm of a cluster built from data (empty for a generated one)."""
    if not getattr(model, "names", None):
        return {}
    firms = model.firm_table()
    return {str(n): int(i) for n, i in zip(firms["name"], firms["id"])} if "name" in firms else {}


def latest_values(df: pd.DataFrame, columns: tuple[str, ...] | None = None) -> dict[str, float]:
    """The last row's value of each headline KPI (for the numbers under the plots)."""
    columns = columns or kpis.headline_kpis()
    if df.empty:
        return {}
    last = df.iloc[-1]
    return {c: float(last[c]) for c in columns if c in df}


def parse_seed(text: str | int | None) -> int:
    """Turn the seed field's text into a non-negative int.

    Raises:
        ScenarioError: if the text is not a whole number >= 0.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        cleaned = str(text if text is not None else "").strip().replace("_", "")
        try:
            value = int(cleaned)
        except ValueError:
            raise ScenarioError(f"seed: {text!r} is not a whole number; type e.g. 42") from None
    if value < 0:
        raise ScenarioError(f"seed: {value} is negative; use a whole number >= 0")
    return value


@dataclass
class BuildResult:
    """What building a model from the page's inputs gave.

    Attributes:
        model: the new model, or None if the inputs were invalid.
        scenario: the validated scenario (file plus overrides), or None.
        error: a readable message when ``model`` is None.
    """

    model: ClusterModel | None = None
    scenario: Scenario | None = None
    error: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def build_model(path: Path | str, overrides: dict[str, Any] | None = None, seed: str | int | None = 42) -> BuildResult:
    """Validate the scenario with overrides and build the model; never raises on bad input.

    Args:
        path: scenario TOML file.
        overrides: dotted keys to values (the levers moved on the page).
        seed: text of the seed field or an int.

    Returns:
        A :class:`BuildResult`; its ``error`` holds the message for the page if anything is wrong.
    """
    overrides = dict(overrides or {})
    try:
        rng = parse_seed(seed)
        scenario = load_scenario(path, overrides or None)
    except ScenarioError as exc:
        return BuildResult(error=str(exc), overrides=overrides)
    try:
        model = make_model(scenario, rng=rng)
    except ScenarioError as exc:
        return BuildResult(scenario=scenario, error=str(exc), overrides=overrides)
    except (ValueError, TypeError, ZeroDivisionError) as exc:  # e.g. a graph generator refusing the sizes
        return BuildResult(scenario=scenario, error=f"These lever values cannot build a cluster: {exc}",
                           overrides=overrides)
    return BuildResult(model=model, scenario=scenario, overrides=overrides)


def advance(model: ClusterModel, steps: int = 1) -> str | None:
    """Step the model ``steps`` times; return an error message instead of raising."""
    try:
        for _ in range(steps):
            model.step()
    except Exception as exc:  # shown on the page; the server log keeps the traceback
        import traceback

        traceback.print_exc()
        return f"The model stopped at step {int(model.time)}: {type(exc).__name__}: {exc}"
    return None


def kpi_frame(model: ClusterModel) -> pd.DataFrame:
    """The run's time series: one row per collected step, with a ``step`` column first."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    if "step" not in df:
        df.insert(0, "step", range(len(df)))
    return df


def frame_bytes(df: pd.DataFrame, fmt: Literal["csv", "parquet"]) -> bytes:
    """Serialize a frame as CSV or Parquet bytes for a download."""
    buf = io.BytesIO()
    if fmt == "csv":
        buf.write(df.to_csv(index=False).encode("utf-8"))
    elif fmt == "parquet":
        df.to_parquet(buf, index=False)
    else:
        raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'parquet'")
    return buf.getvalue()


def timeline_events(scenario: Scenario, label: str = "", last_step: int | None = None) -> list[dict]:
    """The scenario's timeline events for the figures (``analysis.programme.events_of``), labels prefixed by ``label``."""
    from analysis.programme import events_of

    return [{**e, "label": f"{label}{e['label']}"} for e in events_of(scenario.model_dump(), last_step)]


def scenario_toml(scenario: Scenario, events: list[Event], steps: int | None = None, note: str = "") -> str:
    """A scenario file holding ``scenario`` (as built, before any event) plus the page's lever events.

    Written by the project's one scenario writer (:func:`sim.scenario_files.scenario_toml`): every
    value that differs from the defaults, so the file stands alone (no ``extends``), data files by
    their absolute paths (where the browser saves it is not known); the scenario's own
    ``[[policy]]`` entries come first, then one entry per lever event.

    Args:
        scenario: the scenario the run was built from.
        events: the page's lever events.
        steps: ``run.steps`` to write, at least the last event's step (default the scenario's).
        note: a comment line at the top.

    Raises:
        ScenarioError: an event the timeline does not allow, or a value a file cannot hold.
    """
    extra = f"{len(events)} lever change(s) made in the app" if events else ""
    timeline = [e.model_dump() for e in scenario.policy]
    timeline += [{"at": e.at, "label": e.label, "set": dict(e.changes)} for e in events]
    written = scenario.with_overrides({
        "name": scenario.name + "_with_events" if events else scenario.name,
        "description": "; ".join(x for x in (scenario.description, extra) if x),
        "run.steps": max([steps or scenario.run.steps, *(e.at for e in events)]),
        "policy": timeline,
    }, source="the app's scenario file")
    return write_scenario_toml(written, None, comment=note)


