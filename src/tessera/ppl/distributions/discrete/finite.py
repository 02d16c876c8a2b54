"""Discrete distributions on a finite set given by their parameters.

``Bernoulli`` (0 or 1), ``DiscreteUniform`` (the integers ``lower ..
upper``) and ``Categorical`` (the categories ``0 .. k-1`` of a probability
vector); the counting distributions live in :mod:`.counts`, the ordinal ones
in :mod:`.ordinal`.

JAX samplers: :mod:`tessera.ppl.jax.discrete.finite`.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import arange
from tessera.ops.reduction import logsumexp
from tessera.ops.shape import expand_dims, shape_i
from tessera.ppl.distributions.base import Discrete
from tessera.ppl.distributions.dist_math import (
    NEG_INF,
)
from tessera.ppl.distributions.params import p_from_logit, probability
from tessera.random.op import RandomVariable, broadcast_params


# --- Bernoulli ---------------------------------------------------------------------
class BernoulliRV(RandomVariable):
    name, signature, dtype = "bernoulli", "()->()", "int64"

    def scipy_dist(self, p):
        return st.bernoulli(p)

    def rng_fn(self, rng, p, size):
        return rng.binomial(1, p, size=size)


class Bernoulli(Discrete):
    r"""Bernoulli distribution on {0, 1}.

    .. math:: f(x \mid p) = p^x (1 - p)^{1 - x}

    Parameters: ``p`` in [0, 1] or ``logit_p``.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.Bernoulli.dist(0.25), 1).eval()), 4)
    -1.3863
    """

    rv_op = BernoulliRV()
    params = ("p",)
    support = "binary"

    @classmethod
    def _canonical_params(cls, p=None, logit_p=None):
        return [p_from_logit(p, logit_p)]

    @classmethod
    def _param_conditions(cls, p):
        return probability("p", p)

    @classmethod
    def _support_mask(cls, value, p):
        return tm.logical_and(tm.ge(value, 0), tm.le(value, 1))

    @classmethod
    def _support_bounds(cls, p):
        return (0, 1)

    @classmethod
    def _logp(cls, value, p):
        return tm.xlogy(value, p) + tm.xlog1py(1 - value, -p)

    @classmethod
    def _logcdf(cls, value, p):
        return tm.where(
            tm.lt(value, 0), NEG_INF, tm.where(tm.lt(value, 1), tm.log1p(-p), 0.0)
        )

    @classmethod
    def _moment(cls, p):
        return tm.ge(p, 0.5).astype("int64")


# --- Discrete uniform ------------------------------------------------------------------------
class DiscreteUniformRV(RandomVariable):
    name, signature, dtype = "discrete_uniform", "(),()->()", "int64"

    def scipy_dist(self, lower, upper):
        return st.randint(lower, np.asarray(upper) + 1)

    def rng_fn(self, rng, lower, upper, size):
        return rng.integers(lower, np.asarray(upper) + 1, size=size)


class DiscreteUniform(Discrete):
    r"""Uniform distribution on the integers ``lower, ..., upper``.

    .. math:: f(x \mid l, u) = \frac{1}{u - l + 1}

    Parameters: ``lower`` <= ``upper`` (integers).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.DiscreteUniform.dist(1, 4), 2).eval()), 4)
    -1.3863
    """

    rv_op = DiscreteUniformRV()
    params = ("lower", "upper")
    integer_params = ("lower", "upper")

    @classmethod
    def _param_conditions(cls, lower, upper):
        return [(tm.le(lower, upper), "lower <= upper")]

    @classmethod
    def _support_mask(cls, value, lower, upper):
        return tm.logical_and(tm.ge(value, lower), tm.le(value, upper))

    @classmethod
    def _support_bounds(cls, lower, upper):
        return (lower, upper)

    @classmethod
    def _logp(cls, value, lower, upper):
        return -tm.log((upper - lower + 1.0) + 0.0 * value)

    @classmethod
    def _logcdf(cls, value, lower, upper):
        k = tm.clip(tm.floor(value), lower, upper)
        lc = tm.log(k - lower + 1.0) - tm.log(upper - lower + 1.0)
        return tm.where(tm.lt(value, lower), NEG_INF, lc)

    @classmethod
    def _moment(cls, lower, upper):
        return (lower + upper) // 2


# --- Categorical ------------------------------------------------------------------------------
class CategoricalRV(RandomVariable):
    name, signature, dtype = "categorical", "(k)->()", "int64"

    def rng_fn(self, rng, p, size):
        (p,) = broadcast_params([p], [1], size)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[..., -1:]
        u = rng.random(size=tuple(size) + (1,))
        # the category is the number of cumulative probabilities <= u
        x = (cdf <= u).sum(axis=-1)
        return np.minimum(x, p.shape[-1] - 1)


class Categorical(Discrete):
    r"""Categorical distribution over ``0, ..., k-1``.

    .. math:: f(x \mid p) = p_x / \textstyle\sum_j p_j

    Parameters: ``p`` of shape ``(..., k)``, nonnegative (normalized over the
    last axis), or ``logit_p`` (a softmax gives ``p``). Batch dims of ``p``
    are the distribution's batch dims.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Categorical.dist(p=[[0.2, 0.8], [0.5, 0.5]])
    >>> x.type.shape
    (2,)
    >>> ppl.logp(x, [1, 0]).eval().round(4)
    array([-0.2231, -0.6931])
    """

    rv_op = CategoricalRV()
    params = ("p",)
    support = "categories"

    @classmethod
    def _canonical_params(cls, p=None, logit_p=None):
        if (p is None) == (logit_p is None):
            raise ValueError("Categorical: give exactly one of p and logit_p")
        if logit_p is not None:
            lp = as_tensor(logit_p, dtype=config.floatX)
            return [tm.exp(lp - logsumexp(lp, axis=-1, keepdims=True))]
        return [p]

    @classmethod
    def _param_conditions(cls, p):
        return [(tm.ge(p, 0.0).all(axis=-1), "p >= 0")]

    @classmethod
    def _support_mask(cls, value, p):
        return tm.logical_and(tm.ge(value, 0), tm.lt(value, shape_i(p, -1)))

    @classmethod
    def _support_bounds(cls, p):
        return (0, shape_i(p, -1) - 1)

    @classmethod
    def _select(cls, value, p, cmp):
        idx = arange(shape_i(p, -1))
        chosen = tm.where(cmp(idx, expand_dims(value, -1)), p, 0.0).sum(axis=-1)
        return tm.log(chosen) - tm.log(p.sum(axis=-1))

    @classmethod
    def _logp(cls, value, p):
        return cls._select(value, p, tm.eq)

    @classmethod
    def _logcdf(cls, value, p):
        return cls._select(value, p, tm.le)

    @classmethod
    def _moment(cls, p):
        return p.argmax(axis=-1)
