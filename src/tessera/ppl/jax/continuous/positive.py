"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.positive`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.positive import (
    ChiSquaredRV,
    ExponentialRV,
    GammaRV,
    InverseGammaRV,
    LogNormalRV,
    ParetoRV,
    WaldRV,
    WeibullRV,
)
from tessera.ppl.jax.draws import float_dtype, gamma_draws


@jax_sample.register(ExponentialRV)
def _exponential(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, lam, size: jr.exponential(k, size, dt) / lam


@jax_sample.register(GammaRV)
def _gamma(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, alpha, beta, size: gamma_draws(k, alpha, size, dt) / beta


@jax_sample.register(InverseGammaRV)
def _inverse_gamma(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, alpha, beta, size: beta / gamma_draws(k, alpha, size, dt)


@jax_sample.register(ChiSquaredRV)
def _chi_squared(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, nu, size: 2.0 * gamma_draws(k, jnp.asarray(nu) / 2, size, dt)


@jax_sample.register(WeibullRV)
def _weibull(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, alpha, beta, size: (
        beta * jr.exponential(k, size, dt) ** (1.0 / alpha)
    )


@jax_sample.register(LogNormalRV)
def _log_normal(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, sigma, size: jnp.exp(mu + sigma * jr.normal(k, size, dt))


@jax_sample.register(ParetoRV)
def _pareto(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, alpha, m, size: m * jnp.exp(jr.exponential(k, size, dt) / alpha)


@jax_sample.register(WaldRV)
def _wald(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, lam, alpha, size):
        # Michael, Schucany & Haas: a root of the chi-square transform,
        # chosen with probability mu / (mu + x)
        k0, k1 = jr.split(key)
        y = jr.normal(k0, size, dt) ** 2
        x = (
            mu
            + mu * mu * y / (2 * lam)
            - mu / (2 * lam) * jnp.sqrt(4 * mu * lam * y + (mu * y) ** 2)
        )
        u = jr.uniform(k1, size, dt)
        return jnp.where(u <= mu / (mu + x), x, mu * mu / x) + alpha

    return sample
