"""headline.csv and report.xlsx: rounding per unit, marks, and the workbook read back with openpyxl."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import run
from analysis.export import HEADLINE_CSV, WORKBOOK, rounded, rounded_text
from analysis.report import build_report
from sim import kpis as registry
from tests.conftest import three_arms


def test_rounding_follows_the_unit():
    assert rounded(0.90549, registry.SHARE) == 0.905 and rounded(0.7567, registry.INDEX) == 0.757
    assert rounded(209.6873, "firms") == 209.7 and rounded(77.3651, "MU per step") == 77.37
    assert rounded(3.28449, "MU per step") == 3.284 and rounded(12345.6, "MU per step") == 12350
    assert rounded(-0.0123456, "MU per MU spent") == -0.01235 and rounded(0.0, "firms") == 0.0
    assert rounded(math.nan, "firms") is None and rounded(math.inf, registry.SHARE) is None
    assert rounded_text(0.91, registry.SHARE) == "0.910" and rounded_text(12.6, "MU per step") == "12.60"
    assert rounded_text(12345.6, "MU per step") == "12350" and rounded_text(math.nan, None) == ""


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("exp")
    arms = three_arms(tmp)
    results = tmp / "out"
    assert run.main(["compare", *map(str, arms), "--replicates", "5", "--seed", "8", "--no-report", "--quiet",
                     "--out", str(results)]) == 0
    report = tmp / "rep"
    assert build_report(results, report, reference="base") == report / "report.html"
    return results, report


def _sheet(wb, name: str) -> pd.DataFrame:
    rows = list(wb[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_the_report_writes_both_files_next_to_report_html(folders):
    _, report = folders
    assert (report / HEADLINE_CSV).is_file() and (report / WORKBOOK).is_file()
    page = (report / "report.html").read_text()
    assert HEADLINE_CSV in page and WORKBOOK in page


def test_headline_csv_is_rounded_and_marked_like_the_report(folders):
    _, report = folders
    csv = pd.read_csv(report / HEADLINE_CSV, dtype=str, keep_default_na=False)
    summary = pd.read_csv(report / "summary.csv")
    assert list(csv["scenario"]) == ["base", "no_reg", "digital"]
    kpis = [c.split(" ")[0] for c in csv.columns if c.endswith(" vs base")]
    assert "cooperation_rate" in kpis and "cooperation_rate (share 0-1)" in csv.columns
    for k in kpis:
        unit = registry.kpi(k).unit
        for _, row in csv.iterrows():
            s = summary[(summary["scenario"] == row["scenario"]) & (summary["kpi"] == k)].iloc[0]
            assert row[f"{k} ({unit})"] == rounded_text(s["mean"], unit)
            assert row[f"{k} 95% low"] == rounded_text(s["ci_low"], unit)
            if unit in (registry.SHARE, registry.INDEX):
                assert len(row[f"{k} ({unit})"].split(".")[1]) == 3
            mark = row[f"{k} vs base"]
            if row["scenario"] == "base":
                assert mark == "reference"
                continue
            if not s["significant"]:
                assert mark == "indistinguishable"
            else:
                better = registry.higher_is_better(k)
                want = ("higher" if s["diff"] > 0 else "lower") if better is None else (
                    "better" if (s["diff"] > 0) == better else "worse")
                assert mark == want
    marks = set(csv[[c for c in csv.columns if c.endswith(" vs base")]].to_numpy().ravel())
    assert {"better", "worse"} & marks and "indistinguishable" in marks  # both kinds occur in this comparison


def test_workbook_reads_back_with_its_sheets_units_and_values(folders):
    results, report = folders
    wb = load_workbook(report / WORKBOOK)
    assert wb.sheetnames == ["headline", "differences", "runs", "per_step", "notes"]
    # headline: the CSV's numbers, as numbers
    head, csv = _sheet(wb, "headline"), pd.read_csv(report / HEADLINE_CSV)
    pd.testing.assert_frame_equal(head, csv, check_dtype=False)
    assert wb["headline"]["B2"].number_format == "0.000"
    # runs: every run, units in the headers, seeds exact
    runs = pd.read_parquet(results / "results.parquet")
    sheet = _sheet(wb, "runs")
    assert len(sheet) == len(runs) and "cooperation_rate_mean (share 0-1)" in sheet.columns
    assert "profit_final (MU per step)" in sheet.columns
    assert [int(s) for s in sheet["seed"]] == [int(s) for s in runs["seed"]]
    np.testing.assert_allclose(sheet["cooperation_rate_mean (share 0-1)"].astype(float),
                               runs["cooperation_rate_mean"], rtol=1e-15)
    # per_step: the mean over replicates at every step
    ts = pd.read_parquet(results / "timeseries.parquet")
    steps = _sheet(wb, "per_step")
    assert len(steps) == ts.groupby(["scenario", "step"]).ngroups
    want = ts.groupby(["scenario", "step"])["members"].mean()
    got = steps.set_index(["scenario", "step"])["members (firms)"]
    np.testing.assert_allclose(got.loc[want.index].to_numpy(float), want.to_numpy(), rtol=1e-12)
    # differences: adjusted interval beside its verdict; no cell holds a NaN
    diffs = _sheet(wb, "differences")
    excludes = (diffs["ci_low"] > 0) | (diffs["ci_high"] < 0)
    tested = diffs["p_value"].notna() & (diffs["ci_high"] > diffs["ci_low"])
    assert (excludes[tested] == diffs.loc[tested, "comparison"].isin(["better", "worse", "higher", "lower"])).all()
    for name in wb.sheetnames:
        for row in wb[name].iter_rows(values_only=True):
            assert not any(isinstance(v, float) and not math.isfinite(v) for v in row)
    assert "Holm" in " ".join(_sheet(wb, "notes")["notes"])
