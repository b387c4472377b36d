"""Write the examples' observed targets from one run of the model they describe (synthetic observations).

    python examples/make_targets.py        (rewrites examples/calibration/targets.toml, examples/cluster/targets.toml)

Each file is read from one seeded run of its scenario at the scenario's own parameter values and rounded as
a survey or a register would report it: the README's calibrations then have something real to fit, and the
values they should recover are the scenario's. Run it again after a change of the model's results.
The standard errors are the observation's, not the run's: a survey mean's error (its sample and scale) or
a share's stays as stated; a count's is its Poisson error, the square root of the count rounded to 0.5.
"""

from __future__ import annotations

import math
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from anywhere in a checkout

from runner.chunks import run_model  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.targets import targets_from_dict  # noqa: E402

#: One file each: its header, the run it is read from, and its targets. A target is the targets file's fields
#: (value and error left out) plus how it is rounded (``digits``), its error (``se``, ``half_width`` of a 95 %
#: interval or ``count`` for a Poisson error) and comments on its lines (``note``, by field).
FILES = [
    {
        "out": HERE / "calibration" / "targets.toml",
        "scenario": HERE.parent / "scenarios" / "baseline.toml", "set": {"structure.n_firms": 40},
        "seed": 2024, "steps": 36,
        "header": """\
# Observed targets of a cluster of about 40 firms, three years (36 monthly steps) after the survey's start.
# Synthetic: read from one run of scenarios/baseline.toml with 40 firms (seed 2024, 36 steps, the scenario's own
# parameter values) by examples/make_targets.py and rounded, so that the README's calibration has something
# real to fit; replace the values with your own observations.
# Fields: kpi (a KPI of sim/kpis.py) or construct (a survey construct, with the survey's scale),
# statistic (at | mean | sum | trend), step or window = [first, last], value, and se or interval (+ level).
""",
        "targets": [
            {"name": "trust_survey", "construct": "trust", "scale": [1, 7], "statistic": "at", "step": 36,
             "digits": 1, "half_width": 0.3,
             "note": {"construct": "mean answer of the members to the trust items",
                      "scale": "Likert 1-7, mapped onto the model's 0-1 index",
                      "interval": "95 % interval of the survey mean"}},
            {"name": "joint_marketing_share", "kpi": "cooperation_rate", "statistic": "mean", "window": [25, 36],
             "digits": 2, "se": 0.04, "note": {"kpi": "share of firms in joint marketing, averaged over the last year"}},
            {"name": "commitment_survey", "construct": "commitment", "scale": [1, 7], "statistic": "at", "step": 36,
             "digits": 1, "se": 0.25},
            {"name": "entries_three_years", "kpi": "entries", "statistic": "sum", "window": [1, 36], "digits": 0,
             "count": True, "note": {"kpi": "firms that joined over the three years", "se": "Poisson error of the count"}},
        ],
    },
    {
        "out": HERE / "cluster" / "targets.toml",
        "scenario": HERE / "cluster" / "cluster.toml", "set": {}, "seed": 2025, "steps": 24,
        "header": """\
# Observed targets of the example cluster (examples/cluster/cluster.toml) two years after its survey: a second
# survey wave at month 24, the share of firms in joint marketing over the second year and the contracts then in
# force. Synthetic: read from one run of cluster.toml at its own parameter values (seed 2025, 24 steps) by
# examples/make_targets.py and rounded, so that the README's calibration has something to fit; replace the
# values with your own observations.
# The first survey wave is not a target: firms.csv's answers are the cluster's start.
""",
        "targets": [
            {"name": "trust_wave2", "construct": "trust", "scale": [1, 7], "statistic": "at", "step": 24,
             "digits": 1, "se": 0.15, "note": {"se": "standard error of a 60-firm survey mean on 1-7"}},
            {"name": "commitment_wave2", "construct": "commitment", "scale": [1, 7], "statistic": "at", "step": 24,
             "digits": 1, "se": 0.16},
            {"name": "joint_marketing_share", "kpi": "cooperation_rate", "statistic": "mean", "window": [13, 24],
             "digits": 2, "se": 0.04, "note": {"kpi": "share of firms paying into joint marketing, second year"}},
            {"name": "contracts_month_24", "kpi": "contracts_active", "statistic": "at", "step": 24, "digits": 0,
             "count": True, "note": {"kpi": "supply contracts in force (the chamber's register)",
                                        "se": "Poisson error of the count"}},
        ],
    },
]

_FIELDS = ("name", "kpi", "construct", "scale", "statistic", "step", "window")


def _toml(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def observed(spec: dict) -> list[dict]:
    """Each target's fields with its value and error, read from the file's run."""
    scenario = load_scenario(spec["scenario"], spec["set"] or None)
    _, frame = run_model(scenario, spec["seed"], spec["steps"])
    rows = []
    for t in spec["targets"]:
        fields = {k: t[k] for k in _FIELDS if k in t}
        # the statistic on the model's scale, via a target of placeholder value on the same scale
        probe = targets_from_dict({"target": [{**fields, "value": t.get("scale", [0, 1])[0], "se": 1.0}]})[0]
        v = probe.of(frame)
        if "scale" in t:
            lo, hi = t["scale"]
            v = lo + v * (hi - lo)
        v = round(v, t["digits"]) if t["digits"] else int(round(v))
        if t.get("count"):
            err = {"se": max(0.5, round(2 * math.sqrt(v)) / 2)}
        elif "half_width" in t:
            err = {"interval": [round(v - t["half_width"], 2), round(v + t["half_width"], 2)], "level": 0.95}
        else:
            err = {"se": t["se"]}
        rows.append({**fields, "value": v, **err, "note": t.get("note", {})})
    return rows


def render(spec: dict, rows: list[dict]) -> str:
    """The targets file: header, then one ``[[target]]`` table per row, comments aligned."""
    parts = [spec["header"]]
    for row in rows:
        note = row.pop("note")
        out = []
        for k, v in row.items():
            line = f"{k} = {_toml(v)}"
            out.append(f"{line:<32} # {note[k]}" if k in note else line)
        parts.append("\n[[target]]\n" + "\n".join(out) + "\n")
    return "".join(parts)


def texts() -> dict[Path, str]:
    """Each targets file's text, checked as a targets file, by path."""
    out = {}
    for spec in FILES:
        out[spec["out"]] = text = render(spec, observed(spec))
        targets_from_dict(tomllib.loads(text), str(spec["out"]))
    return out


def main() -> None:
    for path, text in texts().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
