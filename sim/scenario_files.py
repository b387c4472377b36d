"""Scenario files: reading TOML with ``extends``, folders of scenarios, ``--set`` overrides and inline variants.

Nothing here knows the schema; :mod:`sim.scenario` validates what these helpers read.
All bad input raises :class:`ScenarioError` naming the file or the option.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ScenarioError
from .uncertainty import resolve_posterior_path

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = [
    "VARIANT_SEP",
    "parse_value",
    "parse_overrides",
    "set_dotted",
    "read_toml_chain",
    "scenario_files",
    "split_variant",
    "check_key",
    "scenario_chain",
]


def parse_value(text: str) -> Any:
    """Parse a command-line value as TOML (numbers, booleans, quoted strings), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_dotted(data: dict, key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            where = ".".join(parts[: i + 1])
            allowed = ", ".join(sorted(k for k, v in node.items() if isinstance(v, dict)))
            raise ScenarioError(f"{source}: {key}: {where!r} is not a section; sections here: {allowed}")
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
    if path.is_dir():
        where = f"{seen[-1]}: extends: " if seen else ""
        raise ScenarioError(f"{where}{path}: is a folder, not a scenario file; give a .toml file "
                            "(validate and compare also take folders)")
    if not path.is_file():
        if seen:
            raise ScenarioError(f"{seen[-1]}: extends: file not found: {path}")
        raise ScenarioError(f"{path}: file not found")
    try:
        # utf-8-sig: a byte-order mark, which some editors write, is not part of the TOML
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a UTF-8 text file: {exc}") from None
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
        raise ScenarioError(f"{path}: extends: must be a file name string (got {parent!r})")
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
            raise ScenarioError(f"{source} {item!r}: expected dotted.key=value, e.g. structure.kind=star")
        if key in out:
            raise ScenarioError(f"{source} {key}: given twice")
        out[key] = parse_value(text.strip())
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
