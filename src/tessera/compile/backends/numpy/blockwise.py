"""Blockwise nodes: the core op's batched NumPy kernel, called directly.

A core op whose NumPy kernel handles any leading batch dims registers it
with :func:`batched_kernel`; a Blockwise node wrapping that op then calls
it straight away. Other core ops run their ``perform_batched`` (without
Blockwise's own ``perform`` in between), and core ops with no batched
kernel at all the per-element loop of ``Blockwise.perform``.
"""

from __future__ import annotations

from collections.abc import Callable

from tessera.compile.backends.numpy.dispatch import default_funcify, numpy_funcify
from tessera.ops.blockwise import Blockwise

# numpy_funcify implementations that handle any leading batch dims
_BATCHED: set[Callable] = set()


def batched_kernel(*op_types: type) -> Callable:
    """Register the decorated ``funcify(op, node)`` with ``numpy_funcify``
    for ``op_types``, as a kernel that handles any leading batch dims, so
    that Blockwise nodes over those ops use it too.

    Examples
    --------
    >>> from tessera.ops.linalg.decomposition import Cholesky
    >>> numpy_funcify.dispatch(Cholesky) in _BATCHED
    True
    """

    def decorate(funcify: Callable) -> Callable:
        for t in op_types:
            numpy_funcify.register(t)(funcify)
        _BATCHED.add(funcify)
        return funcify

    return decorate


def _perform_batched(op: Blockwise, node, kernel) -> Callable:
    if len(node.outputs) == 1:

        def run_one(*args):
            storage = [[None]]
            kernel(node, args, storage)
            return storage[0][0]

        return run_one
    n_out = len(node.outputs)

    def run_many(*args):
        storage = [[None] for _ in range(n_out)]
        kernel(node, args, storage)
        return tuple(s[0] for s in storage)

    return run_many


@numpy_funcify.register(Blockwise)
def _funcify_blockwise(op: Blockwise, node) -> Callable:
    core_funcify = numpy_funcify.dispatch(type(op.core_op))
    if core_funcify in _BATCHED:
        return core_funcify(op.core_op, node)
    kernel = getattr(op.core_op, "perform_batched", None)
    if kernel is None:  # the per-element loop of user-defined core ops
        return default_funcify(op, node)
    return _perform_batched(op, node, kernel)


__all__ = ["batched_kernel"]
