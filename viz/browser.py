"""The headless Chromium the screenshots and the app benchmark drive: where it is, how it starts, a free port."""

from __future__ import annotations

import socket
from pathlib import Path

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
