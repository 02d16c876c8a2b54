"""JAX lowering of :class:`~tessera.ppl.distributions.range_sum.RangeReduce`.

The number of terms of the reduction depends on the values, which a jitted
function cannot give an array shape to; the lowering loops over chunks of
:data:`CHUNK` consecutive ``k`` with :func:`jax.lax.while_loop` until the
largest value is covered, and combines the chunks' reductions.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax.dispatch import jax_funcify
from tessera.ppl.distributions.range_sum import RangeReduce
from tessera.ppl.jax.inner import graph_callable

#: Number of ``k`` handled per round of the loop.
CHUNK = 64


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
