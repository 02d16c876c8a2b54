"""Fused NumPy/BLAS kernels for pullbacks of the linalg ops.

``cholesky_pullback(c, g)``: the cotangent of ``a`` given the lower Cholesky
factor ``c`` of ``a = c c^T`` and the cotangent ``g`` of ``c``,

    abar = S + S^T,   S = c^{-T} Phi(c^T g) c^{-1},

with ``Phi`` the lower triangle, diagonal halved, and a further factor 1/2
(the symmetrization of a perturbation of ``a``). Written as graph ops this
is a full matmul, two triangular solves with matrix right-hand sides and
five elementwise passes over (batch, n, n) arrays. Fused here:

- few large matrices: per matrix, one BLAS ``trmm`` (``c^T`` is triangular:
  half the flops of a matmul) and two ``trsm`` calls, working in place on a
  block that stays in cache; from ``BLOCKED_MIN_N`` on, the blocked
  reverse-mode algorithm (a third of the flops, nearly all in one matmul per
  block column) with that formula on the diagonal blocks;
- many small matrices: ``c^{-1}`` by a batch-vectorized substitution (one
  NumPy statement per column), then three batched matmuls.

Crossover, measured with ``python benchmarks/linalg.py --kernels`` (2-core
reference machine, OpenBLAS 0.3.31, OPENBLAS_NUM_THREADS=1, shared while
measuring, so only the ordering is firm; median ms, batched vs per matrix):

    (batch, n)  (1,8)  (8,8)  (64,8)  (4096,8)  (256,16)  (256,24)  (64,32)
    batched     0.11   0.13   0.20    3.1       1.2-1.5   2.9-3.8   2.5-2.9
    per matrix  0.044  0.095  0.48    28        2.3-2.5   3.4-3.6   1.1
    (64,64): 18 vs 4.1; (16,256): 370 vs 31 (the graph-op form: 6.3 and 44)

``cholesky_inverse(c)``: ``a^{-1}`` from the factor, the closed form of the
pullback of a diagonal cotangent ``diag(t / diag(c))`` (see
:mod:`tessera.rewrite.linalg_pullback`), with kernels of its own.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from tessera.ops.linalg._kernels import (
    as_float,
    batch_shape,
    broadcast_batch,
    lapack,
    report,
)


@lru_cache(maxsize=64)
def half_phi_mask(n: int, dtype) -> np.ndarray:
    """(n, n) mask: 1/2 below the diagonal, 1/4 on it, 0 above (read-only,
    cached: building it costs more than an 8x8 pullback)."""
    mask = 0.5 * np.tril(np.ones((n, n)), -1) + 0.25 * np.eye(n)
    mask = mask.astype(dtype)
    mask.flags.writeable = False
    return mask


# The pullback of one matrix: the level-3 formula (one trmm, two trsm) up to
# BLOCKED_MIN_N, the blocked reverse-mode algorithm with blocks of at most
# BLOCK from there (OPENBLAS_NUM_THREADS=1, median us per matrix, level-3 vs
# blocked): n = 64: 108 vs 150; 96: 237 vs 230; 128: 471 vs 411;
# 192: 1330 vs 730; 256: 2720 vs 1120; 512: 16200 vs 5000.
BLOCKED_MIN_N = 112
BLOCK = 64


def _pullback_loop_wins(nbatch: int, n: int) -> bool:
    return n >= 28 or nbatch <= 12


def tri_inv_lower(c: np.ndarray) -> np.ndarray:
    """Inverses of lower triangular matrices (..., n, n), batch-vectorized.

    Column-oriented substitution in a batch-last layout, so every statement
    is one elementwise NumPy operation over the whole batch (contiguous
    along it). Reads only the lower triangle of ``c``; the result is
    C-contiguous, so the batched matmuls that use it need no copy.
    """
    buf = _tri_inv_batch_last(c)
    nb = math.prod(c.shape[:-2])
    return np.ascontiguousarray(buf[:, :nb].T).reshape(c.shape)


def _batch_last_buffer(n: int, nb: int, dtype, zero: bool = False) -> np.ndarray:
    # Rows of n * n batch-last matrices, padded by 64 bytes: when their length
    # is a multiple of 4 KiB (a batch of 4096) the transposing copies hit one
    # cache set and take 0.9 ms instead of 0.13 ms for (4096, 8, 8).
    return (np.zeros if zero else np.empty)((n * n, nb + 8), dtype)


def _tri_inv_batch_last(c: np.ndarray) -> np.ndarray:
    """:func:`tri_inv_lower` in the batch-last layout: a (n * n, >= nb)
    buffer whose first nb columns hold the inverses' entries."""
    n = c.shape[-1]
    nb = math.prod(c.shape[:-2])
    ct = _batch_last_buffer(n, nb, c.dtype)
    ct[:, :nb] = c.reshape(nb, n * n).T
    ct = ct[:, :nb].reshape(n, n, nb)
    buf = _batch_last_buffer(n, nb, c.dtype, zero=True)
    x = buf[:, :nb].reshape(n, n, nb)
    idx = np.arange(n)
    x[idx, idx] = 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(n):
            # row j of x is final once divided; eliminate it from the rows below
            x[j, : j + 1] /= ct[j, j]
            if j + 1 < n:
                x[j + 1 :, : j + 1] -= ct[j + 1 :, j, None, :] * x[j, None, : j + 1]
    return buf


