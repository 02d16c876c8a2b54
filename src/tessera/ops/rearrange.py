"""Rearranging elements: swapaxes, moveaxis, flatten, broadcast_arrays, flip,
tile, repeat (built on the shape ops)."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.shape import (
    broadcast_to,
    expand_dims,
    normalize_axes,
    normalize_axis,
    reshape,
    shape_i,
    shape_tuple,
    transpose,
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
