"""Transforms of vectors: simplex, ordered, zero-sum.

They act on the last axis (``ZeroSumTransform`` on the last
``n_zerosum_axes`` axes); every leading axis is a batch axis.
"""

from __future__ import annotations

import math

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.creation import zeros
from tessera.ops.reduction import cumsum, logsumexp
from tessera.ops.reduction import mean as ts_mean
from tessera.ops.reduction import sum as ts_sum
from tessera.ops.shape import concatenate
from tessera.ppl.transforms.base import Transform


def dim_size(v: Variable, axis: int, offset: int = 0):
    """``v.shape[axis] + offset`` as a Python float, or a float scalar graph.

    Examples
    --------
    >>> import tessera as ts
    >>> dim_size(ts.ones((2, 3)), -1, 1)
    4.0
    """
    static = v.type.shape[axis]
    if static is not None:
        return float(static + offset)
    return tm.cast(v.shape[axis] + offset, v.dtype)


def _take_last(x: Variable, axis: int) -> Variable:
    """``x`` restricted to the last entry along ``axis`` (keeping the dim)."""
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(-1, None)
    return x[tuple(idx)]


def _drop_last(x: Variable, axis: int) -> Variable:
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(None, -1)
    return x[tuple(idx)]


def _event_minus_one(shape: tuple, axes: range) -> tuple:
    out = list(shape)
    for a in axes:
        out[a] = out[a] - 1
    return tuple(out)


def _event_plus_one(shape: tuple, axes: range) -> tuple:
    out = list(shape)
    for a in axes:
        out[a] = out[a] + 1
    return tuple(out)


class SimplexTransform(Transform):
    r"""Probability vectors of length ``K`` <-> ``K - 1`` free reals.

    The centred additive log-ratio map (as in PyMC):

    * forward: :math:`z = \log x - \overline{\log x}` (so ``z`` sums to 0),
      keep :math:`y = z_{1..K-1}`;
    * backward: :math:`z = (y, -\sum_i y_i)`, :math:`x = \mathrm{softmax}(z)`;
    * log-det-Jacobian of ``y -> (x_1, ..., x_{K-1})``, the free
      coordinates in which the Dirichlet density is written:
      :math:`\log K + \sum_{i=1}^{K} \log x_i = \log K - K\,\mathrm{logsumexp}(z)`
      (the determinant of :math:`\mathrm{diag}(x') (I - \mathbf 1 (x' - x_K)^T)`
      is :math:`\prod_i x_i (x_K + (K-1) x_K)`).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = SimplexTransform()
    >>> y = ts.vector("y")
    >>> t.backward(y).eval({y: np.zeros(3)})
    array([0.25, 0.25, 0.25, 0.25])
    >>> round(float(t.log_jac_det(y).eval({y: np.zeros(3)})), 6)  # -3 log 4
    -4.158883
    """

    name = "simplex"
    ndim_supp = 1
    ndim_unconstrained = 1

    def _forward(self, x):
        log_x = tm.log(x)
        z = log_x - ts_mean(log_x, axis=-1, keepdims=True)
        return z[..., :-1]

    def _full(self, y):
        return concatenate([y, -ts_sum(y, axis=-1, keepdims=True)], axis=-1)

    def _backward(self, y):
        z = self._full(y)
        return tm.exp(z - logsumexp(z, axis=-1, keepdims=True))

    def _log_jac_det(self, y):
        k = dim_size(y, -1, 1)
        return tm.log(k) - k * logsumexp(self._full(y), axis=-1)

    def unconstrained_shape(self, shape):
        shape = super().unconstrained_shape(shape)
        return _event_minus_one(shape, range(-1, 0))

    def constrained_shape(self, shape):
        shape = super().constrained_shape(shape)
        return _event_plus_one(shape, range(-1, 0))


class OrderedTransform(Transform):
    r"""Increasing vectors: the first entry free, then logs of the increments.

    :math:`x_1 = y_1`, :math:`x_i = x_{i-1} + e^{y_i}`; the Jacobian is
    triangular, so :math:`\log|J| = \sum_{i \ge 2} y_i`.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> OrderedTransform().backward(y).eval({y: np.array([-1.0, 0.0, 0.0])})
    array([-1.,  0.,  1.])
    """

    name = "ordered"
    ndim_supp = 1
    ndim_unconstrained = 1

    def _forward(self, x):
        steps = tm.log(x[..., 1:] - x[..., :-1])
        return concatenate([x[..., :1], steps], axis=-1)

    def _backward(self, y):
        return cumsum(concatenate([y[..., :1], tm.exp(y[..., 1:])], axis=-1), axis=-1)

    def _log_jac_det(self, y):
        return ts_sum(y[..., 1:], axis=-1)


