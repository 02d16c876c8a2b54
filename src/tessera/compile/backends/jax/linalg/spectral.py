"""JAX lowerings of :mod:`tessera.ops.linalg.spectral`: eigh, eigvalsh, SVD."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.linalg._base import check_tall, out_dtype, register
from tessera.ops.linalg.spectral import SVD, Eigh, Eigvalsh


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
