"""JAX lowerings of :mod:`tessera.ops.shape`.

Target shapes are static (NumPy values while tracing, see
:mod:`tessera.compile.backends.jax.plan`); shapes of traced arrays are
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
    MakeVector,
    Reshape,
    Shape,
    ShapeI,
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
