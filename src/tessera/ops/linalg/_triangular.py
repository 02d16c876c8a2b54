"""Triangular solves by substitution, vectorized over the batch.

The reference kernels of :class:`~tessera.ops.linalg.solve.SolveTriangular`
and :class:`~tessera.ops.linalg.solve.CholeskySolve` (and the triangular
steps of other references): one NumPy statement per row, each over the
whole batch, so a batch is never looped over in Python. Backends may pick
other kernels by size (see :mod:`tessera.compile.backends.numpy.tuning`).
"""

from __future__ import annotations

import numpy as np

from tessera.ops.linalg._base import as_float, batch_shape
from tessera.ops.linalg._failures import report, zero_diagonal


def substitute(a, b, lower: bool, unit: bool, dtype) -> np.ndarray:
    """Forward (``lower``) or back substitution, vectorized over the batch.

    Reads only the ``lower``/upper triangle of ``a`` (and not its diagonal
    when ``unit``). ``b`` is ``(..., n, k)``; batch dims broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[2.0, 9.0], [1.0, 1.0]])  # 9 is above the triangle read
    >>> substitute(a, np.array([[2.0], [2.0]]), True, False, a.dtype)[:, 0]
    array([1., 1.])
    """
    n = a.shape[-1]
    shape = batch_shape(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    x = np.empty(shape, dtype)
    if n == 0 or x.size == 0:
        return x
    if shape[-1] == 1:
        # one right-hand side: batched dot products (einsum) beat stacks of
        # (1, i) @ (i, 1) matmuls by about 1.6x
        _substitute_vector(a, b[..., 0], x[..., 0], lower, unit)
        return x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n) if lower else range(n - 1, -1, -1):
            row = b[..., i, :]
            lo, hi = (0, i) if lower else (i + 1, n)
            if hi > lo:
                row = (
                    row
                    - np.matmul(a[..., i : i + 1, lo:hi], x[..., lo:hi, :])[..., 0, :]
                )
            x[..., i, :] = row if unit else row / a[..., i, i, None]
    return x


def _substitute_vector(a, b, x, lower: bool, unit: bool) -> None:
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n) if lower else range(n - 1, -1, -1):
            row = b[..., i]
            lo, hi = (0, i) if lower else (i + 1, n)
            if hi > lo:
                row = row - np.einsum("...j,...j->...", a[..., i, lo:hi], x[..., lo:hi])
            x[..., i] = row if unit else row / a[..., i, i]


def solve_triangular(
    a,
    b,
    lower: bool,
    trans: int,
    unit_diagonal: bool,
    dtype: np.dtype,
    on_error: str,
    op: str = "solve_triangular",
) -> np.ndarray:
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` with ``b`` (..., n, k).

    A zero on the diagonal of ``a`` raises or gives NaN for that batch
    element, per ``on_error``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> solve_triangular(a, np.ones((2, 1)), True, 1, False, a.dtype, "raise")[:, 0]
    array([0., 1.])
    """
    a, b = as_float(a, dtype), as_float(b, dtype)
    batch = batch_shape(a.shape[:-2], b.shape[:-2])
    bad = None if unit_diagonal else zero_diagonal(a, batch)
    if trans:
        a, lower = np.swapaxes(a, -1, -2), not lower
    x = substitute(a, b, lower, unit_diagonal, dtype)
    report(op, bad, "singular (zero on the diagonal)", on_error, [x])
    return x


def cho_solve(c, lower: bool, b, dtype: np.dtype) -> np.ndarray:
    """Solve ``(c c^T) x = b`` (``lower``) or ``(c^T c) x = b`` from a factor.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> cho_solve(c, True, np.array([[6.0], [4.0]]), c.dtype)[:, 0]
    array([1., 1.])
    """
    c, b = as_float(c, dtype), as_float(b, dtype)
    ct = np.swapaxes(c, -1, -2)
    if lower:
        y = substitute(c, b, True, False, dtype)
        return substitute(ct, y, False, False, dtype)
    y = substitute(ct, b, True, False, dtype)
    return substitute(c, y, False, False, dtype)
