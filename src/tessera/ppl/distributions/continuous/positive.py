"""Continuous distributions on the positive half-line (or above a bound).

Exponential, the gamma family (Gamma, InverseGamma, ChiSquared), Weibull,
LogNormal, Pareto and Wald; the half-distributions folded at zero
(HalfNormal, ...) are in :mod:`.half`.

JAX samplers: :mod:`tessera.ppl.jax.continuous.positive`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import (
    LOG_2,
    log_gammainc,
    log_gammaincc,
    normal_logpdf,
)
from tessera.ppl.distributions.params import (
    params_or_moments,
    positive_params,
    sigma_from,
)
from tessera.random.op import RandomVariable


class PositiveContinuous(Continuous):
    """Base of distributions on ``x >= 0`` (log transform by default)."""

    support = "nonnegative"
    default_transform = "log"

    @classmethod
    def _support_mask(cls, value, *params):
        return tm.ge(value, 0.0)

    @classmethod
    def _support_bounds(cls, *params):
        return (0.0, None)


class _StrictlyPositive(PositiveContinuous):
    support = "positive"

    @classmethod
    def _support_mask(cls, value, *params):
        return tm.gt(value, 0.0)


# --- Exponential ------------------------------------------------------------------
class ExponentialRV(RandomVariable):
    name, signature, dtype = "exponential", "()->()", "floatX"

    def scipy_dist(self, lam):
        return st.expon(0.0, 1.0 / np.asarray(lam))

    def rng_fn(self, rng, lam, size):
        return rng.exponential(1.0 / np.asarray(lam), size=size)


class Exponential(PositiveContinuous):
    r"""Exponential distribution.

    .. math:: f(x \mid \lambda) = \lambda e^{-\lambda x}, \quad x \ge 0

    Parameters: ``lam`` > 0 (rate) or ``scale = 1 / lam``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Exponential.dist(2.0), 1.0).eval()), 4)
    -1.3069
    """

    rv_op = ExponentialRV()
    params = ("lam",)
    _param_conditions = positive_params("lam")

    @classmethod
    def _canonical_params(cls, lam=None, scale=None):
        if (lam is None) == (scale is None):
            raise ValueError("Exponential: give exactly one of lam and scale")
        if scale is not None:
            return [1.0 / as_tensor(scale, dtype=config.floatX)]
        return [lam]

    @classmethod
    def _logp(cls, value, lam):
        return tm.log(lam) - lam * value

    @classmethod
    def _logcdf(cls, value, lam):
        return tm.log1mexp(-lam * tm.maximum(value, 0.0))

    @classmethod
    def _moment(cls, lam):
        return 1.0 / lam


# --- Gamma -------------------------------------------------------------------------
class GammaRV(RandomVariable):
    name, signature, dtype = "gamma", "(),()->()", "floatX"

    def scipy_dist(self, alpha, beta):
        return st.gamma(alpha, 0.0, 1.0 / np.asarray(beta))

    def rng_fn(self, rng, alpha, beta, size):
        return rng.gamma(alpha, 1.0 / np.asarray(beta), size=size)


class Gamma(PositiveContinuous):
    r"""Gamma distribution (shape-rate parametrization).

    .. math:: f(x \mid \alpha, \beta) = \frac{\beta^\alpha x^{\alpha-1}
              e^{-\beta x}}{\Gamma(\alpha)}, \quad x \ge 0

    Parameters: ``alpha`` > 0 and ``beta`` > 0 (rate), or ``mu`` and
    ``sigma`` (mean and standard deviation).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Gamma.dist(mu=2.0, sigma=1.0), 2.0).eval()), 4)
    -0.9397
    """

    rv_op = GammaRV()
    params = ("alpha", "beta")
    _param_conditions = positive_params("alpha", "beta")

    @classmethod
    def _canonical_params(cls, alpha=None, beta=None, mu=None, sigma=None):
        return params_or_moments(
            "Gamma",
            {"alpha": alpha, "beta": beta},
            {"mu": mu, "sigma": sigma},
            lambda mu, sigma: [mu**2 / sigma**2, mu / sigma**2],
        )

    @classmethod
    def _logp(cls, value, alpha, beta):
        return (
            alpha * tm.log(beta)
            - tm.gammaln(alpha)
            + tm.xlogy(alpha - 1.0, value)
            - beta * value
        )

    @classmethod
    def _logcdf(cls, value, alpha, beta):
        return log_gammainc(alpha, beta * tm.maximum(value, 0.0))

    @classmethod
    def _moment(cls, alpha, beta):
        return alpha / beta


# --- Inverse gamma --------------------------------------------------------------------
class InverseGammaRV(RandomVariable):
    name, signature, dtype = "invgamma", "(),()->()", "floatX"

    def scipy_dist(self, alpha, beta):
        return st.invgamma(alpha, 0.0, beta)

    def rng_fn(self, rng, alpha, beta, size):
        return beta / rng.gamma(alpha, 1.0, size=size)


class InverseGamma(_StrictlyPositive):
    r"""Inverse-gamma distribution: :math:`1/X` for :math:`X \sim \Gamma(\alpha, \beta)`.

    .. math:: f(x \mid \alpha, \beta) = \frac{\beta^\alpha x^{-\alpha-1}
              e^{-\beta / x}}{\Gamma(\alpha)}, \quad x > 0

    Parameters: ``alpha`` > 0, ``beta`` > 0 (scale, default 1), or ``mu``
    and ``sigma``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.InverseGamma.dist(3.0, 2.0), 1.0).eval()), 4)
    -0.6137
    """

    rv_op = InverseGammaRV()
    params = ("alpha", "beta")
    _param_conditions = positive_params("alpha", "beta")

    @classmethod
    def _canonical_params(cls, alpha=None, beta=None, mu=None, sigma=None):
        def from_moments(mu, sigma):
            alpha = mu**2 / sigma**2 + 2.0
            return [alpha, mu * (alpha - 1.0)]

        return params_or_moments(
            "InverseGamma",
            {"alpha": alpha, "beta": beta},
            {"mu": mu, "sigma": sigma},
            from_moments,
            defaults={"beta": 1.0},
        )

    @classmethod
    def _logp(cls, value, alpha, beta):
        return (
            alpha * tm.log(beta)
            - tm.gammaln(alpha)
            - (alpha + 1.0) * tm.log(value)
            - beta / value
        )

    @classmethod
    def _logcdf(cls, value, alpha, beta):
        return log_gammaincc(alpha, beta / tm.maximum(value, 0.0))

    @classmethod
    def _moment(cls, alpha, beta):
        # the mode: finite for every alpha
        return beta / (alpha + 1.0)


# --- Chi-squared ------------------------------------------------------------------------
class ChiSquaredRV(RandomVariable):
    name, signature, dtype = "chisquare", "()->()", "floatX"

    def scipy_dist(self, nu):
        return st.chi2(nu)

    def rng_fn(self, rng, nu, size):
        return rng.chisquare(nu, size=size)


class ChiSquared(PositiveContinuous):
    r"""Chi-squared distribution with ``nu`` degrees of freedom: Gamma(nu/2, 1/2).

    .. math:: f(x \mid \nu) = \frac{x^{\nu/2-1} e^{-x/2}}{2^{\nu/2}\Gamma(\nu/2)},
              \quad x \ge 0

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.ChiSquared.dist(2.0), 2.0).eval()), 4)
    -1.6931
    """

    rv_op = ChiSquaredRV()
    params = ("nu",)
    _param_conditions = positive_params("nu")

    @classmethod
    def _logp(cls, value, nu):
        h = nu / 2.0
        return tm.xlogy(h - 1.0, value) - value / 2.0 - h * LOG_2 - tm.gammaln(h)

    @classmethod
    def _logcdf(cls, value, nu):
        return log_gammainc(nu / 2.0, tm.maximum(value, 0.0) / 2.0)

    @classmethod
    def _moment(cls, nu):
        return nu


# --- Weibull -----------------------------------------------------------------------
class WeibullRV(RandomVariable):
    name, signature, dtype = "weibull", "(),()->()", "floatX"

    def scipy_dist(self, alpha, beta):
        return st.weibull_min(alpha, 0.0, beta)

    def rng_fn(self, rng, alpha, beta, size):
        return beta * rng.weibull(alpha, size=size)


class Weibull(PositiveContinuous):
    r"""Weibull distribution.

    .. math:: f(x \mid \alpha, \beta) = \frac{\alpha}{\beta}
              \left(\frac{x}{\beta}\right)^{\alpha-1} e^{-(x/\beta)^\alpha},
              \quad x \ge 0

    Parameters: ``alpha`` > 0 (shape), ``beta`` > 0 (scale).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.Weibull.dist(2.0, 1.0), 1.0).eval()), 4)
    -0.4587
    """

    rv_op = WeibullRV()
    params = ("alpha", "beta")
    _param_conditions = positive_params("alpha", "beta")

    @classmethod
    def _logp(cls, value, alpha, beta):
        z = value / beta
        return tm.log(alpha) - tm.log(beta) + tm.xlogy(alpha - 1.0, z) - z**alpha

    @classmethod
    def _logcdf(cls, value, alpha, beta):
        return tm.log1mexp(-((tm.maximum(value, 0.0) / beta) ** alpha))

    @classmethod
    def _moment(cls, alpha, beta):
        return beta * tm.exp(tm.gammaln(1.0 + 1.0 / alpha))


# --- Log-normal --------------------------------------------------------------------
class LogNormalRV(RandomVariable):
    name, signature, dtype = "lognormal", "(),()->()", "floatX"

    def scipy_dist(self, mu, sigma):
        return st.lognorm(sigma, 0.0, np.exp(mu))

    def rng_fn(self, rng, mu, sigma, size):
        return rng.lognormal(mu, sigma, size=size)


class LogNormal(_StrictlyPositive):
    r"""Log-normal distribution: :math:`\log X \sim N(\mu, \sigma^2)`.

    .. math:: f(x \mid \mu, \sigma) = \frac{1}{x\sigma\sqrt{2\pi}}
              \exp\left(-\frac{(\log x - \mu)^2}{2\sigma^2}\right), \quad x > 0

    Parameters: ``mu`` (default 0), ``sigma`` > 0 (default 1) or ``tau``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.LogNormal.dist(0.0, 1.0), 1.0).eval()), 4)
    -0.9189
    """

    rv_op = LogNormalRV()
    params = ("mu", "sigma")
    _param_conditions = positive_params("sigma")

    @classmethod
    def _canonical_params(cls, mu=0.0, sigma=None, tau=None):
        return [mu, sigma_from(sigma, tau)]

    @classmethod
    def _logp(cls, value, mu, sigma):
        logx = tm.log(value)
        return normal_logpdf((logx - mu) / sigma) - tm.log(sigma) - logx

    @classmethod
    def _logcdf(cls, value, mu, sigma):
        return tm.log_ndtr((tm.log(tm.maximum(value, 0.0)) - mu) / sigma)

    @classmethod
    def _moment(cls, mu, sigma):
        return tm.exp(mu + 0.5 * sigma * sigma)


# --- Pareto ----------------------------------------------------------------------------
class ParetoRV(RandomVariable):
    name, signature, dtype = "pareto", "(),()->()", "floatX"

    def scipy_dist(self, alpha, m):
        return st.pareto(alpha, 0.0, m)

    def rng_fn(self, rng, alpha, m, size):
        return m * (1.0 + rng.pareto(alpha, size=size))


class Pareto(Continuous):
    r"""Pareto distribution (type I).

    .. math:: f(x \mid \alpha, m) = \frac{\alpha m^\alpha}{x^{\alpha+1}}, \quad x \ge m

    Parameters: ``alpha`` > 0 (shape), ``m`` > 0 (scale, the lower bound).

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.logp(ppl.Pareto.dist(2.0, 1.0), 0.5).eval())
    -inf
    """

    rv_op = ParetoRV()
    params = ("alpha", "m")
    _param_conditions = positive_params("alpha", "m")
    support = "lowerbound"
    default_transform = "interval"

    @classmethod
    def _support_mask(cls, value, alpha, m):
        return tm.ge(value, m)

    @classmethod
    def _support_bounds(cls, alpha, m):
        return (m, None)

    @classmethod
    def _logp(cls, value, alpha, m):
        return tm.log(alpha) + alpha * tm.log(m) - (alpha + 1.0) * tm.log(value)

    @classmethod
    def _logcdf(cls, value, alpha, m):
        # log(m / x) = -log1p((x - m) / m): exact near x = m
        x = tm.maximum(value, m)
        return tm.log1mexp(-alpha * tm.log1p((x - m) / m))

    @classmethod
    def _moment(cls, alpha, m):
        return m * 2.0 ** (1.0 / alpha)


# --- Wald (inverse Gaussian) --------------------------------------------------------------
class WaldRV(RandomVariable):
    name, signature, dtype = "wald", "(),(),()->()", "floatX"

    def scipy_dist(self, mu, lam, alpha):
        return st.invgauss(np.asarray(mu) / lam, alpha, lam)

    def rng_fn(self, rng, mu, lam, alpha, size):
        return rng.wald(mu, lam, size=size) + alpha


class Wald(Continuous):
    r"""Wald (inverse Gaussian) distribution, shifted by ``alpha``.

    .. math:: f(x \mid \mu, \lambda, \alpha) =
              \sqrt{\frac{\lambda}{2\pi (x-\alpha)^3}}
              \exp\left(-\frac{\lambda (x - \alpha - \mu)^2}{2\mu^2 (x-\alpha)}\right),
              \quad x > \alpha

    Parameters: ``mu`` > 0 (mean), ``lam`` > 0 (shape) or ``phi = lam / mu``,
    ``alpha`` (shift, default 0).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Wald.dist(1.0, 1.0), 1.0).eval()), 4)
    -0.9189
    """

    rv_op = WaldRV()
    params = ("mu", "lam", "alpha")
    _param_conditions = positive_params("mu", "lam")
    support = "lowerbound"
    default_transform = "interval"

    @classmethod
    def _canonical_params(cls, mu=None, lam=None, phi=None, alpha=0.0):
        if mu is None:
            raise ValueError("Wald: mu is required")
        if (lam is None) == (phi is None):
            raise ValueError("Wald: give exactly one of lam and phi")
        if phi is not None:
            lam = as_tensor(phi, dtype=config.floatX) * as_tensor(
                mu, dtype=config.floatX
            )
        return [mu, lam, alpha]

    @classmethod
    def _support_mask(cls, value, mu, lam, alpha):
        return tm.gt(value, alpha)

    @classmethod
    def _support_bounds(cls, mu, lam, alpha):
        return (alpha, None)

    @classmethod
    def _logp(cls, value, mu, lam, alpha):
        y = value - alpha
        return (
            0.5 * tm.log(lam / (2.0 * math.pi))
            - 1.5 * tm.log(y)
            - lam * (y - mu) ** 2 / (2.0 * mu * mu * y)
        )

    @classmethod
    def _logcdf(cls, value, mu, lam, alpha):
        y = tm.maximum(value - alpha, 0.0)
        r = tm.sqrt(lam / y)
        a = tm.log_ndtr(r * (y / mu - 1.0))
        b = 2.0 * lam / mu + tm.log_ndtr(-r * (y / mu + 1.0))
        return tm.logaddexp(a, b)

    @classmethod
    def _moment(cls, mu, lam, alpha):
        return mu + alpha + 0.0 * lam
