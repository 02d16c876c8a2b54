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


class Join(Op):
    """Concatenate tensors along ``axis``."""

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = int(axis)

    def make_node(self, *xs):
        if not xs:
            raise ValueError("concatenate: need at least one tensor")
        xs = [as_tensor(x) for x in xs]
        ndim = xs[0].ndim
        if ndim == 0:
            raise ValueError("concatenate: zero-dimensional tensors cannot be joined")
        for x in xs:
            if x.ndim != ndim:
                raise ValueError(
                    "concatenate: all inputs must have the same number of dims, got "
                    + ", ".join(shape_str(x.type.shape) for x in xs)
                )
        axis = normalize_axis(self.axis, ndim, "concatenate")
        dtype = np.result_type(*[x.dtype for x in xs]).name
        shp = []
        for k in range(ndim):
            dims = [x.type.shape[k] for x in xs]
            if k == axis:
                shp.append(None if None in dims else int(sum(dims)))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ValueError(
                    "concatenate: shapes "
                    + ", ".join(shape_str(x.type.shape) for x in xs)
                    + f" differ in dim {k} (joining along axis {axis})"
                )
            shp.append(known.pop() if known else None)
        return Apply(Join(axis), xs, [TensorType(dtype, shp)])

    def perform(self, node, inputs, out):
        out[0][0] = np.concatenate(inputs, axis=self.axis).astype(
            node.outputs[0].dtype, copy=False
        )

    def vectorize_node(self, node, *xs):
        from tessera.ops.vectorize import broadcast_batch

        bs = [new.ndim - old.ndim for old, new in zip(node.inputs, xs)]
        full, nb = broadcast_batch(xs, bs)
        return [Join(self.axis + nb)(*full)]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.math import add

        out = list(input_shapes[0])
        total = input_shapes[0][self.axis]
        for s in input_shapes[1:]:
            total = (
                add(total, s[self.axis])
                if isinstance(total, Variable) or isinstance(s[self.axis], Variable)
                else total + s[self.axis]
            )
        out[self.axis] = total
        return [tuple(out)]

    def pullback(self, inputs, outputs, cotangents):
        sizes = make_vector(*[shape_i(x, self.axis) for x in inputs])
        parts = Split(len(inputs), self.axis)(cotangents[0], sizes)
        parts = [parts] if len(inputs) == 1 else parts
        return [
            p if p.dtype == x.dtype else p.astype(x.dtype)
            for p, x in zip(parts, inputs)
        ]


def concatenate(xs: Sequence, axis: int = 0) -> Variable:
    """Join tensors along an existing axis, like ``np.concatenate``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.concatenate([ts.ones(2), ts.zeros(1)]).eval()
    array([1., 1., 0.])
    """
    xs = [as_tensor(x) for x in xs]
    if len(xs) == 1:
        return xs[0]
    return Join(axis)(*xs)


class Split(Op):
    """Split ``x`` along ``axis`` into pieces of the given run-time sizes."""

    returns_view = True

    __props__ = ("n", "axis")

    def __init__(self, n: int, axis: int):
        self.n = int(n)
        self.axis = int(axis)

    def make_node(self, x, sizes):
        x = as_tensor(x)
        sizes = _int_vector(sizes)
        axis = normalize_axis(self.axis, x.ndim, "split")
        entries = static_vector_entries(sizes)
        if len(entries) != self.n:
            raise ValueError(f"split: expected {self.n} sizes, got {len(entries)}")
        total = x.type.shape[axis]
        if None not in entries and total is not None and sum(entries) != total:
            raise ValueError(
                f"split: sizes {entries} do not add up to {total}, the size of axis "
                f"{axis} of {shape_str(x.type.shape)}"
            )
        outs = []
        for e in entries:
            shp = list(x.type.shape)
            shp[axis] = e
            outs.append(TensorType(x.dtype, shp))
        return Apply(Split(self.n, axis), [x, sizes], outs)

    def perform(self, node, inputs, out):
        x, sizes = inputs
        if int(np.sum(sizes)) != x.shape[self.axis]:
            raise ValueError(
                f"split: sizes {list(sizes)} do not add up to {x.shape[self.axis]}"
            )
        pieces = np.split(x, np.cumsum(sizes)[:-1], axis=self.axis)
        for k, p in enumerate(pieces):
            out[k][0] = p

    def vectorize_node(self, node, x, sizes):
        if sizes.ndim != 1:
            raise NotImplementedError("split with sizes that vary over the batch")
        b = x.ndim - node.inputs[0].ndim
        out = Split(self.n, self.axis + b)(x, sizes)
        return out if isinstance(out, list) else [out]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        result = []
        for k, o in enumerate(node.outputs):
            shp = list(input_shapes[0])
            s = o.type.shape[self.axis]
            shp[self.axis] = s if s is not None else getitem(node.inputs[1], k)
            result.append(tuple(shp))
        return result

    def pullback(self, inputs, outputs, cotangents):
        from tessera.graph.null import DisconnectedType
        from tessera.ops.creation import zeros_like

        parts = [
            zeros_like(o) if isinstance(g, DisconnectedType) else g
            for g, o in zip(cotangents, outputs)
        ]
        return [concatenate(parts, axis=self.axis), disconnected]


