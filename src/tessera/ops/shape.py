"""Shape ops: shape, reshape, transpose, expand/squeeze, broadcast, join/split.

Thin functions built on these (swapaxes, moveaxis, flatten, stack, tile,
repeat, flip, broadcast_arrays) live at the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor, constant
from tessera.ops.static import static_vector_entries
from tessera.ops.type import TensorType, shape_str


def normalize_axis(axis: int, ndim: int, op_name: str) -> int:
    """Map a possibly negative axis into ``range(ndim)`` or raise."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op_name}: axis {axis} is out of range for {ndim} dims")
    return axis % ndim


def normalize_axes(axis, ndim: int, op_name: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (int(axis),)
    out = tuple(normalize_axis(int(a), ndim, op_name) for a in axis)
    if len(set(out)) != len(out):
        raise ValueError(f"{op_name}: repeated axis in {axis}")
    return out


def _int_vector(value) -> Variable:
    """A shape-like argument as an int64 vector variable."""
    if isinstance(value, Variable):
        v = value
    elif isinstance(value, int | np.integer):
        v = constant(np.array([value], dtype=np.int64))
    else:
        value = list(value)
        if any(isinstance(e, Variable) for e in value):
            v = make_vector(*value)
        else:
            v = constant(np.array(value, dtype=np.int64).reshape(-1))
    if v.ndim != 1:
        raise ValueError(
            f"a shape must be a vector of ints, got {v} with {v.ndim} dims"
        )
    if v.dtype != "int64":
        from tessera.ops.math import cast

        v = cast(v, "int64")
    return v


class Shape(Op):
    """The run-time shape of a tensor, as an int64 vector."""

    __props__ = ()

    def make_node(self, x):
        x = as_tensor(x)
        return Apply(self, [x], [TensorType("int64", (x.ndim,))])

    def perform(self, node, inputs, out):
        out[0][0] = np.array(np.shape(inputs[0]), dtype=np.int64)

    def vectorize_node(self, node, x):
        # the core shape is the same for every batch element: unbatched
        b = x.ndim - node.inputs[0].ndim
        return [make_vector(*[shape_i(x, b + k) for k in range(node.inputs[0].ndim)])]

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0].ndim,)]

    def pullback(self, inputs, outputs, cotangents):
        return [disconnected]


class ShapeI(Op):
    """Size of dim ``i`` of a tensor, as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i: int):
        self.i = int(i)

    def make_node(self, x):
        x = as_tensor(x)
        normalize_axis(self.i, x.ndim, "shape_i")
        return Apply(self, [x], [TensorType("int64", ())])

    def perform(self, node, inputs, out):
        out[0][0] = np.array(np.shape(inputs[0])[self.i], dtype=np.int64)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [ShapeI(self.i + b)(x)]

    def infer_shape(self, node, input_shapes):
        return [()]

    def pullback(self, inputs, outputs, cotangents):
        return [disconnected]


def shape(x) -> Variable:
    """Symbolic shape of ``x`` (an int64 vector).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.shape(ts.zeros((2, 3))).eval()
    array([2, 3])
    """
    return Shape()(as_tensor(x))


def shape_i(x, i: int):
    """Size of dim ``i`` of ``x``: a Python int if known statically, else a
    symbolic int64 scalar."""
    x = as_tensor(x)
    s = x.type.shape[normalize_axis(i, x.ndim, "shape_i")]
    if s is not None:
        return s
    return ShapeI(i % x.ndim)(x)


def shape_tuple(x) -> tuple:
    """Per-dim sizes of ``x`` (ints where static, symbolic scalars elsewhere)."""
    x = as_tensor(x)
    return tuple(shape_i(x, k) for k in range(x.ndim))


class MakeVector(Op):
    """Assemble scalars into a vector (used for symbolic shapes)."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str = "int64"):
        self.dtype = dtype

    def make_node(self, *scalars):
        scalars = [as_tensor(s, dtype=self.dtype) for s in scalars]
        for s in scalars:
            if s.ndim != 0:
                raise ValueError(f"make_vector: {s} is not a scalar")
        return Apply(self, scalars, [TensorType(self.dtype, (len(scalars),))])

    def perform(self, node, inputs, out):
        out[0][0] = np.array(inputs, dtype=self.dtype)

    def vectorize_node(self, node, *scalars):
        from tessera.ops.vectorize import broadcast_batch

        bs = [s.ndim for s in scalars]
        full, _ = broadcast_batch(scalars, bs)
        return [concatenate([expand_dims(s, -1) for s in full], axis=-1)]

    def infer_shape(self, node, input_shapes):
        return [(len(node.inputs),)]

    def pullback(self, inputs, outputs, cotangents):
        (g,) = cotangents
        from tessera.ops.subtensor import getitem

        if np.dtype(self.dtype).kind != "f":
            return [disconnected] * len(inputs)
        return [getitem(g, k) for k in range(len(inputs))]


