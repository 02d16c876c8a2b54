"""Reproduce (or rule out) the XLA:CPU hang on two batched LAPACK calls.

jax/jaxlib 0.10.0-0.10.2 hang, on a 2-core machine, when one compiled
program holds two independent batched LAPACK calls (both workers of XLA's
intra-op pool wait in jaxlib's batched LAPACK kernel for helper tasks
queued on that same pool). tessera's dependency range excludes those
releases (``jaxlib<0.10``; see docs/jax-lapack-hang.md); this script is the
check that the releases it allows do not hang, and the reproduction for
the upstream report.

Each case is compiled once and called ``--calls`` times, every call under
a watchdog (``faulthandler``): a call that takes longer than ``--timeout``
seconds dumps every thread's stack and ends the process (exit status 1).

- ``pure``: the minimal pure-JAX reproduction, two Cholesky factorizations
  of (4096, 8, 8) under one ``jax.jit(jax.value_and_grad(...))``;
- ``wishart``, ``matrixnormal``: tessera's Wishart and MatrixNormal
  log-density and gradient at 4096 x 8 on the JAX backend (they stalled in
  ``benchmarks/distributions.py``);
- ``mvnormal-potri``: MvNormal at (64, 64) with the ``independent_lapack``
  rewrite that the JAX backend otherwise leaves out (it deadlocked in 4 of
  12 runs of 300 calls on jaxlib 0.10).

Run: python benchmarks/jax_lapack_hang.py [--calls 200] [--timeout 20]
[--cases pure,wishart,...]; prints one line per case and exits 0 when no
call hung.
"""

from __future__ import annotations

import argparse
import faulthandler
import sys
import time
from collections.abc import Callable

import numpy as np


def _spd(rng, batch: int, n: int) -> np.ndarray:
    a = rng.standard_normal((batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def pure_case() -> Callable[[], object]:
    """The 12-line reproduction: nothing of tessera."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    a, b = jnp.asarray(_spd(rng, 4096, 8)), jnp.asarray(_spd(rng, 4096, 8))

    def f(a, b):
        la, lb = jnp.linalg.cholesky(a), jnp.linalg.cholesky(b)
        return jnp.sum(jnp.log(jnp.diagonal(la, axis1=-2, axis2=-1))) + jnp.sum(
            jnp.log(jnp.diagonal(lb, axis1=-2, axis2=-1))
        )

    g = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))
    return lambda: jax.block_until_ready(g(a, b))


def _tessera_case(build, arrays: dict, backend) -> Callable[[], object]:
    import jax

    import tessera as ts

    sym = {k: ts.tensor(k, shape=v.shape) for k, v in arrays.items()}
    lp = build(sym)
    f = ts.function(
        list(sym.values()), [lp, *ts.grad(lp, list(sym.values()))], backend=backend
    )
    args = list(arrays.values())
    return lambda: jax.block_until_ready(f(*args))


def wishart_case():
    from tessera import ppl

    rng = np.random.default_rng(1)
    arrays = {
        "nu": 8 + rng.uniform(1.0, 5.0, size=4096),
        "V": _spd(rng, 4096, 8),
        "x": _spd(rng, 4096, 8) * 8,
    }

    def build(p):
        d = ppl.Wishart.dist(nu=p["nu"], V=p["V"])
        return ppl.logp(d, p["x"]).sum()

    return _tessera_case(build, arrays, "jax")


def matrixnormal_case():
    from tessera import ppl

    rng = np.random.default_rng(2)
    arrays = {
        "mu": rng.standard_normal((4096, 8, 6)),
        "rowcov": _spd(rng, 4096, 8),
        "colcov": _spd(rng, 4096, 6),
        "x": rng.standard_normal((4096, 8, 6)),
    }

    def build(p):
        d = ppl.MatrixNormal.dist(mu=p["mu"], rowcov=p["rowcov"], colcov=p["colcov"])
        return ppl.logp(d, p["x"]).sum()

    return _tessera_case(build, arrays, "jax")


def mvnormal_potri_case():
    from dataclasses import replace

    from tessera import ppl
    from tessera.compile.backends import get_backend

    # the JAX backend with every rewrite, the independent_lapack one included
    every_rewrite = replace(get_backend("jax"), name="jax-every-rewrite", exclude=())
    rng = np.random.default_rng(3)
    arrays = {
        "mu": rng.standard_normal((64, 64)),
        "cov": _spd(rng, 64, 64),
        "x": rng.standard_normal((64, 64)),
    }

    def build(p):
        d = ppl.MvNormal.dist(mu=p["mu"], cov=p["cov"])
        return ppl.logp(d, p["x"]).sum()

    return _tessera_case(build, arrays, every_rewrite)


CASES = {
    "pure": pure_case,
    "wishart": wishart_case,
    "matrixnormal": matrixnormal_case,
    "mvnormal-potri": mvnormal_potri_case,
}


def run(case: str, calls: int, timeout: float) -> float:
    """Compile ``case`` and call it ``calls`` times, each under the watchdog;
    returns the seconds the calls took (a hung call ends the process)."""
    fn = CASES[case]()
    fn()  # compile outside the timed calls (one watched call too)
    start = time.perf_counter()
    for _ in range(calls):
        faulthandler.dump_traceback_later(timeout, exit=True)
        fn()
        faulthandler.cancel_dump_traceback_later()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    from importlib.metadata import version

    print(f"jax {version('jax')}, jaxlib {version('jaxlib')}", flush=True)
    for case in args.cases.split(","):
        faulthandler.dump_traceback_later(args.timeout * 10, exit=True)  # compile
        seconds = run(case, args.calls, args.timeout)
        print(f"{case}: {args.calls} calls, 0 hangs, {seconds:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
