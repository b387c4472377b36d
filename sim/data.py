"""A real cluster's data in a scenario and in the model (README "Your own data").

A scenario's ``[data]`` section names a folder holding ``firms.csv``, ``trade.csv`` (optional) and
``organization.csv`` (optional), or the files one by one; :mod:`sim.cluster_data` reads and checks them. Here:
the section's paths made absolute and checked (:func:`resolve`), the files' digests for a job's identity, the
fields a data scenario leaves unused, and the model's start from the data: its structure (:func:`structure`),
then the firms' attributes, trade links, contracts and survey answers over what was drawn (:func:`set_up`,
:func:`sign_contracts`, :func:`set_relationships`); docs/ODD.md section 6 gives every rule.
"""

from __future__ import annotations

import difflib
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .cluster_data import (FIRM_COLUMNS, SURVEY_INITIAL, SURVEY_OBSERVED, ClusterData, data_files, read_cluster,
                           shown)
from .errors import ScenarioError, quote
from .state import LEADING

__all__ = ["ClusterData", "read_cluster", "structure", "set_up", "set_relationships", "sign_contracts", "resolve",
           "describe", "FIRM_COLUMNS", "SURVEY_INITIAL", "SURVEY_OBSERVED", "data_files", "input_digests",
           "DataWarning", "unused_fields", "warn_unused", "refuse_unused"]


def input_digests(scenario) -> dict[str, str]:
    """The sha256 of each file the scenario reads besides itself (a data cluster's, an edge list's), by role.

    A job's identity holds them: its paths alone would let a resume keep results of files since edited.
    """
    s = scenario.structure
    named = {"edge_list": s.edge_list_path, "edge_list_types": s.edge_list_types_path}
    if scenario.data.folder or scenario.data.firms:
        named.update(data_files(scenario.data))
    out = {}
    for role, path in named.items():
        if path:
            try:
                out[role] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            except OSError as exc:
                raise ScenarioError(f"{shown(path)}: cannot read ({exc.strerror})") from None
    return out


def _check_named_path(key: str, value: str, path: Path) -> None:
    """Raise naming the ``[data]`` field whose path does not exist (a relative one is read from ``base``)."""
    if path.exists():
        return
    kind = "folder" if key == "folder" else "file"
    rel = "" if Path(value).is_absolute() else "; a relative path is read from the scenario file's folder"
    try:
        names = [p.name for p in path.parent.iterdir() if p.is_dir() == (kind == "folder")]
    except OSError:
        names = []
    close = difflib.get_close_matches(path.name, names, n=1)
    hint = f" (did you mean {quote(close[0])}?)" if close else ""
    raise ScenarioError(f"data.{key} = {quote(value)}: {kind} not found{rel}, giving "
                        f"{shown(str(path.resolve()))}{hint}")


def resolve(scenario, base: Path):
    """The scenario with its ``[data]`` paths made absolute (relative to ``base``), the files checked, and
    ``firms.n_product_groups`` set to the data's value chain (an edge list's files are checked too).

    Raises:
        ScenarioError: listing every problem of the files.
    """
    d = scenario.data
    if scenario.structure.kind == "edge_list":
        from .structures.edge_list import build_edge_list

        build_edge_list(scenario.structure, np.random.default_rng(0))  # reads and checks the files; draws nothing
    if not (d.folder or d.firms):
        return scenario
    fix = {}
    for key in ("folder", "firms", "trade", "organization"):
        v = getattr(d, key)
        if v and not Path(v).is_absolute():
            fix[f"data.{key}"] = str((base / v).resolve())
        if v:
            _check_named_path(key, v, base / v)
    if d.folder and not d.firms and not (base / d.folder / "firms.csv").is_file():
        raise ScenarioError(f"data.folder = {quote(d.folder)}: the folder {shown(str(base / d.folder))} holds no "
                            "firms.csv; put it there or name the file with data.firms")
    if fix:
        scenario = scenario.with_overrides(fix, source=f"{base}")
    cluster = read_cluster(scenario.data)
    if scenario.structure.kind == "data" and not cluster.has_org:
        where = f"folder {shown(scenario.data.folder)} has no organization.csv" if scenario.data.folder else \
            "[data] organization is not given"
        raise ScenarioError(f"{shown(str(base))}: structure.kind = 'data' takes the marketing organization from "
                            f"organization.csv, but {where}; give the file (coordinator,member) or a generated kind: "
                            "star, hierarchical, chain or network")
    if scenario.firms.n_product_groups != cluster.n_groups:
        scenario = scenario.with_overrides({"firms.n_product_groups": cluster.n_groups}, source=f"{base}")
    return scenario


class DataWarning(UserWarning):
    """A scenario sets a field that a data cluster's files decide instead."""


#: Fields the links of ``structure.kind = "data"`` leave unused: trade.csv and organization.csv give every link.
_DATA_KIND_UNUSED = ("generator", "mean_degree", "rewire_p", "service_share", "up_links", "peer_p", "n_functions")


