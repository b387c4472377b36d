"""The compare page: two scenarios run with the same seeds in the background, their paired differences with
intervals as numbers, the KPIs overlaid and the difference per step."""

from __future__ import annotations

import html

import pandas as pd
import solara

from sim import ScenarioError, load_scenario
from viz import comparison, figures, session
from viz.run_page import DEFAULT_SCENARIO
from viz.widgets import fmt_num

__all__ = ["diff_table_html", "ComparePage"]


def diff_table_html(table: pd.DataFrame) -> str:
    """The paired differences as an HTML table: KPI, unit, reference mean, difference, interval, verdict."""
    head = ("<tr><th>KPI</th><th>unit</th><th>{ref}</th><th>{other} − {ref}</th><th>interval</th>"
            "<th>pairs</th><th>significant</th></tr>")
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            f"<tr class='cc-diff-row' data-kpi='{r['kpi']}'><td>{r['kpi'].replace('_', ' ')}</td><td>{r['unit']}</td>"
            f"<td>{fmt_num(r['ref_mean'])}</td><td class='cc-diff'>{fmt_num(r['diff'])}</td>"
            f"<td class='cc-interval'>[{fmt_num(r['ci_low'])}, {fmt_num(r['ci_high'])}]</td>"
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
            runs = comparison.compare_runs(req["paths"], req["seed"], req["steps"], req["replicates"],
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
    table = solara.use_memo(lambda: comparison.paired_table(got[2], got[0]) if got else None, [got])
    fig = solara.use_memo(
        lambda: figures.compare_figure(got[2], f"seed {got[3]}, {got[4]} replicate(s), {got[5]} steps", events=events,
                                       fixed_y=fixed_y.value) if got else None, [got, fixed_y.value])
    diff_fig = solara.use_memo(
        lambda: figures.difference_figure(got[2], got[0], got[1], comparison.COMPARE_KPIS, events)
        if got and got[4] > 1 else None, [got])

    solara.Title("clustercoop — compare")
    with solara.Sidebar():
        with solara.Card("Compare two scenarios"):
            solara.Select("Scenario A (reference)", names, value=name_a)
            solara.Select("Scenario B", names, value=name_b)
            solara.InputText("Seed (shared by both)", value=seed_text, continuous_update=True)
            solara.SliderInt(f"Steps: {steps.value}", value=steps, min=5, max=200, step=5)
            solara.SliderInt(f"Replicates: {replicates.value}", value=replicates, min=1, max=comparison.MAX_REPLICATES)
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
            solara.Text(f"Each run is summarized by its mean over the last {1 - comparison.BURN_IN:.0%} of its steps, "
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
