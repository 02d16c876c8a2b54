"""Spatial Gaussian Markov random fields: CAR and ICAR.

Both take an adjacency matrix ``W`` of shape ``(..., n, n)`` (symmetric,
nonnegative; batch dims allowed, e.g. one graph per group) and write the
density through the precision matrix, never forming a covariance.
When ``W`` is a constant, the eigenvalues the log-determinant needs are
computed once when the graph is built (batched ``eigvalsh``); otherwise a
batched Cholesky factorization runs in the graph.

JAX samplers: :mod:`tessera.ppl.jax.multivariate.spatial`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import constant
from tessera.ops.creation import zeros_like
from tessera.ops.products import matmul
from tessera.ops.shape import expand_dims, squeeze, swapaxes
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.multivariate.normal import vector_like_last
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    chol_logdet,
    dim_float,
    raise_if_invalid,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = ["CAR", "ICAR"]

LOG_2PI = math.log(2.0 * math.pi)


def _quad(delta: Variable, W: Variable, d: Variable, alpha: Any = 1.0) -> Variable:
    """``delta^T (D - alpha W) delta`` for vectors ``(..., n)``, batches broadcast."""
    wd = squeeze(matmul(W, expand_dims(delta, -1)), -1)
    return (d * tm.square(delta)).sum(axis=-1) - alpha * (delta * wd).sum(axis=-1)


def _w_conditions(W: Variable) -> list:
    sym = tm.le(tm.abs(W - swapaxes(W, -1, -2)), 1e-10).all(axis=(-2, -1))
    nonneg = tm.ge(W, 0.0).all(axis=(-2, -1))
    return [(tm.logical_and(sym, nonneg), "W is symmetric and nonnegative")]


def _check_w(who: str, W: Variable) -> None:
    if W.ndim < 2:
        raise ValueError(f"{who}: W must have shape (..., n, n), got {W.type.shape}")
    raise_if_invalid(who, _w_conditions(W))


# --- CAR ---------------------------------------------------------------------------
class CARRV(RandomVariable):
    """Sampler of CAR: ``mu + L^-T z`` with ``L L^T = tau (D - alpha W)``."""

    name, signature, dtype = "car", "(n),(n,n),(),()->(n)", "floatX"

    def rng_fn(self, rng, mu, W, alpha, tau, size):
        mu, W, alpha, tau = broadcast_params([mu, W, alpha, tau], [1, 2, 0, 0], size)
        d = W.sum(axis=-1)
        q = tau[..., None, None] * (
            d[..., None] * np.eye(W.shape[-1]) - alpha[..., None, None] * W
        )
        L = np.linalg.cholesky(q)
        z = rng.standard_normal(tuple(size) + mu.shape[-1:] + (1,))
        return mu + np.linalg.solve(np.swapaxes(L, -1, -2), z)[..., 0]


class CAR(MvMixin, Continuous):
    r"""Conditional autoregressive (proper CAR) distribution.

    .. math::

        x \sim \mathcal N\big(\mu,\ Q^{-1}\big), \quad
        Q = \tau\, (D - \alpha W), \quad D = \operatorname{diag}(\textstyle\sum_j W_{ij})

    Parameters: ``mu`` of shape ``(..., n)`` (a scalar broadcasts), ``W``
    of shape ``(..., n, n)`` (symmetric, nonnegative, every node with a
    neighbour), ``alpha`` in (-1, 1) and ``tau`` > 0, all with batch dims
    that broadcast. With a constant ``W``, :math:`\log|D - \alpha W| =
    \sum_i \log d_i + \sum_i \log(1 - \alpha\lambda_i)` with the eigenvalues
    :math:`\lambda` of :math:`D^{-1/2} W D^{-1/2}`, computed once.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> W = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> x = ppl.CAR.dist(mu=0.0, W=W, alpha=[0.2, 0.9], tau=2.0)
    >>> x.type.shape
    (2, 3)
    >>> ppl.logp(x, [0.1, -0.3, 0.2]).eval().round(4)
    array([-1.6569, -2.5929])
    """

    rv_op = CARRV()
    params = ("mu", "W", "alpha", "tau")

    @classmethod
    def _canonical_params(cls, mu, W, alpha, tau):
        W = as_float(W)
        _check_w(cls.__name__, W)
        n = W.type.shape[-1]
        return [
            vector_like_last(mu, n if n is not None else W.shape[-1]),
            W,
            alpha,
            tau,
        ]

    @classmethod
    def _param_conditions(cls, mu, W, alpha, tau):
        d = W.sum(axis=-1)
        return [
            (tm.logical_and(tm.gt(alpha, -1.0), tm.lt(alpha, 1.0)), "-1 < alpha < 1"),
            (tm.gt(tau, 0.0), "tau > 0"),
            (tm.gt(d, 0.0).all(axis=-1), "every node has a neighbour"),
        ] + _w_conditions(W)

    @classmethod
    def _logdet(cls, W: Variable, d: Variable, alpha: Variable) -> Variable:
        """``log det(D - alpha W)``, batch-shaped."""
        w_val = get_static_value(W)
        if w_val is not None:
            dv = w_val.sum(axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = 1.0 / np.sqrt(dv)
                lam = np.linalg.eigvalsh(s[..., :, None] * w_val * s[..., None, :])
            lam = constant(np.nan_to_num(lam).astype(W.dtype))
            return tm.log(d).sum(axis=-1) + tm.log1p(-expand_dims(alpha, -1) * lam).sum(
                axis=-1
            )
        from tessera.ops import linalg
        from tessera.ops.creation import eye

        n = W.shape[-1]
        prec = (
            expand_dims(d, -1) * eye(n, dtype=W.dtype)
            - expand_dims(alpha, (-2, -1)) * W
        )
        return 2.0 * chol_logdet(linalg.cholesky(prec, on_error="nan"))

    @classmethod
    def _logp(cls, value, mu, W, alpha, tau):
        n = dim_float(value, -1)
        d = W.sum(axis=-1)
        quad = tau * _quad(value - mu, W, d, alpha)
        logdet = n * tm.log(tau) + cls._logdet(W, d, alpha)
        return 0.5 * (logdet - quad - n * LOG_2PI)

    @classmethod
    def _moment(cls, mu, W, alpha, tau):
        return mu


# --- ICAR --------------------------------------------------------------------------
class ICARRV(RandomVariable):
    """Sampler of ICAR on the subspace orthogonal to each component's constant.

    With the Laplacian ``D - W = V diag(lam) V^T``: ``x = sigma V_+ lam_+^-1/2 z``
    over the nonzero eigenvalues, so every connected component sums to zero.
    """

    name, signature, dtype = "icar", "(n,n),(),()->(n)", "floatX"

    def rng_fn(self, rng, W, sigma, zero_sum_stdev, size):
        W, sigma = broadcast_params([W, sigma], [2, 0], size)
        lap = W.sum(axis=-1)[..., None] * np.eye(W.shape[-1]) - W
        lam, v = np.linalg.eigh(lap)
        tol = 1e-8 * np.maximum(lam.max(axis=-1, keepdims=True), 1.0)
        inv_sqrt = np.where(
            lam > tol, 1.0 / np.sqrt(np.where(lam > tol, lam, 1.0)), 0.0
        )
        z = rng.standard_normal(tuple(size) + W.shape[-1:]) * inv_sqrt
        return sigma[..., None] * np.matmul(v, z[..., None])[..., 0]


def _n_components(W: Variable) -> Any:
    """The number of connected components of a constant graph (1 otherwise)."""
    w_val = get_static_value(W)
    if w_val is None:
        return 1.0
    lap = w_val.sum(axis=-1)[..., None] * np.eye(w_val.shape[-1]) - w_val
    lam = np.linalg.eigvalsh(lap)
    tol = 1e-8 * np.maximum(lam.max(axis=-1, keepdims=True), 1.0)
    return constant((lam <= tol).sum(axis=-1).astype(W.dtype))


class ICAR(MvMixin, Continuous):
    r"""Intrinsic conditional autoregressive distribution (improper GMRF).

    .. math::

        \log f(x \mid \sigma) = -\frac{1}{2\sigma^2} \sum_{i<j} W_{ij}
            (x_i - x_j)^2 - (n - c)\log\sigma
            + \log \mathcal N\big(\textstyle\sum_i x_i \mid 0,\ s\, n\big)

    up to a constant depending on ``W`` only, with ``c`` the number of
    connected components of the graph (computed when ``W`` is a constant,
    else taken as 1) and ``s`` = ``zero_sum_stdev`` (default 0.001): a soft
    constraint that identifies the level. Parameters: ``W`` of shape
    ``(..., n, n)`` (symmetric, nonnegative), ``sigma`` > 0, with batch
    dims. Draws lie on the subspace where each connected component sums to
    zero.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> W = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> x = ppl.ICAR.dist(W=W, sigma=[1.0, 2.0])
    >>> ppl.logp(x, [0.5, 0.0, -0.5]).eval().round(4)
    array([4.6402, 3.4414])
    """

    rv_op = ICARRV()
    params = ("W", "sigma", "zero_sum_stdev")
    defaults = {"sigma": 1.0, "zero_sum_stdev": 0.001}

    @classmethod
    def _canonical_params(cls, W, sigma=1.0, zero_sum_stdev=0.001):
        W = as_float(W)
        _check_w(cls.__name__, W)
        return [W, sigma, zero_sum_stdev]

    @classmethod
    def _param_conditions(cls, W, sigma, zero_sum_stdev):
        return [
            (tm.gt(sigma, 0.0), "sigma > 0"),
            (tm.gt(zero_sum_stdev, 0.0), "zero_sum_stdev > 0"),
        ] + _w_conditions(W)

    @classmethod
    def _logp(cls, value, W, sigma, zero_sum_stdev):
        n = dim_float(value, -1)
        d = W.sum(axis=-1)
        pairwise = -0.5 * _quad(value, W, d) / tm.square(sigma)
        rank = n - _n_components(W)
        scale = zero_sum_stdev * n
        soft = -0.5 * tm.square(value.sum(axis=-1) / scale) - tm.log(scale)
        return pairwise - rank * tm.log(sigma) + soft - 0.5 * LOG_2PI

    @classmethod
    def _moment(cls, W, sigma, zero_sum_stdev):
        return zeros_like(W[..., 0])
