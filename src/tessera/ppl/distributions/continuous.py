"""Continuous distributions on the whole real line.

Each has a vectorized NumPy sampler (its ``rv_op``), a symbolic log-density
and, where the CDF is known in closed form, a symbolic log-CDF.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros_like
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import (
    LOG_2,
    LOG_PI,
    NEG_INF,
    logdiffexp,
    normal_logpdf,
    studentt_logpdf,
    studentt_tail,
)
from tessera.ppl.distributions.params import positive_params, sigma_from
from tessera.random.op import RandomVariable

_EULER = 0.5772156649015329


# --- Normal -----------------------------------------------------------------
class NormalRV(RandomVariable):
    name, signature, dtype = "normal", "(),()->()", "floatX"

    def scipy_dist(self, mu, sigma):
        return st.norm(mu, sigma)

    def rng_fn(self, rng, mu, sigma, size):
        return rng.normal(mu, sigma, size=size)


class Normal(Continuous):
    r"""Normal (Gaussian) distribution.

    .. math:: f(x \mid \mu, \sigma) = \frac{1}{\sigma \sqrt{2\pi}}
              \exp\left(-\frac{(x - \mu)^2}{2\sigma^2}\right)

    Parameters: ``mu`` (mean, default 0), ``sigma`` > 0 (standard deviation,
    default 1) or ``tau = 1 / sigma**2``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Normal.dist(0.0, 1.0), 0.0).eval()), 4)
    -0.9189
    """

    rv_op = NormalRV()
    params = ("mu", "sigma")
    _param_conditions = positive_params("sigma")

    @classmethod
    def _canonical_params(cls, mu=0.0, sigma=None, tau=None):
        return [mu, sigma_from(sigma, tau)]

    @classmethod
    def _logp(cls, value, mu, sigma):
        return normal_logpdf((value - mu) / sigma) - tm.log(sigma)

    @classmethod
    def _logcdf(cls, value, mu, sigma):
        return tm.log_ndtr((value - mu) / sigma)

    @classmethod
    def _moment(cls, mu, sigma):
        return mu + 0.0 * sigma


# --- Student t ---------------------------------------------------------------
class StudentTRV(RandomVariable):
    name, signature, dtype = "studentt", "(),(),()->()", "floatX"

    def scipy_dist(self, nu, mu, sigma):
        return st.t(nu, mu, sigma)

    def rng_fn(self, rng, nu, mu, sigma, size):
        return mu + sigma * rng.standard_t(nu, size=size)


class StudentT(Continuous):
    r"""Student's t distribution.

    .. math:: f(x \mid \nu, \mu, \sigma) =
              \frac{\Gamma(\frac{\nu+1}{2})}{\Gamma(\frac{\nu}{2})\sqrt{\pi\nu}\,\sigma}
              \left(1 + \frac{1}{\nu}\left(\frac{x-\mu}{\sigma}\right)^2
              \right)^{-\frac{\nu+1}{2}}

    Parameters: ``nu`` > 0 (degrees of freedom), ``mu`` (default 0),
    ``sigma`` > 0 (default 1) or ``lam = 1 / sigma**2``.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.StudentT.dist(nu=3.0, mu=[0.0, 1.0]).type.shape
    (2,)
    """

    rv_op = StudentTRV()
    params = ("nu", "mu", "sigma")
    _param_conditions = positive_params("nu", "sigma")

    @classmethod
    def _canonical_params(cls, nu, mu=0.0, sigma=None, lam=None):
        return [nu, mu, sigma_from(sigma, lam)]

    @classmethod
    def _logp(cls, value, nu, mu, sigma):
        return studentt_logpdf((value - mu) / sigma, nu) - tm.log(sigma)

    @classmethod
    def _logcdf(cls, value, nu, mu, sigma):
        z = (value - mu) / sigma
        tail = studentt_tail(z, nu)
        return tm.where(tm.lt(z, 0.0), tm.log(tail), tm.log1p(-tail))

    @classmethod
    def _moment(cls, nu, mu, sigma):
        return mu + 0.0 * (nu + sigma)


# --- Cauchy ---------------------------------------------------------------------
class CauchyRV(RandomVariable):
    name, signature, dtype = "cauchy", "(),()->()", "floatX"

    def scipy_dist(self, alpha, beta):
        return st.cauchy(alpha, beta)

    def rng_fn(self, rng, alpha, beta, size):
        return alpha + beta * rng.standard_cauchy(size=size)


class Cauchy(Continuous):
    r"""Cauchy distribution.

    .. math:: f(x \mid \alpha, \beta) =
              \frac{1}{\pi\beta\left[1 + \left(\frac{x-\alpha}{\beta}\right)^2\right]}

    Parameters: ``alpha`` (location), ``beta`` > 0 (scale).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.Cauchy.dist(0.0, 1.0), 1.0).eval()), 4)
    -0.2877
    """

    rv_op = CauchyRV()
    params = ("alpha", "beta")
    _param_conditions = positive_params("beta")

    @classmethod
    def _logp(cls, value, alpha, beta):
        z = (value - alpha) / beta
        return -LOG_PI - tm.log(beta) - tm.log1p(z * z)

    @classmethod
    def _logcdf(cls, value, alpha, beta):
        return tm.log(0.5 + tm.arctan((value - alpha) / beta) / math.pi)

    @classmethod
    def _moment(cls, alpha, beta):
        return alpha + 0.0 * beta


# --- Laplace ------------------------------------------------------------------
class LaplaceRV(RandomVariable):
    name, signature, dtype = "laplace", "(),()->()", "floatX"

    def scipy_dist(self, mu, b):
        return st.laplace(mu, b)

    def rng_fn(self, rng, mu, b, size):
        return rng.laplace(mu, b, size=size)


class Laplace(Continuous):
    r"""Laplace (double exponential) distribution.

    .. math:: f(x \mid \mu, b) = \frac{1}{2b} \exp\left(-\frac{|x - \mu|}{b}\right)

    Parameters: ``mu`` (location), ``b`` > 0 (scale).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Laplace.dist(0.0, 1.0), 1.0).eval()), 4)
    -1.6931
    """

    rv_op = LaplaceRV()
    params = ("mu", "b")
    _param_conditions = positive_params("b")

    @classmethod
    def _logp(cls, value, mu, b):
        return -tm.log(2.0 * b) - tm.abs(value - mu) / b

    @classmethod
    def _logcdf(cls, value, mu, b):
        # both branches use |z|, so neither overflows where it is not selected
        az = tm.abs(value - mu) / b
        return tm.where(tm.lt(value, mu), -LOG_2 - az, tm.log1p(-0.5 * tm.exp(-az)))

    @classmethod
    def _moment(cls, mu, b):
        return mu + 0.0 * b


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


# --- Logistic -------------------------------------------------------------------
class LogisticRV(RandomVariable):
    name, signature, dtype = "logistic", "(),()->()", "floatX"

    def scipy_dist(self, mu, s):
        return st.logistic(mu, s)

    def rng_fn(self, rng, mu, s, size):
        return rng.logistic(mu, s, size=size)


class Logistic(Continuous):
    r"""Logistic distribution.

    .. math:: f(x \mid \mu, s) = \frac{e^{-z}}{s (1 + e^{-z})^2},
              \quad z = \frac{x - \mu}{s}

    Parameters: ``mu`` (default 0), ``s`` > 0 (scale, default 1).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.Logistic.dist(), 0.0).eval()), 4)
    -0.6931
    """

    rv_op = LogisticRV()
    params = ("mu", "s")
    _param_conditions = positive_params("s")
    defaults = {"mu": 0.0, "s": 1.0}

    @classmethod
    def _logp(cls, value, mu, s):
        z = (value - mu) / s
        return -z - tm.log(s) - 2.0 * tm.softplus(-z)

    @classmethod
    def _logcdf(cls, value, mu, s):
        return -tm.softplus(-(value - mu) / s)

    @classmethod
    def _moment(cls, mu, s):
        return mu + 0.0 * s


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
        z = (value - mu) / sigma
        return tm.log(tm.ndtr(z) - 2.0 * tm.owens_t(z, alpha))

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


# --- Flat ---------------------------------------------------------------------------
class FlatRV(RandomVariable):
    name, signature, dtype = "flat", "->()", "floatX"

    def rng_fn(self, rng, size):
        raise NotImplementedError(
            "Flat is an improper distribution: it has no draws (give the variable "
            "an initial value, or use a proper prior)"
        )


class Flat(Continuous):
    r"""Improper uniform distribution over the real line: :math:`\log f(x) = 0`.

    It cannot be sampled. Its log-CDF is ``log(1/2)`` at finite values.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.logp(ppl.Flat.dist(size=(2,)), [1.0, -3.0]).eval()
    array([0., 0.])
    """

    rv_op = FlatRV()
    params = ()

    @classmethod
    def _logp(cls, value):
        return zeros_like(value, dtype=config.floatX)

    @classmethod
    def _logcdf(cls, value):
        return tm.where(
            tm.eq(value, NEG_INF),
            NEG_INF,
            tm.where(tm.eq(value, np.inf), 0.0, -LOG_2),
        )

    @classmethod
    def _moment(cls):
        return as_tensor(0.0, dtype=config.floatX)
