"""JAX samplers of :mod:`tessera.ppl.distributions.multivariate.normal`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.multivariate.normal import (
    LowRankMvNormalRV,
    MvNormalRV,
    MvStudentTRV,
)
from tessera.ppl.jax.draws import float_dtype, gaussian_draws, log_gamma_draws, mm


@jax_sample.register(MvNormalRV)
def _mv_normal(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, chol, size: mu + gaussian_draws(k, chol, size, dt)


@jax_sample.register(MvStudentTRV)
def _mv_student_t(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, nu, mu, chol, size):
        k0, k1 = jr.split(key)
        nu = jnp.asarray(nu, dt)
        log_w = 0.5 * (
            log_gamma_draws(k0, nu / 2, size, dt) + np.log(2.0) - jnp.log(nu)
        )
        return mu + gaussian_draws(k1, chol, size, dt) * jnp.exp(-log_w)[..., None]

    return sample


@jax_sample.register(LowRankMvNormalRV)
def _low_rank_mv_normal(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, w, d, size):
        k0, k1 = jr.split(key)
        zk = jr.normal(k0, size + w.shape[-1:], dt)
        zn = jr.normal(k1, size + d.shape[-1:], dt)
        return mu + mm(w, zk[..., None])[..., 0] + jnp.sqrt(d) * zn

    return sample
