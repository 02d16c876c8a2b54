"""Call overhead of a compiled graph against hand-written NumPy.

A 50-node elementwise graph (a chain of ufunc calls) is compiled with
tessera and timed on a scalar and on a (1000,) array, next to the same
computation written directly with NumPy. Prints a Markdown table of medians
and the ratio tessera / NumPy (targets: <= 1.5 on scalars, <= 1.1 on arrays).

Run: python benchmarks/overhead.py
"""

from __future__ import annotations

import numpy as np

import tessera as ts
from tessera.compile.backends.numpy import tune_malloc

try:
    from benchmarks._util import fmt_time, machine, median_time, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, median_time, versions

# each step adds one node to the graph
STEPS = [
    lambda y, x: ts.sin(y),
    lambda y, x: y + x,
    lambda y, x: y * 0.5,
    lambda y, x: ts.tanh(y),
    lambda y, x: ts.exp(y),
    lambda y, x: y - x,
    lambda y, x: ts.cos(y),
]
N_NODES = 50


def graph(x):
    y = x
    for k in range(N_NODES):
        y = STEPS[k % len(STEPS)](y, x)
    return y


NUMPY_LINES = {
    0: "np.sin(y)",
    1: "y + x",
    2: "y * 0.5",
    3: "np.tanh(y)",
    4: "np.exp(y)",
    5: "y - x",
    6: "np.cos(y)",
}


def _straight_line_numpy():
    # hand-written NumPy: one statement per step, no loop
    body = "".join(f"    y = {NUMPY_LINES[k % len(STEPS)]}\n" for k in range(N_NODES))
    ns = {"np": np}
    exec(f"def numpy_reference(x):\n    y = x\n{body}    return y\n", ns)
    return ns["numpy_reference"]


numpy_reference = _straight_line_numpy()


def main() -> None:
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    tune_malloc()
    rows = []
    for label, shape in [("scalar", ()), ("(1000,)", (1000,))]:
        x = ts.tensor("x", shape=shape)
        out = graph(x)
        f = ts.function([x], out)
        n_nodes = len(f.fg.apply_nodes)
        value = np.asarray(np.random.default_rng(0).uniform(-1, 1, size=shape))
        np.testing.assert_allclose(f(value), numpy_reference(value))
        t_ts = median_time(lambda f=f, v=value: f(v))
        t_np = median_time(lambda v=value: numpy_reference(v))
        rows.append((label, n_nodes, t_np, t_ts, t_ts / t_np))
    print("## Call overhead: 50-node elementwise graph\n")
    print(f"{versions('numpy', 'scipy', 'tessera')}; {machine()}\n")
    print("| input | nodes | NumPy (hand-written) | tessera | ratio |")
    print("|---|---|---|---|---|")
    for label, n, t_np, t_ts, r in rows:
        print(f"| {label} | {n} | {fmt_time(t_np)} | {fmt_time(t_ts)} | {r:.2f}x |")


if __name__ == "__main__":
    main()