class ZeroSumTransform(Transform):
    r"""Tensors summing to zero along each of the last ``n_zerosum_axes`` axes.

    Along each zero-sum axis, ``n - 1`` free values ``y`` map to ``n``
    values by the Householder reflection :math:`H = I - 2 v v^T / v^T v`,
    :math:`v = e_n - \mathbf 1/\sqrt n`, which swaps :math:`e_n` and the
    unit vector :math:`\mathbf 1/\sqrt n`; so :math:`x = H (y, 0)` is an
    isometry onto the zero-sum hyperplane:

    * backward: with :math:`s = \sum_i y_i`,
      :math:`x_i = y_i - s / (n - \sqrt n)` for :math:`i < n`,
      :math:`x_n = s / \sqrt n`;
    * forward: the first ``n - 1`` entries of :math:`H x`,
      :math:`y_i = x_i + (x_n - \sum_j x_j/\sqrt n) / (\sqrt n - 1)`.

    Since the map is an isometry, ``log|J| = 0`` with respect to the
    surface (Hausdorff) measure on the hyperplane, in which ZeroSumNormal's
    density is written.

    Parameters
    ----------
    n_zerosum_axes : int
        How many trailing axes sum to zero (default 1).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> x = ZeroSumTransform().backward(y).eval({y: np.array([1.0, 2.0])})
    >>> x.shape, bool(abs(x.sum()) < 1e-12)
    ((3,), True)
    """

    name = "zerosum"

    def __init__(self, n_zerosum_axes: int = 1):
        if int(n_zerosum_axes) != n_zerosum_axes or n_zerosum_axes < 1:
            raise ValueError(
                f"ZeroSumTransform: n_zerosum_axes must be a positive int, got "
                f"{n_zerosum_axes!r}"
            )
        self.n_zerosum_axes = int(n_zerosum_axes)
        self.ndim_supp = self.ndim_unconstrained = self.n_zerosum_axes

    def _axes(self) -> range:
        return range(-self.n_zerosum_axes, 0)

    def _forward(self, x):
        for axis in self._axes():
            sqrt_n = _sqrt(dim_size(x, axis))
            v_dot_x = _take_last(x, axis) - ts_sum(x, axis=axis, keepdims=True) / sqrt_n
            x = _drop_last(x, axis) + v_dot_x / (sqrt_n - 1.0)
        return x

    def _backward(self, y):
        for axis in self._axes():
            n = dim_size(y, axis, 1)
            sqrt_n = _sqrt(n)
            s = ts_sum(y, axis=axis, keepdims=True)
            y = concatenate([y - s / (n - sqrt_n), s / sqrt_n], axis=axis)
        return y

    def _log_jac_det(self, y):
        batch = [y.shape[i] for i in range(y.ndim - self.n_zerosum_axes)]
        return zeros(tuple(batch), dtype=y.dtype)

    def unconstrained_shape(self, shape):
        shape = super().unconstrained_shape(shape)
        return _event_minus_one(shape, self._axes())

    def constrained_shape(self, shape):
        shape = super().constrained_shape(shape)
        return _event_plus_one(shape, self._axes())

    def __repr__(self) -> str:
        return f"ZeroSumTransform(n_zerosum_axes={self.n_zerosum_axes})"


def _sqrt(v):
    return math.sqrt(v) if isinstance(v, float) else tm.sqrt(v)


class SumTo1Transform(Transform):
    r"""Vectors summing to 1 <-> their first ``K - 1`` entries.

    :math:`y = x_{1..K-1}`, :math:`x = (y, 1 - \sum_i y_i)`; the map of the
    free coordinates is the identity, so :math:`\log|J| = 0`. Unlike
    :class:`SimplexTransform` it does not keep entries positive.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> SumTo1Transform().backward(y).eval({y: np.array([0.2, 0.3])})
    array([0.2, 0.3, 0.5])
    """

    name = "sumto1"
    ndim_supp = 1
    ndim_unconstrained = 1

    def _forward(self, x):
        return x[..., :-1]

    def _backward(self, y):
        rest = 1.0 - ts_sum(y, axis=-1, keepdims=True)
        return concatenate([y, rest], axis=-1)

    def _log_jac_det(self, y):
        return ts_sum(zeros(()) * y, axis=-1)

    def unconstrained_shape(self, shape):
        shape = super().unconstrained_shape(shape)
        return _event_minus_one(shape, range(-1, 0))

    def constrained_shape(self, shape):
        shape = super().constrained_shape(shape)
        return _event_plus_one(shape, range(-1, 0))
