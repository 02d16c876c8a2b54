"""JAX sampler of :class:`~tessera.ppl.distributions.timeseries.AR`: a
``lax.scan`` over time carrying the last ``ar_order`` values of the whole
batch."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.timeseries.autoregressive import ARRV
from tessera.ppl.jax.draws import float_dtype
from tessera.ppl.jax.timeseries.common import init_sampler


@jax_sample.register(ARRV)
def _ar(op, node) -> Callable:
    dt = float_dtype(node)
    init_sample = init_sampler(op.init_op, node.inputs[4:])
    p = op.ar_order

    def sample(key, rho, sigma, *init, size):
        size = tuple(size)
        k0, kz = jr.split(key)
        rho, sigma = broadcast_params([rho, sigma], [1, 0], size)
        rho, sigma = rho.astype(dt), sigma.astype(dt)
        c = rho[..., 0] if op.constant else jnp.zeros(size, dt)
        coefs = rho[..., op.constant :][..., ::-1]  # oldest lag first
        x0 = jnp.asarray(init_sample(k0, *init, size=size, event=(p,)), dt)
        x0 = jnp.broadcast_to(x0, size + (p,))
        noise = sigma * jr.normal(kz, (op.steps, *size), dt)  # time first

        def step(lags, e):
            new = c + (coefs * lags).sum(-1) + e
            return jnp.concatenate([lags[..., 1:], new[..., None]], axis=-1), new

        _, xs = jax.lax.scan(step, x0, noise)
        return jnp.concatenate([x0, jnp.moveaxis(xs, 0, -1)], axis=-1)

    return sample
