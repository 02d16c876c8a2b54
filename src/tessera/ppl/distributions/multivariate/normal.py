"""Multivariate Gaussian-family distributions: MvNormal, MvStudentT, LowRankMvNormal.

Every parameter takes any number of batch dims, and batch dims broadcast
between parameters (``mu`` of shape ``(5, 1, n)`` with ``cov`` of shape
``(4, n, n)`` is a ``(5, 4)`` batch). The densities are built from the
batched :mod:`tessera.linalg` ops (one Cholesky factorization and one
triangular solve for the whole batch); samplers draw the whole batch with
one batched matrix product.

A covariance that is not positive definite gives a log-density of ``-inf``
for that batch element (its Cholesky factor is NaN), or, when the covariance
is a constant, an error at ``.dist()`` naming the batch index.

JAX samplers: :mod:`tessera.ppl.jax.multivariate.normal`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import eye
from tessera.ops.products import matmul
from tessera.ops.shape import broadcast_to, expand_dims, shape_i, squeeze, swapaxes
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import LOG_PI
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    chol_is_valid,
    chol_logdet,
    chol_param,
    dim_float,
    mahalanobis_sq,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["LowRankMvNormal", "MvNormal", "MvStudentT"]

LOG_2PI = math.log(2.0 * math.pi)


def vector_like_last(mu: Any, n: Any) -> Variable:
    """``mu`` with a last axis of size ``n`` (a scalar or size-1 axis broadcasts)."""
    mu = as_float(mu)
    if mu.ndim == 0:
        return broadcast_to(mu, (n,))
    if mu.type.shape[-1] == 1 and not (isinstance(n, int) and n == 1):
        return broadcast_to(mu, (*[mu.shape[i] for i in range(mu.ndim - 1)], n))
    return mu


def _lower(chol: Any, lower: bool) -> Any:
    if chol is None or lower:
        return chol
    return swapaxes(as_float(chol), -1, -2)


def _chol_conditions(chol: Variable, what: str = "cov") -> list:
    return [(chol_is_valid(chol), f"{what} is positive definite")]


def _draw_gaussian(rng, chol: np.ndarray, size: tuple) -> np.ndarray:
    """``L z`` for standard normal ``z``: one batched matmul over the batch."""
    z = rng.standard_normal(tuple(size) + chol.shape[-1:] + (1,))
    return np.matmul(chol, z)[..., 0]


# --- MvNormal ---------------------------------------------------------------------
class MvNormalRV(RandomVariable):
    """Sampler of MvNormal from the mean and the lower Cholesky factor."""

    name, signature, dtype = "mv_normal", "(n),(n,n)->(n)", "floatX"

    def rng_fn(self, rng, mu, chol, size):
        mu, chol = broadcast_params([mu, chol], [1, 2], size)
        return mu + _draw_gaussian(rng, chol, size)


class MvNormal(MvMixin, Continuous):
    r"""Multivariate normal distribution.

    .. math::

        f(x \mid \mu, \Sigma) = (2\pi)^{-n/2} |\Sigma|^{-1/2}
            \exp\!\big(-\tfrac12 (x - \mu)^T \Sigma^{-1} (x - \mu)\big)

    Parameters: ``mu`` of shape ``(..., n)`` (a scalar broadcasts), and
    exactly one of ``cov`` (covariance), ``chol`` (its Cholesky factor,
    lower triangular unless ``lower=False``) or ``tau`` (precision), each of
    shape ``(..., n, n)``. Internally the distribution holds ``mu`` and the
    lower Cholesky factor of the covariance. Event shape ``(n,)``.

    A constant ``cov`` and ``tau`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.MvNormal.dist(mu=np.zeros((5, 1, 2)), cov=np.stack([np.eye(2)] * 4))
    >>> x.type.shape
    (5, 4, 2)
    >>> float(ppl.logp(x, [0.0, 0.0]).eval()[0, 0].round(4))  # -log(2 pi)
    -1.8379
    """

    rv_op = MvNormalRV()
    params = ("mu", "chol")

    @classmethod
    def _canonical_params(cls, mu, cov=None, chol=None, tau=None, lower=True):
        L = chol_param(cls.__name__, cov=cov, chol=_lower(chol, lower), tau=tau)
        return [vector_like_last(mu, L.type.shape[-1] or shape_i(L, -1)), L]

    @classmethod
    def _param_conditions(cls, mu, chol):
        return _chol_conditions(chol)

    @classmethod
    def _logp(cls, value, mu, chol):
        n = dim_float(value, -1)
        quad = mahalanobis_sq(value - mu, chol)
        return -0.5 * (n * LOG_2PI + quad) - chol_logdet(chol)

    @classmethod
    def _moment(cls, mu, chol):
        return mu


# --- MvStudentT ---------------------------------------------------------------------
class MvStudentTRV(RandomVariable):
    """Sampler of MvStudentT from ``nu``, the location and the scale's factor."""

    name, signature, dtype = "mv_studentt", "(),(n),(n,n)->(n)", "floatX"

    def rng_fn(self, rng, nu, mu, chol, size):
        nu, mu, chol = broadcast_params([nu, mu, chol], [0, 1, 2], size)
        w = np.sqrt(rng.chisquare(nu) / nu)
        return mu + _draw_gaussian(rng, chol, size) / w[..., None]


class MvStudentT(MvMixin, Continuous):
    r"""Multivariate Student t distribution.

    .. math::

        f(x \mid \nu, \mu, \Sigma) =
            \frac{\Gamma((\nu + n)/2)}{\Gamma(\nu/2)\, (\nu\pi)^{n/2} |\Sigma|^{1/2}}
            \Big(1 + \tfrac1\nu (x - \mu)^T \Sigma^{-1} (x - \mu)\Big)^{-(\nu+n)/2}

    Parameters: ``nu`` > 0 (batch-shaped), ``mu`` of shape ``(..., n)``
    (default 0), and exactly one of ``scale`` (the scale matrix
    :math:`\Sigma`), ``chol`` (its lower Cholesky factor) or ``tau`` (its
    inverse). Event shape ``(n,)``.

    A constant ``scale`` and ``tau`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.MvStudentT.dist(nu=[3.0, 30.0], mu=0.0, scale=np.eye(2))
    >>> ppl.logp(x, [0.5, -0.5]).eval().round(4)
    array([-2.2233, -2.1023])
    """

    rv_op = MvStudentTRV()
    params = ("nu", "mu", "chol")

    @classmethod
    def _canonical_params(cls, nu, mu=0.0, scale=None, chol=None, tau=None, lower=True):
        L = chol_param(
            cls.__name__,
            cov=scale,
            chol=_lower(chol, lower),
            tau=tau,
            names=("scale", "chol", "tau"),
        )
        return [nu, vector_like_last(mu, L.type.shape[-1] or shape_i(L, -1)), L]

    @classmethod
    def _param_conditions(cls, nu, mu, chol):
        return [(tm.gt(nu, 0.0), "nu > 0")] + _chol_conditions(chol, "scale")

    @classmethod
    def _logp(cls, value, nu, mu, chol):
        n = dim_float(value, -1)
        quad = mahalanobis_sq(value - mu, chol)
        return (
            tm.gammaln((nu + n) / 2.0)
            - tm.gammaln(nu / 2.0)
            - 0.5 * n * (tm.log(nu) + LOG_PI)
            - chol_logdet(chol)
            - 0.5 * (nu + n) * tm.log1p(quad / nu)
        )

    @classmethod
    def _moment(cls, nu, mu, chol):
        return mu


# --- LowRankMvNormal -------------------------------------------------------------------
class LowRankMvNormalRV(RandomVariable):
    """Sampler of ``mu + W z_k + sqrt(d) z_n``."""

    name, signature, dtype = "low_rank_mv_normal", "(n),(n,k),(n)->(n)", "floatX"

    def rng_fn(self, rng, mu, W, d, size):
        mu, W, d = broadcast_params([mu, W, d], [1, 2, 1], size)
        zk = rng.standard_normal(tuple(size) + W.shape[-1:] + (1,))
        zn = rng.standard_normal(tuple(size) + d.shape[-1:])
        return mu + np.matmul(W, zk)[..., 0] + np.sqrt(d) * zn


class LowRankMvNormal(MvMixin, Continuous):
    r"""Multivariate normal with a low-rank-plus-diagonal covariance.

    .. math:: x \sim \mathcal N(\mu,\ W W^T + \mathrm{diag}(d))

    with ``W`` (``cov_factor``) of shape ``(..., n, k)`` and ``d``
    (``cov_diag``) of shape ``(..., n)``, positive. The density uses the
    Woodbury identity and the ``k x k`` capacitance matrix
    :math:`C = I_k + W^T D^{-1} W`: :math:`\log|\Sigma| = \log|C| + \sum
    \log d_i` and :math:`r^T \Sigma^{-1} r = r^T D^{-1} r - u^T C^{-1} u`
    with :math:`u = W^T D^{-1} r`, so each evaluation costs
    :math:`O(n k^2 + k^3)`. Event shape ``(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.LowRankMvNormal.dist(
    ...     mu=np.zeros(3), cov_factor=np.ones((3, 1)), cov_diag=np.ones(3)
    ... )
    >>> cov = np.ones((3, 3)) + np.eye(3)
    >>> y = ppl.MvNormal.dist(mu=np.zeros(3), cov=cov)
    >>> v = [0.3, -1.0, 0.5]
    >>> bool(np.isclose(ppl.logp(x, v).eval(), ppl.logp(y, v).eval()))
    True
    """

    rv_op = LowRankMvNormalRV()
    params = ("mu", "cov_factor", "cov_diag")

    @classmethod
    def _canonical_params(cls, mu, cov_factor, cov_diag):
        W = as_float(cov_factor)
        if W.ndim < 2:
            raise ValueError(
                f"LowRankMvNormal: cov_factor must have shape (..., n, k), got "
                f"{W.type.shape}"
            )
        n = W.type.shape[-2] or shape_i(W, -2)
        return [vector_like_last(mu, n), W, vector_like_last(cov_diag, n)]

    @classmethod
    def _param_conditions(cls, mu, W, d):
        return [(tm.gt(d, 0.0).all(axis=-1), "cov_diag > 0")]

    @classmethod
    def _logp(cls, value, mu, W, d):
        from tessera.ops import linalg

        n = dim_float(value, -1)
        k = shape_i(W, -1)
        r = value - mu
        W_over_d = W / expand_dims(d, -1)
        cap = eye(k, dtype=W.dtype) + matmul(swapaxes(W, -1, -2), W_over_d)
        Lc = linalg.cholesky(cap, on_error="nan")
        u = matmul(swapaxes(W_over_d, -1, -2), expand_dims(r, -1))
        v = squeeze(linalg.solve_triangular(Lc, u, lower=True), -1)
        quad = (r * r / d).sum(axis=-1) - tm.square(v).sum(axis=-1)
        logdet = 2.0 * chol_logdet(Lc) + tm.log(d).sum(axis=-1)
        return -0.5 * (n * LOG_2PI + quad + logdet)

    @classmethod
    def _moment(cls, mu, W, d):
        return mu
