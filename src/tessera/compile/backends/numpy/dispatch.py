"""``numpy_funcify``: turn an Apply node into a plain Python callable.

The default calls the op's ``perform``; ops whose NumPy kernel can be
called directly register a faster specialization here (one module per op
module lives beside this one when an op family needs more than a line).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

import numpy as np

from tessera.graph.op import Op
from tessera.ops.elemwise import Elemwise


@singledispatch
def numpy_funcify(op: Op, node) -> Callable:
    """Return ``f(*input_values) -> output value (or tuple of values)``."""
    perform = op.perform
    n_out = len(node.outputs)
    if n_out == 1:

        def run_one(*args):
            storage = [[None]]
            perform(node, args, storage)
            return storage[0][0]

        return run_one

    def run_many(*args):
        storage = [[None] for _ in range(n_out)]
        perform(node, args, storage)
        return tuple(s[0] for s in storage)

    return run_many


@numpy_funcify.register(Elemwise)
def _funcify_elemwise(op: Elemwise, node) -> Callable:
    impl = op.scalar_fn.impl
    out_dtype = node.outputs[0].type.numpy_dtype
    if isinstance(impl, np.ufunc) and op.scalar_fn.out_dtype is None:
        # the output dtype was computed by NumPy from the same ufunc
        return impl
    if isinstance(impl, np.ufunc):
        return impl

    def run(*args):
        return np.asarray(impl(*args), dtype=out_dtype)

    return run


# specializations for the ops that dominate small graphs (registered on import)
from tessera.compile.backends.numpy import fast as _fast  # noqa: E402, F401
