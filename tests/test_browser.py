"""The app in a real browser: Debian's Chromium driven by Playwright, fully offline.

Starts ``solara run app.py`` through ``viz.server.start`` (the launcher
``run.py viz`` uses) on a free loopback port, then checks what an analyst sees:
no console errors, no request leaving localhost, a drawn network view and KPI
plot, a click on a firm in the network view selecting it for the Morgan-Hunt
panel, Step advancing the run, a scenario switch rebuilding the view, a lever
moved mid-run, a ten-replicate comparison, the results page on the shipped
comparison and calibration folders, and the example data cluster; and that a page
closed while playing stops its run and gives its memory back. Chromium and its
flags come from ``viz.browser``, as for the screenshots and the app benchmark.
Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from viz.browser import CHROMIUM, flip_switch, launch, pick, pick_firm, running_app

ROOT = Path(__file__).resolve().parent.parent

ARTIFACTS = ROOT / "tests" / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                     "(apt-get install -y chromium); CI installs it"),
]


@contextlib.contextmanager
def _app_server(log_name: str, env: dict[str, str] | None = None):
    """The app server on a free loopback port, logging to the artifacts folder; yield (url, process)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / log_name, "wb") as log, running_app(env, timeout=90, stdout=log,
                                                             stderr=subprocess.STDOUT) as running:
        yield running


@pytest.fixture(scope="module")
def app_server():
    """The app server shared by this module's tests, with the launcher's own settings: (url, process)."""
    with _app_server("server.log") as running:
        yield running


@pytest.fixture(scope="module")
def server_url(app_server):
    return app_server[0]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_over(pid: int, seconds: float) -> float:
    """CPU seconds process ``pid`` uses during the next ``seconds`` of wall time."""
    start = _cpu_seconds(pid)
    time.sleep(seconds)
    return _cpu_seconds(pid) - start


def _rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _open_and_play(context, url: str):
    """Open the run page in a new tab, press Play and wait until the run has stepped; return the page."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    counter = page.locator(".cc-step-counter")
    expect(counter).to_have_text("Step 0", timeout=90_000)
    page.locator(".cc-play-button").click()
    expect(page.locator(".cc-play-button")).to_have_text("Pause", timeout=90_000)
    expect(counter).to_have_text(re.compile(r"Step ([2-9]|\d\d+)"), timeout=90_000)
    return page


def _ink(png: bytes) -> float:
    """Share of pixels that are not (near) white in a screenshot."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float((rgb.min(axis=2) < 235).mean())


def _changed(a: bytes, b: bytes) -> float:
    """Share of pixels that differ between two same-size screenshots."""
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), dtype=int)
    y = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=int)
    if x.shape != y.shape:
        return 1.0
    return float((np.abs(x - y).sum(axis=2) > 30).mean())


