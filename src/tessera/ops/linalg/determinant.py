"""Determinants: det and slogdet (sign and log of the absolute value)."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import DisconnectedType, disconnected
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg._base import (
    LinalgOp,
    as_float,
    check_square,
    core_input,
    matrix_arg,
    mT,
    out_type,
    result_dtype,
    square_value,
    store,
)


def _inv_t(a, on_error: str = "nan"):
    from tessera.ops.linalg.inverse import Inv

    return mT(Inv(on_error)(a))


def _products_but_one(s: np.ndarray) -> np.ndarray:
    """``p[..., i] = prod(s[..., j] for j != i)``, without dividing by ``s``."""
    one = np.ones(s.shape[:-1] + (1,), s.dtype)
    before = np.cumprod(np.concatenate([one, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([one, s[..., :0:-1]], axis=-1), axis=-1)
    return before * after[..., ::-1]


def adjugate_kernel(a, dtype: np.dtype) -> np.ndarray:
    """Adjugates of (..., n, n) through the SVD, finite at any rank.

    With ``a = U diag(s) Vh``, ``adj(a) = det(U) det(Vh) Vh^T diag(p) U^T``
    where ``p[i]`` is the product of the singular values other than ``s[i]``:
    no division, so a singular matrix (rank n-1: one nonzero ``p``; rank
    n-2 or less: zero) gives its exact adjugate. Matrices with a NaN or inf
    give NaN.

    Examples
    --------
    >>> import numpy as np
    >>> adj = adjugate_kernel(np.diag([1.0, 1.0, 0.0]), np.dtype("float64"))
    >>> np.allclose(adj, np.diag([0.0, 0.0, 1.0]))
    True
    """
    a = as_float(a, dtype)
    n = a.shape[-1]
    if n <= 1 or a.size == 0:
        return np.ones_like(a)
    finite = np.isfinite(a).all(axis=(-2, -1))
    all_finite = bool(finite.all())
    if not all_finite:
        a = np.where(finite[..., None, None], a, 0.0)
    u, s, vh = np.linalg.svd(a)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vh))
    adj = np.matmul(
        np.swapaxes(vh, -1, -2) * _products_but_one(s)[..., None, :],
        np.swapaxes(u, -1, -2),
    )
    adj *= sign[..., None, None]
    if not all_finite:
        adj[~finite] = np.nan
    return adj.astype(dtype, copy=False)


class Adjugate(LinalgOp):
    """Adjugate (classical adjoint) of one square matrix: ``det(a) inv(a)``
    where ``a`` is invertible, and finite (its polynomial value) where not.

    The gradient of ``det`` is the transposed adjugate.

    Examples
    --------
    >>> import tessera as ts
    >>> Adjugate()(ts.constant([[1.0, 2.0], [3.0, 4.0]])).eval().round(12)
    array([[ 4., -2.],
           [-3.,  1.]])
    """

    __props__ = ()
    signature = "(m,m)->(m,m)"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("adjugate", a)
        return Apply(self, [a], [out_type(result_dtype(a), a.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        square_value("adjugate", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, adjugate_kernel(inputs[0], dt))

    def pullback(self, inputs, outputs, cotangents):
        # d adj = tr(x da) adj - adj da x with x = inv(a) (invertible a only:
        # second derivatives of det at a singular matrix are NaN)
        from tessera.ops.linalg.structure import trace

        (a,), (adj,), (g,) = inputs, outputs, cotangents
        xt = _inv_t(a)
        return [trace(mT(g) @ adj) * xt - mT(adj) @ g @ xt]


class Det(LinalgOp):
    """Determinant of one square matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> Det()(ts.constant([[2.0, 1.0], [1.0, 2.0]])).eval()
    array(3.)
    """

    __props__ = ()
    signature = "(m,m)->()"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("det", a)
        return Apply(self, [a], [out_type(result_dtype(a), ())])

    def perform_batched(self, node, inputs, output_storage):
        square_value("det", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, np.asarray(np.linalg.det(as_float(inputs[0], dt))))

    def pullback(self, inputs, outputs, cotangents):
        # the transposed adjugate: finite for singular matrices, where
        # det(a) inv(a)^T is 0 * inf
        (g,) = cotangents
        return [g * mT(Adjugate()(inputs[0]))]


def det(a) -> Variable:
    """Determinant of square matrices (..., m, m).

    The gradient is the transposed adjugate, finite for singular matrices too.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> ts.linalg.det(np.stack([np.eye(2), 2 * np.eye(2)])).eval()
    array([1., 4.])
    """
    return apply_core(Det(), matrix_arg("det", a, square=True))


class SLogDet(LinalgOp):
    """Sign and log of the absolute determinant of one square matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> sign, logabsdet = SLogDet()(ts.constant([[-2.0, 0.0], [0.0, 1.0]]))
    >>> sign.eval(), logabsdet.eval()
    (array(-1.), array(0.69314718))
    """

    __props__ = ()
    signature = "(m,m)->(),()"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("slogdet", a)
        dt = result_dtype(a)
        return Apply(self, [a], [out_type(dt, ()), out_type(dt, ())])

    def perform_batched(self, node, inputs, output_storage):
        square_value("slogdet", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        sign, logabsdet = np.linalg.slogdet(as_float(inputs[0], dt))
        store(node, output_storage, np.asarray(sign), np.asarray(logabsdet))

    def pullback(self, inputs, outputs, cotangents):
        # the sign is piecewise constant: only logabsdet carries a gradient
        g = cotangents[1]
        if isinstance(g, DisconnectedType):
            return [disconnected]
        # inv(a)^T, unbounded as a nears a singular matrix: an exactly
        # singular one raises LinAlgError rather than giving NaN
        return [g * _inv_t(inputs[0], "raise")]


def slogdet(a) -> tuple[Variable, Variable]:
    """Sign and log absolute determinant of square matrices (..., m, m).

    Returns
    -------
    sign, logabsdet : TensorVariable, shape (...)
        ``det = sign * exp(logabsdet)``; only ``logabsdet`` is differentiable
        (the sign is piecewise constant). Its gradient ``inv(a)^T`` does not
        exist at a singular matrix: evaluating it there raises
        ``numpy.linalg.LinAlgError`` naming the batch index.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> sign, logdet = ts.linalg.slogdet(np.stack([np.eye(2), -2 * np.eye(2)]))
    >>> logdet.eval()
    array([0.        , 1.38629436])
    """
    sign, logabsdet = apply_core(SLogDet(), matrix_arg("slogdet", a, square=True))
    return sign, logabsdet


def adjugate(a) -> Variable:
    """Adjugates of square matrices (..., m, m): ``det(a) inv(a)``, finite
    for singular matrices.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> np.allclose(ts.linalg.adjugate(np.ones((3, 3))).eval(), 0.0)
    True
    """
    return apply_core(Adjugate(), matrix_arg("adjugate", a, square=True))


__all__ = ["Adjugate", "Det", "SLogDet", "adjugate", "det", "slogdet"]
