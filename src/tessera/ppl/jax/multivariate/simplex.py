"""JAX samplers of :mod:`tessera.ppl.distributions.multivariate.simplex`."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.multivariate.simplex import (
    DirichletMultinomialRV,
    DirichletRV,
    MultinomialRV,
    StickBreakingWeightsRV,
)
from tessera.ppl.jax.draws import float_dtype, log_gamma_draws, multinomial_counts


@jax_sample.register(DirichletRV)
def _dirichlet(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, a, size):
        a = jnp.asarray(a, dt)
        return jax.nn.softmax(log_gamma_draws(key, a, size + a.shape[-1:], dt), axis=-1)

    return sample


@jax_sample.register(MultinomialRV)
def _multinomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, n, p, size):
        return multinomial_counts(key, n, p, size, dt)

    return sample


@jax_sample.register(DirichletMultinomialRV)
def _dirichlet_multinomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, n, a, size):
        kp, kc = jr.split(key)
        (a,) = broadcast_params([a], [1], size)
        p = jax.nn.softmax(log_gamma_draws(kp, a, a.shape, dt), axis=-1)
        return multinomial_counts(kc, n, p, size, dt)

    return sample


@jax_sample.register(StickBreakingWeightsRV)
def _stick_breaking(op, node) -> Callable:
    dt = float_dtype(node)
    K = op.K

    def sample(key, alpha, size):
        alpha = jnp.broadcast_to(jnp.asarray(alpha, dt), size)[..., None]
        # v ~ Beta(1, alpha) has 1 - v = U^(1/alpha): the stick left over
        # after each break is a cumulative product of those, in log space
        u = jr.uniform(key, size + (K,), dt, minval=jnp.finfo(dt).tiny)
        log_rest = jnp.cumsum(jnp.log(u) / alpha, axis=-1)
        rest = jnp.exp(log_rest)
        before = jnp.concatenate([jnp.ones(size + (1,), dt), rest[..., :-1]], axis=-1)
        v = -jnp.expm1(jnp.log(u) / alpha)
        return jnp.concatenate([v * before, rest[..., -1:]], axis=-1)

    return sample
