"""Transforms of full matrices: positive definite and correlation matrices.

Both go through the Cholesky factor: a matrix ``X = L L^T`` is mapped to the
free coordinates of ``L`` by the Cholesky transforms of
:mod:`tessera.ppl.transforms.cholesky`. The densities they serve (Wishart,
InverseWishart, LKJCorr) are written with respect to the lower-triangular
entries of ``X`` (off-diagonal only for correlation matrices), so the
log-Jacobian adds that of ``L -> L L^T`` in those coordinates.

:func:`tessera.ppl.transforms.get_transform` knows them as
``"positive_definite"`` and ``"correlation"``.
"""

from __future__ import annotations

import math

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import arange
from tessera.ops.products import matmul
from tessera.ops.shape import swapaxes
from tessera.ppl.transforms.cholesky import CholeskyCorrTransform, CholeskyCovTransform

__all__ = ["CorrelationTransform", "PositiveDefiniteTransform"]


def _weighted_log_diag(L: Variable, n: int, offset: int) -> Variable:
    """``sum_i (n - i - offset) log L_ii`` (0-based ``i``), batch-shaped."""
    from tessera.ops import linalg

    w = (n - offset - arange(n)).astype(L.dtype)
    return (w * tm.log(linalg.diagonal(L))).sum(axis=-1)


class _GramOfFactor:
    """Mixin over a Cholesky-factor transform: the value is ``L L^T``.

    The subclass lists this mixin before its Cholesky transform, so
    ``super()`` below is the transform of the factor ``L``; it adds the
    log-Jacobian of ``L -> L L^T`` as ``_gram_log_jac(L, n)``.
    """

    def _backward(self, y):
        L = super()._backward(y)
        return matmul(L, swapaxes(L, -1, -2))

    def _forward(self, x):
        from tessera.ops import linalg

        return super()._forward(linalg.cholesky(x, lower=True))

    def _log_jac_det(self, y):
        L = super()._backward(y)
        return super()._log_jac_det(y) + self._gram_log_jac(L, self._n_from_packed(y))

    def _gram_log_jac(self, L: Variable, n: int) -> Variable:
        raise NotImplementedError


class PositiveDefiniteTransform(_GramOfFactor, CholeskyCovTransform):
    r"""Symmetric positive definite matrices <-> ``n(n+1)/2`` free reals.

    ``backward(y) = L L^T`` with ``L`` from the log-Cholesky coordinates of
    :class:`~tessera.ppl.transforms.CholeskyCovTransform`. In the coordinates
    of the lower triangle of ``X`` (diagonal included), the map
    :math:`L \mapsto L L^T` has Jacobian :math:`2^n \prod_i L_{ii}^{n - i}`
    (0-based ``i``), so

    .. math:: \log|J| = \sum_i y_{ii} + n \log 2 + \sum_i (n - i) \log L_{ii}.

    Parameters
    ----------
    n : int, optional
        The matrix size; inferred from static shapes when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = PositiveDefiniteTransform(2)
    >>> y = ts.vector("y")
    >>> t.backward(y).eval({y: np.array([0.0, 0.5, 0.0])})
    array([[1.  , 0.5 ],
           [0.5 , 1.25]])
    """

    name = "positive_definite"

    def _gram_log_jac(self, L, n):
        return n * math.log(2.0) + _weighted_log_diag(L, n, 0)


class CorrelationTransform(_GramOfFactor, CholeskyCorrTransform):
    r"""Correlation matrices <-> ``n(n-1)/2`` free reals.

    ``backward(y) = L L^T`` with ``L`` the Cholesky factor of a correlation
    matrix from :class:`~tessera.ppl.transforms.CholeskyCorrTransform`. In
    the coordinates of the strictly lower entries of ``C``, the map
    :math:`L \mapsto L L^T` (on factors with unit-norm rows) has Jacobian
    :math:`\prod_i L_{ii}^{n - 1 - i}` (0-based ``i``), so

    .. math:: \log|J| = \log|J_{\mathrm{chol}}(y)|
              + \sum_i (n - 1 - i) \log L_{ii}.

    Parameters
    ----------
    n : int, optional
        The matrix size; inferred from static shapes when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = CorrelationTransform(3)
    >>> y = ts.vector("y")
    >>> c = t.backward(y).eval({y: np.array([0.3, -0.2, 0.5])})
    >>> bool(np.allclose(np.diag(c), 1.0) and np.allclose(c, c.T))
    True
    """

    name = "correlation"

    def _gram_log_jac(self, L, n):
        return _weighted_log_diag(L, n, 1)
