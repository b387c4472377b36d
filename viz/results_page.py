"""The results page: open a sweep, comparison, run or calibration folder written on the command line and
explore it (pick a KPI, filter a sweep by its levers, a calibration's parameters and targets), with the
report's tables and figures. The logic without Solara is :mod:`viz.results`."""

from __future__ import annotations

import solara

from analysis.calibration import Calibration
from sim import ScenarioError
from viz import results as rs
from viz.widgets import table_html

__all__ = ["ResultsPage", "CalibrationView"]


@solara.component
def ResultsPage():
    """Open a sweep, comparison, run or calibration folder and explore it: pick a KPI, filter a sweep by its
    levers, a calibration's parameter and target, and see the report's tables and figures."""
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
        chosen.set({})
        if isinstance(res, Calibration):
            return
        kpi.set((rs.kpi_choices(res) or [None])[0])
        lever_x.set(res.params[0] if res.params else None)

    res = opened.value
    cal = res if isinstance(res, Calibration) else None
    res = None if cal is not None else res  # below, res is a sweep, comparison or run
    choices = rs.kpi_choices(res) if res is not None else []
    k = kpi.value if kpi.value in choices else (choices[0] if choices else None)
    lever = lever_x.value if res is not None and lever_x.value in res.params else (
        res.params[0] if res is not None and res.params else None)
    # every hook before the page's early returns (Solara's rules of hooks)
    compare_table = solara.use_memo(
        lambda: rs.compare_table(res, [k]) if res is not None and res.kind == "compare" and k else None, [res, k])
    over_time = solara.use_memo(
        lambda: rs.over_time_figure(res, k) if res is not None and res.kind != "sweep" and k else None, [res, k])
    folder = cal.folder if cal is not None else (res.folder if res is not None else None)
    tables = solara.use_memo(lambda: rs.report_tables(folder) if folder is not None else {}, [folder])
    figures_ = solara.use_memo(lambda: rs.report_figures(folder) if folder is not None else [], [folder])
    solara.Title("clustercoop — results")
    with solara.Sidebar():
        with solara.Card("Open a result folder"):
            if labels:
                solara.Select("Found folders", list(labels), value=next((k for k, v in labels.items()
                                                                         if v == path_text.value), None),
                              on_value=lambda k: path_text.set(labels[k]))
            solara.InputText("Folder (the --out of run.py sweep, compare, run or calibrate)", value=path_text,
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
        if cal is not None:
            CalibrationView(cal)
            ReportFiles(cal.folder, tables, figures_)
            return
        if res is None:
            solara.Info("Choose a result folder and press Open. Result folders are the --out folders of "
                        "run.py sweep, compare, run and calibrate; the shipped examples are under examples/results/.")
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
                solara.HTML(tag="div", unsafe_innerHTML=table_html(compare_table, "cc-results-rows"))
        if res.kind == "sweep":
            runs = rs.filter_runs(res, chosen.value)
            with solara.Card(f"{k.replace('_', ' ')} by {lever} ({len(runs)} of {len(res.runs)} runs)",
                             classes=["cc-results-table"]):
                if runs.empty:
                    solara.Warning("No run has these lever values.")
                else:
                    table = rs.by_level(runs, lever, k)
                    solara.HTML(tag="div", unsafe_innerHTML=table_html(table, "cc-results-rows"))
                    solara.FigureMatplotlib(rs.by_level_figure(table, lever, k), format="png",
                                            dependencies=[res, k, lever, str(chosen.value)])
        elif over_time is not None:
            with solara.Card("Over time", classes=["cc-results-figure"]):
                solara.FigureMatplotlib(over_time, format="png", dependencies=[res, k])
        ReportFiles(res.folder, tables, figures_, k)


@solara.component
def ReportFiles(folder, tables: dict, figures_: list, kpi: str | None = None):
    """The report's CSV tables (rows of ``kpi`` where a table has a kpi column) and PNG figures, each folded."""
    if not (tables or figures_):
        return
    with solara.Card("The report's tables and figures (report/)", classes=["cc-report"]):
        for name, t in tables.items():
            if kpi is not None and "kpi" in t.columns:
                t = t[t["kpi"] == kpi] if (t["kpi"] == kpi).any() else t
            with solara.Details(f"{name} ({len(t)} rows{', ' + kpi if kpi and 'kpi' in t.columns else ''})"):
                solara.HTML(tag="div", unsafe_innerHTML=table_html(t, "cc-report-table"))
        for path in figures_:
            with solara.Details(f"{path.relative_to(folder)}"):
                solara.Image(path.read_bytes(), format="png", width="100%")


@solara.component
def CalibrationView(cal: Calibration):
    """A calibration folder: the posterior per parameter (table, marginal, pairs) and the predictive checks
    per target (table, observed against simulated), with the generations."""
    keys = [p["key"] for p in cal.params]
    names = [t["name"] for t in cal.targets]
    param = solara.use_reactive(keys[0])
    other = solara.use_reactive(keys[1] if len(keys) > 1 else None)
    target = solara.use_reactive(names[0])
    # a folder opened after another keeps no stale choice
    p = param.value if param.value in keys else keys[0]
    q = other.value if other.value in keys and other.value != p else next((k for k in keys if k != p), None)
    t = target.value if target.value in names else names[0]
    summary = solara.use_memo(lambda: rs.calibration_posterior(cal), [cal])
    checks = solara.use_memo(lambda: rs.calibration_checks(cal), [cal])
    marginal = solara.use_memo(lambda: rs.marginal_figure(cal, p), [cal, p])
    pair = solara.use_memo(lambda: rs.pair_figure(cal, p, q) if q is not None else None, [cal, p, q])
    observed = solara.use_memo(lambda: rs.target_figure(cal, t), [cal, t])
    man, gens = cal.manifest, cal.generations
    ident = man.get("identity", {})
    solara.Markdown(f"**{cal.folder.name}**: a calibration of {cal.scenario} to {len(names)} observed targets "
                    f"({', '.join(names)}): {len(gens)} generations of {ident.get('population', '?')} particles, "
                    f"{int(gens['simulations'].sum())} simulations of {ident.get('steps', '?')} steps; stopped: "
                    f"{man.get('stopped', 'n/a')}.")
    with solara.Card("Posterior of each calibrated parameter", classes=["cc-results-table", "cc-calibration-posterior"]):
        solara.HTML(tag="div", unsafe_innerHTML=table_html(summary, "cc-results-rows"))
        solara.Text(f"Weighted over the last generation; narrowing = 1 - posterior sd / prior sd (0: the targets "
                    f"said nothing about it, 1: pinned down); interval: central {rs.LEVEL:.0%}.",
                    style={"font-size": "12px", "color": "#555"})
    with solara.Card(f"Posterior of {p}", classes=["cc-results-figure", "cc-calibration-marginal"]):
        with solara.Row():
            solara.Select("Parameter", keys, value=p, on_value=param.set)
            if q is not None:
                solara.Select("Against (pairs)", [k for k in keys if k != p], value=q, on_value=other.set)
        solara.FigureMatplotlib(marginal, format="png", dependencies=[cal, p])
        if pair is not None:
            solara.FigureMatplotlib(pair, format="png", dependencies=[cal, p, q])
    with solara.Card("Predictive checks: observed targets against the calibrated model",
                     classes=["cc-calibration-checks"]):
        if checks is None:
            solara.Warning("This calibration ran no posterior predictive runs (--ppc 0).")
        else:
            solara.HTML(tag="div", unsafe_innerHTML=table_html(checks, "cc-checks-rows"))
            solara.Text(f"Posterior draws run again with new seeds and measurement errors; an observed value outside "
                        f"the simulated {rs.LEVEL:.0%} band, or a share below observed near 0 or 1, is a target the "
                        "calibrated model does not reproduce.", style={"font-size": "12px", "color": "#555"})
        solara.Select("Target", names, value=t, on_value=target.set)
        if observed is not None:
            solara.FigureMatplotlib(observed, format="png", dependencies=[cal, t])
    with solara.Details(f"Generations ({len(gens)})"):
        solara.HTML(tag="div", unsafe_innerHTML=table_html(gens, "cc-report-table"))
