"""JAX samplers of :mod:`tessera.ppl.distributions.discrete.finite`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.discrete.finite import (
    BernoulliRV,
    CategoricalRV,
    DiscreteUniformRV,
)


@jax_sample.register(BernoulliRV)
def _bernoulli(op, node) -> Callable:
    return lambda k, p, size: jr.bernoulli(k, p, size)


@jax_sample.register(DiscreteUniformRV)
def _discrete_uniform(op, node) -> Callable:
    return lambda k, lo, hi, size: jr.randint(
        k,
        size,
        jnp.asarray(lo, jnp.int64),
        jnp.asarray(hi, jnp.int64) + 1,
        jnp.int64,
    )


@jax_sample.register(CategoricalRV)
def _categorical(op, node) -> Callable:
    return lambda key, p, size: jr.categorical(key, jnp.log(p), axis=-1, shape=size)
