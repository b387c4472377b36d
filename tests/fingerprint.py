"""Fingerprints of seeded runs: the numbers a pure restructure must leave bit-identical.

``python -m tests.fingerprint`` rewrites ``tests/fingerprints/runs.json``; do that only in a
commit that changes the model's results on purpose, and say so in its message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "tests" / "fingerprints" / "runs.json"

#: (scenario file, seeds, steps): every structure, each mechanism switched off, the marketing modes,
#: the shocks, a digitalization stage, the validation game, the example data cluster and two ``[[policy]]``
#: programmes.
CASES = [
    ("scenarios/baseline.toml", (1, 2, 3), 60),
    ("scenarios/hierarchical.toml", (1, 4), 60),
    ("scenarios/star.toml", (1, 4), 60),
    ("scenarios/chain.toml", (1, 4), 60),
    ("scenarios/network.toml", (5,), 60),
    ("scenarios/no_regulation.toml", (1,), 60),
    ("scenarios/contracts_only.toml", (1,), 60),
    ("scenarios/fi_equal.toml", (1,), 60),
    ("scenarios/fi_proportional.toml", (1,), 60),
    ("scenarios/channel_sharing.toml", (2,), 60),
    ("scenarios/cluster_brand.toml", (2,), 60),
    ("scenarios/cooperative_rnd.toml", (2,), 60),
    ("scenarios/exhibition.toml", (2,), 60),
    ("scenarios/leading_traction.toml", (2,), 60),
    ("scenarios/alliance.toml", (2,), 60),
    ("scenarios/demand_shock.toml", (3,), 60),
    ("scenarios/competitor_entry.toml", (3,), 60),
    ("scenarios/digitalization/digitalization_stage3.toml", (3,), 60),
    ("scenarios/validation/santos_pacheco_ba.toml", (1,), 30),
    ("examples/cluster/cluster.toml", (1,), 60),
    ("scenarios/programmes/regulation_from_30.toml", (1,), 60),
    ("scenarios/programmes/digitalization_roadmap.toml", (2,), 100),
]

#: (scenario file, seeds, steps, overrides) of runs long or fast-dropping enough that their dead edges are
#: compacted (``ClusterState.compact_edges``), which moves the random path: each must compact at least once.
COMPACTING = [
    ("scenarios/baseline.toml", (1, 2), 200, {}),
    ("scenarios/baseline.toml", (1, 3), 60, {"structure.n_firms": 40, "trade.drop_after": 3}),
]


def _digest(frame: pd.DataFrame) -> str:
    """SHA-256 over column names and the exact bits of every value."""
    h = hashlib.sha256()
    for name in sorted(frame.columns):
        col = frame[name]
        h.update(name.encode())
        if col.dtype == object or str(col.dtype).startswith(("str", "string", "category")):
            h.update("\x1f".join(map(str, col.tolist())).encode())
        else:
            h.update(np.ascontiguousarray(col.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def fingerprint(path: str, seed: int, steps: int, overrides: dict | None = None) -> dict:
    """Run one seeded model and digest its time series, final firm table and network snapshot.

    With ``overrides`` (a ``COMPACTING`` case) the fingerprint also holds how often the edges were compacted.
    """
    from sim import load_scenario, make_model

    scenario = load_scenario(ROOT / path)
    model = make_model(scenario.with_overrides(overrides) if overrides else scenario, rng=seed)
    model.run_for(steps)
    series = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    snap = model.graph_snapshot()
    nodes = pd.DataFrame({k: v for k, v in snap.items() if not k.startswith("edge_")})
    edges = pd.DataFrame({k: v for k, v in snap.items() if k.startswith("edge_")})
    last = series.iloc[-1]
    return {
        "series": _digest(series),
        "firms": _digest(model.firm_table()),
        "nodes": _digest(nodes),
        "edges": _digest(edges),
        # readable values, to see what moved when a digest differs
        "last": {k: float(last[k]) for k in ("members", "cooperation_rate", "mean_trust", "profit") if k in last},
    } | ({"compactions": model.state.n_compactions} if overrides is not None else {})


def key(path: str, seed: int, steps: int, overrides: dict | None = None) -> str:
    tail = "".join(f"@{k}={v}" for k, v in sorted((overrides or {}).items()))
    return f"{path}@seed={seed}@steps={steps}{tail}"


def runs() -> list[tuple[str, int, int, dict | None]]:
    """Every fingerprinted run: ``CASES`` (overrides None), then ``COMPACTING``."""
    return [(p, s, n, None) for p, seeds, n in CASES for s in seeds] + [
        (p, s, n, o) for p, seeds, n, o in COMPACTING for s in seeds]


def compute() -> dict[str, dict]:
    out = {key(*run): fingerprint(*run) for run in runs()}
    never = [k for k, v in out.items() if v.get("compactions") == 0]
    if never:  # such a case would not test what it is there for
        raise SystemExit(f"no edge compaction in {never}: lengthen the run")
    return out


def results_digest(results_parquet: Path) -> str:
    """Digest of a sweep or comparison's per-run results (rows in run_id order)."""
    frame = pd.read_parquet(results_parquet).sort_values("run_id").reset_index(drop=True)
    return _digest(frame.drop(columns=["scenario_file"], errors="ignore"))


def main_job_digest() -> dict[str, str]:
    """Run the main job (no report) in a temporary folder and digest its per-run results."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "run.py", "compare-main", "--out", tmp, "--no-report", "--quiet"],
                       cwd=ROOT, check=True)
        results = Path(tmp) / "results.parquet"
        return {"results": results_digest(results), "runs": len(pd.read_parquet(results, columns=["run_id"]))}


if __name__ == "__main__":
    # python -m tests.fingerprint [--main]: rewrite the seeded runs' fingerprints (and the main job's digest)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    STORE.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORE.relative_to(ROOT)}", file=sys.stderr)
    if "--main" in sys.argv[1:]:
        MAIN = ROOT / "tests" / "fingerprints" / "main_job.json"
        old = json.loads(MAIN.read_text()) if MAIN.exists() else {}
        MAIN.write_text(json.dumps({**old, **main_job_digest()}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {MAIN.relative_to(ROOT)}", file=sys.stderr)
