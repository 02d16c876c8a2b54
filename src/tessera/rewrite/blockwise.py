"""Blockwise rewrites: drop the wrapper when there is no batch, and let
Blockwise broadcast batch dims itself instead of materializing them."""

from __future__ import annotations

from tessera.ops.blockwise import Blockwise
from tessera.ops.creation import Alloc
from tessera.ops.shape import BroadcastTo, broadcast_to
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
    expanded batch dims: Blockwise broadcasts batch dims for free, and when
    that broadcast alone set the batch shape, the op runs once per distinct
    matrix and its result is broadcast (a view) instead."""
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
    new = (
        node.op.core_op.make_node(*new_inputs).outputs
        if not any(x.ndim - nd for x, nd in zip(new_inputs, nds))
        else node.op.make_node(*new_inputs).outputs
    )
    if all(o.type.shape == n.type.shape for o, n in zip(node.outputs, new)):
        return new
    # the broadcast set the batch shape: compute on the small inputs and
    # broadcast the (cheap to view) result instead
    if any(None in o.type.shape for o in node.outputs):
        return None
    return [broadcast_to(n, o.type.shape) for o, n in zip(node.outputs, new)]
