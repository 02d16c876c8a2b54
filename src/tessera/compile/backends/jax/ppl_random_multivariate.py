"""JAX samplers of the multivariate distributions of :mod:`tessera.ppl`.

Matrices (Wishart, inverse Wishart, LKJ), counts (multinomial,
Dirichlet-multinomial), simplex weights (stick-breaking), structured
normals (Kronecker, CAR, ICAR, zero-sum) and the multivariate Gaussian random
walk. Each draws the same distribution as the op's NumPy ``rng_fn``, for
parameters with any batch dims, in whole-batch array operations; loops run
only over event dims of static size (and compile once, in a ``lax.scan``).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.ppl_random import (
    float_dtype,
    log_gamma_draws,
    register_sampler,
    sub_sampler,
)
from tessera.compile.backends.jax.random import broadcast_params

_HI = "highest"


def _mm(a, b):
    return jnp.matmul(a, b, precision=_HI)


def _t(a):
    return jnp.swapaxes(a, -1, -2)


def bartlett_factors(key, nu, size, n: int, dt):
    """Lower-triangular ``A`` with ``A A^T ~ Wishart(nu, I_n)``, shape ``size + (n, n)``.

    ``A_ii = sqrt(chi2(nu - i))`` (a chi-square is twice a gamma draw) and
    standard normals below the diagonal.
    """
    kz, kg = jr.split(key)
    nu = jnp.broadcast_to(jnp.asarray(nu, dt), size)
    a = jnp.tril(jr.normal(kz, size + (n, n), dt), -1)
    half_df = (nu[..., None] - jnp.arange(n, dtype=dt)) / 2.0
    diag = jnp.exp(0.5 * (log_gamma_draws(kg, half_df, size + (n,), dt) + np.log(2.0)))
    return a + diag[..., None] * jnp.eye(n, dtype=dt)


@register_sampler("Wishart")
def _wishart(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, nu, chol, size):
        b = _mm(chol, bartlett_factors(key, nu, size, chol.shape[-1], dt))
        return _mm(b, _t(b))

    return sample


@register_sampler("InverseWishart")
def _inverse_wishart(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, nu, chol, size):
        (chol,) = broadcast_params([chol], [2], size)
        a = bartlett_factors(key, nu, size, chol.shape[-1], dt)
        # X = B B^T with B = L A^-T: solve A B^T = L^T
        bt = jax.scipy.linalg.solve_triangular(a, _t(chol), lower=True)
        return _mm(_t(bt), bt)

    return sample


@register_sampler("KroneckerNormal")
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
            x = _mm(root, x.reshape(x.shape[:-1] + (m, -1)))
            x = _t(x).reshape(x.shape[:-2] + (-1,))
        noise = jr.normal(kn, x.shape, dt) * jnp.asarray(sigma, dt)[..., None]
        return mu + x + noise

    return sample


def multinomial_counts(key, n, p, size, dt):
    """Multinomial counts (floats) of ``n`` trials, ``p`` along the last axis."""
    n, p = broadcast_params([n, p], [0, 1], size)
    p = p / jnp.sum(p, axis=-1, keepdims=True)
    counts = jr.multinomial(
        key, n.astype(dt), p.astype(dt), shape=tuple(size) + p.shape[-1:], dtype=dt
    )
    return jnp.round(counts)


@register_sampler("Multinomial")
def _multinomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, n, p, size):
        return multinomial_counts(key, n, p, size, dt)

    return sample


@register_sampler("DirichletMultinomial")
def _dirichlet_multinomial(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, n, a, size):
        kp, kc = jr.split(key)
        (a,) = broadcast_params([a], [1], size)
        p = jax.nn.softmax(log_gamma_draws(kp, a, a.shape, dt), axis=-1)
        return multinomial_counts(kc, n, p, size, dt)

    return sample


@register_sampler("StickBreakingWeights")
def _stick_breaking(op, node) -> Callable:
    dt = float_dtype(node)
    K = op.K

    def sample(key, alpha, size):
        alpha = jnp.broadcast_to(jnp.asarray(alpha, dt), size)[..., None]
        # v ~ Beta(1, alpha) has 1 - v = U^(1/alpha): the stick left over
        # after each break is a cumulative product of those, in log space
        u = jr.uniform(key, size + (K,), dt, minval=jnp.finfo(dt).tiny)
        log_rest = jnp.cumsum(jnp.log(u) / alpha, axis=-1)
        rest = jnp.exp(log_rest)
        before = jnp.concatenate([jnp.ones(size + (1,), dt), rest[..., :-1]], axis=-1)
        v = -jnp.expm1(jnp.log(u) / alpha)
        return jnp.concatenate([v * before, rest[..., -1:]], axis=-1)

    return sample


def onion_cholesky(key, eta, size, n: int, dt):
    """Cholesky factors of LKJ(eta) correlation matrices (the onion method).

    Row ``k`` is ``sqrt(y_k) u_k`` with ``u_k`` uniform on the unit sphere
    of dimension ``k`` and ``y_k ~ Beta(k/2, eta + (n - 1 - k)/2)``, then
    ``sqrt(1 - y_k)`` on the diagonal; every row is drawn at once.
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


@register_sampler("LKJCholesky")
def _lkj_cholesky(op, node) -> Callable:
    dt = float_dtype(node)

    def sample(key, eta, size):
        return onion_cholesky(key, eta, size, op.n, dt)

    return sample


@register_sampler("LKJCorr")
def _lkj_corr(op, node) -> Callable:
    dt = float_dtype(node)
    eye = np.eye(op.n, dtype=bool)

    def sample(key, eta, size):
        chol = onion_cholesky(key, eta, size, op.n, dt)
        return jnp.where(eye, 1.0, _mm(chol, _t(chol)))  # an exact unit diagonal

    return sample


@register_sampler("LKJCholeskyCov")
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


# Factorizations below run at the parameters' batch shape, not the draws':
# cheaper, and XLA's CPU runtime can deadlock when several large batched
# LAPACK calls run at once on a small machine.


@register_sampler("CAR")
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


@register_sampler("ICAR")
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
        return sigma * _mm(v, z[..., None])[..., 0]

    return sample


@register_sampler("ZeroSumNormal")
def _zero_sum_normal(op, node) -> Callable:
    dt = float_dtype(node)
    shape = op.support_shape

    def sample(key, sigma, size):
        (sigma,) = broadcast_params([sigma], [len(shape)], size)
        x = jr.normal(key, size + shape, dt) * sigma
        for axis in range(-len(shape), 0):
            x = x - jnp.mean(x, axis=axis, keepdims=True)
        return x

    return sample


@register_sampler("MvGaussianRandomWalk")
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
        innov = mu[..., None, :] + _mm(chol[..., None, :, :], z)[..., 0]
        return jnp.concatenate([x0, x0 + jnp.cumsum(innov, axis=-2)], axis=-2)

    return sample
