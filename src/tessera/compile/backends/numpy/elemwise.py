"""Elementwise ops: their NumPy ufunc itself, or the scalar function cast."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.ops.elemwise import Elemwise


@numpy_funcify.register(Elemwise)
def _funcify_elemwise(op: Elemwise, node) -> Callable:
    impl = op.scalar_fn.impl
    if isinstance(impl, np.ufunc):
        # the linker passes out= to ufuncs to reuse buffers
        return impl
    out_dtype = node.outputs[0].type.numpy_dtype

    def run(*args):
        return np.asarray(impl(*args), dtype=out_dtype)

    return run
