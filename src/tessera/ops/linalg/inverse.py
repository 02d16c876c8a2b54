"""Matrix inverses: inv, pinv (Moore-Penrose) and cholesky_inverse (from a factor)."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg import _cholesky
from tessera.ops.linalg._base import (
    LinalgOp,
    as_float,
    check_on_error,
    check_square,
    core_input,
    matrix_arg,
    mT,
    out_type,
    result_dtype,
    square_value,
    store,
)
from tessera.ops.linalg._failures import (
    call_gufunc,
    nan_elements,
    report,
    umath_linalg,
)


def _inv(a, dtype: np.dtype, on_error: str) -> np.ndarray:
    """Inverses of (..., n, n) by ``np.linalg``'s gufunc; singular ones
    raise or give NaN per ``on_error``."""
    a = as_float(a, dtype)
    if umath_linalg is None:  # pragma: no cover
        return np.linalg.inv(a).astype(dtype, copy=False)
    x, failed = call_gufunc(umath_linalg.inv, a, dtype=dtype)
    bad = nan_elements(x, 2) if failed else None
    report("inv", bad, "singular", on_error, [x])
    return x


class Inv(LinalgOp):
    """Inverse of one square matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> Inv()(ts.constant([[2.0, 0.0], [0.0, 4.0]])).eval()
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """

    __props__ = ("on_error",)
    signature = "(m,m)->(m,m)"

    def __init__(self, on_error: str = "raise"):
        self.on_error = check_on_error("inv", on_error)

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("inv", a)
        return Apply(self, [a], [out_type(result_dtype(a), a.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        square_value("inv", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, _inv(inputs[0], dt, self.on_error))

    def pullback(self, inputs, outputs, cotangents):
        (x,), (g,) = outputs, cotangents
        xt = mT(x)
        return [-(xt @ g @ xt)]


def inv(a, on_error: str = "raise") -> Variable:
    """Inverse of square matrices (..., m, m).

    Parameters
    ----------
    a : tensor_like, shape (..., m, m)
    on_error : {"raise", "nan"}
        For a singular matrix: raise ``numpy.linalg.LinAlgError`` naming its
        batch index, or give NaN for that batch element only.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> ts.linalg.inv(np.stack([2 * np.eye(2), np.zeros((2, 2))]), on_error="nan").eval()[:, 0, 0]
    array([0.5, nan])
    """
    return apply_core(Inv(on_error), matrix_arg("inv", a, square=True))


class Pinv(LinalgOp):
    """Moore-Penrose pseudo-inverse of one matrix, via the SVD.

    Singular values below ``rtol`` times the largest are treated as zero
    (``None``: NumPy's default, ``max(m, n) * eps``).

    Examples
    --------
    >>> import tessera as ts
    >>> Pinv()(ts.constant([[2.0], [0.0]])).eval()
    array([[0.5, 0. ]])
    """

    __props__ = ("rtol",)
    signature = "(m,n)->(n,m)"

    def __init__(self, rtol: float | None = None):
        self.rtol = None if rtol is None else float(rtol)

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        m, n = a.type.shape
        return Apply(self, [a], [out_type(result_dtype(a), (n, m))])

    def perform_batched(self, node, inputs, output_storage):
        dt = node.outputs[0].type.numpy_dtype
        a = as_float(inputs[0], dt)
        if self.rtol is None:
            out = np.linalg.pinv(a)
        else:
            out = np.linalg.pinv(a, rtol=self.rtol)
        store(node, output_storage, out)

    def pullback(self, inputs, outputs, cotangents):
        # Golub & Pereyra, for a of constant rank, with x = pinv(a):
        # abar = -x^T g x^T + (I - a x) g^T x x^T + x^T x g^T (I - x a)
        (a,), (x,), (g,) = inputs, outputs, cotangents
        xt, gt = mT(x), mT(g)
        t1 = gt @ (x @ xt)
        t2 = (xt @ x) @ gt
        return [-(xt @ g @ xt) + t1 - a @ (x @ t1) + t2 - (t2 @ x) @ a]


def pinv(a, rtol: float | None = None) -> Variable:
    """Pseudo-inverse of matrices (..., m, n), giving (..., n, m).

    Gradients assume the rank does not change near ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.random.default_rng(0).normal(size=(2, 4, 3))
    >>> np.allclose(ts.linalg.pinv(a).eval(), np.linalg.pinv(a))
    True
    """
    return apply_core(Pinv(rtol), matrix_arg("pinv", a))


class CholeskyInverse(LinalgOp):
    """Inverse of ``a`` from its Cholesky factor ``c`` (one matrix).

    ``a = c c^T`` for a ``lower`` factor, ``c^T c`` for an upper one; only
    that triangle of ``c`` is read.

    Examples
    --------
    >>> import tessera as ts
    >>> CholeskyInverse()(ts.constant([[2.0, 0.0], [1.0, 1.0]])).eval()
    array([[ 0.5, -0.5],
           [-0.5,  1. ]])
    """

    __props__ = ("lower", "on_error")
    signature = "(m,m)->(m,m)"

    def __init__(self, lower: bool = True, on_error: str = "raise"):
        self.lower = bool(lower)
        self.on_error = check_on_error("cholesky_inverse", on_error)

    def make_node(self, c) -> Apply:
        c = core_input(self, c, 2, "factor")
        check_square("cholesky_inverse", c)
        return Apply(self, [c], [out_type(result_dtype(c), c.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        square_value("cholesky_inverse", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        out = _cholesky.cholesky_inverse(inputs[0], self.lower, dt, self.on_error)
        store(node, output_storage, out)

    def pullback(self, inputs, outputs, cotangents):
        # x = c^{-T} c^{-1} (lower): dx = -c^{-T} dc^T x - x dc c^{-1}, so
        # cbar = -tril(x (g + g^T) c^{-T}) = -tril((c^{-1} (g + g^T) x)^T);
        # for an upper factor the same with c^T, transposed back.
        from tessera.ops.linalg.solve import SolveTriangular
        from tessera.ops.linalg.structure import Triangle

        (c,), (x,), (g,) = inputs, outputs, cotangents
        solve = SolveTriangular(
            self.lower, 0 if self.lower else 1, False, 2, self.on_error
        )
        y = solve(c, (g + mT(g)) @ x)
        if self.lower:
            return [-Triangle(True, 0)(mT(y))]
        return [-Triangle(False, 0)(y)]


def cholesky_inverse(c, lower: bool = True, on_error: str = "raise") -> Variable:
    """Inverse of ``a`` from its Cholesky factors ``c`` (..., m, m).

    ``a = c c^T`` for ``lower`` factors (as from ``cholesky(a)``), ``c^T c``
    for upper ones; only that triangle of ``c`` is read. Cheaper and more
    accurate than inverting ``a`` (LAPACK ``potri``), and symmetric exactly.

    Parameters
    ----------
    c : tensor_like, shape (..., m, m)
    lower : bool
        Which triangle of ``c`` holds the factor.
    on_error : {"raise", "nan"}
        For a factor with a zero on its diagonal: raise
        ``numpy.linalg.LinAlgError`` naming its batch index, or give NaN for
        that batch element only.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> x = ts.linalg.cholesky_inverse(ts.linalg.cholesky(a))
    >>> np.allclose(x.eval(), np.linalg.inv(a))
    True
    """
    c = matrix_arg("cholesky_inverse", c, square=True)
    return apply_core(CholeskyInverse(lower, on_error), c)


__all__ = ["CholeskyInverse", "Inv", "Pinv", "cholesky_inverse", "inv", "pinv"]
