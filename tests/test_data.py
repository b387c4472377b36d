"""A cluster's own data: firms.csv, trade.csv, organization.csv and survey answers (sim/data.py)."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import run
from sim import ScenarioError, load_scenario, make_model
from sim.data import read_cluster
from sim.state import LEADING

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cluster"

FIRMS = [
    ["id", "name", "kind", "employees", "product_group", "association", "energy_intensity", "trust", "commitment",
     "shared_values", "communication", "opportunism", "cooperativeness"],
    ["A", "Alpha Castings", "enterprise", "40", "castings", "Chamber", "1.5", "7", "6", "7", "5", "1", "6"],
    ["B", "Beta Parts", "enterprise", "20", "parts", "Chamber", "", "1", "", "1", "", "7", ""],
    ["C", "Gamma Machines", "leading_firm", "300", "machines", "", "0.8", "4", "4", "", "4", "4", "4"],
    ["D", "Delta Parts", "", "30", "parts", "Institute", "", "", "", "", "", "", ""],
]
TRADE = [["supplier", "buyer", "volume", "contract"], ["A", "B", "10", "yes"], ["A", "D", "5", "no"],
         ["B", "C", "20", "yes"], ["D", "C", "", "no"]]
ORG = [["coordinator", "member"], ["Chamber", "A"], ["Chamber", "B"], ["Institute", "D"], ["C", "B"]]
SCENARIO = '[structure]\nkind = "data"\n[data]\nfolder = "c"\nvalue_chain = ["castings", "parts", "machines"]\n'


def write(folder: Path, firms=FIRMS, trade=TRADE, org=ORG) -> Path:
    """A small data cluster in ``folder``; returns its scenario file."""
    (folder / "c").mkdir(parents=True, exist_ok=True)
    for name, rows in (("firms", firms), ("trade", trade), ("organization", org)):
        with (folder / "c" / f"{name}.csv").open("w", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    (folder / "s.toml").write_text(SCENARIO)
    return folder / "s.toml"


def test_the_example_cluster_validates_and_keeps_its_names_in_a_run(tmp_path, capsys):
    assert run.main(["validate", str(EXAMPLE / "cluster.toml"), str(EXAMPLE / "cluster_programme.toml")]) == 0
    out = capsys.readouterr().out
    assert "80 firms (3 leading)" in out and "survey on 1-7, mean ± standard error: trust 4.92" in out
    firms = pd.read_csv(EXAMPLE / "data" / "firms.csv")
    assert run.main(["run", str(EXAMPLE / "cluster.toml"), "--steps", "6", "--out", str(tmp_path / "r")]) == 0
    table = pd.read_parquet(tmp_path / "r" / "snapshots" / "cluster" / "firms.parquet")
    nodes = pd.read_parquet(tmp_path / "r" / "snapshots" / "cluster" / "nodes.parquet")
    known = dict(zip(firms["id"], firms["name"]))
    original = table[table["data_id"] != ""]
    assert len(original) >= 70  # a few may have left in six months
    assert (original["name"] == original["data_id"].map(known)).all()
    assert set(nodes["node_name"]) >= {"Regional Engineering Chamber", "Technology Institute", "CDC"}
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert [f["file"] for f in manifest["scenario"]["data_files"]] == ["firms.csv", "trade.csv", "organization.csv"]


def test_the_network_figure_labels_a_data_cluster_by_name():
    from analysis.network_figures import draw_network

    model = make_model(load_scenario(EXAMPLE / "cluster.toml"), rng=1)
    snap = model.graph_snapshot()
    leader = int(np.flatnonzero(snap["node_kind"] == "leading_firm")[0])
    drawing = draw_network(snap, selected=leader)
    texts = {t.get_text() for t in drawing.ax.texts}
    assert {"Regional Engineering Chamber", "Northfield Machine Tools AG"} <= texts


def test_the_example_programme_is_compared_from_the_readme_command(tmp_path):
    code = run.main(["compare", str(EXAMPLE / "cluster.toml"), str(EXAMPLE / "cluster_programme.toml"),
                     "--reference", "cluster", "--replicates", "2", "--steps", "40", "--out", str(tmp_path / "c"),
                     "--no-report"])
    assert code == 0
    res = pd.read_parquet(tmp_path / "c" / "results.parquet")
    assert set(res["scenario"]) == {"cluster", "cluster_programme"}
    assert "name" in pd.read_parquet(tmp_path / "c" / "snapshots" / "cluster_programme" / "firms.parquet")
    assert run.main(["report", str(tmp_path / "c"), "--out", str(tmp_path / "rep")]) == 0
    firms = pd.read_csv(tmp_path / "rep" / "firms.csv")
    assert set(firms["scenario"]) == {"cluster", "cluster_programme"}
    assert "Northfield Machine Tools AG" in set(firms["name"]) or "Elmbrook Agricultural Machinery Ltd" in set(
        firms["name"])  # a leading firm (one may have closed)
    from openpyxl import load_workbook

    assert "firms" in load_workbook(tmp_path / "rep" / "report.xlsx", read_only=True).sheetnames


def test_the_survey_sets_the_start_as_documented(tmp_path):
    model = make_model(load_scenario(write(tmp_path)), rng=3)
    st, names = model.state, model.names
    row = {v: k for k, v in names.items()}
    a, b, c, d = (row[n] for n in ("Alpha Castings", "Beta Parts", "Gamma Machines", "Delta Parts"))
    e = st.n_edges
    src = np.empty(2 * e, dtype=np.int64)
    src[0::2], src[1::2] = st.ua[:e], st.ub[:e]
    scaled = lambda x: (x - 1) / 6  # noqa: E731 - answers on 1-7 to [0, 1]
    assert np.allclose(st.trust[: 2 * e][src == a], 1.0) and np.allclose(st.trust[: 2 * e][src == b], 0.0)
    assert np.allclose(st.trust[: 2 * e][src == d], model.params.trust.initial)  # no answer: the default
    assert st.mean_trust[a] == 1.0 and st.mean_trust[c] == pytest.approx(0.5)
    assert st.commitment[a] == pytest.approx(scaled(6)) and st.partner_commitment[a] == pytest.approx(scaled(6))
    assert st.commitment[b] == model.params.trust.commitment_initial
    assert np.allclose(st.comm[: 2 * e][src == a], scaled(5)) and np.allclose(st.opp[: 2 * e][src == b], 1.0)
    assert st.disposition[a] == pytest.approx(scaled(6))
    # shared values 7: on the neutral culture; 1: half a unit away in every dimension
    assert np.allclose(st.values[a], 0.5) and np.allclose(np.abs(st.values[b] - 0.5), 0.5)
    # sizes rescaled to the mean enterprise (30 employees), energy where given, product groups from the value chain
    assert st.capacity[a] == pytest.approx(40 / 30) and st.capacity[c] == pytest.approx(10.0)
    assert st.energy_intensity[a] == 1.5 and st.kind[c] == LEADING
    assert [int(st.product_group[i]) for i in (a, b, c, d)] == [0, 1, 2, 1]
    assert model.params.firms.n_product_groups == 3
    # contracts from trade.csv only; volumes relative to their mean
    pair = {frozenset((int(x), int(y))): u for u, (x, y) in enumerate(zip(st.ua[:e], st.ub[:e]))}
    assert st.contract_left[pair[frozenset((a, b))]] > 0 and st.contract_left[pair[frozenset((b, c))]] > 0
    assert st.contract_left[pair[frozenset((a, d))]] == 0 and st.contract_left[pair[frozenset((d, c))]] == 0
    assert st.volume[pair[frozenset((b, c))]] == pytest.approx(20 / (35 / 3))
    assert st.volume[pair[frozenset((d, c))]] == 1.0
    # the organization: the associations coordinate their members, C coordinates B
    assoc = {names[i]: i for i in range(st.n_nodes) if i not in (a, b, c, d)}
    assert frozenset((assoc["Chamber"], a)) in pair and frozenset((assoc["Institute"], d)) in pair
    assert frozenset((c, b)) in pair and frozenset((assoc["Chamber"], d)) not in pair
    assert st.assoc_of[c] == -1 and st.assoc_of[d] == assoc["Institute"]


def test_a_generated_organization_is_laid_over_the_data(tmp_path):
    base = load_scenario(EXAMPLE / "cluster.toml")
    cluster = read_cluster(base.data)
    for kind in ("star", "hierarchical", "chain", "network"):
        model = make_model(base.with_overrides({"structure.kind": kind}), rng=2)
        st = model.state
        n_a = len(cluster.assoc_names)
        rows = np.arange(n_a, n_a + cluster.n)
        assert (st.kind[rows] == cluster.kind).all() and (st.assoc_of[rows] == np.where(
            cluster.assoc_of >= 0, cluster.assoc_of, -1)).all()
        e = st.n_edges
        ua, ub = st.ua[:e], st.ub[:e]
        to_assoc = ua < n_a
        # an association link goes to the firm's own association
        assert (st.assoc_of[ub[to_assoc]] == ua[to_assoc]).all()
        if kind == "star":
            assert to_assoc.sum() == (cluster.assoc_of >= 0).sum()
        if kind == "hierarchical":
            assert (st.tier[rows][cluster.kind == LEADING] == 0).all()
        model.run_for(2)


# --------------------------------------------------------------------------- bad files


#: Corruptions of the good files: (file, what to do) -> (file, row, column) the message must name.
def _corrupt(kind: str, r: int, tmp: Path):
    firms = [list(x) for x in FIRMS]
    trade = [list(x) for x in TRADE]
    org = [list(x) for x in ORG]
    files = {"firms": firms, "trade": trade, "organization": org}
    if kind == "number":
        col = ["employees", "energy_intensity", "trust"][r % 3]
        firms[1 + r % 4][firms[0].index(col)] = "lots"
        where = ("firms.csv", 2 + r % 4, col)
    elif kind == "range":
        col = ["trust", "commitment", "opportunism", "energy_intensity", "employees"][r % 5]
        firms[1 + r % 4][firms[0].index(col)] = "-3"
        where = ("firms.csv", 2 + r % 4, col)
    elif kind == "kind":
        firms[1 + r % 4][2] = "boss"
        where = ("firms.csv", 2 + r % 4, "kind")
    elif kind == "group":
        firms[1 + r % 4][4] = "plastics"
        where = ("firms.csv", 2 + r % 4, "product_group")
    elif kind == "duplicate_id":
        firms.append(list(firms[1 + r % 4]))
        where = ("firms.csv", len(firms), "id")
    elif kind == "column":
        name = ["firms", "trade", "organization"][r % 3]
        rows = files[name]
        j = r % len(rows[0])
        bad = rows[0][j] + "x"
        rows[0][j] = bad
        where = (f"{name}.csv", 1, bad)
    elif kind == "unknown_id":
        name = ["trade", "organization"][r % 2]
        rows = files[name]
        i = 1 + r % (len(rows) - 1)
        j = (r // 2) % 2
        rows[i][j] = "Nobody"
        where = (f"{name}.csv", i + 1, rows[0][j])
    elif kind == "self_link":
        name = ["trade", "organization"][r % 2]
        rows = files[name]
        rows.append(["B", "B"] + [""] * (len(rows[0]) - 2))
        where = (f"{name}.csv", len(rows), rows[0][1])
    elif kind == "repeat":
        name = ["trade", "organization"][r % 2]
        rows = files[name]
        src = list(rows[1 + r % (len(rows) - 1)])
        if r % 3 == 0:
            src[0], src[1] = src[1], src[0]
        rows.append(src)
        where = (f"{name}.csv", len(rows), rows[0][0])
    elif kind == "contract":
        trade[1 + r % 4][3] = "maybe"
        where = ("trade.csv", 2 + r % 4, "contract")
    elif kind == "extra_cell":
        name = ["firms", "trade", "organization"][r % 3]
        rows = files[name]
        i = 1 + r % (len(rows) - 1)
        rows[i] = rows[i] + [""] * (r % 2) + ["stray, text"]  # a blank extra cell before it is no problem
        where = (f"{name}.csv", i + 1, str(len(rows[0]) + 1 + r % 2))
    elif kind == "short_row":
        name = ["firms", "trade", "organization"][r % 3]
        rows = files[name]
        i = 1 + r % (len(rows) - 1)
        k = 1 + (r // 3) % (len(rows[0]) - 1)  # the first cell (an id) is kept, so the row is not blank
        rows[i] = rows[i][:k]
        where = (f"{name}.csv", i + 1, rows[0][k])
    else:  # blank id
        firms[1 + r % 4][0] = ""
        where = ("firms.csv", 2 + r % 4, "id")
    return write(tmp, firms, trade, org), where


KINDS = ["number", "range", "kind", "group", "duplicate_id", "column", "unknown_id", "self_link", "repeat",
         "contract", "blank", "extra_cell", "short_row"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), r=st.integers(0, 60))
def test_every_bad_file_is_named_with_its_row_and_column(tmp_path_factory, kind, r):
    tmp = tmp_path_factory.mktemp("bad")
    scenario, (name, row, col) = _corrupt(kind, r, tmp)
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    pattern = rf"{re.escape(name)}: row {row}, column {re.escape(col)}: "
    assert re.search(pattern, str(err.value)), (kind, pattern, str(err.value))


def test_a_short_row_names_the_columns_it_lacks(tmp_path):
    firms = [list(x) for x in FIRMS]
    firms[2] = firms[2][:4]
    with pytest.raises(ScenarioError, match=r"firms.csv: row 3, column product_group: 4 cell\(s\) where the header "
                                            r"has 13: no cell for column\(s\) product_group, association, "):
        load_scenario(write(tmp_path, firms=firms))


def test_a_semicolon_separated_file_is_named_as_such(tmp_path):
    scenario = write(tmp_path)
    firms = tmp_path / "c" / "firms.csv"
    firms.write_text("\n".join(";".join(row) for row in FIRMS) + "\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert "firms.csv: row 1: the cells are separated by semicolons" in str(err.value)
    assert "unknown column" not in str(err.value) and "comma delimited" in str(err.value)


def test_an_unknown_id_suggests_only_the_same_id_in_other_case(tmp_path):
    trade = [list(x) for x in TRADE] + [["E", "C", "", ""], ["a", "C", "", ""]]
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, trade=trade))
    assert "row 6, column supplier: unknown id 'E'; expected" in str(err.value)  # no look-alike firm offered
    assert "row 7, column supplier: unknown id 'a' (did you mean 'A'?)" in str(err.value)


def test_arms_sharing_a_data_folder_list_its_problems_once_under_both(tmp_path, capsys):
    scenario, _ = _corrupt("unknown_id", 1, tmp_path)
    other = tmp_path / "t.toml"
    other.write_text(SCENARIO + "[information]\ndigitalization = 0.5\n")
    assert run.main(["compare", str(scenario), str(other), "--replicates", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("organization.csv: row") == 1 and f"compare arms {scenario}, {other}:" in err, err
    assert not (tmp_path / "o").exists()


def test_bad_data_exits_2_and_writes_nothing(tmp_path, capsys):
    scenario, _ = _corrupt("unknown_id", 1, tmp_path)
    for cmd in (["validate", str(scenario)], ["run", str(scenario), "--out", str(tmp_path / "out")],
                ["compare", str(EXAMPLE / "cluster.toml"), str(scenario), "--replicates", "1",
                 "--out", str(tmp_path / "cmp")]):
        assert run.main(cmd) == 2
        assert "organization.csv: row" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cmp").exists()


def test_wrong_columns_of_an_edge_list_fail_validate(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("from,to\nA,B\nB,C\n")
    (tmp_path / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n')
    assert run.main(["validate", str(tmp_path / "s.toml")]) == 2
    assert "missing required column(s) source, target" in capsys.readouterr().err


def test_rows_of_an_edge_list_with_extra_cells_are_named(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("source,target\nA,B\nB,C,x\nC,D\nD,A,,y\n")
    (tmp_path / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n')
    assert run.main(["validate", str(tmp_path / "s.toml")]) == 2
    out = "".join(capsys.readouterr())
    assert "e.csv: structure.edge_list_path: row 3, column 3: 1 cell(s) beyond" in out
    assert "row 5, column 4: 1 cell(s) beyond" in out and "tokenizing" not in out


def test_the_reviewers_edge_list_is_refused_row_by_row(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("source,target\n0,1\n1,2\n0,1\n2,\n1,1\n2,1\n")
    (tmp_path / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n')
    assert run.main(["validate", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    for row, col, words in ((4, "source", "0 -> 1 repeats the link of row 2"), (5, "target", "empty"),
                            (6, "target", "self-link"), (7, "source", "2 -> 1 is the reverse of the link of row 3")):
        assert f"e.csv: structure.edge_list_path: row {row}, column {col}: {words}" in err, err


def test_a_node_types_file_gets_the_same_row_checks(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("source,target\nA,B\nB,C\nC,D\n")
    (tmp_path / "t.csv").write_text("id,kind\nA,leading_firm\n,association\nA,enterprise\nB,boss\n")
    (tmp_path / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n'
                                     'edge_list_types_path = "t.csv"\n')
    assert run.main(["validate", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    assert "t.csv: structure.edge_list_types_path: row 3, column id: empty" in err
    assert "row 4, column id: id 'A' repeats the node of row 2" in err and "row 5, column kind: unknown kind" in err


NODE = st.sampled_from(["A", "B", "C", "D", ""])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(NODE, NODE), min_size=1, max_size=8))
def test_an_edge_list_passes_exactly_when_its_rows_are_clean(tmp_path, rows):
    from sim.scenario import Scenario
    from sim.structures import build_structure

    path = tmp_path / "e.csv"
    path.write_text("source,target\n" + "".join(f"{a},{b}\n" for a, b in rows))
    rows = [r for r in rows if any(r)]  # a row of blank cells is a blank line, skipped as in a spreadsheet
    pairs = [frozenset(r) for r in rows if all(r)]
    clean = all(a and b and a != b for a, b in rows) and len(set(pairs)) == len(pairs)
    params = Scenario().with_overrides({"structure.kind": "edge_list", "structure.edge_list_path": str(path)})
    try:
        s = build_structure(params.structure, np.random.default_rng(0))
    except ScenarioError as exc:
        assert not clean or len({x for r in rows for x in r}) < 3, str(exc)
        assert clean or re.search(r"e\.csv: structure\.edge_list_path: row \d+, column (source|target): ", str(exc))
        assert "'nan'" not in str(exc)
    else:
        assert clean and len(s.edges) == len(pairs) and "" not in s.labels and "nan" not in s.labels


def test_names_in_the_value_chain_need_an_order_and_scale_must_rise(tmp_path):
    scenario = write(tmp_path)
    scenario.write_text('[structure]\nkind = "data"\n[data]\nfolder = "c"\n')
    with pytest.raises(ScenarioError, match=r"firms.csv: row 2, column product_group: .*value_chain"):
        load_scenario(scenario)
    scenario.write_text(SCENARIO + "survey_scale = [7, 1]\n")
    with pytest.raises(ScenarioError, match="survey_scale"):
        load_scenario(scenario)


def test_a_data_scenario_may_not_change_its_data_on_the_timeline(tmp_path):
    scenario = write(tmp_path)
    scenario.write_text(SCENARIO + '[[policy]]\nat = 5\nset = { "data.folder" = "other" }\n')
    with pytest.raises(ScenarioError, match="read once"):
        load_scenario(scenario)


def test_the_example_data_is_what_its_script_writes(tmp_path):
    """The committed files are the script's output (the script is the example's provenance)."""
    import importlib.util

    copy = tmp_path / "cluster"
    shutil.copytree(EXAMPLE, copy)
    spec = importlib.util.spec_from_file_location("make_data", copy / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main()
    for name in ("firms.csv", "trade.csv", "organization.csv"):
        assert (copy / "data" / name).read_text() == (EXAMPLE / "data" / name).read_text(), name


@pytest.mark.slow
def test_the_example_targets_are_what_their_script_reads_from_the_current_model():
    """The targets files name the run they were read from; after a change of the model's results, run
    examples/make_targets.py again."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_targets", ROOT / "examples" / "make_targets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for path, text in mod.texts().items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: run examples/make_targets.py"


