"""Numerically stable forms of common expressions.

Each rewrite turns an expression that overflows, underflows or cancels
into an equivalent one computed accurately (log(1+x) -> log1p(x), ...).
"""

from __future__ import annotations

from tessera.ops.elemwise import Elemwise
from tessera.ops.reduction import LogSumExp, Reduce
from tessera.rewrite.basic import node_rewriter
from tessera.rewrite.pattern import register_pattern

S = ["stabilize"]
register_pattern(("log", ("add", 1, "x")), ("log1p", "x"), S)
register_pattern(("log", ("sub", 1, "x")), ("log1p", ("neg", "x")), S)
register_pattern(("sub", ("exp", "x"), 1), ("expm1", "x"), S)
register_pattern(("log", ("sigmoid", "x")), ("log_sigmoid", "x"), S)
register_pattern(
    ("log", ("sub", 1, ("sigmoid", "x"))), ("log_sigmoid", ("neg", "x")), S
)
register_pattern(("log1p", ("neg", ("sigmoid", "x"))), ("log_sigmoid", ("neg", "x")), S)
register_pattern(("log", ("add", 1, ("exp", "x"))), ("softplus", "x"), S)
register_pattern(("log1p", ("exp", "x")), ("softplus", "x"), S)
register_pattern(("sqrt", ("pow", "x", 2)), ("abs", "x"), S)
register_pattern(("sqrt", ("square", "x")), ("abs", "x"), S)
register_pattern(("sqrt", ("mul", "x", "x")), ("abs", "x"), S)


def _is(var, name):
    node = var.owner
    return (
        node is not None
        and isinstance(node.op, Elemwise)
        and node.op.scalar_fn.name == name
    )


def _sum_of_exp(var):
    """(x, op) if ``var`` is sum(exp(x), axis), else None."""
    node = var.owner
    if node is None or not isinstance(node.op, Reduce) or node.op.kind != "sum":
        return None
    if node.op.dtype is not None or not _is(node.inputs[0], "exp"):
        return None
    return node.inputs[0].owner.inputs[0], node.op


@node_rewriter([Elemwise], tags=S)
def log_sum_exp(fg, node):
    """log(sum(exp(x), axis)) -> logsumexp(x, axis)."""
    if node.op.scalar_fn.name != "log":
        return None
    found = _sum_of_exp(node.inputs[0])
    if found is None:
        return None
    x, red = found
    out = LogSumExp(red.axis, red.keepdims)(x)
    return [out] if out.dtype == node.outputs[0].dtype else None


@node_rewriter([Elemwise], tags=S)
def log_softmax(fg, node):
    """log(exp(x) / sum(exp(x), axis, keepdims=True)) -> x - logsumexp(x, axis)."""
    if node.op.scalar_fn.name != "log" or not _is(node.inputs[0], "true_div"):
        return None
    num, den = node.inputs[0].owner.inputs
    if not _is(num, "exp"):
        return None
    found = _sum_of_exp(den)
    if found is None:
        return None
    x, red = found
    if x is not num.owner.inputs[0] or not red.keepdims:
        return None
    out = x - LogSumExp(red.axis, True)(x)
    ok = out.dtype == node.outputs[0].dtype and out.ndim == node.outputs[0].ndim
    return [out] if ok else None
