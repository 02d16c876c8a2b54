"""JAX lowerings of :mod:`tessera.ops.advanced_subtensor` (index arrays, masks).

Index arrays may be traced values. A boolean mask selects a number of
elements known only from its values, so masks are static inputs, with one
exception: writing a scalar through a single mask (``set_subtensor(x[m],
0.0)``) keeps the shape of ``x`` and lowers to ``jnp.where``.

Incrementing accumulates repeated indices (``.at[].add``, like
``np.add.at``). Setting with possibly repeated indices must let the last
write win, as NumPy does; JAX leaves the order of conflicting writes
unspecified, so the last writer of each element is found with a
deterministic scatter-max of the write positions first.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.dispatch import jax_funcify, static_inputs
from tessera.compile.backends.jax.subtensor import (
    check_bounds,
    integer_index_axes,
    jax_index,
    static_index_inputs,
)
from tessera.ops.advanced_subtensor import (
    AdvancedIncSubtensor,
    AdvancedSubtensor,
    may_repeat,
)
from tessera.ops.indexing import Sym


@jax_funcify.register(AdvancedSubtensor)
def _funcify_advanced_subtensor(op: AdvancedSubtensor, node) -> Callable:
    idx_list = op.idx_list
    axes = integer_index_axes(idx_list, node.inputs[1:], node.inputs[0].ndim)

    def run(x, *idx):
        check_bounds(x, idx, axes)
        return jnp.asarray(x)[jax_index(idx_list, idx)]

    return static_inputs(run, *static_index_inputs(idx_list, node.inputs[1:], 1))


def _last_write_wins(x, y, key):
    """``x`` with ``x[key] = y`` where the last of repeated writes wins."""
    region = jnp.shape(x[key])
    n = 1
    for s in region:
        n *= s
    pos = jnp.arange(n, dtype=jnp.int64).reshape(region)
    owner = jnp.full(jnp.shape(x), -1, dtype=jnp.int64).at[key].max(pos)
    values = jnp.broadcast_to(jnp.asarray(y, x.dtype), region).reshape(-1)
    written = values[jnp.maximum(owner, 0)]
    return jnp.where(owner >= 0, written, x)


def _single_mask_scalar(op, node) -> bool:
    x, y, *idx = node.inputs
    return (
        len(op.idx_list) == 1
        and isinstance(op.idx_list[0], Sym)
        and idx[0].dtype == "bool"
        and idx[0].ndim > 0
        and y.ndim == 0
    )


@jax_funcify.register(AdvancedIncSubtensor)
def _funcify_advanced_inc_subtensor(op: AdvancedIncSubtensor, node) -> Callable:
    idx_list = op.idx_list
    set_ = op.set_instead_of_inc
    x_var, _, *idx_vars = node.inputs
    if _single_mask_scalar(op, node):
        extra = x_var.ndim - idx_vars[0].ndim

        def masked(x, y, mask):
            m = jnp.reshape(mask, jnp.shape(mask) + (1,) * extra)
            return jnp.where(m, y if set_ else x + y, x)

        return masked
    repeats = set_ and may_repeat(idx_list, idx_vars, x_var)
    axes = integer_index_axes(idx_list, idx_vars, x_var.ndim)

    def run(x, y, *idx):
        check_bounds(x, idx, axes)
        x = jnp.asarray(x)
        key = jax_index(idx_list, idx)
        if repeats:
            return _last_write_wins(x, y, key)
        ref = x.at[key]
        return ref.set(y) if set_ else ref.add(y)

    return static_inputs(run, *static_index_inputs(idx_list, node.inputs[2:], 2))