def unused_fields(scenario) -> dict[str, str]:
    """Each field a data scenario does not use, with why (``{}`` for a generated scenario)."""
    d = scenario.data
    if not (d.folder or d.firms):
        return {}
    c = read_cluster(d)
    firms = shown(data_files(d)["firms"]) or "firms.csv"
    lead = int((c.kind == LEADING).sum())
    groups = "[data] value_chain" if d.value_chain else f"the product_group column of {firms}"
    out = {
        "structure.n_firms": f"the cluster has {c.n} firms from {firms}",
        "structure.n_leading": f"the cluster has {lead} leading firm(s), marked in the kind column of {firms}",
        "structure.n_associations": f"the cluster has {len(c.assoc_names)} association(s) from the association "
                                    f"column of {firms}",
        "firms.n_product_groups": f"the cluster has {c.n_groups} product group(s) from {groups}",
    }
    if scenario.structure.kind == "data":
        out.update({f"structure.{k}": "structure.kind = 'data' takes every link from trade.csv and organization.csv"
                    for k in _DATA_KIND_UNUSED})
    return out


def _data_value(scenario, key: str) -> int | None:
    """What the data makes of a count field (a value set equal to it is no surprise), None for the rest."""
    c = read_cluster(scenario.data)
    return {"structure.n_firms": c.n, "structure.n_leading": int((c.kind == LEADING).sum()),
            "structure.n_associations": len(c.assoc_names), "firms.n_product_groups": c.n_groups}.get(key)


def warn_unused(scenario, explicit: dict, source: str) -> list[str]:
    """Warn (:class:`DataWarning`) for each of ``explicit`` (dotted key: value as given) a data scenario does not
    use, unless it equals what the data gives; returns the lines."""
    unused = unused_fields(scenario)
    lines = [f"{source}: {key} = {value!r}: not used with [data]: {unused[key]}"
             for key, value in explicit.items() if key in unused and value != _data_value(scenario, key)]
    for line in lines:
        warnings.warn(line, DataWarning, stacklevel=3)
    return lines


def refuse_unused(scenario, keys, source: str, each: str = "value", hint: str = "vary a field the model uses") -> None:
    """Refuse varying a field a data scenario does not use: every point, particle or draw would be the same.

    Args:
        source: what names the keys in the message (``--param``, a file's ``uncertain:``).
        each: what would not differ (``value``, ``draw``).
        hint: what to do instead.

    Raises:
        ScenarioError: naming the first such key and why.
    """
    unused = unused_fields(scenario)
    for key in keys:
        if key in unused:
            raise ScenarioError(f"{source} {key}: not used with [data]: {unused[key]}, so every {each} gives the "
                                f"same runs; {hint}")


def describe(scenario) -> list[str]:
    """Lines summarising a data scenario's cluster for ``validate`` (empty for a generated one)."""
    d = scenario.data
    if not (d.folder or d.firms):
        return []
    c = read_cluster(d)
    lead = int((c.kind == LEADING).sum())
    lines = [f"data: {c.n} firms ({lead} leading), {len(c.assoc_names)} association(s), "
             f"{len(c.group_names)} product group(s) ({' > '.join(c.group_names)}), {len(c.trade)} trade link(s)"
             + (f" ({int(c.contract.sum())} under contract)" if c.contract is not None else "")
             + (f", {len(c.org_ff) + len(c.org_af)} organization link(s)" if c.has_org else "")]
    if c.survey:
        lo, hi = d.survey_scale
        parts = []
        for k, v in c.survey.items():
            x = lo + (hi - lo) * v[np.isfinite(v)]  # back on the survey's scale
            se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
            parts.append(f"{k} {x.mean():.2f} ± {se:.2f} (n = {len(x)})" if len(x) else f"{k} (no answers)")
        lines.append(f"survey on {lo:g}-{hi:g}, mean ± standard error: {', '.join(parts)}")
    return lines + [f"note: {m}" for m in c.notes]


# ======================================================================= into the model


