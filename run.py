"""clustercoop command line: validate, run, sweep, compare, compare-main, report, discover, robust, calibrate, viz.

Thin by design: it parses arguments and calls ``runner``, ``analysis`` and
``viz.server``. Bad input raises ``ScenarioError`` (exit status 2); a failure of
the machinery under valid input (a Dask scheduler that does not answer, a file
system that fails mid-run) raises ``RunnerError`` (exit status 3). Both are
caught once in :func:`main` and turned into a message on stderr.

Over 500 lines on purpose: every command's options, help and exit status stay in the one file a user's
``run.py --help`` points to; each command's work lives in ``runner`` and ``analysis``.

Examples:
    python run.py validate scenarios/
    python run.py validate scenarios/baseline.toml --set structure.kind=star --set run.steps=120
    python run.py run scenarios/star.toml --seed 7 --steps 50 --out out/star
    python run.py sweep scenarios/baseline.toml --param mechanisms.regulation.sanction=0:2:5 \\
        --param information.digitalization=0.1,0.5,0.9 --replicates 4 --jobs 2 --out out/sweep
    python run.py compare scenarios/star.toml scenarios/chain.toml --replicates 10 --out out/cmp
    python run.py compare scenarios/baseline.toml scenarios/baseline.toml@information.digitalization=0.8 \\
        --set run.steps=60 --replicates 10 --out out/dose
    python run.py discover out/sweep --kpi cooperation_rate --below 0.6
    python run.py robust examples/robust/policies.toml examples/robust/uncertainties.toml --samples 32 --out out/rob
    python run.py calibrate scenarios/baseline.toml --targets examples/calibration/targets.toml \
        --param firms.cooperativeness=0.2:1.0 --param trust.speed=0.02:0.5 --jobs 2 --out out/cal
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from functools import partial
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_INFRASTRUCTURE = 3
EXIT_INTERRUPTED = 130


#: Longest line of an error message; a huge value given on the command line is quoted by a prefix only.
MAX_LINE = 400


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


_SHOW_WARNING = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A scenario field the model does not use (``sim.data.DataWarning``) or cannot use behind a closed gate
    (``sim.gates.GateWarning``) as one line of its own on stderr; other warnings as Python shows them."""
    from sim.data import DataWarning
    from sim.gates import GateWarning

    if issubclass(category, (DataWarning, GateWarning)):
        _err(_short(f"warning: {message}"))
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


def _short(msg: str) -> str:
    """``msg`` with every line cut to :data:`MAX_LINE` characters, saying how much was left out."""
    return "\n".join(line if len(line) <= MAX_LINE else f"{line[:MAX_LINE]}... ({len(line) - MAX_LINE:,} more characters)"
                     for line in msg.split("\n"))


# --------------------------------------------------------------------------- commands


