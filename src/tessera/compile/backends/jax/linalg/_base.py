"""Helpers shared by the JAX lowerings of :mod:`tessera.ops.linalg`.

The registration decorator (a lowering serves the core op and its
``Blockwise``), batch broadcasting, the ``on_error`` policy and the small
LAPACK-level building blocks (factor, permutation) several modules use.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from numpy.linalg import LinAlgError

from tessera.compile.backends.jax.blockwise import jax_batched
from tessera.compile.backends.jax.dispatch import jax_funcify, runtime_check

lax_linalg = jax.lax.linalg


def register(*op_classes) -> Callable:
    """Register a batched lowering for the core ops and their Blockwise."""

    def deco(fn):
        for cls in op_classes:
            jax_funcify.register(cls)(fn)
            jax_batched.register(cls)(fn)
        return fn

    return deco


def mT(x):
    """Swap the last two axes (the matrix transpose of a batch)."""
    return jnp.swapaxes(x, -1, -2)


def broadcast_batch(*pairs):
    """Broadcast the batch dims of ``(array, core_ndim)`` pairs."""
    arrays = [jnp.asarray(a) for a, _ in pairs]
    batch = jnp.broadcast_shapes(
        *[a.shape[: a.ndim - nd] for a, (_, nd) in zip(arrays, pairs)]
    )
    return [
        jnp.broadcast_to(a, batch + a.shape[a.ndim - nd :])
        for a, (_, nd) in zip(arrays, pairs)
    ]


def failures(out, op: str, what: str, on_error: str, bad=None):
    """Apply ``on_error`` to the matrices of ``out`` (..., m, n) that are not
    finite, or to those flagged in ``bad`` (batch shape) when given."""
    if bad is None:
        bad = ~jnp.all(jnp.isfinite(out), axis=(-2, -1))
    if on_error == "raise":
        runtime_check(~bad, LinAlgError(f"{op}: a matrix of the batch is {what}"))
        return out
    return jnp.where(bad[..., None, None], jnp.nan, out)


def cholesky(a, lower: bool):
    """The Cholesky factor of ``a``, read from its ``lower`` triangle only."""
    # lax reads the lower triangle; the upper factor is the transposed lower
    # factor of the transposed matrix
    if lower:
        return lax_linalg.cholesky(a, symmetrize_input=False)
    return mT(lax_linalg.cholesky(mT(a), symmetrize_input=False))


def permutation(piv):
    """The row permutation of LAPACK pivots ``piv`` (..., n)."""
    return lax_linalg.lu_pivots_to_permutation(
        jnp.asarray(piv, jnp.int32), jnp.shape(piv)[-1]
    )


def check_tall(a, wide: bool, name: str) -> None:
    """Raise when a graph built for m >= n (shape unknown then) gets m < n."""
    m, n = jnp.shape(a)[-2:]
    if m < n and not wide:
        raise ValueError(
            f"{name}: the graph was built for matrices with m >= n (the shape was "
            f"unknown), got {m}x{n}; give the input a static shape"
        )


def out_dtype(node):
    """The NumPy dtype of the node's first output, which every kernel computes in."""
    return node.outputs[0].type.numpy_dtype
