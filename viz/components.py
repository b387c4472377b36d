"""Solara components of the app: the run page and the compare page.

The pages hold only view state (which scenario, lever values, play/pause);
everything that touches the model goes through :mod:`viz.session`, and every
picture comes from :mod:`viz.figures`.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import solara

from sim import ScenarioError, load_scenario
from viz import figures, session

__all__ = ["Run", "new_run", "page_is_open", "use_drawn", "LeverControls", "NetworkImage", "click_to_firm", "NetworkPanel", "MorganHuntPanel", "KpiChart", "KpiPanel", "RunPage", "EventList", "diff_table_html", "ComparePage", "ResultsPage"]

DEFAULT_SCENARIO = "baseline"

#: Seconds between redraws of the network and Morgan-Hunt pictures while a run plays (the KPIs follow every step).
PICTURE_EVERY = 2.0


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

    def marks(self) -> list[dict]:
        """The timeline to mark on the plots: the scenario's own events, then the levers moved on the page."""
        own = session.timeline_events(self.base, last_step=None) if self.base is not None else []
        return own + session.app_events(self.events)


def new_run(info: session.ScenarioInfo, overrides: dict[str, Any], seed: str) -> Run:
    """Build a :class:`Run` from a scenario, lever overrides and the seed text."""
    res = session.build_model(info.path, overrides, seed)
    # the model may change its scenario in place (events): keep the scenario as built
    base = res.scenario.model_copy(deep=True) if res.scenario is not None else None
    return Run(info.name, res.model, res.error, overrides=dict(overrides), seed=str(seed), base=base)


def _kernel_context():
    """The Solara session this render belongs to, or None outside a server (e.g. a test render)."""
    from solara.server import kernel_context

    return kernel_context.get_current_context() if kernel_context.has_current_context() else None


def page_is_open(context) -> bool:
    """Whether a browser page still shows this session.

    A tab closed without its unload beacon (a killed browser, a dropped
    connection, a discarded tab) only disconnects its websocket; Solara keeps the
    session until its cull timeout, so the play loop asks this before every frame.

    Args:
        context: the session's ``VirtualKernelContext``, or None outside a server (counts as open).
    """
    if context is None:
        return True
    if context.closed_event.is_set():
        return False
    from solara.server.kernel_context import PageStatus

    statuses = list(context.page_status.values())
    # no page ever connected: rendered without a browser, nothing to wait for
    return not statuses or PageStatus.CONNECTED in statuses


def _base_levers(info: session.ScenarioInfo) -> tuple[dict[str, Any], str | None]:
    try:
        return session.lever_values(load_scenario(info.path)), None
    except ScenarioError as exc:
        return {}, str(exc)


def _largest_firm(model) -> int | None:
    firms = model.firm_table()
    if firms.empty:
        return None
    return int(firms.loc[firms["revenue"].astype(float).idxmax(), "id"])