def _other_kind(f: Path) -> tuple[str | None, str | None] | None:
    """A TOML file that is not a scenario but another input of the tool: ``(note, problem)``, or None."""
    from runner.robust import check_robust_file, robust_file_kind
    from sim.errors import ScenarioError
    from sim.targets import is_targets_file, load_targets

    try:
        if is_targets_file(f):  # observed targets (run.py calibrate) are checked as such
            return f"{len(load_targets(f))} observed targets", None
        if robust_file_kind(f):  # run.py robust's policies and uncertainties, with their own schema
            return check_robust_file(f), None
    except ScenarioError as exc:
        return None, str(exc)
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.data import describe
    from sim.scenario import parse_overrides, validate_paths

    overrides = parse_overrides(args.set)
    checked = validate_paths(args.paths, overrides)
    notes = {}
    for i, (f, _, msg) in enumerate(checked):
        if msg and f.is_file() and (other := _other_kind(f)) is not None:
            note, problem = other
            checked[i] = (f, None, problem)
            if note:
                notes[f] = note
    bad = [(f, msg) for f, _, msg in checked if msg]
    if not args.quiet:
        for f, scenario, msg in checked:
            if not msg:
                print(f"ok       {f}" + (f" ({notes[f]})" if f in notes else ""))
                for line in describe(scenario) if scenario is not None else ():  # a data cluster: what was read
                    print(f"  {line}")
    for f, msg in bad:
        _err(f"invalid  {f}\n  " + msg.replace("\n", "\n  "))
    with_set = f" with --set {', '.join(f'{k}={v!r}' for k, v in overrides.items())}" if overrides else ""
    print(f"{len(checked) - len(bad)} valid, {len(bad)} invalid{with_set}")
    return EXIT_BAD_INPUT if bad else 0


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.tables import HEADLINE_KPIS
    from runner import run_single
    from sim.scenario import parse_overrides

    summary = run_single(args.scenario, args.out, seed=args.seed, steps=args.steps,
                         overrides=parse_overrides(args.set))
    steps = int(summary["steps"])
    print(f"{summary['scenario']}: seed {summary['seed']}, {steps} steps -> {args.out}")
    rows = [(k, _unit(k), _fixed(summary[k + "_final"]), _fixed(summary[k + "_mean"]))
            for k in HEADLINE_KPIS if f"{k}_final" in summary]
    print(_columns(("kpi", "unit", f"at step {steps}", f"mean over the second half ({_half(steps)})"), rows))
    return 0


def _fixed(x: float) -> str:
    """One number in the fixed format of every printed table: three decimals, never an exponent."""
    import math

    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.3f}"


def _unit(name: str) -> str:
    """The unit of a KPI from the registry (``""`` for a column it does not hold)."""
    from sim.kpis import kpi

    try:
        return kpi(name).unit
    except KeyError:
        return ""


