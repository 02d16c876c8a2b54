"""Re-measure every size crossover of the NumPy backend.

Each entry of ``tessera.compile.backends.numpy.tuning.CROSSOVERS`` is a
rule that picks one of two kernels from the sizes at hand. For each, this
script times both kernels at sizes on either side of the rule and prints a
Markdown table: the two medians, which was faster here, which one the rule
picks, and whether they agree. A "no" on a machine unlike the reference
one (see ``tuning``) is a hint to re-tune, not an error: near a crossover
the two sides are within noise of each other.

Run: python benchmarks/crossovers.py [--quick] [--only NAME[,NAME]]
(about 40 s in full; ``--quick`` a few seconds, with noisier numbers).
Pair it with ``OPENBLAS_NUM_THREADS=1``, as the measurements in
``tuning`` were.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import scipy.linalg as sla

import tessera as ts
from tessera.compile.backends.numpy import tune_malloc, tuning
from tessera.compile.backends.numpy.linalg import decomposition as D
from tessera.compile.backends.numpy.linalg import expm as E
from tessera.compile.backends.numpy.linalg import inverse as I
from tessera.compile.backends.numpy.linalg import solve as S
from tessera.compile.backends.numpy.linalg._lapack import lapack, per_matrix
from tessera.ops.linalg import _cholesky, _lu, _triangular
from tessera.ops.linalg._base import half_phi_mask

try:
    from benchmarks._util import fmt_time, machine, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, versions

F64 = np.dtype(np.float64)
RNG = np.random.default_rng(0)

# a case: (size label, kernel A, kernel B, whether the rule picks A)
Case = tuple[str, Callable[[], object], Callable[[], object], bool]


def _spd(nb: int, n: int) -> np.ndarray:
    a = RNG.standard_normal((nb, n, n))
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def _factor(nb: int, n: int) -> np.ndarray:
    return np.linalg.cholesky(_spd(nb, n))


def cholesky_loop_min_n(quick: bool) -> Iterator[Case]:
    potrf = lapack("potrf", F64)

    def one(m):
        c, info = potrf(m.T, lower=0, clean=1)
        return c.T, info

    sizes = (
        [(64, 64), (8, 192)] if quick else [(64, 64), (32, 96), (16, 128), (16, 256)]
    )
    for nb, n in sizes:
        a = _spd(nb, n)
        yield (
            f"({nb}, {n})",
            lambda a=a, n=n: per_matrix(one, [(a, 2)], [(n, n)], F64),
            lambda a=a: _cholesky.cholesky(a, True, F64, "raise"),
            n >= tuning.CHOLESKY_LOOP_MIN_N,
        )


def trsm_loop_wins(quick: bool) -> Iterator[Case]:
    sizes = [(8, 8, 1), (4096, 8, 1), (64, 64, 8)]
    if not quick:
        sizes += [(64, 64, 1), (4096, 8, 8), (16, 32, 32)]
    for nb, n, k in sizes:
        a = np.tril(RNG.standard_normal((nb, n, n))) / n + 2 * np.eye(n)
        b = RNG.standard_normal((nb, n, k))
        yield (
            f"({nb}, {n}, k={k})",
            lambda a=a, b=b: S.trsm_loop(a, b, True, 0, False, F64),
            lambda a=a, b=b: _triangular.substitute(a, b, True, False, F64),
            tuning.trsm_loop_wins(nb, n, k),
        )


def pullback_loop_wins(quick: bool) -> Iterator[Case]:
    sizes = [(8, 8), (256, 8), (64, 32)]
    if not quick:
        sizes += [(64, 8), (256, 24)]
    for nb, n in sizes:
        c, g = _factor(nb, n), RNG.standard_normal((nb, n, n))
        yield (
            f"({nb}, {n})",
            lambda c=c, g=g: D._cholesky_pullback_loop(c, g, F64),
            lambda c=c, g=g: D._cholesky_pullback_batched(c, g, F64),
            tuning.pullback_loop_wins(nb, n),
        )


def pullback_blocked_min_n(quick: bool) -> Iterator[Case]:
    trmm, trsm = lapack("trmm", F64, "blas"), lapack("trsm", F64, "blas")
    for n in [64, 192] if quick else [64, 96, 128, 192, 256]:
        c, g = _factor(1, n)[0], RNG.standard_normal((n, n))
        mask, out = half_phi_mask(n, F64), np.empty((n, n))
        yield (
            f"n = {n}",
            lambda c=c, g=g, m=mask, o=out: D._pullback_level3(c, g, trmm, trsm, m, o),
            lambda c=c, g=g, m=mask, o=out: D._pullback_blocked(c, g, trmm, trsm, m, o),
            n < tuning.PULLBACK_BLOCKED_MIN_N,
        )


def _with_potri_max_n(value: int, fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        saved, tuning.POTRI_MAX_N = tuning.POTRI_MAX_N, value
        try:
            return fn()
        finally:
            tuning.POTRI_MAX_N = saved

    return run


def potri_max_n(quick: bool) -> Iterator[Case]:
    for n in [128, 256] if quick else [64, 128, 192, 256]:
        c = _factor(1, n)

        def loop(c=c):
            return I._cholesky_inverse_loop(c, F64)

        yield (
            f"n = {n}",
            _with_potri_max_n(n, loop),
            _with_potri_max_n(0, loop),
            n <= tuning.POTRI_MAX_N,
        )


def cholesky_inverse_loop_wins(quick: bool) -> Iterator[Case]:
    sizes = [(16, 8), (4096, 8), (64, 24)]
    if not quick:
        sizes += [(64, 8), (256, 24)]
    for nb, n in sizes:
        c = _factor(nb, n)
        yield (
            f"({nb}, {n})",
            lambda c=c: I._cholesky_inverse_loop(c, F64),
            lambda c=c: I._cholesky_inverse_batched(c),
            tuning.cholesky_inverse_loop_wins(nb, n),
        )


def lu_loop_wins(quick: bool) -> Iterator[Case]:
    getrf = lapack("getrf", F64)
    sizes = (
        [(4096, 4), (64, 8)] if quick else [(4096, 4), (4096, 8), (64, 8), (256, 16)]
    )
    for nb, n in sizes:
        a = RNG.standard_normal((nb, n, n))
        yield (
            f"({nb}, {n})",
            lambda a=a, n=n: per_matrix(getrf, [(a, 2)], [(n, n), (n,)], F64),
            lambda a=a: _lu.getf2_batched(a.copy()),
            tuning.lu_loop_wins(nb, n),
        )


def expm_scipy_wins(quick: bool) -> Iterator[Case]:
    sizes = [(2, 8), (16, 8)] if quick else [(2, 8), (16, 8), (16, 64), (2, 128)]
    for nb, n in sizes:
        a = RNG.standard_normal((nb, n, n)) / np.sqrt(n)
        yield (
            f"({nb}, {n})",
            lambda a=a: sla.expm(a),
            lambda a=a: E.expm_pade(a),
            tuning.expm_scipy_wins(nb, n),
        )


def _elementwise_chain(size: int, min_reuse: int) -> Callable[[], object]:
    saved, tuning.MIN_REUSE_SIZE = tuning.MIN_REUSE_SIZE, min_reuse
    try:
        x = ts.tensor("x", shape=(size,))
        f = ts.function([x], (ts.exp(x) * 2.0 + 1.0) * x)
    finally:
        tuning.MIN_REUSE_SIZE = saved
    value = RNG.standard_normal(size)
    return lambda: f(value)


def min_reuse_size(quick: bool) -> Iterator[Case]:
    for size in [64, 4096] if quick else [64, 512, 1024, 4096, 65536]:
        yield (
            f"{size} elements",
            _elementwise_chain(size, 0),
            _elementwise_chain(size, 2**62),
            size >= tuning.MIN_REUSE_SIZE,
        )


MEASURE = {
    "cholesky_loop_min_n": (cholesky_loop_min_n, "potrf per matrix", "gufunc"),
    "trsm_loop_wins": (trsm_loop_wins, "BLAS per matrix", "substitution"),
    "pullback_loop_wins": (pullback_loop_wins, "BLAS per matrix", "batched"),
    "pullback_blocked_min_n": (pullback_blocked_min_n, "level-3", "blocked"),
    "potri_max_n": (potri_max_n, "potri", "pullback"),
    "cholesky_inverse_loop_wins": (cholesky_inverse_loop_wins, "potri", "batched"),
    "lu_loop_wins": (lu_loop_wins, "getrf per matrix", "batched getf2"),
    "expm_scipy_wins": (expm_scipy_wins, "SciPy", "batched Pade"),
    "min_reuse_size": (min_reuse_size, "out= reuse", "fresh arrays"),
}


def median_time(fn: Callable[[], object], repeat: int, budget: float) -> float:
    """Median seconds per call over ``repeat`` loops of about ``budget / repeat``
    seconds each (sized from one warm call: cheaper than ``timeit``'s
    autorange when there are many kernels to time)."""
    t0 = time.perf_counter()
    fn()  # warm up (and size the loops)
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(budget / repeat / once))
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs)


def run(names: list[str], quick: bool) -> None:
    """Print one Markdown row per measured size of each crossover in ``names``."""
    repeat, budget = (3, 0.01) if quick else (5, 0.15)
    print(f"versions: {versions('tessera', 'numpy', 'scipy')}")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"machine: {machine()}, OPENBLAS_NUM_THREADS={threads}\n")
    print(
        "| crossover | size | kernel A | time A | kernel B | time B | faster here "
        "| rule picks | agree |"
    )
    print("|---|---|---|---:|---|---:|---|---|---|")
    for name in names:
        measure, label_a, label_b = MEASURE[name]
        for size, fn_a, fn_b, picks_a in measure(quick):
            t_a = median_time(fn_a, repeat, budget)
            t_b = median_time(fn_b, repeat, budget)
            faster = label_a if t_a <= t_b else label_b
            picked = label_a if picks_a else label_b
            print(
                f"| {name} | {size} | {label_a} | {fmt_time(t_a)} | {label_b} | "
                f"{fmt_time(t_b)} | {faster} | {picked} | "
                f"{'yes' if faster == picked else 'no'} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, repeats")
    parser.add_argument(
        "--only", default=None, help="comma-separated names from tuning.CROSSOVERS"
    )
    args = parser.parse_args()
    names = list(tuning.CROSSOVERS)
    if args.only:
        names = [n.strip() for n in args.only.split(",")]
        unknown = set(names) - set(tuning.CROSSOVERS)
        if unknown:
            parser.error(f"no crossover named {sorted(unknown)}")
    # as in the measurements quoted in tuning (and in every benchmark here)
    tune_malloc()
    print("## Size crossovers of the NumPy backend\n")
    run(names, args.quick)


if __name__ == "__main__":
    main()