def _firm_label(model, firm_id: int | None) -> str:
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
                  on_change: Callable[[str, Any], None] | None = None):
    """Sliders, switches and dropdowns for ``session.LEVERS``, bound to ``values`` (dotted key -> value).

    ``on_change(key, value)`` is called after a lever moved.
    """
    groups: dict[str, list[session.Lever]] = {}
    for lev in session.LEVERS:
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
                                # a scenario built on files (edge_list, data) shows its kind, though only a file sets it
                                options = list(lev.options) + ([current] if current not in lev.options else [])
                                solara.Select(lev.label, options, value=current, on_value=setter(lev.key),
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


def use_drawn(make: Callable[[], Any], dependencies: list, run: Run | None = None) -> Any:
    """Draw in a background thread: the newest finished drawing, None until the first.

    The page's step counter and KPIs answer at once; a picture follows when it is
    drawn. One drawing at a time per panel: a request made while one is drawn waits,
    and is dropped if a newer one came meanwhile or nobody watches the page any more,
    so drawings never pile up on a busy machine. ``run.busy`` counts drawings under way.
    """
    result = solara.use_reactive(None)
    lock = solara.use_memo(threading.Lock, [])
    context = solara.use_memo(_kernel_context, [])

    def work(cancel):
        with lock:
            if cancel.is_set() or not page_is_open(context):
                return
            if run is not None:
                run.busy += 1
            try:
                out = make()
            finally:
                if run is not None:
                    run.busy -= 1
        if not cancel.is_set():
            result.set(out)

    solara.use_thread(work, dependencies=dependencies, intrusive_cancel=False)
    return result.value


def _placeholder(text: str) -> None:
    solara.Text(text, classes=["cc-drawing"], style={"display": "block", "min-height": "300px", "color": "#777"})


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
            _placeholder("Drawing the network…")
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
    firm_label = _firm_label(run.model, selected.value)
    with solara.Card("Morgan–Hunt: cluster and selected firm", classes=["cc-morgan-hunt"]):
        solara.Text(firm_label, classes=["cc-selected-firm"],
                    style={"font-size": "14px", "font-weight": "bold", "display": "block", "margin-bottom": "14px"})
        with solara.Row():
            solara.InputInt("Firm id", value=selected, optional=True, clearable=True, dense=True,
                            style={"max-width": "140px"})
            solara.Button("Largest firm", on_click=lambda: selected.set(_largest_firm(run.model)), text=True)
        names = session.firm_names(run.model)
        if names:
            by_id = {i: n for n, i in names.items()}
            solara.Select("Find a firm by name", sorted(names), value=by_id.get(selected.value),
                          on_value=lambda n: selected.set(names[n]) if n in names else None,
                          classes=["cc-firm-by-name"])
        if drawn is None:
            _placeholder("Drawing the Morgan–Hunt panel…")
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
def RunPage():
    """Watch one run: scenario picker, levers, seed, step/play/reset, network, KPIs, Morgan-Hunt."""
    scenarios = solara.use_memo(session.list_scenarios, [])
    by_name = {s.name: s for s in scenarios}
    first = by_name.get(DEFAULT_SCENARIO, scenarios[0]) if scenarios else None

    def initial():
        if first is None:
            return {}, Run("", error=f"No scenario files (*.toml) found in {session.SCENARIO_DIR}.")
        base, err = _base_levers(first)
        return base, new_run(first, {}, "42")

    init_levers, init_run = solara.use_memo(initial, [])
    # computed once: use_reactive(value) resets the variable whenever ``value`` changes between renders,
    # and the largest firm of the (stepping) first model changes as it runs
    init_firm = solara.use_memo(lambda: _largest_firm(init_run.model) if init_run.model is not None else None, [])
    run = solara.use_reactive(init_run)
    levers = solara.use_reactive(init_levers)
    applied = solara.use_reactive(init_levers)
    seed_text = solara.use_reactive("42")
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    interval = solara.use_reactive(300)
    per_frame = solara.use_reactive(1)
    step_error = solara.use_reactive(None)
    drawn_at = solara.use_reactive((0, 0.0))  # (version the pictures show, when they were drawn)
    selected = solara.use_reactive(init_firm)
    context = solara.use_memo(_kernel_context, [])

    def rebuild(info: session.ScenarioInfo, lever_values: dict[str, Any], reset_levers: bool = False):
        playing.set(False)
        step_error.set(None)
        base, err = _base_levers(info)
        if err:
            run.set(Run(info.name, error=err))
            return
        if reset_levers:
            lever_values = base
            levers.set(base)
        overrides = session.changed_overrides(load_scenario(info.path), lever_values)
        new = new_run(info, overrides, seed_text.value)
        applied.set(dict(lever_values))
        run.set(new)
        if new.model is not None:
            selected.set(_largest_firm(new.model))
        version.set(version.value + 1)

    def on_scenario(name: str):
        rebuild(by_name[name], {}, reset_levers=True)

    def on_lever(key: str, value: Any):
        """A lever moved: on a live model it becomes an event from the next step; structure levers wait for a rebuild."""
        current = run.value
        if current.model is None or session.live_lever_reason(key) is not None:
            return
        try:
            with current.lock:
                session.add_lever_event(current.model, {key: value}, current.events)
        except ScenarioError as exc:
            step_error.set(str(exc))
            return
        applied.set({**applied.value, key: value})
        version.set(version.value + 1)

    def do_step(n: int = 1):
        if run.value.model is None:
            return
        with run.value.lock:
            err = session.advance(run.value.model, n)
        if err:
            step_error.set(err)
            playing.set(False)
        version.set(version.value + 1)
        # while playing, the network and Morgan-Hunt pictures (the costly ones) follow at a slower cadence
        # (the next one is asked for only once the last is drawn, so a slow machine is not swamped)
        if not playing.value or (run.value.busy == 0 and time.monotonic() - drawn_at.value[1] >= PICTURE_EVERY):
            drawn_at.set((version.value, time.monotonic()))

    def play_loop(cancel):
        while playing.value and not cancel.is_set():
            time.sleep(interval.value / 1000)
            if not playing.value or cancel.is_set() or run.value.model is None:
                break
            if not page_is_open(context):
                # nobody watches: pause, so a reconnecting page shows Play instead of a silent stop
                if not context.closed_event.is_set():
                    playing.set(False)
                break
            do_step(per_frame.value)

    # intrusive_cancel=False: a tracing thread would make every render it triggers several times slower
    solara.use_thread(play_loop, dependencies=[playing.value, run.value], intrusive_cancel=False)

    current = run.value
    model = current.model
    # paused: the pictures show the current step; playing: the step they were last drawn at
    pictures = drawn_at.value[0] if playing.value else version.value
    pending = [lev.label for lev in session.LEVERS if levers.value.get(lev.key) != applied.value.get(lev.key)]

    solara.Title("clustercoop — run")
    if not scenarios:
        solara.Error(current.error)
        return
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select("Scenario", [s.name for s in scenarios], value=current.name, on_value=on_scenario)
            solara.Text(by_name[current.name].description if current.name in by_name else "",
                        style={"font-size": "13px"}, classes=["cc-scenario-description"])
            solara.InputText("Seed", value=seed_text, continuous_update=True)
        with solara.Card("Run"):
            with solara.Row():
                solara.Button("Step", on_click=lambda: do_step(1), disabled=playing.value or model is None,
                              color="primary", classes=["cc-step-button"])
                solara.Button("Pause" if playing.value else "Play", on_click=lambda: playing.set(not playing.value),
                              disabled=model is None, color="primary", classes=["cc-play-button"])
                with solara.Tooltip("Start again from step 0 with the scenario's own lever values"):
                    solara.Button("Reset", on_click=lambda: rebuild(by_name[current.name], {}, reset_levers=True),
                                  color="secondary", classes=["cc-reset-button"])
            solara.SliderInt(f"Play interval: {interval.value} ms", value=interval, min=50, max=2000, step=50)
            solara.SliderInt(f"Steps per frame: {per_frame.value}", value=per_frame, min=1, max=20)
            if pending:
                solara.Info(f"{', '.join(pending)}: the network is built once, so "
                            f"{'this lever applies' if len(pending) == 1 else 'these levers apply'} "
                            "when the cluster is rebuilt.", dense=True)
                solara.Button("Rebuild with these levers", on_click=lambda: rebuild(by_name[current.name], levers.value),
                              color="primary", outlined=True, classes=["cc-rebuild-button"])
        with solara.Card("Levers"):
            solara.Text("A lever moved during a run acts from the next step, as a policy event "
                        "(dashed line on the plots).", style={"font-size": "12px", "color": "#555"})
            LeverControls(levers, on_change=on_lever)

    with solara.Column():
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"Step {int(model.time) if model is not None else 0}", classes=["cc-step-counter"],
                        style={"font-size": "20px", "font-weight": "bold"})
            solara.Text(f"scenario: {current.name} · seed: {current.seed}"
                        + (f" · overrides: {current.overrides}" if current.overrides else ""),
                        style={"font-size": "13px", "color": "#555"})
        if current.error:
            solara.Error(current.error, classes=["cc-error"])
        if step_error.value:
            solara.Error(step_error.value, classes=["cc-error"])
        if model is None:
            solara.Warning("No model to show: fix the inputs above and press Reset.")
            return
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
            with solara.Column(style={"flex": "3 1 560px"}):
                NetworkPanel(current, pictures, selected.value, on_select=selected.set)
            with solara.Column(style={"flex": "2 1 420px"}):
                MorganHuntPanel(current, pictures, selected)
        KpiPanel(current, version.value)
        EventList(current, version.value)


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


