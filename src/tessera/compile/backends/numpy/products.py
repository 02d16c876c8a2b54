"""NumPy kernels of :mod:`tessera.ops.products` and :mod:`tessera.ops.matvec`:
``np.matmul`` called directly, or written as ``a @ b`` into the generated
source (the same ufunc, one call less)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import (
    Inline,
    default_funcify,
    numpy_funcify,
    numpy_inline,
)
from tessera.compile.backends.numpy.elemwise import numpy_valued
from tessera.ops.matvec import MatVec, VecMat
from tessera.ops.products import MatMul


@numpy_funcify.register(MatMul)
@numpy_funcify.register(MatVec)
@numpy_funcify.register(VecMat)
def _funcify_matmul(op: MatMul | MatVec | VecMat, node) -> Callable:
    """The ufunc itself when NumPy's result dtype is the graph's (small
    products in a loop pay for every wrapper call)."""
    if _plain_matmul(node):
        return np.matmul
    return default_funcify(op, node)


def _plain_matmul(node) -> bool:
    a, b = node.inputs
    return np.result_type(a.dtype, b.dtype) == node.outputs[0].type.numpy_dtype


@numpy_inline.register(MatMul)
@numpy_inline.register(MatVec)
@numpy_inline.register(VecMat)
def _inline_matmul(op: MatMul | MatVec | VecMat, node) -> Inline | None:
    """``a @ b`` on arrays (both operands have a dim at least), which
    ``ndarray.__matmul__`` hands to ``np.matmul``."""
    if _plain_matmul(node) and all(numpy_valued(v) for v in node.inputs):
        return Inline("{0} @ {1}")
    return None
