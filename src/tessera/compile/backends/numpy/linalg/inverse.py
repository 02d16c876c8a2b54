"""NumPy kernels of ``cholesky_inverse``: ``a^{-1}`` from a Cholesky factor.

Mirrors :mod:`tessera.ops.linalg.inverse` (``inv`` and ``pinv`` run their
reference, np.linalg's gufuncs). Per matrix, LAPACK ``potri`` (OpenBLAS:
``trtri`` then ``lauum``, a third of the flops of two triangular solves)
up to ``tuning.POTRI_MAX_N``, and above it the blocked Cholesky pullback of
a diagonal cotangent, ``c^{-T} c^{-1} = pullback(c, diag(2 / diag(c)))``;
for many small matrices, ``k^T k`` with ``k = c^{-1}`` in the batch-last
layout. It is the closed form of the pullback of a Gaussian log-density's
``log det`` term (see :mod:`tessera.rewrite.linalg_pullback`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg._batch_last import tri_inv_batch_last
from tessera.compile.backends.numpy.linalg._dispatch import (
    cast,
    linalg_funcify,
    register_kernel,
    single_matrix_shapes,
)
from tessera.compile.backends.numpy.linalg._lapack import lapack
from tessera.compile.backends.numpy.linalg.decomposition import pullback_one
from tessera.ops.linalg._base import as_float, half_phi_mask, square_value
from tessera.ops.linalg._failures import report
from tessera.ops.linalg.inverse import CholeskyInverse


@lru_cache(maxsize=64)
def lower_half_diag_mask(n: int, dtype) -> np.ndarray:
    """(n, n) mask: 1 below the diagonal, 1/2 on it, 0 above (read-only)."""
    mask = (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(dtype)
    mask.flags.writeable = False
    return mask


def _cholesky_inverse_batched(c: np.ndarray) -> np.ndarray:
    """``k^T k`` with ``k = c^{-1}`` for many small lower factors ``c``, all in
    the batch-last layout (one statement per row: 3x faster than a batched
    matmul of 8x8 matrices) and transposed back once."""
    n = c.shape[-1]
    nb = math.prod(c.shape[:-2])
    buf = tri_inv_batch_last(c)
    k = buf[:, :nb].reshape(n, n, nb)
    for i in range(n):
        # s[i, j] = sum over m >= i of k[m, i] k[m, j], for j <= i; mirrored.
        # s is built in k's memory: row i of s is written once row i of k was
        # last read, and its mirror into k's (unread) upper triangle
        k[i, : i + 1] = np.einsum("mb,mjb->jb", k[i:, i], k[i:, : i + 1])
        k[:i, i] = k[i, :i]
    return np.ascontiguousarray(buf[:, :nb].T).reshape(c.shape)


def _cholesky_inverse_loop(c, dtype):
    nbatch, n = c.shape[0], c.shape[-1]
    out = np.empty(c.shape, dtype)
    bad = np.zeros(nbatch, dtype=bool)
    if n > tuning.POTRI_MAX_N:
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


def cholesky_inverse(c, lower: bool, dtype: np.dtype, on_error: str) -> np.ndarray:
    """The reference :func:`tessera.ops.linalg._cholesky.cholesky_inverse`,
    with LAPACK ``potri`` per matrix or the batch-last triangular inverse, as
    :mod:`..tuning` chooses.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 1.0], [0.0, 3.0]])  # upper: a = c^T c
    >>> cholesky_inverse(c, False, c.dtype, "raise")
    array([[ 0.27777778, -0.05555556],
           [-0.05555556,  0.11111111]])
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
        if tuning.cholesky_inverse_loop_wins(nbatch, n):
            out, bad = _cholesky_inverse_loop(c.reshape((nbatch, n, n)), dtype)
            out, bad = out.reshape(c.shape), bad.reshape(batch)
        else:
            out = _cholesky_inverse_batched(c)
            bad = (np.diagonal(c, axis1=-2, axis2=-1) == 0).any(axis=-1)
    report("cholesky_inverse", bad, "singular", on_error, [out])
    return out


@register_kernel(CholeskyInverse)
def _cholesky_inverse_kernel(op: CholeskyInverse, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype
    lower, on_error = op.lower, op.on_error

    def run(c):
        square_value("cholesky_inverse", c)
        return cast(cholesky_inverse(c, lower, dt, on_error), dt)

    return run


@linalg_funcify.register(CholeskyInverse)
def _cholesky_inverse_one(op: CholeskyInverse, node, general):
    cores = single_matrix_shapes(node, [2])
    if cores is None or not 0 < cores[0][-1] <= tuning.POTRI_MAX_N:
        return None
    n = cores[0][-1]
    shape = node.outputs[0].type.shape
    dtype = node.outputs[0].type.numpy_dtype
    potri = lapack("potri", dtype)
    mask = lower_half_diag_mask(n, dtype)
    lower = op.lower

    def run(c):
        m = c.reshape(n, n)
        # the upper factor u (a = u^T u): Fortran-ordered for a lower c
        x, info = potri(m.T if lower else m, lower=0)
        if info:
            return general(c)  # a zero on the diagonal: raises, or NaN
        p = x.T * mask  # the inverse is in x's upper triangle
        return (p + p.T).reshape(shape)

    return run
