"""The browser app without a browser: page logic, figures and the server command line."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import Scenario
from viz import comparison, figures, levers, server, session

ROOT = Path(__file__).resolve().parent.parent

PNG_MAGIC = b"\x89PNG"


def scenario_info(name: str) -> session.ScenarioInfo:
    return {s.name: s for s in session.list_scenarios()}[name]


def test_app_module_defines_routes():
    import app

    paths = [r.path for r in app.routes]
    assert paths == ["/", "compare", "results"]


def test_scenarios_are_listed_with_what_they_do():
    infos = session.list_scenarios()
    names = [s.name for s in infos]
    assert "baseline" in names and "star" in names and "examples/cluster/cluster" in names
    assert "examples/cluster/targets" not in names  # calibration targets are not a scenario
    assert all(s.description for s in infos), [s.name for s in infos if not s.description]
    # plain words saying what the scenario does; its sources belong in the docs
    citation = re.compile(r"section|et al|&|\(\s*(19|20)\d\d\s*\)", re.IGNORECASE)
    authors = re.compile(r"Tu,|Hongbo|Palamarchuk|Buyanova|Shiro|Morgan|Hunt|Santos|Pacheco|Barab")  # seeds, validation
    cited = [s.name for s in infos if citation.search(s.description) or authors.search(s.description)]
    assert not cited, cited
    assert citation.search("as in Buyanova & Shiro (2019)") and authors.search("after Tu, section 3")


def test_levers_follow_the_schema():
    base = Scenario()
    for lev in levers.LEVERS:
        value = base.get(lev.key)  # every key exists
        if lev.kind in ("slider", "int"):
            assert lev.min <= value <= lev.max or lev.key == "structure.n_firms", lev
            assert "range" in lev.help
        if lev.kind == "select":
            assert value in lev.options or lev.key == "structure.kind"
    kinds = next(lev for lev in levers.LEVERS if lev.key == "structure.kind").options
    assert "edge_list" not in kinds and "star" in kinds


def test_a_cluster_built_from_files_has_no_structure_levers_and_shows_its_counts():
    structure = {"structure.kind", "structure.n_firms", "structure.generator", "structure.mean_degree"}
    assert levers.shown_levers("network") == levers.LEVERS
    for kind in ("data", "edge_list"):
        shown = {lev.key for lev in levers.shown_levers(kind)}
        assert not shown & structure and shown == {lev.key for lev in levers.LEVERS} - structure
    res = session.build_model(scenario_info("examples/cluster/cluster").path, {}, 1)
    snap = res.model.graph_snapshot()
    links = int((snap["edge_src"] != snap["node_id"][-1]).sum())  # the drawing's edges less the CDC's
    assert links > 0 and levers.cluster_counts(res.model) == f"{len(res.model.firm_table())} firms, {links} links"


def test_seed_text_is_converted_or_explained():
    assert session.parse_seed(" 7 ") == 7
    assert session.parse_seed(3) == 3
    assert "whole number" in session.build_model(scenario_info("baseline").path, {}, "abc").error
    assert "negative" in session.build_model(scenario_info("baseline").path, {}, "-1").error


def test_invalid_lever_combination_gives_a_message_not_a_traceback():
    res = session.build_model(scenario_info("baseline").path,
                              {"structure.kind": "network", "structure.n_firms": 10, "structure.mean_degree": 20}, 1)
    assert res.model is None
    assert "mean_degree" in res.error


def test_overrides_only_hold_changed_levers():
    sc = Scenario()
    values = levers.lever_values(sc)
    assert levers.changed_overrides(sc, values) == {}
    values["information.digitalization"] = 0.9
    assert levers.changed_overrides(sc, values) == {"information.digitalization": 0.9}


def test_steps_exports_and_figures_at_200_firms():
    res = session.build_model(scenario_info("baseline").path, {}, 42)
    assert res.error is None
    assert session.advance(res.model, 3) is None
    df = session.kpi_frame(res.model)
    assert len(df) >= 3 and "cooperation_rate" in df
    back = pd.read_csv(io.BytesIO(session.frame_bytes(df, "csv")))
    assert list(back.columns) == list(df.columns)
    assert pd.read_parquet(io.BytesIO(session.frame_bytes(df, "parquet"))).shape == df.shape
    layout = figures.NetworkLayout()
    fig, caption = figures.network_figure(res.model.graph_snapshot(), layout, color_by="cooperation",
                                          size_by="commitment")
    assert "all shown" in caption
    assert figures.figure_png(fig).startswith(PNG_MAGIC)
    assert figures.figure_png(figures.kpi_figure(df)).startswith(PNG_MAGIC)
    firms = res.model.firm_table()
    with_firm = figures.morgan_hunt_figure(firms, int(firms["id"].iloc[0]))
    assert [t.get_text() for t in with_firm.axes[0].get_legend().get_texts()] == [
        "cluster mean", f"firm {int(firms['id'].iloc[0])}"]
    assert figures.figure_png(with_firm) != figures.figure_png(figures.morgan_hunt_figure(firms, None))


@pytest.mark.parametrize("n_firms", [200, 2000, 5000])
def test_network_view_samples_and_scales_at_any_size(n_firms):
    """The shown firms hang together and fill the picture: no blob squeezed by a stray piece far out."""
    from analysis.network_figures import draw_network

    res = session.build_model(scenario_info("baseline").path, {"structure.n_firms": n_firms}, 1)
    session.advance(res.model, 2)
    snap = res.model.graph_snapshot()
    mask, caption = figures.select_nodes(snap, max_firms=300)
    kinds = snap["node_kind"][mask]
    assert {"association", "cdc"} <= set(kinds.tolist())
    if n_firms > 300:
        assert f"of {len(res.model.firm_table())} firms" in caption
        assert (kinds == "enterprise").sum() <= 315  # the budget, and a partner given back to a lonely hub here and there
        # every shown enterprise has a link to another shown firm
        shown = set(snap["node_id"][mask].tolist())
        firms = {int(i) for i, k in zip(snap["node_id"], snap["node_kind"]) if k in ("enterprise", "leading_firm")}
        linked = {int(a) for a, b in zip(snap["edge_src"], snap["edge_dst"]) if a in shown and b in shown and b in firms} | \
                 {int(b) for a, b in zip(snap["edge_src"], snap["edge_dst"]) if a in shown and b in shown and a in firms}
        lonely = [i for i, k in zip(snap["node_id"][mask], kinds) if k == "enterprise" and int(i) not in linked]
        assert not lonely, f"{len(lonely)} shown firms without a shown partner"
    d = draw_network(snap, figures.NetworkLayout())
    firm = (d.kind == "enterprise") | (d.kind == "leading_firm")
    pos = d.pos[firm]
    dist = np.hypot(*(pos - np.median(pos, axis=0)).T)
    p95 = np.percentile(dist, 95)
    assert dist.max() <= 1.6 * p95, "a few firms far out stretch the axes"
    (x0, x1), (y0, y1) = d.ax.get_xlim(), d.ax.get_ylim()
    assert 2 * p95 >= 0.5 * min(x1 - x0, y1 - y0), "the firms fill less than half the picture"


def test_compare_runs_share_seeds():
    a = comparison.run_replicates(scenario_info("baseline").path, 5, 4, replicates=2)
    b = comparison.run_replicates(scenario_info("star").path, 5, 4, replicates=2)
    assert sorted(a["seed"].unique()) == sorted(b["seed"].unique()) == [5, 6]
    assert figures.figure_png(figures.compare_figure({"baseline": a, "star": b})).startswith(PNG_MAGIC)


def test_server_command_is_offline_and_local():
    cmd = server.server_command()
    assert "--production" in cmd and "--no-check-version" in cmd and "--no-open" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert server.server_env({})["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_server_frees_abandoned_sessions_and_hides_the_badge():
    env = server.server_env({})
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == server.CULL_TIMEOUT
    assert env["SOLARA_THEME_SHOW_BANNER"] == "False" and env["SOLARA_THEME_TITLE"] == "clustercoop"
    assert env["MALLOC_ARENA_MAX"] == "2"
    # an administrator's own cull timeout wins
    assert server.server_env({"SOLARA_KERNEL_CULL_TIMEOUT": "10m"})["SOLARA_KERNEL_CULL_TIMEOUT"] == "10m"


def test_app_tabs_are_named_by_route_label():
    import app

    assert [r.label for r in app.routes] == ["Run", "Compare", "Results"]
    assert app.routes[0].layout is app.Layout  # the root route's layout names the tabs


class FakePageSession:
    """Stands in for Solara's VirtualKernelContext: its pages' statuses and its closed flag."""

    def __init__(self, *statuses):
        import threading

        self.closed_event = threading.Event()
        self.page_status = {f"page{i}": s for i, s in enumerate(statuses)}


def test_page_is_open_follows_the_connected_pages():
    from solara.server.kernel_context import PageStatus

    from viz.widgets import page_is_open

    assert page_is_open(None)  # a render without a server
    assert page_is_open(FakePageSession())  # no page ever connected
    assert page_is_open(FakePageSession(PageStatus.CONNECTED))
    assert page_is_open(FakePageSession(PageStatus.DISCONNECTED, PageStatus.CONNECTED))  # another tab still shows it
    assert not page_is_open(FakePageSession(PageStatus.DISCONNECTED))
    assert not page_is_open(FakePageSession(PageStatus.CLOSED, PageStatus.DISCONNECTED))
    closed = FakePageSession(PageStatus.CONNECTED)
    closed.closed_event.set()
    assert not page_is_open(closed)


def test_network_picture_knows_where_each_firm_is_drawn():
    from PIL import Image

    res = session.build_model(scenario_info("baseline").path, {}, 42)
    session.advance(res.model, 2)
    pic = figures.network_picture(res.model.graph_snapshot(), figures.NetworkLayout(), size_by="revenue")
    rgb = np.asarray(Image.open(io.BytesIO(pic.png)).convert("RGB"))
    assert rgb.shape[:2] == (pic.height, pic.width)
    assert len(pic.firms) == len(res.model.firm_table())  # every firm is drawn and pickable at 200 firms
    centres = rgb[pic.firms["y"].round().astype(int), pic.firms["x"].round().astype(int)]
    assert (centres.min(axis=1) < 235).all(), "a recorded firm position is on white background"
    for _, f in pic.firms.iloc[::17].iterrows():  # a click on a firm's centre picks that firm
        assert figures.pick_node(pic.firms, f["x"], f["y"]) == f["id"]
    assert figures.pick_node(pic.firms, 2, 2) is None  # empty corner: nothing picked
    assert figures.pick_node(pic.firms.iloc[:0], 100, 100) is None


def test_paired_table_pairs_by_seed_with_intervals():
    by = {s.name: s for s in session.list_scenarios()}
    runs = comparison.compare_runs({"baseline": by["baseline"].path, "no_regulation": by["no_regulation"].path}, 3, 12, 4)
    table = comparison.paired_table(runs, "baseline")
    assert list(table["kpi"]) == list(comparison.COMPARE_KPIS)
    assert (table["n_pairs"] == 4).all()
    assert ((table["ci_low"] <= table["diff"]) & (table["diff"] <= table["ci_high"])).all()
    # the same arm twice: every difference is exactly zero (common random numbers)
    same = comparison.compare_runs({"a": by["baseline"].path, "b": by["baseline"].path}, 3, 6, 2)
    assert (comparison.paired_table(same, "a")["diff"] == 0).all()
    with pytest.raises(session.ScenarioError, match="replicates"):
        comparison.compare_runs({"a": by["baseline"].path}, 1, 5, comparison.MAX_REPLICATES + 1)
    stopped = comparison.compare_runs({"a": by["baseline"].path}, 1, 5, 3, should_stop=lambda: True)
    assert stopped is None


def test_fixed_y_axes_follow_the_kpi_units():
    assert session.natural_range(("cooperation_rate",)) == (0.0, 1.0)
    assert session.natural_range(("mean_trust", "mean_commitment")) == (0.0, 1.0)
    assert session.natural_range(("members",)) == (0.0, None)
    assert session.natural_range(("revenue", "profit")) == (None, None)
    by = {s.name: s for s in session.list_scenarios()}
    runs = comparison.compare_runs({"baseline": by["baseline"].path, "star": by["star"].path}, 3, 6, 2)
    fig = figures.compare_figure(runs, fixed_y=True)
    panels = dict(zip(session.KPI_PANELS, [ax for ax in fig.axes if ax.get_visible()]))
    assert panels["Cooperation rate"].get_ylim() == (0.0, 1.0)
    assert panels["Members"].get_ylim()[0] == 0.0
    free = figures.compare_figure(runs, fixed_y=False)
    assert dict(zip(session.KPI_PANELS, free.axes))["Cooperation rate"].get_ylim() != (0.0, 1.0)


def test_a_lever_moved_mid_run_acts_from_the_next_step_like_a_scenario_file(tmp_path):
    """The lever event changes the run from its step on, and the exported scenario file replays it exactly."""
    from sim import load_scenario

    path = scenario_info("baseline").path
    plain = session.build_model(path, {}, 7).model
    moved = session.build_model(path, {}, 7)
    events = []
    session.advance(plain, 12)
    session.advance(moved.model, 5)
    levers.add_lever_event(moved.model, {"mechanisms.regulation.sanction": 4.0}, events)
    levers.add_lever_event(moved.model, {"information.digitalization": 0.9}, events)  # same step: one event
    assert len(events) == 1 and events[0].at == 6 and "Sanction 4" in events[0].label
    session.advance(moved.model, 7)
    a, b = session.kpi_frame(plain), session.kpi_frame(moved.model)
    kpis = [c for c in a.columns if c != "step"]
    assert a.iloc[:5][kpis].equals(b.iloc[:5][kpis])  # identical before the event
    assert not a.iloc[5:][kpis].equals(b.iloc[5:][kpis])  # different from its step on
    # the page's export: a scenario file whose [[policy]] entry reproduces the run
    file = tmp_path / "with_events.toml"
    file.write_text(session.scenario_toml(load_scenario(path), events, 12, note="test"))
    replay = session.build_model(file, {}, 7).model
    session.advance(replay, 12)
    assert session.kpi_frame(replay)[kpis].equals(b[kpis])


def test_structure_levers_and_bad_values_are_refused_as_events():
    res = session.build_model(scenario_info("baseline").path, {}, 1)
    session.advance(res.model, 2)
    with pytest.raises(session.ScenarioError, match="rebuilt"):
        levers.add_lever_event(res.model, {"structure.n_firms": 50}, [])
    with pytest.raises(session.ScenarioError, match="monitoring_prob"):
        levers.add_lever_event(res.model, {"mechanisms.regulation.monitoring_prob": 3.0}, [])
    assert levers.live_lever_reason("information.digitalization") is None


def test_kpi_chart_data_carries_each_panel_and_its_natural_range():
    res = session.build_model(scenario_info("baseline").path, {}, 4)
    session.advance(res.model, 4)
    df = session.kpi_frame(res.model)
    steps, panels = session.kpi_chart_data(df)
    assert steps == [1, 2, 3, 4] and [p["title"] for p in panels] == list(session.KPI_PANELS)
    coop = next(p for p in panels if p["title"] == "Cooperation rate")
    assert coop["ylim"] == [None, None] and coop["series"][0]["y"] == df["cooperation_rate"].tolist()
    _, fixed = session.kpi_chart_data(df, fixed_y=True)
    assert next(p for p in fixed if p["title"] == "Cooperation rate")["ylim"] == [0.0, 1.0]
    assert next(p for p in fixed if p["title"] == "Members")["ylim"] == [0.0, None]
    df.loc[1, "cooperation_rate"] = float("nan")  # a gap is sent as null (JSON has no NaN)
    panel = next(p for p in session.kpi_chart_data(df)[1] if p["title"] == "Cooperation rate")
    assert panel["series"][0]["y"][1] is None


def test_results_logic_reads_the_shipped_folders_and_filters_a_sweep():
    from viz import results

    folders = {f.name: f for f in results.find_result_folders([ROOT / "examples" / "results"])}
    assert {"regulation", "monitoring_sweep"} <= set(folders)
    cmp = results.open_results(folders["regulation"])
    assert cmp.kind == "compare" and "cooperation_rate" in results.kpi_choices(cmp)
    table = results.compare_table(cmp, ["cooperation_rate"])
    assert table["scenario"].tolist() == ["no_regulation"] and (table["ci_low"] <= table["diff"]).all()
    assert results.over_time_figure(cmp, "cooperation_rate") is not None
    assert "headline.csv" in results.report_tables(cmp.folder) and results.report_figures(cmp.folder)
    sweep = results.open_results(folders["monitoring_sweep"])
    levels = results.lever_levels(sweep)
    assert levels["mechanisms.regulation.monitoring_prob"] == [0.1, 0.5, 0.9]
    some = results.filter_runs(sweep, {"information.digitalization": [0.8]})
    assert len(some) == len(sweep.runs) // 2 and (some["information.digitalization"] == 0.8).all()
    by = results.by_level(some, "mechanisms.regulation.monitoring_prob", "cooperation_rate")
    assert by["runs"].tolist() == [3, 3, 3]
    with pytest.raises(session.ScenarioError, match="no such folder"):
        results.open_results(ROOT / "examples" / "no_such_results")


def test_results_page_searches_the_main_job_folder_and_adds_the_environments(tmp_path):
    from viz import results

    dirs = results.results_dirs({})
    assert ROOT / "results" in dirs and ROOT / "examples" / "results" in dirs and ROOT / "out" in dirs
    extra = [tmp_path / "a", tmp_path / "b"]
    added = results.results_dirs({"CLUSTERCOOP_RESULTS_DIR": os.pathsep.join(map(str, extra))})
    assert added == dirs + tuple(extra)  # added to the defaults, not replacing them
    # a main job's folder (results/main) one level down is found
    shutil.copytree(ROOT / "examples" / "results" / "regulation", tmp_path / "results" / "main")
    assert results.find_result_folders([tmp_path / "results"]) == [tmp_path / "results" / "main"]


def test_results_logic_reads_the_shipped_calibration():
    from viz import results

    folders = {f.name: f for f in results.find_result_folders([ROOT / "examples" / "results"])}
    cal = results.open_results(folders["calibration"])
    keys = [p["key"] for p in cal.params]
    assert keys == ["firms.cooperativeness", "trust.speed"]
    post = results.calibration_posterior(cal)
    assert post["parameter"].tolist() == keys
    assert ((post["prior low"] <= post["90% low"]) & (post["90% low"] <= post["median"])
            & (post["median"] <= post["90% high"]) & (post["90% high"] <= post["prior high"])).all()
    checks = results.calibration_checks(cal)
    assert checks["target"].tolist() == [t["name"] for t in cal.targets]
    for fig in (results.marginal_figure(cal, keys[1]), results.pair_figure(cal, *keys),
                results.target_figure(cal, cal.targets[0]["name"])):
        assert figures.figure_png(fig).startswith(PNG_MAGIC)
    with pytest.raises(session.ScenarioError, match="not a calibrated parameter; allowed: firms.cooperativeness"):
        results.marginal_figure(cal, "trust.initial")
    assert [p.name for p in results.report_figures(cal.folder)] == ["calibration_marginals.png",
                                                                     "calibration_pairs.png", "calibration_ppc.png"]



def test_the_results_page_draws_a_calibration_as_its_report_does(monkeypatch):
    import numpy as np
    from scipy.stats import norm

    from analysis import calibration
    from viz import results

    cal = results.open_results(ROOT / "examples" / "results" / "calibration")

    def bars(ax) -> list[np.ndarray]:  # heights of each histogram drawn, in drawing order
        return [np.array([b.get_height() for b in c]) for c in ax.containers]

    report = calibration._marginals(cal.posterior, cal.params, cal.prior)
    for p, ax in zip(cal.params, report.axes):
        page = results.marginal_figure(cal, p["key"]).axes[0]
        got, want = bars(page), bars(ax)
        assert len(got) == len(want) == 2 and all(np.array_equal(a, b) for a, b in zip(got, want))
        assert page.get_xlim() == ax.get_xlim() == (p["lo"], p["hi"])
    target = cal.targets[0]
    monkeypatch.setattr(results, "LEVEL", 0.8)  # the observed interval follows the level shown
    span = next(a for a in results.target_figure(cal, target["name"]).axes[0].patches
                if a.get_label().startswith("observed"))
    lo, hi = span.get_x(), span.get_x() + span.get_width()
    half = norm.ppf(0.9) * target["se"]
    assert np.isclose(lo, target["value"] - half) and np.isclose(hi, target["value"] + half)

def test_an_unfinished_or_damaged_calibration_is_explained(tmp_path):
    import json
    import shutil

    from viz import results

    folder = tmp_path / "cal"
    shutil.copytree(ROOT / "examples" / "results" / "calibration", folder)
    man = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**man, "status": "interrupted"}))
    with pytest.raises(session.ScenarioError, match="calibration is interrupted; run the same command again"):
        results.open_results(folder)
    (folder / "manifest.json").write_text(json.dumps(man))
    (folder / "posterior.parquet").unlink()
    with pytest.raises(session.ScenarioError, match="posterior.parquet: unreadable"):
        results.open_results(folder)




def test_the_picker_leaves_out_other_inputs_in_any_folder(tmp_path):
    # CLUSTERCOOP_SCENARIO_DIR pointed at a cluster folder: its targets are no scenario there either
    names = [s.name for s in session.list_scenarios(ROOT / "examples" / "cluster")]
    assert names == ["cluster", "cluster_programme"], names
    (tmp_path / "robust").mkdir()
    for f in ("policies.toml", "uncertainties.toml"):
        (tmp_path / "robust" / f).write_text((ROOT / "examples" / "robust" / f).read_text())
    (tmp_path / "robust" / "targets.toml").write_text((ROOT / "examples" / "calibration" / "targets.toml").read_text())
    (tmp_path / "mine.toml").write_text('# my own cluster.\n[structure]\nkind = "star"\n')
    assert [s.name for s in session.list_scenarios(tmp_path)] == ["mine"]
