"""JAX samplers of :mod:`tessera.ppl.distributions.discrete.counts`.

Counts are drawn as floats (float64) and rounded; the op's dtype is applied
by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.discrete.counts import (
    BetaBinomialRV,
    BinomialRV,
    GeometricRV,
    HyperGeometricRV,
    NegativeBinomialRV,
    PoissonRV,
)
from tessera.ppl.jax.draws import (
    beta_draws,
    binomial_draws,
    float_dtype,
    gamma_draws,
    log_concave_int_draws,
)


@jax_sample.register(BinomialRV)
def _binomial(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, n, p, size: binomial_draws(k, n, p, size, dt)


@jax_sample.register(BetaBinomialRV)
def _beta_binomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, alpha, beta, n, size):
        k0, k1 = jr.split(key)
        return binomial_draws(k1, n, beta_draws(k0, alpha, beta, size, dt), size, dt)

    return sample


@jax_sample.register(PoissonRV)
def _poisson(op, node) -> Callable:
    return lambda k, mu, size: jr.poisson(k, mu, size)


@jax_sample.register(NegativeBinomialRV)
def _negative_binomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, n, p, size):
        k0, k1 = jr.split(key)
        lam = gamma_draws(k0, n, size, dt) * (1 - p) / p
        return jr.poisson(k1, lam, size)

    return sample


@jax_sample.register(GeometricRV)
def _geometric(op, node) -> Callable:
    return lambda k, p, size: jr.geometric(k, p, size)


def hypergeometric_draws(key, N, k, n, shape, dt):
    """Successes in ``n`` draws without replacement from ``N`` items, ``k`` good.

    Examples
    --------
    >>> x = hypergeometric_draws(jr.key(0), 20, 7, 12, (50,), jnp.float64)
    >>> bool(((x >= 0) & (x <= 7)).all())
    True
    """
    N, k, n = (jnp.broadcast_to(jnp.asarray(v, dt), shape) for v in (N, k, n))
    lo = jnp.maximum(0.0, n - N + k)
    hi = jnp.minimum(k, n)
    lg = jax.scipy.special.gammaln

    def log_q(x):
        inside = (x >= lo) & (x <= hi)
        xs = jnp.clip(x, lo, hi)
        val = -(lg(xs + 1) + lg(k - xs + 1) + lg(n - xs + 1) + lg(N - k - n + xs + 1))
        return jnp.where(inside, val, -np.inf)

    mode = jnp.clip(jnp.floor((n + 1) * (k + 1) / (N + 2)), lo, hi)
    var = n * k * (N - k) * (N - n) / jnp.maximum(N * N * (N - 1), 1.0)
    width = jnp.maximum(1.0, jnp.ceil(jnp.sqrt(var)))
    return log_concave_int_draws(key, log_q, mode, width, shape, dt)


@jax_sample.register(HyperGeometricRV)
def _hypergeometric(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda key, N, k, n, size: hypergeometric_draws(key, N, k, n, size, dt)