def test_data_paths_are_relative_to_the_file_that_names_them(tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "mine.toml").write_text(f'extends = "{EXAMPLE / "cluster.toml"}"\n[run]\nsteps = 5\n')
    scenario = load_scenario(other / "mine.toml")
    assert Path(scenario.data.folder) == (EXAMPLE / "data").resolve()
    assert read_cluster(scenario.data).n == 80


def test_rows_are_counted_as_a_spreadsheet_counts_them(tmp_path):
    """A blank line is a row (and is skipped); a short row's missing cells are blank."""
    scenario = write(tmp_path)
    trade = (tmp_path / "c" / "trade.csv").read_text().splitlines()
    (tmp_path / "c" / "trade.csv").write_text("\n".join([*trade[:2], "", "A,Q", *trade[2:]]) + "\n")
    firms = (tmp_path / "c" / "firms.csv").read_text().splitlines()
    firms[2] = "B,Beta"
    (tmp_path / "c" / "firms.csv").write_text("\n".join(firms) + "\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    assert "firms.csv: row 3, column product_group: empty" in str(err.value)
    assert "trade.csv: row 4, column buyer: unknown id 'Q'" in str(err.value)


def test_a_row_with_extra_cells_is_one_problem_among_the_others(tmp_path):
    firms = [list(r) for r in FIRMS]
    firms[2] = firms[2] + ["Ltd", "x"]  # an unquoted comma in a name shifts the row
    firms[3][firms[0].index("trust")] = "high"
    scenario = write(tmp_path, firms=firms)
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario)
    msg = str(err.value)
    assert "firms.csv: row 3, column 14: 2 cell(s) beyond the header's 13 columns, the first 'Ltd'" in msg
    assert "firms.csv: row 4, column trust: 'high' is not a number" in msg
    assert "tokenizing" not in msg


