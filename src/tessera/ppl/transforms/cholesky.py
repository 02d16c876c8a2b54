"""Transforms of Cholesky factors: of correlation and of covariance matrices.

Both pack the free entries of an ``(n, n)`` lower-triangular factor into a
vector in row-major order of ``numpy.tril_indices``, so they change the
event ndim: ``ndim_supp == 2`` and ``ndim_unconstrained == 1``.
"""

from __future__ import annotations

import math

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import eye, zeros
from tessera.ops.reduction import cumsum
from tessera.ops.reduction import sum as ts_sum
from tessera.ops.subtensor import set_subtensor
from tessera.ppl.transforms.base import Transform


def _size_from_packed(m: int, diagonal: bool, who: str) -> int:
    """The ``n`` with ``n(n-1)/2 == m`` (``n(n+1)/2`` with the diagonal)."""
    n = (math.isqrt(1 + 8 * m) + (-1 if diagonal else 1)) // 2
    if (n * (n + 1) if diagonal else n * (n - 1)) // 2 != m:
        what = "n(n+1)/2" if diagonal else "n(n-1)/2"
        raise ValueError(f"{who}: {m} unconstrained values is not {what} for any n")
    return n


class _PackedTriangular(Transform):
    """Shared shape logic: ``(..., n, n)`` <-> ``(..., m)``."""

    ndim_supp = 2
    ndim_unconstrained = 1
    diagonal: bool  # whether the packed entries include the diagonal

    def __init__(self, n: int | None = None):
        if n is not None and (int(n) != n or n < 1):
            raise ValueError(
                f"{type(self).__name__}: n must be a positive int, got {n!r}"
            )
        self.n = None if n is None else int(n)

    def packed_size(self, n: int) -> int:
        """The number of unconstrained values for an ``(n, n)`` factor."""
        return n * (n + 1) // 2 if self.diagonal else n * (n - 1) // 2

    def _n_from_matrix(self, x: Variable) -> int:
        rows, cols = x.type.shape[-2:]
        n = self.n if self.n is not None else (rows if rows is not None else cols)
        for s in (rows, cols):
            if s is not None and s != n:
                raise ValueError(
                    f"{type(self).__name__}: expected ({n}, {n}) matrices, got shape "
                    f"{x.type.shape}"
                )
        if n is None:
            raise ValueError(
                f"{type(self).__name__}: the matrix size is not known statically "
                f"(shape {x.type.shape}); pass n"
            )
        return n

    def _n_from_packed(self, y: Variable) -> int:
        m = y.type.shape[-1]
        if self.n is not None:
            if m is not None and m != self.packed_size(self.n):
                raise ValueError(
                    f"{type(self).__name__}: n={self.n} needs "
                    f"{self.packed_size(self.n)} unconstrained values, got shape "
                    f"{y.type.shape}"
                )
            return self.n
        if m is None:
            raise ValueError(
                f"{type(self).__name__}: the number of unconstrained values is not "
                f"known statically (shape {y.type.shape}); pass n"
            )
        return _size_from_packed(m, self.diagonal, type(self).__name__)

    def _indices(self, n: int):
        return np.tril_indices(n, 0 if self.diagonal else -1)

    def _unpack(self, v: Variable, n: int) -> Variable:
        """Packed entries ``(..., m)`` into a lower-triangular ``(..., n, n)``."""
        rows, cols = self._indices(n)
        batch = tuple(v.shape[i] for i in range(v.ndim - 1))
        return set_subtensor(zeros((*batch, n, n), dtype=v.dtype)[..., rows, cols], v)

    def unconstrained_shape(self, shape):
        shape = super().unconstrained_shape(shape)
        n = self.n if self.n is not None else shape[-1]
        if not isinstance(n, int):
            raise ValueError(
                f"{type(self).__name__}.unconstrained_shape: n is not known; pass n"
            )
        return (*shape[:-2], self.packed_size(n))

    def constrained_shape(self, shape):
        shape = super().constrained_shape(shape)
        n = self.n
        if n is None:
            if not isinstance(shape[-1], int):
                raise ValueError(
                    f"{type(self).__name__}.constrained_shape: n is not known; pass n"
                )
            n = _size_from_packed(shape[-1], self.diagonal, type(self).__name__)
        return (*shape[:-1], n, n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


class CholeskyCorrTransform(_PackedTriangular):
    r"""Cholesky factors of correlation matrices <-> ``n(n-1)/2`` free reals.

    The constrained value is lower triangular with a positive diagonal and
    unit-norm rows (``L @ L.T`` has a unit diagonal). Each free value gives
    a canonical partial correlation :math:`z_{ij} = \tanh y_{ij}` in
    ``(-1, 1)``, and row ``i`` of ``L`` breaks a stick of squared length 1:

    .. math::

        L_{ij} = z_{ij} \prod_{k<j} \sqrt{1 - z_{ik}^2} \quad (j < i), \qquad
        L_{ii} = \prod_{k<i} \sqrt{1 - z_{ik}^2}.

    In the free coordinates of ``L`` (its strictly lower entries) the
    Jacobian is triangular within each row, so

    .. math::

        \log|J| = \sum_{j<i} \Big[\log(1 - z_{ij}^2)
                  + \tfrac12 \sum_{k<j} \log(1 - z_{ik}^2)\Big].

    The free values are ordered like ``numpy.tril_indices(n, -1)``
    (row-major: (1,0), (2,0), (2,1), ...).

    Parameters
    ----------
    n : int, optional
        The matrix size; inferred from static shapes when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = CholeskyCorrTransform(3)
    >>> y = ts.vector("y")
    >>> L = t.backward(y).eval({y: np.array([0.3, -0.2, 0.5])})
    >>> np.allclose((L**2).sum(axis=-1), 1.0), np.allclose(L, np.tril(L))
    (True, True)
    >>> t.unconstrained_shape((2, 3, 3))
    (2, 3)
    """

    name = "cholesky_corr"
    diagonal = False

    def _parts(self, y):
        """The lower-triangular ``L`` and the row-wise log stick lengths."""
        n = self._n_from_packed(y)
        # 0.5 log(1 - tanh(y)^2), written to stay finite for large |y|
        half_log_1mz2 = math.log(2.0) - y - tm.softplus(-2.0 * y)
        log_rest = self._unpack(half_log_1mz2, n)
        # exclusive cumsum: log of the stick left before entry j of each row
        log_stick = cumsum(log_rest, axis=-1) - log_rest
        z_plus_diag = self._unpack(tm.tanh(y), n) + eye(n, dtype=y.dtype)
        return z_plus_diag * tm.exp(log_stick), log_stick, half_log_1mz2, n

    def _backward(self, y):
        return self._parts(y)[0]

    def _log_jac_det(self, y):
        _, log_stick, half_log_1mz2, n = self._parts(y)
        rows, cols = self._indices(n)
        return ts_sum(log_stick[..., rows, cols], axis=-1) + 2.0 * ts_sum(
            half_log_1mz2, axis=-1
        )

    def _forward(self, x):
        n = self._n_from_matrix(x)
        rows, cols = self._indices(n)
        sq = x * x
        # Gather before dividing: above the diagonal the stick is used up (0/0).
        used = (cumsum(sq, axis=-1) - sq)[..., rows, cols]
        z = x[..., rows, cols] / tm.sqrt(1.0 - used)
        return 0.5 * (tm.log1p(z) - tm.log1p(-z))


class CholeskyCovTransform(_PackedTriangular):
    r"""Cholesky factors of covariance matrices <-> ``n(n+1)/2`` free reals.

    The constrained value is lower triangular with a positive diagonal. The
    free values fill the lower triangle (diagonal included) in the order of
    ``numpy.tril_indices(n)``; the diagonal entries are exponentiated, so
    :math:`\log|J| = \sum_i y_{ii}` (the unconstrained diagonal entries).

    Parameters
    ----------
    n : int, optional
        The matrix size; inferred from static shapes when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> CholeskyCovTransform(2).backward(y).eval({y: np.array([0.0, 0.5, 1.0])})
    array([[1.        , 0.        ],
           [0.5       , 2.71828183]])
    """

    name = "cholesky_cov"
    diagonal = True

    def _diag_mask(self, n: int) -> np.ndarray:
        rows, cols = self._indices(n)
        return rows == cols

    def _backward(self, y):
        n = self._n_from_packed(y)
        on_diag = self._diag_mask(n)
        return self._unpack(tm.where(on_diag, tm.exp(y), y), n)

    def _log_jac_det(self, y):
        n = self._n_from_packed(y)
        return ts_sum(y[..., np.flatnonzero(self._diag_mask(n))], axis=-1)

    def _forward(self, x):
        n = self._n_from_matrix(x)
        rows, cols = self._indices(n)
        packed = x[..., rows, cols]
        on_diag = self._diag_mask(n)
        # log only where it is used, so off-diagonal negatives give no NaN
        safe = tm.where(on_diag, packed, 1.0)
        return tm.where(on_diag, tm.log(safe), packed)
