"""The batch runner above the model: designs, chunks, executors, the result store, commands.

Split the way EMA Workbench splits its runner: samplers (:mod:`runner.designs`), the unit of work
(:mod:`runner.chunks`), evaluators (:mod:`runner.executors`), result callbacks
(:mod:`runner.store`), running a job over them (:mod:`runner.jobs`) and the commands that build the
jobs (:mod:`runner.commands`, :mod:`runner.robust`, :mod:`runner.calibrate`). It imports the
model; the model never imports it::

    from runner import Executor, compare
    compare(["scenarios/star.toml", "scenarios/chain.toml"], "out/cmp", replicates=10,
            executor=Executor(jobs=2))
"""

from .commands import MAIN_SCENARIOS, compare, compare_main, main_scenario_files, run_single, sweep
from .designs import ParamSpec, build_design, parse_param, replicate_seeds
from .executors import Executor
from .jobs import Outcome, execute

__all__ = [
    "MAIN_SCENARIOS",
    "Executor",
    "Outcome",
    "ParamSpec",
    "build_design",
    "compare",
    "compare_main",
    "execute",
    "main_scenario_files",
    "parse_param",
    "replicate_seeds",
    "run_single",
    "sweep",
]