def structure(cluster: ClusterData, params, rng: np.random.Generator):
    """The structure of the data: ``structure.kind = "data"`` takes the organization from organization.csv;
    a generated kind is built over the data's firms (docs/ODD.md section 6)."""
    from .structures import Structure, build_structure, canonical_edges

    n = cluster.n
    ff = [cluster.trade]
    tier = np.full(n, -1, dtype=np.int8)
    if params.kind == "data":
        ff.append(cluster.org_ff)
        af = cluster.org_af
    else:
        lead = np.flatnonzero(cluster.kind == LEADING)
        gen = build_structure(params.model_copy(update={
            "n_firms": n, "n_leading": len(lead), "n_associations": max(1, len(cluster.assoc_names)),
            "mean_degree": min(params.mean_degree, n - 1.0)}), rng)
        # the generated kind's leading positions take the data's leading firms, the rest its enterprises
        perm = np.empty(n, dtype=np.int64)
        gen_lead = gen.firm_kind == LEADING
        perm[gen_lead] = lead[: int(gen_lead.sum())]
        rest = np.setdiff1d(np.arange(n), perm[gen_lead], assume_unique=True)
        perm[~gen_lead] = rest[: int((~gen_lead).sum())]
        ff.append(perm[gen.edges])
        tier[perm] = gen.tier
        # the kind decides which firms link to an association; each links to its own (none for non-members)
        linked = np.unique(perm[gen.assoc_edges[:, 1]]) if len(gen.assoc_edges) else np.zeros(0, np.int64)
        linked = linked[cluster.assoc_of[linked] >= 0]
        af = np.stack([cluster.assoc_of[linked], linked], axis=1)
    pairs = np.concatenate([e for e in ff if len(e)]) if any(len(e) for e in ff) else np.zeros((0, 2), np.int64)
    return Structure(
        n_firms=n, firm_kind=cluster.kind.copy(), tier=tier,
        edges=canonical_edges(pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros((0, 2), np.int64),
        n_associations=len(cluster.assoc_names), assoc_of=cluster.assoc_of.copy(),
        assoc_edges=np.asarray(af, dtype=np.int64).reshape(-1, 2), labels=list(cluster.names),
    )


def set_up(model, cluster: ClusterData, firm_nodes: np.ndarray) -> None:
    """Overwrite the drawn attributes of the data's firms with what the data gives (docs/ODD.md section 6);
    called by ``ClusterModel._set_up`` after ``add_firms``, before the edges."""
    st, p, rng = model.state, model.params, model.rng
    rows = np.asarray(firm_nodes)
    have = np.isfinite(cluster.capacity)
    st.capacity[rows[have]] = cluster.capacity[have]
    st.resources[rows[have]] = p.firms.resources * cluster.capacity[have]
    st.product_group[rows] = cluster.group
    have = np.isfinite(cluster.energy)
    st.energy_intensity[rows[have]] = cluster.energy[have]
    s = cluster.survey
    if "commitment" in s:
        ok = np.isfinite(s["commitment"])
        st.commitment[rows[ok]] = s["commitment"][ok]
        st.partner_commitment[rows[ok]] = s["commitment"][ok]
    if "cooperativeness" in s:
        ok = np.isfinite(s["cooperativeness"])
        st.disposition[rows[ok]] = s["cooperativeness"][ok]
    if "shared_values" in s:
        ok = np.flatnonzero(np.isfinite(s["shared_values"]))
        signs = rng.choice(np.array([-1.0, 1.0]), size=(len(ok), st.values_dim))
        st.values[rows[ok]] = 0.5 + signs * (1.0 - s["shared_values"][ok, None]) / 2.0
    model.survey = pd.DataFrame({"node": rows, **{k: v for k, v in s.items()}})


def set_relationships(model, cluster: ClusterData, n_assoc: int) -> None:
    """Volumes on the data's trade links and the survey's trust, communication and opportunism on every link
    of a firm that answered, read by the firm as observer; called after the links and contracts exist."""
    st = model.state
    e = st.n_edges
    first = n_assoc  # firm i of the data is node n_assoc + i
    if len(cluster.trade) and hasattr(st, "volume"):
        ends = cluster.trade + first
        lo, hi = np.minimum(ends[:, 0], ends[:, 1]), np.maximum(ends[:, 0], ends[:, 1])
        keys = st.ua[:e].astype(np.int64) * 2**32 + st.ub[:e].astype(np.int64)
        order = np.argsort(keys)
        u = order[np.searchsorted(keys[order], lo * 2**32 + hi)]
        st.volume[u] = cluster.volume
    src = np.empty(2 * e, dtype=np.int64)
    src[0::2], src[1::2] = st.ua[:e], st.ub[:e]
    firm_of = src - first  # the data's firm index of each observer (out of range for associations and others)
    inside = (firm_of >= 0) & (firm_of < cluster.n)
    for construct, arr in (("trust", st.trust), ("communication", st.comm), ("opportunism", st.opp)):
        if construct not in cluster.survey:
            continue
        val = np.full(2 * e, np.nan)
        val[inside] = cluster.survey[construct][firm_of[inside]]
        ok = np.isfinite(val)
        arr[: 2 * e][ok] = val[ok]
        if construct == "trust":
            answered = np.isfinite(cluster.survey["trust"])
            st.mean_trust[first + np.flatnonzero(answered)] = cluster.survey["trust"][answered]


def sign_contracts(model, cluster: ClusterData, n_assoc: int) -> None:
    """The contracts of the start from trade.csv's contract column: those links signed, with staggered
    remaining durations; no other link is under contract."""
    st, p, rng = model.state, model.params, model.rng
    e = st.n_edges
    st.contract_left[:e] = 0
    signed = cluster.trade[cluster.contract] + n_assoc
    if not len(signed):
        return
    lo, hi = np.minimum(signed[:, 0], signed[:, 1]), np.maximum(signed[:, 0], signed[:, 1])
    keys = st.ua[:e].astype(np.int64) * 2**32 + st.ub[:e].astype(np.int64)
    order = np.argsort(keys)
    u = order[np.searchsorted(keys[order], lo * 2**32 + hi)]
    st.contract_left[u] = rng.integers(1, p.mechanisms.contract.duration + 1, size=len(u))
