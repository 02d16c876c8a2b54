"""JAX samplers of :mod:`tessera.ppl.distributions.matrix.wishart`."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.matrix.wishart import InverseWishartRV, WishartRV
from tessera.ppl.jax.draws import float_dtype, log_gamma_draws, mm, mt


def bartlett_factors(key, nu, size, n: int, dt):
    """Lower-triangular ``A`` with ``A A^T ~ Wishart(nu, I_n)``, shape ``size + (n, n)``.

    ``A_ii = sqrt(chi2(nu - i))`` (a chi-square is twice a gamma draw) and
    standard normals below the diagonal.

    Examples
    --------
    >>> a = bartlett_factors(jr.key(0), 5.0, (2,), 3, jnp.float64)
    >>> a.shape, bool((jnp.triu(a, 1) == 0).all())
    ((2, 3, 3), True)
    """
    kz, kg = jr.split(key)
    nu = jnp.broadcast_to(jnp.asarray(nu, dt), size)
    a = jnp.tril(jr.normal(kz, size + (n, n), dt), -1)
    half_df = (nu[..., None] - jnp.arange(n, dtype=dt)) / 2.0
    diag = jnp.exp(0.5 * (log_gamma_draws(kg, half_df, size + (n,), dt) + np.log(2.0)))
    return a + diag[..., None] * jnp.eye(n, dtype=dt)


@jax_sample.register(WishartRV)
def _wishart(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, nu, chol, size):
        b = mm(chol, bartlett_factors(key, nu, size, chol.shape[-1], dt))
        return mm(b, mt(b))

    return sample


@jax_sample.register(InverseWishartRV)
def _inverse_wishart(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, nu, chol, size):
        (chol,) = broadcast_params([chol], [2], size)
        a = bartlett_factors(key, nu, size, chol.shape[-1], dt)
        # X = B B^T with B = L A^-T: solve A B^T = L^T
        bt = jax.scipy.linalg.solve_triangular(a, mt(chol), lower=True)
        return mm(mt(bt), bt)

    return sample
