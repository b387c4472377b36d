"""Re-make the shipped calibration folder (examples/results/calibration) on the current model.

    python examples/results/make_calibration.py

Runs the small calibration of examples/results/README.md, then leaves out what is not shipped: pyabc's
history (``calibration.db``, needed only to continue the calibration), the report's HTML, Markdown and
SVG files (``run.py report`` or the calibration's own report make them again) and the folder's lock.
The manifest then lists the files the folder holds and names those left out, so it stays true to the folder.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere in a checkout

#: The command, as examples/results/README.md gives it (paths relative to the checkout).
ARGS = ["calibrate", "scenarios/baseline.toml", "--targets", "examples/calibration/targets.toml",
        "--set", "structure.n_firms=40", "--steps", "36", "--param", "firms.cooperativeness=0.3:0.95",
        "--param", "trust.speed=0.05:0.5", "--population", "40", "--generations", "3", "--ppc", "20",
        "--seed", "7", "--out", "examples/results/calibration"]
#: Files not shipped, with why (the manifest's ``left_out``).
LEFT_OUT = {"calibration.db": "pyabc's history of every generation, needed only to continue the calibration",
            "report/*.html": "the report's page; run.py calibrate with the same command writes it again",
            "report/*.md": "the report's Markdown; as the page",
            "report/figures/*.svg": "vector copies of the figures",
            ".lock": "the job's lock file"}


def ship(folder: Path) -> None:
    """Remove what is not shipped from a finished calibration folder and say so in its manifest."""
    removed = {}
    for pattern, why in LEFT_OUT.items():
        hits = sorted(folder.glob(pattern))
        for p in hits:
            p.unlink()
        if hits:
            removed[pattern] = why
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"] = [f for f in manifest.get("files", []) if (folder / f).is_file()]
    manifest["left_out"] = removed
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    import os

    import run

    os.chdir(ROOT)
    out = ROOT / ARGS[ARGS.index("--out") + 1]
    shutil.rmtree(out, ignore_errors=True)  # a new calibration, not a continued one
    code = run.main(ARGS)
    if code:
        raise SystemExit(code)
    ship(out)


if __name__ == "__main__":
    main()
