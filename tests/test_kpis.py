"""The KPI registry: one list behind the model's columns, the report and the app; analysis reads files only."""

from __future__ import annotations

import ast
from pathlib import Path

from sim import kpis, load_scenario, make_model

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"share 0-1", "index 0-1", "firms", "firms per step", "MU per step", "MU per MU spent", "messages per step",
         "steps", "contracts", "energy per unit of output", "index (1 = the initial capacity)",
         "MU per capacity-month", "MU", "links per firm"}


def test_the_model_collects_exactly_the_registry_in_its_order():
    model = make_model(load_scenario(ROOT / "scenarios" / "baseline.toml", {"structure.n_firms": 30}), rng=1)
    model.run_for(2)
    columns = list(model.datacollector.get_model_vars_dataframe().columns)
    assert columns == ["step", *(k.name for k in kpis.KPIS)]


def test_every_kpi_has_a_unit_a_direction_and_a_meaning():
    for k in kpis.KPIS:
        assert k.unit in UNITS, k.name
        assert k.direction in ("higher", "lower", "neither"), k.name
        assert k.meaning and "\n" not in k.meaning, k.name
        assert k.mirror_of is None or k.mirror_of in {m.name for m in kpis.KPIS}
    assert len({k.name for k in kpis.KPIS}) == len(kpis.KPIS)
    ranks = [k.report for k in kpis.KPIS if k.report]
    assert len(ranks) == len(set(ranks))
    assert set(kpis.headline_kpis()) <= set(kpis.report_kpis())
    assert all(kpis.higher_is_better(n) is not None for n in kpis.report_kpis())  # a report KPI has a better side


def test_report_and_app_read_the_registry():
    from analysis.io import HIGHER_IS_BETTER, MAIN_KPIS
    from viz.session import KPI_PANELS

    assert MAIN_KPIS == kpis.report_kpis()
    assert HIGHER_IS_BETTER["free_rider_share"] is False and HIGHER_IS_BETTER["functional_conflict"] is True
    assert {n for cols in KPI_PANELS.values() for n in cols} <= {k.name for k in kpis.KPIS}
    assert list(KPI_PANELS)[:2] == ["Cooperation rate", "Trust and commitment"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out |= {f"{node.module}.{a.name}" if node.module == "sim" else node.module for a in node.names}
    return out


def test_analysis_imports_no_model_code_beyond_the_registry_and_the_error_type():
    allowed = {"sim.kpis", "sim.errors", "sim.weighted"}  # sim.weighted: numpy statistics only
    for path in sorted((ROOT / "analysis").glob("*.py")):
        ours = {m for m in _imports(path) if m.split(".")[0] in ("sim", "runner", "viz")}
        assert ours <= allowed, f"{path.name} imports {sorted(ours - allowed)}"


def test_the_model_imports_neither_the_runner_nor_analysis_nor_the_app():
    for path in sorted((ROOT / "sim").rglob("*.py")):
        above = {m for m in _imports(path) if m.split(".")[0] in ("runner", "analysis", "viz", "app", "run")}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"