def test_app_in_chromium(server_url):
    """Load, step, click a firm and switch scenario, offline, with no console errors."""
    from playwright.sync_api import expect, sync_playwright

    external, console_errors = [], []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1600, "height": 1300})
        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("requestfailed", lambda r: console_errors.append(f"request failed: {r.url}")
                if urlparse(r.url).hostname in LOCAL_HOSTS else None)
        page.set_default_timeout(60_000)
        expect.set_options(timeout=90_000)  # the machine may be shared; renders can be slow
        try:
            page.goto(server_url)
            counter = page.locator(".cc-step-counter")
            expect(counter).to_have_text("Step 0")
            net_img = page.locator(".cc-network img").first
            kpi_img = page.locator(".cc-kpi .cc-kpi-chart").first
            mh_img = page.locator(".cc-morgan-hunt img").first
            for img in (net_img, kpi_img, mh_img):
                expect(img).to_be_visible()
            page.wait_for_timeout(500)
            page.screenshot(path=ARTIFACTS / "01_loaded.png", full_page=True)
            # page chrome: a named browser tab, page tabs named after the pages, no badge over the charts
            assert page.title().startswith("clustercoop"), page.title()
            expect(page.locator(".cc-page-tab")).to_have_text([re.compile(f"^{t}$", re.I) for t in ("Run", "Compare",
                                                                                                 "Results")])
            expect(page.get_by_text("runs on Solara")).to_have_count(0)
            assert _ink(net_img.screenshot()) > 0.03, "network view looks blank"
            assert _ink(mh_img.screenshot()) > 0.03, "Morgan-Hunt panel looks blank"
            kpi_before = kpi_img.screenshot()  # axes only: no step yet
            src_before = net_img.get_attribute("src")

            # click a firm in the network view: the Morgan-Hunt panel switches to it and the view rings it
            picker = page.locator(".cc-network-picker")
            firm_label = page.locator(".cc-selected-firm")
            label_before = firm_label.inner_text()
            current = re.search(r"firm (\d+)", label_before)
            firms = [f for f in json.loads(picker.get_attribute("data-firms"))
                     if current is None or f[0] != int(current.group(1))]
            # the most isolated firm: a click on it cannot be mistaken for a neighbour
            target = max(firms, key=lambda f: min((math.hypot(f[1] - g[1], f[2] - g[2]) for g in firms if g is not f),
                                                  default=1e9))
            box = net_img.bounding_box()
            sx = box["width"] / float(picker.get_attribute("data-width"))
            sy = box["height"] / float(picker.get_attribute("data-height"))
            net_img.click(position={"x": target[1] * sx, "y": target[2] * sy})
            expect(firm_label).to_have_text(re.compile(rf"firm {target[0]}\b"))
            assert firm_label.inner_text() != label_before
            expect(net_img).not_to_have_attribute("src", src_before or "")
            page.screenshot(path=ARTIFACTS / "01b_firm_clicked.png", full_page=True)

            step = page.locator(".cc-step-button")
            for i in range(1, 4):
                step.click()
                expect(counter).to_have_text(f"Step {i}")
            page.wait_for_timeout(500)
            kpi_after = kpi_img.screenshot()
            assert _ink(kpi_after) > 0.03, "KPI plot looks blank"
            assert _changed(kpi_before, kpi_after) > 0.002, "KPI plot did not change after 3 steps"
            src_steps = net_img.get_attribute("src")
            page.locator(".cc-network button").filter(has_text="cooperation").click()
            expect(net_img).not_to_have_attribute("src", src_steps or "")
            page.wait_for_timeout(500)
            page.locator(".cc-step-counter").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "02_after_steps.png", full_page=True)

            desc = page.locator(".cc-scenario-description")
            desc_before = desc.inner_text()
            page.locator(".v-select").filter(has_text="Scenario").first.click()
            options = page.locator(".v-menu__content .v-list-item")
            current = page.locator(".v-select").filter(has_text="Scenario").first.inner_text()
            other = next(t for t in options.all_inner_texts() if t.strip() and t.strip() not in current)
            options.filter(has_text=other.strip()).first.click()
            expect(counter).to_have_text("Step 0")
            expect(desc).not_to_have_text(desc_before)
            expect(net_img).not_to_have_attribute("src", src_before or "")
            page.wait_for_timeout(500)
            assert _ink(net_img.screenshot()) > 0.03, "network view blank after switching scenario"
            page.screenshot(path=ARTIFACTS / "03_switched.png", full_page=True)

            page.locator(".cc-play-button").click()
            expect(counter).not_to_have_text("Step 0", timeout=30_000)
            page.locator(".cc-play-button").click()
            expect(page.locator(".cc-play-button")).to_have_text("Play")

        finally:
            page.screenshot(path=ARTIFACTS / "99_last.png", full_page=True)
            browser.close()

    assert not external, f"requests left localhost: {external}"
    assert not console_errors, f"console errors: {console_errors}"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the server's CPU time from /proc")
