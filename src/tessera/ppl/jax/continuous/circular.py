"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.circular`."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.circular import VonMisesRV
from tessera.ppl.jax.draws import float_dtype


def vonmises_draws(key, mu, kappa, shape, dt):
    """Von Mises angles in ``[-pi, pi)``: Best & Fisher's rejection method.

    The whole array proposes each round (``lax.while_loop`` until every
    element is accepted); like NumPy, tiny ``kappa`` gives uniform angles and
    huge ``kappa`` a wrapped normal.

    Examples
    --------
    >>> x = vonmises_draws(jr.key(0), 0.0, 2.0, (100,), jnp.float64)
    >>> bool((jnp.abs(x) <= np.pi).all())
    True
    """
    kappa = jnp.broadcast_to(jnp.asarray(kappa, dt), shape)
    uniform_like = kappa < 1e-8
    normal_like = kappa > 1e6
    safe = jnp.where(uniform_like | normal_like, 1.0, kappa)
    r = 1.0 + jnp.sqrt(1.0 + 4.0 * safe * safe)
    rho = (r - jnp.sqrt(2.0 * r)) / (2.0 * safe)
    # the closed form cancels for small kappa: its Taylor expansion there
    s = jnp.where(safe < 1e-5, 1.0 / safe + safe, (1.0 + rho * rho) / (2.0 * rho))
    key, k_sign, k_norm, k_unif = jr.split(key, 4)

    def cond(state):
        return ~jnp.all(state[2])

    def body(state):
        key, w, done = state
        key, ku, kv = jr.split(key, 3)
        z = jnp.cos(np.pi * jr.uniform(ku, shape, dt))
        w_new = (1.0 + s * z) / (s + z)
        y = safe * (s - w_new)
        v = jr.uniform(kv, shape, dt, minval=jnp.finfo(dt).tiny)
        y_pos = jnp.where(y > 0, y, 1.0)
        ok = (y * (2.0 - y) - v >= 0) | ((y > 0) & (jnp.log(y_pos / v) + 1.0 - y >= 0))
        w = jnp.where(~done & ok, w_new, w)
        return key, w, done | ok

    init = (key, jnp.zeros(shape, dt), uniform_like | normal_like)
    _, w, _ = jax.lax.while_loop(cond, body, init)
    angle = jnp.arccos(jnp.clip(w, -1.0, 1.0))
    angle = jnp.where(jr.uniform(k_sign, shape, dt) < 0.5, -angle, angle)
    angle = jnp.where(
        normal_like,
        jr.normal(k_norm, shape, dt) / jnp.sqrt(jnp.where(normal_like, kappa, 1.0)),
        angle,
    )
    u = jr.uniform(k_unif, shape, dt)
    angle = jnp.where(uniform_like, np.pi * (2.0 * u - 1.0), angle)
    return jnp.mod(mu + angle + np.pi, 2.0 * np.pi) - np.pi


@jax_sample.register(VonMisesRV)
def _vonmises(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, kappa, size: vonmises_draws(k, mu, kappa, size, dt)
