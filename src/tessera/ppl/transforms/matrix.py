"""Transforms of full matrices: positive definite and correlation matrices.

Both go through the Cholesky factor: a matrix ``X = L L^T`` is mapped to the
free coordinates of ``L`` by the Cholesky transforms of
:mod:`tessera.ppl.transforms.cholesky`. The densities they serve (Wishart,
InverseWishart, LKJCorr) are written with respect to the lower-triangular
entries of ``X`` (off-diagonal only for correlation matrices), so the
log-Jacobian adds that of ``L -> L L^T`` in those coordinates.

Importing this module registers the keys ``"positive_definite"`` and
``"correlation"`` with :func:`tessera.ppl.transforms.get_transform`.
"""

from __future__ import annotations

import math

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import arange
from tessera.ops.products import matmul
from tessera.ops.shape import swapaxes
from tessera.ppl.transforms import register_transform
from tessera.ppl.transforms.cholesky import CholeskyCorrTransform, CholeskyCovTransform

__all__ = ["CorrelationTransform", "PositiveDefiniteTransform"]


def _gram(L: Variable) -> Variable:
    return matmul(L, swapaxes(L, -1, -2))


def _weighted_log_diag(L: Variable, n: int, offset: int) -> Variable:
    """``sum_i (n - i - offset) log L_ii`` (0-based ``i``), batch-shaped."""
    from tessera.ops import linalg

    w = (n - offset - arange(n)).astype(L.dtype)
    return (w * tm.log(linalg.diagonal(L))).sum(axis=-1)


class PositiveDefiniteTransform(CholeskyCovTransform):
    r"""Symmetric positive definite matrices <-> ``n(n+1)/2`` free reals.

    ``backward(y) = L L^T`` with ``L`` from the log-Cholesky coordinates of
    :class:`~tessera.ppl.transforms.CholeskyCovTransform`. In the coordinates
    of the lower triangle of ``X`` (diagonal included), the map
    :math:`L \mapsto L L^T` has Jacobian :math:`2^n \prod_i L_{ii}^{n - i}`
    (0-based ``i``), so

    .. math:: \log|J| = \sum_i y_{ii} + n \log 2 + \sum_i (n - i) \log L_{ii}.

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

    def _backward(self, y):
        return _gram(super()._backward(y))

    def _forward(self, x):
        from tessera.ops import linalg

        return super()._forward(linalg.cholesky(x, lower=True))

    def _log_jac_det(self, y):
        n = self._n_from_packed(y)
        L = CholeskyCovTransform._backward(self, y)
        return super()._log_jac_det(y) + n * math.log(2.0) + _weighted_log_diag(L, n, 0)


class CorrelationTransform(CholeskyCorrTransform):
    r"""Correlation matrices <-> ``n(n-1)/2`` free reals.

    ``backward(y) = L L^T`` with ``L`` the Cholesky factor of a correlation
    matrix from :class:`~tessera.ppl.transforms.CholeskyCorrTransform`. In
    the coordinates of the strictly lower entries of ``C``, the map
    :math:`L \mapsto L L^T` (on factors with unit-norm rows) has Jacobian
    :math:`\prod_i L_{ii}^{n - 1 - i}` (0-based ``i``), so

    .. math:: \log|J| = \log|J_{\mathrm{chol}}(y)|
              + \sum_i (n - 1 - i) \log L_{ii}.

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

    def _backward(self, y):
        return _gram(super()._backward(y))

    def _forward(self, x):
        from tessera.ops import linalg

        return super()._forward(linalg.cholesky(x, lower=True))

    def _log_jac_det(self, y):
        n = self._n_from_packed(y)
        L = CholeskyCorrTransform._backward(self, y)
        return super()._log_jac_det(y) + _weighted_log_diag(L, n, 1)


register_transform("positive_definite", PositiveDefiniteTransform)
register_transform("correlation", CorrelationTransform)
