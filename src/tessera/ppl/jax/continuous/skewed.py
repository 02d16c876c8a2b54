"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.skewed`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.skewed import (
    AsymmetricLaplaceRV,
    ExGaussianRV,
    GumbelRV,
    SkewNormalRV,
)
from tessera.ppl.jax.draws import float_dtype


@jax_sample.register(SkewNormalRV)
def _skew_normal(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, sigma, alpha, size):
        k0, k1 = jr.split(key)
        delta = alpha / jnp.sqrt(1.0 + alpha * alpha)
        u0, v = jr.normal(k0, size, dt), jr.normal(k1, size, dt)
        u1 = delta * u0 + jnp.sqrt(1.0 - delta * delta) * v
        return mu + sigma * jnp.where(u0 >= 0, u1, -u1)

    return sample


@jax_sample.register(ExGaussianRV)
def _ex_gaussian(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, sigma, nu, size):
        k0, k1 = jr.split(key)
        return mu + sigma * jr.normal(k0, size, dt) + nu * jr.exponential(k1, size, dt)

    return sample


@jax_sample.register(AsymmetricLaplaceRV)
def _asymmetric_laplace(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, b, kappa, mu, size):
        u = jr.uniform(key, size, dt)
        switch = kappa**2 / (1 + kappa**2)
        left = mu + kappa * jnp.log(u / switch) / b
        right = mu - jnp.log((1 - u) * (1 + kappa**2)) / (kappa * b)
        return jnp.where(u <= switch, left, right)

    return sample


@jax_sample.register(GumbelRV)
def _gumbel(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, beta, size: mu + beta * jr.gumbel(k, size, dt)
