"""Peak memory of one call: MvNormal log-density + gradient, (100_000, 4).

The summed log-density of ``N = 100_000`` independent 4-dimensional
Gaussians (``ppl.logp(ppl.MvNormal.dist(mu, cov=...), x).sum()``) and its
gradient, compiled with ``ts.function`` (NumPy backend), in these cases:

- ``cov batched``: inputs ``x``, ``mu`` (N, 4) and ``cov`` (N, 4, 4);
  outputs the log-density and its gradients w.r.t. ``x``, ``mu``, ``cov``;
- ``chol batched``: the same with the Cholesky factor ``chol`` (N, 4, 4);
- ``cov shared`` / ``chol shared``: one (4, 4) matrix for every row;
- ``model, constant cov``: ``Model.logp_dlogp_function()`` of a free
  ``MvNormal("x", mu, cov, shape=(N, 4))`` whose ``mu`` and batched ``cov``
  are data (constants of the graph): input the flat point, outputs the
  log-density and the flat gradient; the constants are not counted in
  ``in+out`` (with them it is 22.4 MB).

``peak`` is the largest amount of memory allocated during one call (after a
warm-up call) above what was allocated before it, as ``tracemalloc`` sees it
(NumPy reports its array buffers to tracemalloc; the outputs are part of
it). ``ratio`` is ``peak / in+out``, where ``in+out`` is the bytes of the
arguments plus the results. ``rss`` is the growth of the process's peak
resident set size during the call (Linux: ``VmHWM`` after resetting it),
which also sees memory tracemalloc does not (LAPACK work arrays; JAX's
allocator); it is 0 where the allocator reuses memory freed by the warm-up.
With ``--jax`` the batched-cov case is also measured on the JAX backend
(rss only).

Run: python benchmarks/memory.py [--quick] [--n N] [--jax]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

import numpy as np

import tessera as ts
from tessera import ppl

try:
    from benchmarks._util import machine, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import machine, versions

D = 4
MB = 1e6


def _proc_status() -> dict[str, int] | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) * 1024
    return out


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def make_values(n: int, shared: bool, seed: int = 0):
    """``x``, ``mu`` (n, 4) and an SPD ``cov`` ((n, 4, 4) or (4, 4))."""
    rng = np.random.default_rng(seed)
    shape = (D, D) if shared else (n, D, D)
    a = rng.standard_normal(shape)
    cov = a @ np.swapaxes(a, -1, -2) / D + np.eye(D)
    return rng.standard_normal((n, D)), rng.standard_normal((n, D)), cov


def mvnormal_function(n: int, param: str, shared: bool, backend: str = "numpy"):
    """``f(x, mu, cov_or_chol) -> [logp, dx, dmu, dparam]`` compiled."""
    x = ts.tensor("x", shape=(n, D))
    mu = ts.tensor("mu", shape=(n, D))
    p = ts.tensor(param, shape=(D, D) if shared else (n, D, D))
    logp = ppl.logp(ppl.MvNormal.dist(mu=mu, **{param: p}), x).sum()
    return ts.function([x, mu, p], [logp, *ts.grad(logp, [x, mu, p])], backend=backend)


def function_case(n: int, param: str, shared: bool, backend: str = "numpy"):
    """A compiled case and its arguments."""
    x, mu, cov = make_values(n, shared)
    arg = cov if param == "cov" else np.linalg.cholesky(cov)
    return mvnormal_function(n, param, shared, backend), (x, mu, arg)


def model_case(n: int):
    """The flat logp/dlogp of a model with a constant batched covariance."""
    _, mu, cov = make_values(n, shared=False)
    with ppl.Model() as model:
        ppl.MvNormal("x", mu=mu, cov=cov, shape=(n, D))
    f = model.logp_dlogp_function()
    point = np.random.default_rng(1).standard_normal(n * D)
    return f, (point,)


def measure(fn, args, trace: bool = True) -> tuple[float, float, float | None]:
    """``(in+out bytes, tracemalloc peak of one call, rss growth or None)``."""
    out = fn(*args)  # warm-up
    io = sum(np.asarray(a).nbytes for a in args)
    io += sum(np.asarray(o).nbytes for o in out)
    del out
    gc.collect()
    peak = float("nan")
    if trace:
        tracemalloc.start()
        out = fn(*args)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del out
        gc.collect()
    rss = None
    if _reset_peak_rss():
        before = _proc_status()
        out = fn(*args)
        for o in out:
            getattr(o, "block_until_ready", lambda: None)()
        after = _proc_status()
        rss = max(0, after["VmHWM"] - before["VmRSS"])
        del out
    return io, peak, rss


def cases(n: int):
    """(name, thunk building (function, args)) for every case."""
    out = []
    for param in ("cov", "chol"):
        for shared in (False, True):
            name = f"{param} {'shared' if shared else 'batched'}"
            out.append((name, lambda p=param, s=shared: function_case(n, p, s)))
    out.append(("model, constant cov", lambda: model_case(n)))
    return out


def run(n: int, with_jax: bool) -> list[tuple[str, float, float, float | None]]:
    """Print the table; returns its rows (name, in+out, peak, rss) in bytes."""
    print(f"\nversions: {versions('tessera', 'numpy', 'scipy', 'jax')}")
    print(f"machine: {machine()}")
    print(f"\nN = {n}, event size {D}, NumPy backend unless said\n")
    print("| case | in+out MB | peak MB | ratio | rss MB | rss ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    todo = list(cases(n))
    if with_jax:
        todo.append(
            (
                "cov batched, JAX backend",
                lambda: function_case(n, "cov", False, backend="jax"),
            )
        )
    for name, build in todo:
        fn, args = build()
        io, peak, rss = measure(fn, args, trace="JAX" not in name)
        del fn
        rows.append((name, io, peak, rss))
        peak_cell = "-" if peak != peak else f"{peak / MB:.1f}"
        ratio_cell = "-" if peak != peak else f"{peak / io:.2f}"
        rss_cell = "-" if rss is None else f"{rss / MB:.1f}"
        rss_ratio = "-" if rss is None else f"{rss / io:.2f}"
        print(
            f"| {name} | {io / MB:.1f} | {peak_cell} | {ratio_cell} | {rss_cell} "
            f"| {rss_ratio} |",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20_000")
    parser.add_argument("--n", type=int, default=None, help="rows (default 100_000)")
    parser.add_argument("--jax", action="store_true", help="also the JAX backend")
    args = parser.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    run(n, args.jax)
    return 0


if __name__ == "__main__":
    sys.exit(main())
