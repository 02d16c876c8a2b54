"""Reductions: the ufunc's ``reduce`` called directly.

``np.sum``, ``np.prod``, ``np.max`` and ``np.min`` are these reductions
after argument handling the compiled graph does not need (its inputs are
arrays or NumPy scalars): a few microseconds per node saved, which is most
of the run time of a graph on 8x8 matrices. Without a ``dtype``, the call
is written into the generated source with positional arguments
(``f3(v2, (0,))``), which saves a wrapper's call and the keywords' parsing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import (
    Inline,
    default_funcify,
    numpy_funcify,
    numpy_inline,
)
from tessera.ops.reduction import Reduce

_REDUCE_UFUNCS = {
    "sum": np.add,
    "prod": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


@numpy_funcify.register(Reduce)
def _funcify_reduce(op: Reduce, node) -> Callable:
    ufunc = _REDUCE_UFUNCS.get(op.kind)
    if ufunc is None:
        return default_funcify(op, node)
    reduce = ufunc.reduce
    axis, keepdims = op.axis, op.keepdims
    if op.dtype and op.kind in ("sum", "prod"):
        dtype = np.dtype(op.dtype)

        def run_dtype(x):
            return reduce(x, axis=axis, keepdims=keepdims, dtype=dtype)

        return run_dtype

    def run(x):
        return reduce(x, axis=axis, keepdims=keepdims)

    return run


@numpy_inline.register(Reduce)
def _inline_reduce(op: Reduce, node) -> Inline | None:
    """``ufunc.reduce(x, axis)`` (``, None, None, True`` for keepdims) for
    sum, prod, max and min without a dtype."""
    ufunc = _REDUCE_UFUNCS.get(op.kind)
    if ufunc is None or op.dtype:
        return None
    axis = "None" if op.axis is None else repr(tuple(int(a) for a in op.axis))
    keep = ", None, None, True" if op.keepdims else ""
    return Inline(f"{{f}}({{0}}, {axis}{keep})", ufunc.reduce)
