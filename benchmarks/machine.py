"""The machine a benchmark ran on: cores, CPU model, Python and package versions, date."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["machine_info"]

PACKAGES = ("mesa", "numpy", "numba", "llvmlite", "pandas", "networkx", "scipy", "dask", "distributed", "psutil")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _compile_target() -> str:
    """What numba compiles the kernels for: LLVM's name of the host CPU and its widest vectors.

    The model name alone ("AMD EPYC" under KVM) does not tell a Zen 3 from a Zen 5, and the
    kernels' curve loops run 4-wide with AVX2 and 8-wide where LLVM picks AVX-512.
    """
    try:
        from llvmlite import binding as llvm

        features = llvm.get_host_cpu_features()
        widest = "AVX-512" if features.get("avx512f") else "AVX2" if features.get("avx2") else "below AVX2"
        return f"{llvm.get_host_cpu_name()}, {widest}"
    except Exception:  # noqa: BLE001 - a fact for the report only
        return "unknown"


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + (" (sim/ has uncommitted changes)" if dirty else "")


def machine_info() -> dict[str, str]:
    """Facts about this machine and environment, as strings (no paths, no host names)."""
    info = {
        "date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "cores (logical)": str(os.cpu_count()),
        "cores usable": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "CPU": _cpu_model(),
        "compiled for (LLVM)": _compile_target(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "model commit": _commit(),
    }
    for name in PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    try:
        info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    return info
