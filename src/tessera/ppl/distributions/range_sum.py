"""RangeReduce: a reduction over ``k = lower .. max(floor(value))``.

Discrete log-CDFs without a closed form sum their mass up to the value
(:func:`~tessera.ppl.distributions.dist_math.logcdf_by_summation`). How many
terms that takes depends on the *values*, which an ``arange`` in the graph
cannot express on a backend that compiles fixed shapes (JAX). So the
reduction is one op holding a graph *builder*:

* NumPy (``perform``) builds the terms over the whole range at once, a
  ``(..., K)`` array, exactly as the plain graph would;
* JAX (:mod:`tessera.ppl.jax.range_sum`) loops over
  fixed-size chunks of ``k`` with ``lax.while_loop`` and combines the chunks'
  reductions (``logaddexp`` or ``+``).

Gradients are ops of the same kind (``mode="sum"``), so any order works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.elemwise import broadcast_symbolic_shapes, is_discrete, sum_to
from tessera.ops.type import TensorType

MODES = ("logsumexp", "sum")


def _reduce_last(x: Variable, mode: str) -> Variable:
    from tessera.ops.reduction import logsumexp

    return logsumexp(x, axis=-1) if mode == "logsumexp" else x.sum(axis=-1)


class RangeReduce(Op):
    """Reduce per-``k`` terms over ``k = lower .. max(floor(value))``.

    Inputs: ``value`` then ``args``; they broadcast (NumPy rules) and every
    output has their broadcast shape.

    Parameters
    ----------
    builder : callable
        ``builder(k, value, *args) -> list of tensors``: the terms of a range
        of ``k`` (an int64 vector). ``value`` and ``args`` arrive with an
        extra trailing axis of length 1, so they broadcast against ``k``;
        each term has shape ``batch + (len(k),)`` or ``batch + (1,)`` (an
        already-reduced contribution, for ``mode="sum"``).
    mode : {"logsumexp", "sum"}
        How terms combine: ``log(sum(exp(t)))`` or ``sum(t)`` over the last
        axis, and over chunks of ``k``. Terms of ``k`` beyond a batch
        element's ``value`` must be neutral (``-inf`` or ``0``).
    lower : int
        The first ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> def terms(k, n):  # log of 1, 2, ..., n
    ...     return [ts.where(k <= n, ts.log(ts.maximum(k, 1) * 1.0), -np.inf)]
    >>> op = RangeReduce(terms, "logsumexp", lower=1)
    >>> np.exp(op(ts.constant([3, 4])).eval())  # 1 + 2 + 3, 1 + ... + 4
    array([ 6., 10.])
    """

    __props__ = ("builder", "mode", "lower")

    def __init__(self, builder: Callable, mode: str, lower: int = 0):
        if mode not in MODES:
            raise ValueError(f"RangeReduce: mode must be one of {MODES}, got {mode!r}")
        self.builder = builder
        self.mode = mode
        self.lower = int(lower)
        self._graphs: dict = {}
        self._numpy_fns: dict = {}

    def __str__(self) -> str:
        name = getattr(self.builder, "__name__", None) or getattr(
            getattr(self.builder, "func", None), "__name__", "terms"
        )
        return f"RangeReduce{{{name}, {self.mode}, lower={self.lower}}}"

    __repr__ = __str__

    # --- the inner graph -----------------------------------------------------
    def inner_graph(
        self, types: Sequence[TensorType], k_len: int | None = None
    ) -> tuple[list[Variable], list[Variable]]:
        """``(inputs, outputs)`` of the reduced terms for inputs of ``types``.

        Inputs: ``k`` (int64, length ``k_len``) then one tensor per op input
        with a trailing axis of length 1; outputs: the terms reduced over
        their last axis (one chunk's contribution).
        """
        key = (tuple((t.dtype, t.ndim) for t in types), k_len)
        if key not in self._graphs:
            k = TensorType("int64", (k_len,))("k")
            xs = [TensorType(t.dtype, (None,) * t.ndim + (1,))() for t in types]
            terms = self.builder(k, *xs)
            outs = [_reduce_last(as_tensor(t), self.mode) for t in terms]
            self._graphs[key] = ([k, *xs], outs)
        return self._graphs[key]

    def _numpy_fn(self, types):
        key = tuple((t.dtype, t.ndim) for t in types)
        if key not in self._numpy_fns:
            from tessera.compile.function import function

            ins, outs = self.inner_graph(types)
            self._numpy_fns[key] = function(ins, outs)
        return self._numpy_fns[key]

    # --- Op contract -------------------------------------------------------------
    def make_node(self, value, *args) -> Apply:
        inputs = [as_tensor(value), *[as_tensor(a) for a in args]]
        _, outs = self.inner_graph([x.type for x in inputs])
        shape = broadcast_static_shapes([x.type.shape for x in inputs], str(self))
        return Apply(self, inputs, [TensorType(o.dtype, tuple(shape)) for o in outs])

    def perform(self, node, inputs, output_storage):
        value = np.asarray(inputs[0])
        with np.errstate(invalid="ignore"):
            top = np.maximum(np.floor(value).max(), self.lower).astype(np.int64)
        k = np.arange(self.lower, top + 1, dtype=np.int64)
        fn = self._numpy_fn([x.type for x in node.inputs])
        results = fn(k, *[np.expand_dims(x, -1) for x in inputs])
        shape = np.broadcast_shapes(*[np.shape(x) for x in inputs])
        for storage, res, out in zip(output_storage, results, node.outputs):
            res = np.asarray(res, dtype=out.type.numpy_dtype)
            storage[0] = (
                res if res.shape == shape else np.broadcast_to(res, shape).copy()
            )

    def infer_shape(self, node, input_shapes):
        shape = broadcast_symbolic_shapes(node.inputs, input_shapes, node.outputs[0])
        return [shape] * len(node.outputs)

    def vectorize_node(self, node, *batched_inputs):
        # the op broadcasts its inputs like an elementwise op: each input's
        # batch dims go in front of the output's core dims
        from tessera.ops.shape import expand_dims

        core = node.outputs[0].ndim
        lifted = []
        for old, new in zip(node.inputs, batched_inputs):
            n_batch = new.ndim - old.ndim
            pad = core - old.ndim
            if n_batch and pad:
                new = expand_dims(new, tuple(range(n_batch, n_batch + pad)))
            lifted.append(new)
        return self.make_node(*lifted).outputs

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import zeros_like
        from tessera.ops.shape import broadcast_to

        value, *args = inputs
        wrt = [i for i, a in enumerate(args) if not is_discrete(a)]
        live = [c for c in cotangents if c is not disconnected]
        value_grad = disconnected if is_discrete(value) else zeros_like(value)
        if not wrt or not live:
            return [value_grad] + [disconnected] * len(args)
        shape = outputs[0].shape
        args_b = [broadcast_to(a, shape) if i in wrt else a for i, a in enumerate(args)]
        if self.mode == "logsumexp":
            extra = [outputs[0], cotangents[0]]
            builder = partial(_logsumexp_pullback_terms, self.builder, tuple(wrt))
        else:
            extra = [
                zeros_like(o) if c is disconnected else c
                for o, c in zip(outputs, cotangents)
            ]
            builder = partial(_sum_pullback_terms, self.builder, len(args), tuple(wrt))
        grads = RangeReduce(builder, "sum", self.lower)(value, *args_b, *extra)
        grads = grads if isinstance(grads, list) else [grads]
        out = [disconnected] * len(args)
        for i, g in zip(wrt, grads):
            out[i] = sum_to(g, args[i])
        return [value_grad, *out]


def _logsumexp_pullback_terms(builder, wrt, k, value, *rest):
    """Terms of the gradient of ``y = log sum_k exp(t_k)``: ``g exp(t_k - y) dt_k``."""
    from tessera.grad import grad

    *args, y, g = rest
    (t,) = builder(k, value, *args)
    # masked terms (t = -inf) and empty sums (y = -inf) contribute nothing;
    # the wheres keep their gradients at exactly zero, not 0 * nan
    y_safe = tm.where(tm.gt(y, -np.inf), y, 0.0)
    weight = tm.where(tm.gt(t, -np.inf), g * tm.exp(t - y_safe), 0.0)
    return grad(weight.sum(), [args[i] for i in wrt], disconnected="zero")


def _sum_pullback_terms(builder, n_args, wrt, k, value, *rest):
    """Terms of the gradient of ``sum_k t_k`` against cotangents ``c``."""
    from tessera.grad import grad

    args, cots = rest[:n_args], rest[n_args:]
    terms = builder(k, value, *args)
    cost = sum((c * as_tensor(t)).sum() for c, t in zip(cots, terms))
    return grad(cost, [args[i] for i in wrt], disconnected="zero")
