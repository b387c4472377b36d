"""A real cluster's data files, read and checked: firms, trade links, the marketing organization, survey answers.

:func:`read_cluster` reads the files a scenario's ``[data]`` section names, checks them completely and returns a
:class:`ClusterData` in the model's terms; every problem is reported at once as
``file: row R, column C: what is wrong`` (rows as a spreadsheet counts them: the header is row 1). What the
scenario and the model make of it is :mod:`sim.data`.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ScenarioError
from .state import ENTERPRISE, LEADING

__all__ = ["ClusterData", "read_cluster", "data_files", "shown", "FIRM_COLUMNS", "SURVEY_INITIAL", "SURVEY_OBSERVED",
           "Problems", "read_table", "read_links", "unique_ids", "raise_problems"]

#: Survey constructs that set a firm's state at the start, and what they set.
SURVEY_INITIAL = {
    "trust": "trust in each partner at the start (and the firm's mean trust)",
    "commitment": "commitment to the cluster and to partners",
    "shared_values": "distance of the firm's values profile from the neutral culture: values 0.5 ± (1 − s)/2",
    "communication": "communication heard on each of its links",
    "opportunism": "opportunism seen in each partner",
    "cooperativeness": "disposition to cooperate",
}
#: Survey constructs the model computes every step: read and kept (``model.survey``) to compare with, never set.
SURVEY_OBSERVED = ("termination_costs", "relationship_benefits", "acquiescence", "propensity_to_leave",
                   "cooperation", "functional_conflict", "decision_uncertainty")

#: Columns of firms.csv; ``id`` and ``product_group`` are required.
FIRM_COLUMNS = ("id", "name", "kind", "capacity", "employees", "product_group", "association", "energy_intensity",
                *SURVEY_INITIAL, *SURVEY_OBSERVED)
TRADE_COLUMNS = ("supplier", "buyer", "volume", "contract")
ORG_COLUMNS = ("coordinator", "member")
#: Columns whose name starts with this are the analyst's own notes, read and ignored.
NOTE_PREFIX = "x_"

KIND_WORDS = {"enterprise": ENTERPRISE, "sme": ENTERPRISE, "leading_firm": LEADING, "leading firm": LEADING,
              "leading": LEADING}
TRUE_WORDS, FALSE_WORDS = {"1", "yes", "true", "y"}, {"0", "no", "false", "n", ""}
#: Problems listed before the rest are counted.
MAX_PROBLEMS = 25


def data_files(data) -> dict[str, str | None]:
    """The three files a ``DataParams`` names: each explicit key, else the file of that name in ``folder``.

    ``firms.csv`` must exist; ``trade.csv`` and ``organization.csv`` are optional inside a folder.
    """
    folder = Path(data.folder) if data.folder else None
    out: dict[str, str | None] = {}
    for key in ("firms", "trade", "organization"):
        given = getattr(data, key)
        if given:
            out[key] = given
        elif folder is not None and (key == "firms" or (folder / f"{key}.csv").is_file()):
            out[key] = str(folder / f"{key}.csv")
        else:
            out[key] = None
    return out


def shown(path: str | None) -> str:
    """A path as a message shows it: relative to the working folder when inside it."""
    if not path:
        return ""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class Problems:
    """Problems of one file, each ``file: row R, column C: message`` (``file: field: row R, ...`` when the
    scenario field naming the file is given)."""

    def __init__(self, path: str, field: str | None = None):
        self.path, self.items = shown(path) + (f": {field}" if field else ""), []

    def add(self, msg: str, row: int | None = None, column: str | None = None) -> None:
        where = ", ".join(x for x in (f"row {row}" if row is not None else "",
                                      f"column {column}" if column is not None else "") if x)
        self.items.append(f"{self.path}: {where}: {msg}" if where else f"{self.path}: {msg}")


def read_table(path: str, required: tuple[str, ...], allowed: tuple[str, ...], probs: Problems) -> pd.DataFrame | None:
    """The CSV as text cells (blank cells are ''), after checking its header; None if it cannot be read."""
    p = Path(path)
    if not p.is_file():
        probs.add("file not found" if not p.is_dir() else "is a folder, not a CSV file")
        return None
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            # the csv module, not pandas: a row with extra cells is one problem among the others, not an abort
            records = list(csv.reader(fh, skipinitialspace=True))
    except UnicodeDecodeError as exc:
        probs.add(f"not a UTF-8 text file ({exc.reason} at byte {exc.start}); save it as CSV UTF-8")
        return None
    except csv.Error as exc:
        probs.add(f"cannot read as CSV: {exc}")
        return None
    header = records[0] if records else None
    if not header or not any(h.strip() for h in header):
        probs.add(f"empty file; the first row must name the columns: {', '.join(required)} (required)")
        return None
    header = [h.strip() for h in header]
    if _semicolons(header, allowed):
        probs.add("the cells are separated by semicolons (a spreadsheet's CSV export where the decimal sign is a "
                  "comma); save the sheet as 'CSV UTF-8 (comma delimited)', with a point as the decimal sign", 1)
        return None
    ok = True
    seen: set[str] = set()
    for j, h in enumerate(header, start=1):
        if not h:
            probs.add(f"column {j} has no name in the header (row 1)", 1)
            ok = False
        elif h in seen:
            probs.add(f"column {h!r} appears twice in the header", 1, h)
            ok = False
        elif h not in allowed and not h.startswith(NOTE_PREFIX):
            close = difflib.get_close_matches(h.lower(), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            probs.add(f"unknown column; {hint}allowed: {', '.join(allowed)} (and your own notes as "
                      f"{NOTE_PREFIX}...)", 1, h)
            ok = False
        seen.add(h)
    missing = [c for c in required if c not in seen]
    if missing:
        probs.add(f"missing required column(s) {', '.join(missing)}; the header (row 1) is: {', '.join(header)}")
        ok = False
    if not ok:
        return None
    width = len(header)
    cells = []
    for row, rec in enumerate(records[1:], start=2):  # the spreadsheet's row numbers: the header is row 1
        rec = [c.strip() for c in rec]
        extra = [(j, c) for j, c in enumerate(rec[width:], start=width + 1) if c]
        if extra:
            j, c = extra[0]
            probs.add(f"{len(extra)} cell(s) beyond the header's {width} columns, the first {c[:40]!r}; a comma "
                      "inside a cell needs the cell in double quotes", row, str(j))
        if len(rec) < width and any(rec):  # a blank line has no cells; a row cut short lost its end's commas
            lost = header[len(rec):]
            probs.add(f"{len(rec)} cell(s) where the header has {width}: no cell for column(s) {', '.join(lost)}; "
                      "give every column its cell, an empty one as nothing between two commas", row, lost[0])
        cells.append(rec[:width] + [""] * (width - len(rec)))
    df = pd.DataFrame(cells, columns=header, index=np.arange(len(cells)) + 2, dtype=object)
    return df[~(df == "").all(axis=1)]


def _semicolons(header: list[str], allowed: tuple[str, ...]) -> bool:
    """Whether a header read with commas is a semicolon-separated one (Excel's CSV in many European locales).

    Refused rather than read: such files write numbers with decimal commas, which the checks would have to guess.
    """
    parts = [p.strip() for h in header for p in h.split(";")]
    return any(";" in h for h in header) and any(p in allowed for p in parts)


def _number(df: pd.DataFrame, col: str, probs: Problems, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, blank_ok: bool = True) -> np.ndarray:
    """Column ``col`` as floats (nan where blank); problems for text, non-finite and out-of-range cells."""
    out = np.full(len(df), np.nan)
    if col not in df.columns:
        return out
    rng = (f"{'>' if lo_open else '>='} {lo:g}" if lo is not None else "") + \
        (" and " if lo is not None and hi is not None else "") + (f"<= {hi:g}" if hi is not None else "")
    for i, (row, cell) in enumerate(zip(df.index.tolist(), df[col].tolist())):
        if cell == "":
            if not blank_ok:
                probs.add("empty; a number is required", row, col)
            continue
        try:
            x = float(cell)
        except ValueError:
            probs.add(f"{cell!r} is not a number" + (f"; allowed: {rng}" if rng else ""), row, col)
            continue
        if not math.isfinite(x):
            probs.add(f"{cell!r} is not a finite number", row, col)
            continue
        if (lo is not None and (x <= lo if lo_open else x < lo)) or (hi is not None and x > hi):
            probs.add(f"{cell} is out of range; allowed: {rng}", row, col)
            continue
        out[i] = x
    return out


def _ids(df: pd.DataFrame, col: str, probs: Problems, what: str) -> list[str]:
    """Non-empty ids of column ``col``; problems for blank cells."""
    vals = df[col].tolist()
    for row, v in zip(df.index.tolist(), vals):
        if v == "":
            probs.add(f"empty; every row needs {what}", row, col)
    return vals


def unique_ids(df: pd.DataFrame, col: str, probs: Problems, what: str) -> tuple[list[str], dict[str, int]]:
    """Column ``col`` as ids and the row of each id's first mention; problems for blank and repeated ids."""
    ids = _ids(df, col, probs, "an id")
    first: dict[str, int] = {}
    for row, v in zip(df.index.tolist(), ids):
        if v and v in first:
            probs.add(f"id {v!r} repeats the {what} of row {first[v]}; every id must be unique", row, col)
        first.setdefault(v, row)
    return ids, first


@dataclass
class ClusterData:
    """A cluster's data, checked, in the model's terms (firms in file order, associations in order of mention).

    Attributes:
        ids: the firms' ids as in firms.csv.
        names: display names (the id where no name is given).
        kind: ``(n,)`` int8 ``ENTERPRISE`` or ``LEADING``.
        capacity: ``(n,)`` relative size (mean enterprise 1), nan where not given.
        group: ``(n,)`` product group (value-chain stage, 0 upstream).
        group_names: the product groups in value-chain order.
        assoc_of: ``(n,)`` association index, -1 for none.
        assoc_names: the associations.
        energy: ``(n,)`` energy intensity, nan where not given.
        survey: construct to ``(n,)`` answers scaled to [0, 1], nan where not answered.
        trade: ``(m, 2)`` firm indices (supplier, buyer); ``volume`` ``(m,)`` (mean 1); ``contract`` ``(m,)``
            bool, or None when trade.csv has no contract column; ``has_trade`` whether trade.csv was given.
        org_ff: ``(k, 2)`` firm-firm organization links; ``org_af``: ``(j, 2)`` (association, firm) links;
            ``has_org`` whether organization.csv was given.
        notes: what the model will read differently from the data (printed by ``validate``).
        files: the files read.
    """

    ids: list[str]
    names: list[str]
    kind: np.ndarray
    capacity: np.ndarray
    group: np.ndarray
    group_names: list[str]
    assoc_of: np.ndarray
    assoc_names: list[str]
    energy: np.ndarray
    survey: dict[str, np.ndarray]
    trade: np.ndarray
    volume: np.ndarray
    contract: np.ndarray | None
    has_trade: bool
    org_ff: np.ndarray
    org_af: np.ndarray
    has_org: bool
    notes: list[str] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_groups(self) -> int:
        return len(self.group_names)


_CACHE: dict[tuple, ClusterData] = {}


def _stamp(path: str | None) -> tuple:
    if not path:
        return (None,)
    try:
        s = os.stat(path)
        return (path, s.st_mtime_ns, s.st_size)
    except OSError:
        return (path, None)


def read_cluster(data) -> ClusterData:
    """Read and check the files a ``DataParams`` names (cached while the files are unchanged).

    Raises:
        ScenarioError: every problem, each naming the file, row and column.
    """
    files = data_files(data)
    key = (tuple(_stamp(files[k]) for k in ("firms", "trade", "organization")), tuple(data.value_chain),
           tuple(data.survey_scale))
    if key[0][0][-1] is not None and key in _CACHE:
        return _CACHE[key]
    cluster = _read_cluster(files, list(data.value_chain), tuple(data.survey_scale))
    _CACHE.clear()  # one cluster at a time is what a run needs
    _CACHE[key] = cluster
    return cluster


def raise_problems(problems: list[Problems]) -> None:
    """Raise one :class:`ScenarioError` listing the problems of every file (the first :data:`MAX_PROBLEMS`)."""
    items = [m for p in problems for m in p.items]
    if items:
        more = len(items) - MAX_PROBLEMS
        text = "\n".join(items[:MAX_PROBLEMS]) + (f"\n... and {more} more problem(s)" if more > 0 else "")
        raise ScenarioError(text)


def _read_cluster(files: dict[str, str | None], value_chain: list[str], scale: tuple[float, float]) -> ClusterData:
    fpath = files["firms"]
    fp = Problems(fpath)
    firms = read_table(fpath, ("id", "product_group"), FIRM_COLUMNS, fp)
    if firms is None:
        raise_problems([fp])
    n = len(firms)
    if n < 3:
        fp.add(f"needs at least 3 firms, found {n}")
        raise_problems([fp])
    ids, first = unique_ids(firms, "id", fp, "firm")
    rowno = firms.index.tolist()
    names = [nm or ident for nm, ident in zip(firms["name"].tolist() if "name" in firms else ids, ids)]
    kind = np.full(n, ENTERPRISE, dtype=np.int8)
    if "kind" in firms:
        for i, v in enumerate(firms["kind"].tolist()):
            k = KIND_WORDS.get(v.lower()) if v else ENTERPRISE
            if k is None:
                fp.add(f"{v!r} is not a kind; allowed: enterprise, leading_firm (blank: enterprise)", rowno[i], "kind")
            else:
                kind[i] = k
    # size: capacity or employees, rescaled so that the mean enterprise has capacity 1
    if "capacity" in firms and "employees" in firms:
        fp.add("give one of the columns capacity and employees, not both", 1, "employees")
    size_col = "capacity" if "capacity" in firms else "employees"
    size = _number(firms, size_col, fp, lo=0.0, lo_open=True)
    ent = (kind == ENTERPRISE) & np.isfinite(size)
    capacity = size / size[ent].mean() if ent.any() else np.full(n, np.nan)
    if np.isfinite(size).any() and not ent.any():
        fp.add(f"column {size_col} gives no enterprise a size, so there is nothing to rescale the leading firms' "
               "sizes against; give the enterprises' sizes too")
    # product groups: integers are value-chain stages; names need [data] value_chain
    raw_g = firms["product_group"].tolist()
    group = np.zeros(n, dtype=np.int64)
    if value_chain:
        if len(set(value_chain)) != len(value_chain):
            fp.add(f"[data] value_chain names a product group twice: {value_chain}")
        where = {g: j for j, g in enumerate(value_chain)}
        for i, v in enumerate(raw_g):
            if v == "":
                fp.add("empty; every firm needs a product group", rowno[i], "product_group")
            elif v not in where:
                close = difflib.get_close_matches(v, value_chain, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                fp.add(f"{v!r} is not in [data] value_chain{hint}; allowed: {', '.join(value_chain)}", rowno[i],
                       "product_group")
            else:
                group[i] = where[v]
        group_names = list(value_chain)
    else:
        top = 0
        for i, v in enumerate(raw_g):
            if v.isdigit() and int(v) <= 99:
                group[i] = int(v)
                top = max(top, int(v))
            elif v == "":
                fp.add("empty; every firm needs a product group", rowno[i], "product_group")
            else:
                fp.add(f"{v!r} is not a value-chain stage 0-99; product groups given as names need their order "
                       "in the scenario: [data] value_chain = [\"upstream\", ..., \"downstream\"]", rowno[i], "product_group")
        group_names = [str(g) for g in range(top + 1)]
    # associations: names in order of first mention
    assoc_of = np.full(n, -1, dtype=np.int64)
    assoc_names: list[str] = []
    if "association" in firms:
        for i, v in enumerate(firms["association"].tolist()):
            if v:
                if v not in assoc_names:
                    assoc_names.append(v)
                assoc_of[i] = assoc_names.index(v)
    for a in assoc_names:
        if a in first:
            fp.add(f"association {a!r} has the id of a firm (row {first[a]}); give it another name",
                   rowno[firms["association"].tolist().index(a)], "association")
    energy = _number(firms, "energy_intensity", fp, lo=0.0, hi=10.0, lo_open=True)
    lo, hi = scale
    survey = {}
    for c in (*SURVEY_INITIAL, *SURVEY_OBSERVED):
        if c in firms:
            survey[c] = (_number(firms, c, fp, lo=lo, hi=hi) - lo) / (hi - lo)
    firm_ix = {v: i for i, v in enumerate(ids) if v}
    assoc_ix = {a: j for j, a in enumerate(assoc_names)}
    problems = [fp]

    # trade.csv
    notes: list[str] = []
    trade = np.zeros((0, 2), np.int64)
    volume, contract = np.zeros(0), None
    tpath = files["trade"]
    if tpath:
        tp = Problems(tpath)
        problems.append(tp)
        t = read_table(tpath, ("supplier", "buyer"), TRADE_COLUMNS, tp)
        if t is not None:
            pairs, keep = read_links(t, ("supplier", "buyer"), firm_ix, {}, tp, "a firm id of firms.csv")
            trade = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
            vol = _number(t, "volume", tp, lo=0.0, lo_open=True)[keep]
            given = np.isfinite(vol)
            volume = np.where(given, vol / vol[given].mean(), 1.0) if given.any() else np.ones(len(trade))
            if "contract" in t:
                flags = []
                for i, v in zip(t.index[keep].tolist(), t["contract"][keep].tolist()):
                    w = v.lower()
                    if w not in TRUE_WORDS | FALSE_WORDS:
                        tp.add(f"{v!r} is not yes or no; allowed: yes, no, 1, 0, true, false (blank: no)", i,
                               "contract")
                    flags.append(w in TRUE_WORDS)
                contract = np.asarray(flags, dtype=bool)
            notes += _chain_notes(trade, group, kind, ids, shown(tpath))
    # organization.csv
    org_ff = np.zeros((0, 2), np.int64)
    org_af = np.zeros((0, 2), np.int64)
    opath = files["organization"]
    if opath:
        op = Problems(opath)
        problems.append(op)
        o = read_table(opath, ORG_COLUMNS, ORG_COLUMNS, op)
        if o is not None:
            pairs, _ = read_links(o, ORG_COLUMNS, firm_ix, assoc_ix, op,
                              "a firm id of firms.csv or an association named in its association column")
            ff, af = [], []
            for a, b in pairs:
                if a >= 0 and b >= 0:
                    ff.append((a, b))
                elif a < 0 and b >= 0:
                    af.append((-a - 1, b))
                elif b < 0 and a >= 0:
                    af.append((-b - 1, a))
            org_ff = np.asarray(ff, dtype=np.int64).reshape(-1, 2)
            org_af = np.asarray(af, dtype=np.int64).reshape(-1, 2)
            n_aa = sum(1 for a, b in pairs if a < 0 and b < 0)
            if n_aa:
                notes.append(f"{shown(opath)}: {n_aa} link(s) between two associations: the model links associations "
                             "only to firms, so these are left out")
    raise_problems(problems)
    if not tpath:
        notes.append("no trade.csv: the trade links are generated from the product groups (docs/ODD.md 7.16)")
    return ClusterData(ids=ids, names=names, kind=kind, capacity=capacity, group=group, group_names=group_names,
                       assoc_of=assoc_of, assoc_names=assoc_names, energy=energy, survey=survey, trade=trade,
                       volume=volume, contract=contract, has_trade=bool(tpath), org_ff=org_ff, org_af=org_af,
                       has_org=bool(opath), notes=notes, files=dict(files))


def read_links(df: pd.DataFrame, cols: tuple[str, str], firm_ix: dict, assoc_ix: dict, probs: Problems,
           what: str) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Rows as index pairs (firms >= 0, association j as -j - 1); problems for blank or unknown ids,
    self-links and repeated pairs (in either direction). Returns the pairs and the rows kept."""
    a_col, b_col = cols
    pairs, keep, seen = [], np.zeros(len(df), dtype=bool), {}
    for i, (row, a, b) in enumerate(zip(df.index.tolist(), df[a_col].tolist(), df[b_col].tolist())):
        ok, ends = True, []
        for col, v in ((a_col, a), (b_col, b)):
            if v == "":
                probs.add(f"empty; every row needs {what}", row, col)
                ok = False
            elif v in firm_ix:
                ends.append(firm_ix[v])
            elif v in assoc_ix:
                ends.append(-assoc_ix[v] - 1)
            else:
                # ids are codes: a near spelling (F003, F080) is another firm, so only a case slip is suggested
                close = [k for k in (*firm_ix, *assoc_ix) if k.casefold() == v.casefold()]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                probs.add(f"unknown id {v!r}{hint}; expected {what}", row, col)
                ok = False
        if not ok:
            continue
        if a == b:
            probs.add(f"self-link: {a!r} is on both ends", row, b_col)
            continue
        k = frozenset((a, b))
        if k in seen:
            r0, same = seen[k]
            how = "repeats" if same == (a, b) else "is the reverse of"
            probs.add(f"{a} -> {b} {how} the link of row {r0}; the model has one link per pair: keep one row",
                      row, a_col)
            continue
        seen[k] = (row, (a, b))
        pairs.append((ends[0], ends[1]))
        keep[i] = True
    return pairs, keep


def _chain_notes(trade: np.ndarray, group: np.ndarray, kind: np.ndarray, ids: list[str], path: str) -> list[str]:
    """Trade links the model reads differently from the data: off the value chain, or a leading firm supplying."""
    from .submodels.trade import role_of_link

    off, flipped = [], []
    for s, b in trade.tolist():
        r = role_of_link(group[b], group[s], kind[b], kind[s])  # +1: b buys from s, as the data says
        if r == 0:
            off.append(f"{ids[s]} -> {ids[b]}")
        elif r == -1:
            flipped.append(f"{ids[s]} -> {ids[b]}")
    notes = []
    if off:
        notes.append(f"{path}: {len(off)} of {len(trade)} trade link(s) are not supplier-buyer links of the value "
                     f"chain (the buyer's product group must follow the supplier's, or the buyer be a leading "
                     f"firm), so they carry information and trust but no orders: {', '.join(off[:5])}"
                     + (" ..." if len(off) > 5 else ""))
    if flipped:
        notes.append(f"{path}: {len(flipped)} trade link(s) have a leading firm as the supplier; the model's leading "
                     f"firms only buy, so the enterprise is its supplier: {', '.join(flipped[:5])}"
                     + (" ..." if len(flipped) > 5 else ""))
    return notes
