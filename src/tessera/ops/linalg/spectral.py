"""Spectral decompositions: eigh, eigvalsh, svd.

Kernels are the ``np.linalg`` gufuncs (batched natively). Gradients use the
standard formulas, which assume distinct eigenvalues / singular values.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import DisconnectedType, NonDifferentiable
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg._base import (
    LinalgOp,
    as_float,
    check_square,
    core_input,
    matrix_arg,
    mT,
    out_type,
    result_dtype,
    square_value,
    store,
    sym,
)


def _connected(g) -> bool:
    return not isinstance(g, DisconnectedType)


def _eye_like(w):
    """Identity matrix of the length of the vector ``w`` (core form)."""
    from tessera.ops.creation import eye
    from tessera.ops.shape import shape_i

    return eye(shape_i(w, 0), dtype=w.dtype)


def _row(v):
    from tessera.ops.shape import expand_dims

    return expand_dims(v, 0)


def _col(v):
    from tessera.ops.shape import expand_dims

    return expand_dims(v, 1)


def _inverse_gaps(w, eye):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it."""
    return 1.0 / (_row(w) - _col(w) + eye) - eye


def _uplo(lower: bool) -> str:
    return "L" if lower else "U"


# --- eigh ----------------------------------------------------------------------------


class Eigh(LinalgOp):
    """Eigenvalues (ascending) and eigenvectors of one symmetric matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> w, v = Eigh()(ts.constant([[2.0, 0.0], [0.0, 1.0]]))
    >>> w.eval()
    array([1., 2.])
    """

    __props__ = ("lower",)
    signature = "(m,m)->(m),(m,m)"

    def __init__(self, lower: bool = True):
        self.lower = bool(lower)

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("eigh", a)
        dt, m = result_dtype(a), a.type.shape[0]
        return Apply(self, [a], [out_type(dt, (m,)), out_type(dt, (m, m))])

    def perform_batched(self, node, inputs, output_storage):
        square_value("eigh", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        w, v = np.linalg.eigh(as_float(inputs[0], dt), UPLO=_uplo(self.lower))
        store(node, output_storage, w, v)

    def pullback(self, inputs, outputs, cotangents):
        # abar = V (diag(wbar) + F o (V^T Vbar)) V^T, symmetrized
        (w, v), (wbar, vbar) = outputs, cotangents
        eye = _eye_like(w)
        inner = None
        if _connected(vbar):
            inner = _inverse_gaps(w, eye) * (mT(v) @ vbar)
        if _connected(wbar):
            d = eye * _row(wbar)
            inner = d if inner is None else inner + d
        return [sym(v @ inner @ mT(v))]


class Eigvalsh(LinalgOp):
    """Eigenvalues (ascending) of one symmetric matrix.

    Examples
    --------
    >>> import tessera as ts
    >>> Eigvalsh()(ts.constant([[2.0, 1.0], [1.0, 2.0]])).eval()
    array([1., 3.])
    """

    __props__ = ("lower",)
    signature = "(m,m)->(m)"

    def __init__(self, lower: bool = True):
        self.lower = bool(lower)

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("eigvalsh", a)
        return Apply(self, [a], [out_type(result_dtype(a), (a.type.shape[0],))])

    def perform_batched(self, node, inputs, output_storage):
        square_value("eigvalsh", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        w = np.linalg.eigvalsh(as_float(inputs[0], dt), UPLO=_uplo(self.lower))
        store(node, output_storage, w)

    def pullback(self, inputs, outputs, cotangents):
        _, v = Eigh(self.lower)(inputs[0])
        return [(v * _row(cotangents[0])) @ mT(v)]


def eigh(a, lower: bool = True) -> tuple[Variable, Variable]:
    """Eigen-decomposition of symmetric matrices (..., m, m).

    Parameters
    ----------
    a : tensor_like, shape (..., m, m)
        Only the ``lower`` (or upper) triangle is read; gradients treat ``a``
        as symmetric and assume distinct eigenvalues.

    Returns
    -------
    w : TensorVariable, shape (..., m)
        Eigenvalues in ascending order.
    v : TensorVariable, shape (..., m, m)
        Unit eigenvectors in the columns.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> w, v = ts.linalg.eigh(np.stack([a, 2 * a]))
    >>> w.eval()
    array([[1., 3.],
           [2., 6.]])
    """
    a = matrix_arg("eigh", a, square=True)
    w, v = apply_core(Eigh(lower), a)
    return w, v


def eigvalsh(a, lower: bool = True) -> Variable:
    """Eigenvalues (ascending) of symmetric matrices (..., m, m).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.eigvalsh(ts.constant([[2.0, 1.0], [1.0, 2.0]])).eval()
    array([1., 3.])
    """
    return apply_core(Eigvalsh(lower), matrix_arg("eigvalsh", a, square=True))


# --- svd -------------------------------------------------------------------------------


class SVD(LinalgOp):
    """Singular value decomposition of one matrix, like ``np.linalg.svd``.

    ``wide`` (fewer rows than columns) is decided from static shapes by
    :func:`svd`; an unknown shape is taken as tall and a wide matrix at run
    time is then an error.

    Examples
    --------
    >>> import tessera as ts
    >>> SVD(compute_uv=False)(ts.constant([[3.0, 0.0], [0.0, -2.0]])).eval()
    array([3., 2.])
    """

    __props__ = ("full_matrices", "compute_uv", "wide")

    def __init__(
        self, full_matrices: bool = False, compute_uv: bool = True, wide=False
    ):
        self.full_matrices = bool(full_matrices)
        self.compute_uv = bool(compute_uv)
        self.wide = bool(wide)

    @property
    def signature(self) -> str:
        k = "m" if self.wide else "n"
        if not self.compute_uv:
            return f"(m,n)->({k})"
        if self.full_matrices:
            return f"(m,n)->(m,m),({k}),(n,n)"
        return f"(m,n)->(m,{k}),({k}),({k},n)"

    def make_node(self, a) -> Apply:
        from tessera.ops.signature import parse_signature

        a = core_input(self, a, 2)
        m, n = a.type.shape
        if m is not None and n is not None and (m < n) != self.wide:
            raise ValueError(f"SVD: wide={self.wide} does not match the shape {(m, n)}")
        sizes, dt = {"m": m, "n": n}, result_dtype(a)
        outs = [
            out_type(dt, tuple(sizes[d] for d in dims))
            for dims in parse_signature(self.signature).outputs
        ]
        return Apply(self, [a], outs)

    def perform_batched(self, node, inputs, output_storage):
        a = inputs[0]
        m, n = a.shape[-2:]
        if m < n and not self.wide:
            raise ValueError(
                f"svd: the graph was built for matrices with m >= n (the shape was "
                f"unknown), got {m}x{n}; give the input a static shape"
            )
        dt = node.outputs[0].type.numpy_dtype
        res = np.linalg.svd(
            as_float(a, dt),
            full_matrices=self.full_matrices,
            compute_uv=self.compute_uv,
        )
        store(node, output_storage, *((res,) if not self.compute_uv else tuple(res)))

    def pullback(self, inputs, outputs, cotangents):
        (a,) = inputs
        if not self.compute_uv:
            u, _, vh = SVD(False, True, self.wide)(a)
            return [(u * _row(cotangents[0])) @ vh]
        ubar, sbar, vhbar = cotangents
        if self.full_matrices and (_connected(ubar) or _connected(vhbar)):
            m, n = a.type.shape
            if m is None or m != n:
                reason = "full_matrices=True is differentiable for square matrices only"
                return [NonDifferentiable(self, reason)]
        if not (_connected(ubar) or _connected(vhbar)):
            u, _, vh = SVD(False, True, self.wide)(a)
            return [(u * _row(sbar)) @ vh]
        return [_svd_grad(*outputs, ubar, sbar, vhbar)]


def _svd_grad(u, s, vh, ubar, sbar, vhbar):
    """Pullback of the reduced SVD a = u diag(s) vh (distinct nonzero s):

    abar = u [J s + diag(sbar) + s K] vh + (I - u u^T) ubar s^{-1} vh
           + u s^{-1} vhbar (I - v v^T),
    J = F o (u^T ubar - ubar^T u), K = F o (v^T vbar - vbar^T v),
    F[i, j] = 1 / (s_j^2 - s_i^2) off the diagonal.
    """
    eye = _eye_like(s)
    f = _inverse_gaps(s * s, eye)
    inner = eye * _row(sbar) if _connected(sbar) else None
    extra = []
    if _connected(ubar):
        utub = mT(u) @ ubar
        t = f * (utub - mT(utub)) * _row(s)
        inner = t if inner is None else inner + t
        extra.append(((ubar - u @ utub) / _row(s)) @ vh)
    if _connected(vhbar):
        vtvb = vh @ mT(vhbar)
        t = _col(s) * (f * (vtvb - mT(vtvb)))
        inner = t if inner is None else inner + t
        extra.append(u @ ((vhbar - (vhbar @ mT(vh)) @ vh) / _col(s)))
    out = u @ inner @ vh
    for e in extra:
        out = out + e
    return out


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """Singular value decomposition of matrices (..., m, n), like NumPy's.

    Parameters
    ----------
    a : tensor_like, shape (..., m, n)
    full_matrices : bool
        U (..., m, m) and Vh (..., n, n) if True, else (..., m, k), (..., k, n)
        with ``k = min(m, n)``. Gradients through U or Vh need
        ``full_matrices=False`` unless the matrices are square.
    compute_uv : bool
        If False return only the singular values (..., k).

    Returns
    -------
    (u, s, vh), or s when ``compute_uv`` is False; ``s`` is descending.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.random.default_rng(0).normal(size=(3, 4, 2))
    >>> u, s, vh = ts.linalg.svd(a, full_matrices=False)
    >>> np.allclose(((u * s[..., None, :]) @ vh).eval(), a)
    True
    """
    a = matrix_arg("svd", a)
    m, n = a.type.shape[-2:]
    wide = m is not None and n is not None and m < n
    out = apply_core(SVD(full_matrices, compute_uv, wide), a)
    return tuple(out) if compute_uv else out


__all__ = ["SVD", "Eigh", "Eigvalsh", "eigh", "eigvalsh", "svd"]