def test_closing_a_playing_page_stops_its_run(app_server):
    """A page closed while playing, without its unload beacon (a killed browser, a dropped connection): the
    server stops stepping within seconds instead of playing on until Solara culls the session."""
    from playwright.sync_api import sync_playwright

    url, proc = app_server
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = _open_and_play(browser.new_context(viewport={"width": 1600, "height": 1300}), url)
            # the playing rate, measured until clearly above idle (a loaded machine gives the server little CPU)
            start_cpu, start = _cpu_seconds(proc.pid), time.monotonic()
            while _cpu_seconds(proc.pid) - start_cpu < 0.5 and time.monotonic() - start < 20:
                time.sleep(0.5)
            playing = (_cpu_seconds(proc.pid) - start_cpu) / (time.monotonic() - start)
            page.close(run_before_unload=False)  # no beforeunload, so no close beacon: only the websocket drops
            time.sleep(3)  # the play interval and a frame still being drawn
            after = _cpu_over(proc.pid, 6) / 6
        finally:
            browser.close()
    assert playing > 0.02, f"the playing run used {playing:.1%} of a core: stepping not measurable"
    assert after < min(0.05, playing / 4), (f"the server used {after:.1%} of a core after the page closed "
                                            f"({playing:.1%} while playing)")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_closed_sessions_give_their_memory_back():
    """Sessions closed while playing are culled and their memory reused: after the first visits (imports,
    compiled kernels, caches) more open/play/close cycles leave the server's memory about where it was."""
    from playwright.sync_api import sync_playwright

    rss = []
    # a short cull timeout so the test need not wait for the launcher's
    with _app_server("server_memory.log", dict(os.environ, SOLARA_KERNEL_CULL_TIMEOUT="2s")) as (url, proc):
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                context = browser.new_context(viewport={"width": 1600, "height": 1300})
                for _ in range(5):
                    _open_and_play(context, url).close(run_before_unload=False)
                    time.sleep(5)  # the cull timeout and the session's close
                    rss.append(_rss_mb(proc.pid))
            finally:
                browser.close()
    # a session that is never freed keeps tens of MB (model, figures, widgets), so three would add well over 60
    assert rss[-1] - rss[1] < 60, f"server memory after each closed session (MB): {[round(x) for x in rss]}"


def _steps(page, n: int, start: int) -> None:
    """Press Step ``n`` times, each time waiting for the counter."""
    from playwright.sync_api import expect

    for i in range(start + 1, start + n + 1):
        page.locator(".cc-step-button").click()
        expect(page.locator(".cc-step-counter")).to_have_text(f"Step {i}", timeout=90_000)


def _panel_titles(page) -> list[str]:
    return page.locator(".cc-kpi .cc-kpi-panel").all_inner_texts()


def _patient_page(browser):
    """A page at the app's screen size whose waits allow for a shared, loaded machine."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1600, "height": 1300}).new_page()
    page.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)
    return page


def test_a_lever_moved_mid_run_is_marked_and_changes_the_run(server_url):
    """Eight steps without a change, then the same seed with regulation switched off after step 3: the event is
    listed and drawn, the KPIs differ from the run without it, and Reset goes back to the scenario's values."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = _patient_page(browser)
        try:
            page.goto(server_url)
            expect(page.locator(".cc-step-counter")).to_have_text("Step 0")
            now = page.locator(".cc-kpi-now")
            _steps(page, 8, 0)
            expect(now).to_contain_text("Step 8:")
            plain = now.inner_text()
            page.locator(".cc-reset-button").click()
            expect(page.locator(".cc-step-counter")).to_have_text("Step 0")
            _steps(page, 3, 0)
            marks = page.locator(".cc-kpi .cc-event-mark")
            expect(marks).to_have_count(0)
            flip_switch(page, "Mechanisms", "Regulation (association)")
            expect(page.locator(".cc-event")).to_have_text(re.compile(r"from step 4: Regulation off"))
            expect(marks).to_have_count(len(_panel_titles(page)))  # a dashed line on every panel
            _steps(page, 5, 3)
            expect(now).to_contain_text("Step 8:")
            moved = now.inner_text()
            assert moved != plain, f"the run with the event equals the run without it: {moved}"
            page.locator(".cc-events").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "05_lever_event.png", full_page=True)
            with page.expect_download() as dl:
                page.get_by_text("Scenario file with these events").click()
            text = Path(dl.value.path()).read_text()
            assert "[[policy]]" in text and "at = 4" in text and '"mechanisms.regulation.enabled" = false' in text
            page.locator(".cc-reset-button").click()
            expect(page.locator(".cc-step-counter")).to_have_text("Step 0")
            expect(page.locator(".cc-event")).to_have_count(0)
        finally:
            page.screenshot(path=ARTIFACTS / "99_lever_last.png", full_page=True)
            browser.close()


