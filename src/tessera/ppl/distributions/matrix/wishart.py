"""Wishart and inverse Wishart distributions over positive definite matrices.

All parameters take any number of batch dims, broadcasting between
parameters. Log-densities are made of the batched :mod:`tessera.linalg` ops
(Cholesky factors, triangular solves); samplers use the Bartlett
decomposition, vectorized NumPy, never a loop over batch elements.

Matrix values are read through their lower triangle (as by a Cholesky
factorization): a symmetric matrix is assumed, and gradients with respect to
it are symmetric. A value that is not positive definite has log-density
``-inf``.

JAX samplers: :mod:`tessera.ppl.jax.matrix.wishart`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import arange
from tessera.ops.products import matmul
from tessera.ops.shape import (
    expand_dims,
    shape_i,
    swapaxes,
)
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import LOG_2, LOG_PI
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    chol_is_valid,
    chol_logdet,
    chol_param,
    dim_float,
    frob_sq,
)
from tessera.random.op import RandomVariable, broadcast_params


def multigammaln(a: Variable, n: Any) -> Variable:
    r"""Log of the multivariate gamma function :math:`\Gamma_n(a)` (batched ``a``).

    .. math:: \log\Gamma_n(a) = \tfrac{n(n-1)}{4}\log\pi
              + \sum_{j=0}^{n-1} \log\Gamma(a - j/2)

    Examples
    --------
    >>> from scipy.special import multigammaln as ref
    >>> bool(np.isclose(multigammaln(3.5, 3).eval(), ref(3.5, 3)))
    True
    """
    a = as_float(a)
    j = arange(n).astype(a.dtype)
    nf = float(n) if isinstance(n, int) else as_float(n)
    return 0.25 * nf * (nf - 1.0) * LOG_PI + tm.gammaln(
        expand_dims(a, -1) - 0.5 * j
    ).sum(axis=-1)


def _value_chol(value: Variable) -> Variable:
    from tessera.ops import linalg

    return linalg.cholesky(value, lower=True, on_error="nan")


def _bartlett(rng, nu: np.ndarray, size: tuple, n: int) -> np.ndarray:
    """Bartlett factors ``A`` (lower triangular) of standard Wishart draws.

    ``A_ii = sqrt(chi2(nu - i))``, ``A_ij ~ N(0, 1)`` below the diagonal, so
    that ``A A^T ~ Wishart(nu, I)``; the whole batch in one call.
    """
    a = np.tril(rng.standard_normal(tuple(size) + (n, n)), -1)
    df = nu[..., None] - np.arange(n)
    idx = np.arange(n)
    a[..., idx, idx] = np.sqrt(rng.chisquare(df))
    return a


class _WishartBase(MvMixin, Continuous):
    """Parameters, support and transform shared by Wishart and InverseWishart."""

    params = ("nu", "chol")
    support = "positive_definite"
    default_transform = "positive_definite"

    @classmethod
    def _canonical_params(cls, nu, V=None, chol=None):
        return [nu, chol_param(cls.__name__, V, chol, None, ("V", "chol", "tau"))]

    @classmethod
    def _param_conditions(cls, nu, chol):
        n = dim_float(chol, -1)
        return [
            (tm.gt(nu, n - 1.0), "nu > n - 1"),
            (chol_is_valid(chol), "V is positive definite"),
        ]

    @classmethod
    def _support_mask(cls, value, nu, chol):
        return tm.isfinite(_value_chol(value)).all(axis=(-2, -1))


# --- Wishart -----------------------------------------------------------------------
class WishartRV(RandomVariable):
    """Sampler of Wishart(nu, L L^T) by the Bartlett decomposition."""

    name, signature, dtype = "wishart", "(),(n,n)->(n,n)", "floatX"

    def rng_fn(self, rng, nu, chol, size):
        nu, chol = broadcast_params([nu, chol], [0, 2], size)
        b = np.matmul(chol, _bartlett(rng, nu, size, chol.shape[-1]))
        return np.matmul(b, np.swapaxes(b, -1, -2))


class Wishart(_WishartBase):
    r"""Wishart distribution over positive definite ``n x n`` matrices.

    .. math::

        f(X \mid \nu, V) = \frac{|X|^{(\nu - n - 1)/2}
            \exp(-\operatorname{tr}(V^{-1} X)/2)}
            {2^{\nu n/2} |V|^{\nu/2} \Gamma_n(\nu/2)}

    Parameters: ``nu`` > n - 1 (batch-shaped) and exactly one of ``V`` (the
    scale matrix) or ``chol`` (its lower Cholesky factor), shape
    ``(..., n, n)``. Event shape ``(n, n)``; default transform
    ``"positive_definite"`` (log-Cholesky coordinates).

    A constant ``V`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.Wishart.dist(nu=[3.0, 5.0], V=np.eye(2))
    >>> x.type.shape
    (2, 2, 2)
    >>> ppl.logp(x, np.eye(2)).eval().round(4)
    array([-3.531 , -5.3228])
    """

    rv_op = WishartRV()

    @classmethod
    def _logp(cls, value, nu, chol):
        from tessera.ops import linalg

        n = dim_float(value, -1)
        lx = _value_chol(value)
        # tr(V^-1 X) = ||L^-1 Lx||_F^2 with V = L L^T and X = Lx Lx^T
        trace = frob_sq(linalg.solve_triangular(chol, lx, lower=True))
        return (
            (nu - n - 1.0) * chol_logdet(lx)
            - 0.5 * trace
            - 0.5 * nu * n * LOG_2
            - nu * chol_logdet(chol)
            - multigammaln(0.5 * nu, shape_i(value, -1))
        )

    @classmethod
    def _moment(cls, nu, chol):
        return expand_dims(nu, (-2, -1)) * matmul(chol, swapaxes(chol, -1, -2))


# --- InverseWishart ---------------------------------------------------------------------
class InverseWishartRV(RandomVariable):
    """Sampler of InverseWishart(nu, L L^T): ``(L A^-T)(L A^-T)^T``, A Bartlett."""

    name, signature, dtype = "inverse_wishart", "(),(n,n)->(n,n)", "floatX"

    def rng_fn(self, rng, nu, chol, size):
        nu, chol = broadcast_params([nu, chol], [0, 2], size)
        a = _bartlett(rng, nu, size, chol.shape[-1])
        # X = W^-1 for W = L^-T A A^T L^-1 ~ Wishart(nu, (L L^T)^-1)
        b = np.matmul(chol, np.swapaxes(np.linalg.inv(a), -1, -2))
        return np.matmul(b, np.swapaxes(b, -1, -2))


class InverseWishart(_WishartBase):
    r"""Inverse Wishart distribution over positive definite ``n x n`` matrices.

    .. math::

        f(X \mid \nu, \Psi) = \frac{|\Psi|^{\nu/2}\, |X|^{-(\nu + n + 1)/2}
            \exp(-\operatorname{tr}(\Psi X^{-1})/2)}
            {2^{\nu n/2}\, \Gamma_n(\nu/2)}

    Parameters: ``nu`` > n - 1 (batch-shaped) and exactly one of ``V`` (the
    scale matrix :math:`\Psi`) or ``chol`` (its lower Cholesky factor).
    Event shape ``(n, n)``.

    A constant ``V`` must be symmetric (to a relative 1e-8; an error
    names the parameter and batch index when it is not); a symbolic one
    is read from its lower triangle only.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.InverseWishart.dist(nu=4.0, V=np.eye(2))
    >>> round(float(ppl.logp(x, np.eye(2)).eval()), 4)
    -4.2242
    """

    rv_op = InverseWishartRV()

    @classmethod
    def _logp(cls, value, nu, chol):
        from tessera.ops import linalg

        n = dim_float(value, -1)
        lx = _value_chol(value)
        # tr(Psi X^-1) = ||Lx^-1 L||_F^2
        trace = frob_sq(linalg.solve_triangular(lx, chol, lower=True))
        return (
            nu * chol_logdet(chol)
            - 0.5 * nu * n * LOG_2
            - multigammaln(0.5 * nu, shape_i(value, -1))
            - (nu + n + 1.0) * chol_logdet(lx)
            - 0.5 * trace
        )

    @classmethod
    def _moment(cls, nu, chol):
        # the mode, Psi / (nu + n + 1), exists for every valid nu
        n = dim_float(chol, -1)
        scale = 1.0 / (expand_dims(nu, (-2, -1)) + n + 1.0)
        return scale * matmul(chol, swapaxes(chol, -1, -2))