def _cholesky_inverse_batched(c: np.ndarray) -> np.ndarray:
    """``k^T k`` with ``k = c^{-1}`` for many small lower factors ``c``, all in
    the batch-last layout (one statement per row: 3x faster than a batched
    matmul of 8x8 matrices) and transposed back once."""
    n = c.shape[-1]
    nb = math.prod(c.shape[:-2])
    k = _tri_inv_batch_last(c)[:, :nb].reshape(n, n, nb)
    buf = _batch_last_buffer(n, nb, c.dtype)
    s = buf[:, :nb].reshape(n, n, nb)
    for i in range(n):
        # s[i, j] = sum over m >= i of k[m, i] k[m, j], for j <= i; mirrored
        s[i, : i + 1] = np.einsum("mb,mjb->jb", k[i:, i], k[i:, : i + 1])
        s[:i, i] = s[i, :i]
    return np.ascontiguousarray(buf[:, :nb].T).reshape(c.shape)


def _cholesky_pullback_batched(c, g, dtype, triangular: bool = False):
    mask = half_phi_mask(c.shape[-1], dtype)
    # the strict upper triangle of c is not part of the factor
    p = np.matmul(np.swapaxes(c if triangular else np.tril(c), -1, -2), g)
    p *= mask
    inv = tri_inv_lower(c)
    s = np.matmul(np.matmul(np.swapaxes(inv, -1, -2), p), inv)
    s += np.swapaxes(s, -1, -2)
    return s


def pullback_one(c, g, trmm, trsm, mask, out) -> None:
    """The pullback of one (n, n) factor into ``out``; ``mask`` is
    ``half_phi_mask(n)``. Blocked from ``BLOCKED_MIN_N`` on."""
    if c.shape[-1] >= BLOCKED_MIN_N:
        _pullback_blocked(c, g, trmm, trsm, mask, out)
    else:
        _pullback_level3(c, g, trmm, trsm, mask, out)


def _pullback_level3(c, g, trmm, trsm, mask, out) -> None:
    # BLAS is column-major: the transpose u = c.T of a C-ordered block is a
    # Fortran-ordered upper triangular matrix (no copy), and every product
    # below is formed transposed so that no block is copied either.
    u = c.T
    # g^T c = (c^T g)^T, Fortran-ordered; its C view is c^T g
    r = trmm(1.0, u, g.T, side=1, lower=0, trans_a=1)
    rt = r.T
    rt *= mask  # r now holds Phi(c^T g)^T / 2 = P^T
    r = trsm(1.0, u, r, side=0, lower=0, trans_a=0, overwrite_b=1)  # c^-T P^T
    r = trsm(1.0, u, r, side=1, lower=0, trans_a=1, overwrite_b=1)  # .. c^-1
    np.add(r, r.T, out=out)  # r = S^T; S + S^T


