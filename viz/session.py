"""Page logic without Solara: scenarios, levers, model building and exports.

Everything the browser page does to the model goes through here, so
``tests/test_app.py`` can exercise it without a browser. The model is built
the same way as on the command line: scenario file -> ``load_scenario`` with
dotted overrides -> ``ClusterModel``.
"""

from __future__ import annotations

import io
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd

from sim import ClusterModel, Scenario, ScenarioError, kpis, load_scenario, make_model
from sim.scenario import set_up_only_reason
from sim.scenario_files import scenario_toml as write_scenario_toml
from sim.submodels.policy import Event

__all__ = [
    "SCENARIO_DIR", "EXAMPLE_DIRS", "ScenarioInfo", "Lever", "LEVERS", "KPI_PANELS",
    "list_scenarios", "lever_values", "changed_overrides", "parse_seed", "BuildResult",
    "build_model", "advance", "kpi_frame", "frame_bytes", "run_replicates",
    "MAX_REPLICATES", "COMPARE_KPIS", "compare_runs", "paired_table", "BURN_IN",
    "live_lever_reason", "event_label", "add_lever_event", "app_events", "scenario_toml",
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
    shipped examples (``EXAMPLE_DIRS`` when ``directory`` is the default).

    A file in a sub-folder is named by its relative path without ``.toml``,
    e.g. ``digitalization/digitalization_stage1``; an example by its path from the repository,
    e.g. ``examples/cluster/cluster``.
    """
    directory = Path(directory)
    if examples is None:
        examples = EXAMPLE_DIRS if directory == SCENARIO_DIR else ()
    paths = sorted(directory.rglob("*.toml"), key=lambda p: (len(p.relative_to(directory).parts), str(p)))
    out = [ScenarioInfo(p.relative_to(directory).with_suffix("").as_posix(), p, _description(p)) for p in paths]
    root = Path(__file__).resolve().parent.parent
    for folder in examples:
        for p in sorted(Path(folder).glob("*.toml")):
            try:
                load_scenario(p)
            except ScenarioError:
                continue  # another kind of file beside the scenarios (e.g. calibration targets)
            name = p.relative_to(root).with_suffix("").as_posix() if p.is_relative_to(root) else p.stem
            out.append(ScenarioInfo(name, p, _description(p)))
    return out


@dataclass(frozen=True)
class Lever:
    """One control on the page, bound to a dotted scenario key.

    Attributes:
        key: dotted key passed to ``load_scenario`` overrides.
        label: short label on the page.
        kind: ``"slider"`` (float), ``"int"`` (integer slider), ``"switch"`` or ``"select"``.
        group: the card the lever is shown in.
        min, max, step: slider range; the documented (schema) bounds unless the
            schema is open-ended, then a practical cap noted in ``help``.
        options: choices of a ``select``.
        help: the schema description and documented range.
    """

    key: str
    label: str
    kind: Literal["slider", "int", "switch", "select"]
    group: str
    min: float = 0.0
    max: float = 1.0
    step: float = 0.05
    options: tuple[str, ...] = ()
    help: str = ""


def _schema_field(key: str):
    model: Any = Scenario
    info = None
    for part in key.split("."):
        info = model.model_fields[part]
        model = info.annotation
    return info


def _bounds(info) -> tuple[float | None, float | None]:
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
        hi = getattr(meta, "lt", None) if getattr(meta, "lt", None) is not None else hi
    return lo, hi


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _lever(key: str, label: str, group: str, *, ui_min: float | None = None, ui_max: float | None = None,
           step: float | None = None, exclude: tuple[str, ...] = ()) -> Lever:
    """Build a lever from the scenario schema (type, bounds, description)."""
    info = _schema_field(key)
    ann = info.annotation
    desc = info.description or ""
    if ann is bool:
        return Lever(key, label, "switch", group, help=desc)
    if typing.get_origin(ann) is Literal:
        opts = tuple(a for a in typing.get_args(ann) if a not in exclude)
        return Lever(key, label, "select", group, options=opts, help=desc + (" — " if desc else "") + " | ".join(opts))
    lo, hi = _bounds(info)
    lo = 0.0 if lo is None else lo
    documented = f"range {_fmt(lo)} to {_fmt(hi)}" if hi is not None else f"range ≥ {_fmt(lo)}"
    top = hi if (ui_max is None or (hi is not None and hi <= ui_max)) else ui_max
    if top is None:
        raise ValueError(f"lever {key} is open-ended; give ui_max")
    bottom = lo if ui_min is None else max(lo, ui_min)
    if hi is None or top < hi or bottom > lo:
        documented += f"; slider {_fmt(bottom)} to {_fmt(top)}"
    text = (desc + "; " if desc else "") + documented
    if ann is int:
        return Lever(key, label, "int", group, min=bottom, max=top, step=step or 1, help=text)
    return Lever(key, label, "slider", group, min=bottom, max=top, step=step or round((top - bottom) / 20, 6),
                 help=text)


#: The main levers shown on the run page, in display order.
LEVERS: tuple[Lever, ...] = (
    _lever("structure.kind", "Structure", "Structure", exclude=("edge_list", "data")),  # both need files
    _lever("structure.n_firms", "Firms", "Structure", ui_min=10, ui_max=2000, step=10),
    _lever("structure.generator", "Network generator", "Structure"),
    _lever("structure.mean_degree", "Mean degree", "Structure", ui_max=20, step=1),
    _lever("mechanisms.function_interest.enabled", "Function-interest (joint marketing pool)", "Mechanisms"),
    _lever("mechanisms.function_interest.sharing", "Sharing rule", "Mechanisms"),
    _lever("mechanisms.regulation.enabled", "Regulation (association)", "Mechanisms"),
    _lever("mechanisms.regulation.sanction", "Sanction", "Mechanisms", ui_max=5, step=0.1),
    _lever("mechanisms.regulation.monitoring_prob", "Monitoring probability", "Mechanisms"),
    _lever("mechanisms.contract.enabled", "Contracts", "Mechanisms"),
    _lever("mechanisms.contract.enforcement_prob", "Contract enforcement probability", "Mechanisms"),
    _lever("mechanisms.contract.duration", "Contract duration (steps)", "Mechanisms", ui_max=60),
    _lever("information.digitalization", "Digitalization", "Information"),
    _lever("marketing.cluster_brand", "Cluster brand", "Marketing"),
    _lever("marketing.channel_sharing", "Channel sharing", "Marketing"),
    _lever("marketing.leading_traction", "Leading-firm traction", "Marketing"),
    _lever("marketing.exhibition", "Exhibition promotion", "Marketing"),
    _lever("marketing.cooperative_rnd", "Cooperative R&D", "Marketing"),
    _lever("marketing.alliance", "Marketing alliance", "Marketing"),
)

#: KPI panels: title -> model-reporter columns drawn in it (from the KPI registry), plus the money the firms make.
KPI_PANELS: dict[str, tuple[str, ...]] = {**kpis.panels(), "Revenue and profit": ("revenue", "profit")}


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


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """Current value of every lever in ``scenario``."""
    return {lev.key: scenario.get(lev.key) for lev in LEVERS}


def changed_overrides(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """The lever values that differ from the scenario file (the overrides to apply)."""
    base = lever_values(scenario)
    out = {}
    for key, value in values.items():
        old = base.get(key)
        if isinstance(old, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isclose(old, float(value), rel_tol=1e-9, abs_tol=1e-12):
                continue
        elif old == value:
            continue
        out[key] = value
    return out


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


def _one_run(path: Path | str, seed: int, steps: int, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    res = build_model(path, overrides, seed)
    if res.model is None:
        raise ScenarioError(res.error or "could not build the model")
    err = advance(res.model, steps)
    if err:
        raise ScenarioError(err)
    return kpi_frame(res.model)


def run_replicates(path: Path | str, seed: int, steps: int, replicates: int = 1,
                   overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one scenario for ``replicates`` seeds (``seed``, ``seed+1``, ...), stacked.

    The compare page calls this for both scenarios with the same seeds, so the
    two arms share random numbers replicate by replicate.

    Returns:
        A frame with columns ``replicate``, ``seed``, ``step`` and the KPIs.

    Raises:
        ScenarioError: if the scenario or a model cannot be built or run.
    """
    frames = []
    for r in range(replicates):
        df = _one_run(path, seed + r, steps, overrides)
        df.insert(0, "seed", seed + r)
        df.insert(0, "replicate", r)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- levers moved during a run


def live_lever_reason(key: str) -> str | None:
    """Why lever ``key`` cannot change a running cluster (it needs a rebuild), or None if it can."""
    return set_up_only_reason(key)


def event_label(changes: dict[str, Any]) -> str:
    """A short figure label for lever changes, e.g. ``digitalization 0.9, sanction 2``."""
    names = {lev.key: lev.label for lev in LEVERS}
    parts = []
    for key, value in changes.items():
        name = names.get(key, key.rsplit(".", 1)[-1].replace("_", " "))
        shown = ("on" if value else "off") if isinstance(value, bool) else (_fmt(value) if isinstance(value, (int, float)) else str(value))
        parts.append(f"{name.split(' (')[0]} {shown}")
    return ", ".join(parts)


def add_lever_event(model: ClusterModel, changes: dict[str, Any], events: list[Event]) -> Event:
    """Put lever changes on the running model's timeline from its next step, as a ``[[policy]]`` event would.

    Changes made before the next step joins the app's event already waiting
    for that step, so several levers moved between two steps make one event.

    Args:
        model: the running model (its ``timeline`` is read by the policy submodel at every step).
        changes: dotted lever keys to new values.
        events: the events this page added so far (appended to or updated in place).

    Returns:
        The event that carries the changes.

    Raises:
        ScenarioError: a lever that only a rebuild can change, a value the schema refuses,
            or a model without a timeline (the validation game).
    """
    if not hasattr(model, "timeline"):
        raise ScenarioError("this model (the validation game) has no timeline; its levers apply on Reset")
    for key in changes:
        why = live_lever_reason(key)
        if why is not None:
            raise ScenarioError(f"{key} cannot change during a run: {why}; it applies when the cluster is rebuilt")
    # the same check a scenario file's event gets: the values must make a valid scenario
    model.params.with_overrides(changes, source="lever")
    at = int(model.time) + 1
    event = next((e for e in events if e.at == at), None)
    if event is None:
        event = Event(at, {}, label="")
        events.append(event)
        model.timeline.append(event)
    event.changes.update(changes)
    event.label = event_label(event.changes)
    return event


def app_events(events: list[Event]) -> list[dict]:
    """The page's events in the figures' form (``analysis.programme.events_of``)."""
    return [{"at": e.at, "until": None, "ramp": None, "label": e.label, "set": dict(e.changes)} for e in events]


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


# --------------------------------------------------------------------------- comparisons with numbers

#: Most replicates the compare page runs per scenario.
MAX_REPLICATES = 30

#: KPIs whose paired difference the compare page reports: the headline KPIs and revenue.
COMPARE_KPIS: tuple[str, ...] = (*kpis.headline_kpis(), *(("revenue",) if "revenue" not in kpis.headline_kpis() else ()))

#: Share of a run's first steps left out of its mean, as in ``run.py compare``.
BURN_IN = 0.5


def compare_runs(paths: dict[str, Path | str], seed: int, steps: int, replicates: int,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict[str, pd.DataFrame] | None:
    """Run every scenario for the same ``replicates`` seeds (common random numbers), replicate by replicate.

    Args:
        paths: label -> scenario file.
        seed: first seed; replicate r uses ``seed + r`` in every scenario.
        steps: steps per run.
        replicates: 1 to :data:`MAX_REPLICATES`.
        on_progress: called with (runs done, runs in all) after each run.
        should_stop: asked before each run; True abandons the comparison.

    Returns:
        label -> frame (columns ``replicate``, ``seed``, ``step``, KPIs), or None if stopped.

    Raises:
        ScenarioError: replicates out of range, or a scenario that cannot be built or run.
    """
    if not 1 <= replicates <= MAX_REPLICATES:
        raise ScenarioError(f"replicates: {replicates}; allowed: 1 to {MAX_REPLICATES}")
    frames: dict[str, list[pd.DataFrame]] = {label: [] for label in paths}
    total, done = replicates * len(paths), 0
    for r in range(replicates):
        for label, path in paths.items():
            if should_stop is not None and should_stop():
                return None
            df = _one_run(path, seed + r, steps)
            df.insert(0, "seed", seed + r)
            df.insert(0, "replicate", r)
            frames[label].append(df)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    return {label: pd.concat(f, ignore_index=True) for label, f in frames.items()}


def paired_table(runs: dict[str, pd.DataFrame], reference: str, kpis_: tuple[str, ...] = COMPARE_KPIS,
                 level: float = 0.95) -> pd.DataFrame:
    """Paired differences of each scenario against ``reference``, as ``run.py compare`` reports them.

    Each run is summarized by its mean over the steps after the burn-in (:data:`BURN_IN`);
    runs pair by seed; intervals are t-intervals, Holm-adjusted across the KPIs
    (``analysis.stats.paired_differences``).

    Returns:
        One row per (scenario, KPI): ``scenario, kpi, reference, ref_mean, diff, ci_low, ci_high,
        n_pairs, p_holm, significant, verdict`` and ``unit``.
    """
    from analysis.stats import paired_differences
    from sim.metrics import summarize

    rows = []
    for label, df in runs.items():
        for (rep, seed), run in df.groupby(["replicate", "seed"], sort=True):
            summary = summarize(run.drop(columns=["replicate", "seed", "step"]), burn_in=BURN_IN)
            rows.append({"scenario": label, "seed": int(seed), **summary})
    table = paired_differences(pd.DataFrame(rows), reference, [k for k in kpis_ if f"{k}_mean" in rows[0]],
                               alpha=1 - level, order=list(runs))
    table["unit"] = [kpis.kpi(k).unit for k in table["kpi"]]
    return table
