"""JAX sampler of :mod:`tessera.ppl.distributions.censored`: the base
distribution's JAX sampler, clipped to the bounds."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.censored import CensoredRV
from tessera.ppl.jax.draws import sub_sampler


@jax_sample.register(CensoredRV)
def _censored(op, node) -> Callable:
    base_sample = sub_sampler(op.base, node.inputs[4:])
    out_dtype = node.outputs[1].type.numpy_dtype

    def sample(key, lower, upper, *params, size):
        lower, upper = broadcast_params([lower, upper], [0, 0], size)
        x = base_sample(key, *params, size=size)
        return jnp.clip(x, lower, upper).astype(out_dtype)

    return sample
