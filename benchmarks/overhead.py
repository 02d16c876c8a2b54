"""Call overhead of compiled graphs against hand-written NumPy.

Each case is a small graph compiled with tessera and the same computation
written as straight-line NumPy statements (one statement per step, no loop,
the idiomatic fast spelling: ``y * 1.0001``, ``x.sum()``, ``W @ x``). Both
run in the same process, interleaved (a round of tessera, then a round of
NumPy, repeated), so that load from other processes hits both alike; the
table gives the medians and the ratio tessera / NumPy. Target: <= 1.5 on
every case (<= 1.1 for the 50-node chain on a (1000,) array, where the
arithmetic dominates).

Cases: the 50-node mixed ufunc chain (the original case, whose rewrites
shorten it), a chain of 25 x (sin, * 1.0001, + 0.1), an elementwise
polynomial with constants, reductions, a small matrix-vector product and a
dot, basic indexing, and a Normal log-density (a mix), on 0-d inputs where
meaningful and on (8,) inputs.

Run: python benchmarks/overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import tessera as ts
from tessera.compile.backends.numpy import tune_malloc

try:
    from benchmarks._util import fmt_time, machine, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, versions


# --- the 50-node chain (the original case) ---------------------------------

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
NUMPY_LINES = {
    0: "np.sin(y)",
    1: "y + x",
    2: "y * 0.5",
    3: "np.tanh(y)",
    4: "np.exp(y)",
    5: "y - x",
    6: "np.cos(y)",
}


def graph(x):
    """The 50-node chain of ufunc calls on ``x``."""
    y = x
    for k in range(N_NODES):
        y = STEPS[k % len(STEPS)](y, x)
    return y


def _numpy_fn(args: str, body: list[str]) -> Callable:
    """A hand-written NumPy function: ``body``'s statements in a row."""
    lines = "".join(f"    {s}\n" for s in body)
    ns = {"np": np}
    exec(f"def numpy_reference({args}):\n{lines}", ns)
    return ns["numpy_reference"]


numpy_reference = _numpy_fn(
    "x",
    ["y = x"]
    + [f"y = {NUMPY_LINES[k % len(STEPS)]}" for k in range(N_NODES)]
    + ["return y"],
)


# --- the cases -------------------------------------------------------------


@dataclass
class Case:
    """A graph builder and the same computation as NumPy statements.

    ``build(*inputs) -> output``; ``shapes`` maps a label to the inputs'
    shapes; ``body`` are the NumPy statements over the same argument names.
    """

    name: str
    args: tuple[str, ...]
    build: Callable
    body: list[str]
    shapes: dict[str, tuple]


def _chain25(x):
    y = x
    for _ in range(25):
        y = ts.sin(y)
        y = y * 1.0001
        y = y + 0.1
    return y


def _poly(x):
    z = (x - 0.5) / 2.0
    y = 0.5 * z * z - 1.25 * z + 3.0
    return ts.exp(-y) + ts.log1p(x * x)


def _reductions(x):
    m = x.mean()
    return x.sum() + ((x - m) ** 2).mean() + x.max() - x.min()


def _matvec(w, x):
    h = ts.tanh(w @ x + 0.5)
    return ts.dot(h, h)


def _indexing(x):
    return (x[1:3] + x[0] - x[::-1][:2]) * x[-1] + x[2:4]


def _normal_logp(x, mu, sigma):
    z = (x - mu) / sigma
    return (-0.5 * z * z - ts.log(sigma) - 0.9189385332046727).sum()


