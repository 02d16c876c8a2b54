"""Matrix inverses: inv and pinv (Moore-Penrose pseudo-inverse)."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg import _kernels as K
from tessera.ops.linalg._base import (
    LinalgOp,
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
        store(node, output_storage, K.inv(inputs[0], dt, self.on_error))

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
        a = K.as_float(inputs[0], dt)
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


__all__ = ["Inv", "Pinv", "inv", "pinv"]