def _fmt_num(x: float) -> str:
    if x != x:  # NaN
        return "n/a"
    ax = abs(x)
    return f"{x:.3g}" if ax and (ax >= 1e4 or ax < 1e-3) else (f"{x:.3f}" if ax < 10 else f"{x:.1f}")


def diff_table_html(table: pd.DataFrame) -> str:
    """The paired differences as an HTML table: KPI, unit, reference mean, difference, interval, verdict."""
    head = ("<tr><th>KPI</th><th>unit</th><th>{ref}</th><th>{other} − {ref}</th><th>interval</th>"
            "<th>pairs</th><th>significant</th></tr>")
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            f"<tr class='cc-diff-row' data-kpi='{r['kpi']}'><td>{r['kpi'].replace('_', ' ')}</td><td>{r['unit']}</td>"
            f"<td>{_fmt_num(r['ref_mean'])}</td><td class='cc-diff'>{_fmt_num(r['diff'])}</td>"
            f"<td class='cc-interval'>[{_fmt_num(r['ci_low'])}, {_fmt_num(r['ci_high'])}]</td>"
            f"<td>{int(r['n_pairs'])}</td><td>{'yes' if r['significant'] else 'no'}</td></tr>")
    first = table.iloc[0] if len(table) else None
    head = head.format(ref=html.escape(str(first["reference"])) if first is not None else "A",
                       other=html.escape(str(first["scenario"])) if first is not None else "B")
    style = ("<style>.cc-diff-table td,.cc-diff-table th{padding:2px 10px;text-align:right;font-size:13px}"
             ".cc-diff-table td:first-child,.cc-diff-table th:first-child{text-align:left}</style>")
    return style + "<table class='cc-diff-table'>" + head + "".join(rows) + "</table>"


