"""Batched kernels for LU factorization/solve, permutations and expm.

See :mod:`tessera.ops.linalg._kernels` for the conventions (leading batch
dims broadcast like a gufunc; one call per op evaluation; crossovers
measured with ``python benchmarks/linalg.py --kernels``).
"""

from __future__ import annotations

import math

import numpy as np

from tessera.ops.linalg._kernels import (
    _substitute,
    _trsm_loop_wins,
    as_float,
    batch_size,
    broadcast_batch,
    lapack,
    per_matrix,
)

# LU factorization: getrf per matrix (about 2.5 us of Python each) against
# `_getf2_batched` (partial pivoting vectorized over the batch, a few NumPy
# passes per column). Measured (median, batched vs loop):
#   (batch, n): (4096,4) 2.5 vs 11.1 ms  (4096,8) 8.8 vs 12.8 ms
#               (64,8) 0.31 vs 0.20 ms   (16,8) 0.21 vs 0.06 ms
#               (256,16) 2.3 vs 1.3 ms   (64,32) 3.2 vs 0.75 ms
# The cost model below (microseconds) follows these: the vectorized version
# only pays off for many matrices of size up to about 8.


def _lu_loop_wins(nbatch: int, n: int) -> bool:
    loop_us = 15.0 + nbatch * (3.0 + 3e-4 * n**3)
    batched_us = n * (10.0 + 0.005 * nbatch * n * n)
    return loop_us <= batched_us


