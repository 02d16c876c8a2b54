"""JAX lowerings of :mod:`tessera.ops.join`: concatenation and splitting.

Split sizes are static (NumPy values while tracing, see
:mod:`tessera.compile.backends.jax.plan`): JAX compiles fixed shapes.
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
from tessera.ops.join import Join, Split


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