def _edit_trust(folder: Path) -> None:
    """Change one firm's trust answer in ``folder``'s firms.csv."""
    path = folder / "firms.csv"
    rows = list(csv.reader(path.open(newline="")))
    j = rows[0].index("trust")
    rows[1][j] = "1" if rows[1][j] != "1" else "7"
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_an_edited_data_file_is_another_job_not_a_finished_one(tmp_path, capsys, command):
    scenario = write(tmp_path)
    out = tmp_path / "out"
    cmd = ([command, str(scenario), "--replicates", "1", "--steps", "2", "--out", str(out)]
           + (["--no-report"] if command == "compare" else ["--param", "trust.speed=0.1,0.2"]))
    assert run.main(cmd) == 0
    assert run.main(cmd) == 0
    assert "nothing to do" in capsys.readouterr().out  # unchanged files: the finished job is kept
    _edit_trust(tmp_path / "c")
    assert run.main(cmd) == 2
    assert "differs in: data_files" in capsys.readouterr().err
    digests = json.loads((out / "manifest.json").read_text())["identity"]["data_files"]
    assert set(next(iter(digests.values()))) == {"firms", "trade", "organization"}


def test_an_edited_data_file_is_another_calibration(tmp_path):
    from runner.calibrate import calibrate

    scenario = write(tmp_path)
    targets = tmp_path / "t.toml"
    targets.write_text('[[target]]\nkpi = "mean_trust"\nstatistic = "at"\nstep = 2\nvalue = 0.5\nse = 0.05\n')
    kwargs = dict(population=10, generations=1, ppc=0, quiet=True, seed=1, steps=2)
    with pytest.raises(ScenarioError, match="structure.mean_degree: not used with"):
        calibrate(scenario, targets, ["structure.mean_degree=2:4"], tmp_path / "no", **kwargs)
    assert not (tmp_path / "no").exists()
    first = calibrate(scenario, targets, ["trust.speed=0.1:0.3"], tmp_path / "cal", **kwargs)
    again = calibrate(scenario, targets, ["trust.speed=0.1:0.3"], tmp_path / "cal", **kwargs)
    assert again.simulations == first.simulations  # unchanged files: the finished calibration is kept
    _edit_trust(tmp_path / "c")
    with pytest.raises(ScenarioError, match="holds another job"):
        calibrate(scenario, targets, ["trust.speed=0.1:0.3"], tmp_path / "cal", **kwargs)


