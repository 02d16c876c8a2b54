"""JAX lowerings of :mod:`tessera.ops.linalg.determinant`: det, slogdet,
adjugate."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.linalg._base import mT, out_dtype, register
from tessera.ops.linalg.determinant import Adjugate, Det, SLogDet


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


@register(Adjugate)
def _funcify_adjugate(op: Adjugate, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        # the SVD form of adjugate_kernel: finite for singular matrices
        a = jnp.asarray(a, dt)
        n = a.shape[-1]
        if n <= 1:
            return jnp.ones_like(a)
        u, s, vh = jnp.linalg.svd(a)
        one = jnp.ones(s.shape[:-1] + (1,), dt)
        before = jnp.cumprod(jnp.concatenate([one, s[..., :-1]], axis=-1), axis=-1)
        after = jnp.cumprod(jnp.concatenate([one, s[..., :0:-1]], axis=-1), axis=-1)
        p = before * after[..., ::-1]
        sign = jnp.sign(jnp.linalg.det(u) * jnp.linalg.det(vh))
        adj = jnp.matmul(mT(vh) * p[..., None, :], mT(u), precision="highest")
        return adj * sign[..., None, None]

    return run
