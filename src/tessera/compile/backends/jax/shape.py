"""JAX lowerings of :mod:`tessera.ops.shape`.

Target shapes and split sizes are static (NumPy values while tracing, see
:mod:`tessera.compile.backends.jax.linker`); shapes of traced arrays are
known while tracing, so :class:`Shape` and :class:`ShapeI` give NumPy values.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    jax_funcify,
    static_inputs,
    static_ints,
)
from tessera.ops.shape import (
    BroadcastTo,
    ExpandDims,
    Join,
    MakeVector,
    Reshape,
    Shape,
    ShapeI,
    Split,
    Squeeze,
    Transpose,
)


@jax_funcify.register(Shape)
def _funcify_shape(op: Shape, node) -> Callable:
    return lambda x: np.array(jnp.shape(x), dtype=np.int64)


@jax_funcify.register(ShapeI)
def _funcify_shape_i(op: ShapeI, node) -> Callable:
    i = op.i
    return lambda x: np.array(jnp.shape(x)[i], dtype=np.int64)


@jax_funcify.register(MakeVector)
def _funcify_make_vector(op: MakeVector, node) -> Callable:
    dtype = np.dtype(op.dtype)
    return lambda *xs: (
        jnp.stack([jnp.asarray(x).astype(dtype) for x in xs])
        if xs
        else (jnp.zeros((0,), dtype))
    )


@jax_funcify.register(Reshape)
def _funcify_reshape(op: Reshape, node) -> Callable:
    return static_inputs(lambda x, shp: jnp.reshape(x, static_ints(shp)), 1)


@jax_funcify.register(Transpose)
def _funcify_transpose(op: Transpose, node) -> Callable:
    axes = op.axes
    return lambda x: jnp.transpose(x, axes)


@jax_funcify.register(ExpandDims)
def _funcify_expand_dims(op: ExpandDims, node) -> Callable:
    axes = op.axes
    return lambda x: jnp.expand_dims(x, axes)


@jax_funcify.register(Squeeze)
def _funcify_squeeze(op: Squeeze, node) -> Callable:
    axes = op.axes
    return lambda x: jnp.squeeze(x, axes)


@jax_funcify.register(BroadcastTo)
def _funcify_broadcast_to(op: BroadcastTo, node) -> Callable:
    return static_inputs(lambda x, shp: jnp.broadcast_to(x, static_ints(shp)), 1)


@jax_funcify.register(Join)
def _funcify_join(op: Join, node) -> Callable:
    axis = op.axis
    dtype = node.outputs[0].type.numpy_dtype
    return lambda *xs: jnp.concatenate([jnp.asarray(x).astype(dtype) for x in xs], axis)


@jax_funcify.register(Split)
def _funcify_split(op: Split, node) -> Callable:
    axis = op.axis

    def run(x, sizes):
        sizes = static_ints(sizes)
        if sum(sizes) != jnp.shape(x)[axis]:
            raise ValueError(
                f"split: sizes {list(sizes)} do not add up to {jnp.shape(x)[axis]}"
            )
        pieces = jnp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)
        return pieces[0] if len(pieces) == 1 else tuple(pieces)

    return static_inputs(run, 1)
