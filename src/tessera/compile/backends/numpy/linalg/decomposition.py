"""NumPy kernels of the factorizations: Cholesky, its pullback, LU.

Mirrors :mod:`tessera.ops.linalg.decomposition`. Each op has a kernel for
any batch (sizes known at run time pick the LAPACK routine per matrix or a
batched NumPy kernel; the crossovers are in :mod:`..tuning`) and, where the
graph's static types allow, a callable specialized at compile time:

- one matrix of known size: LAPACK/BLAS directly, with the routine, the
  reshapes and the masks chosen when compiling (a Cholesky in about 1.8 us
  against 4 through the general kernel, its pullback in 6 against 9);
- a batch of pullbacks whose factor comes from a Cholesky: its upper
  triangle is zero, so the batched formula skips masking it.

The Cholesky pullback ``abar = S + S^T``, ``S = c^{-T} Phi(c^T g) c^{-1} /
2``, is, written as graph ops, a full matmul, two triangular solves with
matrix right-hand sides and five elementwise passes over (batch, n, n)
arrays. Fused here: per matrix, one BLAS ``trmm`` (``c^T`` is triangular:
half the flops of a matmul) and two ``trsm`` calls working in place on a
block that stays in cache, or for large matrices the blocked reverse-mode
algorithm (a third of the flops, nearly all in one matmul per block
column); for many small matrices, ``c^{-1}`` in the batch-last layout and
three batched matmuls.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg._batch_last import tri_inv_lower
from tessera.compile.backends.numpy.linalg._dispatch import (
    FLOATS,
    cast,
    linalg_funcify,
    register_kernel,
    single_matrix_shapes,
)
from tessera.compile.backends.numpy.linalg._lapack import lapack, per_matrix
from tessera.ops.linalg import _cholesky, _lu
from tessera.ops.linalg._base import (
    as_float,
    batch_shape,
    broadcast_batch,
    half_phi_mask,
    square_value,
)
from tessera.ops.linalg._failures import report, umath_linalg
from tessera.ops.linalg.decomposition import (
    Cholesky,
    CholeskyPullback,
    LUFactor,
    check_pullback_values,
    is_cholesky_factor,
)

# np.linalg's gufuncs; None (a NumPy without them) means LAPACK per matrix
_gu = umath_linalg

# --- cholesky ------------------------------------------------------------------


def cholesky(a, lower: bool, dtype: np.dtype, on_error: str, op: str = "cholesky"):
    """Cholesky factors of (..., n, n); failures as the op's reference.

    One matrix: LAPACK ``potrf`` directly (about 1.5 us against 5 for the
    gufunc and its error handling); a batch: ``potrf`` per matrix from
    ``tuning.CHOLESKY_LOOP_MIN_N`` on, np.linalg's gufunc below.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.stack([4.0 * np.eye(2), np.eye(2)])
    >>> cholesky(a, True, a.dtype, "raise")[:, 0, 0]
    array([2., 1.])
    """
    a = as_float(a, dtype)
    n = a.shape[-1]
    if a.size == n * n and n:
        # a^T is Fortran-ordered, its `not lower` triangle is a's `lower`
        # one, and its factor is the transpose of a's
        potrf = lapack("potrf", dtype)
        c, info = potrf(a.reshape(n, n).T, lower=not lower, clean=1)
        out = c.T.reshape(a.shape)
        if info:
            out = np.array(out)  # writable and C-ordered for NaN filling
            bad = np.ones(a.shape[:-2], bool)
            report(op, bad, "not positive definite", on_error, [out])
        return out
    if _gu is None or n >= tuning.CHOLESKY_LOOP_MIN_N:
        # per-matrix LAPACK, on transposes like the single-matrix case
        potrf = lapack("potrf", dtype)

        def one(m):
            c, info = potrf(m.T, lower=not lower, clean=1)
            return c.T, info

        (out,), bad = per_matrix(one, [(a, 2)], [(n, n)], dtype)
        report(op, bad, "not positive definite", on_error, [out])
        return out
    return _cholesky.cholesky(a, lower, dtype, on_error, op)


@register_kernel(Cholesky)
def _cholesky_kernel(op: Cholesky, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype
    lower, on_error = op.lower, op.on_error

    def run(a):
        square_value("cholesky", a)
        return cast(cholesky(a, lower, dt, on_error), dt)

    return run


@linalg_funcify.register(Cholesky)
def _cholesky_one(op: Cholesky, node, general):
    cores = single_matrix_shapes(node, [2])
    if cores is None or not cores[0][-1]:
        return None
    n = cores[0][-1]
    shape = node.outputs[0].type.shape
    potrf = lapack("potrf", node.outputs[0].type.numpy_dtype)
    flip = not op.lower

    def run(a):
        # a^T is Fortran-ordered: no copy on the way into LAPACK, and its
        # factor in the other triangle is the transpose of a's
        c, info = potrf(a.reshape(n, n).T, lower=flip, clean=1)
        if info:
            return general(a)  # raises, or fills with NaN, as asked
        return c.T.reshape(shape)

    return run


# --- the Cholesky pullback -------------------------------------------------------


def pullback_one(c, g, trmm, trsm, mask, out) -> None:
    """The pullback of one (n, n) factor into ``out``; ``mask`` is
    ``half_phi_mask(n)``. Blocked from ``tuning.PULLBACK_BLOCKED_MIN_N`` on."""
    if c.shape[-1] >= tuning.PULLBACK_BLOCKED_MIN_N:
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
    nblocks = -(-n // tuning.PULLBACK_BLOCK)
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


def _cholesky_pullback_batched(c, g, dtype, triangular: bool = False):
    mask = half_phi_mask(c.shape[-1], dtype)
    # the strict upper triangle of c is not part of the factor
    p = np.matmul(np.swapaxes(c if triangular else np.tril(c), -1, -2), g)
    p *= mask
    inv = tri_inv_lower(c)
    s = np.matmul(np.matmul(np.swapaxes(inv, -1, -2), p), inv)
    s += np.swapaxes(s, -1, -2)
    return s


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

    For graphs whose shapes were unknown when compiled: an 8x8 MvNormal
    gradient spends more time in Python than in BLAS, and this path skips
    the batch machinery (about 5 us saved).
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

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> cholesky_pullback(c, np.array([[1.0, 0.0], [1.0, 1.0]]), c.dtype)
    array([[0.25, 0.  ],
           [0.  , 0.5 ]])
    """
    dtype = np.dtype(dtype)
    c, g = as_float(c, dtype), as_float(g, dtype)
    n = c.shape[-1]
    batch = batch_shape(c.shape[:-2], g.shape[:-2])
    nbatch = math.prod(batch)
    if n == 0 or nbatch == 0:
        return np.zeros(batch + (n, n), dtype)
    if tuning.pullback_loop_wins(nbatch, n):
        # BLAS raises no floating-point flags: no errstate needed (~4 us)
        return _cholesky_pullback_loop(c, g, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _cholesky_pullback_batched(c, g, dtype, triangular)


@register_kernel(CholeskyPullback)
def _cholesky_pullback_kernel(op: CholeskyPullback, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype

    def run(c, g):
        out = cholesky_pullback_one(c, g, dt)
        if out is not None:
            return out
        check_pullback_values(c, g)
        return cast(cholesky_pullback(c, g, dt), dt)

    return run


@linalg_funcify.register(CholeskyPullback)
def _cholesky_pullback_one(op: CholeskyPullback, node, general):
    cores = single_matrix_shapes(node, [2, 2])
    if cores is None or not cores[0][-1]:
        return _cholesky_factor_pullback(node)
    n = cores[0][-1]
    shape = node.outputs[0].type.shape
    dtype = node.outputs[0].type.numpy_dtype
    trmm = lapack("trmm", dtype, "blas")
    trsm = lapack("trsm", dtype, "blas")
    mask = half_phi_mask(n, dtype)

    def run(c, g):
        out = np.empty((n, n), dtype)
        pullback_one(c.reshape(n, n), g.reshape(n, n), trmm, trsm, mask, out)
        return out.reshape(shape)

    return run


def _cholesky_factor_pullback(node):
    """A batch of pullbacks whose factor comes from a Cholesky: its upper
    triangle is zero, so the batched formula skips masking it."""
    c, g = node.inputs
    dtype = node.outputs[0].type.numpy_dtype
    core = c.type.shape[-2:] + g.type.shape[-2:]
    if (
        not is_cholesky_factor(c, lower=True)
        or dtype not in FLOATS
        or c.type.numpy_dtype != dtype
        or g.type.numpy_dtype != dtype
        or None in core
        or len(set(core)) != 1
    ):
        return None

    def run(c, g):
        return cholesky_pullback(c, g, dtype, triangular=True)

    return run


# --- LU ------------------------------------------------------------------------------


def lu_factor(a, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(lu, piv)`` like ``scipy.linalg.lu_factor``: ``getrf`` per matrix or
    the batched ``getf2``, per ``tuning.lu_loop_wins``.

    Examples
    --------
    >>> import numpy as np
    >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]), np.dtype("f8"))
    >>> piv
    array([1, 1], dtype=int32)
    """
    a = as_float(a, dtype)
    n = a.shape[-1]
    if tuning.lu_loop_wins(math.prod(a.shape[:-2]), n):
        getrf = lapack("getrf", dtype)
        (lu, piv), _ = per_matrix(
            getrf, [(a, 2)], [(n, n), (n,)], dtype, [dtype, np.dtype(np.int32)]
        )
        return lu, piv
    return _lu.lu_factor(a, dtype)


@register_kernel(LUFactor)
def _lu_factor_kernel(op: LUFactor, node) -> Callable:
    dt, piv_dt = (o.type.numpy_dtype for o in node.outputs)

    def run(a):
        square_value("lu_factor", a)
        lu, piv = lu_factor(a, dt)
        return cast(lu, dt), cast(piv, piv_dt)

    return run
