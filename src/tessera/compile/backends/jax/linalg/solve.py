"""JAX lowerings of :mod:`tessera.ops.linalg.solve`: general, triangular,
Cholesky and LU solves, with a vector or matrix right-hand side."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.linalg._base import (
    broadcast_batch,
    cholesky,
    failures,
    lax_linalg,
    mT,
    out_dtype,
    permutation,
    register,
)
from tessera.ops.linalg.decomposition import is_cholesky_factor
from tessera.ops.linalg.solve import CholeskySolve, LUSolve, Solve, SolveTriangular


def _as_matrix_rhs(op, kernel: Callable) -> Callable:
    """Call ``kernel(..., b2)`` with ``b`` as a matrix, like ``_RHSOp._run``."""
    if op.b_ndim == 2:
        return kernel

    def run(*args):
        *mats, b = args
        return kernel(*mats, jnp.asarray(b)[..., None])[..., 0]

    return run


def _trsolve(a, b, lower: bool, trans: int = 0, unit: bool = False):
    a, b = broadcast_batch((a, 2), (b, 2))
    return lax_linalg.triangular_solve(
        a,
        b,
        left_side=True,
        lower=lower,
        transpose_a=bool(trans),
        unit_diagonal=unit,
    )


def _cho_solve(c, b, lower: bool):
    if lower:
        return _trsolve(c, _trsolve(c, b, True), True, trans=1)
    return _trsolve(c, _trsolve(c, b, False, trans=1), False)


def _symmetrize_from(a, lower: bool):
    t = jnp.tril(a) if lower else jnp.triu(a)
    strict = jnp.tril(a, -1) if lower else jnp.triu(a, 1)
    return t + mT(strict)


@register(Solve)
def _funcify_solve(op: Solve, node) -> Callable:
    dt = out_dtype(node)

    def kernel(a, b):
        a, b = jnp.asarray(a, dt), jnp.asarray(b, dt)
        if op.assume_a == "pos":
            c = failures(
                cholesky(a, op.lower), "solve", "not positive definite", op.on_error
            )
            return _cho_solve(c, b, op.lower)
        if op.assume_a == "sym":
            a = _symmetrize_from(a, op.lower)
        a, b = broadcast_batch((a, 2), (b, 2))
        return failures(jnp.linalg.solve(a, b), "solve", "singular", op.on_error)

    return _as_matrix_rhs(op, kernel)


@register(SolveTriangular)
def _funcify_solve_triangular(op: SolveTriangular, node) -> Callable:
    dt = out_dtype(node)

    # nothing to check on a unit diagonal, nor on a Cholesky factor's
    unchecked = op.unit_diagonal or is_cholesky_factor(node.inputs[0])

    def kernel(a, b):
        a = jnp.asarray(a, dt)
        x = _trsolve(a, jnp.asarray(b, dt), op.lower, op.trans, op.unit_diagonal)
        if unchecked:
            return x
        # singular means a zero on the diagonal, as in the NumPy kernel: a
        # check on the n diagonal entries, shared by every solve with `a`
        zero = jnp.any(jnp.diagonal(a, axis1=-2, axis2=-1) == 0, axis=-1)
        bad = jnp.broadcast_to(zero, x.shape[:-2])
        return failures(x, "solve_triangular", "singular", op.on_error, bad)

    return _as_matrix_rhs(op, kernel)


@register(CholeskySolve)
def _funcify_cho_solve(op: CholeskySolve, node) -> Callable:
    dt = out_dtype(node)

    def kernel(c, b):
        return _cho_solve(jnp.asarray(c, dt), jnp.asarray(b, dt), op.lower)

    return _as_matrix_rhs(op, kernel)


@register(LUSolve)
def _funcify_lu_solve(op: LUSolve, node) -> Callable:
    dt = out_dtype(node)

    def kernel(lu, piv, b):
        lu, b = jnp.asarray(lu, dt), jnp.asarray(b, dt)
        lu, piv, b = broadcast_batch((lu, 2), (piv, 1), (b, 2))
        perm = permutation(piv)
        if op.trans == 0:
            # a[perm] = L U
            bp = jnp.take_along_axis(b, perm[..., None], axis=-2)
            y = _trsolve(lu, bp, True, unit=True)
            return _trsolve(lu, y, False)
        z = _trsolve(lu, b, False, trans=1)
        w = _trsolve(lu, z, True, trans=1, unit=True)
        return jnp.take_along_axis(w, jnp.argsort(perm, axis=-1)[..., None], axis=-2)

    return _as_matrix_rhs(op, kernel)
