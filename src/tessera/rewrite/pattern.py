"""A pattern form for algebraic identities on elementwise expressions.

A pattern is a nested tuple ``(op_name, arg, ...)`` where ``op_name`` names
an entry of the elementwise table (:data:`tessera.ops.math.OPS`), an ``arg``
is a sub-pattern, a string (a pattern variable, bound to any expression) or
a number (matches a constant, or a tensor filled with a constant, whose
every element equals it; the rewrite applies only if the replacement has the
original's static shape, so a constant that broadcasts the result to a larger
shape is never dropped). ``add`` and ``mul`` also match
with their arguments swapped.

Examples
--------
>>> from tessera.rewrite.pattern import register_pattern
>>> _ = register_pattern(("neg", ("neg", "x")), "x", tags=["example_only"])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.elemwise import Elemwise
from tessera.ops.variable import TensorConstant
from tessera.rewrite.basic import REWRITES

COMMUTATIVE = {"add", "mul", "maximum", "minimum"}


def uniform_value(var: Variable) -> float | None:
    """The value of a constant (or a tensor filled with one, an Alloc) whose
    entries are all equal and finite, else None."""
    from tessera.ops.creation import Alloc

    if var.owner is not None and isinstance(var.owner.op, Alloc):
        var = var.owner.inputs[0]
    if not isinstance(var, TensorConstant) or var.data.size == 0:
        return None
    first = var.data.flat[0]
    if not np.isfinite(first) or not (var.data == first).all():
        return None
    return float(first)


def _match_const(var: Variable, value: float) -> bool:
    # Whether the match broadcasts the result to a larger shape is checked
    # on the replacement.
    return uniform_value(var) == value


def match(pattern, var: Variable, env: dict) -> dict | None:
    """Bind ``pattern`` against ``var``; returns the bindings or None."""
    if isinstance(pattern, str):
        bound = env.get(pattern)
        if bound is None:
            return {**env, pattern: var}
        return env if bound is var else None
    if isinstance(pattern, int | float):
        return env if _match_const(var, pattern) else None
    name, *args = pattern
    node = var.owner
    if node is None or not isinstance(node.op, Elemwise):
        return None
    if node.op.scalar_fn.name != name or len(node.inputs) != len(args):
        return None
    orders = [node.inputs]
    if name in COMMUTATIVE:
        orders.append(list(reversed(node.inputs)))
    for inputs in orders:
        e = env
        for p, v in zip(args, inputs):
            e = match(p, v, e)
            if e is None:
                break
        else:
            return e
    return None


def build(pattern, env: dict):
    """Build the graph of ``pattern`` with the variables bound in ``env``."""
    from tessera.ops.math import OPS

    if isinstance(pattern, str):
        return env[pattern]
    if isinstance(pattern, int | float):
        return pattern
    name, *args = pattern
    if callable(name):
        return name(*[build(a, env) for a in args])
    return OPS[name](*[build(a, env) for a in args])


class PatternRewriter:
    """Replace expressions matching ``in_pattern`` by ``out_pattern``.

    The replacement must keep the dtype and the number of dims of the
    original; otherwise the rewrite does not apply.
    """

    def __init__(self, in_pattern, out_pattern, name: str | None = None):
        self.in_pattern = in_pattern
        self.out_pattern = out_pattern
        # the scalar function at the root: the driver runs this rewriter only
        # on nodes of that function
        self.root = in_pattern[0] if isinstance(in_pattern, tuple) else None
        self.__name__ = name or f"{in_pattern} -> {out_pattern}"

    def __call__(self, fg, node):
        out = node.outputs[0]
        env = match(self.in_pattern, out, {})
        if env is None:
            return None
        new = build(self.out_pattern, env)
        if not isinstance(new, Variable):
            from tessera.ops.creation import full_like

            new = full_like(out, new)
        if new.dtype != out.dtype or new.ndim != out.ndim:
            return None
        if any(
            a is not None and a != b for a, b in zip(out.type.shape, new.type.shape)
        ):
            return None
        return [new]


def register_pattern(
    in_pattern, out_pattern, tags: Iterable[str] = ("canonicalize",), name=None
) -> PatternRewriter:
    """Register an identity ``in_pattern -> out_pattern`` under ``tags``."""
    rewriter = PatternRewriter(in_pattern, out_pattern, name)
    REWRITES.register_node(rewriter, [Elemwise], tags)
    return rewriter
