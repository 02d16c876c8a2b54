"""Shared helpers for benchmarks: timing medians and the environment header."""

from __future__ import annotations

import os
import platform
import statistics
import timeit
from collections.abc import Callable
from importlib import metadata


def median_time(
    fn: Callable[[], object], repeat: int = 7, min_time: float = 0.2
) -> float:
    """Median seconds per call over ``repeat`` runs of an auto-sized loop."""
    fn()  # warm up (and compile where relevant)
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * min_time / 0.2))
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number


def versions(*packages: str) -> str:
    out = []
    for p in packages:
        try:
            out.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            out.append(f"{p} (not installed)")
    return ", ".join(out)


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}"
    )


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def warm_xarray() -> None:
    """Build a first xarray Dataset, so that the imports xarray makes then
    (the optional array libraries it checks for, e.g. ``dask.array``: 0.4
    s where Dask is installed) stay out of the timings of the first
    InferenceData a sampler builds (an import, like ``import arviz``)."""
    import numpy as np
    import xarray as xr

    xr.Dataset({"a": ("x", np.zeros(1))}).sum()


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``/proc/self/status``'s VmHWM
    where there is one: ``ru_maxrss`` survives ``exec`` (a child started by
    a parent that once held 1.5 GB reports at least 1.5 GB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
