"""Scenario files: reading TOML with ``extends``, folders of scenarios, ``--set`` overrides and inline variants,
and writing a scenario as a file (:func:`scenario_toml`, the one writer of the app and the runner).

Nothing here knows the schema; :mod:`sim.scenario` validates what these helpers read.
All bad input raises :class:`ScenarioError` naming the file or the option.
"""

from __future__ import annotations

import difflib
import os
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
    "flatten_keys",
    "did_you_mean",
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
    "PATH_FIELDS",
    "scenario_values",
    "scenario_toml",
    "other_input_kind",
]


#: Deepest nesting of tables and arrays a file may hold (a timeline entry reaches six levels).
MAX_DEPTH = 16
#: Most entries in one array or table (a timeline of one event a step for a long run fits).
MAX_ITEMS = 100_000
#: Longest text value or key, in characters.
MAX_TEXT = 10_000
#: Largest file read, in bytes.
MAX_FILE_BYTES = 16 * 2**20
#: The project's shipped scenarios, named in a hint when a copied scenario's ``extends`` no longer finds one.
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"
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


def other_input_kind(path: str | Path) -> str | None:
    """The tool's other TOML input ``path`` is, by its content: ``"targets"`` (``[[target]]`` tables, for
    ``run.py calibrate``), ``"uncertainties"`` or ``"policies"`` (the files of ``run.py robust``); None for a
    scenario, and for a file that cannot be read (the scenario's message says why)."""
    try:
        data = read_toml(Path(path))
    except (OSError, ScenarioError):
        return None
    if "uncertainties" in data:
        return "uncertainties"
    if "policies" in data or "regret" in data:
        return "policies"
    return "targets" if isinstance(data.get("target"), list) else None


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


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the option closest to a mistyped ``word``, else ``""``."""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def flatten_keys(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` to ``{"a.b": 1}``: TOML reads an unquoted dotted key as nested tables."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_keys(v, key + "."))
        else:
            out[key] = v
    return out


def set_dotted(data: dict, key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            where = ".".join(parts[: i + 1])
            sections = sorted(k for k, v in node.items() if isinstance(v, dict))
            # a key written without its leading sections ("regulation.sanction") names the full path it ends
            longer = sorted(p for p in flatten_keys(node) if p.endswith("." + ".".join(parts[i:])))
            prefix = ".".join(parts[:i])
            if longer:
                hint = f" (did you mean {quote('.'.join(filter(None, (prefix, longer[0]))))}?)"
            else:
                hint = did_you_mean(part, sections) if part not in node else ""
            raise ScenarioError(f"{source}: {key}: {quote(where)} is not a section{hint}; "
                                f"sections here: {', '.join(sections)}")
        node = nxt
    if parts[-1] not in node:
        allowed = ", ".join(sorted(node))
        longer = sorted(p for p in flatten_keys(node) if p.endswith("." + parts[-1]))
        hint = (f" (did you mean {quote('.'.join(parts[:-1] + [longer[0]]))}?)" if longer
                else did_you_mean(parts[-1], node))
        raise ScenarioError(f"{source}: {key}: unknown key{hint}; allowed keys here: {allowed}")
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
        raise ScenarioError(f"{path}: file not found{similar_file(path)}")
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
    target = Path(os.path.normpath(path.parent / parent))
    if not target.exists():
        raise ScenarioError(extends_not_found(path, parent, target))
    base = read_toml_chain(target, (*seen, path))
    base.pop("name", None)
    base.pop("description", None)
    return _deep_merge(base, data)


def similar_file(path: Path) -> str:
    """`` (did you mean 'x.toml'?)`` naming a file of a close name beside ``path``, else ``""``."""
    try:
        names = [p.name for p in path.parent.iterdir() if p.suffix == path.suffix and p.is_file()]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=1)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def extends_not_found(path: Path, written: str, target: Path) -> str:
    """The message for an ``extends`` that names no file: the value as written, how it was resolved, and
    the shipped scenario of that name if there is one (named, never used in its place)."""
    msg = (f"{path}: extends = {quote(written)}: file not found; it is resolved relative to the scenario "
           f"file's folder, giving {target}{similar_file(target)}")
    shipped = sorted(SHIPPED.rglob(target.name)) if target.suffix == ".toml" else []
    if shipped and shipped[0].resolve() != target.resolve():
        rel = os.path.relpath(shipped[0], path.parent)
        msg += (f"; did you mean the shipped {shipped[0].relative_to(SHIPPED.parent).as_posix()}? "
                f"write its path (relative to {path.name}: {quote(rel)}, or absolute)")
    return msg


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
            raise ScenarioError(f"{p}: file not found{similar_file(p)}")
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
            hint = did_you_mean(part, node) if isinstance(node, dict) else ""
            raise ScenarioError(f"{source} {key}: unknown key{hint}; allowed keys under {where}: {allowed}")
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


# --------------------------------------------------------------------------- writing a scenario file

#: Fields naming files: read relative to the file that names them, so written relative to the written file.
PATH_FIELDS = ("structure.edge_list_path", "structure.edge_list_types_path", "data.folder", "data.firms",
               "data.trade", "data.organization", "uncertain.posterior")

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str, where: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:  # control characters TOML allows only escaped
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ScenarioError(f"{where}: {quote(text)}: holds a lone surrogate (U+{code:04X}), which a UTF-8 file "
                                "cannot hold")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: str, where: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key, where)


def _inline(value: Any, where: str) -> str:
    """``value`` as a TOML value on one line (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value, where)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, Mapping):
        items = [f"{_key(k, where)} = {_inline(v, f'{where}.{k}')}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise ScenarioError(f"{where}: {quote(value)} ({type(value).__name__}): cannot be written to a scenario file")


def _tables(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    """Append ``table`` at ``path``: its values, then its sub-tables, then its arrays of tables."""
    where = ".".join(path) or "<top level>"
    plain = {k: v for k, v in table.items() if v is not None and not isinstance(v, Mapping)
             and not (isinstance(v, list) and v and all(isinstance(e, Mapping) for e in v))}
    subs = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    arrays = {k: v for k, v in table.items() if k not in plain and k not in subs and v is not None}
    if path and (plain or not (subs or arrays)):
        lines += ["", "[" + ".".join(_key(p, where) for p in path) + "]"]
    lines += [f"{_key(k, where)} = {_inline(v, '.'.join((*path, k)))}" for k, v in plain.items()]
    for k, v in subs.items():
        _tables(lines, (*path, k), v)
    for k, entries in arrays.items():
        header = "[[" + ".".join(_key(p, where) for p in (*path, k)) + "]]"
        for i, entry in enumerate(entries):
            lines += ["", header]
            lines += [f"{_key(ek, where)} = {_inline(ev, f'{k}[{i}].{ek}')}" for ek, ev in entry.items()
                      if ev is not None]


def _relative(path: str, folder: Path | None) -> str:
    """A file's path as the scenario file in ``folder`` names it: relative where one reaches it, else absolute."""
    p = Path(path)
    if not p.is_absolute():
        p = p.resolve()
    if folder is None:
        return str(p)
    try:
        return Path(os.path.relpath(p, Path(folder).resolve())).as_posix()
    except ValueError:  # another drive: only the absolute path reaches it
        return str(p)


def scenario_values(scenario: Scenario, changed_only: bool = True) -> dict[str, Any]:
    """The scenario's sections as nested tables, each value as the schema holds it.

    Args:
        scenario: a validated scenario.
        changed_only: keep only the values that differ from the schema's defaults (and ``name``).
    """
    default = type(scenario)().model_dump()

    def walk(model: Any, dump: dict, dflt: dict | None) -> dict:
        out = {}
        for name, value in dump.items():
            sub = getattr(model, name, None)
            if hasattr(type(sub), "model_fields"):  # a section of the schema: its own table
                inner = walk(sub, value, (dflt or {}).get(name))
                if inner or not changed_only:
                    out[name] = inner
            elif not changed_only or dflt is None or name not in dflt or dflt[name] != value or name == "name":
                out[name] = value
        return out

    return walk(scenario, scenario.model_dump(), default)


def scenario_toml(scenario: Scenario, folder: str | Path | None = None, comment: str = "") -> str:
    """The text of a scenario file holding ``scenario``, written to stand alone (no ``extends``).

    Every value that differs from the schema's defaults is written, sections as tables and the
    timeline as ``[[policy]]`` entries. Files the scenario names (:data:`PATH_FIELDS`) are written
    relative to ``folder``, the folder the file will be saved in, or absolute when that is not
    known (None) or no relative path reaches them. The text is read back and validated before it
    is returned, so loading it (:func:`sim.scenario.load_scenario`) gives ``scenario`` again.

    Args:
        scenario: a validated scenario (its file paths absolute, as ``load_scenario`` leaves them).
        folder: where the file will be saved.
        comment: lines put at the top as TOML comments.

    Raises:
        ScenarioError: a value TOML cannot hold, or a scenario that does not read back as itself.
    """
    from .scenario import scenario_from_dict

    folder = Path(folder) if folder is not None else None
    data = scenario_values(scenario)
    for key in PATH_FIELDS:
        section, _, name = key.partition(".")
        value = data.get(section, {}).get(name)
        if isinstance(value, str) and value:
            data[section][name] = _relative(value, folder)
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    _tables(lines, (), data)
    text = "\n".join(lines).lstrip("\n") + "\n"
    # read back as a file in ``folder`` is read: the paths relative to it
    back = _loads(text, "<scenario written>")
    for key in PATH_FIELDS:
        section, _, name = key.partition(".")
        value = back.get(section, {}).get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            back[section][name] = str(((folder or Path.cwd()) / value).resolve())
    again = scenario_from_dict(back, "<scenario written>")
    if again.model_dump() != scenario.model_dump():
        diff = sorted(k for k, v in again.model_dump().items() if scenario.model_dump().get(k) != v)
        raise ScenarioError(f"scenario {quote(scenario.name)}: does not read back as itself (sections {diff}); "
                            "it cannot be written as a file")
    return text
