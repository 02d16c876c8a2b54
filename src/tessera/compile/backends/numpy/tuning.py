"""Every size crossover of the NumPy backend, in one table.

A crossover is a rule that picks one of two kernels for the same result
from the sizes at hand (batch size, matrix size, number of right-hand
sides, ...). Each entry of :data:`CROSSOVERS` says what the rule chooses,
its value, how it was measured and the command that measures it again;
the rules themselves are the constants and functions below, which the
kernels read at call time (so a test or an experiment can patch them
here).

All measurements: the project's 2-core reference machine (x86-64,
OpenBLAS 0.3.31 bundled with NumPy and SciPy, ``OPENBLAS_NUM_THREADS=1``
unless said otherwise), median times. The machine was shared while
measuring, so only the orders of magnitude are firm; the rules sit in the
middle of the ties. ``python benchmarks/crossovers.py`` re-measures both
sides of every rule and says which side wins now (``--only NAME`` for one
entry, ``--quick`` for a smoke run).

Examples
--------
>>> from tessera.compile.backends.numpy import tuning
>>> tuning.CROSSOVERS["cholesky_loop_min_n"].value
128
>>> tuning.trsm_loop_wins(4096, 8, 1), tuning.trsm_loop_wins(1, 256, 1)
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Crossover:
    """One size-dependent kernel choice.

    Parameters
    ----------
    chooses : str
        The two kernels and which one the rule picks when.
    value : object
        The threshold, or the rule as a formula.
    measured : str
        The sizes measured and the numbers, in short.
    command : str
        The command that measures both sides again.

    Examples
    --------
    >>> Crossover("a or b", 3, "a wins from 3", "python benchmarks/crossovers.py")
    ... # doctest: +ELLIPSIS
    Crossover(chooses='a or b', value=3, ...)
    """

    chooses: str
    value: object
    measured: str
    command: str


def _command(name: str) -> str:
    return f"python benchmarks/crossovers.py --only {name}"


# --- the rules ----------------------------------------------------------------

CHOLESKY_LOOP_MIN_N = 128
PULLBACK_BLOCKED_MIN_N = 112
PULLBACK_BLOCK = 64
POTRI_MAX_N = 224
MIN_REUSE_SIZE = 1024


def trsm_loop_wins(nbatch: int, n: int, k: int) -> bool:
    """Triangular solve: per-matrix BLAS (True) or batched substitution."""
    if k == 1:
        loop_us = 2.2 * nbatch + 1.5e-4 * nbatch * n * n
        subst_us = (4.0 + 0.017 * n) * n + 0.012 * nbatch * n
        return loop_us < subst_us
    flops = nbatch * n * n * k
    loop_us = 15.0 + 2.5 * nbatch + 8e-5 * flops
    subst_us = 4.0 * n + 0.012 * nbatch * n * k + 8e-5 * flops
    return loop_us < subst_us


def pullback_loop_wins(nbatch: int, n: int) -> bool:
    """Cholesky pullback: per-matrix BLAS (True) or the batched formula."""
    return n >= 28 or nbatch <= 12


def cholesky_inverse_loop_wins(nbatch: int, n: int) -> bool:
    """cholesky_inverse: per-matrix ``potri`` (True) or batch-last ``k^T k``."""
    return nbatch <= 32 or n >= 28


def lu_loop_wins(nbatch: int, n: int) -> bool:
    """lu_factor: per-matrix ``getrf`` (True) or batched ``getf2``."""
    loop_us = 15.0 + nbatch * (3.0 + 3e-4 * n**3)
    batched_us = n * (10.0 + 0.005 * nbatch * n * n)
    return loop_us <= batched_us


def expm_scipy_wins(nbatch: int, n: int) -> bool:
    """expm: ``scipy.linalg.expm`` (True) or the batched Pade kernel."""
    return nbatch <= 1 or n == 0 or (nbatch <= 2 and n <= 32)


# --- the table ------------------------------------------------------------------

CROSSOVERS: dict[str, Crossover] = {
    "cholesky_loop_min_n": Crossover(
        chooses=(
            "cholesky of a batch: LAPACK potrf per matrix from this n on, "
            "np.linalg's gufunc below (one matrix: potrf at every n)"
        ),
        value=CHOLESKY_LOOP_MIN_N,
        measured=(
            "ms, gufunc vs potrf per matrix: (64,64) 0.96 vs 0.95-1.8; (32,96) "
            "1.9 vs 2.2; (16,128) 2.3 vs 1.7; (16,192) 5.6 vs 4.7; (16,256) 13.0 "
            "vs 5.4; (1,512) 6.2 vs 2.3; (4096,8) 2.0 vs 16. Without "
            "OPENBLAS_NUM_THREADS=1 NumPy's and SciPy's thread pools fight "
            "over the cores and the loop loses 2-3x"
        ),
        command=_command("cholesky_loop_min_n"),
    ),
    "trsm_loop_wins": Crossover(
        chooses=(
            "solve_triangular, cho_solve, lu_solve of a batch: BLAS trsv/trsm "
            "per matrix when the cost model says so, else batched substitution"
        ),
        value=(
            "k = 1: 2.2 nb + 1.5e-4 nb n^2 < (4 + 0.017 n) n + 0.012 nb n; "
            "k > 1: 15 + 2.5 nb + 8e-5 F < 4 n + 0.012 nb n k + 8e-5 F, "
            "F = nb n^2 k (microseconds)"
        ),
        measured=(
            "substitution vs per matrix, k = 1: (8,8) 41 vs 14 us; (32,32) 194 vs "
            "67 us; (64,64) 419 vs 169 us; (16,256) 2.15 vs 0.19 ms; (4096,8) "
            "0.38 vs 9 ms. (batch, n, k): (4096,8,8) 2.1 vs 14.4 ms; (8,8,8) 51 vs "
            "47 us; (16,32,32) 0.30 vs 0.14 ms; (64,64,64) 2.6 vs 1.1 ms; "
            "(16,256,256) 27 vs 10 ms. np.linalg.solve (LU) never wins: 4.8 ms "
            "at (4096,8,8)"
        ),
        command=_command("trsm_loop_wins"),
    ),
    "pullback_loop_wins": Crossover(
        chooses=(
            "Cholesky pullback of a batch: per-matrix BLAS (trmm + two trsm) "
            "when n >= 28 or batch <= 12, else c^-1 by batched substitution and "
            "three batched matmuls"
        ),
        value="n >= 28 or nbatch <= 12",
        measured=(
            "ms, batched vs per matrix: (1,8) 0.11 vs 0.044; (8,8) 0.13 vs 0.095; "
            "(64,8) 0.20 vs 0.48; (4096,8) 3.1 vs 28; (256,16) 1.2-1.5 vs 2.3-2.5; "
            "(256,24) 2.9-3.8 vs 3.4-3.6; (64,32) 2.5-2.9 vs 1.1; (64,64) 18 vs "
            "4.1; (16,256) 370 vs 31"
        ),
        command=_command("pullback_loop_wins"),
    ),
    "pullback_blocked_min_n": Crossover(
        chooses=(
            "Cholesky pullback of one matrix: the level-3 formula below this n, "
            "the blocked reverse-mode algorithm (blocks of at most "
            f"{PULLBACK_BLOCK}) from it on"
        ),
        value=PULLBACK_BLOCKED_MIN_N,
        measured=(
            "us per matrix, level-3 vs blocked: n = 64: 108 vs 150; 96: 237 vs "
            "230; 128: 471 vs 411; 192: 1330 vs 730; 256: 2720 vs 1120; 512: "
            "16200 vs 5000"
        ),
        command=_command("pullback_blocked_min_n"),
    ),
    "potri_max_n": Crossover(
        chooses=(
            "cholesky_inverse of one matrix: LAPACK potri up to this n, above "
            "it the blocked pullback of a diagonal cotangent (OpenBLAS's trtri "
            "is slow there)"
        ),
        value=POTRI_MAX_N,
        measured=(
            "us, potri vs pullback: n = 64: 65 vs 139; 128: 304 vs 497; 192: 715 "
            "vs 976; 256: 1550 vs 1230"
        ),
        command=_command("potri_max_n"),
    ),
    "cholesky_inverse_loop_wins": Crossover(
        chooses=(
            "cholesky_inverse of a batch: per matrix (potri) when batch <= 32 "
            "or n >= 28, else k^T k in the batch-last layout"
        ),
        value="nbatch <= 32 or n >= 28",
        measured=(
            "us, batched vs potri per matrix: (16,8) 201 vs 125; (64,8) 226 vs "
            "484; (4096,8) 1880 vs 18600; (16,16) 442 vs 159; (64,16) 593 vs 644; "
            "(64,24) 802 vs 638; (256,24) 2990 vs 3980; (1024,24) 10900 vs 15900"
        ),
        command=_command("cholesky_inverse_loop_wins"),
    ),
    "lu_loop_wins": Crossover(
        chooses=(
            "lu_factor of a batch: getrf per matrix when the cost model says "
            "so, else getf2 with partial pivoting vectorized over the batch"
        ),
        value="15 + nb (3 + 3e-4 n^3) <= n (10 + 0.005 nb n^2) (microseconds)",
        measured=(
            "ms, batched vs loop: (4096,4) 2.5 vs 11.1; (4096,8) 8.8 vs 12.8; "
            "(64,8) 0.31 vs 0.20; (16,8) 0.21 vs 0.06; (256,16) 2.3 vs 1.3; "
            "(64,32) 3.2 vs 0.75"
        ),
        command=_command("lu_loop_wins"),
    ),
    "expm_scipy_wins": Crossover(
        chooses=(
            "expm: scipy.linalg.expm (exact 1-norm estimates, a Python loop "
            "over a batch) for one matrix or two small ones, else scaling and "
            "squaring with Pade approximants vectorized over the batch"
        ),
        value="nbatch <= 1 or n == 0 or (nbatch <= 2 and n <= 32)",
        measured=(
            "ms, Pade batched vs SciPy: (4096,8) 12.6 vs 79; (16,8) 0.14 vs "
            "0.31; (16,64) 3.6 vs 3.9; (2,256) 12 vs 66; (2,8) 0.088 vs 0.041"
        ),
        command=_command("expm_scipy_wins"),
    ),
    "min_reuse_size": Crossover(
        chooses=(
            "linker: an elementwise result is written into the buffer of an "
            "input only read by it (out=) from this many elements on; below, a "
            "fresh array from NumPy's allocation cache costs less than the "
            "overlap checks out= brings"
        ),
        value=MIN_REUSE_SIZE,
        measured="the 8x8 MvNormal gradient was 5-10% slower reusing its vectors",
        command=_command("min_reuse_size"),
    ),
}
