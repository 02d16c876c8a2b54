"""JAX lowerings of :mod:`tessera.ops.linalg.determinant`: det, slogdet."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.linalg._base import out_dtype, register
from tessera.ops.linalg.determinant import Det, SLogDet


@register(Det)
def _funcify_det(op: Det, node) -> Callable:
    dt = out_dtype(node)
    return lambda a: jnp.linalg.det(jnp.asarray(a, dt))


@register(SLogDet)
def _funcify_slogdet(op: SLogDet, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        sign, logabsdet = jnp.linalg.slogdet(jnp.asarray(a, dt))
        return sign, logabsdet

    return run