def _getf2_batched(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LU with partial pivoting, LAPACK ``getf2`` order, over a flat batch."""
    nb, n, _ = a.shape
    piv = np.empty((nb, n), dtype=np.int32)
    rows = np.arange(nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(n):
            p = k + np.argmax(np.abs(a[:, k:, k]), axis=1)
            piv[:, k] = p
            top = a[rows, k, :].copy()
            a[rows, k, :] = a[rows, p, :]
            a[rows, p, :] = top
            if k + 1 < n:
                d = a[:, k, k]
                # a zero pivot means the column below is zero too: LAPACK
                # leaves it alone (and reports singularity), so do we
                mult = a[:, k + 1 :, k] / np.where(d == 0, 1, d)[:, None]
                a[:, k + 1 :, k] = mult
                a[:, k + 1 :, k + 1 :] -= mult[:, :, None] * a[:, k, None, k + 1 :]
    return a, piv


def lu_factor(a, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(lu, piv)`` like ``scipy.linalg.lu_factor``, over any batch dims."""
    a = as_float(a, dtype)
    n = a.shape[-1]
    batch = a.shape[:-2]
    if _lu_loop_wins(batch_size(batch), n):
        getrf = lapack("getrf", dtype)
        (lu, piv), _ = per_matrix(
            getrf, [(a, 2)], [(n, n), (n,)], dtype, [dtype, np.dtype(np.int32)]
        )
        return lu, piv
    flat = np.array(a.reshape((-1, n, n)), dtype=dtype)
    lu, piv = _getf2_batched(flat)
    return lu.reshape(a.shape), piv.reshape(batch + (n,))


def pivots_to_permutation(piv: np.ndarray) -> np.ndarray:
    """Row order ``perm`` with ``a[perm] == l @ u`` from LAPACK row swaps."""
    n = piv.shape[-1]
    flat = np.asarray(piv).reshape(-1, n)
    perm = np.tile(np.arange(n), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for k in range(n):
        j = flat[:, k]
        top = perm[:, k].copy()
        perm[:, k] = perm[rows, j]
        perm[rows, j] = top
    return perm.reshape(piv.shape)


def permutation_matrix(piv: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``P`` with ``a == P @ l @ u`` for the factorization with pivots ``piv``."""
    perm = pivots_to_permutation(piv)
    n = perm.shape[-1]
    return (perm[..., None, :] == np.arange(n)[:, None]).astype(dtype)


def lu_solve(lu, piv, b, trans: int, dtype: np.dtype) -> np.ndarray:
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` from ``lu_factor(a)``."""
    lu, b = as_float(lu, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch, (lu, piv, b) = broadcast_batch((lu, 2), (np.asarray(piv), 1), (b, 2))
    if _trsm_loop_wins(batch_size(batch), n, k):
        # row swaps and two BLAS trsm per matrix (OpenBLAS's threaded getrs is
        # slow for small systems on a busy machine; see trsm_loop)
        laswp, trsm = lapack("laswp", dtype), lapack("trsm", dtype, "blas")

        def one(m, p, v):
            if trans == 0:
                y = trsm(1.0, m, laswp(v, p), lower=1, diag=1, overwrite_b=1)
                return trsm(1.0, m, y, lower=0, overwrite_b=1), 0
            z = trsm(1.0, m, v, lower=0, trans_a=1)
            w = trsm(1.0, m, z, lower=1, trans_a=1, diag=1, overwrite_b=1)
            return laswp(w, p, inc=-1), 0

        (x,), _ = per_matrix(one, [(lu, 2), (piv, 1), (b, 2)], [(n, k)], dtype)
        return x
    perm = pivots_to_permutation(piv)
    if trans == 0:
        bp = np.take_along_axis(b, perm[..., None], axis=-2)
        y = _substitute(lu, bp, True, True, dtype)
        return _substitute(lu, y, False, False, dtype)
    lut = np.swapaxes(lu, -1, -2)
    z = _substitute(lut, b, True, False, dtype)
    w = _substitute(lut, z, False, True, dtype)
    return np.take_along_axis(w, np.argsort(perm, axis=-1)[..., None], axis=-2)


# --- expm ------------------------------------------------------------------------

# Largest 1-norm for which the degree-m Pade approximant is accurate to double
# precision (Higham 2005, "The scaling and squaring method revisited").
_THETA = {
    3: 1.495585217958292e-2,
    5: 2.539398330063230e-1,
    7: 9.504178996162932e-1,
    9: 2.097847961257068e0,
    13: 5.371920351148152e0,
}


def _pade_coefficients(m: int) -> list[float]:
    f = math.factorial
    return [f(2 * m - j) * f(m) / (f(2 * m) * f(j) * f(m - j)) for j in range(m + 1)]


def _pade(a: np.ndarray, m: int) -> np.ndarray:
    """Degree-m diagonal Pade approximant of exp, batched."""
    b = _pade_coefficients(m)
    n = a.shape[-1]
    eye = np.eye(n, dtype=a.dtype)
    a2 = a @ a
    if m == 13:
        a4 = a2 @ a2
        a6 = a4 @ a2
        u = a @ (
            a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
            + b[7] * a6
            + b[5] * a4
            + b[3] * a2
            + b[1] * eye
        )
        v = (
            a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2)
            + b[6] * a6
            + b[4] * a4
            + b[2] * a2
            + b[0] * eye
        )
    else:
        powers = [eye, a2]
        while len(powers) <= m // 2:
            powers.append(powers[-1] @ a2)
        u = a @ sum(b[2 * j + 1] * powers[j] for j in range((m + 1) // 2))
        v = sum(b[2 * j] * powers[j] for j in range((m + 1) // 2))
    return np.linalg.solve(v - u, v + u)


def expm_pade(a: np.ndarray) -> np.ndarray:
    """Scaling and squaring with a Pade approximant, vectorized over the batch.

    The Pade degree is chosen from the largest 1-norm in the batch; each
    element gets its own number of squarings (masked beyond its own count).
    """
    norms = np.abs(a).sum(axis=-2).max(axis=-1)
    norms = np.where(np.isfinite(norms), norms, 0.0)
    top = float(norms.max()) if norms.size else 0.0
    for m in (3, 5, 7, 9):
        if top <= _THETA[m]:
            return _pade(a, m)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(norms / _THETA[13]))).astype(np.int64)
    r = _pade(a / np.ldexp(1.0, s)[..., None, None], 13)
    for k in range(int(s.max()) if s.size else 0):
        r = np.where((s > k)[..., None, None], r @ r, r)
    return r


# expm: scipy.linalg.expm loops over a batch in Python (about 20-110 us per
# 8x8 matrix: 79 ms for 4096 of them) where `expm_pade` takes 12.6 ms; (16, 8)
# 0.14 vs 0.31 ms, (16, 64) 3.6 vs 3.9 ms, (2, 256) 12 vs 66 ms. SciPy's
# version (with exact 1-norm estimates) is kept for a single matrix and for
# two small ones: (2, 8) 88 vs 41 us.


def expm(a, dtype: np.dtype) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    nbatch, n = batch_size(a.shape[:-2]), a.shape[-1]
    if nbatch <= 1 or n == 0 or (nbatch <= 2 and n <= 32):
        from scipy.linalg import expm as scipy_expm  # imported on first use

        out = scipy_expm(a)
    else:
        out = expm_pade(a)
    return np.asarray(out, dtype=dtype)
