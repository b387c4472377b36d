"""Step time of this tree against another commit, measured in the same run, interleaved.

Usage::

    python -m benchmarks.versus REV                 # e.g. HEAD~3, a tag, a commit
    python -m benchmarks.versus REV --rounds 7 --firms 10000 --steps 60
    python -m benchmarks.versus REV --full          # the full default model, not the core configuration

The machines we measure on are shared and their speed drifts, so absolute
figures from different runs are not comparable; a ratio measured in one run
is. This command checks ``REV`` out into a temporary git worktree, then
alternates fresh processes of the two trees (the order flips every round),
each building the core-configuration model (or with ``--full`` the full
default model) of its own ``benchmarks.timing.scenario_for`` and timing ``--steps`` steps after a
warm-up. Both trees run with this interpreter and its packages. It prints
each side's median step time and the median over rounds of the per-round
ratio ``REV / this tree`` (above 1: this tree is faster), for the wall time
and for the CPU time of the process (``time.process_time``), which other
sessions on a shared machine disturb far less. The worktree is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["compare", "main"]

ROOT = Path(__file__).resolve().parent.parent

#: Run inside each tree: build, warm up, time single steps (wall and CPU); print the times as JSON.
_TIMER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.timing import scenario_for
from sim import ClusterModel
n, degree, steps, full = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
model = ClusterModel(scenario_for(n, degree, full=full), rng=1)
for _ in range(3):
    model.step()
wall, cpu = [], []
for _ in range(steps):
    t0, c0 = time.perf_counter(), time.process_time()
    model.step()
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def _time_tree(tree: Path, n: int, degree: float, steps: int, full: bool = False) -> tuple[float, float]:
    """Median wall and CPU step times (s) of a fresh process running ``tree``'s model."""
    out = subprocess.run([sys.executable, "-c", _TIMER, str(tree), str(n), str(degree), str(steps), "1" if full else "0"],
                         cwd=tree, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"timing {tree} failed:\n{out.stderr.strip()[-2000:]}")
    times = json.loads(out.stdout.strip().splitlines()[-1])
    return statistics.median(times["wall"]), statistics.median(times["cpu"])


def compare(rev: str, *, rounds: int = 5, n: int = 10_000, degree: float = 8.0, steps: int = 60,
            full: bool = False, repo: Path = ROOT, progress=print) -> dict:
    """Interleaved step timings of ``rev`` and of the tree at ``repo``.

    Returns ``{"rev", "commit", "this", "other", "ratios", "ratio", "this_cpu", "other_cpu", "cpu_ratios",
    "cpu_ratio", "worktree"}``: the per-round median wall step times (s) of this tree and of ``rev``, the
    per-round ratios ``other / this``, their median, the same for CPU time, and the temporary worktree
    (removed by then).
    """
    resolved = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=repo,
                              capture_output=True, text=True, check=False)
    if resolved.returncode != 0:
        raise ValueError(f"benchmarks.versus: {rev!r} is not a commit of the repository at {repo}")
    commit = resolved.stdout.strip()
    with tempfile.TemporaryDirectory(prefix="clustercoop-versus-") as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(other), commit], cwd=repo, check=True,
                       capture_output=True)
        try:
            this_t, other_t, this_c, other_c = [], [], [], []
            for r in range(rounds):
                order = [("this", repo), ("other", other)] if r % 2 == 0 else [("other", other), ("this", repo)]
                got = {name: _time_tree(tree, n, degree, steps, full) for name, tree in order}
                this_t.append(got["this"][0])
                other_t.append(got["other"][0])
                this_c.append(got["this"][1])
                other_c.append(got["other"][1])
                progress(f"  round {r + 1}/{rounds}: this tree {1000 * got['this'][0]:.2f} ms "
                         f"(CPU {1000 * got['this'][1]:.2f}), {rev} {1000 * got['other'][0]:.2f} ms "
                         f"(CPU {1000 * got['other'][1]:.2f}) per step")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=repo, check=False, capture_output=True)
    ratios = [o / t for o, t in zip(other_t, this_t)]
    cpu_ratios = [o / t for o, t in zip(other_c, this_c)]
    return {"rev": rev, "commit": commit, "this": this_t, "other": other_t, "ratios": ratios, "ratio": statistics.median(ratios),
            "this_cpu": this_c, "other_cpu": other_c, "cpu_ratios": cpu_ratios,
            "cpu_ratio": statistics.median(cpu_ratios), "worktree": str(other)}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the interleaved comparison as a small Markdown table."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the commit to compare with (anything git rev-parse takes: HEAD~3, a tag, a hash)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds, a fresh process per tree each (default 5)")
    ap.add_argument("--firms", type=int, default=10_000, help="firms in the core-configuration network (default 10000)")
    ap.add_argument("--degree", type=float, default=8.0, help="mean degree (default 8)")
    ap.add_argument("--steps", type=int, default=60, help="timed steps per process, after 3 warm-up steps (default 60)")
    ap.add_argument("--full", action="store_true", help="time the full default model instead of the core configuration")
    args = ap.parse_args(argv)
    for name in ("rounds", "firms", "steps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.degree <= 0:
        ap.error(f"--degree must be positive, got {args.degree}")
    try:
        res = compare(args.rev, rounds=args.rounds, n=args.firms, degree=args.degree, steps=args.steps,
                      full=args.full)
    except (ValueError, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ms = {k: 1000 * statistics.median(res[k]) for k in ("this", "other", "this_cpu", "other_cpu")}
    model = "full default model" if args.full else "core configuration"
    print(f"\n{model}, N = {args.firms:,}, mean degree {args.degree:g}, {args.rounds} rounds, median per step:\n"
          f"\n| tree | wall ms | CPU ms |\n|---|---:|---:|")
    print(f"| this tree | {ms['this']:.2f} | {ms['this_cpu']:.2f} |\n"
          f"| {args.rev} ({res['commit'][:9]}) | {ms['other']:.2f} | {ms['other_cpu']:.2f} |")
    for label, key in (("wall", "ratio"), ("CPU", "cpu_ratio")):
        spread = f"{min(res[key + 's']):.2f}-{max(res[key + 's']):.2f}"
        print(f"\n{args.rev} / this tree, {label}: {res[key]:.2f}x (median of the per-round ratios; range {spread})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
