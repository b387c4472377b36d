"""Pieces every page of the app uses: the session a render belongs to, drawing in the background, tables.

No page logic here: the pages are :mod:`viz.run_page`, :mod:`viz.compare_page` and :mod:`viz.results_page`.
"""

from __future__ import annotations

import html
import threading
from typing import Any, Callable

import pandas as pd
import solara

__all__ = ["kernel_context", "page_is_open", "use_drawn", "placeholder", "table_html", "fmt_num"]


def kernel_context():
    """The Solara session this render belongs to, or None outside a server (e.g. a test render)."""
    from solara.server import kernel_context

    return kernel_context.get_current_context() if kernel_context.has_current_context() else None


def page_is_open(context) -> bool:
    """Whether a browser page still shows this session.

    A tab closed without its unload beacon (a killed browser, a dropped
    connection, a discarded tab) only disconnects its websocket; Solara keeps the
    session until its cull timeout, so the play loop asks this before every frame.

    Args:
        context: the session's ``VirtualKernelContext``, or None outside a server (counts as open).
    """
    if context is None:
        return True
    if context.closed_event.is_set():
        return False
    from solara.server.kernel_context import PageStatus

    statuses = list(context.page_status.values())
    # no page ever connected: rendered without a browser, nothing to wait for
    return not statuses or PageStatus.CONNECTED in statuses


def use_drawn(make: Callable[[], Any], dependencies: list, run: Any = None) -> Any:
    """Draw in a background thread: the newest finished drawing, None until the first.

    The page's step counter and KPIs answer at once; a picture follows when it is
    drawn. One drawing at a time per panel: a request made while one is drawn waits,
    and is dropped if a newer one came meanwhile or nobody watches the page any more,
    so drawings never pile up on a busy machine. ``run.busy`` counts drawings under way.
    """
    result = solara.use_reactive(None)
    lock = solara.use_memo(threading.Lock, [])
    context = solara.use_memo(kernel_context, [])

    def work(cancel):
        with lock:
            if cancel.is_set() or not page_is_open(context):
                return
            if run is not None:
                run.busy += 1
            try:
                out = make()
            finally:
                if run is not None:
                    run.busy -= 1
        if not cancel.is_set():
            result.set(out)

    solara.use_thread(work, dependencies=dependencies, intrusive_cancel=False)
    return result.value


def placeholder(text: str) -> None:
    """A grey line holding the place of a picture still being drawn."""
    solara.Text(text, classes=["cc-drawing"], style={"display": "block", "min-height": "300px", "color": "#777"})


def table_html(df: pd.DataFrame, cls: str, max_rows: int = 200) -> str:
    """A frame as a compact HTML table (numbers to 4 significant digits)."""
    shown = df.head(max_rows)
    fmt = {c: (lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))) for c in shown.columns}
    body = shown.to_html(index=False, classes=cls, border=0, formatters=fmt, escape=False)
    more = f"<p style='font-size:12px;color:#555'>first {max_rows} of {len(df)} rows</p>" if len(df) > max_rows else ""
    style = (f"<style>.{cls} td,.{cls} th{{padding:2px 8px;font-size:12px;text-align:right}}"
             f".{cls} td:first-child,.{cls} th:first-child{{text-align:left}}</style>")
    return style + body + more



def fmt_num(x: float) -> str:
    """A number as the tables show it: 3 decimals below 10, 1 above, 3 significant digits when tiny or huge."""
    if x != x:  # NaN
        return "n/a"
    ax = abs(x)
    return f"{x:.3g}" if ax and (ax >= 1e4 or ax < 1e-3) else (f"{x:.3f}" if ax < 10 else f"{x:.1f}")

