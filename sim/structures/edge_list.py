"""Read a real cluster from CSV files.

``edge_list_path``: CSV with columns ``source,target`` (node labels).
``edge_list_types_path`` (optional): CSV with columns ``id,kind`` where kind is
``enterprise``, ``leading_firm`` or ``association``; unlisted nodes are
enterprises. A firm linked to an association is its member; firms with no
association link join association 0 when there is one.

Both files get the row checks of a data cluster's files (:mod:`sim.cluster_data`): unknown columns, rows
with too many or too few cells, empty ids, self-links and repeated links (either direction), each named by
file, row and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cluster_data import Problems, raise_problems, read_links, read_table, unique_ids
from ..scenario import ScenarioError
from ..state import ASSOCIATION, ENTERPRISE, KIND_NAMES
from . import Structure, canonical_edges

__all__ = ["build_edge_list"]

#: Kind code by the name a types file uses (the state's names).
KINDS = {name: code for code, name in KIND_NAMES.items()}
EDGE_COLUMNS = ("source", "target")
TYPE_COLUMNS = ("id", "kind")


def _kinds(path: str) -> dict[str, int]:
    """Node id -> kind code of the node-types file (problems raised with file, row and column)."""
    probs = Problems(path, "structure.edge_list_types_path")
    types_df = read_table(path, TYPE_COLUMNS, TYPE_COLUMNS, probs)
    kinds: dict[str, int] = {}
    if types_df is not None:
        ids, _ = unique_ids(types_df, "id", probs, "node")
        for row, ident, kind in zip(types_df.index.tolist(), ids, types_df["kind"].tolist()):
            if kind not in KINDS:
                probs.add(f"unknown kind {kind!r} for node {ident!r}; allowed: {', '.join(sorted(KINDS))}", row, "kind")
            elif ident:
                kinds.setdefault(ident, KINDS[kind])
    raise_problems([probs])
    return kinds


def build_edge_list(params, rng: np.random.Generator) -> Structure:
    """Build the structure from the CSV files named in ``params``."""
    probs = Problems(params.edge_list_path, "structure.edge_list_path")
    edges_df = read_table(params.edge_list_path, EDGE_COLUMNS, EDGE_COLUMNS, probs)
    raise_problems([probs])  # a file that cannot be read, or its header: nothing more to check
    kinds = _kinds(params.edge_list_types_path) if params.edge_list_types_path else {}
    named = pd.concat([edges_df["source"], edges_df["target"]], ignore_index=True)
    labels = list(pd.unique(named[named != ""]))
    labels += [k for k in kinds if k not in set(labels)]
    # the trade.csv checks: empty cells, self-links, repeated links; every label is known, so no id is unknown
    pairs, _ = read_links(edges_df, EDGE_COLUMNS, {lab: i for i, lab in enumerate(labels)}, {}, probs,
                          "a node id")
    raise_problems([probs])
    assoc_labels = [lab for lab in labels if kinds.get(lab) == ASSOCIATION]
    firm_labels = [lab for lab in labels if kinds.get(lab) != ASSOCIATION]
    if len(firm_labels) < 3:
        raise ScenarioError(f"{params.edge_list_path}: structure.edge_list_path: needs at least 3 firms, found {len(firm_labels)}")
    fidx = {lab: i for i, lab in enumerate(firm_labels)}
    aidx = {lab: i for i, lab in enumerate(assoc_labels)}
    ff_a, ff_b, af_a, af_f = [], [], [], []
    for s, t in ((labels[a], labels[b]) for a, b in pairs):
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