@solara.component
def ComparePage():
    """Two scenarios with the same seeds (common random numbers): KPIs overlaid, paired differences with intervals.

    The runs go in a background thread with a progress bar, so the page stays usable and can cancel them.
    """
    scenarios = solara.use_memo(session.list_scenarios, [])
    names = [s.name for s in scenarios]
    by_name = {s.name: s for s in scenarios}
    first = DEFAULT_SCENARIO if DEFAULT_SCENARIO in names else (names[0] if names else None)
    second = next((n for n in names if n != first), first)
    name_a = solara.use_reactive(first)
    name_b = solara.use_reactive(second)
    seed_text = solara.use_reactive("42")
    steps = solara.use_reactive(30)
    replicates = solara.use_reactive(10)
    fixed_y = solara.use_reactive(False)
    result = solara.use_reactive(None)  # (label A, label B, runs, seed, replicates, steps)
    error = solara.use_reactive(None)
    request = solara.use_reactive(None)  # the comparison asked for, set by the button
    progress = solara.use_reactive((0, 0))
    running = solara.use_reactive(False)

    def start():
        error.set(None)
        try:
            seed = session.parse_seed(seed_text.value)
        except ScenarioError as exc:
            error.set(str(exc))
            return
        label_a = name_a.value
        label_b = name_b.value if name_b.value != label_a else f"{label_a} (2)"
        request.set({"paths": {label_a: by_name[name_a.value].path, label_b: by_name[name_b.value].path},
                     "seed": seed, "steps": steps.value, "replicates": replicates.value})

    def work(cancel):
        req = request.value
        if req is None:
            return
        running.set(True)
        progress.set((0, req["replicates"] * 2))
        try:
            runs = session.compare_runs(req["paths"], req["seed"], req["steps"], req["replicates"],
                                        on_progress=lambda done, total: progress.set((done, total)),
                                        should_stop=cancel.is_set)
            if runs is not None:
                label_a, label_b = list(req["paths"])
                result.set((label_a, label_b, runs, req["seed"], req["replicates"], req["steps"]))
        except ScenarioError as exc:
            error.set(str(exc))
        finally:
            running.set(False)
            request.set(None)

    # the runs go in a thread: the page keeps answering and shows progress; a new request cancels the old
    solara.use_thread(work, dependencies=[request.value], intrusive_cancel=False)

    got = result.value
    events = solara.use_memo(
        lambda: [e for name in dict.fromkeys(got[:2]) if name in by_name
                 for e in session.timeline_events(load_scenario(by_name[name].path), f"{name}: ", got[5])]
        if got else [], [got])
    table = solara.use_memo(lambda: session.paired_table(got[2], got[0]) if got else None, [got])
    fig = solara.use_memo(
        lambda: figures.compare_figure(got[2], f"seed {got[3]}, {got[4]} replicate(s), {got[5]} steps", events=events,
                                       fixed_y=fixed_y.value) if got else None, [got, fixed_y.value])
    diff_fig = solara.use_memo(
        lambda: figures.difference_figure(got[2], got[0], got[1], session.COMPARE_KPIS, events)
        if got and got[4] > 1 else None, [got])

    solara.Title("clustercoop — compare")
    with solara.Sidebar():
        with solara.Card("Compare two scenarios"):
            solara.Select("Scenario A (reference)", names, value=name_a)
            solara.Select("Scenario B", names, value=name_b)
            solara.InputText("Seed (shared by both)", value=seed_text, continuous_update=True)
            solara.SliderInt(f"Steps: {steps.value}", value=steps, min=5, max=200, step=5)
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates, min=1, max=session.MAX_REPLICATES)
            solara.Text("Replicate r runs both scenarios with seed + r.", style={"font-size": "12px", "color": "#555"})
            solara.Checkbox(label="Fix y-axes to each KPI's natural range", value=fixed_y)
            with solara.Row():
                solara.Button("Run comparison", on_click=start, color="primary", disabled=running.value,
                              classes=["cc-compare-button"])
                if running.value:
                    solara.Button("Cancel", on_click=lambda: request.set(None), classes=["cc-cancel-button"])
            if running.value:
                done, total = progress.value
                solara.ProgressLinear(value=100 * done / max(total, 1))
                solara.Text(f"Run {done} of {total}", classes=["cc-compare-progress"], style={"font-size": "13px"})
    with solara.Column():
        if not scenarios:
            solara.Error(f"No scenario files (*.toml) found in {session.SCENARIO_DIR.name}/.")
            return
        for s in (name_a.value, name_b.value):
            if s in by_name:
                solara.Text(f"{s}: {by_name[s].description}", style={"font-size": "13px"})
        if error.value:
            solara.Error(error.value, classes=["cc-error"])
        if got is None:
            solara.Info("Choose two scenarios and press “Run comparison”. Both arms use the same seeds, "
                        "so their difference is measured replicate by replicate.")
            return
        label_a, label_b, runs = got[0], got[1], got[2]
        with solara.Card(f"{label_b} minus {label_a}: paired differences", classes=["cc-compare-numbers"]):
            if got[4] < 2:
                solara.Warning("One replicate gives no interval: run at least 2 (10 or more for a usable one).")
            solara.HTML(tag="div", unsafe_innerHTML=diff_table_html(table))
            solara.Text(f"Each run is summarized by its mean over the last {1 - session.BURN_IN:.0%} of its steps, "
                        "as in run.py compare; runs pair by seed. Interval: 95% t-interval of the mean paired "
                        "difference, Holm-adjusted across these KPIs (significant: it excludes 0).",
                        style={"font-size": "12px", "color": "#555"})
            solara.FileDownload(lambda: session.frame_bytes(table, "csv"), filename="compare_differences.csv",
                                label="Differences (CSV)", mime_type="text/csv")
        with solara.Card("KPIs overlaid", classes=["cc-compare"]):
            solara.FigureMatplotlib(fig, dependencies=[got, fixed_y.value], format="png")
            ts = pd.concat([df.assign(scenario=label) for label, df in runs.items()], ignore_index=True)
            with solara.Row():
                solara.FileDownload(lambda: session.frame_bytes(ts, "csv"), filename="compare.csv",
                                    label="Time series (CSV)", mime_type="text/csv")
                solara.FileDownload(lambda: session.frame_bytes(ts, "parquet"), filename="compare.parquet",
                                    label="Time series (Parquet)")
                solara.FileDownload(lambda: figures.figure_png(fig), filename="compare.png",
                                    label="Figure (PNG)", mime_type="image/png")
        if diff_fig is not None:
            with solara.Card("Difference per step", classes=["cc-compare-diff"]):
                solara.FigureMatplotlib(diff_fig, dependencies=[got], format="png")


