"""The app's pages rendered by Solara without a browser: stepping, switching scenarios, clicking a firm, playing,
background comparisons, the results page and a data cluster's names."""

from __future__ import annotations

import pytest

from tests.test_app import PNG_MAGIC, ROOT, FakePageSession, scenario_info
from viz import comparison, levers, session


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

    from viz.run_page import RunPage

    rc = render(RunPage())
    counter = lambda: rc.find(v.Html, class_="cc-step-counter").widget.children[0]  # noqa: E731
    assert _wait_for(lambda: counter() == "Step 0", 60), counter()
    # Morgan-Hunt, drawn in a thread (the KPIs are drawn by the browser)
    assert _wait_for(lambda: len(rc.find(w.Image).widgets) == 1, 120)
    chart = _kpi_chart(rc)
    assert len(chart.steps) == 0 and len(chart.panels) == len(session.KPI_PANELS)
    assert _network_image(rc).src.startswith("data:image/png;base64,")  # the clickable network view
    step = rc.find(v.Btn, class_="cc-step-button").widget
    step.click()
    step.click()
    assert _wait_for(lambda: counter() == "Step 2", 60), counter()
    assert _wait_for(lambda: _kpi_chart(rc).steps == [1, 2], 60)  # the chart gets the new step's numbers
    rc.find(v.Select, label="Scenario").widget.v_model = "star"
    assert _wait_for(lambda: counter() == "Step 0", 60), counter()
    star = scenario_info("star").description
    assert _wait_for(lambda: rc.find(v.Html, class_="cc-scenario-description").widget.children[0] == star, 60)
    rc.find(v.TextField, label="Seed").widget.v_model = "not a seed"
    rc.find(v.Btn, class_="cc-reset-button").widget.click()
    assert _wait_for(lambda: "whole number" in str([a.children for a in rc.find(v.Alert).widgets]), 60)


def _kpi_chart(rc):
    """The browser-drawn KPI chart widget (the Vue template with ``steps`` and ``panels``)."""
    import ipyvue

    found = [x for x in rc.find(ipyvue.VueTemplate).widgets if hasattr(x, "panels")]
    assert len(found) == 1
    return found[0]


def _network_image(rc):
    """The clickable network image widget (the Vue template with a ``pick`` event)."""
    import ipyvue

    def found():
        return [x for x in rc.find(ipyvue.VueTemplate).widgets if hasattr(x, "vue_pick")]

    assert _wait_for(lambda: len(found()) == 1, 120), "the network picture was not drawn"  # drawn in a thread
    return found()[0]


def test_clicking_a_firm_selects_it_in_the_morgan_hunt_panel(render):
    import ipyvuetify as v
    import ipywidgets as w

    from viz.run_page import RunPage

    rc = render(RunPage())
    _network_image(rc)
    assert _wait_for(lambda: len(rc.find(w.Image).widgets) == 1, 120)
    label = lambda: rc.find(v.Html, class_="cc-selected-firm").widget.children[0]  # noqa: E731
    pngs = lambda: [bytes(x.value) for x in rc.find(w.Image).widgets]  # noqa: E731  (Morgan-Hunt)
    before_label, before_pngs = label(), pngs()
    img = _network_image(rc)
    current = int(before_label.split("firm ")[1].split()[0])
    fid, x, y, _ = next(f for f in img.firms if f[0] != current)
    src_before = img.src
    # the browser reports offsets on the drawn (here half-size) image; the server scales them back
    img.vue_pick({"x": x / 2, "y": y / 2, "w": img.width / 2, "h": img.height / 2})
    assert _wait_for(lambda: label() == f"Selected: firm {fid} (enterprise)", 60), label()
    assert label() != before_label
    assert _wait_for(lambda: pngs() != before_pngs, 120)  # the Morgan-Hunt figure is redrawn with the new firm
    assert _wait_for(lambda: rc.find(v.TextField, label="Firm id").widget.v_model == str(fid), 60)  # the id box follows
    assert _wait_for(lambda: _network_image(rc).src != src_before, 120)  # the highlight moved
    # stepping keeps the clicked firm (the largest firm changes as the run goes on)
    for _ in range(3):
        rc.find(v.Btn, class_="cc-step-button").widget.click()
    assert _wait_for(lambda: rc.find(v.Html, class_="cc-step-counter").widget.children[0] == "Step 3", 60)
    assert _wait_for(lambda: label() == f"Selected: firm {fid} (enterprise)", 60), label()
    # a click on empty space keeps the selection
    _network_image(rc).vue_pick({"x": 1, "y": 1, "w": img.width, "h": img.height})
    assert _wait_for(lambda: label() == f"Selected: firm {fid} (enterprise)", 60), label()
    # the id box still works, and the network view rings the typed firm
    box = rc.find(v.TextField, label="Firm id").widget
    box.v_model = str(current)
    box.fire_event("keyup.enter", str(current))  # the box applies its value on Enter or blur
    assert _wait_for(lambda: label() == before_label, 60), label()


