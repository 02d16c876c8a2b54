"""JAX samplers of the distributions of :mod:`tessera.ppl` (``jax.random``).

Each sampler draws the same distribution as the op's NumPy ``rng_fn`` (not
the same numbers), for batched parameters of any shape, without Python
loops over batch elements. Samplers are registered against the op classes
of each distribution, looked up by distribution name, so moving an op
between modules does not matter. This module holds the univariate samplers;
:mod:`.ppl_random_multivariate` the multivariate ones and
:mod:`.ppl_random_composite` those built on other ops (mixtures,
truncation). Every distribution of :mod:`tessera.ppl` has a sampler, except
the improper ``Flat`` and ``HalfFlat``, which have no draws (an error at
compile time, as NumPy raises at run time).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from tessera.compile.backends.jax.dispatch import JaxLoweringError
from tessera.compile.backends.jax.random import jax_sample


def op_types(dist_name: str) -> list[type]:
    """The random-variable op classes of the distribution called ``dist_name``."""
    from tessera import ppl  # noqa: F401  (registers every distribution)
    from tessera.ppl.distributions.base import _OP_TO_DIST

    return [op for op, dist in _OP_TO_DIST.items() if dist.__name__ == dist_name]


def register_sampler(*dist_names: str) -> Callable:
    """Register ``factory(op, node) -> sample`` for the ops of these distributions.

    Examples
    --------
    >>> @register_sampler("NoSuchDistribution")
    ... def _(op, node):
    ...     return lambda key, size: jr.normal(key, size)
    """

    def deco(factory: Callable) -> Callable:
        for name in dist_names:
            for op_type in op_types(name):
                jax_sample.register(op_type)(factory)
        return factory

    return deco


def float_dtype(node):
    """The float dtype a sampler draws in: the draw's, or float64 for integers."""
    dt = node.outputs[1].type.numpy_dtype
    return dt if jnp.dtype(dt).kind == "f" else jnp.dtype(jnp.float64)


def sub_sampler(op, params) -> Callable:
    """The sampler of ``op`` (a component of a composite op) given its params.

    ``params`` are the symbolic parameters the component receives (they
    give the node its dtypes and shapes).
    """
    return jax_sample(op, op.make_node(None, None, *params))


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


def vonmises_draws(key, mu, kappa, shape, dt):
    """Von Mises angles in ``[-pi, pi)``: Best & Fisher's rejection method.

    The whole array proposes each round (``lax.while_loop`` until every
    element is accepted); like NumPy, tiny ``kappa`` gives uniform angles and
    huge ``kappa`` a wrapped normal.
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


def log_concave_int_draws(key, log_q, mode, width, shape, dt):
    """Integers (as floats) from a log-concave mass ``p(x) ∝ exp(log_q(x))``.

    Rejection from an envelope that is flat (at the mode's height) over
    ``mode ± width`` and geometric beyond, with the ratios
    ``p(b ± 1) / p(b)`` at its edges ``b``: log-concavity makes it an upper
    bound. With ``width`` about a standard deviation, about 3 in 4 proposals
    are accepted; every element proposes each round of a ``lax.while_loop``.
    ``log_q`` maps integer-valued floats to log-masses (``-inf`` outside
    the support); ``mode`` must be a mode and ``width >= 1``.
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


def hypergeometric_draws(key, N, k, n, shape, dt):
    """Successes in ``n`` draws without replacement from ``N`` items, ``k`` good."""
    N, k, n = (jnp.broadcast_to(jnp.asarray(v, dt), shape) for v in (N, k, n))
    lo = jnp.maximum(0.0, n - N + k)
    hi = jnp.minimum(k, n)
    lg = jax.scipy.special.gammaln

    def log_q(x):
        inside = (x >= lo) & (x <= hi)
        xs = jnp.clip(x, lo, hi)
        val = -(lg(xs + 1) + lg(k - xs + 1) + lg(n - xs + 1) + lg(N - k - n + xs + 1))
        return jnp.where(inside, val, -np.inf)

    mode = jnp.clip(jnp.floor((n + 1) * (k + 1) / (N + 2)), lo, hi)
    var = n * k * (N - k) * (N - n) / jnp.maximum(N * N * (N - 1), 1.0)
    width = jnp.maximum(1.0, jnp.ceil(jnp.sqrt(var)))
    return log_concave_int_draws(key, log_q, mode, width, shape, dt)


def _ordered_draws(key, cdf, size):
    """The number of cumulative probabilities (last axis) below a uniform."""
    cdf = jnp.broadcast_to(cdf, tuple(size) + cdf.shape[-1:])
    u = jr.uniform(key, tuple(size) + (1,), cdf.dtype)
    return jnp.sum(cdf < u, axis=-1)


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
        "VonMises": lambda k, mu, kappa, size: vonmises_draws(k, mu, kappa, size, dt),
        "HyperGeometric": lambda k, N, k_, n, size: hypergeometric_draws(
            k, N, k_, n, size, dt
        ),
        "OrderedLogistic": lambda k, eta, c, size: _ordered_draws(
            k, jax.nn.sigmoid(c - jnp.asarray(eta, dt)[..., None]), size
        ),
        "OrderedProbit": lambda k, eta, c, sigma, size: _ordered_draws(
            k,
            jax.scipy.special.ndtr(
                (c - jnp.asarray(eta, dt)[..., None]) / jnp.asarray(sigma)[..., None]
            ),
            size,
        ),
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


@register_sampler("Flat", "HalfFlat")
def _improper(op, node) -> Callable:
    raise JaxLoweringError(
        f"JAX backend: {op} is an improper distribution: it has no draws (give "
        "the variable an initial value, or use a proper prior)"
    )


_register_all()