VEC = (8,)
CASES = [
    Case(
        "chain 25 x (sin, * 1.0001, + 0.1)",
        ("x",),
        _chain25,
        ["y = x"]
        + ["y = np.sin(y)", "y = y * 1.0001", "y = y + 0.1"] * 25
        + ["return y"],
        {"0-d": ((),), "(8,)": (VEC,)},
    ),
    Case(
        "polynomial with constants",
        ("x",),
        _poly,
        [
            "z = (x - 0.5) / 2.0",
            "y = 0.5 * z * z - 1.25 * z + 3.0",
            "return np.exp(-y) + np.log1p(x * x)",
        ],
        {"0-d": ((),), "(8,)": (VEC,)},
    ),
    Case(
        "reductions (sum, mean, var, max, min)",
        ("x",),
        _reductions,
        ["m = x.mean()", "return x.sum() + ((x - m) ** 2).mean() + x.max() - x.min()"],
        {"(8,)": (VEC,), "(4, 8)": ((4, 8),)},
    ),
    Case(
        "tanh(W @ x + 0.5), dot(h, h)",
        ("w", "x"),
        _matvec,
        ["h = np.tanh(w @ x + 0.5)", "return h @ h"],
        {"(8, 8), (8,)": ((8, 8), VEC)},
    ),
    Case(
        "indexing (x[1:3], x[0], x[::-1][:2], ...)",
        ("x",),
        _indexing,
        ["return (x[1:3] + x[0] - x[::-1][:2]) * x[-1] + x[2:4]"],
        {"(8,)": (VEC,)},
    ),
    Case(
        "Normal log-density, summed",
        ("x", "mu", "sigma"),
        _normal_logp,
        [
            "z = (x - mu) / sigma",
            "return (-0.5 * z * z - np.log(sigma) - 0.9189385332046727).sum()",
        ],
        {"0-d": ((), (), ()), "(8,)": (VEC, (), ())},
    ),
]


def interleaved_medians(
    fns: list[Callable[[], object]], repeat: int = 9, min_time: float = 0.05
) -> list[float]:
    """Median seconds per call of each of ``fns``, timed in alternating
    rounds (one round of each, ``repeat`` times) in this process."""
    timers = []
    for fn in fns:
        fn()  # warm up
        timer = timeit.Timer(fn)
        number, took = timer.autorange()
        timers.append((timer, max(1, int(number * min_time / max(took, 1e-9)))))
    runs: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for k, (timer, number) in enumerate(timers):
            runs[k].append(timer.timeit(number) / number)
    return [statistics.median(r) for r in runs]


def _values(shapes, rng) -> list[np.ndarray]:
    # positive values keep log(sigma) and friends finite
    return [np.asarray(rng.uniform(0.5, 1.5, size=s)) for s in shapes]


def run_case(case: Case, shapes, repeat: int) -> tuple[int, float, float]:
    """``(nodes, NumPy median, tessera median)`` of ``case`` on ``shapes``."""
    inputs = [ts.tensor(a, shape=s) for a, s in zip(case.args, shapes)]
    f = ts.function(inputs, case.build(*inputs))
    ref = _numpy_fn(", ".join(case.args), case.body)
    vals = _values(shapes, np.random.default_rng(0))
    np.testing.assert_allclose(f(*vals), ref(*vals), rtol=1e-12)
    t_np, t_ts = interleaved_medians(
        [lambda: ref(*vals), lambda: f(*vals)], repeat=repeat
    )
    return len(f.fg.apply_nodes), t_np, t_ts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 9
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    tune_malloc()
    rows = []
    for label, shape in [("scalar", ()), ("(1000,)", (1000,))]:
        x = ts.tensor("x", shape=shape)
        f = ts.function([x], graph(x))
        value = np.asarray(np.random.default_rng(0).uniform(-1, 1, size=shape))
        np.testing.assert_allclose(f(value), numpy_reference(value))
        t_np, t_ts = interleaved_medians(
            [lambda v=value: numpy_reference(v), lambda f=f, v=value: f(v)],
            repeat=repeat,
        )
        rows.append(("50-node chain", label, len(f.fg.apply_nodes), t_np, t_ts))
    for case in CASES:
        for label, shapes in case.shapes.items():
            rows.append((case.name, label, *run_case(case, shapes, repeat)))
    print("## Call overhead: small graphs against hand-written NumPy\n")
    print(f"{versions('numpy', 'scipy', 'tessera')}; {machine()}\n")
    print(
        "Medians of interleaved rounds (tessera's compiled `f(...)`, then the "
        "NumPy function) in one process.\n"
    )
    print("| graph | input | nodes | NumPy (hand-written) | tessera | ratio |")
    print("|---|---|---|---|---|---|")
    for name, label, n, t_np, t_ts in rows:
        print(
            f"| {name} | {label} | {n} | {fmt_time(t_np)} | {fmt_time(t_ts)} "
            f"| {t_ts / t_np:.2f}x |"
        )


if __name__ == "__main__":
    main()
