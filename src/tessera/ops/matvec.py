"""Matrix-vector products: the fused forms of ``matmul`` with a vector operand.

``matmul(A, v)`` for a 1-d ``v`` is built as ``squeeze(A @ v[:, None])``
(three nodes), so that every rewrite about matrix products sees one
:class:`~tessera.ops.products.MatMul`. At compile time the
``matvec_from_matmul`` rewrite (:mod:`tessera.rewrite.linalg`) fuses the
three into one :class:`MatVec` (``A @ v``) or :class:`VecMat` (``v @ B``),
which NumPy runs as one call: inside a loop over small states (a scan
step) the two shape nodes cost as much as the product.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.type import TensorType, shape_str

__all__ = ["MatVec", "VecMat"]


def _check(name: str, a, b, ka, kb) -> None:
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(
            f"{name}: shapes {shape_str(a.type.shape)} and "
            f"{shape_str(b.type.shape)} are not aligned: {ka} != {kb}"
        )


def _cotangent(op: Op, g, x):
    from tessera.ops.products import _cotangent_for

    return _cotangent_for(op, g, x)


class MatVec(Op):
    """``A @ v`` for a matrix ``A`` (m, k) and a vector ``v`` (k,).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(2, 3))
    >>> v = ts.tensor("v", shape=(3,))
    >>> y = MatVec()(a, v)
    >>> y.type.shape
    (2,)
    >>> ts.function([a, v], y)(np.ones((2, 3)), np.arange(3.0))
    array([3., 3.])
    """

    __props__ = ()
    signature = "(m,k),(k)->(m)"

    def make_node(self, a, v) -> Apply:
        a, v = as_tensor(a), as_tensor(v)
        if a.ndim != 2 or v.ndim != 1:
            raise ValueError(
                f"MatVec: takes a 2-D and a 1-D input, got shapes "
                f"{shape_str(a.type.shape)} and {shape_str(v.type.shape)}"
            )
        _check("MatVec", a, v, a.type.shape[1], v.type.shape[0])
        dtype = np.result_type(a.dtype, v.dtype).name
        return Apply(self, [a, v], [TensorType(dtype, (a.type.shape[0],))])

    def perform(self, node, inputs, output_storage):
        self.perform_batched(node, inputs, output_storage)

    def perform_batched(self, node, inputs, output_storage):
        """One ``np.matmul`` call; batch dims broadcast like a gufunc."""
        a, v = inputs
        out = np.matmul(a, v) if v.ndim == 1 else np.matmul(a, v[..., None])[..., 0]
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = out if out.dtype == dtype else out.astype(dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[0][0],)]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.shape import expand_dims

        (a, v), (g,) = inputs, cotangents
        ga = expand_dims(g, 1) * expand_dims(v, 0)
        gv = VecMat()(g, a)
        return [_cotangent(self, ga, a), _cotangent(self, gv, v)]


class VecMat(Op):
    """``v @ B`` for a vector ``v`` (k,) and a matrix ``B`` (k, n).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> v = ts.tensor("v", shape=(2,))
    >>> b = ts.tensor("b", shape=(2, 3))
    >>> ts.function([v, b], VecMat()(v, b))(np.array([1.0, 2.0]), np.ones((2, 3)))
    array([3., 3., 3.])
    """

    __props__ = ()
    signature = "(k),(k,n)->(n)"

    def make_node(self, v, b) -> Apply:
        v, b = as_tensor(v), as_tensor(b)
        if v.ndim != 1 or b.ndim != 2:
            raise ValueError(
                f"VecMat: takes a 1-D and a 2-D input, got shapes "
                f"{shape_str(v.type.shape)} and {shape_str(b.type.shape)}"
            )
        _check("VecMat", v, b, v.type.shape[0], b.type.shape[0])
        dtype = np.result_type(v.dtype, b.dtype).name
        return Apply(self, [v, b], [TensorType(dtype, (b.type.shape[1],))])

    def perform(self, node, inputs, output_storage):
        self.perform_batched(node, inputs, output_storage)

    def perform_batched(self, node, inputs, output_storage):
        """One ``np.matmul`` call; batch dims broadcast like a gufunc."""
        v, b = inputs
        out = (
            np.matmul(v, b) if v.ndim == 1 else np.matmul(v[..., None, :], b)[..., 0, :]
        )
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = out if out.dtype == dtype else out.astype(dtype)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[1][1],)]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.shape import expand_dims

        (v, b), (g,) = inputs, cotangents
        gv = MatVec()(b, g)
        gb = expand_dims(v, 1) * expand_dims(g, 0)
        return [_cotangent(self, gv, v), _cotangent(self, gb, b)]
