"""Seeded runs reproduce their stored fingerprints bit for bit (see tests/fingerprint.py)."""

from __future__ import annotations

import json

import pytest

from tests.fingerprint import STORE, fingerprint, key, runs

STORED = json.loads(STORE.read_text())


@pytest.mark.parametrize("path,seed,steps,overrides", runs(), ids=lambda v: str(v))
def test_seeded_run_matches_its_fingerprint(path, seed, steps, overrides):
    want = STORED[key(path, seed, steps, overrides)]
    got = fingerprint(path, seed, steps, overrides)
    assert got == want, f"{path} seed {seed}: results changed; last step now {got['last']}, was {want['last']}"
    if overrides is not None:  # a COMPACTING case: its edges must have been compacted, or it tests nothing new
        assert got["compactions"] >= 1


@pytest.mark.slow
@pytest.mark.xdist_group("main_job")
def test_main_job_matches_its_fingerprint(main_job):
    """The main comparison (every main scenario x 20 replicates x 100 steps) gives the stored per-run results."""
    from tests.fingerprint import ROOT, results_digest

    want = json.loads((ROOT / "tests" / "fingerprints" / "main_job.json").read_text())
    assert results_digest(main_job / "results.parquet") == want["results"]
