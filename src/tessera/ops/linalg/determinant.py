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


def _inv_t(a):
    from tessera.ops.linalg.inverse import Inv

    return mT(Inv("nan")(a))


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
        (a,), (d,), (g,) = inputs, outputs, cotangents
        return [(g * d) * _inv_t(a)]


def det(a) -> Variable:
    """Determinant of square matrices (..., m, m).

    The gradient ``det(a) inv(a)^T`` is NaN for exactly singular matrices.

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
        return [g * _inv_t(inputs[0])]


def slogdet(a) -> tuple[Variable, Variable]:
    """Sign and log absolute determinant of square matrices (..., m, m).

    Returns
    -------
    sign, logabsdet : TensorVariable, shape (...)
        ``det = sign * exp(logabsdet)``; only ``logabsdet`` is differentiable
        (the sign is piecewise constant).

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


__all__ = ["Det", "SLogDet", "det", "slogdet"]
