"""Shared pieces of the multivariate distributions.

* :class:`MvMixin`: eager parameter checks that name the failing batch index;
* :func:`literal_signature`: gufunc signatures whose event shape is fixed by
  a static size (LKJ's ``n``, StickBreakingWeights' ``K``, ZeroSumNormal's
  support shape), written with integer literals;
* :func:`simplex_tol`: the tolerance of ``sum(x) == 1`` checks;
* :func:`check_symmetric`: the build-time symmetry check of constant
  covariance-type parameters (symbolic ones are read from their lower
  triangle);
* :func:`chol_param`, :func:`chol_logdet`, :func:`mahalanobis_sq`: the
  Cholesky-based building blocks of Gaussian-family log-densities, made of the
  batched :mod:`tessera.linalg` ops (batch dims broadcast, no Python loop);
* :func:`embedded_dist`: a univariate distribution used inside another one
  (LKJCholeskyCov's ``sd_dist``, MvGaussianRandomWalk's ``init_dist``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Constant, Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.rearrange import moveaxis
from tessera.ops.shape import broadcast_to, shape_tuple
from tessera.ops.static import get_static_value
from tessera.ops.variable import TensorConstant
from tessera.random.op import RandomVariable

__all__ = [
    "MvMixin",
    "chol_logdet",
    "chol_param",
    "check_symmetric",
    "dim_float",
    "draw_shape",
    "embedded_dist",
    "frob_sq",
    "literal_signature",
    "mahalanobis_sq",
    "raise_if_invalid",
    "simplex_tol",
]


def raise_if_invalid(name: str, conditions) -> None:
    """Raise a ValueError for the first condition known to fail at build time.

    The message names the condition and, for batched parameters, the first
    failing batch index.

    Examples
    --------
    >>> import tessera as ts
    >>> raise_if_invalid("D", [(ts.constant([1.0, -1.0]) > 0, "s > 0")])
    Traceback (most recent call last):
    ...
    ValueError: D: invalid parameters, s > 0 does not hold at batch index (1,)
    """
    for cond, text in conditions:
        val = get_static_value(cond)
        if val is None or np.all(val):
            continue
        val = np.asarray(val)
        where = ""
        if val.ndim:
            idx = tuple(int(i) for i in np.argwhere(~val.astype(bool))[0])
            where = f" at batch index {idx}"
        raise ValueError(f"{name}: invalid parameters, {text} does not hold{where}")


class MvMixin:
    """Eager parameter checks naming the first failing batch index."""

    @classmethod
    def _check_static(cls, params: Sequence[Variable]) -> None:
        raise_if_invalid(cls.__name__, cls._param_conditions(*params))


def literal_signature(inputs: Sequence[str], event_shape: Sequence[int]) -> str:
    """A gufunc signature with a literal (static) event shape.

    Examples
    --------
    >>> literal_signature(["()"], (3, 3))
    '()->(3,3)'
    """
    out = "(" + ",".join(str(int(s)) for s in event_shape) + ")"
    return ",".join(inputs) + "->" + out


def simplex_tol(dtype: str) -> float:
    """Tolerance of ``|sum(x) - 1|`` for values on the simplex."""
    return 1e-4 if dtype == "float32" else 1e-6


def as_float(x: Any) -> Variable:
    """``x`` as a tensor of ``config.floatX`` (or a wider float it already is)."""
    x = as_tensor(x)
    if x.dtype != config.floatX:
        x = x.astype(config.floatX)
    return x


def dim_float(x: Variable, axis: int) -> Any:
    """The size of ``x`` along ``axis`` as a float (symbolic where not static)."""
    from tessera.ops.shape import shape_i

    s = shape_i(x, axis)
    return float(s) if isinstance(s, int | np.integer) else s.astype(x.dtype)


SYMMETRY_RTOL = 1e-8


def check_symmetric(who: str, name: str, value: Any) -> None:
    """Raise a ValueError when a constant matrix parameter is not symmetric.

    Covariance-type parameters (``cov``, ``tau``, ``scale``, ``V``, ...) are
    factorized from their lower triangle; a constant that is not symmetric
    (beyond ``SYMMETRY_RTOL`` times its largest entry) would be silently read
    as another matrix, so it is an error naming the distribution, the
    parameter and the first bad batch index. Symbolic values are not checked
    (their lower triangle is read).

    Examples
    --------
    >>> check_symmetric("MvNormal", "cov", [[1.0, 0.5], [0.5, 1.0]])
    >>> check_symmetric("MvNormal", "cov", [[1.0, 0.5], [0.3, 1.0]])
    Traceback (most recent call last):
    ...
    ValueError: MvNormal: cov is not symmetric (|cov - cov^T| = 0.2 at [0, 1], > 1e-08 times its largest entry); a constant covariance-type matrix must be symmetric (a symbolic one is read from its lower triangle)
    """
    if value is None:
        return
    val = get_static_value(value) if isinstance(value, Variable) else value
    if val is None:
        return
    val = np.asarray(val)
    if val.ndim < 2 or val.shape[-1] != val.shape[-2] or val.dtype.kind not in "fiu":
        return
    val = val.astype(np.float64, copy=False)
    diff = np.abs(val - np.swapaxes(val, -1, -2))
    scale = np.abs(val).max(axis=(-2, -1), initial=0.0)
    bad = diff > SYMMETRY_RTOL * scale[..., None, None]
    if not bad.any():
        return
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    batch, (i, j) = idx[:-2], idx[-2:]
    where = f" at batch index {batch}" if batch else ""
    raise ValueError(
        f"{who}: {name} is not symmetric{where} (|{name} - {name}^T| = "
        f"{diff[idx]:.3g} at [{i}, {j}], > {SYMMETRY_RTOL:g} times its largest "
        "entry); a constant covariance-type matrix must be symmetric (a symbolic "
        "one is read from its lower triangle)"
    )


# --- Cholesky-based building blocks -------------------------------------------------
def chol_param(
    who: str,
    cov: Any = None,
    chol: Any = None,
    tau: Any = None,
    names: tuple[str, str, str] = ("cov", "chol", "tau"),
) -> Variable:
    """The lower Cholesky factor from exactly one of ``cov``, ``chol``, ``tau``.

    A constant ``cov`` or ``tau`` must be symmetric (:func:`check_symmetric`);
    a symbolic one is read from its lower triangle.
    A covariance (or precision) that is not positive definite gives a factor
    of NaN for that batch element (``on_error="nan"``); the distributions'
    parameter conditions turn it into ``-inf`` log-density (or a build-time
    error naming the batch index for constant parameters).

    Examples
    --------
    >>> import numpy as np
    >>> L = chol_param("D", cov=np.array([[4.0, 2.0], [2.0, 2.0]]))
    >>> L.eval()
    array([[2., 0.],
           [1., 1.]])
    """
    from tessera.ops import linalg

    given = [(n, v) for n, v in zip(names, (cov, chol, tau)) if v is not None]
    if len(given) != 1:
        raise ValueError(
            f"{who}: give exactly one of {', '.join(names)}; got "
            f"{[n for n, _ in given] or 'none'}"
        )
    (name, value), kind = given[0], names.index(given[0][0])
    value = as_float(value)
    if kind != 1:
        check_symmetric(who, name, value)
    if value.ndim < 2:
        raise ValueError(
            f"{who}: {name} must be a (batch of) square matrices, got shape "
            f"{value.type.shape}"
        )
    if kind == 1:
        return value
    if kind == 0:
        factor = linalg.cholesky(value, lower=True, on_error="nan")
    else:
        # the covariance's factor: the rv and the density both work from it
        factor = linalg.cholesky(linalg.inv(value, on_error="nan"), on_error="nan")
    return _constant_factor(factor, value)


def _constant_factor(factor: Variable, value: Variable) -> Variable:
    """``factor`` computed now where ``value`` is a constant: a compiled
    log-density then reads it instead of factoring the same matrices at every
    call (constant folding leaves outputs above 100k elements in the graph),
    which for a (100_000, 4, 4) ``cov`` was 12.8 MB and a Cholesky per call."""
    if not isinstance(value, Constant):
        return factor
    data = get_static_value(factor)
    if data is None:
        return factor
    data = np.asarray(data, dtype=factor.type.numpy_dtype)
    data.setflags(write=False)
    return TensorConstant(factor.type.clone(shape=data.shape), data)


def frob_sq(x: Variable) -> Variable:
    """The squared Frobenius norm of each matrix of a batch (last two axes).

    Examples
    --------
    >>> float(frob_sq(np.ones((2, 3))).eval())
    6.0
    """
    return tm.square(x).sum(axis=(-2, -1))


def chol_diag(chol: Variable) -> Variable:
    """The diagonal of a (batch of) factor(s), shape ``(..., n)``."""
    from tessera.ops import linalg

    return linalg.diagonal(chol)


def chol_is_valid(chol: Variable) -> Variable:
    """Whether each factor is finite with a positive diagonal (batch-shaped)."""
    finite = tm.isfinite(chol).all(axis=(-2, -1))
    return tm.logical_and(finite, tm.gt(chol_diag(chol), 0.0).all(axis=-1))


def chol_logdet(chol: Variable) -> Variable:
    """``log det(L L^T) / 2 = sum(log diag(L))`` of lower factors, batch-shaped."""
    return tm.log(chol_diag(chol)).sum(axis=-1)


def mahalanobis_sq(delta: Variable, chol: Variable) -> Variable:
    """``delta^T (L L^T)^{-1} delta`` for vectors ``(..., n)``; batches broadcast.

    One batched triangular solve (whose gradient the ``linalg_pullback``
    rewrite puts in closed form when ``chol`` is a Cholesky factor). When
    ``delta`` has leading batch dims that ``chol`` lacks (observations of
    one distribution, ``(N, G, n)`` against ``(G, n, n)``), those become the
    columns of a matrix right-hand side: one solve per factor rather than
    one per observation, and a gradient already summed over them.
    """
    from tessera.ops import linalg

    extra = (delta.ndim - 1) - (chol.ndim - 2)
    if extra < 1:
        z = linalg.solve_triangular(chol, delta, lower=True, b_ndim=1)
        return tm.square(z).sum(axis=-1)
    lead = [_dim(delta, i) for i in range(extra)]
    if extra > 1:
        delta = delta.reshape((-1, *(_dim(delta, i) for i in range(extra, delta.ndim))))
    # (m, *batch, n) -> (*batch, n, m): the m vectors as columns
    cols = moveaxis(delta, 0, -1)
    z = linalg.solve_triangular(chol, cols, lower=True, b_ndim=2)
    quad = moveaxis(tm.square(z).sum(axis=-2), -1, 0)
    if extra == 1:
        return quad
    return quad.reshape((*lead, *(_dim(quad, i) for i in range(1, quad.ndim))))


def _dim(x: Variable, i: int) -> Any:
    """The static length of axis ``i`` of ``x`` where known, else symbolic."""
    static = x.type.shape[i]
    return static if static is not None else x.shape[i]


# --- distributions used inside other distributions -------------------------------------
def embedded_dist(
    who: str, what: str, rv: Any, event: Sequence[Any]
) -> tuple[RandomVariable, list[Variable]]:
    """The op and parameters of a univariate ``rv`` that fills an event axis.

    ``rv`` (a ``.dist(...)`` draw) must be univariate; its parameters are
    broadcast to ``rv``'s full shape so that the last ``len(event)`` axes are
    the event axes of the outer distribution (each parameter then has core
    dims ``event``). Returns ``(op, params)``.
    """
    node = getattr(rv, "owner", None)
    if node is None or not isinstance(node.op, RandomVariable):
        raise TypeError(
            f"{who}: {what} must be a distribution made with "
            f"ppl.<Distribution>.dist(...), got {rv!r}"
        )
    op = node.op
    if op.ndim_supp != 0:
        raise ValueError(f"{who}: {what} must be univariate, got {op}")
    shape = rv.type.shape
    k = len(event)
    if rv.ndim < k or any(
        s is not None and e is not None and s != e for s, e in zip(shape[-k:], event)
    ):
        raise ValueError(
            f"{who}: {what} must have trailing shape {tuple(event)} (the event), got "
            f"{shape}; give it size=(..., {', '.join(map(str, event))})"
        )
    full = draw_shape(rv)
    params = [broadcast_to(p, full) for p in node.inputs[2:]]
    return op, params


def draw_shape(rv: Variable) -> tuple:
    """The shape of a random variable's draw, without depending on the draw.

    Static sizes where known, else sizes from the op's shape inference: a
    graph through ``rv.shape`` would keep the (unregistered) draw, a random
    node, as an ancestor of a log-density.
    """
    node = rv.owner
    in_shapes = [None, None] + [shape_tuple(p) for p in node.inputs[2:]]
    inferred = node.op.infer_shape(node, in_shapes)[1]
    return tuple(s if s is not None else i for s, i in zip(rv.type.shape, inferred))