def test_an_edited_edge_list_is_another_job(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("source,target\nA,B\nB,C\nC,D\nD,A\n")
    (tmp_path / "s.toml").write_text('[structure]\nkind = "edge_list"\nedge_list_path = "e.csv"\n')
    cmd = ["compare", str(tmp_path / "s.toml"), "--replicates", "1", "--steps", "2", "--out", str(tmp_path / "o"),
           "--no-report"]
    assert run.main(cmd) == 0
    (tmp_path / "e.csv").write_text("source,target\nA,B\nB,C\nC,D\nD,B\n")
    assert run.main(cmd) == 2
    assert "differs in: data_files" in capsys.readouterr().err


def test_fields_the_data_decides_warn_and_cannot_be_swept(tmp_path, capsys):
    from runner.cost import estimate
    from sim.data import DataWarning

    scenario = write(tmp_path)
    scenario.write_text(SCENARIO.replace('kind = "data"', 'kind = "data"\nn_firms = 500\nmean_degree = 4')
                        + "[firms]\nn_product_groups = 3\n")
    with pytest.warns(DataWarning) as got:
        s = load_scenario(scenario, {"structure.n_leading": 7})
    lines = sorted(str(w.message) for w in got)
    assert len(lines) == 3, lines  # n_product_groups = 3 is what the value chain gives: no surprise
    assert "structure.n_firms = 500: not used with [data]: the cluster has 4 firms from" in lines[1]
    assert "structure.n_leading = 7: not used with [data]: the cluster has 1 leading firm(s)" in lines[2]
    assert "structure.mean_degree = 4: not used with [data]: structure.kind = 'data'" in lines[0]
    assert estimate([s], 1, 10, 1).model_gb < estimate([s.model_copy(update={"data": type(s.data)()})], 1, 10, 1).model_gb
    assert run.main(["validate", str(scenario)]) == 0
    assert "warning: " in capsys.readouterr().err
    for key in ("structure.n_firms=50,100", "structure.n_associations=1,2", "firms.n_product_groups=2,5",
                "structure.mean_degree=2,3"):
        assert run.main(["sweep", str(scenario), "--param", key, "--steps", "2", "--out", str(tmp_path / "o")]) == 2
        assert f"--param {key.split('=')[0]}: not used with [data]" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert run.main(["validate", str(EXAMPLE / "cluster.toml")]) == 0  # baseline's n_firms is not the example's
    assert "warning" not in capsys.readouterr().err


def test_the_data_kind_needs_its_organization_file(tmp_path):
    scenario = write(tmp_path)
    (tmp_path / "c" / "organization.csv").unlink()
    with pytest.raises(ScenarioError, match="structure.kind = 'data' takes the marketing organization"):
        load_scenario(scenario)
    assert load_scenario(scenario, {"structure.kind": "star"}).structure.kind == "star"


@pytest.mark.slow
def test_the_example_calibrates_and_its_posterior_carries_into_the_programme_comparison(tmp_path):
    """The README's chain on the example, small: calibrate against targets.toml, then compare the programme with
    the parameters drawn from the posterior."""
    code = run.main(["calibrate", str(EXAMPLE / "cluster.toml"), "--targets", str(EXAMPLE / "targets.toml"),
                     "--steps", "24", "--param", "firms.cooperativeness=0.3:0.95", "--param", "trust.speed=0.05:0.5",
                     "--param", "mechanisms.contract.formation_rate=0.01:0.2", "--population", "10",
                     "--generations", "1", "--ppc", "0", "--jobs", "2", "--quiet", "--out", str(tmp_path / "cal")])
    assert code == 0
    post = pd.read_parquet(tmp_path / "cal" / "posterior.parquet")
    assert {"firms.cooperativeness", "trust.speed", "mechanisms.contract.formation_rate"} <= set(post.columns)
    code = run.main(["compare", str(EXAMPLE / "cluster.toml"), str(EXAMPLE / "cluster_programme.toml"),
                     "--set", f"uncertain.posterior={tmp_path / 'cal' / 'posterior.parquet'}", "--reference", "cluster",
                     "--replicates", "4", "--steps", "40", "--jobs", "2", "--no-report", "--out", str(tmp_path / "c")])
    assert code == 0
    runs = pd.read_parquet(tmp_path / "c" / "results.parquet")
    assert len(runs) == 8


def test_a_wrong_data_folder_names_the_field_and_the_closest_folder(capsys):
    assert run.main(["validate", str(EXAMPLE / "cluster.toml"), "--set", "data.folder=dat"]) == 2
    err = capsys.readouterr().err
    assert "data.folder = 'dat': folder not found" in err and "(did you mean 'data'?)" in err
    assert run.main(["validate", str(EXAMPLE / "cluster.toml"), "--set", "data.firms=data/firm.csv"]) == 2
    assert "data.firms = 'data/firm.csv': file not found" in capsys.readouterr().err
