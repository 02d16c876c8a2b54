"""Merge (common-subexpression elimination): equal nodes computed once."""

from __future__ import annotations

from tessera.graph.fg import FunctionGraph
from tessera.ops.variable import TensorConstant
from tessera.rewrite.basic import REWRITES


def merge_pass(fg: FunctionGraph) -> bool:
    """Replace duplicate constants and nodes (same op, same inputs) by one."""
    changed = False
    consts: dict[tuple, TensorConstant] = {}
    for v in list(fg.variables):
        if isinstance(v, TensorConstant) and fg.clients.get(v):
            key = v.signature()
            keep = consts.setdefault(key, v)
            if keep is not v:
                fg.replace(v, keep, reason="merge")
                changed = True
    seen: dict[tuple, object] = {}
    for node in fg.toposort():
        if node not in fg.apply_nodes:
            continue
        key = (node.op, tuple(i.id for i in node.inputs))
        other = seen.get(key)
        if other is None:
            seen[key] = node
            continue
        for old, new in zip(node.outputs, other.outputs):
            fg.replace(old, new, reason="merge")
        changed = True
    return changed


REWRITES.register_pass("merge", merge_pass, ["merge"])
