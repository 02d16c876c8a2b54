"""Joining and splitting tensors: concatenate, split, stack."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.shape import (
    _int_vector,
    expand_dims,
    make_vector,
    normalize_axis,
    shape_i,
)
from tessera.ops.static import static_vector_entries
from tessera.ops.type import TensorType, shape_str


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
