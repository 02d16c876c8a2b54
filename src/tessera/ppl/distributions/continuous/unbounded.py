"""Symmetric continuous distributions on the whole real line.

Normal, StudentT, Cauchy, Laplace, Logistic and the improper Flat; the
skewed ones on the real line are in :mod:`.skewed`. Each has a vectorized
NumPy sampler (its ``rv_op``), a symbolic log-density and, where the CDF is
known in closed form, a symbolic log-CDF.

JAX samplers: :mod:`tessera.ppl.jax.continuous.unbounded`.
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
    normal_logpdf,
    studentt_logpdf,
    studentt_tail,
)
from tessera.ppl.distributions.params import positive_params, sigma_from
from tessera.random.op import RandomVariable


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
        # 1/2 + arctan(z) / pi cancels for z << 0: arctan(-1/z) / pi there,
        # and 1 - arctan(1/z) / pi above
        z = (value - alpha) / beta
        lower = tm.log(tm.arctan(-1.0 / tm.minimum(z, -1e-300)) / math.pi)
        upper = tm.log1p(-tm.arctan(1.0 / tm.maximum(z, 1e-300)) / math.pi)
        return tm.where(tm.lt(z, 0.0), lower, upper)

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
