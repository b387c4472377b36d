"""Analysis of clustercoop results: statistics, scorecard, sensitivity, figures and the report.

Reads result folders only (``results.parquet``, ``timeseries.parquet``, ``manifest.json``)::

    from analysis.report import build_report
    build_report("out/cmp", "out/cmp/report", reference="baseline")
"""