def test_a_ten_replicate_comparison_shows_its_intervals(server_url):
    """Ten replicates per arm in the background with progress; the page lists each KPI's paired difference
    with an interval that contains it, and draws the overlay and the difference per step."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = _patient_page(browser)
        try:
            page.goto(server_url + "compare")
            expect(page.get_by_text("Replicates: 10", exact=True)).to_be_visible(timeout=90_000)
            page.locator(".cc-compare-button").click()
            expect(page.locator(".cc-compare-progress")).to_contain_text("of 20", timeout=90_000)
            rows = page.locator(".cc-diff-row")
            expect(rows.first).to_be_visible(timeout=600_000)
            assert rows.count() >= 5
            for row in rows.all():
                diff = float(row.locator(".cc-diff").inner_text())
                lo, hi = (float(x) for x in row.locator(".cc-interval").inner_text().strip("[]").split(","))
                assert lo <= diff <= hi, row.inner_text()
                assert row.locator("td").nth(5).inner_text() == "10"
            for img in (page.locator(".cc-compare img").first, page.locator(".cc-compare-diff img").first):
                expect(img).to_be_visible()
                assert _ink(img.screenshot()) > 0.03, "a compare figure looks blank"
            page.screenshot(path=ARTIFACTS / "04_compare.png", full_page=True)
        finally:
            page.screenshot(path=ARTIFACTS / "99_compare_last.png", full_page=True)
            browser.close()


def test_results_page_and_a_data_scenario_with_firm_names(server_url):
    """The Results page opens the shipped comparison and shows its numbers and the report's figures, then the
    shipped calibration with its posterior per parameter and its predictive checks per target; the run page
    picks the example data cluster and finds a firm by its name."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = _patient_page(browser)
        try:
            page.goto(server_url + "results")
            pick(page, "Found folders", "examples/results/regulation")
            page.locator(".cc-open-results").click()
            table = page.locator(".cc-results-rows")
            expect(table).to_contain_text("no_regulation")
            expect(table).to_contain_text("cooperation_rate")
            expect(page.locator(".cc-results-figure img").first).to_be_visible()
            page.get_by_text("figures/forest.png").click()
            report_img = page.locator(".cc-report img").first
            expect(report_img).to_be_visible()
            assert _ink(report_img.screenshot()) > 0.03, "the report's figure looks blank"
            page.screenshot(path=ARTIFACTS / "06_results.png", full_page=True)

            # a calibration folder: the posterior of each parameter and the observed targets against the model
            pick(page, "Found folders", "examples/results/calibration")
            page.locator(".cc-open-results").click()
            posterior = page.locator(".cc-calibration-posterior .cc-results-rows")
            expect(posterior).to_contain_text("firms.cooperativeness")
            expect(posterior).to_contain_text("trust.speed")
            checks = page.locator(".cc-checks-rows")
            for name in ("trust_survey", "joint_marketing_share", "commitment_survey", "entries_three_years"):
                expect(checks).to_contain_text(name)
            marginal = page.locator(".cc-calibration-marginal img").first
            expect(marginal).to_be_visible()
            assert _ink(marginal.screenshot()) > 0.03, "the posterior marginal looks blank"
            before = marginal.get_attribute("src")
            pick(page, "Parameter", "trust.speed")
            expect(page.locator(".cc-calibration-marginal")).to_contain_text("Posterior of trust.speed")
            expect(marginal).not_to_have_attribute("src", before or "")
            check_img = page.locator(".cc-calibration-checks img").first
            before = check_img.get_attribute("src")
            pick(page, "Target", "entries_three_years")
            expect(check_img).not_to_have_attribute("src", before or "")
            assert _ink(check_img.screenshot()) > 0.03, "the predictive check looks blank"
            page.screenshot(path=ARTIFACTS / "06b_calibration.png", full_page=True)

            page.goto(server_url)
            expect(page.locator(".cc-step-counter")).to_have_text("Step 0")
            pick(page, "Scenario", "examples/cluster/cluster")
            expect(page.locator(".cc-scenario-description")).to_contain_text("machine-building cluster")
            expect(page.locator(".cc-structure-counts")).to_contain_text("80 firms")  # no structure levers
            expect(page.locator(".v-select").filter(has_text="Find a firm by name")).to_have_count(1)
            name = pick_firm(page, 5)
            expect(page.locator(".cc-selected-firm")).to_contain_text(f"Selected: {name} (firm")
            expect(page.locator(".cc-network img").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "07_data_cluster.png", full_page=True)
        finally:
            page.screenshot(path=ARTIFACTS / "99_results_last.png", full_page=True)
            browser.close()
