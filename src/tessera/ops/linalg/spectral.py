"""Spectral decompositions: eigh, eigvalsh, svd.

Kernels are the ``np.linalg`` gufuncs (batched natively). Gradients use the
standard formulas; eigh's raises a clear error, instead of giving NaN, where
the eigenvectors of repeated eigenvalues make it undefined (see
:func:`eigh`); svd's assumes distinct singular values.
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


def tied_eigenvalues(w: np.ndarray) -> np.ndarray:
    """(..., m, m) mask of pairs of eigenvalues equal to rounding (diagonal
    included), relative to the largest magnitude of each matrix."""
    scale = np.abs(w).max(axis=-1, initial=0.0)[..., None, None]
    gap = np.abs(w[..., None, :] - w[..., :, None])
    return gap <= 64 * np.finfo(w.dtype).eps * scale


def untied_cotangent(k: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """Batch mask: a cotangent entry between two tied eigenvalues is not zero
    (to rounding, relative to the largest entry of its matrix)."""
    off = tied & ~np.eye(k.shape[-1], dtype=bool)
    scale = np.abs(k).max(axis=(-2, -1), initial=0.0)[..., None, None]
    return (off & (np.abs(k) > 64 * np.finfo(k.dtype).eps * scale)).any(axis=(-2, -1))


REPEATED_MESSAGE = (
    "eigh: the gradient through the eigenvectors is not defined at repeated "
    "eigenvalues{where} (the eigenvectors of a repeated eigenvalue are any "
    "basis of its eigenspace); differentiate a function of the eigenvalues "
    "(eigvalsh), or move the matrix off the tie"
)


class EigenGaps(LinalgOp):
    """``F o k`` for the eigh pullback, ``F[i, j] = 1 / (w[j] - w[i])``.

    Between two equal eigenvalues (to rounding) ``F`` is undefined: a zero
    entry of ``k`` there contributes 0 (the exact gradient), a nonzero one
    raises ``numpy.linalg.LinAlgError`` naming the batch index, instead of
    the NaN that ``1 / 0`` gave.

    Examples
    --------
    >>> import tessera as ts
    >>> EigenGaps()(ts.constant([1.0, 3.0]), ts.constant([[5.0, 2.0], [4.0, 5.0]])).eval()
    array([[ 0.,  1.],
           [-2.,  0.]])
    """

    __props__ = ()
    signature = "(m),(m,m)->(m,m)"

    def make_node(self, w, k) -> Apply:
        w = core_input(self, w, 1, "eigenvalue vector")
        k = core_input(self, k, 2, "cotangent")
        return Apply(self, [w, k], [out_type(result_dtype(w, k), k.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        dt = node.outputs[0].type.numpy_dtype
        w, k = as_float(inputs[0], dt), as_float(inputs[1], dt)
        tied = tied_eigenvalues(w)
        bad = untied_cotangent(
            np.broadcast_to(k, np.broadcast_shapes(tied.shape, k.shape)), tied
        )
        if bad.any():
            where = ""
            if bad.ndim:
                where = f" (batch index {tuple(int(i) for i in np.argwhere(bad)[0])})"
            raise np.linalg.LinAlgError(REPEATED_MESSAGE.format(where=where))
        gap = np.where(tied, 1.0, w[..., None, :] - w[..., :, None])
        store(node, output_storage, np.where(tied, 0.0, k / gap))

    def pullback(self, inputs, outputs, cotangents):
        # d(k / (w_j - w_i)) = dk / gap - k (dw_j - dw_i) / gap^2
        (w, k), (g,) = inputs, cotangents
        h = self(w, self(w, g * k))
        return [h.sum(axis=-1) - h.sum(axis=-2), self(w, g)]


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
        # abar = V (diag(wbar) + F o (V^T Vbar)) V^T, symmetrized; repeated
        # eigenvalues: see EigenGaps
        (w, v), (wbar, vbar) = outputs, cotangents
        eye = _eye_like(w)
        inner = None
        if _connected(vbar):
            inner = EigenGaps()(w, mT(v) @ vbar)
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
        as symmetric. At repeated eigenvalues the eigenvectors are any basis
        of the eigenspace: gradients through ``w`` stay exact, while a
        gradient through ``v`` raises ``numpy.linalg.LinAlgError`` naming the
        batch index (unless its cotangent vanishes within the eigenspace).

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


__all__ = ["SVD", "EigenGaps", "Eigh", "Eigvalsh", "eigh", "eigvalsh", "svd"]