def _table_html(df: pd.DataFrame, cls: str, max_rows: int = 200) -> str:
    """A frame as a compact HTML table (numbers to 4 significant digits)."""
    shown = df.head(max_rows)
    fmt = {c: (lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))) for c in shown.columns}
    body = shown.to_html(index=False, classes=cls, border=0, formatters=fmt, escape=False)
    more = f"<p style='font-size:12px;color:#555'>first {max_rows} of {len(df)} rows</p>" if len(df) > max_rows else ""
    style = (f"<style>.{cls} td,.{cls} th{{padding:2px 8px;font-size:12px;text-align:right}}"
             f".{cls} td:first-child,.{cls} th:first-child{{text-align:left}}</style>")
    return style + body + more


@solara.component
def ResultsPage():
    """Open a sweep, comparison or run folder and explore it: pick a KPI, filter a sweep by its levers,
    and see the report's tables and figures."""
    from viz import results as rs

    folders = solara.use_memo(rs.find_result_folders, [])
    labels = {rs.folder_label(f): rs.folder_label(f) for f in folders}
    path_text = solara.use_reactive(next(iter(labels.values()), ""))
    opened = solara.use_reactive(None)
    error = solara.use_reactive(None)
    kpi = solara.use_reactive(None)
    chosen = solara.use_reactive({})
    lever_x = solara.use_reactive(None)

    def open_folder(path: str | None = None):
        error.set(None)
        try:
            res = rs.open_results(path or path_text.value)
        except ScenarioError as exc:
            opened.set(None)
            error.set(str(exc))
            return
        opened.set(res)
        kpi.set((rs.kpi_choices(res) or [None])[0])
        chosen.set({})
        lever_x.set(res.params[0] if res.params else None)

    res = opened.value
    choices = rs.kpi_choices(res) if res is not None else []
    k = kpi.value if kpi.value in choices else (choices[0] if choices else None)
    lever = lever_x.value if res is not None and lever_x.value in res.params else (
        res.params[0] if res is not None and res.params else None)
    # every hook before the page's early returns (Solara's rules of hooks)
    compare_table = solara.use_memo(
        lambda: rs.compare_table(res, [k]) if res is not None and res.kind == "compare" and k else None, [res, k])
    over_time = solara.use_memo(
        lambda: rs.over_time_figure(res, k) if res is not None and res.kind != "sweep" and k else None, [res, k])
    tables = solara.use_memo(lambda: rs.report_tables(res.folder) if res is not None else {}, [res])
    figures_ = solara.use_memo(lambda: rs.report_figures(res.folder) if res is not None else [], [res])
    solara.Title("clustercoop — results")
    with solara.Sidebar():
        with solara.Card("Open a result folder"):
            if labels:
                solara.Select("Found folders", list(labels), value=next((k for k, v in labels.items()
                                                                         if v == path_text.value), None),
                              on_value=lambda k: path_text.set(labels[k]))
            solara.InputText("Folder (the --out of run.py sweep, compare or run)", value=path_text,
                             continuous_update=True)
            solara.Button("Open", on_click=lambda: open_folder(), color="primary", classes=["cc-open-results"])
        if res is not None:
            with solara.Card("Show"):
                solara.Select("KPI", choices, value=k, on_value=kpi.set)
                for lever, values in rs.lever_levels(res).items():
                    solara.SelectMultiple(f"{lever} (none chosen: all)", values=chosen.value.get(lever, []),
                                          all_values=values,
                                          on_value=lambda v, lever=lever: chosen.set({**chosen.value, lever: v}))
                if res.params:
                    solara.Select("Lever on the x-axis", res.params, value=lever, on_value=lever_x.set)
    with solara.Column():
        if error.value:
            solara.Error(error.value, classes=["cc-error"])
        if res is None:
            solara.Info("Choose a result folder and press Open. Result folders are the --out folders of "
                        "run.py sweep, compare and run; the shipped examples are under examples/results/.")
            return
        solara.Markdown(f"**{res.folder.name}**: a {res.kind} of {len(res.runs)} runs"
                        + (f", scenarios {', '.join(res.scenarios)}" if res.scenarios else "")
                        + (f", levers {', '.join(res.params)}" if res.params else "")
                        + f", {res.replicates} replicate(s) each.")
        if k is None:
            solara.Warning("This folder holds none of the KPIs the page knows.")
            return
        if res.kind == "compare":
            with solara.Card(f"{k.replace('_', ' ')}: paired differences against the reference",
                             classes=["cc-results-table"]):
                solara.HTML(tag="div", unsafe_innerHTML=_table_html(compare_table, "cc-results-rows"))
        if res.kind == "sweep":
            runs = rs.filter_runs(res, chosen.value)
            with solara.Card(f"{k.replace('_', ' ')} by {lever} ({len(runs)} of {len(res.runs)} runs)",
                             classes=["cc-results-table"]):
                if runs.empty:
                    solara.Warning("No run has these lever values.")
                else:
                    table = rs.by_level(runs, lever, k)
                    solara.HTML(tag="div", unsafe_innerHTML=_table_html(table, "cc-results-rows"))
                    solara.FigureMatplotlib(rs.by_level_figure(table, lever, k), format="png",
                                            dependencies=[res, k, lever, str(chosen.value)])
        elif over_time is not None:
            with solara.Card("Over time", classes=["cc-results-figure"]):
                solara.FigureMatplotlib(over_time, format="png", dependencies=[res, k])
        if tables or figures_:
            with solara.Card("The report's tables and figures (report/)", classes=["cc-report"]):
                for name, t in tables.items():
                    if "kpi" in t.columns:
                        t = t[t["kpi"] == k] if (t["kpi"] == k).any() else t
                    with solara.Details(f"{name} ({len(t)} rows{', ' + k if 'kpi' in t.columns else ''})"):
                        solara.HTML(tag="div", unsafe_innerHTML=_table_html(t, "cc-report-table"))
                for path in figures_:
                    with solara.Details(f"{path.relative_to(res.folder)}"):
                        solara.Image(path.read_bytes(), format="png", width="100%")
