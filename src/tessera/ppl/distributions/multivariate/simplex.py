"""Distributions on the simplex and counts: Dirichlet, Multinomial,
DirichletMultinomial, StickBreakingWeights.

Every parameter takes any number of batch dims; batch dims broadcast between
parameters, and samplers draw the whole batch in one vectorized call.

JAX samplers: :mod:`tessera.ppl.jax.multivariate.simplex`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import arange
from tessera.ops.reduction import cumsum
from tessera.ops.shape import expand_dims, flip, shape_i
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous, Discrete, _as_int_param
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    literal_signature,
    raise_if_invalid,
    simplex_tol,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["Dirichlet", "DirichletMultinomial", "Multinomial", "StickBreakingWeights"]


def _on_simplex(value: Variable) -> Variable:
    """Entries in [0, 1] summing to one (within a dtype-dependent tolerance)."""
    tol = simplex_tol(value.dtype)
    inside = tm.logical_and(tm.ge(value, 0.0), tm.le(value, 1.0)).all(axis=-1)
    return tm.logical_and(inside, tm.le(tm.abs(value.sum(axis=-1) - 1.0), tol))


def _dirichlet_draw(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """Dirichlet draws for a batch of concentrations ``a`` (..., k).

    Works in log space, ``G = Gamma(a + 1) U^(1/a) ~ Gamma(a)``, so that small
    concentrations do not underflow every gamma draw to zero (0/0).
    """
    with np.errstate(divide="ignore"):
        log_g = np.log(rng.standard_gamma(a + 1.0)) + np.log(rng.random(a.shape)) / a
    log_g = log_g - log_g.max(axis=-1, keepdims=True)
    g = np.exp(log_g)
    return g / g.sum(axis=-1, keepdims=True)


# --- Dirichlet ---------------------------------------------------------------------
class DirichletRV(RandomVariable):
    name, signature, dtype = "dirichlet", "(k)->(k)", "floatX"

    def rng_fn(self, rng, a, size):
        (a,) = broadcast_params([a], [1], size)
        return _dirichlet_draw(rng, np.asarray(a, dtype=float))


class Dirichlet(MvMixin, Continuous):
    r"""Dirichlet distribution on the simplex of ``k`` components.

    .. math::

        f(x \mid a) = \frac{\Gamma(\sum_i a_i)}{\prod_i \Gamma(a_i)}
                      \prod_{i=1}^k x_i^{a_i - 1}

    Parameters: ``a`` of shape ``(..., k)``, positive concentrations.
    Event shape ``(k,)``; default transform ``"simplex"``.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Dirichlet.dist(a=[[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    >>> x.type.shape
    (2, 3)
    >>> ppl.logp(x, [0.2, 0.3, 0.5]).eval().round(4)
    array([1.5041, 0.6931])
    """

    rv_op = DirichletRV()
    params = ("a",)
    support = "simplex"
    default_transform = "simplex"

    @classmethod
    def _param_conditions(cls, a):
        return [(tm.gt(a, 0.0).all(axis=-1), "a > 0")]

    @classmethod
    def _support_mask(cls, value, a):
        return _on_simplex(value)

    @classmethod
    def _logp(cls, value, a):
        return (
            tm.xlogy(a - 1.0, value).sum(axis=-1)
            + tm.gammaln(a.sum(axis=-1))
            - tm.gammaln(a).sum(axis=-1)
        )

    @classmethod
    def _moment(cls, a):
        return a / a.sum(axis=-1, keepdims=True)


# --- Multinomial -------------------------------------------------------------------
def _normalized(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return p / p.sum(axis=-1, keepdims=True)


class MultinomialRV(RandomVariable):
    name, signature, dtype = "multinomial", "(),(k)->(k)", "int64"

    def rng_fn(self, rng, n, p, size):
        n, p = broadcast_params([n, p], [0, 1], size)
        # Generator.multinomial broadcasts n and p itself: one call, no loop
        return rng.multinomial(n, _normalized(p), size=tuple(size) or None)


def _multinomial_support(value, n):
    nonneg = tm.ge(value, 0).all(axis=-1)
    return tm.logical_and(nonneg, tm.eq(value.sum(axis=-1), n))


def _counts_moment(n, p):
    """Rounded ``n p`` fixed up to sum to ``n`` (the largest entry absorbs it)."""
    p = p / p.sum(axis=-1, keepdims=True)
    base = tm.floor(expand_dims(n, -1) * p)
    short = n - base.sum(axis=-1)
    idx = arange(shape_i(p, -1))
    top = tm.eq(idx, expand_dims(p.argmax(axis=-1), -1))
    return (base + tm.where(top, expand_dims(short, -1), 0.0)).astype("int64")


class Multinomial(MvMixin, Discrete):
    r"""Multinomial distribution: counts of ``n`` draws over ``k`` categories.

    .. math::

        f(x \mid n, p) = \frac{n!}{\prod_i x_i!} \prod_{i=1}^k p_i^{x_i},
        \quad \sum_i x_i = n

    Parameters: ``n`` >= 0 (integer, batch-shaped), ``p`` of shape
    ``(..., k)``, nonnegative (normalized over the last axis).

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Multinomial.dist(n=[3, 4], p=[0.2, 0.3, 0.5])
    >>> x.type.shape
    (2, 3)
    >>> ppl.logp(x, [[1, 1, 1], [0, 2, 2]]).eval().round(4)
    array([-1.7148, -2.0025])
    """

    rv_op = MultinomialRV()
    params = ("n", "p")
    integer_params = ("n",)
    support = "nonnegative_integers"

    @classmethod
    def _param_conditions(cls, n, p):
        return [(tm.ge(n, 0), "n >= 0"), (tm.ge(p, 0.0).all(axis=-1), "p >= 0")]

    @classmethod
    def _support_mask(cls, value, n, p):
        return _multinomial_support(value, n)

    @classmethod
    def _logp(cls, value, n, p):
        p = p / p.sum(axis=-1, keepdims=True)
        return (
            tm.gammaln(n + 1.0)
            - tm.gammaln(value + 1.0).sum(axis=-1)
            + tm.xlogy(value, p).sum(axis=-1)
        )

    @classmethod
    def _moment(cls, n, p):
        return _counts_moment(n, p)


# --- Dirichlet-multinomial ---------------------------------------------------------
class DirichletMultinomialRV(RandomVariable):
    name, signature, dtype = "dirichlet_multinomial", "(),(k)->(k)", "int64"

    def rng_fn(self, rng, n, a, size):
        n, a = broadcast_params([n, a], [0, 1], size)
        p = _dirichlet_draw(rng, np.asarray(a, dtype=float))
        return rng.multinomial(n, p, size=tuple(size) or None)


class DirichletMultinomial(MvMixin, Discrete):
    r"""Dirichlet-multinomial: a multinomial whose ``p`` is Dirichlet(``a``).

    .. math::

        f(x \mid n, a) = \frac{n!\, \Gamma(A)}{\Gamma(n + A)}
        \prod_{i=1}^k \frac{\Gamma(x_i + a_i)}{x_i!\, \Gamma(a_i)},
        \quad A = \sum_i a_i,\ \sum_i x_i = n

    Parameters: ``n`` >= 0 (integer, batch-shaped), ``a`` of shape
    ``(..., k)``, positive.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.DirichletMultinomial.dist(n=3, a=[1.0, 1.0, 1.0])
    >>> round(float(ppl.logp(x, [1, 1, 1]).eval()), 4)  # uniform over 10 outcomes
    -2.3026
    """

    rv_op = DirichletMultinomialRV()
    params = ("n", "a")
    integer_params = ("n",)
    support = "nonnegative_integers"

    @classmethod
    def _param_conditions(cls, n, a):
        return [(tm.ge(n, 0), "n >= 0"), (tm.gt(a, 0.0).all(axis=-1), "a > 0")]

    @classmethod
    def _support_mask(cls, value, n, a):
        return _multinomial_support(value, n)

    @classmethod
    def _logp(cls, value, n, a):
        total = a.sum(axis=-1)
        return (
            tm.gammaln(n + 1.0)
            + tm.gammaln(total)
            - tm.gammaln(n + total)
            + (tm.gammaln(value + a) - tm.gammaln(value + 1.0) - tm.gammaln(a)).sum(
                axis=-1
            )
        )

    @classmethod
    def _moment(cls, n, a):
        return _counts_moment(n, a)


# --- Stick-breaking weights -----------------------------------------------------------
class StickBreakingWeightsRV(RandomVariable):
    """Sampler of the first ``K + 1`` stick-breaking weights (``K`` is a prop)."""

    name, dtype = "stick_breaking_weights", "floatX"
    __props__ = ("K",)

    def __init__(self, K: int):
        self.K = int(K)
        super().__init__(signature=literal_signature(["()"], (self.K + 1,)))

    def rng_fn(self, rng, alpha, size):
        alpha = np.broadcast_to(alpha, size)
        v = rng.beta(1.0, alpha[..., None], size=tuple(size) + (self.K,))
        rest = np.cumprod(1.0 - v, axis=-1)
        before = np.concatenate([np.ones(tuple(size) + (1,)), rest[..., :-1]], axis=-1)
        return np.concatenate([v * before, rest[..., -1:]], axis=-1)


class StickBreakingWeights(MvMixin, Continuous):
    r"""The weights of a truncated stick-breaking (Dirichlet process) construction.

    With :math:`v_k \sim \mathrm{Beta}(1, \alpha)` for ``k < K``,
    :math:`w_k = v_k \prod_{j<k} (1 - v_j)` and
    :math:`w_K = \prod_{j<K} (1 - v_j)`; the ``K + 1`` weights lie on the
    simplex, with density (in the first ``K`` weights)

    .. math::

        f(w \mid \alpha) = \alpha^K\, w_K^{\alpha - 1}
                           \prod_{k=0}^{K-1} \Big(\sum_{j \ge k} w_j\Big)^{-1}

    Parameters: ``alpha`` > 0 (batch-shaped), ``K`` (a positive int).
    Event shape ``(K + 1,)``; default transform ``"simplex"``.

    Examples
    --------
    >>> from tessera import ppl
    >>> w = ppl.StickBreakingWeights.dist(alpha=[1.0, 3.0], K=3)
    >>> w.type.shape
    (2, 4)
    >>> ppl.logp(w, [0.5, 0.25, 0.125, 0.125]).eval().round(4)
    array([2.0794, 1.2164])
    """

    rv_op = StickBreakingWeightsRV(1)  # representative; dist() makes one per K
    params = ("alpha",)
    support = "simplex"
    default_transform = "simplex"

    @classmethod
    def dist(
        cls,
        alpha: Any,
        K: Any,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """Stick-breaking weights with concentration ``alpha`` and ``K + 1`` weights.

        ``K`` must be a positive int; ``shape`` includes the event axis.
        """
        if not isinstance(K, int | np.integer):
            K = _as_int_param(cls, "K", K)

            K = get_static_value(K)
            if K is None or np.ndim(K):
                raise TypeError("StickBreakingWeights: K must be an int known now")
        K = int(K)
        if K < 1:
            raise ValueError(f"StickBreakingWeights: K must be >= 1, got {K}")
        if shape is not None:
            if size is not None:
                raise TypeError("StickBreakingWeights.dist: give size or shape")
            shape = tuple(shape)
            if shape[-1:] != (K + 1,):
                raise ValueError(
                    f"StickBreakingWeights: shape {shape} must end with K + 1 = {K + 1}"
                )
            size = shape[:-1]
        alpha = as_float(alpha)
        raise_if_invalid(cls.__name__, cls._param_conditions(alpha))
        return StickBreakingWeightsRV(K)(alpha, size=size, rng=rng)

    @classmethod
    def _param_conditions(cls, alpha):
        return [(tm.gt(alpha, 0.0), "alpha > 0")]

    @classmethod
    def _support_mask(cls, value, alpha):
        return _on_simplex(value)

    @classmethod
    def _logp(cls, value, alpha):
        K = shape_i(value, -1) - 1
        # the stick left before each break: reversed cumulative sums
        left = flip(cumsum(flip(value, -1), axis=-1), -1)[..., :-1]
        return (
            K * tm.log(alpha)
            + tm.xlogy(alpha - 1.0, value[..., -1])
            - tm.log(left).sum(axis=-1)
        )

    @classmethod
    def node_moment(cls, op, params):
        (alpha,) = params
        k = arange(op.K + 1).astype(alpha.dtype)
        a = expand_dims(alpha, -1)
        ratio = a / (1.0 + a)
        return tm.where(tm.eq(k, op.K), tm.pow(ratio, k), tm.pow(ratio, k) / (1.0 + a))
