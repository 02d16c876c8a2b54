"""Building blocks of the JAX samplers: whole-array draws with ``jax.random``.

Every function draws for a whole batch at once (no Python loop over batch
elements); rejection methods run rounds of a ``lax.while_loop`` in which
every element proposes, until every element has accepted. ``dt`` is the
float dtype drawn in (see :func:`float_dtype`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import broadcast_params, jax_sample

_HI = "highest"


def float_dtype(node):
    """The float dtype a sampler draws in: the draw's, or float64 for integers.

    Examples
    --------
    >>> from tessera import ppl
    >>> float_dtype(ppl.Poisson.dist(3.0).owner)
    dtype('float64')
    """
    dt = node.outputs[1].type.numpy_dtype
    return dt if jnp.dtype(dt).kind == "f" else jnp.dtype(jnp.float64)


def sub_sampler(op, params) -> Callable:
    """The sampler of ``op`` (a component of a composite op) given its params.

    ``params`` are the symbolic parameters the component receives (they
    give the node its dtypes and shapes).

    Examples
    --------
    >>> import tessera.ppl.jax  # noqa: F401  (registers the samplers)
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, 1.0)
    >>> sample = sub_sampler(x.owner.op, x.owner.inputs[2:])
    >>> sample(jr.key(0), 0.0, 1.0, size=(2,)).shape
    (2,)
    """
    return jax_sample(op, op.make_node(None, None, *params))


def mm(a, b):
    """Batched matrix product at full float precision."""
    return jnp.matmul(a, b, precision=_HI)


def mt(a):
    """Each matrix of a batch transposed."""
    return jnp.swapaxes(a, -1, -2)


def log_gamma_draws(key, alpha, shape, dt):
    """``log X`` for ``X ~ Gamma(alpha, 1)`` of the given shape (float dtype ``dt``).

    Marsaglia & Tsang's squeeze-free rejection method, run on the whole array
    at once: each round proposes for every element and keeps the first
    accepted value (about 1.05 rounds on average for shape >= 1). Shapes
    below 1 use ``Gamma(a) = Gamma(a + 1) U^(1/a)`` in log space, so tiny
    shapes do not underflow. ``jax.random.gamma`` is exact too, but XLA takes
    seconds to compile its per-element loop; this compiles in milliseconds.

    Examples
    --------
    >>> log_gamma_draws(jr.key(0), 2.0, (3,), jnp.float64).shape
    (3,)
    """
    alpha = jnp.broadcast_to(jnp.asarray(alpha, dt), shape)
    boost = alpha < 1
    a = jnp.where(boost, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    key, k_boost = jr.split(key)

    def cond(state):
        return ~jnp.all(state[2])

    def body(state):
        key, x, done = state
        key, kz, ku = jr.split(key, 3)
        z = jr.normal(kz, shape, dt)
        u = jr.uniform(ku, shape, dt)
        v = (1.0 + c * z) ** 3
        safe_v = jnp.where(v > 0, v, 1.0)
        ok = (v > 0) & (jnp.log(u) < 0.5 * z * z + d - d * safe_v + d * jnp.log(safe_v))
        x = jnp.where(~done & ok, jnp.log(d * safe_v), x)
        return key, x, done | ok

    init = (key, jnp.zeros(shape, dt), jnp.zeros(shape, bool))
    _, log_x, _ = jax.lax.while_loop(cond, body, init)
    log_u = jnp.log(jr.uniform(k_boost, shape, dt, minval=jnp.finfo(dt).tiny))
    return log_x + jnp.where(boost, log_u / alpha, 0.0)


def gamma_draws(key, alpha, shape, dt):
    """``Gamma(alpha, 1)`` draws (see :func:`log_gamma_draws`).

    Examples
    --------
    >>> bool((gamma_draws(jr.key(0), 0.5, (4,), jnp.float64) > 0).all())
    True
    """
    return jnp.exp(log_gamma_draws(key, alpha, shape, dt))


def beta_draws(key, a, b, shape, dt):
    """``Beta(a, b)`` draws, as a ratio of gamma draws in log space.

    Examples
    --------
    >>> x = beta_draws(jr.key(0), 2.0, 3.0, (4,), jnp.float64)
    >>> bool(((x > 0) & (x < 1)).all())
    True
    """
    ka, kb = jr.split(key)
    return jax.nn.sigmoid(
        log_gamma_draws(ka, a, shape, dt) - log_gamma_draws(kb, b, shape, dt)
    )


def std_t_draws(key, nu, shape, dt):
    """Standard Student-t draws: ``z / sqrt(chi2_nu / nu)``, ``chi2_nu = 2 Gamma(nu/2)``.

    Examples
    --------
    >>> std_t_draws(jr.key(0), 3.0, (2, 2), jnp.float64).shape
    (2, 2)
    """
    kz, kg = jr.split(key)
    nu = jnp.asarray(nu, dt)
    log_w = 0.5 * (log_gamma_draws(kg, nu / 2, shape, dt) + np.log(2.0) - jnp.log(nu))
    return jr.normal(kz, shape, dt) * jnp.exp(-log_w)


def binomial_draws(key, n, p, shape, dt):
    """Binomial counts (as floats of ``dt``) of ``n`` trials of probability ``p``.

    Examples
    --------
    >>> binomial_draws(jr.key(0), 10, 0.5, (3,), jnp.float64).shape
    (3,)
    """
    n, p = jnp.broadcast_to(n, shape), jnp.broadcast_to(p, shape)
    return jnp.round(jr.binomial(key, n.astype(dt), p.astype(dt), shape, dt))


def gaussian_draws(key, chol, shape, dt):
    """``L z`` for standard normal ``z``: zero-mean normals of covariance ``L L^T``.

    The result has shape ``shape + (n,)``.

    Examples
    --------
    >>> gaussian_draws(jr.key(0), jnp.eye(3), (5,), jnp.float64).shape
    (5, 3)
    """
    z = jr.normal(key, shape + chol.shape[-1:], dt)
    return mm(chol, z[..., None])[..., 0]


def multinomial_counts(key, n, p, size, dt):
    """Multinomial counts (floats) of ``n`` trials, ``p`` along the last axis.

    Examples
    --------
    >>> x = multinomial_counts(jr.key(0), 5, jnp.array([0.5, 0.5]), (3,), jnp.float64)
    >>> x.sum(axis=-1).tolist()
    [5.0, 5.0, 5.0]
    """
    n, p = broadcast_params([n, p], [0, 1], size)
    p = p / jnp.sum(p, axis=-1, keepdims=True)
    counts = jr.multinomial(
        key, n.astype(dt), p.astype(dt), shape=tuple(size) + p.shape[-1:], dtype=dt
    )
    return jnp.round(counts)


def log_concave_int_draws(key, log_q, mode, width, shape, dt):
    """Integers (as floats) from a log-concave mass ``p(x) ∝ exp(log_q(x))``.

    Rejection from an envelope that is flat (at the mode's height) over
    ``mode ± width`` and geometric beyond, with the ratios
    ``p(b ± 1) / p(b)`` at its edges ``b``: log-concavity makes it an upper
    bound. With ``width`` about a standard deviation, about 3 in 4 proposals
    are accepted; every element proposes each round of a ``lax.while_loop``.
    ``log_q`` maps integer-valued floats to log-masses (``-inf`` outside
    the support); ``mode`` must be a mode and ``width >= 1``.

    Examples
    --------
    >>> def log_q(x):  # a discretized normal around 3
    ...     return -0.5 * (x - 3.0) ** 2
    >>> x = log_concave_int_draws(jr.key(0), log_q, 3.0, 1.0, (100,), jnp.float64)
    >>> bool((x == jnp.round(x)).all())
    True
    """
    m = jnp.broadcast_to(mode, shape)
    w = jnp.broadcast_to(width, shape)
    top = jnp.maximum(jnp.maximum(log_q(m - 1), log_q(m)), log_q(m + 1))

    def lq(x):
        return log_q(x) - top

    def tail(edge, step):
        q_edge = lq(edge)
        log_r = jnp.where(q_edge > -np.inf, lq(edge + step) - q_edge, -np.inf)
        log_r = jnp.minimum(log_r, -1e-12)  # a ratio below 1 beyond the mode
        # mass sum_{j >= 1} q_edge r^j = q_edge r / (1 - r)
        mass = jnp.exp(q_edge + log_r - jnp.log(-jnp.expm1(log_r)))
        return q_edge, log_r, mass

    q_r, log_rr, mass_r = tail(m + w, 1.0)
    q_l, log_rl, mass_l = tail(m - w, -1.0)
    mass_c = 2.0 * w + 1.0
    total = mass_c + mass_r + mass_l
    tiny = jnp.finfo(dt).tiny

    def cond(state):
        return ~jnp.all(state[2])

    def body(state):
        key, x, done = state
        key, k0, k1, k2 = jr.split(key, 4)
        t = jr.uniform(k0, shape, dt) * total
        u = jr.uniform(k1, shape, dt, minval=tiny)
        x_c = jnp.minimum(m - w + jnp.floor(u * mass_c), m + w)
        j_r = 1.0 + jnp.floor(jnp.log(u) / log_rr)
        j_l = 1.0 + jnp.floor(jnp.log(u) / log_rl)
        right = t >= mass_c
        left = t >= mass_c + mass_r
        x_new = jnp.where(left, m - w - j_l, jnp.where(right, m + w + j_r, x_c))
        log_env = jnp.where(
            left, q_l + j_l * log_rl, jnp.where(right, q_r + j_r * log_rr, 0.0)
        )
        log_v = jnp.log(jr.uniform(k2, shape, dt, minval=tiny))
        ok = log_v + log_env <= lq(x_new)
        x = jnp.where(~done & ok, x_new, x)
        return key, x, done | ok

    _, x, _ = jax.lax.while_loop(
        cond, body, (key, jnp.zeros(shape, dt), jnp.zeros(shape, bool))
    )
    return x
