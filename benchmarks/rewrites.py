"""What the rewrites buy: the batched MvNormal log-density plus gradient.

The log-density is written the way a user would, straight from the formula:

    logp = -0.5 * (n log 2pi + log det(cov) + d^T inv(cov) d),  d = x - mu

and its gradient with respect to ``mu`` and ``cov`` is taken symbolically.
The rewrites turn ``log(det(.))`` into ``slogdet`` and ``inv(cov) @ d`` into
``solve``, merge shared work, and read shapes without computing values.
Printed: node counts before and after rewriting, the time of the rewritten
function over the unrewritten one at the four sizes of the linalg benchmark,
and the compile time (median of several compiles; target < 50 ms).

Run: python benchmarks/rewrites.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import tessera as ts
from tessera.compile.backends.numpy import tune_malloc
from tessera.graph.traversal import toposort

try:
    from benchmarks._util import fmt_time, machine, median_time, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, median_time, versions

SIZES = [(1, 8), (4096, 8), (64, 64), (16, 256)]


def graph(batch: int | None, n: int):
    x = ts.tensor("x", shape=(batch, n))
    mu = ts.tensor("mu", shape=(batch, n))
    cov = ts.tensor("cov", shape=(batch, n, n))
    d = x - mu
    quad = (d * (ts.linalg.inv(cov) @ d[..., None])[..., 0]).sum(axis=-1)
    logp = -0.5 * (n * math.log(2 * math.pi) + ts.log(ts.linalg.det(cov)) + quad)
    total = logp.sum()
    return [x, mu, cov], [total, *ts.grad(total, [mu, cov])]


def inputs(batch: int, n: int):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, n, n))
    cov = a @ np.swapaxes(a, -1, -2) / n + np.eye(n)
    return rng.standard_normal((batch, n)), rng.standard_normal((batch, n)), cov


def compile_time(batch, n, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        ins, outs = graph(batch, n)  # a fresh graph: nothing cached
        t0 = time.perf_counter()
        ts.function(ins, outs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    tune_malloc()

    ins, outs = graph(None, 8)
    before = len(toposort(outs))
    after = len(ts.function(ins, outs).fg.apply_nodes)
    fast_compile = len(ts.function(ins, outs, rewrites="none").fg.apply_nodes)

    print("## Rewrites: batched MvNormal log-density + gradient (naive formula)\n")
    print(f"{versions('numpy', 'scipy', 'tessera')}; {machine()}\n")
    print(
        f"Nodes: {before} as written, {fast_compile} unrewritten, {after} rewritten.\n"
    )
    print(
        f"Compile time (fast_run, median of {repeat}): "
        f"{fmt_time(compile_time(None, 8, repeat))} (target < 50 ms; "
        "PyTensor 2.38: ~2 s warm cache)\n"
    )
    print("| (batch, n) | unrewritten | rewritten | ratio rewritten/unrewritten |")
    print("|---|---|---|---|")
    for batch, n in SIZES:
        ins, outs = graph(batch, n)
        fast = ts.function(ins, outs)
        plain = ts.function(ins, outs, rewrites="none")
        vals = inputs(batch, n)
        for a, b in zip(fast(*vals), plain(*vals)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
        t_fast = median_time(lambda f=fast, v=vals: f(*v), repeat=repeat)
        t_plain = median_time(lambda f=plain, v=vals: f(*v), repeat=repeat)
        print(
            f"| ({batch}, {n}) | {fmt_time(t_plain)} | {fmt_time(t_fast)} | "
            f"{t_fast / t_plain:.2f} |"
        )


if __name__ == "__main__":
    main()
