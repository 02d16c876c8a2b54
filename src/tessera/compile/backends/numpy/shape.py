"""Shape ops as views built directly, skipping NumPy's argument handling.

``ExpandDims`` and ``Squeeze`` of a static shape are written into the
generated source (``x[:, None]``, ``x.reshape((8,))``, see
:func:`~.dispatch.numpy_inline`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import (
    Inline,
    default_funcify,
    numpy_funcify,
    numpy_inline,
)
from tessera.compile.backends.numpy.elemwise import numpy_valued
from tessera.ops.shape import ExpandDims, Squeeze, Transpose


@numpy_funcify.register(ExpandDims)
def _funcify_expand_dims(op: ExpandDims, node) -> Callable:
    out_ndim = node.outputs[0].ndim
    axes = {a % out_ndim for a in op.axes}
    # x[:, None, :] is a view, like np.expand_dims, at a tenth of the cost
    index = tuple(None if d in axes else slice(None) for d in range(out_ndim))

    def run(x):
        return np.asarray(x)[index]

    return run


@numpy_inline.register(ExpandDims)
def _inline_expand_dims(op: ExpandDims, node) -> Inline | None:
    """``{0}[:, None]``: NumPy scalars index like 0-d arrays."""
    if not numpy_valued(node.inputs[0]):
        return None
    out_ndim = node.outputs[0].ndim
    axes = {a % out_ndim for a in op.axes}
    index = ", ".join("None" if d in axes else ":" for d in range(out_ndim))
    return Inline(f"{{0}}[{index}]")


@numpy_inline.register(Squeeze)
def _inline_squeeze(op: Squeeze, node) -> Inline | None:
    """``{0}.reshape(shape)`` where both shapes are static (so the squeezed
    dims are 1 by construction): the view ``np.squeeze`` returns."""
    shape = node.outputs[0].type.shape
    if None in shape or None in node.inputs[0].type.shape or node.inputs[0].ndim == 0:
        return None
    return Inline(f"{{0}}.reshape({shape!r})")


@numpy_funcify.register(Squeeze)
def _funcify_squeeze(op: Squeeze, node) -> Callable:
    shape = node.outputs[0].type.shape
    if None in shape:
        return default_funcify(op, node)
    perform = default_funcify(op, node)
    size = math.prod(shape)
    nd = node.inputs[0].ndim

    def run(x):
        # a reshape to the known shape: the same view as np.squeeze, at half
        # the cost; the general path reports a dim that is not 1
        if x.size != size or x.ndim != nd:
            return perform(x)
        return x.reshape(shape)

    return run


@numpy_funcify.register(Transpose)
def _funcify_transpose(op: Transpose, node) -> Callable:
    axes = op.axes

    def run(x):
        if x.__class__ is np.ndarray:
            return x.transpose(axes)
        return np.transpose(x, axes)

    return run