def make_vector(*values, dtype: str = "int64") -> Variable:
    """A vector from scalars (Python numbers or scalar variables)."""
    return MakeVector(dtype)(*values)


class Reshape(Op):
    """Reshape ``x`` to a run-time shape vector (``-1`` allowed once)."""

    returns_view = True

    __props__ = ()

    def make_node(self, x, shp):
        x = as_tensor(x)
        shp = _int_vector(shp)
        entries = static_vector_entries(shp)
        if sum(1 for e in entries if e == -1) > 1:
            raise ValueError(f"reshape: at most one -1 in the shape, got {entries}")
        out = [None if (e is None or e == -1) else e for e in entries]
        if -1 in entries and None not in x.type.shape and None not in entries:
            known = int(np.prod([e for e in entries if e != -1]))
            size = int(np.prod(x.type.shape))
            if known == 0 or size % known:
                raise ValueError(
                    f"reshape: cannot reshape {shape_str(x.type.shape)} to {entries}"
                )
            out[entries.index(-1)] = size // known
        if None not in x.type.shape and None not in out:
            if int(np.prod(x.type.shape)) != int(np.prod(out)):
                raise ValueError(
                    f"reshape: cannot reshape array of shape {shape_str(x.type.shape)} "
                    f"into shape {shape_str(out)}"
                )
        return Apply(self, [x, shp], [TensorType(x.dtype, out)])

    def perform(self, node, inputs, out):
        out[0][0] = np.reshape(inputs[0], inputs[1])

    def vectorize_node(self, node, x, shp):
        from tessera.ops.vectorize import batch_shape

        if shp.ndim != 1:
            raise NotImplementedError("reshape to a shape that varies over the batch")
        b = x.ndim - node.inputs[0].ndim
        return [Reshape()(x, concatenate([make_vector(*batch_shape(x, b)), shp]))]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        out = node.outputs[0]
        dims = [
            s if s is not None else getitem(node.inputs[1], k)
            for k, s in enumerate(out.type.shape)
        ]
        entries = static_vector_entries(node.inputs[1])
        if -1 in entries and out.type.shape[entries.index(-1)] is None:
            # the -1 entry is the size left over by the others
            k = entries.index(-1)
            size, rest = 1, 1
            for d in input_shapes[0]:
                size = size * d
            for j, d in enumerate(dims):
                rest = rest if j == k else rest * d
            dims[k] = size // rest
        return [tuple(dims)]

    def pullback(self, inputs, outputs, cotangents):
        return [reshape(cotangents[0], shape(inputs[0])), disconnected]


