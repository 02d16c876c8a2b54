"""JAX lowerings of :mod:`tessera.ops.creation` (shapes and bounds are static)."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    jax_funcify,
    static_inputs,
    static_ints,
)
from tessera.ops.creation import Alloc, ARange, Eye


@jax_funcify.register(Alloc)
def _funcify_alloc(op: Alloc, node) -> Callable:
    dtype = node.outputs[0].type.numpy_dtype
    return static_inputs(
        lambda value, shp: jnp.full(static_ints(shp), value, dtype=dtype), 1
    )


@jax_funcify.register(Eye)
def _funcify_eye(op: Eye, node) -> Callable:
    dtype = np.dtype(op.dtype)

    def run(n, m, k):
        return jnp.eye(int(n), int(m), int(k), dtype=dtype)

    return static_inputs(run, 0, 1, 2)


@jax_funcify.register(ARange)
def _funcify_arange(op: ARange, node) -> Callable:
    dtype = np.dtype(op.dtype)

    def run(start, stop, step):
        # NumPy computes the values; they are constants of the compiled graph
        return np.arange(
            *[np.asarray(v).item() for v in (start, stop, step)], dtype=dtype
        )

    return static_inputs(run, 0, 1, 2)
