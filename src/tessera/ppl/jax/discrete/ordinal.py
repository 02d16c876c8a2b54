"""JAX samplers of :mod:`tessera.ppl.distributions.discrete.ordinal`."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.discrete.ordinal import (
    OrderedLogisticRV,
    OrderedProbitRV,
)
from tessera.ppl.jax.draws import float_dtype


def _ordered_draws(key, cdf, size):
    """The number of cumulative probabilities (last axis) below a uniform."""
    cdf = jnp.broadcast_to(cdf, tuple(size) + cdf.shape[-1:])
    u = jr.uniform(key, tuple(size) + (1,), cdf.dtype)
    return jnp.sum(cdf < u, axis=-1)


@jax_sample.register(OrderedLogisticRV)
def _ordered_logistic(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, eta, c, size: _ordered_draws(
        k, jax.nn.sigmoid(c - jnp.asarray(eta, dt)[..., None]), size
    )


@jax_sample.register(OrderedProbitRV)
def _ordered_probit(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, eta, c, sigma, size: _ordered_draws(
        k,
        jax.scipy.special.ndtr(
            (c - jnp.asarray(eta, dt)[..., None]) / jnp.asarray(sigma)[..., None]
        ),
        size,
    )
