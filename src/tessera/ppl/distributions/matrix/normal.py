"""Matrix-variate normal distributions: MatrixNormal and KroneckerNormal.

All parameters take any number of batch dims, broadcasting between
parameters. Log-densities are made of the batched :mod:`tessera.linalg` ops
(Cholesky factors, triangular solves, ``eigh``); samplers draw with batched
matrix products, never a loop over batch elements.

JAX samplers: :mod:`tessera.ppl.jax.matrix.normal`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.products import matmul
from tessera.ops.shape import (
    broadcast_to,
    expand_dims,
    flatten,
    reshape,
    shape_i,
    swapaxes,
)
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    check_symmetric,
    chol_is_valid,
    chol_logdet,
    chol_param,
    dim_float,
    frob_sq,
    raise_if_invalid,
)
from tessera.random.op import RandomVariable, broadcast_params

LOG_2PI = math.log(2.0 * math.pi)


# --- MatrixNormal ---------------------------------------------------------------------
class MatrixNormalRV(RandomVariable):
    """Sampler of ``M + Lu Z Lv^T`` (row and column Cholesky factors)."""

    name, signature, dtype = "matrix_normal", "(m,n),(m,m),(n,n)->(m,n)", "floatX"

    def rng_fn(self, rng, mu, rowchol, colchol, size):
        mu, lu, lv = broadcast_params([mu, rowchol, colchol], [2, 2, 2], size)
        z = rng.standard_normal(tuple(size) + mu.shape[-2:])
        return mu + np.matmul(np.matmul(lu, z), np.swapaxes(lv, -1, -2))


def _matrix_mu(mu: Any, m: Any, n: Any) -> Variable:
    mu = as_float(mu)
    if mu.ndim < 2 or mu.type.shape[-2:] != (m, n):
        if mu.ndim < 2:
            return broadcast_to(mu, (m, n))
        rows, cols = mu.type.shape[-2:]
        if (rows == 1 and m != 1) or (cols == 1 and n != 1):
            batch = [shape_i(mu, i) for i in range(mu.ndim - 2)]
            return broadcast_to(mu, (*batch, m, n))
    return mu


class MatrixNormal(MvMixin, Continuous):
    r"""Matrix normal distribution over ``m x n`` matrices.

    .. math::

        f(X \mid M, U, V) = \frac{\exp\big(-\tfrac12 \operatorname{tr}
            [V^{-1} (X - M)^T U^{-1} (X - M)]\big)}
            {(2\pi)^{mn/2} |V|^{m/2} |U|^{n/2}}

    equivalently :math:`\operatorname{vec}(X) \sim \mathcal N(\operatorname{vec}
    M, V \otimes U)`. Parameters: ``mu`` of shape ``(..., m, n)`` (scalars
    and size-1 axes broadcast), exactly one of ``rowcov`` (U) or ``rowchol``
    and exactly one of ``colcov`` (V) or ``colchol``, each with any batch
    dims. Event shape ``(m, n)``.

    A constant ``rowcov`` and ``colcov`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.MatrixNormal.dist(mu=0.0, rowcov=np.eye(2), colcov=np.eye(3))
    >>> x.type.shape
    (2, 3)
    >>> round(float(ppl.logp(x, np.zeros((2, 3))).eval()), 4)  # -3 log(2 pi)
    -5.5136
    """

    rv_op = MatrixNormalRV()
    params = ("mu", "rowchol", "colchol")

    @classmethod
    def _canonical_params(
        cls, mu, rowcov=None, rowchol=None, colcov=None, colchol=None
    ):
        lu = chol_param(
            cls.__name__, rowcov, rowchol, None, ("rowcov", "rowchol", "rowtau")
        )
        lv = chol_param(
            cls.__name__, colcov, colchol, None, ("colcov", "colchol", "coltau")
        )
        m = lu.type.shape[-1] or shape_i(lu, -1)
        n = lv.type.shape[-1] or shape_i(lv, -1)
        return [_matrix_mu(mu, m, n), lu, lv]

    @classmethod
    def _param_conditions(cls, mu, rowchol, colchol):
        return [
            (chol_is_valid(rowchol), "rowcov is positive definite"),
            (chol_is_valid(colchol), "colcov is positive definite"),
        ]

    @classmethod
    def _logp(cls, value, mu, rowchol, colchol):
        from tessera.ops import linalg

        m, n = dim_float(value, -2), dim_float(value, -1)
        a = linalg.solve_triangular(rowchol, value - mu, lower=True)
        b = linalg.solve_triangular(colchol, swapaxes(a, -1, -2), lower=True)
        return (
            -0.5 * (m * n * LOG_2PI + frob_sq(b))
            - n * chol_logdet(rowchol)
            - m * chol_logdet(colchol)
        )

    @classmethod
    def _moment(cls, mu, rowchol, colchol):
        return mu


# --- KroneckerNormal ---------------------------------------------------------------------
def kron_apply(mats: Sequence[Variable], v: Variable, fn) -> Variable:
    """``(A_1 ⊗ ... ⊗ A_k)``-style products on vectors ``v`` of shape ``(..., N)``.

    ``fn(A_i, X)`` acts on ``X`` of shape ``(..., n_i, R)`` along its
    ``n_i`` axis (e.g. a matmul or a triangular solve). Each step applies one
    factor to the leading Kronecker index, then rotates it to the back, so
    after ``k`` steps the indices are back in order; batch dims of ``v`` and
    of the factors broadcast. Never forms the ``N x N`` matrix.
    """
    x = v
    for a in mats:
        n_i = shape_i(a, -1)
        batch = [shape_i(x, i) for i in range(x.ndim - 1)]
        x = fn(a, reshape(x, (*batch, n_i, -1)))
        x = flatten(swapaxes(x, -1, -2), x.ndim - 1)
    return x


class KroneckerNormalRV(RandomVariable):
    """Sampler of ``mu + (F_1 ⊗ ... ⊗ F_k) z + sigma z'`` (``F_i F_i^T = cov_i``)."""

    name, dtype = "kronecker_normal", "floatX"
    __props__ = ("n_factors",)

    def __init__(self, n_factors: int):
        self.n_factors = int(n_factors)
        covs = ",".join(f"(a{i},a{i})" for i in range(self.n_factors))
        super().__init__(signature=f"(N),(),{covs}->(N)")

    def rng_fn(self, rng, mu, sigma, *covs, size):
        mu, sigma, *covs = broadcast_params(
            [mu, sigma, *covs], [1, 0] + [2] * len(covs), size
        )
        # square roots by eigh, so positive semi-definite factors work with sigma
        lam, q = zip(*[np.linalg.eigh(c) for c in covs])
        roots = [
            qi * np.sqrt(np.maximum(li, 0.0))[..., None, :] for li, qi in zip(lam, q)
        ]
        x = rng.standard_normal(tuple(size) + mu.shape[-1:])
        for f in roots:
            n_i = f.shape[-1]
            x = np.matmul(f, x.reshape(x.shape[:-1] + (n_i, -1)))
            x = np.swapaxes(x, -1, -2).reshape(x.shape[:-2] + (-1,))
        noise = rng.standard_normal(x.shape) * sigma[..., None]
        return mu + x + noise


class KroneckerNormal(MvMixin, Continuous):
    r"""Multivariate normal whose covariance is a Kronecker product (plus noise).

    .. math:: x \sim \mathcal N\big(\mu,\ K_1 \otimes \cdots \otimes K_k
              + \sigma^2 I\big), \quad N = \prod_i n_i

    Parameters: ``mu`` of shape ``(..., N)`` (a scalar broadcasts), one of
    ``covs`` (a list of ``(..., n_i, n_i)`` matrices), ``chols`` (their lower
    Cholesky factors) or ``evds`` (a list of ``(eigenvalues, eigenvectors)``
    pairs), and ``sigma`` >= 0 (default 0). Every factor and ``mu`` may carry
    batch dims, which broadcast.

    Without noise the log-density uses the factors' Cholesky factors,
    :math:`\log|K| = \sum_i (N/n_i) \log|K_i|`, and the solve is applied
    factor by factor (:func:`kron_apply`), :math:`O(N \sum_i n_i)`. With
    ``sigma`` (not known to be 0) it uses the factors' eigendecompositions:
    the eigenvalues of the sum are :math:`\otimes_i \lambda_i + \sigma^2`.

    A constant ``covs`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> k1, k2 = np.array([[2.0, 0.5], [0.5, 1.0]]), np.eye(3)
    >>> x = ppl.KroneckerNormal.dist(mu=0.0, covs=[k1, k2])
    >>> y = ppl.MvNormal.dist(mu=np.zeros(6), cov=np.kron(k1, k2))
    >>> v = np.linspace(-1.0, 1.0, 6)
    >>> bool(np.isclose(ppl.logp(x, v).eval(), ppl.logp(y, v).eval()))
    True
    """

    rv_op = KroneckerNormalRV(2)  # representative; dist() makes one per count
    params = ("mu", "sigma", "cov_0", "cov_1")

    @classmethod
    def dist(
        cls,
        mu: Any,
        covs: Sequence[Any] | None = None,
        chols: Sequence[Any] | None = None,
        evds: Sequence[Any] | None = None,
        sigma: Any = 0.0,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A KroneckerNormal with one of ``covs``, ``chols`` or ``evds``."""
        given = [g for g in (covs, chols, evds) if g is not None]
        if len(given) != 1:
            raise ValueError("KroneckerNormal: give exactly one of covs, chols, evds")
        if covs is not None:
            mats = [as_float(c) for c in covs]
            for k, c in enumerate(mats):
                check_symmetric(cls.__name__, f"covs[{k}]", c)
        elif chols is not None:
            mats = [as_float(c) for c in chols]
            mats = [matmul(c, swapaxes(c, -1, -2)) for c in mats]
        else:
            mats = []
            for lam, q in evds:
                lam, q = as_float(lam), as_float(q)
                mats.append(matmul(q * expand_dims(lam, -2), swapaxes(q, -1, -2)))
        if not mats:
            raise ValueError("KroneckerNormal: needs at least one factor")
        for k, c in enumerate(mats):
            if c.ndim < 2:
                raise ValueError(
                    f"KroneckerNormal: factor {k} must be a (batch of) square "
                    f"matrices, got shape {c.type.shape}"
                )
        sizes = [c.type.shape[-1] for c in mats]
        if None in sizes:
            big_n = 1
            for c in mats:
                big_n = big_n * shape_i(c, -1)
        else:
            big_n = int(np.prod(sizes))
        mu = as_float(mu)
        if mu.ndim == 0 or mu.type.shape[-1] == 1:
            batch = [shape_i(mu, i) for i in range(max(mu.ndim - 1, 0))]
            mu = broadcast_to(mu, (*batch, big_n))
        sigma = as_float(sigma)
        if shape is not None:
            if size is not None:
                raise TypeError("KroneckerNormal.dist: give size or shape, not both")
            size = tuple(shape)[:-1]
        params = [mu, sigma, *mats]
        raise_if_invalid(cls.__name__, cls._conditions(params))
        return KroneckerNormalRV(len(mats))(*params, size=size, rng=rng)

    @classmethod
    def _noise_free(cls, sigma: Variable) -> bool:
        val = get_static_value(sigma)
        return val is not None and bool(np.all(val == 0))

    @classmethod
    def _conditions(cls, params):
        mu, sigma, *covs = params
        out = [(tm.ge(sigma, 0.0), "sigma >= 0")]
        if cls._noise_free(sigma):
            from tessera.ops import linalg

            for k, c in enumerate(covs):
                valid = chol_is_valid(linalg.cholesky(c, on_error="nan"))
                out.append((valid, f"covs[{k}] is positive definite"))
        return out

    @classmethod
    def node_param_conditions(cls, op, params):
        return cls._conditions(params)

    @classmethod
    def node_logp(cls, op, value, params):
        from tessera.ops import linalg

        mu, sigma, *covs = params
        big_n = dim_float(value, -1)
        delta = value - mu
        if cls._noise_free(sigma):
            chols = [linalg.cholesky(c, on_error="nan") for c in covs]
            z = kron_apply(
                chols, delta, lambda a, x: linalg.solve_triangular(a, x, lower=True)
            )
            logdet = 0.0
            for c in chols:
                logdet = logdet + 2.0 * big_n / dim_float(c, -1) * chol_logdet(c)
            quad = tm.square(z).sum(axis=-1)
        else:
            lams, qs = zip(*[linalg.eigh(c) for c in covs])
            eigs = lams[0]
            for lam in lams[1:]:
                outer = expand_dims(eigs, -1) * expand_dims(lam, -2)
                eigs = flatten(outer, outer.ndim - 1)
            eigs = eigs + expand_dims(tm.square(sigma), -1)
            t = kron_apply(qs, delta, lambda q, x: matmul(swapaxes(q, -1, -2), x))
            quad = (tm.square(t) / eigs).sum(axis=-1)
            logdet = tm.log(eigs).sum(axis=-1)
        return -0.5 * (big_n * LOG_2PI + quad + logdet)

    @classmethod
    def node_moment(cls, op, params):
        return params[0]
