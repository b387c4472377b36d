"""The README's screenshots of each page, taken in headless Chromium: ``python -m viz.screenshots``.

Starts the app like ``run.py viz``, drives each page the way the README describes it and writes small
PNGs (width 1000 px, 64 colours) to ``docs/screenshots/``: ``run.png`` (a lever moved mid-run),
``compare.png`` (a comparison with its intervals), ``results.png`` (the shipped sweep), ``calibration.png``
(the shipped calibration on the same page) and ``data_cluster.png`` (the example data cluster, a firm found
by name).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from viz.browser import CHROMIUM, flip_switch, launch, pick, pick_firm, running_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def _save(png: bytes, name: str, width: int = 1000) -> Path:
    """Write a screenshot scaled to ``width`` and reduced to 64 colours (a few tens of KB)."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    im.quantize(64).save(path, optimize=True)
    return path


def take(timeout_ms: int = 300_000) -> list[Path]:
    """Take the five screenshots; return their paths."""
    from playwright.sync_api import expect, sync_playwright

    written = []
    with running_app(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (url, _), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_context(viewport={"width": 1500, "height": 1250}).new_page()
        page.set_default_timeout(timeout_ms)
        expect.set_options(timeout=timeout_ms)

        page.goto(url)
        counter = page.locator(".cc-step-counter")
        expect(counter).to_have_text("Step 0")
        for i in range(1, 7):
            page.locator(".cc-step-button").click()
            expect(counter).to_have_text(f"Step {i}")
        flip_switch(page, "Mechanisms", "Regulation (association)")
        expect(page.locator(".cc-event")).to_have_count(1)
        for i in range(7, 13):
            page.locator(".cc-step-button").click()
            expect(counter).to_have_text(f"Step {i}")
        expect(page.locator(".cc-network-caption")).to_contain_text("Step 12:")
        page.wait_for_timeout(1500)
        written.append(_save(page.screenshot(full_page=True), "run.png"))

        page.goto(url + "compare")
        pick(page, "Scenario B", "no_regulation")
        page.locator(".cc-compare-button").click()
        expect(page.locator(".cc-diff-row").first).to_be_visible()
        page.wait_for_timeout(1500)
        written.append(_save(page.screenshot(full_page=True), "compare.png"))

        page.goto(url + "results")
        pick(page, "Found folders", "examples/results/monitoring_sweep")
        page.locator(".cc-open-results").click()
        expect(page.locator(".cc-results-rows")).to_be_visible()
        page.wait_for_timeout(1500)
        written.append(_save(page.screenshot(full_page=True), "results.png"))

        pick(page, "Found folders", "examples/results/calibration")
        page.locator(".cc-open-results").click()
        expect(page.locator(".cc-checks-rows")).to_be_visible()
        expect(page.locator(".cc-calibration-checks img").first).to_be_visible()
        page.set_viewport_size({"width": 1500, "height": 2300})  # the page scrolls inside: show the checks too
        page.wait_for_timeout(1500)
        written.append(_save(page.screenshot(full_page=True), "calibration.png"))
        page.set_viewport_size({"width": 1500, "height": 1250})

        page.goto(url)
        expect(counter).to_have_text("Step 0")
        pick(page, "Scenario", "examples/cluster/cluster")
        expect(page.locator(".v-select").filter(has_text="Find a firm by name")).to_have_count(1)
        name = pick_firm(page, 3)
        expect(page.locator(".cc-selected-firm")).to_contain_text(name)
        page.wait_for_timeout(4000)  # the pictures are redrawn for the chosen firm
        written.append(_save(page.screenshot(full_page=True), "data_cluster.png"))
        browser.close()
    return written


if __name__ == "__main__":
    if not CHROMIUM.exists():
        print("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)", file=sys.stderr)
        raise SystemExit(2)
    for p in take():
        print(p.relative_to(OUT.parent.parent), f"{p.stat().st_size // 1024} KB")
