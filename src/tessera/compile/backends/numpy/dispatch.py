"""``numpy_funcify``: turn an Apply node into a plain Python callable.

The default calls the op's ``perform`` (its reference implementation);
ops whose NumPy kernel can be called directly, or that have faster
kernels, register a specialization in the module of this package that
mirrors the op's module (``elemwise.py``, ``shape.py``,
``linalg/decomposition.py``, ...).

``numpy_inline`` is the cheaper form for nodes that are one Python
expression (``x[1:3]``, ``y * c`` on NumPy scalars): the linker writes the
expression into the generated source instead of a call, which saves the
call of a wrapper (~0.1 us) or, for arithmetic on NumPy scalars, the
ufunc machinery (~0.4 us of a 0.04 us operation).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch
from typing import NamedTuple

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


class Inline(NamedTuple):
    """A node written as a Python expression in the generated source.

    ``template`` names the node's inputs ``{0}``, ``{1}``, ... and, where
    it calls something, ``{f}`` (bound to ``fn`` in the function's
    namespace). 0-d constant inputs of an inlined node are passed as NumPy
    scalars of their dtype (which NumPy computes with like 0-d arrays,
    dtypes included, and faster).
    """

    template: str
    fn: object = None


@singledispatch
def numpy_inline(op: Op, node) -> Inline | None:
    """The node as an expression for the generated source, or ``None``
    (the default: the linker calls ``numpy_funcify``'s callable).

    The expression must compute what the callable would, bit for bit and
    of the same dtype and shape, from the same input values; it may return
    a NumPy scalar where the callable returns a 0-d array.

    Examples
    --------
    >>> import tessera as ts
    >>> y = ts.vector("x")[1:3]
    >>> numpy_inline(y.owner.op, y.owner).template
    '{0}[1:3]'
    >>> numpy_inline(ts.exp(ts.vector("x")).owner.op, None) is None
    True
    """
    return None
