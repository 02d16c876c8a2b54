"""JAX lowerings of :mod:`tessera.ops.linalg.inverse`: inv, the inverse
from a Cholesky factor, the pseudo-inverse."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.linalg._base import (
    failures,
    lax_linalg,
    mT,
    out_dtype,
    register,
)
from tessera.ops.linalg.decomposition import is_cholesky_factor
from tessera.ops.linalg.inverse import CholeskyInverse, Inv, Pinv


@register(Inv)
def _funcify_inv(op: Inv, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        out = jnp.linalg.inv(jnp.asarray(a, dt))
        return failures(out, "inv", "singular", op.on_error)

    return run


@register(CholeskyInverse)
def _funcify_cholesky_inverse(op: CholeskyInverse, node) -> Callable:
    dt = out_dtype(node)
    # a Cholesky factor has no zero on its diagonal: nothing to check
    unchecked = is_cholesky_factor(node.inputs[0])

    def run(c):
        c = jnp.asarray(c, dt)
        t = c if op.lower else mT(c)
        eye = jnp.broadcast_to(jnp.eye(t.shape[-1], dtype=dt), t.shape)
        k = lax_linalg.triangular_solve(t, eye, left_side=True, lower=True)  # t^{-1}
        out = mT(k) @ k
        if unchecked:
            return out
        zero = jnp.any(jnp.diagonal(t, axis1=-2, axis2=-1) == 0, axis=-1)
        return failures(out, "cholesky_inverse", "singular", op.on_error, zero)

    return run


@register(Pinv)
def _funcify_pinv(op: Pinv, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        # through the SVD with NumPy's cutoff, so both backends zero the same
        # singular values
        a = jnp.asarray(a, dt)
        m, n = a.shape[-2:]
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        rtol = op.rtol if op.rtol is not None else max(m, n) * np.finfo(dt).eps
        cutoff = rtol * jnp.max(s, axis=-1, keepdims=True, initial=0.0)
        s_inv = jnp.where(s > cutoff, 1.0 / jnp.where(s > cutoff, s, 1.0), 0.0)
        return jnp.matmul(mT(vh) * s_inv[..., None, :], mT(u), precision="highest")

    return run
