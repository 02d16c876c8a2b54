"""JAX lowerings of :mod:`tessera.ops.subtensor` (basic indexing).

Scalar indices may be traced values; slice bounds change the result's shape,
so they are static inputs. Writes use ``x.at[idx].set / .add``.

Unlike NumPy, JAX does not raise for out-of-bounds indices computed at run
time: reads clamp them to the last element and writes drop them. Every
traced integer index (scalar or array) is therefore bounds-checked with a
run-time check (:func:`~tessera.compile.backends.jax.dispatch.runtime_check`),
so the compiled function raises ``IndexError`` as NumPy would instead of
returning a clamped value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    jax_funcify,
    runtime_check,
    static_inputs,
)
from tessera.ops.indexing import Slice, Sym
from tessera.ops.subtensor import IncSubtensor, Subtensor


def _bound(v):
    return None if v is None else int(np.asarray(v))


def jax_index(idx_list: Sequence, values: Sequence) -> tuple:
    """The JAX index for ``idx_list`` with its symbolic entries from ``values``.

    Slice bounds become Python ints (they are static values); other entries
    (scalar indices, index arrays, masks) are passed through.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera.ops.indexing import SYM, Slice
    >>> jax_index((0, Slice(SYM, None, -1)), [np.int64(2)])
    (0, slice(2, None, -1))
    """
    it = iter(values)
    out = []
    for e in idx_list:
        if isinstance(e, Sym):
            out.append(next(it))
        elif isinstance(e, Slice):
            fields = [
                next(it) if isinstance(f, Sym) else f for f in (e.start, e.stop, e.step)
            ]
            out.append(slice(*(_bound(f) for f in fields)))
        else:
            out.append(e)
    return tuple(out)


def static_index_inputs(idx_list: Sequence, idx_inputs: Sequence, offset: int) -> list:
    """Node-input positions that must be static: slice bounds and boolean masks."""
    positions, j = [], 0
    for e in idx_list:
        if isinstance(e, Sym):
            v = idx_inputs[j]
            if v.ndim > 0 and v.dtype == "bool":
                positions.append(offset + j)
            j += 1
        elif isinstance(e, Slice):
            for f in (e.start, e.stop, e.step):
                if isinstance(f, Sym):
                    positions.append(offset + j)
                    j += 1
    return positions


def integer_index_axes(idx_list: Sequence, idx_inputs: Sequence, ndim: int) -> list:
    """``(j, axis)`` for each integer index input ``idx_inputs[j]`` (scalar or
    array, not a mask or a slice bound) and the axis of ``x`` it indexes.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.ops.indexing import SYM, Slice
    >>> i, n = ts.scalar("i", dtype="int64"), ts.scalar("n", dtype="int64")
    >>> integer_index_axes((Ellipsis, Slice(None, SYM), SYM), [n, i], 4)
    [(1, 3)]
    """
    used = 0
    it = iter(idx_inputs)
    for e in idx_list:
        if isinstance(e, Slice):
            used += 1
            for f in (e.start, e.stop, e.step):
                if isinstance(f, Sym):
                    next(it)
        elif isinstance(e, Sym):
            v = next(it)
            used += v.ndim if v.dtype == "bool" else 1
        elif e is not None and e is not Ellipsis:
            used += 1
    out, j, axis = [], 0, 0
    for e in idx_list:
        if isinstance(e, Slice):
            j += sum(isinstance(f, Sym) for f in (e.start, e.stop, e.step))
            axis += 1
        elif isinstance(e, Sym):
            v = idx_inputs[j]
            if v.dtype == "bool":
                axis += v.ndim
            else:
                out.append((j, axis))
                axis += 1
            j += 1
        elif e is Ellipsis:
            axis += ndim - used
        elif e is not None:
            axis += 1
    return out


def check_bounds(x, idx: Sequence, axes: Sequence) -> None:
    """Record a run-time check that every traced integer index is in bounds
    (the error gets the node's context: its op, inputs and creation site)."""
    import jax

    for j, axis in axes:
        v = idx[j]
        if not isinstance(v, jax.core.Tracer):
            continue  # a value known when tracing: NumPy's indexing checks it
        n = jnp.shape(x)[axis]
        runtime_check(
            jnp.all((v >= -n) & (v < n)),
            IndexError(f"an index is out of bounds for axis {axis} with size {n}"),
        )


@jax_funcify.register(Subtensor)
def _funcify_subtensor(op: Subtensor, node) -> Callable:
    idx_list = op.idx_list
    axes = integer_index_axes(idx_list, node.inputs[1:], node.inputs[0].ndim)

    def run(x, *idx):
        check_bounds(x, idx, axes)
        return jnp.asarray(x)[jax_index(idx_list, idx)]

    return static_inputs(run, *static_index_inputs(idx_list, node.inputs[1:], 1))


@jax_funcify.register(IncSubtensor)
def _funcify_inc_subtensor(op: IncSubtensor, node) -> Callable:
    idx_list = op.idx_list
    set_ = op.set_instead_of_inc
    axes = integer_index_axes(idx_list, node.inputs[2:], node.inputs[0].ndim)

    def run(x, y, *idx):
        check_bounds(x, idx, axes)
        ref = jnp.asarray(x).at[jax_index(idx_list, idx)]
        return ref.set(y) if set_ else ref.add(y)

    return static_inputs(run, *static_index_inputs(idx_list, node.inputs[2:], 2))
