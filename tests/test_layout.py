"""The package layers hold in effect, not only in the import lines.

sim imports none of runner, analysis or viz; runner sits above sim and imports neither analysis nor viz;
analysis reads result folders and never builds a model, so importing it loads neither the model nor numba.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ANALYSIS = sorted(p.stem for p in (ROOT / "analysis").glob("*.py") if p.stem != "__init__")
MODEL_ONLY = ("sim.model", "sim.factory", "sim.submodels", "mesa", "numba", "runner", "viz")


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere in it (functions included); relative imports are its own."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package, forbidden", [("sim", {"runner", "analysis", "viz", "app", "run"}),
                                                ("runner", {"analysis", "viz", "app", "run"})])
def test_no_module_imports_a_layer_above_it(package, forbidden):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    wrong = {str(f.relative_to(ROOT)): sorted(imported_packages(f) & forbidden) for f in files}
    assert not {f: w for f, w in wrong.items() if w}


def test_the_scan_sees_imports_inside_functions(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from . import x\ndef g():\n    from analysis.report import build_report\n    import viz.figures\n")
    assert imported_packages(f) == {"analysis", "viz"}


def loaded_after(statement: str) -> list[str]:
    """The modules of :data:`MODEL_ONLY` a fresh interpreter holds after ``statement``."""
    probe = (f"import sys, json\n{statement}\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({MODEL_ONLY!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_analysis_loads_no_model():
    # one interpreter for all modules (the report first): none may have pulled the model in
    statement = "\n".join(f"import analysis.{m}" for m in ("report", *ANALYSIS))
    assert ANALYSIS and loaded_after(statement) == []


def test_the_probe_sees_the_model_when_it_is_loaded():
    loaded = loaded_after("from sim import ClusterModel")
    assert "sim.model" in loaded and "numba" in loaded
