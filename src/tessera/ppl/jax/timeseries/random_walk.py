"""JAX samplers of the random walks (:mod:`tessera.ppl.distributions.timeseries`).

One sampler for every :class:`RandomWalkRV` (the Gaussian, multivariate
normal and Student t walks are subclasses): whole-batch innovation draws
with the innovation distribution's own JAX sampler, then one cumulative sum
over time (a walk's recursion is a sum, so it needs no ``lax.scan``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.timeseries.random_walk import RandomWalkRV
from tessera.ppl.jax.timeseries.common import init_sampler


@jax_sample.register(RandomWalkRV)
def _random_walk(op, node) -> Callable:
    n_innov = len(op.innov_op.ndims_params)
    innov_node = op.innov_op.make_node(None, None, *node.inputs[2 : 2 + n_innov])
    innov_sample = jax_sample(op.innov_op, innov_node)
    init_sample = init_sampler(op.init_op, node.inputs[2 + n_innov :])
    out_dtype = node.outputs[1].type.numpy_dtype

    def sample(key, *params, size):
        size = tuple(size)
        k0, ke = jr.split(key)
        innov, init = op.split(params)
        innov = broadcast_params(list(innov), op.innov_op.ndims_params, size)
        b = len(size)
        innov = [jnp.expand_dims(p, b) for p in innov]
        steps = innov_sample(ke, *innov, size=size + (op.steps,))
        event = steps.shape[b + 1 :]
        x0 = jnp.expand_dims(init_sample(k0, *init, size=size, event=event), b)
        x0 = x0.astype(steps.dtype)
        out = jnp.concatenate([x0, x0 + jnp.cumsum(steps, axis=b)], axis=b)
        return out.astype(out_dtype)

    return sample
