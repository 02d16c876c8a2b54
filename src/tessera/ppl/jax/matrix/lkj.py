"""JAX samplers of :mod:`tessera.ppl.distributions.matrix.lkj` (the onion method)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import broadcast_params, jax_sample
from tessera.ppl.distributions.matrix.lkj import (
    LKJCholeskyCovRV,
    LKJCholeskyRV,
    LKJCorrRV,
)
from tessera.ppl.jax.draws import float_dtype, log_gamma_draws, mm, mt, sub_sampler


def onion_cholesky(key, eta, size, n: int, dt):
    """Cholesky factors of LKJ(eta) correlation matrices (the onion method).

    Row ``k`` is ``sqrt(y_k) u_k`` with ``u_k`` uniform on the unit sphere
    of dimension ``k`` and ``y_k ~ Beta(k/2, eta + (n - 1 - k)/2)``, then
    ``sqrt(1 - y_k)`` on the diagonal; every row is drawn at once.

    Examples
    --------
    >>> L = onion_cholesky(jr.key(0), 2.0, (4,), 3, jnp.float64)
    >>> bool(jnp.allclose((L**2).sum(-1), 1.0))
    True
    """
    eta = jnp.broadcast_to(jnp.asarray(eta, dt), size)
    kz, ka, kb = jr.split(key, 3)
    k = jnp.arange(1, n, dtype=dt)
    a = jnp.broadcast_to(k / 2.0, size + (n - 1,))
    b = eta[..., None] + (n - 1 - k) / 2.0
    # y = Ga / (Ga + Gb): log y and log(1 - y) without cancellation
    d = log_gamma_draws(ka, a, a.shape, dt) - log_gamma_draws(kb, b, b.shape, dt)
    sqrt_y = jnp.exp(0.5 * jax.nn.log_sigmoid(d))
    sqrt_1my = jnp.exp(0.5 * jax.nn.log_sigmoid(-d))
    z = jnp.tril(jr.normal(kz, size + (n, n), dt), -1)[..., 1:, :]
    z = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
    rows = sqrt_y[..., None] * z + sqrt_1my[..., None] * jnp.eye(n, dtype=dt)[1:]
    first = jnp.broadcast_to(jnp.eye(n, dtype=dt)[:1], size + (1, n))
    return jnp.concatenate([first, rows], axis=-2)


@jax_sample.register(LKJCholeskyRV)
def _lkj_cholesky(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, eta, size):
        return onion_cholesky(key, eta, size, op.n, dt)

    return sample


@jax_sample.register(LKJCorrRV)
def _lkj_corr(op, node) -> Callable:
    dt = float_dtype(node)
    eye = np.eye(op.n, dtype=bool)

    def sample(key, eta, size):
        chol = onion_cholesky(key, eta, size, op.n, dt)
        return jnp.where(eye, 1.0, mm(chol, mt(chol)))  # an exact unit diagonal

    return sample


@jax_sample.register(LKJCholeskyCovRV)
def _lkj_cholesky_cov(op, node) -> Callable:
    dt = float_dtype(node)
    sd_sample = sub_sampler(op.sd_op, node.inputs[3:])
    n = op.n

    def sample(key, eta, *sd_params, size):
        ks, kc = jr.split(key)
        sd_params = broadcast_params(sd_params, [1] * len(sd_params), size)
        sd = sd_sample(ks, *sd_params, size=size + (n,)).astype(dt)
        return sd[..., None] * onion_cholesky(kc, eta, size, n, dt)

    return sample
