"""JAX samplers of :mod:`tessera.ppl.distributions.timeseries`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.timeseries import MvGaussianRandomWalkRV
from tessera.ppl.jax.draws import float_dtype, mm, sub_sampler


@jax_sample.register(MvGaussianRandomWalkRV)
def _mv_gaussian_random_walk(op, node) -> Callable:
    dt = float_dtype(node)
    init_op = op.init_op
    init_sample = sub_sampler(init_op, node.inputs[4:])

    def sample(key, mu, chol, *init_params, size):
        k0, kz = jr.split(key)
        mu, chol = broadcast_params([mu, chol], [1, 2], size)
        n = chol.shape[-1]
        if init_op.ndim_supp == 0:
            init_params = broadcast_params(init_params, [1] * len(init_params), size)
            x0 = init_sample(k0, *init_params, size=size + (n,))
        else:
            x0 = init_sample(k0, *init_params, size=size)
        x0 = jnp.asarray(x0, dt)[..., None, :]
        z = jr.normal(kz, size + (op.steps, n, 1), dt)
        innov = mu[..., None, :] + mm(chol[..., None, :, :], z)[..., 0]
        return jnp.concatenate([x0, x0 + jnp.cumsum(innov, axis=-2)], axis=-2)

    return sample
