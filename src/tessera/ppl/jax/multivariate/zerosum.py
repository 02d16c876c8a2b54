"""JAX samplers of :mod:`tessera.ppl.distributions.multivariate.zerosum`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.multivariate.zerosum import ZeroSumNormalRV
from tessera.ppl.jax.draws import float_dtype


@jax_sample.register(ZeroSumNormalRV)
def _zero_sum_normal(op, node) -> Callable:
    dt = float_dtype(node)
    shape = op.support_shape

    def sample(key, sigma, size):
        (sigma,) = broadcast_params([sigma], [len(shape)], size)
        x = jr.normal(key, size + shape, dt) * sigma
        for axis in range(-len(shape), 0):
            x = x - jnp.mean(x, axis=axis, keepdims=True)
        return x

    return sample
