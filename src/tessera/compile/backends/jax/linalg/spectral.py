"""JAX lowerings of :mod:`tessera.ops.linalg.spectral`: eigh, eigvalsh, SVD."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from numpy.linalg import LinAlgError

from tessera.compile.backends.jax.dispatch import runtime_check
from tessera.compile.backends.jax.linalg._base import check_tall, out_dtype, register
from tessera.ops.linalg.spectral import (
    REPEATED_MESSAGE,
    SVD,
    EigenGaps,
    Eigh,
    Eigvalsh,
)


@register(Eigh)
def _funcify_eigh(op: Eigh, node) -> Callable:
    dt = out_dtype(node)
    uplo = "L" if op.lower else "U"

    def run(a):
        w, v = jnp.linalg.eigh(jnp.asarray(a, dt), UPLO=uplo, symmetrize_input=False)
        return w, v

    return run


@register(Eigvalsh)
def _funcify_eigvalsh(op: Eigvalsh, node) -> Callable:
    dt = out_dtype(node)
    uplo = "L" if op.lower else "U"

    def run(a):
        return jnp.linalg.eigh(jnp.asarray(a, dt), UPLO=uplo, symmetrize_input=False)[0]

    return run


@register(EigenGaps)
def _funcify_eigen_gaps(op: EigenGaps, node) -> Callable:
    dt = out_dtype(node)
    tol = 64 * float(np.finfo(dt).eps)

    def run(w, k):
        # the NumPy reference's tie test (tied_eigenvalues, untied_cotangent)
        w, k = jnp.asarray(w, dt), jnp.asarray(k, dt)
        scale = jnp.max(jnp.abs(w), axis=-1, initial=0.0)[..., None, None]
        gap = w[..., None, :] - w[..., :, None]
        tied = jnp.abs(gap) <= tol * scale
        off = tied & ~jnp.eye(k.shape[-1], dtype=bool)
        kscale = jnp.max(jnp.abs(k), axis=(-2, -1), initial=0.0)[..., None, None]
        bad = jnp.any(off & (jnp.abs(k) > tol * kscale), axis=(-2, -1))
        runtime_check(~bad, LinAlgError(REPEATED_MESSAGE.format(where="")))
        return jnp.where(tied, 0.0, k / jnp.where(tied, 1.0, gap))

    return run


@register(SVD)
def _funcify_svd(op: SVD, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        check_tall(a, op.wide, "svd")
        res = jnp.linalg.svd(
            jnp.asarray(a, dt),
            full_matrices=op.full_matrices,
            compute_uv=op.compute_uv,
        )
        return tuple(res) if op.compute_uv else res

    return run
