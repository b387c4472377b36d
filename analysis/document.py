"""A small document model: blocks written once, rendered as self-contained HTML and as Markdown.

The reports of ``analysis`` are built with :class:`Document`: headings, paragraphs,
bullets, tables (cells may carry a class that colours them), figures embedded as
base64 PNG, and a table of contents. With ``fold`` on, every section after the
first opens with a click on its title (an HTML ``<details>``), so the answer
stays on the first screen.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import figures

__all__ = ["Document", "num", "cell", "file_stem", "CSS"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{border-bottom:2px solid #444;font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.2em;font-size:1.3em}
summary h2{display:inline-block;border:none;margin:0.6em 0 0.2em}summary{cursor:pointer}
details{border-bottom:1px solid #ddd}.wide{overflow-x:auto}
table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}
table.answer{font-size:0.7em}table.answer th{font-weight:600;max-width:6em;white-space:normal;padding:2px 2px;
text-align:center}table.answer td{white-space:nowrap;padding:2px 3px}td.left{text-align:left}
td.better{background:#d4edda}td.worse{background:#f5d0cb}td.same{background:#f4f4f4;color:#555}
td.reference{font-weight:600}td.cost{background:#e8f0fa}
img{max-width:100%;border:1px solid #eee}.caption{font-size:0.85em;color:#555;margin-bottom:1.5em}
nav.toc{background:#f7f7f7;border:1px solid #ddd;padding:0.4em 1em;margin:1em 0}nav.toc ol{columns:3;margin:0.3em 0}
li{margin:0.2em 0}.better{color:#1e7b3a}.worse{color:#b03a2e}.unsure{color:#666}
"""

def file_stem(name: str) -> str:
    """``name`` as a file name safe on every system and in a Markdown link.

    Letters, digits, ``.``, ``_`` and ``-`` stay; any other run of characters (an inline variant's
    ``@`` and ``=``, spaces, slashes) becomes ``_``, and a short hash of the original keeps two
    names apart that would otherwise map to one file.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "figure"
    if stem == name:
        return name
    return f"{stem[:80]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _slug(text: str) -> str:
    """A GitHub-style heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    return "".join(c for c in text.lower() if c.isalnum() or c in " -_").replace(" ", "-")


@dataclass
class Document:
    """Blocks rendered to both HTML and Markdown; in HTML a folded section is a ``<details>``.

    Attributes:
        title: the page title.
        figdir: where :meth:`figure` writes PNG and SVG files.
        fold: sections fold by default (each :meth:`h2` can say otherwise).
    """

    title: str
    figdir: Path
    fold: bool = False
    html: list[str] = field(default_factory=list)
    md: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    _open: str | None = None
    _toc_at: int | None = None

    def _close(self) -> None:
        if self._open:
            self.html.append(f"</{self._open}>")
        self._open = None

    def h2(self, text: str, fold: bool | None = None, opened: bool = False) -> None:
        """Start a section; ``fold`` (default: the document's) puts it in a block closed unless ``opened``."""
        fold = self.fold if fold is None else fold
        self._close()
        self.sections.append(text)
        tag = "details" if fold else "section"
        self._open = tag
        head = f"<h2>{html.escape(text)}</h2>"
        attrs = f'id="{_slug(text)}"' + (" open" if fold and opened else "")
        self.html.append(f"<{tag} {attrs}>" + (f"<summary>{head}</summary>" if fold else head))
        self.md.append(f"## {text}\n")

    def toc(self) -> None:
        """A table of contents of the sections that follow (filled in when rendered)."""
        self._close()
        self._toc_at = len(self.sections)
        self.html.append("\x00toc")
        self.md.append("\x00toc")

    def h3(self, text: str) -> None:
        self.html.append(f"<h3>{html.escape(text)}</h3>")
        self.md.append(f"### {text}\n")

    def p(self, text: str) -> None:
        self.html.append(f"<p>{html.escape(text)}</p>")
        self.md.append(f"{text}\n")

    def bullets(self, items: Sequence[tuple[str, str]]) -> None:
        """Items as ``(css class, text)``."""
        self.html.append("<ul>" + "".join(f'<li class="{c}">{html.escape(t)}</li>' for c, t in items) + "</ul>")
        self.md.append("\n".join(f"- {t}" for _, t in items) + "\n")

    def table(self, frame: pd.DataFrame) -> None:
        rows = [[(cell(v), "") for v in row] for row in frame.itertuples(index=False)]
        self.cells([str(c) for c in frame.columns], rows)

    def cells(self, columns: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]], css: str = "") -> None:
        """A table whose cells are ``(text, css class)``: the class colours the cell in HTML."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f'<td class="{c}">{html.escape(t)}</td>' if c else f"<td>{html.escape(t)}</td>"
                                        for t, c in row) + "</tr>" for row in rows)
        cls = f' class="{css}"' if css else ""
        self.html.append(f'<div class="wide"><table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
                         "</table></div>")
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(t.replace("|", "/") for t, _ in row) + " |" for row in rows]
        self.md.append("\n".join(lines) + "\n")

    def figure(self, fig, name: str, caption: str) -> None:
        """Save ``fig`` as ``figures/<name>.png`` and ``.svg`` (``name`` made safe by :func:`file_stem`), embed it."""
        name = file_stem(name)
        _, png = figures.save(fig, self.figdir, name)
        data = base64.b64encode(png).decode("ascii")
        self.html.append(f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                         f'<div class="caption">{html.escape(caption)} (also figures/{name}.svg)</div>')
        self.md.append(f"![{_md_text(caption)}](figures/{name}.png)\n\n*{_md_text(caption)}*\n")

    def _toc(self, markdown: bool) -> str:
        titles = self.sections[self._toc_at or 0:]
        if markdown:
            return "**Contents:** " + " · ".join(f"[{t}](#{_slug(t)})" for t in titles) + "\n"
        links = "".join(f'<li><a href="#{_slug(t)}">{html.escape(t)}</a></li>' for t in titles)
        return f'<nav class="toc"><b>Contents</b> (each section opens with a click on its title)<ol>{links}</ol></nav>'

    def render_html(self) -> str:
        self._close()
        body = "\n".join(self._toc(False) if b == "\x00toc" else b for b in self.html)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>\n" + body + "\n</body></html>\n")

    def render_md(self) -> str:
        return f"# {self.title}\n\n" + "\n".join(self._toc(True) if b == "\x00toc" else b for b in self.md)

    def write(self, out: Path, stem: str, tables: Mapping[str, pd.DataFrame] | None = None) -> Path:
        """Write ``out/<stem>.md``, ``out/<stem>.html`` and each table as ``out/<name>.csv``.

        Returns:
            The path of the HTML file.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in (tables or {}).items():
            frame.to_csv(out / f"{name}.csv", index=False)
        (out / f"{stem}.md").write_text(self.render_md(), encoding="utf-8")
        path = out / f"{stem}.html"
        path.write_text(self.render_html(), encoding="utf-8")
        return path


def _md_text(text: str) -> str:
    """Text safe inside a Markdown link's brackets and emphasis: brackets and asterisks escaped."""
    return re.sub(r"([\[\]*])", r"\\\1", text)


def num(x: float) -> str:
    """A number for a reader: three decimals, one above 10, three significant digits when very large or small."""
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax != 0 and (ax >= 1e5 or ax < 1e-3):
        return f"{x:.3g}"
    return f"{x:.3f}" if ax < 10 else f"{x:.1f}"


def cell(v) -> str:
    """A table cell's text: yes/no, a number by :func:`num`, else ``str``."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return num(float(v))
    return str(v)