def _wait_for(condition, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_play_pauses_when_its_page_disconnects(render, monkeypatch):
    import time

    import ipyvuetify as v
    from solara.server.kernel_context import PageStatus

    from viz import run_page

    fake = FakePageSession(PageStatus.CONNECTED)
    monkeypatch.setattr(run_page, "kernel_context", lambda: fake)
    rc = render(run_page.RunPage())
    counter = lambda: rc.find(v.Html, class_="cc-step-counter").widget.children[0]  # noqa: E731
    play = lambda: rc.find(v.Btn, class_="cc-play-button").widget  # noqa: E731
    play().click()
    assert play().children == ["Pause"]
    assert _wait_for(lambda: counter() not in ("Step 0", "Step 1"), 60), "the run did not play"
    fake.page_status["page0"] = PageStatus.DISCONNECTED
    assert _wait_for(lambda: play().children == ["Play"], 10), "still playing after the page disconnected"
    stopped_at = counter()
    time.sleep(1.0)  # three play intervals
    assert counter() == stopped_at


def test_compare_page_runs_in_the_background_and_reports_paired_differences(render):
    import ipyvuetify as v
    import ipywidgets as w

    from viz.compare_page import ComparePage

    rc = render(ComparePage())
    assert len(rc.find(w.Image).widgets) == 0
    rc.find(v.Slider, label="Replicates: 10").widget.v_model = 3
    rc.find(v.Btn, class_="cc-compare-button").widget.click()
    assert _wait_for(lambda: len(rc.find(w.Image).widgets) == 2, 300), "the comparison did not finish"
    imgs = rc.find(w.Image).widgets
    assert all(bytes(i.value).startswith(PNG_MAGIC) for i in imgs)  # overlay and difference per step
    html_widgets = [x for x in rc.find(v.Html).widgets if "cc-diff-table" in str(getattr(x, "children", ""))]
    assert html_widgets, "no table of differences"
    text = str(html_widgets[0].children)
    for kpi in comparison.COMPARE_KPIS:
        assert f"data-kpi='{kpi}'" in text
    assert "<td>3</td>" in text  # three pairs


def test_run_page_turns_a_moved_lever_into_a_marked_event(render):
    import ipyvuetify as v

    from viz.run_page import RunPage

    rc = render(RunPage())
    counter = lambda: rc.find(v.Html, class_="cc-step-counter").widget.children[0]  # noqa: E731
    events = lambda: [w.children[0] for w in rc.find(v.Html, class_="cc-event").widgets]  # noqa: E731
    for i in range(1, 4):
        rc.find(v.Btn, class_="cc-step-button").widget.click()
        assert _wait_for(lambda: counter() == f"Step {i}", 60), counter()
    switch = rc.find(v.Switch, label="Contracts").widget
    switch.v_model = not switch.v_model
    assert _wait_for(lambda: len(events()) == 1, 60) and "from step 4: Contracts" in events()[0]
    assert _wait_for(lambda: _kpi_chart(rc).marks[-1]["at"] == 4, 60)  # drawn on the KPI panels
    # a structure lever waits for a rebuild instead
    rc.find(v.Select, label="Network generator").widget.v_model = "erdos_renyi"
    assert _wait_for(lambda: len(rc.find(v.Btn, class_="cc-rebuild-button").widgets) == 1, 60)
    rc.find(v.Btn, class_="cc-reset-button").widget.click()
    assert _wait_for(lambda: counter() == "Step 0", 60)
    assert _wait_for(lambda: len(events()) == 0, 60)
    # the scenario's own values again: nothing waits for a rebuild
    assert _wait_for(lambda: len(rc.find(v.Btn, class_="cc-rebuild-button").widgets) == 0, 60)


def test_results_page_opens_a_folder_and_follows_the_kpi_and_lever_filter(render):
    import ipyvuetify as v

    from viz.results_page import ResultsPage

    rc = render(ResultsPage())
    rc.find(v.TextField, label="Folder (the --out of run.py sweep, compare, run or calibrate)").widget.v_model = \
        str(ROOT / "examples" / "results" / "monitoring_sweep")
    rc.find(v.Btn, class_="cc-open-results").widget.click()
    cards = lambda: [c for c in rc.find(v.Card).widgets if "cc-results-table" in (c.class_ or "")]  # noqa: E731
    heading = lambda: str(cards()[0].children) if cards() else ""  # noqa: E731
    assert _wait_for(lambda: len(cards()) == 1, 60)
    assert "18 of 18 runs" in heading()
    rc.find(v.Select, label="information.digitalization (none chosen: all)").widget.v_model = [0.2]
    assert _wait_for(lambda: "9 of 18 runs" in heading(), 60), heading()
    rc.find(v.Select, label="KPI").widget.v_model = "mean_trust"
    assert _wait_for(lambda: "mean trust by" in heading(), 60), heading()


def test_results_page_shows_a_calibration_per_parameter_and_target(render):
    import ipyvuetify as v
    import ipywidgets as w

    from viz.results_page import ResultsPage

    rc = render(ResultsPage())
    rc.find(v.TextField, label="Folder (the --out of run.py sweep, compare, run or calibrate)").widget.v_model = \
        str(ROOT / "examples" / "results" / "calibration")
    rc.find(v.Btn, class_="cc-open-results").widget.click()
    html = lambda: " ".join(str(x.children) for x in rc.find(v.Html).widgets)  # noqa: E731
    assert _wait_for(lambda: "cc-checks-rows" in html(), 60)
    assert "firms.cooperativeness" in html() and "joint_marketing_share" in html()
    images = lambda: [bytes(i.value) for i in rc.find(w.Image).widgets]  # noqa: E731
    assert len(images()) == 6  # marginal, pairs, the chosen target; then the report's three figures
    before = images()
    rc.find(v.Select, label="Parameter").widget.v_model = "trust.speed"
    assert _wait_for(lambda: images()[0] != before[0], 60), "the marginal did not follow the parameter"
    rc.find(v.Select, label="Target").widget.v_model = "entries_three_years"
    assert _wait_for(lambda: images()[2] != before[2], 60), "the check did not follow the target"


def test_data_scenario_is_listed_with_its_firms_names(render):
    import ipyvuetify as v

    from viz.run_page import RunPage

    info = scenario_info("examples/cluster/cluster")
    res = session.build_model(info.path, {}, 1)
    names = session.firm_names(res.model)
    assert len(names) >= 80 and all(not n.isdigit() for n in names)
    rc = render(RunPage())
    rc.find(v.Select, label="Scenario").widget.v_model = "examples/cluster/cluster"
    label = lambda: rc.find(v.Html, class_="cc-selected-firm").widget.children[0]  # noqa: E731
    assert _wait_for(lambda: len(rc.find(v.Select, label="Find a firm by name").widgets) == 1, 120)
    # the files decide the structure: no structure levers, the cluster's firms and links instead
    assert not rc.find(v.Select, label="Structure").widgets and not rc.find(v.Select, label="Network generator").widgets
    assert not [w for w in rc.find(v.Slider).widgets if w.label.startswith(("Firms", "Mean degree"))]
    counts = rc.find(v.Html, class_="cc-structure-counts").widget.children[0]
    assert counts == f"Built from the scenario's files: {levers.cluster_counts(res.model)}.", counts
    rc.find(v.Select, label="Scenario").widget.v_model = "baseline"  # a generated cluster has its levers back
    assert _wait_for(lambda: len(rc.find(v.Select, label="Structure").widgets) == 1, 60)
    assert not rc.find(v.Html, class_="cc-structure-counts").widgets
    rc.find(v.Select, label="Scenario").widget.v_model = "examples/cluster/cluster"
    assert _wait_for(lambda: len(rc.find(v.Html, class_="cc-structure-counts").widgets) == 1, 60)
    # the firm list comes with the rebuilt model's panels, which may follow the sidebar
    assert _wait_for(lambda: len(rc.find(v.Select, label="Find a firm by name").widgets) == 1, 120)
    name = sorted(names)[3]
    rc.find(v.Select, label="Find a firm by name").widget.v_model = name
    assert _wait_for(lambda: label().startswith(f"Selected: {name} (firm {names[name]}"), 60), label()
