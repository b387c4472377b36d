"""The headless Chromium that the screenshots, the app benchmark and the browser test drive: where it is, how it
starts, the app server it talks to, and how it picks from one of the page's drop-down lists."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CHROMIUM", "ARGS", "free_port", "running_app", "launch", "pick", "pick_firm", "flip_switch"]

#: Debian's chromium, which .ci/run installs.
CHROMIUM = Path("/usr/bin/chromium")
#: Offline, no sandbox (containers), nothing fetched in the background.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(env: dict[str, str] | None = None, timeout: float = 120.0,
                **popen_kwargs) -> Iterator[tuple[str, subprocess.Popen]]:
    """The app server started as ``run.py viz`` starts it, on a free loopback port; stopped on leaving.

    Args:
        env: base environment of the server (default this process's), completed by ``viz.server.server_env``.
        timeout: seconds to wait for the first answer.
        popen_kwargs: passed to ``subprocess.Popen`` (e.g. where its output goes).

    Yields:
        ``(url, process)``.
    """
    from viz import server

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = server.start("127.0.0.1", port, env=env, **popen_kwargs)
    try:
        server.wait_until_ready(url, timeout=timeout, proc=proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch(pw):
    """Headless Debian Chromium through a Playwright instance (``sync_playwright()``)."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


def pick(page, label: str, option: str) -> None:
    """Choose ``option`` in the page's Vuetify select labelled ``label``."""
    page.locator(".v-select").filter(has_text=label).first.click()
    menu = page.locator(".v-menu__content.menuable__content__active")
    item = menu.locator(".v-list-item").filter(has_text=re.compile(rf"^\s*{re.escape(option)}\s*$"))
    for _ in range(20):  # Vuetify adds a long list's items as the menu scrolls
        if item.count():
            break
        menu.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        page.wait_for_timeout(300)
    item.first.click()


def pick_firm(page, index: int) -> str:
    """Pick the ``index``-th firm in the run page's "Find a firm by name" list; returns the name picked."""
    by_name = page.locator(".v-select").filter(has_text="Find a firm by name")
    by_name.first.click()
    options = page.locator(".v-menu__content.menuable__content__active .v-list-item")
    name = options.nth(index).inner_text().strip()
    options.nth(index).click()
    return name


def flip_switch(page, group: str, label: str) -> None:
    """Open the sidebar group ``group`` if it is closed and flip its switch ``label``; returns once the switch
    shows its new state.

    The switch's own track is clicked like a user would, after the group has finished opening: a forced click on
    the hidden ``<input>`` while the group still slides open can land on the group's header and close it instead.
    """
    from playwright.sync_api import expect

    switch = page.locator(".v-input--switch").filter(has_text=label).first
    if not switch.is_visible():
        page.locator(".v-expansion-panel-header").filter(has_text=re.compile(rf"^\s*{re.escape(group)}\s*$")).click()
    expect(switch).to_be_visible()
    box = switch.locator("input[role=switch]")
    before = box.get_attribute("aria-checked")
    switch.locator(".v-input--selection-controls__input").click()
    expect(box).not_to_have_attribute("aria-checked", before or "")
