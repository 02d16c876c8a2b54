"""Matrix exponential.

The reference kernel is ``scipy.linalg.expm``, called once for the whole
batch; the NumPy backend vectorizes scaling and squaring over the batch
(:mod:`tessera.compile.backends.numpy.linalg.expm`). The pullback uses the
block-matrix identity
``expm([[a^T, g], [0, a^T]]) = [[e^T, L], [0, e^T]]``, whose upper-right
block ``L`` is the Frechet derivative of expm at ``a^T`` in direction ``g``,
which is exactly the cotangent of ``a``.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg._base import (
    LinalgOp,
    check_square,
    core_input,
    matrix_arg,
    mT,
    out_type,
    result_dtype,
    square_value,
    store,
)


class Expm(LinalgOp):
    """Matrix exponential of one square matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> Expm()(ts.constant([[0.0, 1.0], [0.0, 0.0]])).eval()
    array([[1., 1.],
           [0., 1.]])
    """

    __props__ = ()
    signature = "(m,m)->(m,m)"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("expm", a)
        return Apply(self, [a], [out_type(result_dtype(a), a.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        square_value("expm", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, expm_kernel(inputs[0], dt))

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import zeros_like
        from tessera.ops.shape import concatenate, make_vector, shape_i, split

        (a,), (g,) = inputs, cotangents
        at = mT(a)
        top = concatenate([at, g], axis=1)
        bottom = concatenate([zeros_like(at), at], axis=1)
        big = self(concatenate([top, bottom], axis=0))
        m = shape_i(a, 0)
        sizes = [m] if isinstance(m, int) else make_vector(m, m)
        upper = split(big, sizes, axis=0)[0]
        return [split(upper, sizes, axis=1)[1]]


def expm_kernel(a, dtype: np.dtype) -> np.ndarray:
    """Reference kernel of :class:`Expm`: SciPy's, in float64, cast to ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> expm_kernel(np.zeros((2, 1, 1)), np.dtype("float32"))[:, 0, 0]
    array([1., 1.], dtype=float32)
    """
    from scipy.linalg import expm as scipy_expm  # imported on first use

    return np.asarray(scipy_expm(np.asarray(a, dtype=np.float64)), dtype=dtype)


def expm(a) -> Variable:
    """Matrix exponential of square matrices (..., m, m).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> ts.linalg.expm(np.zeros((3, 2, 2))).eval()[0]
    array([[1., 0.],
           [0., 1.]])
    """
    return apply_core(Expm(), matrix_arg("expm", a, square=True))


__all__ = ["Expm", "expm"]
