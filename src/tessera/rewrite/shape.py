"""Shapes from ``infer_shape``: never compute a value just to read its shape.

``Shape(x)`` and ``ShapeI(x)`` where ``x`` is computed by an op are replaced by
the op's symbolic ``infer_shape``, recursively, so a gradient graph that only
needs the shape of an intermediate result does not compute that result.
Statically known dims become constants (and constant folding finishes the job).
"""

from __future__ import annotations

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.shape import MakeVector, Shape, ShapeI, shape_tuple
from tessera.ops.subtensor import Subtensor
from tessera.ops.type import TensorType
from tessera.rewrite.basic import node_rewriter


def _inferred_shape(x: Variable):
    node = x.owner
    if node is None:
        return None
    try:
        # non-tensor inputs (random generators, None) have no shape
        in_shapes = [
            shape_tuple(i) if isinstance(i.type, TensorType) else ()
            for i in node.inputs
        ]
        shapes = node.op.infer_shape(node, in_shapes)
    except NotImplementedError:
        return None
    entries = shapes[x.index]
    if len(entries) != x.ndim:
        raise AssertionError(
            f"{node.op}.infer_shape gave {len(entries)} dims for an output with {x.ndim}"
        )
    out = []
    for e, s in zip(entries, x.type.shape):
        if s is not None:
            out.append(s)
        elif isinstance(e, Variable):
            e = as_tensor(e)
            out.append(e if e.dtype == "int64" else e.astype("int64"))
        else:
            out.append(int(e))
    return out


@node_rewriter([Shape], tags=["canonicalize", "shape"])
def shape_from_infer_shape(fg, node):
    entries = _inferred_shape(node.inputs[0])
    if entries is None:
        return None
    return [MakeVector("int64")(*entries)] if entries else None


@node_rewriter([ShapeI], tags=["canonicalize", "shape"])
def shape_i_from_infer_shape(fg, node):
    x = node.inputs[0]
    static = x.type.shape[node.op.i]
    if static is not None:
        return [as_tensor(static, dtype="int64")]
    entries = _inferred_shape(x)
    if entries is None:
        return None
    return [as_tensor(entries[node.op.i], dtype="int64")]


@node_rewriter([Subtensor], tags=["canonicalize", "shape"])
def index_of_shape_vector(fg, node):
    """``make_vector(a, b, c)[1] -> b`` and ``shape(x)[1] -> shape_i(x, 1)``."""
    idx = node.op.idx_list
    if len(idx) != 1 or not isinstance(idx[0], int) or len(node.inputs) != 1:
        return None
    vec = node.inputs[0].owner
    if vec is None:
        return None
    if isinstance(vec.op, MakeVector):
        entry = vec.inputs[idx[0]]
        return [entry] if entry.dtype == node.outputs[0].dtype else None
    if isinstance(vec.op, Shape):
        return [ShapeI(idx[0] % vec.inputs[0].ndim)(vec.inputs[0])]
    return None
