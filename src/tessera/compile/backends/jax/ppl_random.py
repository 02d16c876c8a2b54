"""JAX samplers of the distributions of :mod:`tessera.ppl` (``jax.random``).

Each sampler draws the same distribution as the op's NumPy ``rng_fn`` (not
the same numbers). Samplers are registered against the op class of each
distribution's ``rv_op``, looked up by distribution name, so moving an op
between modules does not matter. Distributions without a sampler here
(von Mises, hypergeometric, Wishart, inverse Wishart, Kronecker normal,
mixtures, truncated, stick-breaking, multinomial and Dirichlet-multinomial)
fail at compile time on the JAX backend with an error naming their op.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.random import jax_sample


def log_gamma_draws(key, alpha, shape, dt):
    """``log X`` for ``X ~ Gamma(alpha, 1)`` of the given shape (float dtype ``dt``).

    Marsaglia & Tsang's squeeze-free rejection method, run on the whole array
    at once: each round proposes for every element and keeps the first
    accepted value (about 1.05 rounds on average for shape >= 1). Shapes
    below 1 use ``Gamma(a) = Gamma(a + 1) U^(1/a)`` in log space, so tiny
    shapes do not underflow. ``jax.random.gamma`` is exact too, but XLA takes
    seconds to compile its per-element loop; this compiles in milliseconds.
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


