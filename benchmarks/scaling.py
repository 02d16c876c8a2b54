"""Compile time and call time against model size: models of n scalar variables.

Two model shapes, for n = 20, 200, 800 and 3,200 scalar variables:

- ``independent``: ``x_i ~ Normal(0, 1)``;
- ``chain``: ``x_i ~ Normal(x_{i-1}, 1)``, each observed through
  ``y_i ~ Normal(x_i, 0.5)`` (2n scalar RVs, n free).

For each, the median over several repeats (each on a freshly built model) of
the time to build the model, to compile its log-density and gradient over
the flat vector (``model.logp_dlogp_function()``, NumPy backend), and of one
logp+gradient call; the ratio of build + compile to that of n = 200
(targets: <= 0.25 s at n = 200, t(3,200) / t(200) <= 18, a call <= 1 ms at
n = 200). The ``ungrouped`` rows turn off the gathering of same-family
scalar variables into one vectorized term (``ppl.model.grouping``), which
measures the graph engine (gradient, rewrites, linker) on a graph that grows
with n. The JAX column is the first call of the JAX-backend function
(lowering and jit).

Run: python benchmarks/scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from tessera import ppl
from tessera.ppl.model import grouping

try:
    from benchmarks._util import fmt_time, machine, median_time, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, median_time, versions

SIZES = [20, 200, 800, 3200]


def independent(n: int) -> ppl.Model:
    with ppl.Model() as m:
        for i in range(n):
            ppl.Normal(f"x{i}", mu=0.0, sigma=1.0)
    return m


def chain(n: int) -> ppl.Model:
    obs = np.random.default_rng(0).normal(size=n)
    with ppl.Model() as m:
        prev = None
        for i in range(n):
            prev = ppl.Normal(f"x{i}", mu=0.0 if prev is None else prev, sigma=1.0)
            ppl.Normal(f"y{i}", mu=prev, sigma=0.5, observed=obs[i])
    return m


def measure(build, n: int, repeat: int, jax: bool) -> dict:
    builds, compiles = [], []
    m = f = None
    for _ in range(repeat):
        # the previous repeat's model is garbage (graphs hold reference
        # cycles): collected here, not by the timed build's collections
        del m, f
        gc.collect()
        t0 = time.perf_counter()
        m = build(n)
        t1 = time.perf_counter()
        f = m.logp_dlogp_function()
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        compiles.append(t2 - t1)
    x = np.random.default_rng(1).normal(size=f.size)
    out = {
        "nodes": len(f.fn.fg.apply_nodes),
        "build": statistics.median(builds),
        "compile": statistics.median(compiles),
        "call": median_time(lambda: f(x), repeat=5, min_time=0.05),
        "jax": None,
    }
    if jax:
        t0 = time.perf_counter()
        fj = m.logp_dlogp_function(backend="jax")
        fj(x)
        out["jax"] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    cases = [
        ("independent", independent, SIZES, True),
        ("chain", chain, SIZES, True),
        ("chain, ungrouped", chain, SIZES[:3] if args.quick else SIZES, False),
    ]
    rows = []
    for label, build, sizes, grouped in cases:
        saved = grouping.MIN_GROUP_SIZE
        if not grouped:
            grouping.MIN_GROUP_SIZE = 10**9
        try:
            results = {
                n: measure(build, n, repeat if (grouped or n <= 800) else 1, grouped)
                for n in sizes
            }
        finally:
            grouping.MIN_GROUP_SIZE = saved
        base = results[200]["build"] + results[200]["compile"]
        for n, r in results.items():
            total = r["build"] + r["compile"]
            rows.append(
                (label, n, r, total, total / base, r["call"] / results[200]["call"])
            )
    print("## Compile and call time against the number of scalar variables\n")
    print(f"{versions('numpy', 'scipy', 'jax', 'tessera')}; {machine()}\n")
    print(
        f"Medians of {repeat} builds and compiles (one at n = 3,200 ungrouped), "
        "each on a fresh model after collecting the previous one (graphs hold "
        "reference cycles); NumPy backend unless said.\n"
    )
    print(
        "| model | n | nodes | build | compile | build + compile | ratio to n=200 "
        "| logp+grad call | call ratio | JAX first call |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, n, r, total, ratio, cratio in rows:
        jax = fmt_time(r["jax"]) if r["jax"] is not None else "-"
        print(
            f"| {label} | {n} | {r['nodes']} | {fmt_time(r['build'])} | "
            f"{fmt_time(r['compile'])} | {fmt_time(total)} | {ratio:.2f} | "
            f"{fmt_time(r['call'])} | {cratio:.2f} | {jax} |"
        )


if __name__ == "__main__":
    main()
