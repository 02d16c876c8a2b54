"""How a linalg op gets its NumPy callable: a general kernel, maybe specialized.

Each linalg core op of the NumPy backend registers two things, in the
module mirroring its op module:

- :func:`linalg_kernel`: its kernel for any leading batch dims, which
  ``numpy_funcify`` uses for the core op's nodes and for Blockwise nodes
  wrapping it (one call per evaluation; size crossovers, where the sizes
  are only known at run time, in :mod:`..tuning`);
- optionally :func:`linalg_funcify`: a callable specialized on what the
  graph says at compile time (one matrix of known size and dtype, a factor
  computed by a Cholesky, ...), which hands anything unusual (a failed
  factorization, a zero on a diagonal) to the general kernel, so that it
  raises or fills NaN exactly as that would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import singledispatch

import numpy as np

from tessera.compile.backends.numpy.blockwise import batched_kernel
from tessera.graph.basic import Apply
from tessera.graph.op import Op

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@singledispatch
def linalg_kernel(core_op: Op, node: Apply) -> Callable:
    """The NumPy kernel of ``node`` (core op ``core_op``) for any batch dims.

    Examples
    --------
    >>> import tessera as ts
    >>> node = ts.linalg.cholesky(ts.tensor("a", shape=(None, 2, 2))).owner
    >>> linalg_kernel(node.op.core_op, node)(np.stack([4.0 * np.eye(2)]))[0]
    array([[2., 0.],
           [0., 2.]])
    """
    raise TypeError(f"no NumPy linalg kernel for {core_op}")


@singledispatch
def linalg_funcify(core_op: Op, node: Apply, general: Callable) -> Callable | None:
    """A callable for ``node`` specialized at compile time, or None.

    ``general`` is the node's general kernel, called for anything the
    specialization does not handle.

    Examples
    --------
    >>> import tessera as ts
    >>> one = ts.linalg.cholesky(ts.tensor("a", shape=(2, 2))).owner
    >>> linalg_funcify(one.op, one, None) is not None
    True
    >>> many = ts.linalg.cholesky(ts.tensor("a", shape=(None, 2, 2))).owner
    >>> linalg_funcify(many.op.core_op, many, None) is None
    True
    """
    return None


def _funcify(op: Op, node: Apply) -> Callable:
    general = linalg_kernel(op, node)
    fast = linalg_funcify(op, node, general)
    return general if fast is None else fast


def register_kernel(*op_types: type) -> Callable:
    """Register the decorated ``kernel(core_op, node)`` as :func:`linalg_kernel`
    for ``op_types``, and make ``numpy_funcify`` use it (with any
    :func:`linalg_funcify` specialization) for their nodes, batched or not.
    """

    def decorate(kernel: Callable) -> Callable:
        for t in op_types:
            linalg_kernel.register(t)(kernel)
            batched_kernel(t)(_funcify)
        return kernel

    return decorate


def single_matrix_shapes(node: Apply, core_ndims) -> list[tuple] | None:
    """The core shapes of ``node``'s inputs when it works on one matrix.

    ``core_ndims`` gives the number of core dims of each input. None when a
    size is unknown, a batch dim is not 1, or an input's dtype differs from
    the (float) output dtype.

    Examples
    --------
    >>> import tessera as ts
    >>> node = ts.linalg.cholesky(ts.tensor("a", shape=(1, 3, 3))).owner
    >>> single_matrix_shapes(node, [2])
    [(3, 3)]
    """
    dtype = node.outputs[0].type.numpy_dtype
    if dtype not in FLOATS or any(None in o.type.shape for o in node.outputs):
        return None
    cores = []
    for var, nd in zip(node.inputs, core_ndims):
        shape = var.type.shape
        if None in shape or var.type.numpy_dtype != dtype:
            return None
        if math.prod(shape[: len(shape) - nd]) != 1:
            return None
        cores.append(shape[len(shape) - nd :])
    return cores


def cast(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``value`` in the node's output ``dtype`` (as the ops' ``store`` does)."""
    return value if value.dtype == dtype else value.astype(dtype)
