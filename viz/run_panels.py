"""The panels of the run page, each showing one part of a live run: levers, network, Morgan-Hunt, KPIs, events.

:class:`Run` is what they share: the model, its layout and the lever events made on the page. The page
that holds the run and its controls is :mod:`viz.run_page`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import solara

from viz import figures, session
from viz.levers import FILE_KINDS, Lever, app_events, cluster_counts, shown_levers
from viz.widgets import placeholder, use_drawn

__all__ = ["Run", "new_run", "largest_firm", "firm_label", "LeverControls", "NetworkImage", "click_to_firm",
           "NetworkPanel", "MorganHuntPanel", "KpiChart", "KpiPanel", "EventList"]


@dataclass(eq=False)
class Run:
    """One live run on the run page.

    Attributes:
        name: scenario name (file stem).
        model: the model, or None if building failed.
        error: message shown instead of a traceback.
        layout: node positions kept across steps.
        overrides: the lever values applied on top of the scenario file.
        seed: the seed used.
        base: the scenario the model was built from, before any event (for the export).
        events: the lever changes made during the run, as timeline events.
        lock: held while the model steps or gets an event (the play loop runs in its own thread).
        busy: pictures of this run being drawn in the background.
        counts: a cluster built from files: its firms and links as built (the page shows them instead of
            the structure levers), else "".
    """

    name: str
    model: Any = None
    error: str | None = None
    layout: figures.NetworkLayout = field(default_factory=figures.NetworkLayout)
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: str = "42"
    base: Any = None
    events: list = field(default_factory=list)
    lock: Any = field(default_factory=threading.Lock)
    busy: int = 0  # pictures being drawn
    counts: str = ""

    def marks(self) -> list[dict]:
        """The timeline to mark on the plots: the scenario's own events, then the levers moved on the page."""
        own = session.timeline_events(self.base, last_step=None) if self.base is not None else []
        return own + app_events(self.events)


def new_run(info: session.ScenarioInfo, overrides: dict[str, Any], seed: str) -> Run:
    """Build a :class:`Run` from a scenario, lever overrides and the seed text."""
    res = session.build_model(info.path, overrides, seed)
    # the model may change its scenario in place (events): keep the scenario as built
    base = res.scenario.model_copy(deep=True) if res.scenario is not None else None
    files = res.model is not None and base is not None and base.structure.kind in FILE_KINDS
    return Run(info.name, res.model, res.error, overrides=dict(overrides), seed=str(seed), base=base,
               counts=cluster_counts(res.model) if files else "")


def largest_firm(model) -> int | None:
    firms = model.firm_table()
    if firms.empty:
        return None
    return int(firms.loc[firms["revenue"].astype(float).idxmax(), "id"])


def firm_label(model, firm_id: int | None) -> str:
    """What the Morgan-Hunt panel says about its firm, e.g. ``Selected: firm 17 (enterprise)``."""
    if firm_id is None:
        return "Selected: no firm — click one in the network view"
    firms = model.firm_table()
    row = firms.loc[firms["id"] == firm_id]
    if row.empty:
        return f"Selected: firm {firm_id} (not an active firm)"
    kind = str(row["kind"].iloc[0]).replace("_", " ")
    if "name" in row.columns:  # a cluster built from data: its firms have names
        return f"Selected: {row['name'].iloc[0]} (firm {firm_id}, {kind})"
    return f"Selected: firm {firm_id} ({kind})"


@solara.component
def LeverControls(values: solara.Reactive[dict], disabled: bool = False,
                  on_change: Callable[[str, Any], None] | None = None, counts: str = ""):
    """Sliders, switches and dropdowns for the levers that apply (``viz.levers.shown_levers``), bound to ``values``
    (dotted key -> value).

    A cluster built from files shows ``counts`` (its firms and links) instead of the structure levers the files
    decide. ``on_change(key, value)`` is called after a lever moved.
    """
    groups: dict[str, list[Lever]] = {}
    if values.value.get("structure.kind") in FILE_KINDS:
        groups["Structure"] = []
    for lev in shown_levers(values.value.get("structure.kind")):
        groups.setdefault(lev.group, []).append(lev)

    def setter(key):
        def set_value(v):
            values.set({**values.value, key: v})
            if on_change is not None:
                on_change(key, v)

        return set_value

    for group, levers in groups.items():
        with solara.Details(group, expand=group == "Structure"):
            with solara.Column(gap="2px"):
                if group == "Structure" and not levers:
                    solara.Text(f"Built from the scenario's files{': ' + counts if counts else ''}.",
                                classes=["cc-structure-counts"], style={"font-size": "13px"})
                for lev in levers:
                    current = values.value.get(lev.key)
                    if current is None:
                        continue
                    with solara.Tooltip(lev.help or lev.key):
                        with solara.Div():
                            if lev.kind == "switch":
                                solara.Switch(label=lev.label, value=bool(current), on_value=setter(lev.key),
                                              disabled=disabled)
                            elif lev.kind == "select":
                                solara.Select(lev.label, list(lev.options), value=current, on_value=setter(lev.key),
                                              disabled=disabled, dense=True)
                            elif lev.kind == "int":
                                solara.SliderInt(f"{lev.label}: {int(current)}", value=int(current), min=int(lev.min), max=int(lev.max),
                                                 step=int(lev.step), on_value=setter(lev.key), disabled=disabled)
                            else:
                                solara.SliderFloat(f"{lev.label}: {float(current):g}", value=float(current), min=lev.min, max=lev.max,
                                                   step=lev.step, on_value=setter(lev.key), disabled=disabled)