def _pullback_blocked(c, g, trmm, trsm, mask, out) -> None:
    """Blocked reverse-mode Cholesky (block columns last to first).

    The factorization, block by block: ``L_kk = chol(A_kk)``, ``L_tk = A_tk
    L_kk^{-T}`` and the trailing update ``A_tt -= L_tk L_tk^T`` (k a block
    column, t the rows below it). Run backwards, with ``out`` holding the
    finished (symmetric) cotangent of the trailing matrix, step k is

        gbar_tk -= 2 out_tt L_tk          (the trailing update)
        abar_tk  = gbar_tk L_kk^{-1}      (one triangular solve)
        gbar_kk -= tril(abar_tk^T L_tk)
        out_kk   = level-3 pullback of (L_kk, gbar_kk)

    with ``out_tk = abar_tk / 2`` (half for each triangle). About n^3 flops
    against 3 n^3 for the level-3 formula on the whole matrix, nearly all of
    it in the matmul of the first line.
    """
    n = c.shape[-1]
    nblocks = -(-n // BLOCK)
    bounds = [n * i // nblocks for i in range(nblocks + 1)]
    gbar = np.array(g)  # C-ordered working copy; only the lower blocks are used
    for k0, k1 in reversed(list(zip(bounds[:-1], bounds[1:]))):
        kk = slice(k0, k1)
        ckk = np.ascontiguousarray(c[kk, kk])
        if k1 < n:
            tt = slice(k1, n)
            ctk = c[tt, kk]
            upd = out[tt, tt] @ ctk
            upd *= 2.0
            b = gbar[tt, kk] - upd  # C-ordered (t, m); b.T is Fortran
            # abar_tk^T = L_kk^{-T} b^T: an upper solve with ckk.T = L_kk^T
            bt = trsm(1.0, ckk.T, b.T, side=0, lower=0, trans_a=0, overwrite_b=1)
            abar = bt.T
            gbar[kk, kk] -= bt @ ctk
            abar *= 0.5
            out[tt, kk] = abar
            out[kk, tt] = bt
        m = k1 - k0
        gkk = np.ascontiguousarray(gbar[kk, kk])
        _pullback_level3(ckk, gkk, trmm, trsm, mask[:m, :m], out[kk, kk])


def _cholesky_pullback_loop(c, g, dtype):
    n = c.shape[-1]
    trmm = lapack("trmm", dtype, "blas")
    trsm = lapack("trsm", dtype, "blas")
    mask = half_phi_mask(n, dtype)
    if c.size == n * n and g.size == n * n:
        # one matrix: no batch machinery (this is most of an 8x8 call)
        shape = batch_shape(c.shape[:-2], g.shape[:-2]) + (n, n)
        out = np.empty((n, n), dtype)
        pullback_one(c.reshape(n, n), g.reshape(n, n), trmm, trsm, mask, out)
        return out.reshape(shape)
    batch, (c, g) = broadcast_batch((c, 2), (g, 2))
    nb = math.prod(batch)
    c = c.reshape((nb, n, n))
    g = g.reshape((nb, n, n))
    out = np.empty((nb, n, n), dtype)
    for i in range(nb):
        pullback_one(c[i], g[i], trmm, trsm, mask, out[i])
    return out.reshape(batch + (n, n))


def cholesky_pullback_one(c, g, dtype: np.dtype) -> np.ndarray | None:
    """:func:`cholesky_pullback` of one matrix with no conversions, or None.

    The graph of an 8x8 MvNormal gradient spends more time in Python than in
    BLAS: this path skips the batch machinery (about 5 us saved).
    """
    n = c.shape[-1]
    if (
        c.dtype != dtype
        or g.dtype != dtype
        or c.ndim < 2
        or g.ndim < 2
        or not n
        or c.size != n * n
        or g.size != n * n
        or c.shape[-2] != n
        or g.shape[-2] != n
        or g.shape[-1] != n
    ):
        return None
    out = np.empty((n, n), dtype)
    pullback_one(
        c.reshape(n, n),
        g.reshape(n, n),
        lapack("trmm", dtype, "blas"),
        lapack("trsm", dtype, "blas"),
        half_phi_mask(n, dtype),
        out,
    )
    # broadcasting batch shapes of size 1: the longer one
    return out.reshape(c.shape if c.ndim >= g.ndim else g.shape)


def cholesky_pullback(c, g, dtype: np.dtype, triangular: bool = False) -> np.ndarray:
    """``abar`` from the lower Cholesky factor ``c`` and its cotangent ``g``.

    Both (..., n, n) with broadcasting batch dims; only the lower triangles
    of ``c`` and ``g`` are read, unless ``triangular`` says that the strict
    upper triangle of ``c`` is zero (a Cholesky factor as computed), which
    saves a masking pass over the batch.
    """
    dtype = np.dtype(dtype)
    c, g = as_float(c, dtype), as_float(g, dtype)
    n = c.shape[-1]
    batch = batch_shape(c.shape[:-2], g.shape[:-2])
    nbatch = math.prod(batch)
    if n == 0 or nbatch == 0:
        return np.zeros(batch + (n, n), dtype)
    if _pullback_loop_wins(nbatch, n):
        # BLAS raises no floating-point flags: no errstate needed (~4 us)
        return _cholesky_pullback_loop(c, g, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _cholesky_pullback_batched(c, g, dtype, triangular)


@lru_cache(maxsize=64)
def lower_half_diag_mask(n: int, dtype) -> np.ndarray:
    """(n, n) mask: 1 below the diagonal, 1/2 on it, 0 above (read-only)."""
    mask = (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(dtype)
    mask.flags.writeable = False
    return mask


# cholesky_inverse of one matrix: LAPACK potri (OpenBLAS: trtri, then lauum)
# up to POTRI_MAX_N; above, the blocked pullback of a diagonal cotangent,
# c^{-T} c^{-1} = pullback(c, diag(2 / diag(c))), since OpenBLAS's trtri is
# slow there (OPENBLAS_NUM_THREADS=1, median us, potri vs pullback):
# n = 64: 65 vs 139; 128: 304 vs 497; 192: 715 vs 976; 256: 1550 vs 1230.
POTRI_MAX_N = 224


def _inverse_loop_wins(nbatch: int, n: int) -> bool:
    # median us, batched vs potri per matrix (OPENBLAS_NUM_THREADS=1):
    # (16,8) 201 vs 125  (64,8) 226 vs 484  (4096,8) 1880 vs 18600
    # (16,16) 442 vs 159  (64,16) 593 vs 644  (64,24) 802 vs 638
    # (256,24) 2990 vs 3980  (1024,24) 10900 vs 15900
    return nbatch <= 32 or n >= 28


def cholesky_inverse(c, lower: bool, dtype: np.dtype, on_error: str) -> np.ndarray:
    """``a^{-1}`` from the Cholesky factor ``c`` of ``a`` (..., n, n).

    ``a = c c^T`` for a ``lower`` factor, ``c^T c`` for an upper one; only
    that triangle of ``c`` is read. A zero on its diagonal (a singular
    factor) raises or gives NaN for that batch element, per ``on_error``.
    Kernels: per matrix, LAPACK ``potri`` (a third of the flops of two
    triangular solves; above ``POTRI_MAX_N`` the blocked pullback); for many
    small matrices ``k^T k`` in the batch-last layout of the triangular
    inverse ``k = c^{-1}``.
    """
    dtype = np.dtype(dtype)
    c = as_float(c, dtype)
    if not lower:  # c^T c = l l^T with l = c^T
        c = np.swapaxes(c, -1, -2)
    n = c.shape[-1]
    batch = c.shape[:-2]
    nbatch = math.prod(batch)
    if n == 0 or nbatch == 0:
        return np.zeros(c.shape, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if _inverse_loop_wins(nbatch, n):
            out, bad = _cholesky_inverse_loop(c.reshape((nbatch, n, n)), dtype)
            out, bad = out.reshape(c.shape), bad.reshape(batch)
        else:
            out = _cholesky_inverse_batched(c)
            bad = (np.diagonal(c, axis1=-2, axis2=-1) == 0).any(axis=-1)
    report("cholesky_inverse", bad, "singular", on_error, [out])
    return out


def _cholesky_inverse_loop(c, dtype):
    nbatch, n = c.shape[0], c.shape[-1]
    out = np.empty(c.shape, dtype)
    bad = np.zeros(nbatch, dtype=bool)
    if n > POTRI_MAX_N:
        trmm, trsm = lapack("trmm", dtype, "blas"), lapack("trsm", dtype, "blas")
        mask = half_phi_mask(n, dtype)
        for i in range(nbatch):
            d = np.diagonal(c[i])
            bad[i] = not d.all()
            pullback_one(c[i], np.diag(2.0 / d), trmm, trsm, mask, out[i])
        return out, bad
    potri = lapack("potri", dtype)
    mask = lower_half_diag_mask(n, dtype)
    scratch = np.empty((n, n), dtype)
    for i in range(nbatch):
        o = out[i]
        o[...] = c[i]
        # in place on the Fortran-ordered transpose: its upper triangle is
        # c's lower one, and the result lands in o's lower triangle
        _, info = potri(o.T, lower=0, overwrite_c=1)
        bad[i] = info > 0
        np.multiply(o, mask, out=scratch)
        np.add(scratch, scratch.T, out=o)
    return out, bad