def reshape(x, newshape) -> Variable:
    """Give ``x`` a new shape with the same number of elements.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.reshape(ts.arange(6), (2, -1)).eval()
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    x = as_tensor(x)
    shp = _int_vector(newshape)
    entries = static_vector_entries(shp)
    if tuple(entries) == x.type.shape and None not in entries:
        return x
    return Reshape()(x, shp)


class Transpose(Op):
    """Permute the dims of ``x``."""

    returns_view = True

    __props__ = ("axes",)

    def __init__(self, axes: Sequence[int]):
        self.axes = tuple(int(a) for a in axes)

    def make_node(self, x):
        x = as_tensor(x)
        if sorted(self.axes) != list(range(x.ndim)):
            raise ValueError(
                f"transpose: axes {self.axes} are not a permutation of {x.ndim} dims"
            )
        shp = tuple(x.type.shape[a] for a in self.axes)
        return Apply(self, [x], [TensorType(x.dtype, shp)])

    def perform(self, node, inputs, out):
        out[0][0] = np.transpose(inputs[0], self.axes)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [Transpose(tuple(range(b)) + tuple(a + b for a in self.axes))(x)]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0][a] for a in self.axes)]

    def pullback(self, inputs, outputs, cotangents):
        inv = tuple(int(i) for i in np.argsort(self.axes))
        return [Transpose(inv)(cotangents[0])]


def transpose(x, axes: Sequence[int] | None = None) -> Variable:
    """Permute dims (reverse them by default), like ``np.transpose``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.transpose(ts.zeros((2, 3, 4)), (1, 0, 2)).type.shape
    (3, 2, 4)
    """
    x = as_tensor(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = normalize_axes(axes, x.ndim, "transpose")
    if len(axes) != x.ndim:
        raise ValueError(f"transpose: axes {axes} do not match {x.ndim} dims")
    if axes == tuple(range(x.ndim)):
        return x
    return Transpose(axes)(x)


permute_dims = transpose


class ExpandDims(Op):
    """Insert size-1 dims at ``axes`` (positions in the output)."""

    returns_view = True

    __props__ = ("axes",)

    def __init__(self, axes: Sequence[int]):
        self.axes = tuple(sorted(int(a) for a in axes))

    def make_node(self, x):
        x = as_tensor(x)
        shp = list(x.type.shape)
        for a in self.axes:
            shp.insert(a, 1)
        return Apply(self, [x], [TensorType(x.dtype, shp)])

    def perform(self, node, inputs, out):
        out[0][0] = np.expand_dims(inputs[0], self.axes)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [ExpandDims(tuple(a + b for a in self.axes))(x)]

    def infer_shape(self, node, input_shapes):
        shp = list(input_shapes[0])
        for a in self.axes:
            shp.insert(a, 1)
        return [tuple(shp)]

    def pullback(self, inputs, outputs, cotangents):
        return [Squeeze(self.axes)(cotangents[0])]


def expand_dims(x, axis) -> Variable:
    """Insert size-1 dims, like ``np.expand_dims``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.expand_dims(ts.zeros(3), (0, -1)).type.shape
    (1, 3, 1)
    """
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    if not axes:
        return x
    axes = normalize_axes(axes, x.ndim + len(axes), "expand_dims")
    return ExpandDims(axes)(x)


class Squeeze(Op):
    """Remove size-1 dims at ``axes``; a dim that is not 1 at run time is an error."""

    returns_view = True

    __props__ = ("axes",)

    def __init__(self, axes: Sequence[int]):
        self.axes = tuple(sorted(int(a) for a in axes))

    def make_node(self, x):
        x = as_tensor(x)
        for a in self.axes:
            if a >= x.ndim:
                raise ValueError(f"squeeze: axis {a} out of range for {x.ndim} dims")
            if x.type.shape[a] not in (1, None):
                raise ValueError(
                    f"squeeze: cannot remove axis {a} of size {x.type.shape[a]} "
                    f"from shape {shape_str(x.type.shape)}"
                )
        shp = [s for k, s in enumerate(x.type.shape) if k not in self.axes]
        return Apply(self, [x], [TensorType(x.dtype, shp)])

    def perform(self, node, inputs, out):
        out[0][0] = np.squeeze(inputs[0], self.axes)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [Squeeze(tuple(a + b for a in self.axes))(x)]

    def infer_shape(self, node, input_shapes):
        return [tuple(s for k, s in enumerate(input_shapes[0]) if k not in self.axes)]

    def pullback(self, inputs, outputs, cotangents):
        return [ExpandDims(self.axes)(cotangents[0])]


def squeeze(x, axis=None) -> Variable:
    """Remove size-1 dims (all statically known ones by default).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.squeeze(ts.zeros((1, 3, 1))).type.shape
    (3,)
    """
    x = as_tensor(x)
    if axis is None:
        axes = tuple(k for k, s in enumerate(x.type.shape) if s == 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze")
    if not axes:
        return x
    return Squeeze(axes)(x)


class BroadcastTo(Op):
    """Broadcast ``x`` to a run-time shape (a read-only view)."""

    returns_view = True

    __props__ = ()

    def make_node(self, x, shp):
        x = as_tensor(x)
        shp = _int_vector(shp)
        entries = static_vector_entries(shp)
        if len(entries) < x.ndim:
            raise ValueError(
                f"broadcast_to: cannot broadcast {shape_str(x.type.shape)} to "
                f"{len(entries)} dims"
            )
        target = tuple(entries)
        lead = len(target) - x.ndim
        out = []
        for k, t in enumerate(target):
            s = x.type.shape[k - lead] if k >= lead else 1
            if s is not None and t is not None and s != 1 and s != t:
                raise ValueError(
                    f"broadcast_to: cannot broadcast {shape_str(x.type.shape)} "
                    f"to {shape_str(target)}"
                )
            out.append(t if t is not None else (s if s not in (None, 1) else None))
        return Apply(self, [x, shp], [TensorType(x.dtype, out)])

    def perform(self, node, inputs, out):
        out[0][0] = np.broadcast_to(inputs[0], tuple(inputs[1]))

    def vectorize_node(self, node, x, shp):
        from tessera.ops.vectorize import batch_shape, pad_core

        if shp.ndim != 1:
            raise NotImplementedError("broadcast_to a shape that varies over the batch")
        b = x.ndim - node.inputs[0].ndim
        n_core = node.outputs[0].ndim
        x = pad_core(x, b, n_core)
        return [BroadcastTo()(x, concatenate([make_vector(*batch_shape(x, b)), shp]))]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        out = node.outputs[0]
        return [
            tuple(
                s if s is not None else getitem(node.inputs[1], k)
                for k, s in enumerate(out.type.shape)
            )
        ]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.elemwise import sum_to

        return [sum_to(cotangents[0], inputs[0]), disconnected]


def broadcast_to(x, shape) -> Variable:
    """Broadcast ``x`` to ``shape``, like ``np.broadcast_to``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.broadcast_to(ts.ones(3), (2, 3)).eval()
    array([[1., 1., 1.],
           [1., 1., 1.]])
    """
    x = as_tensor(x)
    shp = _int_vector(shape)
    if tuple(static_vector_entries(shp)) == x.type.shape and None not in x.type.shape:
        return x
    return BroadcastTo()(x, shp)


# Joining/splitting and the derived rearrangements live in their own modules;
# re-exported here because they are shape functions too.
from tessera.ops.join import Join, Split, concatenate, split, stack  # noqa: E402
from tessera.ops.rearrange import (  # noqa: E402
    broadcast_arrays,
    flatten,
    flip,
    moveaxis,
    repeat,
    swapaxes,
    tile,
)

__all__ = [
    "BroadcastTo",
    "ExpandDims",
    "Join",
    "MakeVector",
    "Reshape",
    "Shape",
    "ShapeI",
    "Split",
    "Squeeze",
    "Transpose",
    "broadcast_arrays",
    "broadcast_to",
    "concatenate",
    "expand_dims",
    "flatten",
    "flip",
    "make_vector",
    "moveaxis",
    "normalize_axes",
    "normalize_axis",
    "permute_dims",
    "repeat",
    "reshape",
    "shape",
    "shape_i",
    "shape_tuple",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
]
