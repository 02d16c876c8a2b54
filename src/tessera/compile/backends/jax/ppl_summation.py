"""JAX lowering of :class:`~tessera.ppl.distributions.range_sum.RangeReduce`.

The number of terms of the reduction depends on the values, which a jitted
function cannot give an array shape to; the lowering loops over chunks of
:data:`CHUNK` consecutive ``k`` with :func:`jax.lax.while_loop` until the
largest value is covered, and combines the chunks' reductions.

Also :func:`graph_callable`, which lowers a tessera graph to a JAX function
that may be called while another graph is traced (inside loops too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import (
    _TRACE,
    JaxLoweringError,
    jax_funcify,
)
from tessera.graph.basic import Constant, Variable
from tessera.ppl.distributions.range_sum import RangeReduce

#: Number of ``k`` handled per round of the loop.
CHUNK = 64


def graph_callable(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> Callable:
    """A JAX function computing ``outputs`` from ``inputs`` (a tessera graph).

    The graph is rewritten and linked like a ``backend="jax"`` function; the
    result takes and returns JAX arrays (a list, one per output) and can be
    called while tracing, e.g. in the body of a ``lax.while_loop``. The graph
    may not hold shared variables, random draws or run-time checks.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = graph_callable([x], [ts.exp(x).sum()])
    >>> float(f(jnp.zeros(3))[0])
    3.0
    """
    from tessera.compile.backends.jax.linker import jax_link
    from tessera.graph.fg import FunctionGraph
    from tessera.graph.traversal import graph_inputs
    from tessera.rewrite import rewrite_graph

    inputs, outputs = list(inputs), list(outputs)
    for v in graph_inputs(outputs):
        if v not in inputs and not isinstance(v, Constant):
            raise JaxLoweringError(
                f"JAX backend: an inner graph depends on {v} (type {v.type}), "
                "which is neither an input nor a constant"
            )
    fg = FunctionGraph(inputs, outputs, clone=True)
    rewrite_graph(fg, "fast_run")
    fn, _ = jax_link(fg, inputs, len(outputs), [])
    jitted = fn.jitted
    dtypes = [v.type.numpy_dtype for v in inputs]

    def call(*args):
        # the inner trace records its own run-time checks: keep the outer ones
        saved = _TRACE.checks
        try:
            results, flags = jitted(
                [jnp.asarray(a, dt) for a, dt in zip(args, dtypes)], [], []
            )
        finally:
            _TRACE.checks = saved
        if flags is not None:
            raise JaxLoweringError(
                "JAX backend: an inner graph has run-time checks, which cannot "
                "be reported from inside it"
            )
        return results

    return call


@jax_funcify.register(RangeReduce)
def _funcify_range_reduce(op: RangeReduce, node) -> Callable:
    types = [x.type for x in node.inputs]
    ins, outs = op.inner_graph(types, CHUNK)
    chunk = graph_callable(ins, outs)
    out_dtypes = [o.type.numpy_dtype for o in node.outputs]
    lse = op.mode == "logsumexp"

    def combine(acc, part):
        return jnp.logaddexp(acc, part) if lse else acc + part

    def run(value, *args):
        value = jnp.asarray(value)
        shape = jnp.broadcast_shapes(value.shape, *[jnp.shape(a) for a in args])
        expanded = [value[..., None], *[jnp.asarray(a)[..., None] for a in args]]
        top = jnp.maximum(jnp.floor(jnp.max(value)), op.lower)
        # a non-finite top sums nothing (NumPy's arange is empty there too)
        top = jnp.where(jnp.isfinite(top), top, op.lower - 1)
        steps = jnp.arange(CHUNK, dtype=jnp.int64)
        fill = -np.inf if lse else 0

        def cond(state):
            return state[0] <= top

        def body(state):
            start, accs = state
            parts = chunk(start + steps, *expanded)
            accs = [
                combine(acc, jnp.broadcast_to(p, shape).astype(acc.dtype))
                for acc, p in zip(accs, parts)
            ]
            return start + CHUNK, accs

        init = [jnp.full(shape, fill, dt) for dt in out_dtypes]
        _, accs = jax.lax.while_loop(
            cond, body, (jnp.asarray(op.lower, jnp.int64), init)
        )
        return accs[0] if len(accs) == 1 else tuple(accs)

    return run
