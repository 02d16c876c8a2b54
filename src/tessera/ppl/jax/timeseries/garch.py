"""JAX sampler of :class:`~tessera.ppl.distributions.timeseries.GARCH11`: a
``lax.scan`` over time carrying the last value and variance of the batch."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.timeseries.garch import GARCH11RV
from tessera.ppl.jax.draws import float_dtype


@jax_sample.register(GARCH11RV)
def _garch11(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, omega, alpha_1, beta_1, initial_vol, size):
        size = tuple(size)
        omega, a, b, v0 = (
            p.astype(dt)
            for p in broadcast_params(
                [omega, alpha_1, beta_1, initial_vol], [0] * 4, size
            )
        )
        z = jr.normal(key, (op.steps + 1, *size), dt)  # time first
        x0 = v0 * z[0]

        def step(carry, zt):
            x, var = carry
            var = omega + a * jnp.square(x) + b * var
            x = jnp.sqrt(var) * zt
            return (x, var), x

        _, xs = jax.lax.scan(step, (x0, jnp.square(v0)), z[1:])
        return jnp.concatenate([x0[..., None], jnp.moveaxis(xs, 0, -1)], axis=-1)

    return sample
