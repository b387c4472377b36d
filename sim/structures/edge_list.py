"""Read a real cluster from CSV files.

``edge_list_path``: CSV with columns ``source,target`` (node labels).
``edge_list_types_path`` (optional): CSV with columns ``id,kind`` where kind is
``enterprise``, ``leading_firm`` or ``association``; unlisted nodes are
enterprises. A firm linked to an association is its member; firms with no
association link join association 0 when there is one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import ScenarioError
from ..state import ENTERPRISE, LEADING
from . import Structure, canonical_edges

__all__ = ["build_edge_list"]

KINDS = {"enterprise": ENTERPRISE, "leading_firm": LEADING, "association": 2}


def _read_csv(path: str, needed: tuple[str, ...], field: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"{path}: {field}: file not found")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            records = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError(f"{path}: {field}: cannot read CSV: {exc}") from None
    width = len(records[0]) if records else 0
    extra = [f"{path}: {field}: row {r}, column {width + 1}: {len(rec) - width} cell(s) beyond the header's "
             f"{width} columns; a comma inside a cell needs the cell in double quotes"
             for r, rec in enumerate(records[1:], start=2) if any(c.strip() for c in rec[width:])]
    if extra:  # every such row, not pandas' first one by its line
        raise ScenarioError("\n".join(extra[:25]) + (f"\n... and {len(extra) - 25} more" if len(extra) > 25 else ""))
    try:
        df = pd.read_csv(p, dtype=str)
    except Exception as exc:  # pandas raises many types for bad CSV
        raise ScenarioError(f"{path}: {field}: cannot read CSV: {exc}") from None
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ScenarioError(f"{path}: {field}: row 1: missing column(s) {missing}; required: {list(needed)} "
                            f"(the header has {list(df.columns)})")
    return df


def build_edge_list(params, rng: np.random.Generator) -> Structure:
    """Build the structure from the CSV files named in ``params``."""
    edges_df = _read_csv(params.edge_list_path, ("source", "target"), "structure.edge_list_path")
    kinds: dict[str, int] = {}
    if params.edge_list_types_path:
        types_df = _read_csv(params.edge_list_types_path, ("id", "kind"), "structure.edge_list_types_path")
        for row, (ident, kind) in enumerate(zip(types_df["id"], types_df["kind"]), start=2):
            if kind not in KINDS:
                raise ScenarioError(
                    f"{params.edge_list_types_path}: row {row}, column kind: unknown kind {kind!r} for node {ident!r}; "
                    f"allowed: {sorted(KINDS)}"
                )
            kinds[ident] = KINDS[kind]
    labels = pd.unique(pd.concat([edges_df["source"], edges_df["target"]], ignore_index=True))
    labels = list(labels) + [k for k in kinds if k not in set(labels)]
    assoc_labels = [lab for lab in labels if kinds.get(lab) == 2]
    firm_labels = [lab for lab in labels if kinds.get(lab) != 2]
    if len(firm_labels) < 3:
        raise ScenarioError(f"{params.edge_list_path}: structure.edge_list_path: needs at least 3 firms, found {len(firm_labels)}")
    fidx = {lab: i for i, lab in enumerate(firm_labels)}
    aidx = {lab: i for i, lab in enumerate(assoc_labels)}
    ff_a, ff_b, af_a, af_f = [], [], [], []
    for s, t in zip(edges_df["source"], edges_df["target"]):
        if s in fidx and t in fidx:
            ff_a.append(fidx[s]); ff_b.append(fidx[t])
        elif s in aidx and t in fidx:
            af_a.append(aidx[s]); af_f.append(fidx[t])
        elif t in aidx and s in fidx:
            af_a.append(aidx[t]); af_f.append(fidx[s])
    n = len(firm_labels)
    kind = np.array([kinds.get(lab, ENTERPRISE) for lab in firm_labels], dtype=np.int8)
    assoc_of = np.full(n, 0 if assoc_labels else -1, dtype=np.int64)
    assoc_of[np.asarray(af_f, dtype=np.int64)] = np.asarray(af_a, dtype=np.int64)
    assoc_edges = np.stack([np.asarray(af_a, np.int64), np.asarray(af_f, np.int64)], axis=1) if af_a else np.zeros((0, 2), np.int64)
    return Structure(
        n_firms=n,
        firm_kind=kind,
        tier=np.full(n, -1, dtype=np.int8),
        edges=canonical_edges(np.asarray(ff_a), np.asarray(ff_b)),
        n_associations=len(assoc_labels),
        assoc_of=assoc_of,
        assoc_edges=assoc_edges,
        labels=firm_labels,
    )
