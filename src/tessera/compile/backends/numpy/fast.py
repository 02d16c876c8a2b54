"""Direct NumPy callables for the ops that dominate small graphs.

The default :func:`~tessera.compile.backends.numpy.dispatch.numpy_funcify`
goes through ``Op.perform`` and its output storage: a few microseconds per
node, which is most of the run time of a graph on 8x8 matrices (the
MvNormal log-density and gradient has about 25 nodes). The callables here
compute exactly what ``perform`` computes, calling NumPy directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.fast_linalg import linalg_funcify
from tessera.graph.op import Op
from tessera.ops.blockwise import Blockwise
from tessera.ops.linalg.decomposition import Cholesky, CholeskyPullback
from tessera.ops.linalg.solve import SolveTriangular
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag
from tessera.ops.reduction import Reduce
from tessera.ops.shape import ExpandDims, Squeeze, Transpose
from tessera.ops.static import get_static_value

# np.sum, np.prod, np.max and np.min are these reductions (after argument
# handling we do not need: the inputs are arrays or NumPy scalars)
_REDUCE_UFUNCS = {
    "sum": np.add,
    "prod": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
}


def _default(op: Op, node) -> Callable:
    return numpy_funcify.dispatch(Op)(op, node)


@numpy_funcify.register(Reduce)
def _funcify_reduce(op: Reduce, node) -> Callable:
    ufunc = _REDUCE_UFUNCS.get(op.kind)
    if ufunc is None:
        return _default(op, node)
    reduce = ufunc.reduce
    axis, keepdims = op.axis, op.keepdims
    if op.dtype and op.kind in ("sum", "prod"):
        dtype = np.dtype(op.dtype)

        def run_dtype(x):
            return reduce(x, axis=axis, keepdims=keepdims, dtype=dtype)

        return run_dtype

    def run(x):
        return reduce(x, axis=axis, keepdims=keepdims)

    return run


@numpy_funcify.register(ExpandDims)
def _funcify_expand_dims(op: ExpandDims, node) -> Callable:
    out_ndim = node.outputs[0].ndim
    axes = {a % out_ndim for a in op.axes}
    # x[:, None, :] is a view, like np.expand_dims, at a tenth of the cost
    index = tuple(None if d in axes else slice(None) for d in range(out_ndim))

    def run(x):
        return np.asarray(x)[index]

    return run


@numpy_funcify.register(Squeeze)
def _funcify_squeeze(op: Squeeze, node) -> Callable:
    shape = node.outputs[0].type.shape
    if None in shape:
        return _default(op, node)
    perform = _default(op, node)
    size = math.prod(shape)
    nd = node.inputs[0].ndim

    def run(x):
        # a reshape to the known shape: the same view as np.squeeze, at half
        # the cost; the general path reports a dim that is not 1
        if x.size != size or x.ndim != nd:
            return perform(x)
        return x.reshape(shape)

    return run


@numpy_funcify.register(Transpose)
def _funcify_transpose(op: Transpose, node) -> Callable:
    axes = op.axes

    def run(x):
        if x.__class__ is np.ndarray:
            return x.transpose(axes)
        return np.transpose(x, axes)

    return run


@numpy_funcify.register(Blockwise)
def _funcify_blockwise(op: Blockwise, node) -> Callable:
    kernel = getattr(op.core_op, "perform_batched", None)
    if kernel is None:  # the per-element loop of user-defined core ops
        return _default(op, node)
    if len(node.outputs) == 1:

        def run_one(*args):
            storage = [[None]]
            kernel(node, args, storage)
            return storage[0][0]

        fast = linalg_funcify(op.core_op, node, run_one)
        return run_one if fast is None else fast
    n_out = len(node.outputs)

    def run_many(*args):
        storage = [[None] for _ in range(n_out)]
        kernel(node, args, storage)
        return tuple(s[0] for s in storage)

    return run_many


@numpy_funcify.register(Cholesky)
@numpy_funcify.register(SolveTriangular)
@numpy_funcify.register(CholeskyPullback)
def _funcify_single_matrix(op: Op, node) -> Callable:
    # the core ops themselves (an unbatched graph)
    general = _default(op, node)
    fast = linalg_funcify(op, node, general)
    return general if fast is None else fast


def _flat_diagonal(offset: int, n: int, k: int) -> slice:
    """The ``k`` entries of diagonal ``offset`` in a flattened (m, n) matrix:
    every (n + 1)-th entry from its first."""
    start = offset if offset >= 0 else -offset * n
    return slice(start, start + (k - 1) * (n + 1) + 1, n + 1)


@numpy_funcify.register(AllocDiag)
def _funcify_alloc_diag(op: AllocDiag, node) -> Callable:
    perform = _default(op, node)
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
    perform = _default(op, node)
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
