"""Advanced indexing: integer index arrays and boolean masks.

The index structure is shared with basic indexing (see
:mod:`tessera.ops.indexing`); index arrays and masks are node inputs.
Several advanced indices broadcast together, and their dims go where NumPy
puts them (at the first advanced index if they are adjacent, else first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.ops.basic import as_tensor, constant
from tessera.ops.indexing import (
    index_items,
    indexed_static_shape,
    numpy_index,
)
from tessera.ops.static import get_static_value
from tessera.ops.subtensor import (
    GetItemOp,
    IndexOp,
    cast_value,
    check_value_shape,
    vectorize_getitem,
    vectorize_setitem,
)


def may_repeat(idx_list: Sequence, idx_inputs: Sequence[Variable], x: Variable) -> bool:
    """Whether ``x[idx]`` may read one element of ``x`` more than once.

    Only integer index arrays can repeat an element. Constant ones are
    checked (after wrapping negative indices when the dim is known);
    anything symbolic next to an integer array is assumed to repeat.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(4,))
    >>> def rep(z):
    ...     return may_repeat(z.owner.op.idx_list, z.owner.inputs[1:], x)
    >>> rep(x[np.array([0, 2])]), rep(x[[0, -4]])
    (False, True)
    """
    items, _ = index_items(idx_list, idx_inputs, x.ndim)
    arrays = [(p, axis) for kind, p, axis in items if kind == "array"]
    if not arrays:
        return False
    if any(kind == "mask" for kind, _, _ in items):
        return True
    values = []
    for p, axis in arrays:
        val = get_static_value(p)
        if val is None:
            return True
        if (val < 0).any():
            n = x.type.shape[axis]
            if n is None:
                return True
            val = np.where(val < 0, val + n, val)
        values.append(val)
    rows = np.stack([v.ravel() for v in np.broadcast_arrays(*values)], axis=1)
    return len(np.unique(rows, axis=0)) < len(rows)


class AdvancedSubtensor(GetItemOp):
    """``x[idx]`` where ``idx`` has integer arrays or boolean masks.

    Parameters
    ----------
    idx_list : tuple
        The static index; :data:`~tessera.ops.subtensor.SYM` marks entries
        given as extra inputs (index arrays, masks, scalar indices, slice
        bounds).

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(5, 4, 3))
    >>> x[[0, 1], :, [[2], [0]]].type.shape
    (2, 2, 4)
    >>> m = ts.tensor("m", shape=(5,), dtype="bool")
    >>> x[m].type.shape
    (None, 4, 3)
    """

    def make_node(self, x, *idx_inputs):
        x = as_tensor(x)
        idx_inputs = self._check_inputs(idx_inputs)
        shp = indexed_static_shape(x, self.idx_list, idx_inputs)
        return Apply(self, [x, *idx_inputs], [x.type.clone(shape=shp)])

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import zeros_like

        x, *idx = inputs
        gx = AdvancedIncSubtensor(self.idx_list)(zeros_like(x), cotangents[0], *idx)
        return [gx] + [disconnected] * len(idx)

    def vectorize_node(self, node, *batched_inputs):
        return vectorize_getitem(self, node, batched_inputs)


class AdvancedIncSubtensor(IndexOp):
    """``x`` with ``x[idx]`` replaced by (or incremented by) ``y``; advanced indices.

    Repeated indices accumulate when incrementing (like ``np.add.at``); when
    setting, the last write wins (like NumPy assignment).

    Parameters
    ----------
    idx_list : tuple
        As for :class:`AdvancedSubtensor`.
    set_instead_of_inc : bool
        Write ``y`` instead of adding it.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.zeros(3)
    >>> ts.inc_subtensor(x[[0, 0, 1]], 1.0).eval()
    array([2., 1., 0.])
    """

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence, set_instead_of_inc: bool = False):
        super().__init__(idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def make_node(self, x, y, *idx_inputs):
        x = as_tensor(x)
        y = cast_value(self, x, y)
        idx_inputs = self._check_inputs(idx_inputs)
        region = indexed_static_shape(x, self.idx_list, idx_inputs)
        check_value_shape(self, x, y, region)
        return Apply(self, [x, y, *idx_inputs], [x.type])

    def perform(self, node, inputs, out):
        x, y, *idx = inputs
        z = x.copy()
        key = numpy_index(self.idx_list, idx)
        if self.set_instead_of_inc:
            z[key] = y
        elif any(np.ndim(v) and v.dtype != bool for v in idx):
            np.add.at(z, key, y)  # integer arrays may repeat an element
        else:
            z[key] += y
        out[0][0] = z

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import arange, full_like
        from tessera.ops.elemwise import sum_to
        from tessera.ops.math import eq, switch
        from tessera.ops.reduction import prod
        from tessera.ops.shape import reshape

        x, y, *idx = inputs
        (g,) = cotangents
        g_region = AdvancedSubtensor(self.idx_list)(g, *idx)
        if self.set_instead_of_inc:
            zero = constant(np.zeros((), dtype=g.dtype))
            gx = AdvancedIncSubtensor(self.idx_list, True)(g, zero, *idx)
            if may_repeat(self.idx_list, idx, x):
                # only the last write to an element reaches the output: number
                # the written positions, write the numbers, keep the winners
                shp = g_region.shape
                pos = reshape(arange(prod(shp), dtype="int64"), shp)
                owner = AdvancedIncSubtensor(self.idx_list, True)(
                    full_like(x, -1, dtype="int64"), pos, *idx
                )
                won = eq(AdvancedSubtensor(self.idx_list)(owner, *idx), pos)
                g_region = switch(won, g_region, 0)
        else:
            gx = g
        return [gx, sum_to(g_region, y)] + [disconnected] * len(idx)

    def vectorize_node(self, node, *batched_inputs):
        return vectorize_setitem(self, node, batched_inputs)