@solara.component_vue("network_image.vue")
def NetworkImage(src: str, width: int, height: int, firms: list, event_pick: Callable[[dict], None]):
    """The network PNG as an ``<img>`` that reports clicks (offsets and drawn size) through ``event_pick``.

    ``firms`` is ``NetworkPicture.firm_points()``; the page uses it for the hover
    label only, the choice itself is made on the server by :func:`click_to_firm`.
    """


def click_to_firm(picture: figures.NetworkPicture, data: dict) -> int | None:
    """The firm under a click on the network image, or None.

    Args:
        picture: what the image shows.
        data: ``{"x", "y"}`` click offsets in CSS pixels and ``{"w", "h"}`` the image's drawn size
            (the picture may be shown scaled down).
    """
    try:
        x, y = float(data["x"]), float(data["y"])
        w, h = float(data.get("w") or picture.width), float(data.get("h") or picture.height)
    except (KeyError, TypeError, ValueError):
        return None
    if w <= 0 or h <= 0:
        return None
    return figures.pick_node(picture.firms, x * picture.width / w, y * picture.height / h)


@solara.component
def NetworkPanel(run: Run, version: int, selected: int | None, on_select: Callable[[int], None] | None = None):
    """The cluster network with colour/size choices, a legend and a PNG download; click a firm to select it."""
    color_by = solara.use_reactive("kind")
    size_by = solara.use_reactive("revenue")

    def make():
        with run.lock:  # the play loop may be stepping
            snap, step = run.model.graph_snapshot(), int(run.model.time)
        picture = figures.network_picture(snap, run.layout, color_by=color_by.value, size_by=size_by.value,
                                          selected=selected, title=f"{run.name} — step {step}")
        return picture, step

    drawn = use_drawn(make, [run, version, color_by.value, size_by.value, selected], run)
    picture, step = drawn if drawn is not None else (None, 0)

    def on_pick(data):
        firm = click_to_firm(picture, data) if picture is not None else None
        if firm is not None and on_select is not None:
            on_select(firm)

    with solara.Card("Network", classes=["cc-network"]):
        with solara.Row(gap="24px", style={"align-items": "flex-end"}):
            with solara.Column(gap="0px"):
                solara.Text("Colour by", style={"font-size": "12px"})
                solara.ToggleButtonsSingle(color_by, ["kind", "cooperation"], dense=True)
            with solara.Column(gap="0px"):
                solara.Text("Size by", style={"font-size": "12px"})
                solara.ToggleButtonsSingle(size_by, ["revenue", "commitment"], dense=True)
            solara.Text("Click a firm to show it in the Morgan–Hunt panel.", style={"font-size": "12px", "color": "#555"})
        if picture is None:
            placeholder("Drawing the network…")
            return
        NetworkImage(src=picture.data_url(), width=picture.width, height=picture.height, firms=picture.firm_points(),
                     event_pick=on_pick)
        solara.Text(f"Step {step}: {picture.caption}", classes=["cc-network-caption"],
                    style={"font-size": "12px", "color": "#555"})
        solara.FileDownload(lambda: figures.figure_png(picture.fig),
                            filename=f"network_{run.name.replace('/', '_')}_step{step}.png",
                            label="Network figure (PNG)", mime_type="image/png")


