"""Batched linear algebra with gradients: tessera vs a per-matrix loop vs JAX.

Two workloads at (batch, n) = (1, 8), (4096, 8), (64, 64), (16, 256):

- ``cholesky+grad``: the Cholesky factors of a batch of SPD matrices and the
  gradient of ``sum(L * W)`` with respect to the matrices;
- ``mvnormal+grad``: the summed log-density of ``batch`` independent
  n-dimensional Gaussians, ``logp = -0.5 (n log 2pi + 2 sum log diag L +
  ||L^{-1}(x - mu)||^2)`` with ``L = cholesky(cov)``, and its gradient with
  respect to ``mu`` and ``cov``.

Columns: tessera (NumPy backend), tessera-jax (the same graphs compiled with
backend="jax"), a hand-written per-matrix Python loop
(NumPy/SciPy, analytic gradients), and JAX (jit, float64) where installed,
all in the same run and timed in turns (so load changes hit every column
alike); the table gives medians and the ratios tessera / loop and
tessera / JAX (below 1: tessera is faster).

On a shared or busy machine NumPy and SciPy wheels each bundle an OpenBLAS
whose thread pools spin and fight over the cores (``OPENBLAS_NUM_THREADS=1``
removes it; pair it with ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1"`` for a single-threaded JAX column). The
script opts in to raising glibc's mmap/trim thresholds
(``tessera.compile.backends.numpy.tune_malloc``), so large temporaries are
reused rather than page-faulted in on every call; the per-matrix loop
column gets the same benefit, since it runs in the same process.

Every cell is the median over three passes over all sizes (``--runs``),
each pass timing the columns in turns.

Run: python benchmarks/linalg.py [--quick] [--runs N] [--kernels]
``--kernels`` also re-measures the kernel crossovers of
``src/tessera/compile/backends/numpy/tuning.py`` (as
``benchmarks/crossovers.py`` does).
"""

from __future__ import annotations

import argparse
import math
import statistics
import timeit

import numpy as np
import scipy.linalg as sla

import tessera as ts
from tessera.compile.backends.numpy import tune_malloc

try:
    from benchmarks._util import fmt_time, machine, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, versions

SIZES = [(1, 8), (4096, 8), (64, 64), (16, 256)]
LOG_2PI = math.log(2 * math.pi)


