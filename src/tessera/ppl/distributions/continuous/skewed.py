"""Skewed continuous distributions on the whole real line.

SkewNormal, ExGaussian, AsymmetricLaplace and Gumbel; the symmetric ones
are in :mod:`.unbounded`, the right-skewed ones on a half-line in
:mod:`.positive`.

JAX samplers: :mod:`tessera.ppl.jax.continuous.skewed`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st

from tessera.ops import math as tm
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import (
    LOG_2,
    logdiffexp,
    normal_logpdf,
)
from tessera.ppl.distributions.logcdf_kernels import skewnorm_logcdf
from tessera.ppl.distributions.params import positive_params, sigma_from
from tessera.random.op import RandomVariable

_EULER = 0.5772156649015329


# --- Skew normal ----------------------------------------------------------------
class SkewNormalRV(RandomVariable):
    name, signature, dtype = "skewnormal", "(),(),()->()", "floatX"

    def scipy_dist(self, mu, sigma, alpha):
        return st.skewnorm(alpha, mu, sigma)

    def rng_fn(self, rng, mu, sigma, alpha, size):
        delta = alpha / np.sqrt(1.0 + alpha * alpha)
        u0 = rng.standard_normal(size=size)
        v = rng.standard_normal(size=size)
        u1 = delta * u0 + np.sqrt(1.0 - delta * delta) * v
        return mu + sigma * np.where(u0 >= 0, u1, -u1)


class SkewNormal(Continuous):
    r"""Skew-normal distribution.

    .. math:: f(x \mid \mu, \sigma, \alpha) = \frac{2}{\sigma}\,
              \phi(z)\, \Phi(\alpha z), \quad z = \frac{x - \mu}{\sigma}

    Parameters: ``mu`` (default 0), ``sigma`` > 0 (default 1) or ``tau``,
    ``alpha`` (skewness, default 1).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.SkewNormal.dist(0.0, 1.0, 0.0), 0.0).eval()), 4)
    -0.9189
    """

    rv_op = SkewNormalRV()
    params = ("mu", "sigma", "alpha")
    _param_conditions = positive_params("sigma")

    @classmethod
    def _canonical_params(cls, mu=0.0, sigma=None, alpha=1.0, tau=None):
        return [mu, sigma_from(sigma, tau), alpha]

    @classmethod
    def _logp(cls, value, mu, sigma, alpha):
        z = (value - mu) / sigma
        return LOG_2 + normal_logpdf(z) - tm.log(sigma) + tm.log_ndtr(alpha * z)

    @classmethod
    def _logcdf(cls, value, mu, sigma, alpha):
        # Phi(z) - 2 T(z, alpha) cancels in the lower tail: computed in log
        # space (see logcdf_kernels)
        return skewnorm_logcdf((value - mu) / sigma, alpha)

    @classmethod
    def _moment(cls, mu, sigma, alpha):
        delta = alpha / tm.sqrt(1.0 + alpha * alpha)
        return mu + sigma * math.sqrt(2.0 / math.pi) * delta


# --- Exponentially modified Gaussian ----------------------------------------------
class ExGaussianRV(RandomVariable):
    name, signature, dtype = "exgaussian", "(),(),()->()", "floatX"

    def scipy_dist(self, mu, sigma, nu):
        return st.exponnorm(np.asarray(nu) / sigma, mu, sigma)

    def rng_fn(self, rng, mu, sigma, nu, size):
        return rng.normal(mu, sigma, size=size) + rng.exponential(nu, size=size)


class ExGaussian(Continuous):
    r"""Exponentially modified Gaussian: a normal plus an independent exponential.

    .. math:: f(x \mid \mu, \sigma, \nu) = \frac{1}{\nu}
              \exp\left(\frac{\mu - x}{\nu} + \frac{\sigma^2}{2\nu^2}\right)
              \Phi\left(\frac{x - \mu}{\sigma} - \frac{\sigma}{\nu}\right)

    Parameters: ``mu``, ``sigma`` > 0 (of the normal), ``nu`` > 0 (mean of
    the exponential).

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.ExGaussian.dist(0.0, 1.0, 2.0, size=(4,)).type.shape
    (4,)
    """

    rv_op = ExGaussianRV()
    params = ("mu", "sigma", "nu")
    _param_conditions = positive_params("sigma", "nu")

    @classmethod
    def _log_tail_term(cls, value, mu, sigma, nu):
        z = (value - mu) / sigma
        return (mu - value) / nu + 0.5 * (sigma / nu) ** 2 + tm.log_ndtr(z - sigma / nu)

    @classmethod
    def _logp(cls, value, mu, sigma, nu):
        return -tm.log(nu) + cls._log_tail_term(value, mu, sigma, nu)

    @classmethod
    def _logcdf(cls, value, mu, sigma, nu):
        z = (value - mu) / sigma
        return logdiffexp(tm.log_ndtr(z), cls._log_tail_term(value, mu, sigma, nu))

    @classmethod
    def _moment(cls, mu, sigma, nu):
        return mu + nu + 0.0 * sigma


# --- Asymmetric Laplace -------------------------------------------------------
class AsymmetricLaplaceRV(RandomVariable):
    name, signature, dtype = "asymmetric_laplace", "(),(),()->()", "floatX"

    def scipy_dist(self, b, kappa, mu):
        return st.laplace_asymmetric(kappa, mu, 1.0 / np.asarray(b))

    def rng_fn(self, rng, b, kappa, mu, size):
        u = rng.uniform(size=size)
        switch = kappa**2 / (1 + kappa**2)
        with np.errstate(divide="ignore"):
            left = mu + kappa * np.log(u / switch) / b
            right = mu - np.log((1 - u) * (1 + kappa**2)) / (kappa * b)
        return np.where(u <= switch, left, right)


class AsymmetricLaplace(Continuous):
    r"""Asymmetric Laplace distribution.

    .. math:: f(x \mid b, \kappa, \mu) = \frac{b}{\kappa + 1/\kappa}
              \exp\left(-(x - \mu)\, b\, s\, \kappa^{s}\right),
              \quad s = \operatorname{sign}(x - \mu)

    Parameters: ``b`` > 0 (rate), ``kappa`` > 0 (asymmetry), ``mu``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.AsymmetricLaplace.dist(1.0, 2.0, 0.0), 1.0).eval()), 4)
    -2.9163
    """

    rv_op = AsymmetricLaplaceRV()
    params = ("b", "kappa", "mu")
    _param_conditions = positive_params("b", "kappa")
    defaults = {"mu": 0.0}

    @classmethod
    def _logp(cls, value, b, kappa, mu):
        d = value - mu
        s = tm.sign(d)
        return tm.log(b / (kappa + 1.0 / kappa)) - d * b * s * kappa**s

    @classmethod
    def _logcdf(cls, value, b, kappa, mu):
        az = tm.abs(value - mu) * b
        k2 = kappa * kappa
        left = 2.0 * tm.log(kappa) - tm.log1p(k2) - az / kappa
        right = tm.log1p(-tm.exp(-az * kappa) / (1.0 + k2))
        return tm.where(tm.lt(value, mu), left, right)

    @classmethod
    def _moment(cls, b, kappa, mu):
        return mu + 0.0 * (b + kappa)


# --- Gumbel ---------------------------------------------------------------------
class GumbelRV(RandomVariable):
    name, signature, dtype = "gumbel", "(),()->()", "floatX"

    def scipy_dist(self, mu, beta):
        return st.gumbel_r(mu, beta)

    def rng_fn(self, rng, mu, beta, size):
        return rng.gumbel(mu, beta, size=size)


class Gumbel(Continuous):
    r"""Gumbel (maximum) distribution.

    .. math:: f(x \mid \mu, \beta) = \frac{1}{\beta} e^{-(z + e^{-z})},
              \quad z = \frac{x - \mu}{\beta}

    Parameters: ``mu`` (location), ``beta`` > 0 (scale).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.Gumbel.dist(0.0, 1.0), 0.0).eval()), 4)
    -1.0
    """

    rv_op = GumbelRV()
    params = ("mu", "beta")
    _param_conditions = positive_params("beta")

    @classmethod
    def _logp(cls, value, mu, beta):
        z = (value - mu) / beta
        return -z - tm.exp(-z) - tm.log(beta)

    @classmethod
    def _logcdf(cls, value, mu, beta):
        return -tm.exp(-(value - mu) / beta)

    @classmethod
    def _moment(cls, mu, beta):
        return mu + _EULER * beta
