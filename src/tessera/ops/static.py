"""Reading values that are known at graph-build time."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Constant, Variable
from tessera.graph.evaluate import evaluate_constant_graph


def get_static_value(var: Variable):
    """The value of ``var`` if it is known without running the graph, else None.

    Knows constants, shapes of statically shaped variables, vectors
    assembled from known scalars, and graphs of constants only (evaluated
    with the ops' reference ``perform``).

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2, 3))
    >>> get_static_value(x.shape)
    array([2, 3])
    >>> get_static_value(ts.constant(2.0) > 1.0)
    array(True)
    >>> get_static_value(ts.scalar("y") > 1.0) is None
    True
    """
    if isinstance(var, Constant):
        return var.data
    node = var.owner
    if node is None:
        return None
    from tessera.ops.shape import MakeVector, Shape, ShapeI

    op = node.op
    if isinstance(op, Shape):
        shp = node.inputs[0].type.shape
        return None if None in shp else np.array(shp, dtype=np.int64)
    if isinstance(op, ShapeI):
        s = node.inputs[0].type.shape[op.i]
        return None if s is None else np.array(s, dtype=np.int64)
    if isinstance(op, MakeVector):
        vals = [get_static_value(i) for i in node.inputs]
        if any(v is None for v in vals):
            return None
        return np.array(vals, dtype=var.dtype)
    values = evaluate_constant_graph([var])
    return None if values is None else np.asarray(values[0])


def static_vector_entries(var: Variable) -> tuple:
    """Entries of a 1-d int vector, each an int or None when unknown.

    Examples
    --------
    >>> import tessera as ts
    >>> n = ts.scalar("n", dtype="int64")
    >>> static_vector_entries(ts.as_tensor([n, 3]))
    (None, 3)
    """
    val = get_static_value(var)
    if val is not None:
        return tuple(int(v) for v in np.asarray(val).ravel())
    node = var.owner
    from tessera.ops.shape import MakeVector, Shape

    if node is not None and isinstance(node.op, MakeVector):
        out = []
        for i in node.inputs:
            v = get_static_value(i)
            out.append(None if v is None else int(v))
        return tuple(out)
    if node is not None and isinstance(node.op, Shape):
        return tuple(node.inputs[0].type.shape)
    from tessera.ops.shape import Join

    if node is not None and isinstance(node.op, Join) and var.ndim == 1:
        return tuple(e for i in node.inputs for e in static_vector_entries(i))
    n = var.type.shape[0] if var.ndim == 1 else None
    if n is None:
        raise ValueError(f"the length of shape vector {var} must be known statically")
    return (None,) * n
