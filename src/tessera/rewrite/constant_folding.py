"""Constant folding: evaluate at compile time nodes whose inputs are constants."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Constant
from tessera.graph.evaluate import perform_node
from tessera.graph.fg import FunctionGraph
from tessera.ops.variable import TensorConstant
from tessera.rewrite.basic import REWRITES

# Folding a node whose output is huge would bloat the compiled function.
MAX_FOLDED_SIZE = 100_000
# A folded broadcast (a stride-0 view, as the gradient of a sum makes) up to
# this size is stored as a compact array: NumPy's ufuncs take twice as long
# on small stride-0 operands as on contiguous ones.
MAX_COMPACTED_SIZE = 4096


def constant_folding_pass(fg: FunctionGraph) -> bool:
    changed = False
    for node in fg.toposort():
        if node not in fg.apply_nodes or not node.inputs:
            continue
        if not all(isinstance(i, Constant) for i in node.inputs):
            continue
        if not node.op.do_constant_folding(node):
            continue
        with np.errstate(all="ignore"):
            values = perform_node(node, [i.data for i in node.inputs])
        for out, val in zip(node.outputs, values):
            arr = np.asarray(val, dtype=out.type.numpy_dtype)
            if arr.size > MAX_FOLDED_SIZE:
                continue
            if arr.size <= MAX_COMPACTED_SIZE and not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr)
            arr.setflags(write=False)
            const = TensorConstant(out.type.clone(shape=arr.shape), arr)
            fg.replace(out, const, reason="constant_folding")
            changed = True
    return changed


REWRITES.register_pass("constant_folding", constant_folding_pass, ["constant_folding"])
