"""JAX lowerings of :mod:`tessera.ops.products` (matmul, einsum) and
:mod:`tessera.ops.matvec`.

Products run at ``precision="highest"``: on GPUs JAX would otherwise use
reduced-precision (TF32 / bf16) passes for float32, and results would
differ from the NumPy backend by far more than rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.blockwise import jax_batched
from tessera.compile.backends.jax.dispatch import jax_funcify
from tessera.ops.matvec import MatVec, VecMat
from tessera.ops.products import Einsum, MatMul

PRECISION = "highest"


def _matmul(a, b):
    return jnp.matmul(a, b, precision=PRECISION)


@jax_funcify.register(MatMul)
@jax_funcify.register(MatVec)
@jax_funcify.register(VecMat)
def _funcify_matmul(op: MatMul | MatVec | VecMat, node) -> Callable:
    # with batch dims (Blockwise) MatVec and VecMat are vectorized over
    # their signatures: JAX makes one batched dot of it
    return _matmul


@jax_batched.register(MatMul)
def _batched_matmul(op: MatMul, node) -> Callable:
    return _matmul


@jax_funcify.register(Einsum)
def _funcify_einsum(op: Einsum, node) -> Callable:
    subscripts = op.subscripts
    return lambda *xs: jnp.einsum(subscripts, *xs, precision=PRECISION)
