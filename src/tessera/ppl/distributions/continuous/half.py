"""Half-distributions: symmetric distributions folded at zero.

HalfNormal, HalfStudentT, HalfCauchy and the improper HalfFlat, on
``x >= 0`` (log transform by default).

JAX samplers: :mod:`tessera.ppl.jax.continuous.half`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros_like
from tessera.ppl.distributions.continuous.positive import PositiveContinuous
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


# --- Half-normal ------------------------------------------------------------------
class HalfNormalRV(RandomVariable):
    name, signature, dtype = "halfnormal", "()->()", "floatX"

    def scipy_dist(self, sigma):
        return st.halfnorm(0.0, sigma)

    def rng_fn(self, rng, sigma, size):
        return np.abs(rng.normal(0.0, sigma, size=size))


class HalfNormal(PositiveContinuous):
    r"""Half-normal distribution: :math:`|X|` for :math:`X \sim N(0, \sigma^2)`.

    .. math:: f(x \mid \sigma) = \sqrt{\frac{2}{\pi\sigma^2}}
              \exp\left(-\frac{x^2}{2\sigma^2}\right), \quad x \ge 0

    Parameters: ``sigma`` > 0 (default 1) or ``tau = 1 / sigma**2``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.logp(ppl.HalfNormal.dist(1.0), -1.0).eval())
    -inf
    """

    rv_op = HalfNormalRV()
    params = ("sigma",)
    _param_conditions = positive_params("sigma")

    @classmethod
    def _canonical_params(cls, sigma=None, tau=None):
        return [sigma_from(sigma, tau)]

    @classmethod
    def _logp(cls, value, sigma):
        return LOG_2 + normal_logpdf(value / sigma) - tm.log(sigma)

    @classmethod
    def _logcdf(cls, value, sigma):
        # log(erf) loses the upper tail (erf rounds to 1): log1p(-erfc) there
        z = tm.maximum(value, 0.0) / (sigma * math.sqrt(2.0))
        return tm.where(
            tm.lt(z, 1.0),
            tm.log(tm.erf(tm.minimum(z, 1.0))),
            tm.log1p(-tm.erfc(tm.maximum(z, 1.0))),
        )

    @classmethod
    def _moment(cls, sigma):
        return sigma


# --- Half Student t ---------------------------------------------------------------
class HalfStudentTRV(RandomVariable):
    name, signature, dtype = "halfstudentt", "(),()->()", "floatX"

    def rng_fn(self, rng, nu, sigma, size):
        return np.abs(sigma * rng.standard_t(nu, size=size))


class HalfStudentT(PositiveContinuous):
    r"""Half Student t distribution: :math:`|X|`, :math:`X` Student t at 0.

    .. math:: f(x \mid \nu, \sigma) = 2\, t_\nu(x / \sigma) / \sigma, \quad x \ge 0

    Parameters: ``nu`` > 0 (default 1), ``sigma`` > 0 (default 1) or ``lam``.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.HalfStudentT.dist(nu=3.0, sigma=[1.0, 2.0]).type.shape
    (2,)
    """

    rv_op = HalfStudentTRV()
    params = ("nu", "sigma")
    _param_conditions = positive_params("nu", "sigma")

    @classmethod
    def _canonical_params(cls, nu=1.0, sigma=None, lam=None):
        return [nu, sigma_from(sigma, lam)]

    @classmethod
    def _logp(cls, value, nu, sigma):
        return LOG_2 + studentt_logpdf(value / sigma, nu) - tm.log(sigma)

    @classmethod
    def _logcdf(cls, value, nu, sigma):
        # 1 - 2 P(T > z) cancels for small z: there the CDF is
        # I_{z^2 / (nu + z^2)}(1/2, nu/2), and 2 z f(0) below 1e-100 (where
        # z^2 underflows; the relative error is z^2)
        z = tm.maximum(value, 0.0) / sigma
        zs = tm.clip(z, 1e-100, 1.0)
        small = tm.log(tm.betainc(0.5, 0.5 * nu, zs * zs / (nu + zs * zs)))
        tiny = (
            LOG_2
            + tm.log(tm.maximum(z, 1e-300))
            + tm.gammaln(0.5 * (nu + 1.0))
            - tm.gammaln(0.5 * nu)
            - 0.5 * tm.log(nu * math.pi)
        )
        large = tm.log1p(-2.0 * studentt_tail(tm.maximum(z, 1.0), nu))
        return tm.where(tm.lt(z, 1e-100), tiny, tm.where(tm.lt(z, 1.0), small, large))

    @classmethod
    def _moment(cls, nu, sigma):
        return sigma + 0.0 * nu


# --- Half-Cauchy --------------------------------------------------------------------
class HalfCauchyRV(RandomVariable):
    name, signature, dtype = "halfcauchy", "()->()", "floatX"

    def scipy_dist(self, beta):
        return st.halfcauchy(0.0, beta)

    def rng_fn(self, rng, beta, size):
        return np.abs(beta * rng.standard_cauchy(size=size))


class HalfCauchy(PositiveContinuous):
    r"""Half-Cauchy distribution.

    .. math:: f(x \mid \beta) = \frac{2}{\pi\beta\,[1 + (x/\beta)^2]}, \quad x \ge 0

    Parameters: ``beta`` > 0 (scale, default 1).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.HalfCauchy.dist(1.0), 1.0).eval()), 4)
    -0.6931
    """

    rv_op = HalfCauchyRV()
    params = ("beta",)
    _param_conditions = positive_params("beta")
    defaults = {"beta": 1.0}

    @classmethod
    def _logp(cls, value, beta):
        z = value / beta
        return LOG_2 - LOG_PI - tm.log(beta) - tm.log1p(z * z)

    @classmethod
    def _logcdf(cls, value, beta):
        return LOG_2 - LOG_PI + tm.log(tm.arctan(tm.maximum(value, 0.0) / beta))

    @classmethod
    def _moment(cls, beta):
        return beta


# --- Half-flat ---------------------------------------------------------------------------
class HalfFlatRV(RandomVariable):
    name, signature, dtype = "halfflat", "->()", "floatX"

    def rng_fn(self, rng, size):
        raise NotImplementedError(
            "HalfFlat is an improper distribution: it has no draws (give the "
            "variable an initial value, or use a proper prior)"
        )


class HalfFlat(PositiveContinuous):
    r"""Improper uniform distribution on :math:`x \ge 0`: :math:`\log f(x) = 0`.

    It cannot be sampled; its log-CDF is ``-inf`` at finite values.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.logp(ppl.HalfFlat.dist(), [1.0, -1.0]).eval()
    array([  0., -inf])
    """

    rv_op = HalfFlatRV()
    params = ()

    @classmethod
    def _logp(cls, value):
        return zeros_like(value, dtype=config.floatX)

    @classmethod
    def _logcdf(cls, value):
        return tm.where(tm.eq(value, np.inf), 0.0, NEG_INF) + zeros_like(
            value, dtype=config.floatX
        )

    @classmethod
    def _moment(cls):
        return as_tensor(1.0, dtype=config.floatX)
