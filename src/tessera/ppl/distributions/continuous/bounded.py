"""Continuous distributions on a bounded interval: Beta, Kumaraswamy, Uniform.

The truncated normal is with the other truncations, in
:mod:`tessera.ppl.distributions.truncated`.

JAX samplers: :mod:`tessera.ppl.jax.continuous.bounded`.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from tessera.ops import math as tm
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import (
    clamp_logcdf,
    in_closed,
)
from tessera.ppl.distributions.params import (
    params_or_moments,
    positive_params,
)
from tessera.random.op import RandomVariable


class UnitContinuous(Continuous):
    """Base of distributions on ``[0, 1]`` (log-odds transform by default)."""

    support = "unit"
    default_transform = "logodds"

    @classmethod
    def _support_mask(cls, value, *params):
        return in_closed(value, 0.0, 1.0)

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
        # log(I_x) loses the upper tail (I_x rounds to 1): log1p(-I_{1-x}(b, a))
        x = tm.clip(value, 0.0, 1.0)
        p = tm.betainc(alpha, beta, x)
        q = tm.betainc(beta, alpha, 1.0 - x)
        lc = tm.where(tm.lt(p, 0.5), tm.log(p), tm.log1p(-q))
        return clamp_logcdf(lc, value, 0.0, 1.0)

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
        return clamp_logcdf(lc, value, 0.0, 1.0)

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
        return in_closed(value, lower, upper)

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
        return clamp_logcdf(lc, value, lower, upper)

    @classmethod
    def _moment(cls, lower, upper):
        return 0.5 * (lower + upper)