def _samplers(dt) -> dict[str, Callable]:
    """Distribution name -> ``sample(key, *params, size)`` drawing in ``dt``.

    Integer distributions draw their intermediate values in float64.
    """
    dt = dt if jnp.dtype(dt).kind == "f" else jnp.float64

    def normal(key, size):
        return jr.normal(key, size, dt)

    def log_gamma(key, alpha, size):
        return log_gamma_draws(key, alpha, size, dt)

    def gamma(key, alpha, size):
        return jnp.exp(log_gamma(key, alpha, size))

    def beta(key, a, b, size):
        ka, kb = jr.split(key)
        return jax.nn.sigmoid(log_gamma(ka, a, size) - log_gamma(kb, b, size))

    def std_t(key, nu, size):
        # z / sqrt(chi2_nu / nu), with chi2_nu = 2 Gamma(nu / 2)
        kz, kg = jr.split(key)
        nu = jnp.asarray(nu, dt)
        log_w = 0.5 * (log_gamma(kg, nu / 2, size) + np.log(2.0) - jnp.log(nu))
        return normal(kz, size) * jnp.exp(-log_w)

    def asymmetric_laplace(key, b, kappa, mu, size):
        u = jr.uniform(key, size, dt)
        switch = kappa**2 / (1 + kappa**2)
        left = mu + kappa * jnp.log(u / switch) / b
        right = mu - jnp.log((1 - u) * (1 + kappa**2)) / (kappa * b)
        return jnp.where(u <= switch, left, right)

    def skew_normal(key, mu, sigma, alpha, size):
        k0, k1 = jr.split(key)
        delta = alpha / jnp.sqrt(1.0 + alpha * alpha)
        u0, v = normal(k0, size), normal(k1, size)
        u1 = delta * u0 + jnp.sqrt(1.0 - delta * delta) * v
        return mu + sigma * jnp.where(u0 >= 0, u1, -u1)

    def ex_gaussian(key, mu, sigma, nu, size):
        k0, k1 = jr.split(key)
        return mu + sigma * normal(k0, size) + nu * jr.exponential(k1, size, dt)

    def wald(key, mu, lam, alpha, size):
        # Michael, Schucany & Haas: a root of the chi-square transform,
        # chosen with probability mu / (mu + x)
        k0, k1 = jr.split(key)
        y = normal(k0, size) ** 2
        x = (
            mu
            + mu * mu * y / (2 * lam)
            - mu / (2 * lam) * jnp.sqrt(4 * mu * lam * y + (mu * y) ** 2)
        )
        u = jr.uniform(k1, size, dt)
        return jnp.where(u <= mu / (mu + x), x, mu * mu / x) + alpha

    def binomial(key, n, p, size):
        n, p = jnp.broadcast_to(n, size), jnp.broadcast_to(p, size)
        return jnp.round(jr.binomial(key, n.astype(dt), p.astype(dt), size, dt))

    def beta_binomial(key, alpha, beta_, n, size):
        k0, k1 = jr.split(key)
        return binomial(k1, n, beta(k0, alpha, beta_, size), size)

    def negative_binomial(key, n, p, size):
        k0, k1 = jr.split(key)
        lam = gamma(k0, n, size) * (1 - p) / p
        return jr.poisson(k1, lam, size)

    def categorical(key, p, size):
        return jr.categorical(key, jnp.log(p), axis=-1, shape=size)

    def dirichlet(key, a, size):
        a = jnp.asarray(a, dt)
        return jax.nn.softmax(log_gamma(key, a, size + a.shape[-1:]), axis=-1)

    def gaussian(key, chol, size):
        z = normal(key, size + chol.shape[-1:])
        return jnp.matmul(chol, z[..., None], precision="highest")[..., 0]

    def mv_student_t(key, nu, mu, chol, size):
        k0, k1 = jr.split(key)
        nu = jnp.asarray(nu, dt)
        log_w = 0.5 * (log_gamma(k0, nu / 2, size) + np.log(2.0) - jnp.log(nu))
        return mu + gaussian(k1, chol, size) * jnp.exp(-log_w)[..., None]

    def low_rank_mv_normal(key, mu, w, d, size):
        k0, k1 = jr.split(key)
        zk = normal(k0, size + w.shape[-1:])
        zn = normal(k1, size + d.shape[-1:])
        wz = jnp.matmul(w, zk[..., None], precision="highest")[..., 0]
        return mu + wz + jnp.sqrt(d) * zn

    def matrix_normal(key, mu, rowchol, colchol, size):
        z = normal(key, size + mu.shape[-2:])
        lz = jnp.matmul(rowchol, z, precision="highest")
        return mu + jnp.matmul(lz, jnp.swapaxes(colchol, -1, -2), precision="highest")

    return {
        "Normal": lambda k, mu, sigma, size: mu + sigma * normal(k, size),
        "StudentT": lambda k, nu, mu, sigma, size: mu + sigma * std_t(k, nu, size),
        "Cauchy": lambda k, a, b, size: a + b * jr.cauchy(k, size, dt),
        "Laplace": lambda k, mu, b, size: mu + b * jr.laplace(k, size, dt),
        "AsymmetricLaplace": asymmetric_laplace,
        "Logistic": lambda k, mu, s, size: mu + s * jr.logistic(k, size, dt),
        "Gumbel": lambda k, mu, beta, size: mu + beta * jr.gumbel(k, size, dt),
        "SkewNormal": skew_normal,
        "ExGaussian": ex_gaussian,
        "HalfNormal": lambda k, sigma, size: jnp.abs(sigma * normal(k, size)),
        "HalfStudentT": lambda k, nu, s, size: jnp.abs(s * std_t(k, nu, size)),
        "HalfCauchy": lambda k, b, size: jnp.abs(b * jr.cauchy(k, size, dt)),
        "LogNormal": lambda k, mu, sigma, size: jnp.exp(mu + sigma * normal(k, size)),
        "Exponential": lambda k, lam, size: jr.exponential(k, size, dt) / lam,
        "Gamma": lambda k, alpha, beta, size: gamma(k, alpha, size) / beta,
        "InverseGamma": lambda k, alpha, beta, size: beta / gamma(k, alpha, size),
        "Weibull": lambda k, alpha, beta, size: (
            beta * jr.exponential(k, size, dt) ** (1.0 / alpha)
        ),
        "ChiSquared": lambda k, nu, size: 2.0 * gamma(k, jnp.asarray(nu) / 2, size),
        "Pareto": lambda k, alpha, m, size: (
            m * jnp.exp(jr.exponential(k, size, dt) / alpha)
        ),
        "Wald": wald,
        "Beta": beta,
        "Kumaraswamy": lambda k, a, b, size: (
            (1.0 - (1.0 - jr.uniform(k, size, dt)) ** (1.0 / b)) ** (1.0 / a)
        ),
        "Uniform": lambda k, lo, hi, size: jr.uniform(k, size, dt, lo, hi),
        "TruncatedNormal": lambda k, mu, sigma, lo, hi, size: (
            mu
            + sigma
            * jr.truncated_normal(k, (lo - mu) / sigma, (hi - mu) / sigma, size, dt)
        ),
        "Bernoulli": lambda k, p, size: jr.bernoulli(k, p, size),
        "Binomial": binomial,
        "BetaBinomial": beta_binomial,
        "Poisson": lambda k, mu, size: jr.poisson(k, mu, size),
        "NegativeBinomial": negative_binomial,
        "Geometric": lambda k, p, size: jr.geometric(k, p, size),
        "DiscreteUniform": lambda k, lo, hi, size: jr.randint(
            k,
            size,
            jnp.asarray(lo, jnp.int64),
            jnp.asarray(hi, jnp.int64) + 1,
            jnp.int64,
        ),
        "Categorical": categorical,
        "Dirichlet": dirichlet,
        "MvNormal": lambda k, mu, chol, size: mu + gaussian(k, chol, size),
        "MvStudentT": mv_student_t,
        "LowRankMvNormal": low_rank_mv_normal,
        "MatrixNormal": matrix_normal,
    }


_NAMES = list(_samplers("float64"))


def _register_all() -> None:
    from tessera import ppl

    for name in _NAMES:
        dist = getattr(ppl, name, None)
        op = getattr(dist, "rv_op", None)
        if op is None:
            continue

        @jax_sample.register(type(op))
        def _(op, node, _name=name):
            return _samplers(node.outputs[1].type.numpy_dtype)[_name]

    for name in (
        "ZeroInflatedPoisson",
        "ZeroInflatedBinomial",
        "ZeroInflatedNegativeBinomial",
    ):
        if hasattr(ppl, name):
            jax_sample.register(type(getattr(ppl, name).rv_op))(_zero_inflated)


def _zero_inflated(op, node) -> Callable:
    base = jax_sample(op.base_op, node)

    def sample(key, psi, *params, size):
        k0, k1 = jax.random.split(key)
        keep = jr.uniform(k1, size) < psi
        return jnp.where(keep, base(k0, *params, size=size), 0)

    return sample


_register_all()
