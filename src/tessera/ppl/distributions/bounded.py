"""Continuous distributions on a bounded interval."""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from tessera.ops import math as tm
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import (
    NEG_INF,
    log_diff_ndtr,
    normal_logpdf,
)
from tessera.ppl.distributions.params import (
    params_or_moments,
    positive,
    positive_params,
    sigma_from,
)
from tessera.random.op import RandomVariable


def _in_closed(value, lower, upper):
    return tm.logical_and(tm.ge(value, lower), tm.le(value, upper))


def _clamp_logcdf(lc, value, lower, upper):
    """``-inf`` below ``lower``, ``0`` above ``upper``, ``lc`` between."""
    return tm.where(
        tm.lt(value, lower), NEG_INF, tm.where(tm.gt(value, upper), 0.0, lc)
    )


class UnitContinuous(Continuous):
    """Base of distributions on ``[0, 1]`` (log-odds transform by default)."""

    support = "unit"
    default_transform = "logodds"

    @classmethod
    def _support_mask(cls, value, *params):
        return _in_closed(value, 0.0, 1.0)

    @classmethod
    def _support_bounds(cls, *params):
        return (0.0, 1.0)


# --- Beta -----------------------------------------------------------------------------
class BetaRV(RandomVariable):
    name, signature, dtype = "beta", "(),()->()", "floatX"

    def scipy_dist(self, alpha, beta):
        return st.beta(alpha, beta)

    def rng_fn(self, rng, alpha, beta, size):
        return rng.beta(alpha, beta, size=size)


class Beta(UnitContinuous):
    r"""Beta distribution.

    .. math:: f(x \mid \alpha, \beta) = \frac{x^{\alpha-1} (1-x)^{\beta-1}}
              {B(\alpha, \beta)}, \quad 0 \le x \le 1

    Parameters: ``alpha`` > 0 and ``beta`` > 0, or ``mu`` in (0, 1) and
    ``sigma`` (mean and standard deviation, ``sigma**2 < mu (1 - mu)``).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Beta.dist(2.0, 2.0), 0.5).eval()), 4)
    0.4055
    """

    rv_op = BetaRV()
    params = ("alpha", "beta")
    _param_conditions = positive_params("alpha", "beta")

    @classmethod
    def _canonical_params(cls, alpha=None, beta=None, mu=None, sigma=None):
        def from_moments(mu, sigma):
            kappa = mu * (1.0 - mu) / sigma**2 - 1.0
            return [mu * kappa, (1.0 - mu) * kappa]

        return params_or_moments(
            "Beta",
            {"alpha": alpha, "beta": beta},
            {"mu": mu, "sigma": sigma},
            from_moments,
        )

    @classmethod
    def _logp(cls, value, alpha, beta):
        return (
            tm.xlogy(alpha - 1.0, value)
            + tm.xlog1py(beta - 1.0, -value)
            - tm.betaln(alpha, beta)
        )

    @classmethod
    def _logcdf(cls, value, alpha, beta):
        x = tm.clip(value, 0.0, 1.0)
        return _clamp_logcdf(tm.log(tm.betainc(alpha, beta, x)), value, 0.0, 1.0)

    @classmethod
    def _moment(cls, alpha, beta):
        return alpha / (alpha + beta)


# --- Kumaraswamy ---------------------------------------------------------------------
class KumaraswamyRV(RandomVariable):
    name, signature, dtype = "kumaraswamy", "(),()->()", "floatX"

    def rng_fn(self, rng, a, b, size):
        u = rng.uniform(size=size)
        return (1.0 - (1.0 - u) ** (1.0 / b)) ** (1.0 / a)


class Kumaraswamy(UnitContinuous):
    r"""Kumaraswamy distribution.

    .. math:: f(x \mid a, b) = a b x^{a-1} (1 - x^a)^{b-1}, \quad 0 \le x \le 1

    with CDF :math:`1 - (1 - x^a)^b`. Parameters: ``a`` > 0, ``b`` > 0.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.Kumaraswamy.dist(1.0, 1.0), 0.5).eval()), 4)
    -0.6931
    """

    rv_op = KumaraswamyRV()
    params = ("a", "b")
    _param_conditions = positive_params("a", "b")

    @classmethod
    def _logp(cls, value, a, b):
        return (
            tm.log(a)
            + tm.log(b)
            + tm.xlogy(a - 1.0, value)
            + tm.xlog1py(b - 1.0, -(value**a))
        )

    @classmethod
    def _logcdf(cls, value, a, b):
        x = tm.clip(value, 0.0, 1.0)
        lc = tm.log1mexp(b * tm.log1p(-(x**a)))
        return _clamp_logcdf(lc, value, 0.0, 1.0)

    @classmethod
    def _moment(cls, a, b):
        # the median
        return (1.0 - 2.0 ** (-1.0 / b)) ** (1.0 / a)


# --- Uniform ---------------------------------------------------------------------------
class UniformRV(RandomVariable):
    name, signature, dtype = "uniform", "(),()->()", "floatX"

    def scipy_dist(self, lower, upper):
        return st.uniform(lower, np.asarray(upper) - lower)

    def rng_fn(self, rng, lower, upper, size):
        return rng.uniform(lower, upper, size=size)


