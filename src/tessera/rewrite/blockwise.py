"""Blockwise rewrites: drop the wrapper when there is no batch, and let
Blockwise broadcast batch dims itself instead of materializing them."""

from __future__ import annotations

from tessera.ops.blockwise import Blockwise
from tessera.ops.creation import Alloc
from tessera.ops.shape import BroadcastTo
from tessera.rewrite.basic import node_rewriter


@node_rewriter([Blockwise], tags=["canonicalize", "blockwise"])
def blockwise_without_batch(fg, node):
    """Blockwise(op) applied to inputs with only core dims -> op."""
    if any(node.op.batch_ndims(node)):
        return None
    return node.op.core_op.make_node(*node.inputs).outputs


@node_rewriter([Blockwise], tags=["canonicalize", "blockwise"])
def blockwise_of_batch_broadcast(fg, node):
    """Feed a Blockwise the un-broadcast input when broadcast_to/alloc only
    expanded batch dims: Blockwise broadcasts batch dims for free."""
    nds = node.op.sig.input_ndims
    new_inputs = list(node.inputs)
    changed = False
    for k, (x, nd) in enumerate(zip(node.inputs, nds)):
        owner = x.owner
        if owner is None or not isinstance(owner.op, BroadcastTo | Alloc):
            continue
        src = owner.inputs[0]
        if src.ndim < nd:
            continue  # the broadcast created core dims: it does real work
        core_src = src.type.shape[src.ndim - nd :]
        core_x = x.type.shape[x.ndim - nd :]
        if None in core_src or core_src != core_x:
            continue
        new_inputs[k] = src
        changed = True
    if not changed:
        return None
    new = node.op.make_node(*new_inputs).outputs
    # only when the other inputs still fix the same batch shape
    if any(
        None in o.type.shape or o.type.shape != n.type.shape
        for o, n in zip(node.outputs, new)
    ):
        return None
    return new
