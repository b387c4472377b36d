"""The browser app without a browser: page logic, figures and the server command line."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import Scenario  # noqa: E402
from viz import figures, server, session  # noqa: E402

PNG_MAGIC = b"\x89PNG"


def _scenario(name: str) -> session.ScenarioInfo:
    return {s.name: s for s in session.list_scenarios()}[name]


def test_app_module_defines_routes():
    import app

    paths = [r.path for r in app.routes]
    assert paths == ["/", "compare"]


def test_scenarios_are_listed_with_their_question():
    infos = session.list_scenarios()
    names = [s.name for s in infos]
    assert "baseline" in names and "star" in names
    top = [s for s in infos if "/" not in s.name]
    assert all(s.description for s in top), [s.name for s in top if not s.description]


def test_levers_follow_the_schema():
    base = Scenario()
    for lev in session.LEVERS:
        value = base.get(lev.key)  # every key exists
        if lev.kind in ("slider", "int"):
            assert lev.min <= value <= lev.max or lev.key == "structure.n_firms", lev
            assert "range" in lev.help
        if lev.kind == "select":
            assert value in lev.options or lev.key == "structure.kind"
    kinds = next(lev for lev in session.LEVERS if lev.key == "structure.kind").options
    assert "edge_list" not in kinds and "star" in kinds


def test_seed_text_is_converted_or_explained():
    assert session.parse_seed(" 7 ") == 7
    assert session.parse_seed(3) == 3
    assert "whole number" in session.build_model(_scenario("baseline").path, {}, "abc").error
    assert "negative" in session.build_model(_scenario("baseline").path, {}, "-1").error


def test_invalid_lever_combination_gives_a_message_not_a_traceback():
    res = session.build_model(_scenario("baseline").path,
                              {"structure.kind": "network", "structure.n_firms": 10, "structure.mean_degree": 20}, 1)
    assert res.model is None
    assert "mean_degree" in res.error


def test_overrides_only_hold_changed_levers():
    sc = Scenario()
    values = session.lever_values(sc)
    assert session.changed_overrides(sc, values) == {}
    values["information.digitalization"] = 0.9
    assert session.changed_overrides(sc, values) == {"information.digitalization": 0.9}


def test_steps_exports_and_figures_at_200_firms():
    res = session.build_model(_scenario("baseline").path, {}, 42)
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
    values = figures.morgan_hunt_values(res.model.firm_table(), int(res.model.firm_table()["id"].iloc[0]))
    assert values["cluster"].notna().all() and values["firm"].notna().all()


def test_network_view_samples_at_2000_firms():
    res = session.build_model(_scenario("baseline").path, {"structure.n_firms": 2000}, 1)
    snap = res.model.graph_snapshot()
    mask, caption = figures.select_nodes(snap, max_firms=300)
    kinds = snap["node_kind"][mask]
    assert "of 2" in caption and mask.sum() < 400
    assert {"association", "cdc"} <= set(kinds.tolist())


def test_compare_runs_share_seeds():
    a = session.run_replicates(_scenario("baseline").path, 5, 4, replicates=2)
    b = session.run_replicates(_scenario("star").path, 5, 4, replicates=2)
    assert sorted(a["seed"].unique()) == sorted(b["seed"].unique()) == [5, 6]
    assert figures.figure_png(figures.compare_figure({"baseline": a, "star": b})).startswith(PNG_MAGIC)


def test_server_command_is_offline_and_local():
    cmd = server.server_command()
    assert "--production" in cmd and "--no-check-version" in cmd and "--no-open" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert server.server_env({})["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


@pytest.fixture
def render():
    """Render a page inside Solara's app layout (so the sidebar exists); close it afterwards."""
    import solara

    contexts = []

    def _render(page):
        box, rc = solara.render(solara.AppLayout(children=[page]), handle_error=False)
        contexts.append(rc)
        return rc

    yield _render
    for rc in contexts:
        rc.close()


def test_run_page_steps_switches_and_reports_errors(render):
    import ipyvuetify as v
    import ipywidgets as w

    from viz.components import RunPage

    rc = render(RunPage())
    counter = lambda: rc.find(v.Html, class_="cc-step-counter").widget.children[0]  # noqa: E731
    assert counter() == "Step 0"
    assert len(rc.find(w.Image).widgets) == 3  # network, Morgan-Hunt, KPIs
    step = rc.find(v.Btn, class_="cc-step-button").widget
    step.click()
    step.click()
    assert counter() == "Step 2"
    rc.find(v.Select, label="Scenario").widget.v_model = "star"
    assert counter() == "Step 0"
    assert "star" in rc.find(v.Html, class_="cc-scenario-description").widget.children[0]
    rc.find(v.TextField, label="Seed").widget.v_model = "not a seed"
    rc.find(v.Btn, class_="cc-reset-button").widget.click()
    assert "whole number" in str(rc.find(v.Alert).widgets[0].children)


def test_compare_page_draws_overlay(render):
    import ipyvuetify as v
    import ipywidgets as w

    from viz.components import ComparePage

    rc = render(ComparePage())
    assert len(rc.find(w.Image).widgets) == 0
    rc.find(v.Btn, class_="cc-compare-button").widget.click()
    imgs = rc.find(w.Image).widgets
    assert len(imgs) == 1 and bytes(imgs[0].value).startswith(PNG_MAGIC)
