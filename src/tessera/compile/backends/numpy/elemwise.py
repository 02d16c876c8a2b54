"""Elementwise ops: their NumPy ufunc itself, or the scalar function cast.

On 0-d floats, ``+ - * /`` and negation are written as Python operators
(:func:`numpy_inline`): on NumPy scalars an operator runs NumPy's scalar
math (~0.04 us), a ufunc call its array machinery (~0.5 us), for the same
bits and dtype (NEP 50 promotion is the same for both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy.dispatch import (
    Inline,
    numpy_funcify,
    numpy_inline,
)
from tessera.graph.basic import Variable
from tessera.ops.elemwise import Elemwise
from tessera.ops.matvec import MatVec, VecMat
from tessera.ops.products import MatMul
from tessera.ops.reduction import Reduce
from tessera.ops.shape import ExpandDims, Squeeze, Transpose
from tessera.ops.subtensor import Subtensor

# scalar functions written as operators on 0-d floats
_OPERATORS = {
    "add": "{0} + {1}",
    "sub": "{0} - {1}",
    "mul": "{0} * {1}",
    "true_div": "{0} / {1}",
    "neg": "-{0}",
}
# ops whose NumPy kernels return NumPy arrays or scalars, never Python ones
_NUMPY_VALUED = (
    Elemwise,
    Reduce,
    Subtensor,
    MatMul,
    MatVec,
    VecMat,
    ExpandDims,
    Squeeze,
    Transpose,
)


def numpy_valued(var: Variable) -> bool:
    """Whether ``var``'s value in a generated function is surely a NumPy
    array or scalar: an input (checked, or of its type by construction), a
    constant, a shared value, or the result of a NumPy kernel.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.scalar("x")
    >>> numpy_valued(x), numpy_valued(ts.exp(x))
    (True, True)
    """
    return var.owner is None or isinstance(var.owner.op, _NUMPY_VALUED)


def _plain_float(var: Variable) -> bool:
    dt = var.type.numpy_dtype
    return dt.kind == "f" and dt.itemsize <= 8


@numpy_funcify.register(Elemwise)
def _funcify_elemwise(op: Elemwise, node) -> Callable:
    impl = op.scalar_fn.impl
    if isinstance(impl, np.ufunc):
        # the linker passes out= to ufuncs to reuse buffers
        return impl
    out_dtype = node.outputs[0].type.numpy_dtype

    def run(*args):
        return np.asarray(impl(*args), dtype=out_dtype)

    return run


@numpy_inline.register(Elemwise)
def _inline_elemwise(op: Elemwise, node) -> Inline | None:
    """``a + b`` for ``+ - * /`` and negation, else ``None``.

    On arrays an operator is the ufunc itself (one call less). On 0-d
    values NumPy's scalar math runs when both are scalars: the same bits
    as the ufunc for floats of 16 to 64 bits, while integer scalar math
    warns on overflow where the ufunc wraps silently, so 0-d integer and
    boolean nodes keep the ufunc. One operand at least must be NumPy's
    (two Python floats would give a Python float).
    """
    template = _OPERATORS.get(op.scalar_fn.name)
    if (
        template is None
        or node.outputs[0].ndim == 0
        and not all(_plain_float(v) for v in (*node.inputs, *node.outputs))
        or not any(numpy_valued(v) for v in node.inputs)
    ):
        return None
    return Inline(template)