def make_inputs(batch: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((batch, n, n))
    cov = a @ np.swapaxes(a, -1, -2) / n + np.eye(n)
    x = rng.standard_normal((batch, n))
    mu = rng.standard_normal((batch, n))
    w = rng.standard_normal((batch, n, n))
    return cov, x, mu, w


# --- tessera -----------------------------------------------------------------------


def tessera_cholesky(batch, n, w, backend="numpy"):
    a = ts.tensor("a", shape=(batch, n, n))
    L = ts.linalg.cholesky(a)
    g = ts.grad((L * w).sum(), a)
    return ts.function([a], [L, g], backend=backend)


def tessera_logp(x, mu, cov):
    L = ts.linalg.cholesky(cov)
    z = ts.linalg.solve_triangular(L, x - mu, lower=True, b_ndim=1)
    logdet = ts.log(ts.linalg.diagonal(L)).sum(axis=-1)
    n = x.type.shape[-1]
    return (-0.5 * (n * LOG_2PI + 2.0 * logdet + (z * z).sum(axis=-1))).sum()


def tessera_mvnormal(batch, n, backend="numpy"):
    x = ts.tensor("x", shape=(batch, n))
    mu = ts.tensor("mu", shape=(batch, n))
    cov = ts.tensor("cov", shape=(batch, n, n))
    logp = tessera_logp(x, mu, cov)
    return ts.function([x, mu, cov], [logp, *ts.grad(logp, [mu, cov])], backend=backend)


def _block(out):
    # JAX dispatches asynchronously: wait for the results before stopping the clock
    for o in out:
        getattr(o, "block_until_ready", lambda: None)()
    return out


# --- per-matrix Python loop (NumPy/SciPy) ---------------------------------------------


def _tri(l, b, trans=0):
    return sla.solve_triangular(l, b, lower=True, trans=trans, check_finite=False)


def loop_cholesky(a, w):
    ls, gs = [], []
    for ai, wi in zip(a, w):
        l = sla.cholesky(ai, lower=True, check_finite=False)
        x = l.T @ wi
        p = np.tril(x) - 0.5 * np.diag(np.diag(x))
        s = _tri(l, _tri(l, p, trans=1).T, trans=1).T
        ls.append(l)
        gs.append(0.5 * (s + s.T))
    return np.stack(ls), np.stack(gs)


def loop_mvnormal(x, mu, cov):
    n = x.shape[-1]
    total, gmu, gcov = 0.0, [], []
    for xi, mi, ci in zip(x, mu, cov):
        l = sla.cholesky(ci, lower=True, check_finite=False)
        z = _tri(l, xi - mi)
        total += -0.5 * (n * LOG_2PI + 2 * np.log(np.diag(l)).sum() + z @ z)
        alpha = _tri(l, z, trans=1)  # cov^{-1} (x - mu)
        cinv = sla.cho_solve((l, True), np.eye(n), check_finite=False)
        gmu.append(alpha)
        gcov.append(0.5 * (np.outer(alpha, alpha) - cinv))
    return total, np.stack(gmu), np.stack(gcov)


# --- JAX ----------------------------------------------------------------------------------


def jax_functions():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.scipy.linalg import solve_triangular

    def chol_cost(a, w):
        return jnp.sum(jnp.linalg.cholesky(a) * w)

    @jax.jit
    def cholesky_and_grad(a, w):
        return jnp.linalg.cholesky(a), jax.grad(chol_cost)(a, w)

    def logp(x, mu, cov):
        l = jnp.linalg.cholesky(cov)
        z = solve_triangular(l, (x - mu)[..., None], lower=True)[..., 0]
        logdet = jnp.log(jnp.diagonal(l, axis1=-2, axis2=-1)).sum(-1)
        n = x.shape[-1]
        return jnp.sum(-0.5 * (n * LOG_2PI + 2 * logdet + jnp.sum(z * z, -1)))

    mvnormal = jax.jit(jax.value_and_grad(logp, argnums=(1, 2)))

    def run_chol(a, w):
        return jax.block_until_ready(cholesky_and_grad(a, w))

    def run_mvn(x, mu, cov):
        return jax.block_until_ready(mvnormal(x, mu, cov))

    return run_chol, run_mvn


# --- driver ---------------------------------------------------------------------------------


def _ratio(a: float, b: float | None) -> str:
    return "-" if b is None else f"{a / b:.2f}"


def _sym(g):
    return 0.5 * (g + np.swapaxes(g, -1, -2))


def run(sizes, repeat: int, min_time: float, runs: int = 1) -> None:
    """Print the table; with ``runs`` > 1 every cell is the median over that
    many passes over all sizes (load on a shared machine changes over
    minutes, longer than one size takes)."""
    jx = jax_functions()
    print(f"\nversions: {versions('tessera', 'numpy', 'scipy', 'jax', 'jaxlib')}")
    print(f"machine: {machine()}")
    if runs > 1:
        print(f"\neach time: the median of {runs} passes over all sizes")
    print(
        "\n| workload | batch | n | tessera | per-matrix loop | JAX jit "
        "| tessera-jax | tessera/loop | tessera/JAX | tessera-jax/JAX |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    passes = []
    for _ in range(runs):
        passes.append(
            [r for b, n in sizes for r in _bench_size(b, n, jx, repeat, min_time)]
        )
    for k, (name, batch, n, _) in enumerate(passes[0]):
        times = zip(*[p[k][3] for p in passes])
        _row(name, batch, n, *[statistics.median(t) for t in times])
    if jx is None:
        print("\n(JAX is not installed: its column is empty; `pip install jax`)")


def interleaved_medians(fns, repeat: int, min_time: float) -> list[float]:
    """Median seconds per call of each function, timed in turns.

    Each repeat times every function once (an auto-sized loop), so a change
    in machine load during the run affects all columns alike.
    """
    timers = []
    for fn in fns:
        fn()  # warm up (and compile where relevant)
        timer = timeit.Timer(fn)
        number, _ = timer.autorange()
        timers.append((timer, max(1, int(number * min_time / 0.2))))
    runs = [[] for _ in fns]
    for _ in range(repeat):
        for (timer, number), out in zip(timers, runs):
            out.append(timer.timeit(number) / number)
    return [statistics.median(r) for r in runs]


def _bench_size(batch, n, jx, repeat, min_time):
    cov, x, mu, w = make_inputs(batch, n)
    # cholesky + grad: check all implementations agree, then time them
    f = tessera_cholesky(batch, n, w)
    L, g = f(cov)
    L2, g2 = loop_cholesky(cov, w)
    np.testing.assert_allclose(L, L2, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(g, g2, rtol=1e-6, atol=1e-8)
    fns = [lambda: f(cov), lambda: loop_cholesky(cov, w)]
    if jx is not None:
        L3, g3 = jx[0](cov, w)
        np.testing.assert_allclose(np.asarray(L3), L, rtol=1e-8, atol=1e-10)
        # JAX's gradient is not symmetrized; its symmetric part agrees
        np.testing.assert_allclose(_sym(np.asarray(g3)), g, rtol=1e-6, atol=1e-8)
        fns.append(lambda: jx[0](cov, w))
        fj = tessera_cholesky(batch, n, w, backend="jax")
        np.testing.assert_allclose(np.asarray(fj(cov)[1]), g, rtol=1e-6, atol=1e-8)
        fns.append(lambda: _block(fj(cov)))
    rows = [("cholesky+grad", batch, n, interleaved_medians(fns, repeat, min_time))]
    # mvnormal logp + grad
    h = tessera_mvnormal(batch, n)
    lp, gmu, gcov = h(x, mu, cov)
    lp2, gmu2, gcov2 = loop_mvnormal(x, mu, cov)
    np.testing.assert_allclose(lp, lp2, rtol=1e-9)
    np.testing.assert_allclose(gmu, gmu2, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gcov, gcov2, rtol=1e-6, atol=1e-8)
    fns = [lambda: h(x, mu, cov), lambda: loop_mvnormal(x, mu, cov)]
    if jx is not None:
        lp3, (gmu3, gcov3) = jx[1](x, mu, cov)
        np.testing.assert_allclose(float(lp3), lp, rtol=1e-9)
        np.testing.assert_allclose(np.asarray(gmu3), gmu, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(_sym(np.asarray(gcov3)), gcov, rtol=1e-6, atol=1e-8)
        fns.append(lambda: jx[1](x, mu, cov))
        hj = tessera_mvnormal(batch, n, backend="jax")
        np.testing.assert_allclose(
            np.asarray(hj(x, mu, cov)[2]), gcov, rtol=1e-6, atol=1e-8
        )
        fns.append(lambda: _block(hj(x, mu, cov)))
    rows.append(("mvnormal+grad", batch, n, interleaved_medians(fns, repeat, min_time)))
    return rows


def _row(name, batch, n, t_ts, t_loop, t_jax=None, t_tsj=None):
    jax_cell = "-" if t_jax is None else fmt_time(t_jax)
    tsj_cell = "-" if t_tsj is None else fmt_time(t_tsj)
    tsj_ratio = "-" if t_tsj is None else _ratio(t_tsj, t_jax)
    print(
        f"| {name} | {batch} | {n} | {fmt_time(t_ts)} | {fmt_time(t_loop)} | "
        f"{jax_cell} | {tsj_cell} | {_ratio(t_ts, t_loop)} | {_ratio(t_ts, t_jax)} "
        f"| {tsj_ratio} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--kernels", action="store_true", help="kernel crossovers")
    parser.add_argument(
        "--runs", type=int, default=None, help="passes over all sizes (default 3)"
    )
    args = parser.parse_args()
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    tune_malloc()
    repeat, min_time = (3, 0.05) if args.quick else (5, 0.15)
    runs = args.runs or (1 if args.quick else 3)
    run(SIZES, repeat, min_time, runs)
    if args.kernels:
        try:
            from benchmarks import crossovers
        except ImportError:  # run as a script from the benchmarks folder
            import crossovers

        crossovers.run(list(crossovers.tuning.CROSSOVERS), args.quick)


if __name__ == "__main__":
    main()
