"""Evaluating nodes and constant graphs with the ops' reference ``perform``.

Used where a value is needed at graph-build or compile time, without a
backend: constant folding, and reading values known statically
(:func:`tessera.ops.static.get_static_value`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Apply, Constant, Variable
from tessera.graph.traversal import toposort


def perform_node(node: Apply, inputs: Sequence[Any]) -> list:
    """The values of ``node``'s outputs for the given input values.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.scalar("x")
    >>> perform_node((x + 1.0).owner, [2.0, 1.0])
    [array(3.)]
    """
    storage: list[list] = [[None] for _ in node.outputs]
    node.op.perform(node, list(inputs), storage)
    return [s[0] for s in storage]


def evaluate_constant_graph(outputs: Sequence[Variable]) -> list | None:
    """The values of ``outputs`` if they depend on constants only, else None.

    Also None when a node's op declines constant folding
    (``do_constant_folding``). Floating-point warnings are silenced: the
    values are what running the graph would give.

    Examples
    --------
    >>> import tessera as ts
    >>> evaluate_constant_graph([ts.constant(2.0) * 3.0])
    [array(6.)]
    >>> evaluate_constant_graph([ts.scalar("x") * 3.0]) is None
    True
    """
    outputs = list(outputs)
    if not _only_constant_roots(outputs):
        return None
    values: dict[Variable, Any] = {}
    with np.errstate(all="ignore"):
        for node in toposort(outputs):
            if not node.op.do_constant_folding(node):
                return None
            args = [
                i.data if isinstance(i, Constant) else values[i] for i in node.inputs
            ]
            values.update(zip(node.outputs, perform_node(node, args)))
    return [o.data if isinstance(o, Constant) else values[o] for o in outputs]


def _only_constant_roots(outputs: list[Variable]) -> bool:
    # depth first, stopping at the first free input (a model's graph is
    # large; its first leaf is usually an input, so this returns early)
    stack, seen = list(outputs), set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v.owner is None:
            if not isinstance(v, Constant):
                return False
        else:
            stack.extend(v.owner.inputs)
    return True
