"""JAX lowerings of :mod:`tessera.ops.linalg.decomposition`: Cholesky and
its pullback, LU, the permutation matrix of LU pivots, QR."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from numpy.linalg import LinAlgError

from tessera.compile.backends.jax.dispatch import runtime_check
from tessera.compile.backends.jax.linalg._base import (
    broadcast_batch,
    check_tall,
    cholesky,
    failures,
    lax_linalg,
    mT,
    out_dtype,
    permutation,
    register,
)
from tessera.ops.linalg._base import half_phi_mask
from tessera.ops.linalg.decomposition import (
    QR,
    Cholesky,
    CholeskyPullback,
    LUFactor,
    PermutationMatrix,
)


@register(Cholesky)
def _funcify_cholesky(op: Cholesky, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        out = cholesky(jnp.asarray(a, dt), op.lower)
        # a failed factorization is NaN throughout: its diagonal tells, at a
        # 1/n of the cost of checking every entry
        finite = jnp.isfinite(jnp.diagonal(out, axis1=-2, axis2=-1))
        if op.on_error == "raise":
            # one reduction over the whole batch: per-matrix flags, reduced
            # again by the linker, cost XLA several more small kernels
            runtime_check(
                jnp.all(finite),
                LinAlgError("cholesky: a matrix of the batch is not positive definite"),
                # which matrix: computed only once a call has failed
                where=jnp.all(finite, axis=-1),
            )
            return out
        bad = ~jnp.all(finite, axis=-1)
        return failures(out, "cholesky", "not positive definite", op.on_error, bad)

    return run


#: Pullbacks of at most this many matrix entries (batch included) form
#: ``c^T g`` by two triangular solves instead of a matrix product, on CPU.
#: XLA:CPU runs a program of under 1000 flops (by its cost model, which
#: counts a LAPACK call as none) inline on the calling thread instead of
#: handing it to a worker: 25-30 us saved per call, when a product of two
#: 8x8 matrices alone counts 1024. Two 8x8 solves cost a microsecond or two
#: more than the product, and are as accurate: both agree with an
#: extended-precision reference to ~1e-15 up to cond(a) = 1e14. Elsewhere
#: (GPUs) the product stays: each solve is a kernel launch there.
TINY_PULLBACK_ENTRIES = 64


def _ct_times(c, g, m: int, dt):
    """``tril(c)^T @ g`` for lower triangular ``c`` (..., m, m)."""
    if math.prod(c.shape[:-2]) * m * m > TINY_PULLBACK_ENTRIES:
        return mT(jnp.tril(c)) @ g

    def solves(c, g):
        # (c^-1)^T x = g  <=>  x = c^T g
        eye = jnp.broadcast_to(jnp.eye(m, dtype=dt), c.shape)
        inv = lax_linalg.triangular_solve(c, eye, left_side=True, lower=True)
        return lax_linalg.triangular_solve(
            inv, g, left_side=True, lower=True, transpose_a=True
        )

    return jax.lax.platform_dependent(
        c, g, cpu=solves, default=lambda c, g: mT(jnp.tril(c)) @ g
    )


@register(CholeskyPullback)
def _funcify_cholesky_pullback(op: CholeskyPullback, node) -> Callable:
    dt = out_dtype(node)

    def run(c, g):
        c, g = broadcast_batch((jnp.asarray(c, dt), 2), (jnp.asarray(g, dt), 2))
        m = c.shape[-1]
        p = _ct_times(c, g, m, dt) * half_phi_mask(m, dt)
        # c^{-T} P, then (..) c^{-1} as a right-side solve: no transposes
        y = lax_linalg.triangular_solve(
            c, p, left_side=True, lower=True, transpose_a=True
        )
        s = lax_linalg.triangular_solve(c, y, left_side=False, lower=True)
        return s + mT(s)

    return run


@register(LUFactor)
def _funcify_lu_factor(op: LUFactor, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        lu, piv, _ = lax_linalg.lu(jnp.asarray(a, dt))
        return lu, piv.astype(jnp.int32)

    return run


@register(PermutationMatrix)
def _funcify_permutation_matrix(op: PermutationMatrix, node) -> Callable:
    dt = out_dtype(node)

    def run(piv):
        perm = permutation(piv)
        n = perm.shape[-1]
        return (perm[..., None, :] == jnp.arange(n)[:, None]).astype(dt)

    return run


@register(QR)
def _funcify_qr(op: QR, node) -> Callable:
    dt = out_dtype(node)

    def run(a):
        if op.mode != "complete":
            check_tall(a, op.wide, "qr")
        return jnp.linalg.qr(jnp.asarray(a, dt), mode=op.mode)

    if op.mode == "r":
        return run
    return lambda a: tuple(run(a))
