"""Factorizations: cholesky, lu_factor, qr (eigh and svd live in spectral.py).

Each is a core op over one matrix with a gufunc signature; the public
functions accept (..., m, n) inputs and batch through Blockwise, whose
kernel is the op's ``perform_batched`` (one call for the whole batch; the
reference kernels are in ``_cholesky.py`` and ``_lu.py``, the NumPy
backend's in :mod:`tessera.compile.backends.numpy.linalg.decomposition`).
Pullbacks are written for one matrix and vectorized by Blockwise.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import DisconnectedType, NonDifferentiable, disconnected
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg import _cholesky, _lu
from tessera.ops.linalg._base import (
    LinalgOp,
    as_float,
    check_on_error,
    check_square,
    core_input,
    half_phi_mask,
    matrix_arg,
    mT,
    out_type,
    result_dtype,
    square_value,
    store,
)
from tessera.ops.linalg.structure import Triangle


def _tril(x, k: int = 0):
    return Triangle(True, k)(x)


def _triu(x, k: int = 0):
    return Triangle(False, k)(x)


def _trsolve(a, b, lower: bool, trans: int = 0, unit: bool = False, on_error="raise"):
    """Core triangular solve of a matrix right-hand side (for pullbacks)."""
    from tessera.ops.linalg.solve import SolveTriangular

    return SolveTriangular(lower, trans, unit, 2, on_error)(a, b)


# --- cholesky ----------------------------------------------------------------------


class Cholesky(LinalgOp):
    """Cholesky factor of one symmetric positive definite matrix.

    ``lower=True`` gives ``L`` with ``a = L L^T`` (reading the lower
    triangle of ``a``); ``lower=False`` gives ``U = L^T`` with ``a = U^T U``
    (reading the upper triangle). ``on_error`` is ``"raise"`` or ``"nan"``.

    Examples
    --------
    >>> import tessera as ts
    >>> Cholesky()(ts.constant([[4.0, 2.0], [2.0, 2.0]])).eval()
    array([[2., 0.],
           [1., 1.]])
    """

    __props__ = ("lower", "on_error")
    signature = "(m,m)->(m,m)"

    def __init__(self, lower: bool = True, on_error: str = "raise"):
        self.lower = bool(lower)
        self.on_error = check_on_error("cholesky", on_error)

    def make_node(self, x) -> Apply:
        x = core_input(self, x, 2)
        check_square("cholesky", x)
        return Apply(self, [x], [out_type(result_dtype(x), x.type.shape)])

    def perform_batched(self, node, inputs, output_storage):
        square_value("cholesky", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        out = _cholesky.cholesky(inputs[0], self.lower, dt, self.on_error)
        store(node, output_storage, out)

    def pullback(self, inputs, outputs, cotangents):
        # With a = L L^T: abar = sym(L^{-T} Phi(L^T Lbar) L^{-1}), one fused
        # op (see CholeskyPullback). The upper factor U = L^T has cotangent
        # Lbar = Ubar^T; the result is symmetric either way.
        (g,), (c,) = cotangents, outputs
        if self.lower:
            return [CholeskyPullback()(c, g)]
        return [CholeskyPullback()(mT(c), mT(g))]


class CholeskyPullback(LinalgOp):
    """Cotangent of ``a`` from its lower Cholesky factor ``c`` and ``cbar``.

    ``abar = S + S^T`` with ``S = c^{-T} Phi(c^T cbar) c^{-1} / 2``, where
    ``Phi`` keeps the lower triangle and halves the diagonal: the pullback
    of :class:`Cholesky`, as one op so that the NumPy kernel can fuse it
    (per-matrix BLAS ``trmm``/``trsm`` for large matrices, an explicit
    batched triangular inverse for many small ones). Only the lower
    triangles of ``c`` and ``cbar`` are read.

    Examples
    --------
    >>> import tessera as ts
    >>> c = ts.constant([[2.0, 0.0], [1.0, 1.0]])
    >>> CholeskyPullback()(c, ts.constant([[1.0, 0.0], [1.0, 1.0]])).eval()
    array([[0.25, 0.  ],
           [0.  , 0.5 ]])
    """

    __props__ = ()
    signature = "(m,m),(m,m)->(m,m)"

    def make_node(self, c, g) -> Apply:
        c = core_input(self, c, 2, "factor")
        g = core_input(self, g, 2, "cotangent")
        check_square("cholesky pullback", c)
        check_square("cholesky pullback", g)
        m = c.type.shape[0] if c.type.shape[0] is not None else g.type.shape[0]
        other = g.type.shape[0]
        if m is not None and other is not None and m != other:
            raise ValueError(
                f"cholesky pullback: factor of shape {c.type.shape} and cotangent "
                f"of shape {g.type.shape} differ"
            )
        return Apply(self, [c, g], [out_type(result_dtype(c, g), (m, m))])

    def perform_batched(self, node, inputs, output_storage):
        c, g = inputs
        dt = node.outputs[0].type.numpy_dtype
        check_pullback_values(c, g)
        store(node, output_storage, _cholesky.cholesky_pullback(c, g, dt))

    def pullback(self, inputs, outputs, cotangents):
        # The op is linear in g. With hs = h + h^T, K = c^{-1} hs c^{-T} and
        # M the half-Phi mask: gbar = c (M o K) and, differentiating the
        # three places c appears, cbar = tril(g (M o K)^T - out hs c^{-T}).
        (c, g), (out,), (h,) = inputs, outputs, cotangents
        hs = h + mT(h)
        y = _trsolve(c, hs, True, 0)
        mk = _trsolve(c, mT(y), True, 0) * _half_phi_mask(c)
        gbar = _tril(c) @ mk
        cbar = _tril(g @ mT(mk) - mT(_trsolve(c, hs @ out, True, 0)))
        return [cbar, gbar]


def check_pullback_values(c, g) -> None:
    """Run-time check of :class:`CholeskyPullback`'s inputs (square, same size).

    Examples
    --------
    >>> import numpy as np
    >>> check_pullback_values(np.eye(2), np.eye(3))
    Traceback (most recent call last):
    ...
    ValueError: cholesky pullback: factor of shape (2, 2) and cotangent of shape (3, 3) differ in their core dims
    """
    square_value("cholesky pullback", c)
    square_value("cholesky pullback", g)
    if c.shape[-1] != g.shape[-1]:
        raise ValueError(
            f"cholesky pullback: factor of shape {c.shape} and cotangent of "
            f"shape {g.shape} differ in their core dims"
        )


def _half_phi_mask(c):
    """(m, m) mask: 1/2 below the diagonal, 1/4 on it, 0 above."""
    from tessera.ops.basic import constant

    m = c.type.shape[-1]
    if m is not None:
        return constant(half_phi_mask(m, c.dtype))
    from tessera.ops.creation import eye, ones
    from tessera.ops.shape import shape_i

    size = shape_i(c, -1)
    return 0.5 * _tril(ones((size, size), dtype=c.dtype), -1) + 0.25 * eye(
        size, dtype=c.dtype
    )


def is_cholesky_factor(var: Variable, lower: bool | None = None) -> bool:
    """Whether ``var`` is computed by a Cholesky (a ``lower`` one, unless None).

    Backends specialize on it: such a factor has no zero on its diagonal
    (a successful factorization has a positive one, a failed one raises or
    is NaN throughout), and its other triangle is zero.

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(3, 3))
    >>> is_cholesky_factor(cholesky(a)), is_cholesky_factor(a)
    (True, False)
    """
    owner = var.owner
    if owner is None:
        return False
    op = getattr(owner.op, "core_op", owner.op)  # through Blockwise
    return isinstance(op, Cholesky) and (lower is None or op.lower == lower)


def cholesky(x, lower: bool = True, on_error: str = "raise") -> Variable:
    """Cholesky factor of symmetric positive definite matrices (..., m, m).

    Parameters
    ----------
    x : tensor_like, shape (..., m, m)
        Only the ``lower`` (or upper) triangle is read. Gradients treat
        ``x`` as symmetric.
    lower : bool
        ``L`` with ``x = L L^T`` if True, else ``U`` with ``x = U^T U``.
    on_error : {"raise", "nan"}
        For a matrix that is not positive definite: raise
        ``numpy.linalg.LinAlgError`` naming its batch index, or return NaN
        for that batch element only.

    Returns
    -------
    TensorVariable, shape (..., m, m)

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.array([[[4.0, 2.0], [2.0, 2.0]], [[1.0, 0.0], [0.0, -1.0]]])
    >>> ts.linalg.cholesky(a, on_error="nan").eval()[:, 1, 1]
    array([ 1., nan])
    """
    x = matrix_arg("cholesky", x, square=True)
    return apply_core(Cholesky(lower, on_error), x)


# --- LU ----------------------------------------------------------------------------


class PermutationMatrix(LinalgOp):
    """``P`` with ``a = P L U`` from the LAPACK pivots of ``lu_factor(a)``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> PermutationMatrix()(ts.constant(np.array([1, 1], dtype="int32"))).eval()
    array([[0., 1.],
           [1., 0.]])
    """

    __props__ = ("dtype",)
    signature = "(m)->(m,m)"

    def __init__(self, dtype: str = "float64"):
        self.dtype = np.dtype(dtype).name

    def make_node(self, piv) -> Apply:
        piv = core_input(self, piv, 1, "pivot vector")
        if piv.dtype[0] not in "iu":
            raise TypeError(
                f"PermutationMatrix: pivots must be integers, got {piv.dtype}"
            )
        m = piv.type.shape[0]
        return Apply(self, [piv], [out_type(self.dtype, (m, m))])

    def perform_batched(self, node, inputs, output_storage):
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, _lu.permutation_matrix(inputs[0], dt))

    def pullback(self, inputs, outputs, cotangents):
        return [NonDifferentiable(self, "pivot indices are integers")]


class LUFactor(LinalgOp):
    """LU factorization with partial pivoting, like ``scipy.linalg.lu_factor``.

    Outputs ``lu`` (``L`` strictly below the diagonal, unit diagonal
    implied, ``U`` on and above it) and ``piv`` (int32 LAPACK row swaps).

    Examples
    --------
    >>> import tessera as ts
    >>> lu, piv = LUFactor()(ts.constant([[1.0, 2.0], [3.0, 4.0]]))
    >>> piv.eval()
    array([1, 1], dtype=int32)
    """

    __props__ = ()
    signature = "(m,m)->(m,m),(m)"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        check_square("lu_factor", a)
        m = a.type.shape[0]
        return Apply(
            self, [a], [out_type(result_dtype(a), (m, m)), out_type("int32", (m,))]
        )

    def perform_batched(self, node, inputs, output_storage):
        square_value("lu_factor", inputs[0])
        dt = node.outputs[0].type.numpy_dtype
        store(node, output_storage, *_lu.lu_factor(inputs[0], dt))

    def pullback(self, inputs, outputs, cotangents):
        # a = P L U; with Lbar/Ubar the two parts of the cotangent,
        # abar = P L^{-T} (tril(L^T Lbar, -1) + triu(Ubar U^T)) U^{-T}.
        g = cotangents[0]
        if isinstance(g, DisconnectedType):
            return [disconnected]
        lu, piv = outputs
        lbar, ubar = _tril(g, -1), _triu(g)
        m = _tril(mT(_tril(lu, -1)) @ lbar + lbar, -1) + _triu(ubar @ mT(_triu(lu)))
        y = _trsolve(lu, m, True, 1, unit=True)
        z = mT(_trsolve(lu, mT(y), False, 0))
        return [PermutationMatrix(lu.dtype)(piv) @ z]


def lu_factor(a) -> tuple[Variable, Variable]:
    """LU factorization of square matrices (..., m, m), like SciPy's.

    Returns
    -------
    lu : TensorVariable, shape (..., m, m)
        ``L`` (unit diagonal implied) below the diagonal and ``U`` on and above.
    piv : TensorVariable, int32, shape (..., m)
        Row ``i`` was swapped with row ``piv[i]`` (LAPACK convention). Not
        differentiable; gradients flow through ``lu``.

    Examples
    --------
    >>> import tessera as ts
    >>> lu, piv = ts.linalg.lu_factor(ts.constant([[1.0, 2.0], [3.0, 4.0]]))
    >>> lu.eval()
    array([[3.        , 4.        ],
           [0.33333333, 0.66666667]])
    """
    a = matrix_arg("lu_factor", a, square=True)
    lu, piv = apply_core(LUFactor(), a)
    return lu, piv


# --- QR ------------------------------------------------------------------------------

QR_MODES = ("reduced", "complete", "r")


def _static_wide(a) -> bool:
    m, n = a.type.shape[-2:]
    return m is not None and n is not None and m < n


def _split_last(x, first, total):
    """``x[..., :first], x[..., first:]`` for a size known or symbolic."""
    from tessera.ops.shape import make_vector, split

    if isinstance(first, int) and isinstance(total, int):
        return split(x, [first], axis=-1)
    return split(x, make_vector(first, total - first), axis=-1)


class QR(LinalgOp):
    """QR decomposition of one matrix, like ``np.linalg.qr``.

    ``wide`` says the matrix has fewer rows than columns (decided from
    static shapes by :func:`qr`; an unknown shape is taken as tall, and a
    wide matrix at run time is then an error). Reduced ``Q, R`` are
    (m, k), (k, n) with ``k = min(m, n)``.

    Examples
    --------
    >>> import tessera as ts
    >>> q, r = QR()(ts.constant([[3.0, 0.0], [4.0, 5.0]]))
    >>> float(abs(r.eval()[0, 0]))
    5.0
    """

    __props__ = ("mode", "wide")

    def __init__(self, mode: str = "reduced", wide: bool = False):
        if mode not in QR_MODES:
            raise ValueError(f"qr: mode must be one of {QR_MODES}, got {mode!r}")
        self.mode = mode
        self.wide = bool(wide)

    @property
    def signature(self) -> str:
        if self.mode == "complete" or self.wide:
            q, r = "(m,m)", "(m,n)"
        else:
            q, r = "(m,n)", "(n,n)"
        return f"(m,n)->{r}" if self.mode == "r" else f"(m,n)->{q},{r}"

    def make_node(self, a) -> Apply:
        a = core_input(self, a, 2)
        m, n = a.type.shape
        if m is not None and n is not None and (m < n) != self.wide:
            raise ValueError(f"QR: wide={self.wide} does not match the shape {(m, n)}")
        dt = result_dtype(a)
        sizes = {"m": m, "n": n}
        outs = [
            out_type(dt, tuple(sizes[d] for d in dims))
            for dims in _sig_outputs(self.signature)
        ]
        return Apply(self, [a], outs)

    def perform_batched(self, node, inputs, output_storage):
        a = inputs[0]
        m, n = a.shape[-2:]
        if m < n and not self.wide and self.mode != "complete":
            raise ValueError(
                f"qr: the graph was built for matrices with m >= n (the shape was "
                f"unknown), got {m}x{n}; give the input a static shape"
            )
        dt = node.outputs[0].type.numpy_dtype
        res = np.linalg.qr(as_float(a, dt), mode=self.mode)
        store(node, output_storage, *((res,) if self.mode == "r" else tuple(res)))

    def pullback(self, inputs, outputs, cotangents):
        (a,) = inputs
        if self.mode == "r":
            q, r = QR("reduced", self.wide)(a)
            qbar, rbar = disconnected, cotangents[0]
        else:
            (q, r), (qbar, rbar) = outputs, cotangents
        if self.mode == "complete" and not self.wide:
            m, n = a.type.shape
            if m is None or m != n:
                reason = "complete QR is differentiable only for m <= n (static)"
                return [NonDifferentiable(self, reason)]
        if not self.wide:
            return [_qr_tall_grad(q, r, qbar, rbar)]
        # wide: a = [x | y], r = [u | v] with u square; x = q u, y = q v
        from tessera.ops.shape import concatenate, shape_i

        m, n = shape_i(a, 0), shape_i(a, 1)
        _, y = _split_last(a, m, n)
        u, _ = _split_last(r, m, n)
        if isinstance(rbar, DisconnectedType):
            from tessera.ops.creation import zeros_like

            return [concatenate([_qr_tall_grad(q, u, qbar, rbar), zeros_like(y)], 1)]
        ubar, vbar = _split_last(rbar, m, n)
        qbar2 = y @ mT(vbar)
        if not isinstance(qbar, DisconnectedType):
            qbar2 = qbar2 + qbar
        return [concatenate([_qr_tall_grad(q, u, qbar2, ubar), q @ vbar], axis=1)]


def _sig_outputs(signature: str):
    from tessera.ops.signature import parse_signature

    return parse_signature(signature).outputs


def _qr_tall_grad(q, r, qbar, rbar):
    """Pullback of reduced QR for m >= n: (qbar + q copyltu(M)) r^{-T},
    M = r rbar^T - qbar^T q, copyltu mirrors the lower triangle up."""
    terms = []
    if not isinstance(rbar, DisconnectedType):
        terms.append(r @ mT(rbar))
    if not isinstance(qbar, DisconnectedType):
        terms.append(-(mT(qbar) @ q))
    mm = terms[0] if len(terms) == 1 else terms[0] + terms[1]
    b = q @ (_tril(mm) + mT(_tril(mm, -1)))
    if not isinstance(qbar, DisconnectedType):
        b = b + qbar
    return mT(_trsolve(r, mT(b), False, 0))


def qr(a, mode: str = "reduced"):
    """QR decomposition of matrices (..., m, n), like ``np.linalg.qr``.

    Parameters
    ----------
    a : tensor_like, shape (..., m, n)
    mode : {"reduced", "complete", "r"}
        ``"reduced"``: Q (..., m, k), R (..., k, n), ``k = min(m, n)``;
        ``"complete"``: Q (..., m, m), R (..., m, n); ``"r"``: R only.

    Gradients assume full rank; ``"complete"`` is differentiable for
    m <= n only. With an unknown static shape the matrix is taken as tall
    (m >= n).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.random.default_rng(0).normal(size=(4, 5, 3))
    >>> q, r = ts.linalg.qr(a)
    >>> np.allclose((q @ r).eval(), a)
    True
    """
    a = matrix_arg("qr", a)
    op = QR(mode, _static_wide(a))
    return apply_core(op, a)


__all__ = [
    "QR",
    "Cholesky",
    "LUFactor",
    "PermutationMatrix",
    "cholesky",
    "lu_factor",
    "qr",
]
