"""Scenario files: reading TOML with ``extends``, folders of scenarios, ``--set`` overrides and inline variants.

Nothing here knows the schema; :mod:`sim.scenario` validates what these helpers read.
All bad input raises :class:`ScenarioError` naming the file or the option.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ScenarioError, quote
from .uncertainty import resolve_posterior_path

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = [
    "VARIANT_SEP",
    "parse_value",
    "parse_overrides",
    "set_dotted",
    "read_toml_chain",
    "read_toml",
    "check_limits",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_TEXT",
    "MAX_FILE_BYTES",
    "scenario_files",
    "split_variant",
    "check_key",
    "scenario_chain",
]


#: Deepest nesting of tables and arrays a file may hold (a timeline entry reaches six levels).
MAX_DEPTH = 16
#: Most entries in one array or table (a timeline of one event a step for a long run fits).
MAX_ITEMS = 100_000
#: Longest text value or key, in characters.
MAX_TEXT = 10_000
#: Largest file read, in bytes.
MAX_FILE_BYTES = 16 * 2**20
#: Most files in one ``extends`` chain.
MAX_EXTENDS = 32

# strings and comments (whose brackets do not nest) and brackets, in the order TOML reads them
_TOKENS = re.compile(r'''"""(?:\\.|[^\\])*?"""|\'\'\'.*?\'\'\'|"(?:\\.|[^"\\\n])*"|'[^'\n]*'|#[^\n]*|[\[\]{}]''', re.S)
#: Python refuses to read an integer of more digits than this.
_MAX_DIGITS = 4300


def _line_key(text: str, pos: int) -> str:
    """``line N: key`` of the line holding character ``pos`` of TOML ``text``."""
    line = text.count("\n", 0, pos) + 1
    row = text[text.rfind("\n", 0, pos) + 1:].split("\n", 1)[0]
    key = row.partition("=")[0].strip() if "=" in row else row.strip()
    return f"line {line}: {quote(key)}"


def _too_deep(text: str) -> int | None:
    """Where arrays and inline tables first nest deeper than :data:`MAX_DEPTH` (a character index), or None.

    Counted before parsing because the TOML parser recurses once per level (thousands of levels
    overflow Python's stack).
    """
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif tok in ("]", "}"):
            depth = max(0, depth - 1)
    return None


def _where(path: Sequence[str | int]) -> str:
    """A key path as written in TOML (``policy[0].set``), cut to its first levels when long."""
    parts = [f"[{p}]" if isinstance(p, int) else f".{quote(p)[1:-1] if len(p) > 40 else p}" for p in path]
    if len(parts) > 8:
        parts = [*parts[:6], f"... ({len(parts)} levels)"]
    return "".join(parts).lstrip(".")


def _at(source: str, path: Sequence[str | int]) -> str:
    return f"{source}: {_where(path)}" if path else source


def check_limits(data: Any, source: str) -> None:
    """Refuse a value nested deeper than :data:`MAX_DEPTH`, or with a text or collection above its size limit.

    Walks without recursion, so any depth is reported, not overflowed.

    Raises:
        ScenarioError: naming ``source``, the key path, a short prefix of the value and the limit.
    """
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ScenarioError(f"{_at(source, path)}: {quote(value)}: a text longer than allowed "
                                    f"(at most {MAX_TEXT:,} characters)")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if len(path) >= MAX_DEPTH:
            raise ScenarioError(f"{_at(source, path)}: nested deeper than allowed (at most {MAX_DEPTH} levels "
                                "of tables and arrays)")
        if len(value) > MAX_ITEMS:
            raise ScenarioError(f"{_at(source, path)}: {quote(value)}: more entries than allowed "
                                f"(at most {MAX_ITEMS:,})")
        if isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_TEXT:
                    raise ScenarioError(f"{_at(source, path)}: key {quote(key)}: longer than allowed "
                                        f"(at most {MAX_TEXT:,} characters)")
                stack.append(((*path, key), item))
        else:
            stack.extend(((*path, i), item) for i, item in enumerate(value))


def _loads(text: str, source: str, located: bool = True) -> dict:
    """Parse TOML text within the limits; ``located``: a file, whose messages name the line and key.

    A value (not ``located``) is parsed as ``v = VALUE``; its sizes are the caller's to check.

    Raises:
        ScenarioError: too deep or too large, naming ``source``.
        tomllib.TOMLDecodeError: malformed (the caller says what the text was).
    """
    deep = _too_deep(text)
    if deep is not None:
        where = f"{source}: {_line_key(text, deep)}" if located else source
        raise ScenarioError(f"{where}: arrays or inline tables nested deeper than allowed (at most {MAX_DEPTH} "
                            "levels of tables and arrays)")
    try:
        data = tomllib.loads(text)
    except RecursionError:  # a nesting the count above missed (it cannot see into malformed strings)
        raise ScenarioError(f"{source}: nested too deeply to read (at most {MAX_DEPTH} levels)") from None
    except tomllib.TOMLDecodeError:  # a ValueError too, but the caller's to word
        raise
    except ValueError:  # Python's cap on the digits of an integer
        m = re.search(r"\d{%d,}" % (_MAX_DIGITS + 1), text)
        where = f"{source}: {_line_key(text, m.start())}" if located and m else source
        raise ScenarioError(f"{where}: a number of more than {_MAX_DIGITS:,} digits; allowed: the range the "
                            "field states") from None
    if located:
        check_limits(data, source)
    return data


def read_toml(path: Path, what: str = "scenario") -> dict:
    """Read one TOML file within the limits (depth, sizes); a byte-order mark is ignored.

    Raises:
        ScenarioError: missing, too large, not UTF-8, malformed, too deep, or a value too large.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: {what} file not found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: {size:,} bytes; a {what} file may have at most {MAX_FILE_BYTES:,}")
    try:
        # utf-8-sig: a byte-order mark, which some editors write, is not part of the TOML
        return _loads(path.read_text(encoding="utf-8-sig"), str(path))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a UTF-8 text file: {exc}") from None


def parse_value(text: str, source: str = "--set") -> Any:
    """Parse a command-line value as TOML (numbers, booleans, quoted strings), else a bare string.

    Raises:
        ScenarioError: the value is nested too deeply or too large (naming ``source``).
    """
    try:
        value = _loads(f"v = {text}", source, located=False)["v"]
    except tomllib.TOMLDecodeError:
        value = text
    check_limits(value, source)
    return value


def set_dotted(data: dict, key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            where = ".".join(parts[: i + 1])
            allowed = ", ".join(sorted(k for k, v in node.items() if isinstance(v, dict)))
            raise ScenarioError(f"{source}: {key}: {quote(where)} is not a section; sections here: {allowed}")
        node = nxt
    if parts[-1] not in node:
        allowed = ", ".join(sorted(node))
        raise ScenarioError(f"{source}: {key}: unknown key; allowed keys here: {allowed}")
    node[parts[-1]] = value


def _deep_merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def read_toml_chain(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """Read a TOML file and everything it ``extends``, merged; the file itself wins."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(f"{seen[-1]}: extends: cycle in extends: {chain}")
    if len(seen) >= MAX_EXTENDS:
        raise ScenarioError(f"{seen[0]}: extends: a chain of more than {MAX_EXTENDS} files")
    if path.is_dir():
        where = f"{seen[-1]}: extends: " if seen else ""
        raise ScenarioError(f"{where}{path}: is a folder, not a scenario file; give a .toml file "
                            "(validate and compare also take folders)")
    if not path.is_file():
        if seen:
            raise ScenarioError(f"{seen[-1]}: extends: file not found: {path}")
        raise ScenarioError(f"{path}: file not found")
    data = read_toml(path)
    section = data.get("data")
    if isinstance(section, dict):  # a data cluster's files are relative to the file that names them
        for key in ("folder", "firms", "trade", "organization"):
            if isinstance(section.get(key), str) and section[key] and not Path(section[key]).is_absolute():
                section[key] = str((path.parent / section[key]).resolve())
    resolve_posterior_path(data, path.parent)  # a posterior file is named relative to the file naming it
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: must be a file name string (got {quote(parent)})")
    base = read_toml_chain(path.parent / parent, (*seen, path))
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, data)


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """Scenario files named by ``paths``: files as given, folders searched for ``*.toml``.

    Raises:
        ScenarioError: a path does not exist or a folder holds no TOML file.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.rglob("*.toml"))
            if not found:
                raise ScenarioError(f"{p}: no scenario files (*.toml) in this folder")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: file not found")
    return files


def parse_overrides(items: Sequence[str] | None, source: str = "--set") -> dict[str, Any]:
    """Parse ``dotted.key=value`` strings (values typed as TOML) into a dict.

    Raises:
        ScenarioError: an item without ``=`` or a key given twice.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"{source} {quote(item)}: expected dotted.key=value, e.g. structure.kind=star")
        if key in out:
            raise ScenarioError(f"{source} {key}: given twice")
        out[key] = parse_value(text.strip(), f"{source} {quote(key)[1:-1]}")
    return out


#: Joins a scenario file and its inline overrides in a ``compare`` arm: ``FILE@key=value@key=value``.
VARIANT_SEP = "@"


def split_variant(arm: str | Path) -> tuple[Path, list[str]]:
    """Split a compare arm ``FILE@key=value@...`` into the file and its ``key=value`` items.

    A path that exists is taken whole (no items), so a file name holding ``@`` still works.
    """
    text = str(arm)
    if Path(text).exists() or VARIANT_SEP not in text:
        return Path(text), []
    file, *items = text.split(VARIANT_SEP)
    return Path(file), items


def check_key(base: Scenario, key: str, source: str) -> Any:
    """The current value at dotted ``key``.

    Raises:
        ScenarioError: no such key (listing the allowed ones), or a section instead of a value.
    """
    node: Any = base.model_dump()
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:i]) or "<top level>"
            allowed = ", ".join(sorted(node)) if isinstance(node, dict) else "(none: not a section)"
            raise ScenarioError(f"{source} {key}: unknown key; allowed keys under {where}: {allowed}")
        node = node[part]
    if isinstance(node, dict):
        raise ScenarioError(f"{source} {key}: is a section, not a value; give one of its keys, "
                            f"e.g. {key}.{next(iter(node))}")
    return node


def scenario_chain(path: Path) -> list[Path]:
    """The file and every file it ``extends``, nearest first (after a successful load)."""
    chain, seen = [], set()
    path = Path(path)
    while path.resolve() not in seen and path.is_file():
        seen.add(path.resolve())
        chain.append(path)
        parent = tomllib.loads(path.read_text(encoding="utf-8-sig")).get("extends")
        if not isinstance(parent, str):
            break
        path = path.parent / parent
    return chain