@solara.component
def MorganHuntPanel(run: Run, version: int, selected: solara.Reactive[int | None]):
    """Morgan-Hunt variables for the cluster and one firm (clicked in the network view or typed by id)."""

    def make():
        with run.lock:
            firms = run.model.firm_table()
        fig = figures.morgan_hunt_figure(firms, selected.value)
        return fig, figures.figure_png(fig, dpi=int(fig.dpi))

    drawn = use_drawn(make, [run, version, selected.value], run)
    label = firm_label(run.model, selected.value)
    with solara.Card("Morgan–Hunt: cluster and selected firm", classes=["cc-morgan-hunt"]):
        solara.Text(label, classes=["cc-selected-firm"],
                    style={"font-size": "14px", "font-weight": "bold", "display": "block", "margin-bottom": "14px"})
        with solara.Row():
            solara.InputInt("Firm id", value=selected, optional=True, clearable=True, dense=True,
                            style={"max-width": "140px"})
            solara.Button("Largest firm", on_click=lambda: selected.set(largest_firm(run.model)), text=True)
        names = session.firm_names(run.model)
        if names:
            by_id = {i: n for n, i in names.items()}
            solara.Select("Find a firm by name", sorted(names), value=by_id.get(selected.value),
                          on_value=lambda n: selected.set(names[n]) if n in names else None,
                          classes=["cc-firm-by-name"])
        if drawn is None:
            placeholder("Drawing the Morgan–Hunt panel…")
            return
        fig, png = drawn
        solara.Image(png, format="png")
        solara.FileDownload(lambda: figures.figure_png(fig), filename=f"morgan_hunt_{run.name.replace('/', '_')}.png",
                            label="Morgan–Hunt figure (PNG)", mime_type="image/png")


@solara.component_vue("kpi_chart.vue")
def KpiChart(steps: list, panels: list, marks: list):
    """The live KPI small multiples, drawn by the browser from ``session.kpi_chart_data`` (numbers, not a picture)."""


@solara.component
def KpiPanel(run: Run, version: int):
    """Live KPI small multiples, the latest values and the time-series downloads."""
    fixed_y = solara.use_reactive(False)
    df = solara.use_memo(lambda: session.kpi_frame(run.model), [run, version])
    steps, panels = solara.use_memo(lambda: session.kpi_chart_data(df, fixed_y.value), [run, version, fixed_y.value])
    marks = run.marks()
    stem = f"{run.name.replace('/', '_')}_seed{run.seed}_step{int(run.model.time)}"
    now = session.latest_values(df)
    with solara.Card("Key indicators", classes=["cc-kpi"]):
        solara.Checkbox(label="Fix y-axes to each KPI's natural range", value=fixed_y)
        KpiChart(steps=steps, panels=panels, marks=[{"at": e["at"], "label": e["label"]} for e in marks])
        solara.Text(f"Step {int(run.model.time)}: " + " · ".join(f"{k.replace('_', ' ')} {v:.6g}" for k, v in now.items()),
                    classes=["cc-kpi-now"], style={"font-size": "13px"})
        with solara.Row():
            solara.FileDownload(lambda: session.frame_bytes(df, "csv"), filename=f"{stem}.csv",
                                label="Time series (CSV)", mime_type="text/csv")
            solara.FileDownload(lambda: session.frame_bytes(df, "parquet"), filename=f"{stem}.parquet",
                                label="Time series (Parquet)")
            # the PNG is drawn only when asked for
            solara.FileDownload(lambda: figures.figure_png(figures.kpi_figure(df, events=marks, fixed_y=fixed_y.value)),
                                filename=f"kpi_{stem}.png", label="KPI figure (PNG)", mime_type="image/png")


@solara.component
def EventList(run: Run, version: int):
    """The levers moved during the run, and the run as a scenario file with those events."""
    events = run.events
    with solara.Card("Policy events from the levers", classes=["cc-events"]):
        if not events:
            solara.Text("None yet: move a lever (other than the structure) while the run goes.",
                        style={"font-size": "13px", "color": "#555"})
            return
        with solara.Column(gap="2px", classes=["cc-event-list"]):
            for e in sorted(events, key=lambda e: e.at):
                solara.Text(f"from step {e.at}: {e.label}", classes=["cc-event"], style={"font-size": "13px"})
        stem = f"{run.name.replace('/', '_')}_with_events"
        note = (f"Made in the clustercoop app: scenario {run.name}, seed {run.seed}; "
                f"run it with: python run.py run {stem}.toml --seed {run.seed} --out OUT")
        solara.FileDownload(lambda: session.scenario_toml(run.base, events, int(run.model.time), note).encode("utf-8"),
                            filename=f"{stem}.toml", label="Scenario file with these events (TOML)",
                            mime_type="application/toml")
