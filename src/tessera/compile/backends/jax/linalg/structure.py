"""JAX lowerings of :mod:`tessera.ops.linalg.structure`: triangles and
diagonals."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import jax_funcify, static_inputs
from tessera.compile.backends.jax.linalg._base import out_dtype, register
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag, Triangle


@register(Triangle)
def _funcify_triangle(op: Triangle, node) -> Callable:
    fn = jnp.tril if op.lower else jnp.triu
    k = op.k
    return lambda x: fn(x, k)


@jax_funcify.register(ExtractDiag)
def _funcify_extract_diag(op: ExtractDiag, node) -> Callable:
    offset = op.offset
    return lambda x: jnp.diagonal(x, offset, axis1=-2, axis2=-1)


@jax_funcify.register(AllocDiag)
def _funcify_alloc_diag(op: AllocDiag, node) -> Callable:
    offset = op.offset
    dt = out_dtype(node)

    def run(v, m, n):
        # a select against a static mask rather than a scatter into zeros:
        # XLA fuses it into the consumer, where the scatter wrote (and the
        # consumer read back) a whole batch of matrices
        v = jnp.asarray(v, dt)
        m, n = int(m), int(n)
        k = v.shape[-1]
        rows, cols = np.arange(m)[:, None], np.arange(n)[None, :]
        mask = cols - rows == offset
        # entry (r, c) of the diagonal holds v[r] (offset >= 0) or v[c]
        length = m if offset >= 0 else n
        if k < length:
            v = jnp.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, length - k)])
        vv = v[..., :, None] if offset >= 0 else v[..., None, :]
        return jnp.where(mask, vv, jnp.zeros((), dt))

    return static_inputs(run, 1, 2)