def _half(steps: int) -> str:
    """The steps of a run's second half, which its ``_mean`` KPIs average (``sim.metrics.summarize``)."""
    start = min(steps // 2 + 1, steps)
    return f"steps {start}-{steps}" if start < steps else f"step {steps}"


def _run_lengths(out: Path) -> list[int]:
    """The distinct numbers of steps of a job's runs, from its time series (none if it has none)."""
    import pyarrow.parquet as pq

    try:
        ts = pq.read_table(out / "timeseries.parquet", columns=["scenario", "replicate", "step"]).to_pandas()
    except (OSError, ValueError, KeyError):
        return []
    return sorted({int(x) for x in ts.groupby(["scenario", "replicate"])["step"].max()})  # steps count from 1


def _columns(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain table: the first two columns (name, unit) aligned left, the numbers right."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = []
    for r in (header, *rows):
        cells = [str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


#: Arms side by side in one block of the compare table; more arms continue in further blocks.
ARMS_PER_BLOCK = 5


def _executor(args: argparse.Namespace):
    from runner import Executor
    from runner.cost import cores

    jobs = getattr(args, "jobs", None)
    executor = Executor(jobs=1 if jobs is None else jobs, scheduler=getattr(args, "scheduler", None),
                        dask_local=getattr(args, "dask_local", None))
    local = executor.dask_local or (executor.jobs if not executor.scheduler else 0)
    if local > cores():
        _err(f"warning: {local} workers on {cores()} cores: they take turns, each holding its own memory; "
             f"--jobs {cores()} is as fast")
    return executor


def _limits(args: argparse.Namespace):
    from runner.cost import Limits

    given = {k: getattr(args, k) for k in ("max_runs", "max_link_steps", "max_gb") if getattr(args, k) is not None}
    return Limits(**given)


def _job_options(args: argparse.Namespace) -> dict:
    """What every batch command hands its runner alike, for the options its parser has: ``--set`` as
    overrides, ``--replicates``, ``--seed``, ``--steps``, the executor, ``--quiet`` and the cost limits."""
    from sim.scenario import parse_overrides

    options = {"overrides": parse_overrides(args.set)} if "set" in args else {}
    options.update({k: getattr(args, k) for k in ("replicates", "seed", "steps") if k in args})
    options.update(executor=_executor(args), quiet=args.quiet, limits=_limits(args))
    return options


def _batch(args: argparse.Namespace, runner, *inputs, report=None, table=None, **options) -> int:
    """The shape of every batch command: run the job, say what it did, build its report, show its table.

    Bad input and failures raise (``main`` turns them into exit statuses); progress is the runner's.

    Args:
        args: the parsed command line.
        runner: the runner's function, called with ``inputs``, ``options`` and :func:`_job_options`.
        report: ``report(outcome) -> (made, line)``: builds the report; ``line`` names it (None: nothing to say).
        table: ``table(outcome, made)`` prints the command's table, unless ``--quiet``.
    """
    import pandas as pd

    outcome = runner(*inputs, **options, **_job_options(args))
    print(outcome.message)
    made, line = report(outcome) if report is not None else (None, None)
    if table is not None and not args.quiet:
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 3):
            table(outcome, made)
    if line:
        print(line)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from runner import sweep

    return _batch(args, sweep, args.scenario, args.param or [], args.out, design=args.design, samples=args.samples,
                  timeseries=args.timeseries)


def _compare_report(outcome, reference: str | None) -> tuple[None, str | None]:
    """The report of a compare folder, for :func:`_batch` (skipped with a note where analysis is missing)."""
    try:
        from analysis.report import build_report
    except ImportError as exc:
        _err(f"note: report skipped, the analysis package is not available yet ({exc})")
        return None, None
    path = _report(build_report, outcome.out, outcome.out / "report", reference)
    return None, f"report: {path} (see its Summary for verdicts)"


def _compare_table(outcome, _made, reference: str | None) -> None:
    """The headline table of a compare folder and the spread of drawn parameters, for :func:`_batch`."""
    import pandas as pd

    from analysis.tables import HEADLINE_KPIS, headline_table

    results = pd.read_parquet(outcome.out / "results.parquet")
    table = headline_table(results)
    steps = _run_lengths(outcome.out)
    when = f" ({_half(steps[0])})" if len(steps) == 1 else ""
    n = results.groupby("scenario", sort=False).size()
    reps = f"{n.iloc[0]} replicates" if n.nunique() == 1 else "the replicates"
    print(f"each KPI's mean over the second half of a run{when}, averaged over {reps} per scenario "
          "(no intervals here: the report gives them):")
    arms = list(table.index)
    for i in range(0, len(arms), ARMS_PER_BLOCK):
        block = arms[i:i + ARMS_PER_BLOCK]
        rows = [(k, _unit(k), *(_fixed(table.at[a, k]) for a in block)) for k in table.columns]
        print(_columns(("kpi", "unit", *map(str, block)), rows))
    if "draw" in results:
        from analysis.uncertainty import spread_table

        cols = ["scenario", "kpi", "unit", "of", "mean", "90% low", "90% high", "parameter share"]
        print("over replicates, uncertain parameters drawn per replicate (share of variance from them):")
        spread = spread_table(results, HEADLINE_KPIS, reference or str(results["scenario"].iloc[0]))
        spread["unit"] = [_unit(k) for k in spread["kpi"]]
        # one fixed format for every number: pandas would switch a column to exponents when magnitudes mix
        print(spread[cols].to_string(index=False, float_format=_fixed, na_rep="n/a"))


def _compare_after(args: argparse.Namespace, reference: str | None) -> dict:
    """The report and table arguments of :func:`_batch` for a compare job."""
    report = None if args.no_report else partial(_compare_report, reference=reference)
    return {"report": report, "table": partial(_compare_table, reference=reference)}


def _report(build_report, results: Path, out: Path, reference: str | None) -> Path:
    """``build_report``, with a folder that cannot be written turned into bad input naming it."""
    from sim.errors import ScenarioError

    try:
        return build_report(results, out, reference=reference)
    except OSError as exc:
        where = exc.filename or out
        raise ScenarioError(f"report: cannot write {where} ({exc.strerror or exc}); choose a folder you can "
                            f"write to with --out (the results in {results} are complete)") from None


def cmd_compare(args: argparse.Namespace) -> int:
    from runner import compare
    from sim.errors import ScenarioError
    from sim.scenario import split_variant

    stems = [Path(s).stem for s in args.scenarios]
    if args.reference is not None and not args.no_report and args.reference not in stems \
            and not any(Path(s).is_dir() or split_variant(s)[1] for s in args.scenarios):  # said now, not after every run
        raise ScenarioError(f"--reference {args.reference!r}: not one of the compared scenarios "
                            f"({', '.join(stems)}); give a file stem")
    return _batch(args, compare, args.scenarios, Path(args.out), **_compare_after(args, args.reference))


def cmd_compare_main(args: argparse.Namespace) -> int:
    from runner import compare_main

    if args.jobs is None and args.scheduler is None and args.dask_local is None:
        args.jobs = os.cpu_count() or 1
    return _batch(args, compare_main, Path(args.out), **_compare_after(args, "baseline"))


def cmd_report(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError

    results = Path(args.results_dir)
    manifest = results / "manifest.json"
    if manifest.is_file() and not (results / "results.parquet").is_file():
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
            status, counts = m.get("status"), m.get("counts", {})
        except (OSError, ValueError):
            status, counts = "unreadable manifest", {}
        raise ScenarioError(f"{results}: incomplete ({status}, {counts.get('runs_done', '?')} of "
                            f"{counts.get('runs_total', '?')} runs); run the same {m.get('kind', 'sweep')} "
                            "command again to finish it, then the report")
    if not (results / "results.parquet").is_file():
        raise ScenarioError(f"{results}: no results.parquet here; give the --out folder of a compare or sweep")
    try:
        from analysis.report import build_report
    except ImportError as exc:
        raise ScenarioError(f"report: the analysis package is not available ({exc})") from None
    out = Path(args.out) if args.out else results / "report"
    path = _report(build_report, results, out, args.reference)
    print(f"report: {path} (see its Summary for verdicts)")
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from analysis.discovery import discover_sweep, headline

    disc, path = discover_sweep(args.sweep_dir, args.out, stat=args.stat, kpi=args.kpi, below=args.below,
                                above=args.above, where=args.where, min_density=args.min_density,
                                mass_min=args.mass_min, peel_alpha=args.peel_alpha, boxes=args.boxes,
                                resamples=args.resamples, seed=args.seed)
    for b in disc.box_stats["box"]:
        print(f"box {b}: " + headline(disc, int(b)))
    print(f"report: {path}")
    return 0


def cmd_robust(args: argparse.Namespace) -> int:
    from analysis.robust import robust_report
    from runner.robust import robust

    def report(outcome):
        rob, path = robust_report(outcome.out, outcome.out / "report")
        return rob, f"favoured policy: {rob.favoured}; report: {path}"

    def table(_outcome, rob) -> None:
        print(rob.satisficing[["policy", "futures", "met", "share", "ci_low", "ci_high"]].to_string(index=False))
        print(rob.regret_summary.to_string(index=False))

    return _batch(args, robust, args.policies, args.uncertainties, args.out, samples=args.samples, report=report,
                  table=table)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from runner.calibrate import calibrate

    def report(outcome):
        # here, not in the runner: the command layer sits above both runner and analysis
        from analysis.calibration import calibration_report
        from runner.files import fs_failure

        where = outcome.out / "report"
        try:
            return None, f"report: {calibration_report(outcome.out, where)}"
        except OSError as exc:
            raise fs_failure(exc, f"report in {where}", "the calibration is complete") from None

    def table(outcome, _made) -> None:
        from analysis.calibration import posterior_summary

        print(posterior_summary(outcome.posterior, [vars(b) for b in outcome.bounds]).to_string(index=False))

    return _batch(args, calibrate, args.scenario, args.targets, args.param or [], args.out,
                  population=args.population, generations=args.generations, min_epsilon=args.min_epsilon,
                  min_acceptance=args.min_acceptance, ppc=args.ppc, report=report, table=table)


def cmd_viz(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError

    try:
        from viz.server import serve
    except ImportError as exc:
        raise ScenarioError(f"viz: the browser app (viz/server.py) is not available ({exc})") from None
    return int(serve(args.host, args.port) or 0)


# --------------------------------------------------------------------------- parser


def _add_executor(p: argparse.ArgumentParser, jobs_default: int | None = 1) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--jobs", type=int, default=jobs_default, metavar="J",
                   help="worker processes on this machine (default: " + ("1, serial)" if jobs_default else "all cores)"))
    g.add_argument("--scheduler", metavar="ADDRESS", help="send runs to a running Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster with N worker processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    # defaults live in runner.cost.Limits; a refused job's message names the limit and its value
    p.add_argument("--max-runs", type=int, metavar="N", help="run a job of more runs than the default limit")
    p.add_argument("--max-link-steps", type=float, metavar="X",
                   help="run a job above the default limit of runs x steps x links")
    p.add_argument("--max-gb", type=float, metavar="G",
                   help="run a job whose models at once need more memory than the default limit (GB)")


def _add_replicates(p: argparse.ArgumentParser, replicates: int, per: str, seed: str = "the scenario's run.seed",
                    steps: str = "the scenario's run.steps") -> None:
    """``--replicates``, ``--seed`` and ``--steps`` of a command that runs seeded replicates; defaults as said."""
    p.add_argument("--replicates", type=int, default=replicates,
                   help=f"seeded replicates per {per} (default {replicates})")
    p.add_argument("--seed", type=int, help=f"master seed (default: {seed})")
    p.add_argument("--steps", type=int, help=f"steps per run (default: {steps})")


class _HelpFormatter(argparse.HelpFormatter):
    """An option's help ends with its default unless it already says it (or has none to say)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".lstrip()


#: What a compare's --reference is when not given (analysis.report chooses it so).
REFERENCE_DEFAULT = "default: baseline if it is among the scenarios, else the first one"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from runner.commands import MAIN_REPLICATES, MAIN_SCENARIOS

    parser = argparse.ArgumentParser(
        prog="run.py", description="clustercoop: cooperation inside industrial clusters (Mesa).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status:\n"
               "  0    done\n"
               "  2    bad input: a message names the file, field, value and what is allowed\n"
               "  3    the machinery failed under valid input (a Dask scheduler that does not answer, a file\n"
               "       system that fails mid-run); finished runs are kept, rerun the same command to continue\n"
               "  130  interrupted (Ctrl-C); finished runs are kept")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=partial(argparse.ArgumentParser, formatter_class=_HelpFormatter))

    p = sub.add_parser("validate", help="check scenario files or folders",
                       description="Check scenario files (or every *.toml in a folder). Exit 0 if all are valid, 2 otherwise.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="check with a field overridden, as run and compare would set it (repeatable)")
    p.add_argument("--quiet", action="store_true", help="list only the problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="one run of a scenario",
                       description="One run: OUT/timeseries.parquet, OUT/summary.json, OUT/manifest.json and the end "
                                   "state in OUT/snapshots/<scenario>/{nodes,edges,firms}.parquet. Prints the "
                                   "headline KPIs at the last step and their mean over the second half of the run.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--seed", type=int, help="model seed (default: the scenario's run.seed)")
    p.add_argument("--steps", type=int, help="steps (default: the scenario's run.steps)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. --set structure.kind=star (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="sweep parameters over a design with replicates",
                       description="Sweep dotted parameters; one row per run in OUT/results.parquet. "
                                   "Resumable: run the same command again to continue.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--param", action="append", metavar="KEY=SPEC",
                   help="parameter and values: a,b,c or lo:hi:n (lo:hi for lhs/sobol/morris); repeatable")
    p.add_argument("--design", default="grid", choices=["grid", "lhs", "sobol", "morris"],
                   help="grid: every combination; lhs: Latin hypercube; sobol: Saltelli design (Sobol' indices "
                        "and radial Morris in the report); morris: Morris trajectories (elementary effects, cheaper "
                        "screening)")
    p.add_argument("--samples", type=int, help="lhs: points; sobol: base sample N (power of 2; N*(2k+2) points); "
                                               "morris: trajectories (N*(k+1) points); default 16")
    _add_replicates(p, 1, "design point")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="fixed override of the base scenario (repeatable)")
    p.add_argument("--timeseries", action="store_true",
                   help="also keep the report's KPIs at every step of every run (OUT/timeseries.parquet) for the "
                        "report's outcomes over time")
    _add_executor(p)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("compare", help="compare scenarios over common-random-number replicates",
                       description="Replicate i of every scenario uses the same seed. Writes OUT/results.parquet, "
                                   "OUT/timeseries.parquet, OUT/manifest.json, the end state of replicate 0 of "
                                   "each scenario in OUT/snapshots/ and OUT/report/. Prints each KPI's mean over "
                                   "the second half of a run, averaged over the replicates; the report's Summary "
                                   "gives the intervals and verdicts.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="a scenario file, a folder of them, or an inline variant FILE@key=value[@key=value...] "
                        "named FILESTEM@key=value... (or name=NAME among its items), "
                        "e.g. scenarios/baseline.toml@information.digitalization=0.8")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a field in every arm (repeatable); a variant's own value wins")
    _add_replicates(p, 10, "scenario", "the main job's", "each scenario's run.steps")
    p.add_argument("--reference", metavar="NAME",
                   help=f"scenario the report compares the others with ({REFERENCE_DEFAULT})")
    p.add_argument("--no-report", action="store_true", help="do not build the report")
    _add_executor(p)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("compare-main", help="the main job: compare the shipped scenarios and write the report",
                       description=f"Compares the {len(MAIN_SCENARIOS)} shipped scenarios of the main job "
                                   "(scenarios/<name>.toml) with common random numbers, then writes OUT/report/ "
                                   "with baseline as the reference: " + ", ".join(MAIN_SCENARIOS) + ".")
    p.add_argument("--replicates", type=int,
                   help=f"replicates per scenario (default {MAIN_REPLICATES}, the main job's)")
    p.add_argument("--no-report", action="store_true", help="do not build the report")
    _add_executor(p, jobs_default=None)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_compare_main)

    p = sub.add_parser("report", help="build the report of a compare or sweep folder",
                       description="Builds the report (report.html, its figures and tables) of a finished compare, "
                                   "compare-main or sweep folder; its Summary gives the verdicts.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="the --out folder of compare, compare-main or sweep")
    p.add_argument("--reference", metavar="NAME",
                   help=f"scenario the others are compared with ({REFERENCE_DEFAULT})")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RESULTS_DIR/report)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("discover", help="scenario discovery on a sweep: where in lever space a KPI condition holds",
                       description="Marks the runs of a sweep that meet a condition and finds, with EMA Workbench's "
                                   "PRIM, CART and feature scoring, the lever settings where they lie. Writes "
                                   "discovery.html, discovery.md, boxes.csv and figures into OUT.")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="the --out folder of run.py sweep")
    p.add_argument("--kpi", metavar="NAME", help="KPI of the condition, e.g. cooperation_rate")
    p.add_argument("--below", type=float, metavar="X", help="runs with KPI < X are of interest")
    p.add_argument("--above", type=float, metavar="X", help="runs with KPI > X are of interest (with --below: a band)")
    p.add_argument("--where", metavar="EXPR", help="instead of --kpi: an expression over KPIs, e.g. "
                                                   "\"cooperation_rate < 0.6 and mean_trust > 0.5\"")
    p.add_argument("--stat", default="mean", choices=["mean", "final"],
                   help="KPI statistic: each run's mean over its second half (mean) or its last step (final)")
    p.add_argument("--min-density", type=float, default=0.8, metavar="D",
                   help="keep the PRIM box of greatest coverage with at least this density (default 0.8)")
    p.add_argument("--mass-min", type=float, default=0.05, metavar="M",
                   help="smallest share of runs in a box (default 0.05)")
    p.add_argument("--peel-alpha", type=float, default=0.05, metavar="A",
                   help="share peeled per PRIM step (default 0.05)")
    p.add_argument("--boxes", type=int, default=1, metavar="K",
                   help="PRIM boxes to find one after another (default 1)")
    p.add_argument("--resamples", type=int, default=10, metavar="R",
                   help="PRIM reruns on random halves to check the box (default 10; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of resampling, CART and feature scoring (default 0)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: SWEEP_DIR/discovery)")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("robust", help="policies across uncertain futures: regret, satisficing, where the favoured fails",
                       description="Runs every policy of POLICIES in every future sampled from UNCERTAINTIES (Latin "
                                   "hypercube), with the same replicate seeds everywhere (common random numbers); "
                                   "resumable like sweep. Writes OUT/results.parquet and OUT/report/.")
    p.add_argument("policies", metavar="POLICIES", help="TOML: [[policies]], [regret], [satisficing]")
    p.add_argument("uncertainties", metavar="UNCERTAINTIES", help="TOML: scenario and [uncertainties]")
    p.add_argument("--samples", type=int, default=32, help="futures (default 32)")
    _add_replicates(p, 1, "policy and future", "the base scenario's run.seed")
    _add_executor(p)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_robust)

    p = sub.add_parser("calibrate", help="estimate parameters from observed targets (ABC-SMC, pyabc)",
                       description="Estimates the --param parameters of SCENARIO from the observed targets by "
                                   "ABC-SMC (pyabc). Writes OUT/posterior.parquet, OUT/calibrated.toml, "
                                   "OUT/ppc.parquet and OUT/report/calibration.html. Resumable: the same command "
                                   "again continues after the last finished generation; the result depends on "
                                   "--seed only, not on --jobs or Dask.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--targets", required=True, metavar="FILE", help="TOML of [[target]] observations")
    p.add_argument("--param", action="append", metavar="KEY=LO:HI",
                   help="a calibrated parameter and its uniform prior, e.g. trust.speed=0.05:0.5 (repeatable)")
    p.add_argument("--population", type=int, default=200, help="accepted particles per generation (default 200)")
    p.add_argument("--generations", type=int, default=8, help="most generations (default 8; more later continues)")
    p.add_argument("--min-epsilon", type=float, default=0.0, metavar="E",
                   help="stop once the threshold is this many standard errors (default 0: not used)")
    p.add_argument("--min-acceptance", type=float, default=0.02, metavar="R",
                   help="stop once a generation accepts less than this share of candidates (default 0.02)")
    p.add_argument("--ppc", type=int, default=50, metavar="N",
                   help="posterior draws run again for the predictive checks (default 50; 0: none)")
    p.add_argument("--seed", type=int, help="master seed (default: the scenario's run.seed)")
    p.add_argument("--steps", type=int, help="steps per run (default: the scenario's run.steps)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="fixed override of the scenario (repeatable)")
    _add_executor(p)
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("viz", help="open the browser app",
                       description="Serves the browser app (Solara) at http://HOST:PORT/: live runs of a scenario "
                                   "and the result folders' reports.")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on")
    p.add_argument("--port", type=int, default=8765, help="port to serve on")
    p.set_defaults(func=cmd_viz)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command, return the exit status."""
    from sim.errors import RunnerError, ScenarioError
    from sim.data import DataWarning
    from sim.gates import GateWarning

    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", DataWarning)  # each distinct warning once
            warnings.simplefilter("default", GateWarning)  # each distinct warning once
            warnings.showwarning = _show_warning
            return args.func(args)
    except ScenarioError as exc:
        _err(_short(f"error: {exc}"))
        return EXIT_BAD_INPUT
    except RunnerError as exc:
        _err(_short(f"failed: {exc}"))
        return EXIT_INFRASTRUCTURE
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
