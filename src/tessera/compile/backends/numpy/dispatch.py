"""``numpy_funcify``: turn an Apply node into a plain Python callable.

The default calls the op's ``perform`` (its reference implementation);
ops whose NumPy kernel can be called directly, or that have faster
kernels, register a specialization in the module of this package that
mirrors the op's module (``elemwise.py``, ``shape.py``,
``linalg/decomposition.py``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

from tessera.graph.op import Op


@singledispatch
def numpy_funcify(op: Op, node) -> Callable:
    """Return ``f(*input_values) -> output value (or tuple of values)``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> node = ts.exp(ts.vector("x")).owner
    >>> numpy_funcify(node.op, node)(np.zeros(2))
    array([1., 1.])
    """
    return default_funcify(op, node)


def default_funcify(op: Op, node) -> Callable:
    """The callable that runs ``op.perform`` (what no specialization replaces).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> node = ts.exp(ts.vector("x")).owner
    >>> default_funcify(node.op, node)(np.zeros(1))
    array([1.])
    """
    perform = op.perform
    n_out = len(node.outputs)
    if n_out == 1:

        def run_one(*args):
            storage = [[None]]
            perform(node, args, storage)
            return storage[0][0]

        return run_one

    def run_many(*args):
        storage = [[None] for _ in range(n_out)]
        perform(node, args, storage)
        return tuple(s[0] for s in storage)

    return run_many
