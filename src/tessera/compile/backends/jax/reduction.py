"""JAX lowerings of :mod:`tessera.ops.reduction`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.scipy.special as jsp

from tessera.compile.backends.jax.dispatch import jax_funcify
from tessera.ops.reduction import ArgReduce, CumOp, LogSumExp, Reduce

_KERNELS = {
    "sum": jnp.sum,
    "prod": jnp.prod,
    "max": jnp.max,
    "min": jnp.min,
    "all": jnp.all,
    "any": jnp.any,
}


@jax_funcify.register(Reduce)
def _funcify_reduce(op: Reduce, node) -> Callable:
    kernel = _KERNELS[op.kind]
    axis, keepdims = op.axis, op.keepdims
    if op.kind in ("sum", "prod"):
        # accumulate in the output dtype, as NumPy does (bools sum to int64)
        dtype = node.outputs[0].type.numpy_dtype
        return lambda x: kernel(x, axis=axis, keepdims=keepdims, dtype=dtype)
    return lambda x: kernel(x, axis=axis, keepdims=keepdims)


@jax_funcify.register(LogSumExp)
def _funcify_logsumexp(op: LogSumExp, node) -> Callable:
    dtype = node.outputs[0].type.numpy_dtype
    axis, keepdims = op.axis, op.keepdims

    def run(x):
        x = jnp.asarray(x).astype(dtype)
        if x.size == 0 or not axis:
            # jax.scipy's logsumexp rejects empty axes; log(sum(exp)) is exact
            return jnp.log(jnp.sum(jnp.exp(x), axis=axis, keepdims=keepdims))
        return jsp.logsumexp(x, axis=axis, keepdims=keepdims)

    return run


@jax_funcify.register(ArgReduce)
def _funcify_arg_reduce(op: ArgReduce, node) -> Callable:
    fn = jnp.argmax if op.kind == "max" else jnp.argmin
    axis, keepdims = op.axis, op.keepdims
    return lambda x: fn(x, axis=axis, keepdims=keepdims).astype(jnp.int64)


@jax_funcify.register(CumOp)
def _funcify_cum(op: CumOp, node) -> Callable:
    fn = jnp.cumsum if op.kind == "sum" else jnp.cumprod
    dtype = node.outputs[0].type.numpy_dtype
    axis = op.axis
    return lambda x: fn(x, axis=axis, dtype=dtype)
