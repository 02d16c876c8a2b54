"""LU factorization with partial pivoting and its solves, over any batch.

The reference kernels of :class:`~tessera.ops.linalg.decomposition.LUFactor`,
:class:`~tessera.ops.linalg.decomposition.PermutationMatrix` and
:class:`~tessera.ops.linalg.solve.LUSolve`: LAPACK's ``getf2`` order
(so pivots match SciPy's) with every step vectorized over the batch.
"""

from __future__ import annotations

import numpy as np

from tessera.ops.linalg._base import as_float, broadcast_batch
from tessera.ops.linalg._triangular import substitute


def getf2_batched(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LU with partial pivoting, LAPACK ``getf2`` order, over a flat batch.

    ``a`` (nb, n, n) is overwritten with the factors; returns ``(a, piv)``.
    """
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
    """``(lu, piv)`` like ``scipy.linalg.lu_factor``, over any batch dims.

    Examples
    --------
    >>> import numpy as np
    >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]), np.dtype("float64"))
    >>> piv
    array([1, 1], dtype=int32)
    """
    a = as_float(a, dtype)
    n = a.shape[-1]
    flat = np.array(a.reshape((-1, n, n)), dtype=dtype)
    lu, piv = getf2_batched(flat)
    return lu.reshape(a.shape), piv.reshape(a.shape[:-2] + (n,))


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
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` from ``lu_factor(a)``.

    Examples
    --------
    >>> import numpy as np
    >>> f64 = np.dtype("float64")
    >>> lu, piv = lu_factor(np.array([[0.0, 2.0], [4.0, 0.0]]), f64)
    >>> lu_solve(lu, piv, np.array([[2.0], [4.0]]), 0, f64)[:, 0]
    array([1., 1.])
    """
    lu, b = as_float(lu, dtype), as_float(b, dtype)
    _, (lu, piv, b) = broadcast_batch((lu, 2), (np.asarray(piv), 1), (b, 2))
    perm = pivots_to_permutation(piv)
    if trans == 0:
        bp = np.take_along_axis(b, perm[..., None], axis=-2)
        y = substitute(lu, bp, True, True, dtype)
        return substitute(lu, y, False, False, dtype)
    lut = np.swapaxes(lu, -1, -2)
    z = substitute(lut, b, True, False, dtype)
    w = substitute(lut, z, False, True, dtype)
    return np.take_along_axis(w, np.argsort(perm, axis=-1)[..., None], axis=-2)
