"""JAX samplers of :mod:`tessera.ppl.distributions.multivariate.spatial`.

The factorizations run at the parameters' batch shape, not the draws':
cheaper, and XLA's CPU runtime can deadlock when several large batched
LAPACK calls run at once on a small machine.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.multivariate.spatial import CARRV, ICARRV
from tessera.ppl.jax.draws import float_dtype, mm


@jax_sample.register(CARRV)
def _car(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, W, alpha, tau, size):
        alpha = jnp.asarray(alpha, dt)[..., None, None]
        tau = jnp.asarray(tau, dt)[..., None, None]
        n = W.shape[-1]
        q = tau * (jnp.sum(W, axis=-1)[..., None] * jnp.eye(n, dtype=dt) - alpha * W)
        (chol,) = broadcast_params([jnp.linalg.cholesky(q)], [2], size)
        z = jr.normal(key, size + (n, 1), dt)
        # x - mu = L^-T z has covariance (L L^T)^-1 = Q^-1
        x = jax.scipy.linalg.solve_triangular(chol, z, lower=True, trans="T")
        return mu + x[..., 0]

    return sample


@jax_sample.register(ICARRV)
def _icar(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, W, sigma, zero_sum_stdev, size):
        n = W.shape[-1]
        lap = jnp.sum(W, axis=-1)[..., None] * jnp.eye(n, dtype=dt) - W
        lam, v = jnp.linalg.eigh(lap)
        tol = 1e-8 * jnp.maximum(jnp.max(lam, axis=-1, keepdims=True), 1.0)
        inv_sqrt = jnp.where(
            lam > tol, 1.0 / jnp.sqrt(jnp.where(lam > tol, lam, 1.0)), 0
        )
        z = jr.normal(key, size + (n,), dt) * inv_sqrt
        sigma = jnp.asarray(sigma, dt)[..., None]
        return sigma * mm(v, z[..., None])[..., 0]

    return sample
