"""Ordinal regression likelihoods: OrderedLogistic and OrderedProbit.

A draw is a category in ``0, ..., K`` given a latent location ``eta`` and
``K`` increasing cutpoints: ``P(y <= j) = F(c_j - eta)`` with ``F`` the
logistic or normal CDF. The cutpoints have shape ``(..., K)``; their batch
dims broadcast with ``eta``'s (per-group cutpoints work without loops).

JAX samplers: :mod:`tessera.ppl.jax.discrete.ordinal`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

from tessera.ops import math as tm
from tessera.ops.creation import arange, zeros_like
from tessera.ops.shape import concatenate, expand_dims, shape_i
from tessera.ppl.distributions.base import Discrete
from tessera.ppl.distributions.dist_math import NEG_INF, log_diff_ndtr
from tessera.ppl.distributions.mv_util import MvMixin
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["OrderedLogistic", "OrderedProbit"]


def _pick(c, j):
    """``c[..., j]`` for a batch of indices ``j`` (clipped into range)."""
    k = shape_i(c, -1)
    idx = tm.clip(j, 0, k - 1)
    return tm.where(tm.eq(arange(k), expand_dims(idx, -1)), c, 0.0).sum(axis=-1)


def _category_draw(rng, cdf: np.ndarray) -> np.ndarray:
    """The number of cumulative probabilities below a uniform draw."""
    u = rng.random(cdf.shape[:-1] + (1,))
    return (cdf < u).sum(axis=-1)


class _Ordered(MvMixin, Discrete):
    """Shared parts: cutpoint checks, support, the category log-probabilities."""

    support = "categories"

    @classmethod
    def _cut_conditions(cls, cutpoints):
        steps = cutpoints[..., 1:] - cutpoints[..., :-1]
        return [(tm.gt(steps, 0.0).all(axis=-1), "cutpoints are increasing")]

    @classmethod
    def _support_mask(cls, value, eta, cutpoints, *rest):
        return tm.logical_and(tm.ge(value, 0), tm.le(value, shape_i(cutpoints, -1)))

    @classmethod
    def _support_bounds(cls, eta, cutpoints, *rest):
        return (0, shape_i(cutpoints, -1))

    @classmethod
    def _log_between(cls, lo, hi, *rest):
        """``log(F(hi) - F(lo))`` for standardized bounds ``lo < hi``."""
        raise NotImplementedError

    @classmethod
    def _log_cdf_std(cls, z, *rest):
        raise NotImplementedError

    @classmethod
    def _scaled(cls, x, *rest):
        return x

    @classmethod
    def _logp(cls, value, eta, cutpoints, *rest):
        k = shape_i(cutpoints, -1)
        # each branch sees stand-in bounds where it is not selected, so no inf
        # enters the arithmetic and gradients stay finite
        first, last = tm.eq(value, 0), tm.ge(value, k)
        hi = cls._scaled(_pick(cutpoints, value) - eta, *rest)
        lo = cls._scaled(_pick(cutpoints, value - 1) - eta, *rest)
        lo_mid = tm.where(first, hi - 1.0, lo)
        hi_mid = tm.where(last, lo + 1.0, hi)
        middle = cls._log_between(lo_mid, hi_mid)
        bottom = cls._log_cdf_std(hi)
        top = cls._log_cdf_std(-lo)
        return tm.where(first, bottom, tm.where(last, top, middle))

    @classmethod
    def _logcdf(cls, value, eta, cutpoints, *rest):
        k = shape_i(cutpoints, -1)
        z = cls._scaled(_pick(cutpoints, value) - eta, *rest)
        lc = cls._log_cdf_std(z)
        return tm.where(tm.lt(value, 0), NEG_INF, tm.where(tm.ge(value, k), 0.0, lc))

    @classmethod
    def _category_probs(cls, eta, cutpoints, *rest):
        """``P(y = j)`` for every ``j``, shape ``(..., K + 1)``."""
        rest = [expand_dims(r, -1) for r in rest]
        cdf = cls._cdf_sym(cls._scaled(cutpoints - expand_dims(eta, -1), *rest))
        zero = zeros_like(cdf[..., :1])
        return concatenate([cdf, zero + 1.0], -1) - concatenate([zero, cdf], -1)

    @classmethod
    def _moment(cls, eta, cutpoints, *rest):
        return cls._category_probs(eta, cutpoints, *rest).argmax(axis=-1)


# --- OrderedLogistic ------------------------------------------------------------------
class OrderedLogisticRV(RandomVariable):
    name, signature, dtype = "ordered_logistic", "(),(k)->()", "int64"

    def rng_fn(self, rng, eta, cutpoints, size):
        eta, c = broadcast_params([eta, cutpoints], [0, 1], size)
        return _category_draw(rng, expit(c - eta[..., None]))


class OrderedLogistic(_Ordered):
    r"""Ordered logistic (proportional odds) distribution over ``0, ..., K``.

    .. math::

        P(y = j \mid \eta, c) = \sigma(c_j - \eta) - \sigma(c_{j-1} - \eta),
        \quad c_{-1} = -\infty,\ c_K = +\infty

    with :math:`\sigma` the logistic function. Parameters: ``eta``
    (batch-shaped) and ``cutpoints`` of shape ``(..., K)``, increasing. The
    differences are computed in log space, stable far in the tails.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> y = ppl.OrderedLogistic.dist(eta=[0.0, 2.0], cutpoints=[-1.0, 1.0])
    >>> np.exp(ppl.logp(y, 1).eval()).round(4)
    array([0.4621, 0.2215])
    """

    rv_op = OrderedLogisticRV()
    params = ("eta", "cutpoints")

    @classmethod
    def _param_conditions(cls, eta, cutpoints):
        return cls._cut_conditions(cutpoints)

    @classmethod
    def _log_cdf_std(cls, z, *rest):
        return tm.log_sigmoid(z)

    @classmethod
    def _cdf_sym(cls, z):
        return tm.sigmoid(z)

    @classmethod
    def _log_between(cls, lo, hi, *rest):
        a, b = tm.log_sigmoid(lo), tm.log_sigmoid(hi)
        return b + tm.log1mexp(a - b)


# --- OrderedProbit --------------------------------------------------------------------
class OrderedProbitRV(RandomVariable):
    name, signature, dtype = "ordered_probit", "(),(k),()->()", "int64"

    def rng_fn(self, rng, eta, cutpoints, sigma, size):
        eta, c, sigma = broadcast_params([eta, cutpoints, sigma], [0, 1, 0], size)
        return _category_draw(rng, ndtr((c - eta[..., None]) / sigma[..., None]))


class OrderedProbit(_Ordered):
    r"""Ordered probit distribution over ``0, ..., K``.

    .. math::

        P(y = j \mid \eta, c, \sigma) = \Phi\Big(\frac{c_j - \eta}{\sigma}\Big)
            - \Phi\Big(\frac{c_{j-1} - \eta}{\sigma}\Big)

    Parameters: ``eta`` (batch-shaped), ``cutpoints`` of shape ``(..., K)``,
    increasing, and ``sigma`` > 0 (default 1).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> y = ppl.OrderedProbit.dist(eta=0.0, cutpoints=[[-1.0, 1.0], [0.0, 2.0]])
    >>> np.exp(ppl.logp(y, 0).eval()).round(4)
    array([0.1587, 0.5   ])
    """

    rv_op = OrderedProbitRV()
    params = ("eta", "cutpoints", "sigma")
    defaults = {"sigma": 1.0}

    @classmethod
    def _param_conditions(cls, eta, cutpoints, sigma):
        return cls._cut_conditions(cutpoints) + [(tm.gt(sigma, 0.0), "sigma > 0")]

    @classmethod
    def _scaled(cls, x, sigma):
        return x / sigma

    @classmethod
    def _log_cdf_std(cls, z, *rest):
        return tm.log_ndtr(z)

    @classmethod
    def _cdf_sym(cls, z):
        return tm.ndtr(z)

    @classmethod
    def _log_between(cls, lo, hi, *rest):
        return log_diff_ndtr(lo, hi)
