"""Reference kernels of the Cholesky family: factor, pullback, inverse.

Plain NumPy over any leading batch dims (never a Python loop over the
batch): ``np.linalg``'s Cholesky gufunc, and triangular substitution for
the pullback and the inverse from a factor. Failures follow
:mod:`tessera.ops.linalg._failures`.
"""

from __future__ import annotations

import numpy as np

from tessera.ops.linalg._base import (
    as_float,
    batch_shape,
    half_phi_mask,
    symmetrize_from,
)
from tessera.ops.linalg._failures import (
    call_gufunc,
    nan_elements,
    report,
    umath_linalg,
    zero_diagonal,
)
from tessera.ops.linalg._triangular import substitute


def cholesky(a, lower: bool, dtype: np.dtype, on_error: str, op: str = "cholesky"):
    """The ``lower`` (or upper) Cholesky factors of ``a`` (..., n, n).

    Reads only that triangle of ``a``. A matrix that is not positive
    definite raises (naming ``op`` and its batch index) or gives NaN.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 2.0]])
    >>> cholesky(a, True, a.dtype, "raise")
    array([[2., 0.],
           [1., 1.]])
    """
    a = as_float(a, dtype)
    if umath_linalg is None:  # pragma: no cover - np.linalg raises for the batch
        return np.linalg.cholesky(a, upper=not lower)
    fn = umath_linalg.cholesky_lo if lower else umath_linalg.cholesky_up
    out, failed = call_gufunc(fn, a, dtype=dtype)
    bad = nan_elements(out, 2) if failed else None
    report(op, bad, "not positive definite", on_error, [out])
    return out


def cholesky_pullback(c, g, dtype: np.dtype) -> np.ndarray:
    """``abar = S + S^T``, ``S = c^{-T} Phi(c^T g) c^{-1} / 2``.

    From the lower Cholesky factor ``c`` of ``a`` and the cotangent ``g``
    of ``c``, both (..., n, n) with broadcasting batch dims; only their
    lower triangles are read.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> cholesky_pullback(c, np.array([[1.0, 0.0], [1.0, 1.0]]), c.dtype)
    array([[0.25, 0.  ],
           [0.  , 0.5 ]])
    """
    c, g = as_float(c, dtype), as_float(g, dtype)
    n = c.shape[-1]
    batch = batch_shape(c.shape[:-2], g.shape[:-2])
    if n == 0 or 0 in batch:
        return np.zeros(batch + (n, n), dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = np.matmul(np.swapaxes(np.tril(c), -1, -2), g) * half_phi_mask(n, dtype)
        # c^T, read as upper triangular: y = c^{-T} p, then S^T = c^{-T} y^T
        ct = np.swapaxes(c, -1, -2)
        y = substitute(ct, p, False, False, dtype)
        s = substitute(ct, np.swapaxes(y, -1, -2), False, False, dtype)
        return s + np.swapaxes(s, -1, -2)


def cholesky_inverse(c, lower: bool, dtype: np.dtype, on_error: str) -> np.ndarray:
    """``a^{-1}`` from the Cholesky factor ``c`` of ``a`` (..., n, n).

    ``a = c c^T`` for a ``lower`` factor, ``c^T c`` for an upper one; only
    that triangle of ``c`` is read. A zero on its diagonal (a singular
    factor) raises or gives NaN for that batch element, per ``on_error``.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> cholesky_inverse(c, True, c.dtype, "raise")
    array([[ 0.5, -0.5],
           [-0.5,  1. ]])
    """
    c = as_float(c, dtype)
    if not lower:  # c^T c = l l^T with l = c^T
        c = np.swapaxes(c, -1, -2)
    n = c.shape[-1]
    if n == 0 or 0 in c.shape[:-2]:
        return np.zeros(c.shape, dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # k = c^{-1}; a^{-1} = k^T k
        eye = np.broadcast_to(np.eye(n, dtype=dtype), c.shape)
        k = substitute(c, eye, True, False, dtype)
        # k^T k from one triangle, so that the result is exactly symmetric
        out = symmetrize_from(np.matmul(np.swapaxes(k, -1, -2), k), lower=True)
    report(
        "cholesky_inverse", zero_diagonal(c, c.shape[:-2]), "singular", on_error, [out]
    )
    return out
