"""NumPy-style basic indexing: ``x[idx]``, ``set_subtensor`` and ``inc_subtensor``.

:class:`Subtensor` and :class:`IncSubtensor` take ints, slices, ``None`` and
``Ellipsis`` (static or symbolic, see :mod:`tessera.ops.indexing`); integer
arrays and boolean masks go to :mod:`tessera.ops.advanced_subtensor`.
:func:`getitem` picks the op.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor, constant
from tessera.ops.indexing import (
    FULL,
    Slice,
    Sym,
    broadcast_dims,
    format_idx,
    index_items,
    indexed_static_shape,
    indexed_symbolic_shape,
    numpy_index,
    out_of_bounds,
    parse_index,
)
from tessera.ops.type import shape_str

# --- the ops ---------------------------------------------------------------


class IndexOp(Op):
    """Shared parts of the indexing ops: the ``idx_list`` prop and printing.

    Examples
    --------
    >>> import tessera as ts
    >>> n = ts.scalar("n", dtype="int64")
    >>> op = ts.tensor("x", shape=(5, 4))[n:, ::-1].owner.op
    >>> op, op.n_sym
    (Subtensor{[?:, ::-1]}, 1)
    """

    __props__ = ("idx_list",)

    def __init__(self, idx_list: Sequence):
        self.idx_list = tuple(idx_list)
        fields = [
            f
            for e in self.idx_list
            for f in ((e.start, e.stop, e.step) if isinstance(e, Slice) else (e,))
        ]
        self.n_sym = sum(isinstance(f, Sym) for f in fields)

    def __str__(self) -> str:
        parts = [f"[{format_idx(self.idx_list)}]"] + [
            f"{p}={getattr(self, p)}" for p in self.__props__ if p != "idx_list"
        ]
        return f"{type(self).__name__}{{{', '.join(parts)}}}"

    __repr__ = __str__

    def do_constant_folding(self, node: Apply) -> bool:
        # The result is no bigger than the constants it is computed from
        # (x, or x and the index arrays), so folding never bloats the graph
        # much; it turns e.g. ``x.shape[1:]`` of a constant into a constant.
        return True

    def _check_inputs(self, idx_inputs: Sequence) -> list[Variable]:
        idx_inputs = [as_tensor(i) for i in idx_inputs]
        if len(idx_inputs) != self.n_sym:
            raise TypeError(
                f"{self}: expected {self.n_sym} symbolic index inputs, "
                f"got {len(idx_inputs)}"
            )
        return idx_inputs


def selects_everything(idx_list: Sequence, idx_inputs: Sequence, x: Variable) -> bool:
    """Whether ``x[idx]`` keeps every element of ``x`` in order (new axes,
    full slices, and index 0/-1 on dims statically of size 1)."""
    items, adv_pos = index_items(idx_list, idx_inputs, x.ndim, x.type.shape)
    if adv_pos is not None:
        return False
    for kind, p, axis in items:
        if kind == "slice" and p != (None, None, None):
            return False
        if kind == "int" and (x.type.shape[axis] != 1 or p not in (0, -1)):
            return False
    return True


def _batch_dims(node: Apply, batched: Sequence[Variable]) -> list[int]:
    return [b.ndim - o.ndim for b, o in zip(batched, node.inputs)]


def _check_unbatched_indices(
    op: Op, node: Apply, batched: Sequence[Variable], first: int
):
    nb = _batch_dims(node, batched)
    if any(nb[first:]):
        raise NotImplementedError(
            f"vectorize_graph: {op} with batched index inputs is not supported; "
            "only the indexed tensor (and the values written) may carry batch dims"
        )


def _advanced_first(idx_list: Sequence, b: int, idx: Sequence, ndim: int) -> bool:
    """Whether advanced dims go before ``b`` batch dims indexed with full slices.

    NumPy puts the dims of non-adjacent advanced indices first, so the
    batch dims then follow them instead of leading.
    """
    _, adv_pos = index_items((FULL,) * b + tuple(idx_list), idx, ndim)
    return adv_pos == 0


def vectorize_getitem(op: IndexOp, node: Apply, batched: Sequence[Variable]) -> list:
    """Batch rule of the getitem ops: index batch dims with full slices.

    Examples
    --------
    >>> import tessera as ts
    >>> x, xb = ts.tensor("x", shape=(4, 3)), ts.tensor("xb", shape=(2, 4, 3))
    >>> y = x[[0, 1], 1]
    >>> vectorize_getitem(y.owner.op, y.owner, [xb, *y.owner.inputs[1:]])[0].type.shape
    (2, 2)
    """
    _check_unbatched_indices(op, node, batched, 1)
    x, *idx = batched
    b = x.ndim - node.inputs[0].ndim
    out = type(op)((FULL,) * b + op.idx_list)(x, *idx)
    items, _ = index_items(op.idx_list, node.inputs[1:], node.inputs[0].ndim)
    if b and _advanced_first(op.idx_list, b, idx, x.ndim):
        # NumPy puts non-adjacent advanced dims first, before the batch dims
        from tessera.ops.shape import transpose

        a = node.outputs[0].ndim - sum(k in ("new", "slice") for k, _, _ in items)
        perm = list(range(a, a + b)) + list(range(a)) + list(range(a + b, out.ndim))
        out = transpose(out, perm)
    return [out]


def vectorize_setitem(op: IndexOp, node: Apply, batched: Sequence[Variable]) -> list:
    """Batch rule of the set/inc ops: broadcast x and y over the batch dims.

    Examples
    --------
    >>> import tessera as ts
    >>> x, y = ts.tensor("x", shape=(4,)), ts.scalar("y")
    >>> z = ts.set_subtensor(x[0], y)
    >>> yb = ts.tensor("yb", shape=(2,))
    >>> vectorize_setitem(z.owner.op, z.owner, [x, yb])[0].type.shape
    (2, 4)
    """
    from tessera.ops.shape import broadcast_to, expand_dims, shape_i, transpose

    _check_unbatched_indices(op, node, batched, 2)
    x, y, *idx = batched
    x0, y0, *idx0 = node.inputs
    bx, by = x.ndim - x0.ndim, y.ndim - y0.ndim
    b = max(bx, by)
    if by:
        # the output carries the broadcast batch shape of x and y
        batch = []
        for k in range(b):
            dims = [
                shape_i(v, k - (b - nb)) for v, nb in ((x, bx), (y, by)) if k >= b - nb
            ]
            batch.append(broadcast_dims(dims))
        x = broadcast_to(x, batch + [shape_i(x, k) for k in range(bx, x.ndim)])
    items, _ = index_items(op.idx_list, idx0, x0.ndim)
    region = indexed_static_shape(x0, op.idx_list, idx0)
    r = len(region)
    front = b > 0 and _advanced_first(op.idx_list, b, idx, x0.ndim + b)
    if b and (by or front):
        # give y all b batch dims, then core dims aligned on the indexed region
        axes = list(range(b - by)) + list(range(b, b + r - y0.ndim))
        y = expand_dims(y, axes) if axes else y
        if front:
            a = r - sum(k in ("new", "slice") for k, _, _ in items)
            perm = list(range(b, b + a)) + list(range(b)) + list(range(b + a, b + r))
            y = transpose(y, perm)
    return [type(op)((FULL,) * b + op.idx_list, op.set_instead_of_inc)(x, y, *idx)]


class GetItemOp(IndexOp):
    """Shared ``perform``/``infer_shape`` of the ops that read ``x[idx]``."""

    def perform(self, node, inputs, out):
        x = inputs[0]
        # basic indexing gives a view: ops never write into their inputs
        out[0][0] = np.asarray(x[numpy_index(self.idx_list, inputs[1:])])

    def infer_shape(self, node, input_shapes):
        return [
            indexed_symbolic_shape(
                node, input_shapes[0], node.inputs[1:], input_shapes[1:]
            )
        ]


class Subtensor(GetItemOp):
    """Basic indexing ``x[idx]``: ints, slices, ``None`` and ``Ellipsis``.

    Parameters
    ----------
    idx_list : tuple
        The static index; :data:`SYM` marks entries given as extra inputs
        (scalar indices and slice bounds).

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(5, 4))
    >>> y = x[1:3, ::-1]
    >>> y.owner.op, y.type.shape
    (Subtensor{[1:3, ::-1]}, (2, 4))
    """

    returns_view = True

    def make_node(self, x, *idx_inputs):
        x = as_tensor(x)
        idx_inputs = self._check_inputs(idx_inputs)
        if any(i.ndim for i in idx_inputs):
            raise TypeError(
                f"{self}: index inputs must be scalars; use AdvancedSubtensor"
            )
        shp = indexed_static_shape(x, self.idx_list, idx_inputs)
        return Apply(self, [x, *idx_inputs], [x.type.clone(shape=shp)])

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import zeros_like
        from tessera.ops.shape import reshape, shape

        x, *idx = inputs
        if selects_everything(self.idx_list, idx, x):
            # x[..., None], x[:, 0] on a size-1 dim, ...: only the layout
            # changes, so the cotangent is reshaped, not scattered into zeros
            return [reshape(cotangents[0], shape(x))] + [disconnected] * len(idx)
        gx = IncSubtensor(self.idx_list)(zeros_like(x), cotangents[0], *idx)
        return [gx] + [disconnected] * len(idx)

    def vectorize_node(self, node, *batched_inputs):
        return vectorize_getitem(self, node, batched_inputs)


def cast_value(op: Op, x: Variable, y) -> Variable:
    """``y`` as a tensor of ``x``'s dtype (only same-kind casts are implicit).

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,), dtype="float32")
    >>> cast_value("set_subtensor", x, 1).dtype
    'float32'
    """
    y = as_tensor(y)
    if y.dtype != x.dtype:
        if not np.can_cast(y.dtype, x.dtype, casting="same_kind"):
            raise TypeError(
                f"{op}: cannot write values of dtype {y.dtype} into a tensor of "
                f"dtype {x.dtype}; cast them explicitly"
            )
        from tessera.ops.math import cast

        y = cast(y, x.dtype)
    return y


def check_value_shape(op: Op, x: Variable, y: Variable, region: tuple) -> None:
    """Raise ValueError if ``y`` cannot broadcast to the indexed ``region``.

    Examples
    --------
    >>> import tessera as ts
    >>> x, y = ts.tensor("x", shape=(5, 4)), ts.tensor("y", shape=(3,))
    >>> check_value_shape("set_subtensor", x, y, (2, 4))
    Traceback (most recent call last):
    ...
    ValueError: set_subtensor: cannot broadcast y of shape (3,) to the indexed shape (2, 4) of x of shape (5, 4)
    """
    ys = y.type.shape
    ok = len(ys) <= len(region) and all(
        a is None or b is None or a in (1, b)
        for a, b in zip(reversed(ys), reversed(region))
    )
    if not ok:
        raise ValueError(
            f"{op}: cannot broadcast y of shape {shape_str(ys)} to the indexed shape "
            f"{shape_str(region)} of x of shape {shape_str(x.type.shape)}"
        )


class IncSubtensor(IndexOp):
    """``x`` with ``x[idx]`` replaced by (or incremented by) ``y``; basic indices.

    Parameters
    ----------
    idx_list : tuple
        As for :class:`Subtensor`.
    set_instead_of_inc : bool
        Write ``y`` instead of adding it.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,))
    >>> ts.set_subtensor(x[1:], 0.0).eval({x: [1.0, 2.0, 3.0]})
    array([1., 0., 0.])
    """

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list: Sequence, set_instead_of_inc: bool = False):
        super().__init__(idx_list)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def make_node(self, x, y, *idx_inputs):
        x = as_tensor(x)
        y = cast_value(self, x, y)
        idx_inputs = self._check_inputs(idx_inputs)
        if any(i.ndim for i in idx_inputs):
            raise TypeError(f"{self}: index inputs must be scalars")
        region = indexed_static_shape(x, self.idx_list, idx_inputs)
        check_value_shape(self, x, y, region)
        return Apply(self, [x, y, *idx_inputs], [x.type])

    def perform(self, node, inputs, out):
        x, y, *idx = inputs
        z = x.copy()
        key = numpy_index(self.idx_list, idx)
        if self.set_instead_of_inc:
            z[key] = y
        else:
            z[key] += y
        out[0][0] = z

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0])]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.elemwise import sum_to

        x, y, *idx = inputs
        (g,) = cotangents
        gy = sum_to(Subtensor(self.idx_list)(g, *idx), y)
        if self.set_instead_of_inc:
            zero = constant(np.zeros((), dtype=g.dtype))
            gx = IncSubtensor(self.idx_list, True)(g, zero, *idx)
        else:
            gx = g
        return [gx, gy] + [disconnected] * len(idx)

    def vectorize_node(self, node, *batched_inputs):
        return vectorize_setitem(self, node, batched_inputs)


# --- public functions ------------------------------------------------------


def getitem(x, idx) -> Variable:
    """``x[idx]`` with NumPy semantics (what ``TensorVariable.__getitem__`` calls).

    Basic indices (ints, scalar int tensors, slices, ``None``, ``...``) give a
    :class:`Subtensor`; integer arrays and boolean masks give an
    :class:`~tessera.ops.advanced_subtensor.AdvancedSubtensor`. Constant
    out-of-bounds indices on statically known dims raise IndexError here.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(5, 4))
    >>> x[1:3].type.shape, x[::-1].type.shape, x[[0, 2], None].type.shape
    ((2, 4), (5, 4), (2, 1, 4))
    >>> ts.arange(6)[np.array([True, False] * 3)].eval()
    array([0, 2, 4])
    """
    x = as_tensor(x)
    idx_list, inputs = parse_index(idx)
    if any(i.ndim for i in inputs):
        from tessera.ops.advanced_subtensor import AdvancedSubtensor

        return AdvancedSubtensor(idx_list)(x, *inputs)
    from tessera.ops.shape import Shape, ShapeI

    if (
        x.owner is not None
        and isinstance(x.owner.op, Shape)
        and len(idx_list) == 1
        and isinstance(idx_list[0], int)
    ):
        # x.shape[k] is the size of one dim: ShapeI is cheaper and its value
        # is known statically where the dim is
        (i,) = idx_list
        n = x.type.shape[0]
        if not -n <= i < n:
            raise out_of_bounds(i, 0, n, x.type.shape)
        return ShapeI(i % n)(x.owner.inputs[0])
    return Subtensor(idx_list)(x, *inputs)


def _index_parts(z: Variable, fn: str):
    """The tensor and index behind ``z = x[idx]``."""
    from tessera.ops.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
    from tessera.ops.shape import ShapeI, shape

    node = z.owner if isinstance(z, Variable) else None
    if node is not None and isinstance(node.op, Subtensor):
        return IncSubtensor, node.op.idx_list, node.inputs[0], node.inputs[1:]
    if node is not None and isinstance(node.op, AdvancedSubtensor):
        return AdvancedIncSubtensor, node.op.idx_list, node.inputs[0], node.inputs[1:]
    if node is not None and isinstance(node.op, ShapeI):
        return IncSubtensor, (node.op.i,), shape(node.inputs[0]), []
    raise TypeError(
        f"{fn}: the first argument must be the result of indexing a tensor, "
        f"like {fn}(x[idx], y); got {z!r}"
    )


def set_subtensor(z: Variable, y) -> Variable:
    """A copy of ``x`` with ``x[idx]`` replaced by ``y``, given ``z = x[idx]``.

    ``y`` broadcasts to the shape of ``x[idx]``. With repeated integer
    indices the last write wins, as in NumPy assignment.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.zeros((2, 3))
    >>> ts.set_subtensor(x[:, [0, 2]], 1.0).eval()
    array([[1., 0., 1.],
           [1., 0., 1.]])
    """
    op_class, idx_list, x, idx = _index_parts(z, "set_subtensor")
    return op_class(idx_list, True)(x, y, *idx)


def inc_subtensor(z: Variable, y) -> Variable:
    """A copy of ``x`` with ``y`` added to ``x[idx]``, given ``z = x[idx]``.

    Repeated integer indices accumulate, like ``np.add.at``.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.zeros(3)
    >>> ts.inc_subtensor(x[[0, 0, 2]], 1.0).eval()
    array([2., 0., 1.])
    """
    op_class, idx_list, x, idx = _index_parts(z, "inc_subtensor")
    return op_class(idx_list, False)(x, y, *idx)
