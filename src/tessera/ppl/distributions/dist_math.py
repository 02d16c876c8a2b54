"""Numerically careful building blocks shared by the log-densities.

All functions take and return tessera tensors and broadcast elementwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import scipy.stats as st

from tessera.graph.null import NonDifferentiable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.elemwise import Elemwise, ScalarFn

LOG_2 = math.log(2.0)
LOG_PI = math.log(math.pi)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
NEG_INF = -np.inf


def logdiffexp(a, b):
    """``log(exp(a) - exp(b))`` for ``a >= b``, computed stably.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(logdiffexp(np.log(3.0), np.log(1.0)).eval()), 6)  # log 2
    0.693147
    """
    a = as_tensor(a)
    return a + tm.log1mexp(b - a)


def log_gammainc(a, x):
    """``log P(a, x)`` (regularized lower incomplete gamma), accurate in both
    tails: ``log1p(-Q(a, x))`` where ``P`` is near 1.

    Examples
    --------
    >>> float(log_gammainc(2.0, 100.0).eval())  # doctest: +ELLIPSIS
    -3.757...e-42
    """
    p, q = tm.gammainc(a, x), tm.gammaincc(a, x)
    return tm.where(tm.lt(p, 0.5), tm.log(p), tm.log1p(-q))


ASYMPTOTIC_X = 700.0


def log_gammaincc(a, x):
    """``log Q(a, x)`` (regularized upper incomplete gamma), accurate in both
    tails: ``log1p(-P(a, x))`` where ``Q`` is near 1, and the asymptotic
    series ``x^(a-1) e^-x / Gamma(a) sum_k (a-1)...(a-k) / x^k`` where ``Q``
    would underflow (``x > 700`` and ``x > 20 a``; 16 terms).

    Examples
    --------
    >>> float(log_gammaincc(2.0, 1500.0).eval())  # doctest: +ELLIPSIS
    -1492.6861...
    """
    a, x = as_tensor(a), as_tensor(x)
    far = tm.logical_and(tm.gt(x, ASYMPTOTIC_X), tm.gt(x, 20.0 * a))
    p, q = tm.gammainc(a, x), tm.gammaincc(a, x)
    mid = tm.where(tm.lt(q, 0.5), tm.log(tm.where(far, 1.0, q)), tm.log1p(-p))
    xs = tm.maximum(x, ASYMPTOTIC_X)
    term, total = 1.0, 1.0
    for k in range(1, 17):
        term = term * (a - float(k)) / xs
        total = total + term
    asym = (a - 1.0) * tm.log(xs) - xs - tm.gammaln(a) + tm.log(total)
    return tm.where(far, asym, mid)


def in_closed(value, lower, upper):
    """Where ``lower <= value <= upper`` (a boolean graph).

    Examples
    --------
    >>> in_closed(np.array([0.0, 0.5, 2.0]), 0.0, 1.0).eval()
    array([ True,  True, False])
    """
    return tm.logical_and(tm.ge(value, lower), tm.le(value, upper))


def clamp_logcdf(lc, value, lower, upper):
    """``-inf`` below ``lower``, ``0`` above ``upper``, ``lc`` between.

    Examples
    --------
    >>> clamp_logcdf(-1.0, np.array([-1.0, 0.5, 2.0]), 0.0, 1.0).eval()
    array([-inf,  -1.,   0.])
    """
    return tm.where(
        tm.lt(value, lower), NEG_INF, tm.where(tm.gt(value, upper), 0.0, lc)
    )


def log_binom(n, k):
    """``log(n choose k)`` through log-gamma functions.

    Examples
    --------
    >>> bool(np.isclose(log_binom(5, 2).eval(), np.log(10.0)))
    True
    """
    return tm.gammaln(n + 1.0) - tm.gammaln(k + 1.0) - tm.gammaln(n - k + 1.0)


def log_diff_ndtr(a, b):
    """``log(Phi(b) - Phi(a))`` for ``a <= b`` (Phi the standard normal CDF).

    In the upper tail (``a > 0``) it uses the reflection
    ``Phi(b) - Phi(a) = Phi(-a) - Phi(-b)`` so no precision is lost; each
    branch sees harmless stand-in values where it is not selected, so its
    gradient stays finite.

    Examples
    --------
    >>> from scipy.special import ndtr
    >>> v = float(log_diff_ndtr(5.0, 6.0).eval())
    >>> bool(np.isclose(v, np.log(ndtr(-5.0) - ndtr(-6.0))))
    True
    """
    a, b = as_tensor(a), as_tensor(b)
    upper = tm.gt(a, 0.0)
    au, bu = tm.where(upper, a, 1.0), tm.where(upper, b, 2.0)
    al, bl = tm.where(upper, -1.0, a), tm.where(upper, 0.0, b)
    hi = logdiffexp(tm.log_ndtr(-au), tm.log_ndtr(-bu))
    lo = logdiffexp(tm.log_ndtr(bl), tm.log_ndtr(al))
    # a short interval: the difference of two close CDFs keeps only the
    # digits where they differ; the midpoint rule with its h^2 correction
    # (error O(h^4 m^4)) keeps them all
    m, h = 0.5 * (a + b), b - a
    short = tm.logical_and(tm.gt(h, 0.0), tm.lt(h * (tm.abs(m) + 1.0), 1e-3))
    hs = tm.where(short, h, 1e-3)
    mid = normal_logpdf(m) + tm.log(hs) + tm.log1p((m * m - 1.0) * hs * hs / 24.0)
    return tm.where(short, mid, tm.where(upper, hi, lo))


def normal_logpdf(z):
    """Log-density of the standard normal at ``z``."""
    return -0.5 * z * z - LOG_SQRT_2PI


def studentt_logpdf(z, nu):
    """Log-density of a standard Student t with ``nu`` degrees of freedom."""
    return (
        tm.gammaln((nu + 1.0) / 2.0)
        - tm.gammaln(nu / 2.0)
        - 0.5 * tm.log(nu * math.pi)
        - (nu + 1.0) / 2.0 * tm.log1p(z * z / nu)
    )


def studentt_tail(z, nu):
    """``P(T > |z|)`` for a standard Student t (through the incomplete beta)."""
    return 0.5 * tm.betainc(nu / 2.0, 0.5, nu / (nu + z * z))


def logcdf_by_summation(logpmf: Callable, value, *params, lower=0):
    """``log P(X <= value)`` of an integer distribution by summing its mass.

    ``logpmf(k, *params)`` must give ``-inf`` outside the support; the sum
    runs over ``k = lower .. max(value)`` for the whole batch at once (a
    ``(..., K)`` array), so it suits distributions with moderate values.
    The number of terms depends on the values, so the sum is a
    :class:`~tessera.ppl.distributions.range_sum.RangeReduce` op, which the
    JAX backend runs in fixed-size chunks.

    Examples
    --------
    >>> from tessera import ppl
    >>> d = ppl.Poisson.dist(2.0)
    >>> lp = lambda k, mu: ppl.logp(ppl.Poisson.dist(mu), k)
    >>> a = logcdf_by_summation(lp, 3, 2.0).eval()
    >>> bool(np.isclose(a, ppl.logcdf(d, 3).eval()))
    True
    """
    from tessera.ppl.distributions.range_sum import RangeReduce

    builder = partial(_masked_mass_terms, logpmf)
    builder.__name__ = f"mass_terms[{getattr(logpmf, '__qualname__', 'logpmf')}]"
    return RangeReduce(builder, "logsumexp", lower)(value, *params)


def _masked_mass_terms(logpmf: Callable, k, value, *params):
    """``logpmf(k)`` for ``k <= value``, ``-inf`` beyond (``(..., K)`` terms)."""
    # beyond the value the mass is evaluated at the value itself: the same
    # results, and no gradient through pmf evaluations outside the support
    return [tm.where(tm.le(k, value), logpmf(tm.minimum(k, value), *params), NEG_INF)]


def _vonmises_cdf(x, kappa):
    return st.vonmises.cdf(x, kappa)


vonmises_cdf = Elemwise(
    ScalarFn(
        "vonmises_cdf",
        _vonmises_cdf,
        2,
        lambda i, o, g: [
            g * tm.exp(i[1] * (tm.cos(i[0]) - 1.0)) / (2.0 * math.pi * tm.i0e(i[1])),
            NonDifferentiable(vonmises_cdf, "derivative in kappa"),
        ],
    )
)
"""CDF of the von Mises distribution centred at 0, on ``[-pi, pi]``."""
