"""NumPy kernels of :mod:`tessera.ops.products`: ``np.matmul`` called directly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import default_funcify, numpy_funcify
from tessera.ops.products import MatMul


@numpy_funcify.register(MatMul)
def _funcify_matmul(op: MatMul, node) -> Callable:
    """The ufunc itself when NumPy's result dtype is the graph's (small
    products in a loop pay for every wrapper call)."""
    a, b = node.inputs
    if np.result_type(a.dtype, b.dtype) == node.outputs[0].type.numpy_dtype:
        return np.matmul
    return default_funcify(op, node)
