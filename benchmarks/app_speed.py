"""The browser app's speed as an analyst meets it: page load, Step, and playing, in Debian's Chromium.

Usage::

    python -m benchmarks.app_speed                 # baseline, 20 Step clicks, 20 s of playing
    python -m benchmarks.app_speed --clicks 40 --play 30

Starts the app server the way ``run.py viz`` does (``viz.server.start``) on a
free loopback port, drives a headless Chromium with Playwright and measures
wall time in the browser:

- load: from navigation until the network picture, the KPI chart and the
  Morgan-Hunt panel are on the page;
- step: from a click on Step until the step counter and the KPI chart show the
  new step (the model's step and the redraw of the numbers);
- picture: from the same click until the network picture shows the new step
  (it is drawn in the background and follows the numbers);
- play: steps per second while playing at the shortest interval;
- server CPU: CPU seconds the server process (all threads) used from a click on
  Step until the new network picture (the step, the numbers and both pictures);
  unlike the wall times it hardly depends on what else the machine runs.

Prints a Markdown table (median and 90th percentile); copy it to
``benchmarks/results/journal.md`` with the date, the commit and the load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from viz.browser import CHROMIUM, launch, running_app


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) process ``pid`` has used so far; NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(clicks: int = 20, play_seconds: float = 20.0, timeout_ms: int = 180_000) -> dict[str, list[float]]:
    """Run the measurements once; seconds per event, and ``play`` as steps per second."""
    from playwright.sync_api import expect, sync_playwright

    out: dict[str, list[float]] = {"load": [], "step": [], "picture": [], "server_cpu": [], "play": []}
    with running_app(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as (url, proc), sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_context(viewport={"width": 1600, "height": 1300}).new_page()
        page.set_default_timeout(timeout_ms)
        expect.set_options(timeout=timeout_ms)
        t0 = time.perf_counter()
        page.goto(url)
        for sel in (".cc-network img", ".cc-kpi .cc-kpi-chart", ".cc-morgan-hunt img"):
            expect(page.locator(sel).first).to_be_visible()
        out["load"].append(time.perf_counter() - t0)
        counter, chart = page.locator(".cc-step-counter"), page.locator(".cc-kpi-chart")
        for i in range(1, clicks + 1):
            t0, cpu0 = time.perf_counter(), _cpu_seconds(proc.pid)
            page.locator(".cc-step-button").click()
            expect(counter).to_have_text(f"Step {i}")
            expect(chart).to_have_attribute("data-steps", str(i))
            out["step"].append(time.perf_counter() - t0)
            expect(page.locator(".cc-network-caption")).to_contain_text(f"Step {i}:")
            out["picture"].append(time.perf_counter() - t0)
            out["server_cpu"].append(_cpu_seconds(proc.pid) - cpu0)
        page.get_by_text(re.compile(r"^Play interval")).first.scroll_into_view_if_needed()
        page.locator(".cc-play-button").click()
        expect(page.locator(".cc-play-button")).to_have_text("Pause")
        start_step = int(counter.inner_text().split()[1])
        t0 = time.perf_counter()
        page.wait_for_timeout(play_seconds * 1000)
        done = int(counter.inner_text().split()[1]) - start_step
        out["play"].append(done / (time.perf_counter() - t0))
        page.locator(".cc-play-button").click()
        browser.close()
    return out


def table(out: dict[str, list[float]]) -> str:
    """The measurements as a Markdown table."""
    rows = ["| measure | n | median | 90th percentile |", "|---|---|---|---|"]
    names = {"load": "page load (s)", "step": "Step click to new numbers (s)",
             "picture": "Step click to new network picture (s)",
             "server_cpu": "server CPU per Step click, numbers and pictures (s)", "play": "steps per second while playing"}
    for key, label in names.items():
        xs = out.get(key) or []
        if xs:
            rows.append(f"| {label} | {len(xs)} | {statistics.median(xs):.2f} | {_pct(xs, 0.9):.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clicks", type=int, default=20, help="Step clicks to time")
    ap.add_argument("--play", type=float, default=20.0, help="seconds of playing to time")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)", file=sys.stderr)
        return 2
    out = measure(args.clicks, args.play)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(table(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
