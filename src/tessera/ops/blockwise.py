"""Blockwise: run a core op over any number of leading batch dims.

A core op declares a gufunc ``signature`` and works on inputs with exactly
its core dims. ``Blockwise(core_op)`` accepts inputs with extra leading batch
dims that broadcast with NumPy rules. Its ``perform`` calls the core op's
natively batched kernel (``perform_batched``) once for the whole batch; only
core ops that declare no such kernel fall back to a Python loop.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import DisconnectedType, is_zero_cotangent
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.signature import Signature, parse_signature
from tessera.ops.type import TensorType, shape_str


def _core_dummies(core_op, inputs, sig: Signature) -> list[Variable]:
    dummies = []
    for x, nd in zip(inputs, sig.input_ndims):
        core_shape = x.type.shape[x.ndim - nd :]
        dummies.append(TensorType(x.dtype, core_shape).make_variable())
    return dummies


class Blockwise(Op):
    """Batch a core op over leading dims.

    Parameters
    ----------
    core_op : Op
        An op with a gufunc ``signature``. If it has a method
        ``perform_batched(node, inputs, output_storage)`` that handles any
        leading batch dims (broadcasting them like a NumPy gufunc), that
        kernel is called once per call; otherwise a Python loop runs the
        core ``perform`` per batch element.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.ops.products import MatMul
    >>> a = ts.tensor("a", shape=(4, 1, 2, 3))
    >>> b = ts.tensor("b", shape=(5, 3, 2))
    >>> Blockwise(MatMul())(a, b).type.shape
    (4, 5, 2, 2)
    """

    __props__ = ("core_op",)

    def __init__(self, core_op: Op):
        if isinstance(core_op, Blockwise):
            core_op = core_op.core_op
        if core_op.signature is None:
            raise ValueError(f"Blockwise: {core_op} declares no gufunc signature")
        self.core_op = core_op
        self.sig = parse_signature(core_op.signature)
        self._core_nodes: dict[tuple, Apply] = {}

    @property
    def signature(self) -> str:
        return self.core_op.signature

    def __str__(self) -> str:
        return f"Blockwise{{{self.core_op}, {self.sig}}}"

    def batch_ndims(self, node: Apply) -> tuple[int, ...]:
        """Number of batch dims of each input of ``node``."""
        return tuple(x.ndim - nd for x, nd in zip(node.inputs, self.sig.input_ndims))

    def core_node(self, inputs) -> Apply:
        """The core op applied to placeholder inputs with the core types."""
        key = tuple(
            (x.dtype, x.type.shape[x.ndim - nd :])
            for x, nd in zip(inputs, self.sig.input_ndims)
        )
        node = self._core_nodes.get(key)
        if node is None:
            dummies = _core_dummies(self.core_op, inputs, self.sig)
            node = self.core_op.make_node(*dummies)
            if any(a is not b for a, b in zip(node.inputs, dummies)):
                raise TypeError(
                    f"Blockwise: {self.core_op}.make_node converted its inputs; "
                    "convert them before batching"
                )
            self._core_nodes[key] = node
        return node

    def make_node(self, *inputs) -> Apply:
        inputs = [as_tensor(x) for x in inputs]
        name = str(self.core_op)
        if len(inputs) != len(self.sig.inputs):
            raise TypeError(
                f"{name}: signature {self.sig} takes {len(self.sig.inputs)} inputs, "
                f"got {len(inputs)}"
            )
        for k, (x, nd) in enumerate(zip(inputs, self.sig.input_ndims)):
            if x.ndim < nd:
                raise ValueError(
                    f"{name}: input {k} needs at least {nd} dims for signature "
                    f"{self.sig}, got shape {shape_str(x.type.shape)}"
                )
        self.sig.bind_static(
            [
                x.type.shape[x.ndim - nd :]
                for x, nd in zip(inputs, self.sig.input_ndims)
            ],
            name,
        )
        batch = broadcast_static_shapes(
            [
                x.type.shape[: x.ndim - nd]
                for x, nd in zip(inputs, self.sig.input_ndims)
            ],
            f"{name} (batch dims)",
        )
        core = self.core_node(inputs)
        out_types = [TensorType(o.dtype, batch + o.type.shape) for o in core.outputs]
        return Apply(self, inputs, out_types)

    def perform(self, node, inputs, output_storage):
        kernel = getattr(self.core_op, "perform_batched", None)
        if kernel is not None:
            kernel(node, inputs, output_storage)
            return
        self._perform_loop(node, inputs, output_storage)

    def _perform_loop(self, node, inputs, output_storage):
        # Fallback for user-defined core ops without a batched kernel.
        nds = self.sig.input_ndims
        batch_shape = np.broadcast_shapes(
            *[np.shape(x)[: np.ndim(x) - nd] for x, nd in zip(inputs, nds)]
        )
        arrays = [
            np.broadcast_to(x, batch_shape + np.shape(x)[np.ndim(x) - nd :])
            for x, nd in zip(inputs, nds)
        ]
        core = self.core_node(node.inputs)
        outs = [None] * len(node.outputs)
        for idx in np.ndindex(*batch_shape):
            storage = [[None] for _ in node.outputs]
            self.core_op.perform(core, [a[idx] for a in arrays], storage)
            for k, (cell, var) in enumerate(zip(storage, node.outputs)):
                if outs[k] is None:
                    res = np.asarray(cell[0])
                    outs[k] = np.empty(batch_shape + res.shape, dtype=var.dtype)
                outs[k][idx] = cell[0]
        if not batch_shape or 0 in batch_shape:
            # no loop iteration fixed the core shapes: evaluate once on a dummy
            if outs[0] is None:
                storage = [[None] for _ in node.outputs]
                probe = [
                    np.zeros(np.shape(x)[np.ndim(x) - nd :], dtype=x.dtype)
                    for x, nd in zip(inputs, nds)
                ]
                self.core_op.perform(core, probe, storage)
                outs = [
                    np.empty(batch_shape + np.shape(c[0]), dtype=v.dtype)
                    for c, v in zip(storage, node.outputs)
                ]
        for cell, value in zip(output_storage, outs):
            cell[0] = value

    def infer_shape(self, node, input_shapes):
        from tessera.ops.elemwise import broadcast_symbolic_shapes

        nds = self.sig.input_ndims
        batch_ndim = node.outputs[0].ndim - self.sig.output_ndims[0]
        fake_out = TensorType("float64", node.outputs[0].type.shape[:batch_ndim])()
        batch_shapes = [s[: len(s) - nd] for s, nd in zip(input_shapes, nds)]
        batch_inputs = [
            TensorType(x.dtype, x.type.shape[: x.ndim - nd])()
            for x, nd in zip(node.inputs, nds)
        ]
        batch = broadcast_symbolic_shapes(batch_inputs, batch_shapes, fake_out)
        dims: dict[str, object] = {}
        for dnames, shp, nd in zip(self.sig.inputs, input_shapes, nds):
            for d, s in zip(dnames, shp[len(shp) - nd :]):
                if d not in dims or (not isinstance(s, Variable) and s is not None):
                    dims[d] = s
        result = []
        for dnames, out in zip(self.sig.outputs, node.outputs):
            core = out.type.shape[batch_ndim:]
            result.append(
                tuple(batch)
                + tuple(
                    c if c is not None else (int(d) if d.isdigit() else dims[d])
                    for d, c in zip(dnames, core)
                )
            )
        return result

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.elemwise import sum_to
        from tessera.ops.shape import broadcast_to, shape
        from tessera.ops.vectorize import vectorize_graph

        core = self.core_node(inputs)
        core_cts = []
        replace = dict(zip(core.inputs, inputs))
        replace.update(zip(core.outputs, outputs))
        for ct, o in zip(cotangents, core.outputs):
            if isinstance(ct, DisconnectedType):
                core_cts.append(ct)
                continue
            dummy = TensorType(ct.dtype, o.type.shape).make_variable()
            replace[dummy] = ct
            core_cts.append(dummy)
        core_grads = self.core_op.pullback(core.inputs, core.outputs, core_cts)
        connected = [g for g in core_grads if not is_zero_cotangent(g)]
        batched = iter(vectorize_graph(connected, replace)) if connected else iter(())
        result = []
        for x, g in zip(inputs, core_grads):
            if is_zero_cotangent(g):
                result.append(g)
                continue
            gb = next(batched)
            if gb.ndim < x.ndim:
                gb = broadcast_to(gb, shape(x))
            result.append(sum_to(gb, x))
        return result

    def vectorize_node(self, node, *batched_inputs):
        return Blockwise(self.core_op).make_node(*batched_inputs).outputs


def apply_core(core_op: Op, *inputs) -> Variable | list[Variable]:
    """Apply ``core_op`` directly, or through Blockwise when there are batch dims.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.ops.products import MatMul
    >>> apply_core(MatMul(), ts.ones((3, 2, 2)), ts.ones((2, 2))).type.shape
    (3, 2, 2)
    """
    inputs = [as_tensor(x) for x in inputs]
    sig = parse_signature(core_op.signature)
    if all(x.ndim == nd for x, nd in zip(inputs, sig.input_ndims)):
        return core_op(*inputs)
    return Blockwise(core_op)(*inputs)
