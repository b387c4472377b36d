"""Peak resident memory of one model, each size in a fresh process.

Run as ``python -m benchmarks.memory N STEPS`` it builds the full default
model with N firms (network, mean degree 8), runs STEPS steps and prints
the resident set size (bytes) after the imports, after building and after the
steps, and the peak (``VmHWM``, the high-water mark of this process image; not
``ru_maxrss``, which Linux carries over from the parent across ``exec``);
:func:`model_peak_rss` drives that for
each size. The model's own share is the RSS after the steps minus the RSS
after the imports (the peak also holds the import-time high-water mark).
"""

from __future__ import annotations

import json
import resource
import sys

from .procs import watch

__all__ = ["model_peak_rss"]


def _maxrss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux; may include the parent's


def _child(n_firms: int, steps: int) -> None:
    import psutil

    from sim import ClusterModel, Scenario

    me = psutil.Process()
    before = me.memory_info().rss
    built = after = before
    edges = 0
    if n_firms > 0:
        scenario = Scenario().with_overrides({"structure.n_firms": n_firms, "structure.mean_degree": 8})
        model = ClusterModel(scenario, rng=1)
        built = me.memory_info().rss
        for _ in range(steps):
            model.step()
        after = me.memory_info().rss
        edges = 2 * int(model.state.n_edges)
    print(json.dumps({"imported": before, "built": built, "after_steps": after, "peak": _maxrss_bytes(), "directed_edges": edges}))


def model_peak_rss(n_firms: int, steps: int = 5) -> dict:
    """Peak RSS (bytes) of a fresh process that builds and steps one model; ``n_firms=0``: imports only."""
    seen = watch(["-m", "benchmarks.memory", str(n_firms), str(steps)])
    if seen.returncode != 0:
        raise RuntimeError(f"memory child failed: {seen.stderr[-2000:]}")
    return {"n_firms": n_firms, "steps": steps, **json.loads(seen.stdout.strip().splitlines()[-1])}


if __name__ == "__main__":
    _child(int(sys.argv[1]), int(sys.argv[2]))