def split(x, indices_or_sections, axis: int = 0) -> list[Variable]:
    """Split ``x`` into pieces along ``axis``, like ``np.split``.

    ``indices_or_sections`` is a number of equal pieces or a list of split
    points (static), or a symbolic vector of piece sizes.

    Examples
    --------
    >>> import tessera as ts
    >>> [p.eval() for p in ts.split(ts.arange(5), [2])]
    [array([0, 1]), array([2, 3, 4])]
    """
    x = as_tensor(x)
    axis = normalize_axis(axis, x.ndim, "split")
    if isinstance(indices_or_sections, Variable):
        sizes = indices_or_sections
        n = static_vector_entries(sizes).__len__()
    else:
        total = x.type.shape[axis]
        if isinstance(indices_or_sections, int | np.integer):
            n = int(indices_or_sections)
            if total is None:
                each = shape_i(x, axis) // n
                sizes = make_vector(*[each] * n)
            else:
                if total % n:
                    raise ValueError(
                        f"split: axis of size {total} does not divide into {n}"
                    )
                sizes = [total // n] * n
        else:
            points = [int(p) for p in indices_or_sections]
            if total is None:
                raise ValueError(
                    "split: split points need a statically known axis size"
                )
            bounds = [0] + points + [total]
            sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
            n = len(sizes)
    outs = Split(len(sizes) if not isinstance(sizes, Variable) else n, axis)(x, sizes)
    return list(outs) if isinstance(outs, list) else [outs]


# --- derived shape functions ------------------------------------------------


def stack(xs: Sequence, axis: int = 0) -> Variable:
    """Join tensors along a new axis, like ``np.stack``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.stack([ts.ones(2), ts.zeros(2)]).type.shape
    (2, 2)
    """
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("stack: need at least one tensor")
    if all(x.ndim == 0 for x in xs):
        dtype = np.result_type(*[x.dtype for x in xs]).name
        normalize_axis(axis, 1, "stack")
        return make_vector(*xs, dtype=dtype)
    nd = xs[0].ndim + 1
    axis = normalize_axis(axis, nd, "stack")
    return (
        concatenate([expand_dims(x, axis) for x in xs], axis=axis)
        if len(xs) > 1
        else expand_dims(xs[0], axis)
    )


def swapaxes(x, a: int, b: int) -> Variable:
    """Exchange two dims, like ``np.swapaxes``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.swapaxes(ts.zeros((2, 3, 4)), 0, -1).type.shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    a, b = normalize_axis(a, x.ndim, "swapaxes"), normalize_axis(b, x.ndim, "swapaxes")
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination) -> Variable:
    """Move dims to new positions, like ``np.moveaxis``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.moveaxis(ts.zeros((2, 3, 4)), 0, -1).type.shape
    (3, 4, 2)
    """
    x = as_tensor(x)
    src = normalize_axes(source, x.ndim, "moveaxis")
    dst = normalize_axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same length")
    order = [k for k in range(x.ndim) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def flatten(x, ndim: int = 1) -> Variable:
    """Collapse to ``ndim`` dims (the trailing ones are merged).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.flatten(ts.zeros((2, 3))).type.shape
    (6,)
    """
    x = as_tensor(x)
    if ndim < 1 or ndim > max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be in [1, {max(x.ndim, 1)}], got {ndim}")
    keep = [shape_i(x, k) for k in range(ndim - 1)]
    return reshape(x, (*keep, -1))


def broadcast_arrays(*xs) -> list[Variable]:
    """Broadcast tensors against each other, like ``np.broadcast_arrays``.

    Examples
    --------
    >>> import tessera as ts
    >>> [v.type.shape for v in ts.broadcast_arrays(ts.zeros((2, 1)), ts.zeros(3))]
    [(2, 3), (2, 3)]
    """
    from tessera.ops.elemwise import broadcast_symbolic_shapes
    from tessera.ops.math import add

    xs = [as_tensor(x) for x in xs]
    # the shape of x0 + x1 + ... is the broadcast shape; build it symbolically
    probe = xs[0]
    for x in xs[1:]:
        probe = add(probe, x)
    shp = broadcast_symbolic_shapes(xs, [shape_tuple(x) for x in xs], probe)
    return [broadcast_to(x, shp) for x in xs]


def flip(x, axis=None) -> Variable:
    """Reverse the order of elements along axes, like ``np.flip``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.flip(ts.arange(3)).eval()
    array([2, 1, 0])
    """
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "flip")
    idx = tuple(
        slice(None, None, -1) if k in axes else slice(None) for k in range(x.ndim)
    )
    return x[idx]


def tile(x, reps) -> Variable:
    """Repeat the whole array, like ``np.tile`` (``reps`` static ints).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.tile(ts.arange(2), 2).eval()
    array([0, 1, 0, 1])
    """
    x = as_tensor(x)
    reps = (
        (int(reps),)
        if isinstance(reps, int | np.integer)
        else tuple(int(r) for r in reps)
    )
    nd = max(x.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    x = reshape(x, (1,) * (nd - x.ndim) + shape_tuple(x)) if nd > x.ndim else x
    # insert a new axis before each dim, broadcast it to the rep count, merge
    shp = shape_tuple(x)
    expanded = expand_dims(x, tuple(range(0, 2 * nd, 2)))
    target = []
    for r, s in zip(reps, shp):
        target += [r, s]
    b = broadcast_to(expanded, target)
    return reshape(b, tuple(r * s for r, s in zip(reps, shp)))


def repeat(x, repeats: int, axis: int | None = None) -> Variable:
    """Repeat each element ``repeats`` times (a static int), like ``np.repeat``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.repeat(ts.arange(2), 2).eval()
    array([0, 0, 1, 1])
    """
    x = as_tensor(x)
    if not isinstance(repeats, int | np.integer):
        raise TypeError("repeat: repeats must be a static int")
    if axis is None:
        x = flatten(x)
        axis = 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    shp = list(shape_tuple(x))
    expanded = expand_dims(x, axis + 1)
    b = broadcast_to(expanded, shp[: axis + 1] + [int(repeats)] + shp[axis + 1 :])
    shp[axis] = shp[axis] * int(repeats)
    return reshape(b, shp)
