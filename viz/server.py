"""Start the Solara server for ``app.py`` with settings that work offline.

The page must load every script, style and font from the local server. With
``solara==1.58.2``, ``solara-assets==1.58.2`` and the Vue 2 front end
(``ipyvue==1.11.3``, ``ipyvuetify==1.11.3``) the assets are served from the
virtual environment's ``share/solara/cdn``. Three things would still reach
out to the internet and are switched off here:

- development mode pings a success URL: run with ``--production``;
- the server asks the package index for the newest version: ``--no-check-version``;
- telemetry: ``SOLARA_TELEMETRY_MIXPANEL_ENABLE=False``.

A session whose page went away without saying so (a killed browser, a dropped
connection) is kept until Solara's cull timeout, 24 h by default; here it is
``CULL_TIMEOUT`` unless ``SOLARA_KERNEL_CULL_TIMEOUT`` is set, so its model and
figures are freed soon after (the run page also stops playing at once). Each
session's threads would otherwise get their own malloc arenas, which keep freed
memory: ``MALLOC_ARENA_MAX`` caps them so the server shrinks back after sessions close.

The app draws with matplotlib only (no altair/vega), so no version-aliased
script names (``vega@5``) are requested.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["APP_PATH", "CULL_TIMEOUT", "server_command", "server_env", "start", "wait_until_ready", "serve"]

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"

#: Environment settings that keep the server from contacting anything but localhost.
OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "MPLBACKEND": "Agg",
}

#: How long a session without a connected page is kept (a reconnect within it resumes the session).
CULL_TIMEOUT = "60s"

#: Settings a caller's environment may override: memory, the page title before the app draws, no badge.
DEFAULT_ENV = {
    "SOLARA_KERNEL_CULL_TIMEOUT": CULL_TIMEOUT,
    "MALLOC_ARENA_MAX": "2",
    "SOLARA_THEME_TITLE": "clustercoop",
    # the "runs on Solara" badge is pinned over the bottom right of the page, i.e. over a chart
    "SOLARA_THEME_SHOW_BANNER": "False",
}


def server_command(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> list[str]:
    """The ``solara run`` command line for the app.

    Args:
        host: interface to bind; 127.0.0.1 unless all interfaces are wanted.
        port: TCP port.
        open_browser: open the default browser once the server is up.

    Returns:
        The argument list, starting with this Python interpreter.
    """
    return [
        sys.executable, "-m", "solara", "run", str(APP_PATH),
        "--host", host, "--port", str(port),
        "--production", "--no-check-version",
        "--open" if open_browser else "--no-open",
    ]


def server_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the server process.

    ``base`` (default ``os.environ``) plus the offline settings and, where
    ``base`` does not set them, the settings of ``DEFAULT_ENV``.
    """
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    for key, value in DEFAULT_ENV.items():
        env.setdefault(key, value)
    root = str(APP_PATH.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False,
          env: dict[str, str] | None = None, **popen_kwargs) -> subprocess.Popen:
    """Start the server in a child process and return it (not waiting for readiness).

    Args:
        env: base environment (default ``os.environ``), completed by :func:`server_env`.
    """
    return subprocess.Popen(
        server_command(host, port, open_browser), env=server_env(env), cwd=APP_PATH.parent, **popen_kwargs
    )


def wait_until_ready(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers HTTP 200.

    Raises:
        RuntimeError: if ``proc`` exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the Solara server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the Solara server did not answer at {url} within {timeout:.0f} s")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> int:
    """Run the app until interrupted (what ``python run.py viz`` calls).

    Args:
        host: interface to bind (default loopback only).
        port: TCP port.
        open_browser: open the default browser once the server is up.

    Returns:
        The server's exit status (0 after Ctrl-C).
    """
    print(f"clustercoop app on http://{host}:{port}/  (Ctrl-C to stop)", flush=True)
    proc = start(host, port, open_browser)
    try:
        signal.signal(signal.SIGTERM, _interrupt)  # stop the server too when this process is terminated
    except ValueError:  # not the main thread
        pass
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
