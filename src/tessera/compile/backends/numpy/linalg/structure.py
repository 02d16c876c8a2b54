"""Diagonals as strided views of the flattened matrices."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import default_funcify, numpy_funcify
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag
from tessera.ops.static import get_static_value


def _flat_diagonal(offset: int, n: int, k: int) -> slice:
    """The ``k`` entries of diagonal ``offset`` in a flattened (m, n) matrix:
    every (n + 1)-th entry from its first."""
    start = offset if offset >= 0 else -offset * n
    return slice(start, start + (k - 1) * (n + 1) + 1, n + 1)


@numpy_funcify.register(AllocDiag)
def _funcify_alloc_diag(op: AllocDiag, node) -> Callable:
    perform = default_funcify(op, node)
    sizes = [get_static_value(v) for v in node.inputs[1:]]
    if any(s is None for s in sizes):
        return perform
    m, n = (int(s) for s in sizes)
    off = op.offset
    k = max(0, min(m if off >= 0 else m + off, n - off if off >= 0 else n))
    diag = _flat_diagonal(off, n, k)
    dtype = node.outputs[0].type.numpy_dtype

    def run(v, rows, cols):
        lead = v.shape[:-1]
        if v.shape[-1] != k or not k:
            return perform(v, rows, cols)  # its error, or an empty diagonal
        flat = np.zeros(lead + (m * n,), dtype)
        flat[..., diag] = v
        return flat.reshape(lead + (m, n))

    return run


@numpy_funcify.register(ExtractDiag)
def _funcify_extract_diag(op: ExtractDiag, node) -> Callable:
    perform = default_funcify(op, node)
    x = node.inputs[0]
    m, n = x.type.shape[-2:]
    k = node.outputs[0].type.shape[-1]
    if m is None or n is None or k is None or not k:
        return perform
    off = op.offset
    # a strided view: a third of the cost of np.diagonal and its copy
    diag = _flat_diagonal(off, n, k)
    nd = x.ndim

    def run(x):
        if x.ndim != nd or not x.flags.c_contiguous:
            return perform(x)
        return x.reshape(x.shape[:-2] + (m * n,))[..., diag]

    return run
