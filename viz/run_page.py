"""The run page: one live run with its scenario, seed, Step/Play/Reset, levers that act mid-run, and its panels.

The page holds only view state; the model goes through :mod:`viz.session` and the panels are in
:mod:`viz.run_panels`.
"""

from __future__ import annotations

import time
from typing import Any

import solara

from sim import ScenarioError, load_scenario
from viz import session
from viz.levers import LEVERS, add_lever_event, changed_overrides, lever_values, live_lever_reason
from viz.run_panels import EventList, KpiPanel, LeverControls, MorganHuntPanel, NetworkPanel, Run, largest_firm, new_run
from viz.widgets import kernel_context, page_is_open

__all__ = ["DEFAULT_SCENARIO", "PICTURE_EVERY", "RunPage"]

DEFAULT_SCENARIO = "baseline"

#: Seconds between redraws of the network and Morgan-Hunt pictures while a run plays (the KPIs follow every step).
PICTURE_EVERY = 2.0


def _base_levers(info: session.ScenarioInfo) -> tuple[dict[str, Any], str | None]:
    try:
        return lever_values(load_scenario(info.path)), None
    except ScenarioError as exc:
        return {}, str(exc)


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
    init_firm = solara.use_memo(lambda: largest_firm(init_run.model) if init_run.model is not None else None, [])
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
    context = solara.use_memo(kernel_context, [])

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
        overrides = changed_overrides(load_scenario(info.path), lever_values)
        new = new_run(info, overrides, seed_text.value)
        applied.set(dict(lever_values))
        run.set(new)
        if new.model is not None:
            selected.set(largest_firm(new.model))
        version.set(version.value + 1)

    def on_scenario(name: str):
        rebuild(by_name[name], {}, reset_levers=True)

    def on_lever(key: str, value: Any):
        """A lever moved: on a live model it becomes an event from the next step; structure levers wait for a rebuild."""
        current = run.value
        if current.model is None or live_lever_reason(key) is not None:
            return
        try:
            with current.lock:
                add_lever_event(current.model, {key: value}, current.events)
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
    pending = [lev.label for lev in LEVERS if levers.value.get(lev.key) != applied.value.get(lev.key)]

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
            LeverControls(levers, on_change=on_lever, counts=current.counts)

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