class Uniform(Continuous):
    r"""Continuous uniform distribution on ``[lower, upper]``.

    .. math:: f(x \mid l, u) = \frac{1}{u - l}, \quad l \le x \le u

    Parameters: ``lower`` (default 0) < ``upper`` (default 1).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Uniform.dist(0.0, 4.0), 1.0).eval()), 4)
    -1.3863
    """

    rv_op = UniformRV()
    params = ("lower", "upper")
    defaults = {"lower": 0.0, "upper": 1.0}
    support = "interval"
    default_transform = "interval"

    @classmethod
    def _param_conditions(cls, lower, upper):
        return [(tm.lt(lower, upper), "lower < upper")]

    @classmethod
    def _support_mask(cls, value, lower, upper):
        return _in_closed(value, lower, upper)

    @classmethod
    def _support_bounds(cls, lower, upper):
        return (lower, upper)

    @classmethod
    def _logp(cls, value, lower, upper):
        return -tm.log(upper - lower) + 0.0 * value

    @classmethod
    def _logcdf(cls, value, lower, upper):
        x = tm.clip(value, lower, upper)
        lc = tm.log(x - lower) - tm.log(upper - lower)
        return _clamp_logcdf(lc, value, lower, upper)

    @classmethod
    def _moment(cls, lower, upper):
        return 0.5 * (lower + upper)


# --- Truncated normal --------------------------------------------------------------------
class TruncatedNormalRV(RandomVariable):
    name, signature, dtype = "truncated_normal", "(),(),(),()->()", "floatX"

    def scipy_dist(self, mu, sigma, lower, upper):
        a = (np.asarray(lower) - mu) / sigma
        b = (np.asarray(upper) - mu) / sigma
        return st.truncnorm(a, b, mu, sigma)

    def rng_fn(self, rng, mu, sigma, lower, upper, size):
        return self.scipy_dist(mu, sigma, lower, upper).rvs(size=size, random_state=rng)


def _is_static_inf(v, sign: float) -> bool:
    val = get_static_value(v)
    return val is not None and bool(np.all(val == sign * np.inf))


class TruncatedNormal(Continuous):
    r"""Normal distribution truncated to ``[lower, upper]``.

    .. math:: f(x \mid \mu, \sigma, l, u) =
              \frac{\phi\left(\frac{x-\mu}{\sigma}\right)}
              {\sigma \left[\Phi\left(\frac{u-\mu}{\sigma}\right)
              - \Phi\left(\frac{l-\mu}{\sigma}\right)\right]},
              \quad l \le x \le u

    Parameters: ``mu`` (default 0), ``sigma`` > 0 (default 1) or ``tau``,
    ``lower`` (default ``-inf``), ``upper`` (default ``inf``), ``lower < upper``.
    An absent bound costs nothing in the log-density.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.TruncatedNormal.dist(0.0, 1.0, lower=0.0)
    >>> round(float(ppl.logp(x, 0.5).eval()), 4)  # half-normal density
    -0.3508
    """

    rv_op = TruncatedNormalRV()
    params = ("mu", "sigma", "lower", "upper")
    support = "interval"
    default_transform = "interval"

    @classmethod
    def _canonical_params(cls, mu=0.0, sigma=None, lower=None, upper=None, tau=None):
        lower = -np.inf if lower is None else lower
        upper = np.inf if upper is None else upper
        return [mu, sigma_from(sigma, tau), lower, upper]

    @classmethod
    def _param_conditions(cls, mu, sigma, lower, upper):
        return positive(sigma=sigma) + [(tm.lt(lower, upper), "lower < upper")]

    @classmethod
    def _support_mask(cls, value, mu, sigma, lower, upper):
        return _in_closed(value, lower, upper)

    @classmethod
    def _support_bounds(cls, mu, sigma, lower, upper):
        return (
            None if _is_static_inf(lower, -1) else lower,
            None if _is_static_inf(upper, 1) else upper,
        )

    @classmethod
    def _log_normalizer(cls, mu, sigma, lower, upper):
        no_lower, no_upper = _is_static_inf(lower, -1), _is_static_inf(upper, 1)
        a, b = (lower - mu) / sigma, (upper - mu) / sigma
        if no_lower and no_upper:
            return 0.0
        if no_lower:
            return tm.log_ndtr(b)
        if no_upper:
            return tm.log_ndtr(-a)
        return log_diff_ndtr(a, b)

    @classmethod
    def _logp(cls, value, mu, sigma, lower, upper):
        return (
            normal_logpdf((value - mu) / sigma)
            - tm.log(sigma)
            - cls._log_normalizer(mu, sigma, lower, upper)
        )

    @classmethod
    def _logcdf(cls, value, mu, sigma, lower, upper):
        x = tm.clip(value, lower, upper)
        z = (x - mu) / sigma
        if _is_static_inf(lower, -1):
            num = tm.log_ndtr(z)
        else:
            num = log_diff_ndtr((lower - mu) / sigma, z)
        lc = num - cls._log_normalizer(mu, sigma, lower, upper)
        return _clamp_logcdf(lc, value, lower, upper)

    @classmethod
    def _moment(cls, mu, sigma, lower, upper):
        # mu when it is inside; else the midpoint, or one sigma inside the bound
        lo_f, hi_f = tm.isfinite(lower), tm.isfinite(upper)
        mid = tm.where(
            tm.logical_and(lo_f, hi_f),
            0.5 * (lower + upper),
            tm.where(lo_f, lower + sigma, upper - sigma),
        )
        inside = tm.logical_and(tm.gt(mu, lower), tm.lt(mu, upper))
        return tm.where(inside, mu, mid)
