"""Seeded runs reproduce their stored fingerprints bit for bit (see tests/fingerprint.py)."""

from __future__ import annotations

import json

import pytest

from tests.fingerprint import CASES, STORE, fingerprint, key

STORED = json.loads(STORE.read_text())


@pytest.mark.parametrize("path,seed,steps", [(p, s, n) for p, seeds, n in CASES for s in seeds],
                         ids=lambda v: str(v))
def test_seeded_run_matches_its_fingerprint(path, seed, steps):
    want = STORED[key(path, seed, steps)]
    got = fingerprint(path, seed, steps)
    assert got == want, f"{path} seed {seed}: results changed; last step now {got['last']}, was {want['last']}"


@pytest.mark.slow
@pytest.mark.xdist_group("main_job")
def test_main_job_matches_its_fingerprint(main_job):
    """The main comparison (every main scenario x 20 replicates x 100 steps) gives the stored per-run results."""
    from tests.fingerprint import ROOT, results_digest

    want = json.loads((ROOT / "tests" / "fingerprints" / "main_job.json").read_text())
    assert results_digest(main_job / "results.parquet") == want["results"]
