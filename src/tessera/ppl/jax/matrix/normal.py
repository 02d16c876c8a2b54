"""JAX samplers of :mod:`tessera.ppl.distributions.matrix.normal`."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.matrix.normal import KroneckerNormalRV, MatrixNormalRV
from tessera.ppl.jax.draws import float_dtype, mm, mt


@jax_sample.register(MatrixNormalRV)
def _matrix_normal(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, rowchol, colchol, size):
        z = jr.normal(key, size + mu.shape[-2:], dt)
        return mu + mm(mm(rowchol, z), mt(colchol))

    return sample


@jax_sample.register(KroneckerNormalRV)
def _kronecker_normal(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, mu, sigma, *covs, size):
        n = int(np.prod([c.shape[-1] for c in covs]))
        kx, kn = jr.split(key)
        x = jr.normal(kx, size + (n,), dt)
        for c in covs:
            # square roots by eigh (positive semi-definite factors work), at
            # the parameters' own batch shape: the draws' batch only broadcasts
            lam, q = jnp.linalg.eigh(c)
            root = q * jnp.sqrt(jnp.maximum(lam, 0.0))[..., None, :]
            m = root.shape[-1]
            x = mm(root, x.reshape(x.shape[:-1] + (m, -1)))
            x = mt(x).reshape(x.shape[:-2] + (-1,))
        noise = jr.normal(kn, x.shape, dt) * jnp.asarray(sigma, dt)[..., None]
        return mu + x + noise

    return sample
