"""Count distributions on ``0, 1, 2, ...`` (draws are int64).

Binomial, BetaBinomial, Poisson, NegativeBinomial, Geometric and
HyperGeometric; those on a finite set given by their parameters are in
:mod:`.finite`.

JAX samplers: :mod:`tessera.ppl.jax.discrete.counts`.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ppl.distributions.base import Discrete
from tessera.ppl.distributions.dist_math import (
    NEG_INF,
    log_binom,
    log_gammaincc,
    logcdf_by_summation,
)
from tessera.ppl.distributions.params import p_from_logit, positive, probability
from tessera.random.op import RandomVariable


class NonNegativeDiscrete(Discrete):
    """Base of distributions on ``0, 1, 2, ...``."""

    support = "nonnegative_integers"

    @classmethod
    def _support_mask(cls, value, *params):
        return tm.ge(value, 0)

    @classmethod
    def _support_bounds(cls, *params):
        return (0, None)


def _masked_logp(cls):
    """``k, *params -> logp`` with ``-inf`` outside the support (for sums)."""

    def fn(k, *params):
        mask = cls._support_mask(k, *params)
        return tm.where(mask, cls._logp(k, *params), NEG_INF)

    return fn


# --- Binomial -----------------------------------------------------------------------
class BinomialRV(RandomVariable):
    name, signature, dtype = "binomial", "(),()->()", "int64"

    def scipy_dist(self, n, p):
        return st.binom(n, p)

    def rng_fn(self, rng, n, p, size):
        return rng.binomial(n, p, size=size)


class Binomial(NonNegativeDiscrete):
    r"""Binomial distribution: successes in ``n`` trials of probability ``p``.

    .. math:: f(x \mid n, p) = \binom{n}{x} p^x (1-p)^{n-x}, \quad 0 \le x \le n

    Parameters: ``n`` >= 0 (integer), ``p`` in [0, 1] or ``logit_p``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Binomial.dist(4, 0.5), 2).eval()), 4)
    -0.9808
    """

    rv_op = BinomialRV()
    params = ("n", "p")
    integer_params = ("n",)

    @classmethod
    def _canonical_params(cls, n, p=None, logit_p=None):
        return [n, p_from_logit(p, logit_p)]

    @classmethod
    def _param_conditions(cls, n, p):
        return [(tm.ge(n, 0), "n >= 0")] + probability("p", p)

    @classmethod
    def _support_mask(cls, value, n, p):
        return tm.logical_and(tm.ge(value, 0), tm.le(value, n))

    @classmethod
    def _support_bounds(cls, n, p):
        return (0, n)

    @classmethod
    def _logp(cls, value, n, p):
        return log_binom(n, value) + tm.xlogy(value, p) + tm.xlog1py(n - value, -p)

    @classmethod
    def _logcdf(cls, value, n, p):
        k = tm.clip(tm.floor(value), 0, tm.maximum(n - 1, 0))
        # above the median log1p(-P(X > k)) keeps the upper tail's digits
        lo = tm.betainc(n - k, k + 1.0, 1.0 - p)
        up = tm.betainc(k + 1.0, n - k, p)
        lc = tm.where(tm.lt(lo, 0.5), tm.log(lo), tm.log1p(-up))
        return tm.where(tm.lt(value, 0), NEG_INF, tm.where(tm.ge(value, n), 0.0, lc))

    @classmethod
    def _moment(cls, n, p):
        return tm.floor(n * p)


# --- Beta-binomial ---------------------------------------------------------------------
class BetaBinomialRV(RandomVariable):
    name, signature, dtype = "betabinomial", "(),(),()->()", "int64"

    def scipy_dist(self, alpha, beta, n):
        return st.betabinom(n, alpha, beta)

    def rng_fn(self, rng, alpha, beta, n, size):
        return rng.binomial(n, rng.beta(alpha, beta, size=size))


class BetaBinomial(NonNegativeDiscrete):
    r"""Beta-binomial distribution: a binomial whose ``p`` is Beta(alpha, beta).

    .. math:: f(x \mid \alpha, \beta, n) = \binom{n}{x}
              \frac{B(x + \alpha, n - x + \beta)}{B(\alpha, \beta)},
              \quad 0 \le x \le n

    Parameters: ``alpha`` > 0, ``beta`` > 0, ``n`` >= 0 (integer).
    The log-CDF sums the mass (vectorized over ``0..max(value)``).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.BetaBinomial.dist(1.0, 1.0, 3), 2).eval()), 4)
    -1.3863
    """

    rv_op = BetaBinomialRV()
    params = ("alpha", "beta", "n")
    integer_params = ("n",)

    @classmethod
    def _param_conditions(cls, alpha, beta, n):
        return [*positive(alpha=alpha, beta=beta), (tm.ge(n, 0), "n >= 0")]

    @classmethod
    def _support_mask(cls, value, alpha, beta, n):
        return tm.logical_and(tm.ge(value, 0), tm.le(value, n))

    @classmethod
    def _support_bounds(cls, alpha, beta, n):
        return (0, n)

    @classmethod
    def _logp(cls, value, alpha, beta, n):
        return (
            log_binom(n, value)
            + tm.betaln(value + alpha, n - value + beta)
            - tm.betaln(alpha, beta)
        )

    @classmethod
    def _logcdf(cls, value, alpha, beta, n):
        x = tm.minimum(value, n)
        # a sum of rounded masses may pass 1 by an ulp: a log-CDF stays <= 0
        lc = tm.minimum(logcdf_by_summation(_masked_logp(cls), x, alpha, beta, n), 0.0)
        return tm.where(tm.lt(value, 0), NEG_INF, tm.where(tm.ge(value, n), 0.0, lc))

    @classmethod
    def _moment(cls, alpha, beta, n):
        return tm.floor(n * alpha / (alpha + beta))


# --- Poisson -------------------------------------------------------------------------------
class PoissonRV(RandomVariable):
    name, signature, dtype = "poisson", "()->()", "int64"

    def scipy_dist(self, mu):
        return st.poisson(mu)

    def rng_fn(self, rng, mu, size):
        return rng.poisson(mu, size=size)


class Poisson(NonNegativeDiscrete):
    r"""Poisson distribution.

    .. math:: f(x \mid \mu) = \frac{\mu^x e^{-\mu}}{x!}, \quad x = 0, 1, \ldots

    Parameters: ``mu`` >= 0 (rate).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Poisson.dist(2.0), 0).eval()), 4)
    -2.0
    """

    rv_op = PoissonRV()
    params = ("mu",)

    @classmethod
    def _param_conditions(cls, mu):
        return [(tm.ge(mu, 0.0), "mu >= 0")]

    @classmethod
    def _logp(cls, value, mu):
        return tm.xlogy(value, mu) - tm.gammaln(value + 1.0) - mu

    @classmethod
    def _logcdf(cls, value, mu):
        k = tm.maximum(tm.floor(value), 0)
        lc = log_gammaincc(k + 1.0, mu)
        return tm.where(tm.lt(value, 0), NEG_INF, lc)

    @classmethod
    def _moment(cls, mu):
        return tm.floor(mu)


# --- Negative binomial --------------------------------------------------------------------
class NegativeBinomialRV(RandomVariable):
    name, signature, dtype = "nbinom", "(),()->()", "int64"

    def scipy_dist(self, n, p):
        return st.nbinom(n, p)

    def rng_fn(self, rng, n, p, size):
        return rng.negative_binomial(n, p, size=size)


class NegativeBinomial(NonNegativeDiscrete):
    r"""Negative binomial distribution: failures before the ``n``-th success.

    .. math:: f(x \mid n, p) = \frac{\Gamma(x + n)}{x!\,\Gamma(n)} p^n (1-p)^x

    Parameters: ``mu`` > 0 (mean) and ``alpha`` > 0 (dispersion), so
    ``n = alpha`` and ``p = alpha / (mu + alpha)``; or ``n`` > 0 and ``p``
    in (0, 1] directly (the op's parameters are ``n, p``).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.NegativeBinomial.dist(mu=2.0, alpha=1.0), 0).eval()), 4)
    -1.0986
    """

    rv_op = NegativeBinomialRV()
    params = ("n", "p")

    @classmethod
    def _canonical_params(cls, mu=None, alpha=None, p=None, n=None):
        if mu is not None and alpha is not None and p is None and n is None:
            mu = as_tensor(mu, dtype=config.floatX)
            alpha = as_tensor(alpha, dtype=config.floatX)
            return [alpha, alpha / (mu + alpha)]
        if n is not None and p is not None and mu is None and alpha is None:
            return [n, p]
        raise ValueError("NegativeBinomial: give either mu and alpha, or n and p")

    @classmethod
    def _param_conditions(cls, n, p):
        return [
            (tm.gt(n, 0.0), "n > 0"),
            (tm.logical_and(tm.gt(p, 0.0), tm.le(p, 1.0)), "0 < p <= 1"),
        ]

    @classmethod
    def _logp(cls, value, n, p):
        return (
            tm.gammaln(value + n)
            - tm.gammaln(n)
            - tm.gammaln(value + 1.0)
            + n * tm.log(p)
            + tm.xlog1py(value, -p)
        )

    @classmethod
    def _logcdf(cls, value, n, p):
        k = tm.maximum(tm.floor(value), 0)
        lo = tm.betainc(n, k + 1.0, p)
        up = tm.betainc(k + 1.0, n, 1.0 - p)
        lc = tm.where(tm.lt(lo, 0.5), tm.log(lo), tm.log1p(-up))
        return tm.where(tm.lt(value, 0), NEG_INF, lc)

    @classmethod
    def _moment(cls, n, p):
        return tm.floor(n * (1.0 - p) / p)


# --- Geometric -------------------------------------------------------------------------------
class GeometricRV(RandomVariable):
    name, signature, dtype = "geometric", "()->()", "int64"

    def scipy_dist(self, p):
        return st.geom(p)

    def rng_fn(self, rng, p, size):
        return rng.geometric(p, size=size)


class Geometric(Discrete):
    r"""Geometric distribution: trials up to and including the first success.

    .. math:: f(x \mid p) = p (1 - p)^{x - 1}, \quad x = 1, 2, \ldots

    Parameters: ``p`` in (0, 1].

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Geometric.dist(0.5), 2).eval()), 4)
    -1.3863
    """

    rv_op = GeometricRV()
    params = ("p",)
    support = "positive_integers"

    @classmethod
    def _param_conditions(cls, p):
        return [(tm.logical_and(tm.gt(p, 0.0), tm.le(p, 1.0)), "0 < p <= 1")]

    @classmethod
    def _support_mask(cls, value, p):
        return tm.ge(value, 1)

    @classmethod
    def _support_bounds(cls, p):
        return (1, None)

    @classmethod
    def _logp(cls, value, p):
        return tm.log(p) + tm.xlog1py(value - 1, -p)

    @classmethod
    def _logcdf(cls, value, p):
        k = tm.maximum(tm.floor(value), 1)
        return tm.where(tm.lt(value, 1), NEG_INF, tm.log1mexp(k * tm.log1p(-p)))

    @classmethod
    def _moment(cls, p):
        return tm.round(1.0 / p)


# --- Hypergeometric ---------------------------------------------------------------------------
class HyperGeometricRV(RandomVariable):
    name, signature, dtype = "hypergeometric", "(),(),()->()", "int64"

    def scipy_dist(self, N, k, n):
        return st.hypergeom(N, k, n)

    def rng_fn(self, rng, N, k, n, size):
        return rng.hypergeometric(k, np.asarray(N) - k, n, size=size)


class HyperGeometric(Discrete):
    r"""Hypergeometric distribution: successes in ``n`` draws without replacement
    from ``N`` items of which ``k`` are successes.

    .. math:: f(x \mid N, k, n) = \frac{\binom{k}{x}\binom{N-k}{n-x}}{\binom{N}{n}},
              \quad \max(0, n - N + k) \le x \le \min(k, n)

    Parameters: ``N`` >= 0, ``0 <= k <= N``, ``0 <= n <= N`` (integers).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.HyperGeometric.dist(10, 5, 2), 1).eval()), 4)
    -0.5878
    """

    rv_op = HyperGeometricRV()
    params = ("N", "k", "n")
    integer_params = ("N", "k", "n")
    support = "nonnegative_integers"

    @classmethod
    def _param_conditions(cls, N, k, n):
        return [
            (tm.logical_and(tm.ge(k, 0), tm.le(k, N)), "0 <= k <= N"),
            (tm.logical_and(tm.ge(n, 0), tm.le(n, N)), "0 <= n <= N"),
        ]

    @classmethod
    def _support_mask(cls, value, N, k, n):
        lo = tm.maximum(0, n - N + k)
        return tm.logical_and(tm.ge(value, lo), tm.le(value, tm.minimum(k, n)))

    @classmethod
    def _support_bounds(cls, N, k, n):
        return (tm.maximum(0, n - N + k), tm.minimum(k, n))

    @classmethod
    def _logp(cls, value, N, k, n):
        return log_binom(k, value) + log_binom(N - k, n - value) - log_binom(N, n)

    @classmethod
    def _logcdf(cls, value, N, k, n):
        hi = tm.minimum(k, n)
        x = tm.minimum(value, hi)
        lc = tm.minimum(logcdf_by_summation(_masked_logp(cls), x, N, k, n), 0.0)
        lo = tm.maximum(0, n - N + k)
        return tm.where(tm.lt(value, lo), NEG_INF, tm.where(tm.ge(value, hi), 0.0, lc))

    @classmethod
    def _moment(cls, N, k, n):
        return tm.floor(n * k / N)
