"""Canonical forms: remove no-op arithmetic and collapse chains of shape ops."""

from __future__ import annotations

from tessera.ops.elemwise import Elemwise
from tessera.ops.reduction import Reduce
from tessera.ops.shape import (
    BroadcastTo,
    ExpandDims,
    Reshape,
    Squeeze,
    Transpose,
)
from tessera.rewrite.basic import node_rewriter
from tessera.rewrite.pattern import register_pattern

# --- arithmetic identities ------------------------------------------------
register_pattern(("mul", "x", 1), "x")
register_pattern(("add", "x", 0), "x")
register_pattern(("sub", "x", 0), "x")
register_pattern(("true_div", "x", 1), "x")
register_pattern(("pow", "x", 1), "x")
register_pattern(("neg", ("neg", "x")), "x")
register_pattern(("exp", ("log", "x")), "x")
register_pattern(("log", ("exp", "x")), "x")
# (g / d) * d: how the gradient of log(f(x)) meets f's own pullback
register_pattern(("mul", ("true_div", "a", "b"), "b"), "a")
# the gradient of x * x (or of any input used twice) adds a cotangent to itself
register_pattern(("add", "x", "x"), ("mul", "x", 2))


def _constant_factor(node):
    """``(constant, other)`` of a two-input mul with one constant input."""
    from tessera.ops.variable import TensorConstant

    if len(node.inputs) != 2:
        return None
    a, b = node.inputs
    if isinstance(a, TensorConstant):
        return a, b
    if isinstance(b, TensorConstant):
        return b, a
    return None


@node_rewriter([Elemwise], tags=["canonicalize"])
def mul_of_constant_mul(fg, node):
    """c1 * (c2 * x) -> (c1 * c2) * x, the constants folded into one."""
    from tessera.ops.math import mul

    if node.op.scalar_fn.name != "mul":
        return None
    outer = _constant_factor(node)
    if outer is None or outer[1].owner is None:
        return None
    inner_node = outer[1].owner
    if not isinstance(inner_node.op, Elemwise) or inner_node.op.scalar_fn.name != "mul":
        return None
    inner = _constant_factor(inner_node)
    if inner is None:
        return None
    out = node.outputs[0]
    new = mul(outer[0].data * inner[0].data, inner[1])
    if new.dtype != out.dtype or new.type.shape != out.type.shape:
        return None
    return [new]


@node_rewriter([Elemwise], tags=["canonicalize"])
def x_minus_x(fg, node):
    """x - x -> zeros shaped like x."""
    if node.op.scalar_fn.name != "sub" or node.inputs[0] is not node.inputs[1]:
        return None
    from tessera.ops.creation import zeros_like

    out = node.outputs[0]
    return [zeros_like(node.inputs[0], dtype=out.dtype)]


# --- shape ops ------------------------------------------------------------


@node_rewriter([Transpose], tags=["canonicalize"])
def transpose_of_transpose(fg, node):
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Transpose):
        return None
    axes = tuple(inner.op.axes[a] for a in node.op.axes)
    x = inner.inputs[0]
    return [x if axes == tuple(range(x.ndim)) else Transpose(axes)(x)]


@node_rewriter([Reshape], tags=["canonicalize"])
def reshape_of_reshape(fg, node):
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Reshape):
        return None
    return [Reshape()(inner.inputs[0], node.inputs[1])]


@node_rewriter([Reshape, BroadcastTo], tags=["canonicalize"])
def noop_shape_change(fg, node):
    """A reshape or broadcast_to whose output has the input's static shape."""
    x, out = node.inputs[0], node.outputs[0]
    if None in x.type.shape or x.type.shape != out.type.shape:
        return None
    return [x]


@node_rewriter([ExpandDims], tags=["canonicalize"])
def expand_dims_of_expand_dims(fg, node):
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, ExpandDims):
        return None
    # positions of the inner new axes in the final output
    outer = set(node.op.axes)
    kept = [k for k in range(node.outputs[0].ndim) if k not in outer]
    inner_axes = {kept[a] for a in inner.op.axes}
    return [ExpandDims(tuple(sorted(outer | inner_axes)))(inner.inputs[0])]


@node_rewriter([Squeeze], tags=["canonicalize"])
def squeeze_of_expand_dims(fg, node):
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, ExpandDims):
        return None
    if node.op.axes == inner.op.axes:
        return [inner.inputs[0]]
    return None


@node_rewriter([Reduce], tags=["canonicalize"])
def sum_of_sum(fg, node):
    """sum(sum(x, a), b) -> sum(x, a ∪ b) (likewise prod/max/min/all/any)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Reduce):
        return None
    a, b = inner.op, node.op
    if a.kind != b.kind or a.keepdims != b.keepdims or a.dtype != b.dtype:
        return None
    x = inner.inputs[0]
    if a.keepdims:
        axes = set(a.axis) | set(b.axis)
    else:
        kept = [k for k in range(x.ndim) if k not in a.axis]
        axes = set(a.axis) | {kept[k] for k in b.axis}
    return [Reduce(a.kind, tuple(sorted(axes)), a.keepdims, a.dtype)(x)]


@node_rewriter([Reduce], tags=["canonicalize"])
def reduce_over_length_one_axes(fg, node):
    """A reduction whose axes all have static length 1 (and which keeps the
    dtype) is a squeeze: the sum of a (1,) array is its element."""
    x, out = node.inputs[0], node.outputs[0]
    if out.dtype != x.dtype or any(x.type.shape[a] != 1 for a in node.op.axis):
        return None
    if node.op.keepdims or not node.op.axis:
        return [x]
    return [Squeeze(node.op.axis)(x)]


@node_rewriter([Squeeze], tags=["canonicalize"])
def squeeze_of_kept_reduction(fg, node):
    """squeeze(reduce(x, a, keepdims=True), a) -> reduce(x, a)."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Reduce) or not inner.op.keepdims:
        return None
    if node.op.axes != inner.op.axis or len(fg.clients.get(node.inputs[0], [])) > 1:
        return None
    op = inner.op
    return [Reduce(op.kind, op.axis, False, op.dtype)(inner.inputs[0])]


@node_rewriter([Elemwise], tags=["canonicalize"])
def elemwise_before_broadcast(fg, node):
    """f(broadcast_to(x, s)) -> broadcast_to(f(x), s) for a unary f (or one
    whose other inputs are scalars): f runs on the small tensor, and a
    Blockwise consuming the result can then skip the broadcast entirely."""
    from tessera.ops.shape import broadcast_to

    big = [i for i in node.inputs if i.ndim > 0]
    if len(big) != 1 or big[0].owner is None:
        return None
    b = big[0].owner
    if not isinstance(b.op, BroadcastTo):
        return None
    x = b.inputs[0]
    out = node.outputs[0]
    inner = node.op.make_node(*[x if i is big[0] else i for i in node.inputs]).outputs[
        0
    ]
    if inner.dtype != out.dtype:
        return None
    return [broadcast_to(inner, b.inputs[1])]
