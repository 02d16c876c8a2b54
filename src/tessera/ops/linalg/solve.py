"""Linear solves: solve, solve_triangular, cho_solve, lu_solve.

The right-hand side ``b`` is a core vector (m,) or matrix (m, n); the op's
``b_ndim`` prop picks the signature (``"(m,m),(m)->(m)"`` or
``"(m,m),(m,n)->(m,n)"``). The public functions follow NumPy 2: ``b`` is a
vector only when it is 1-d, unless ``b_ndim`` says otherwise (pass
``b_ndim=1`` for a batch of vectors (..., m)). The reference kernels are
``np.linalg.solve``'s gufunc and batched substitution (``_triangular.py``,
``_lu.py``); the NumPy backend's are in
:mod:`tessera.compile.backends.numpy.linalg.solve`.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import NonDifferentiable
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg import _cholesky, _lu, _triangular
from tessera.ops.linalg._base import (
    LinalgOp,
    as_float,
    check_on_error,
    check_rhs,
    check_square,
    core_input,
    matrix_arg,
    mT,
    out_type,
    outer_or_matmul,
    result_dtype,
    rhs_ndim,
    square_value,
    sym,
    symmetrize_from,
)
from tessera.ops.linalg._failures import (
    call_gufunc,
    nan_elements,
    report,
    umath_linalg,
)
from tessera.ops.linalg.structure import Triangle
from tessera.ops.type import shape_str


def _rhs_signature(head: str, b_ndim: int) -> str:
    return f"{head},(m)->(m)" if b_ndim == 1 else f"{head},(m,n)->(m,n)"


class _RHSOp(LinalgOp):
    """A core solve whose last input is the right-hand side ``b``."""

    _head = "(m,m)"
    b_ndim: int

    @property
    def signature(self) -> str:
        return _rhs_signature(self._head, self.b_ndim)

    def _node(self, name: str, mats, b) -> Apply:
        b = core_input(self, b, self.b_ndim, "right-hand side")
        check_rhs(name, mats[0], b, self.b_ndim)
        return Apply(
            self, [*mats, b], [out_type(result_dtype(mats[0], b), b.type.shape)]
        )

    def _run(self, node, output_storage, kernel, a, b):
        dt = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = solve_rhs(self, kernel, a, b, dt)


def solve_rhs(op: _RHSOp, kernel, a, b, dtype: np.dtype) -> np.ndarray:
    """Run a solve's ``kernel(a, b2, dtype)`` with ``b`` as matrices (..., m, k).

    Checks the run-time shapes first (dims unknown when the graph was
    built), and returns the result in ``dtype``, a vector again for
    ``op.b_ndim == 1``. Backends wrap their own kernels with it.

    Examples
    --------
    >>> import numpy as np
    >>> def kernel(a, b2, dtype):
    ...     return np.linalg.solve(a, b2)
    >>> solve_rhs(Solve(b_ndim=1), kernel, 2 * np.eye(2), np.ones(2), np.dtype("f8"))
    array([0.5, 0.5])
    """
    n = a.shape[-1]
    if (
        a.ndim < 2
        or a.shape[-2] != n
        or b.ndim < op.b_ndim
        or (b.shape[-op.b_ndim] != n)
    ):
        name = type(op).__name__
        square_value(name, a)
        raise ValueError(
            f"{name}: a of shape {a.shape} needs a right-hand side with "
            f"{n} rows, got b of shape {b.shape}"
        )
    if op.b_ndim == 1:
        out = kernel(a, b[..., None], dtype)[..., 0]
    else:
        out = kernel(a, b, dtype)
    return out if out.dtype == dtype else out.astype(dtype)


def _b_ndim(b_ndim) -> int:
    if b_ndim not in (1, 2):
        raise ValueError(f"b_ndim must be 1 (vector) or 2 (matrix), got {b_ndim!r}")
    return int(b_ndim)


def _square(op, name: str, a):
    a = core_input(op, a, 2)
    check_square(name, a)
    return a


# --- solve -------------------------------------------------------------------------

ASSUME_A = ("gen", "sym", "pos")


class Solve(_RHSOp):
    """Solve ``a x = b`` for one square ``a``.

    ``assume_a``: ``"gen"`` (LU), ``"sym"`` (symmetric; reads the ``lower``
    or upper triangle), ``"pos"`` (symmetric positive definite, Cholesky).

    Examples
    --------
    >>> import tessera as ts
    >>> Solve(b_ndim=1)(ts.constant([[2.0, 0.0], [0.0, 4.0]]), ts.ones(2)).eval()
    array([0.5 , 0.25])
    """

    __props__ = ("assume_a", "lower", "b_ndim", "on_error")

    def __init__(self, assume_a="gen", lower=False, b_ndim=2, on_error="raise"):
        if assume_a not in ASSUME_A:
            raise ValueError(
                f"solve: assume_a must be one of {ASSUME_A}, not {assume_a!r}"
            )
        self.assume_a = assume_a
        self.lower = bool(lower)
        self.b_ndim = _b_ndim(b_ndim)
        self.on_error = check_on_error("solve", on_error)

    def make_node(self, a, b) -> Apply:
        return self._node("solve", [_square(self, "solve", a)], b)

    def perform_batched(self, node, inputs, output_storage):
        a, b = inputs
        self._run(node, output_storage, self._kernel, a, b)

    def _kernel(self, a, b2, dt):
        return solve_kernel(a, b2, self.assume_a, self.lower, dt, self.on_error)

    def pullback(self, inputs, outputs, cotangents):
        (a, _), (x,), (g,) = inputs, outputs, cotangents
        if self.assume_a == "gen":
            bbar = self(mT(a), g)
            return [outer_or_matmul(-bbar, x), bbar]
        bbar = self(a, g)
        return [sym(outer_or_matmul(-bbar, x)), bbar]


def solve_kernel(a, b, assume_a: str, lower: bool, dtype: np.dtype, on_error: str):
    """Reference kernel of :class:`Solve`: ``a x = b`` with ``b`` (..., n, k).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> solve_kernel(a, np.ones((2, 1)), "pos", True, a.dtype, "raise")[:, 0]
    array([0.33333333, 0.33333333])
    """
    a, b = as_float(a, dtype), as_float(b, dtype)
    if assume_a == "pos":
        factor = _cholesky.cholesky(a, lower, dtype, on_error, op="solve")
        return _triangular.cho_solve(factor, lower, b, dtype)
    if assume_a == "sym":
        a = symmetrize_from(a, lower)
    if umath_linalg is None:  # pragma: no cover
        return np.linalg.solve(a, b).astype(dtype, copy=False)
    x, failed = call_gufunc(umath_linalg.solve, a, b, dtype=dtype)
    bad = nan_elements(x, 2) if failed else None
    report("solve", bad, "singular", on_error, [x])
    return x


def solve(a, b, assume_a="gen", lower=False, b_ndim=None, on_error="raise") -> Variable:
    """Solve ``a x = b`` for square matrices ``a`` (..., m, m).

    Parameters
    ----------
    a : tensor_like, shape (..., m, m)
    b : tensor_like, shape (..., m) or (..., m, n)
        Batch dims broadcast with those of ``a``.
    assume_a : {"gen", "sym", "pos"}
        General (LU), symmetric, or symmetric positive definite (Cholesky).
        For "sym" and "pos" only the ``lower`` (or upper) triangle is read
        and gradients treat ``a`` as symmetric.
    lower : bool
        Which triangle "sym"/"pos" read.
    b_ndim : {1, 2, None}
        Core ndim of ``b``; by default 1 only when ``b`` is 1-d (NumPy 2).
    on_error : {"raise", "nan"}
        For a singular (or, with "pos", not positive definite) matrix: raise
        ``numpy.linalg.LinAlgError`` naming its batch index, or give NaN for
        that batch element only.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> a = np.stack([2 * np.eye(2), 4 * np.eye(2)])
    >>> ts.linalg.solve(a, np.ones((2, 2)), b_ndim=1).eval()
    array([[0.5 , 0.5 ],
           [0.25, 0.25]])
    """
    a = matrix_arg("solve", a, square=True)
    b = matrix_arg("solve", b, min_ndim=1)
    nd = rhs_ndim("solve", b, b_ndim)
    check_rhs("solve", a, b, nd)
    return apply_core(Solve(assume_a, lower, nd, on_error), a, b)


# --- solve_triangular ------------------------------------------------------------------


def _trans(trans) -> int:
    table = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}
    if trans not in table:
        raise ValueError(
            f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', not {trans!r}"
        )
    return table[trans]


class SolveTriangular(_RHSOp):
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` for triangular ``a``.

    Only the ``lower`` (or upper) triangle of ``a`` is read, and not its
    diagonal when ``unit_diagonal``.

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.constant([[2.0, 0.0], [1.0, 1.0]])
    >>> SolveTriangular(lower=True, b_ndim=1)(a, ts.constant([2.0, 2.0])).eval()
    array([1., 1.])
    """

    __props__ = ("lower", "trans", "unit_diagonal", "b_ndim", "on_error")

    def __init__(
        self, lower=False, trans=0, unit_diagonal=False, b_ndim=2, on_error="raise"
    ):
        self.lower = bool(lower)
        self.trans = _trans(trans)
        self.unit_diagonal = bool(unit_diagonal)
        self.b_ndim = _b_ndim(b_ndim)
        self.on_error = check_on_error("solve_triangular", on_error)

    def make_node(self, a, b) -> Apply:
        return self._node("solve_triangular", [_square(self, "solve_triangular", a)], b)

    def perform_batched(self, node, inputs, output_storage):
        a, b = inputs
        self._run(node, output_storage, self._kernel, a, b)

    def _kernel(self, a, b2, dt):
        return _triangular.solve_triangular(
            a, b2, self.lower, self.trans, self.unit_diagonal, dt, self.on_error
        )

    def pullback(self, inputs, outputs, cotangents):
        (a, _), (x,), (g,) = inputs, outputs, cotangents
        flipped = SolveTriangular(
            self.lower, 1 - self.trans, self.unit_diagonal, self.b_ndim, self.on_error
        )
        bbar = flipped(a, g)
        abar = outer_or_matmul(x, -bbar) if self.trans else outer_or_matmul(-bbar, x)
        k = (1 if self.unit_diagonal else 0) * (-1 if self.lower else 1)
        return [Triangle(self.lower, k)(abar), bbar]


def solve_triangular(
    a,
    b,
    trans=0,
    lower: bool = False,
    unit_diagonal: bool = False,
    b_ndim: int | None = None,
    on_error: str = "raise",
) -> Variable:
    """Solve triangular systems, like ``scipy.linalg.solve_triangular``.

    Parameters
    ----------
    a : tensor_like, shape (..., m, m)
        Only the ``lower`` (default upper) triangle is read.
    b : tensor_like, shape (..., m) or (..., m, n)
    trans : {0, 1, 2, "N", "T", "C"}
        Solve ``a x = b`` (0) or ``a^T x = b`` (1, 2: real inputs).
    lower, unit_diagonal : bool
        Triangle of ``a`` to use; whether its diagonal is taken to be ones.
    b_ndim : {1, 2, None}
        Core ndim of ``b``; by default 1 only when ``b`` is 1-d.
    on_error : {"raise", "nan"}
        For a zero on the diagonal: raise naming the batch index, or NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> L = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> ts.linalg.solve_triangular(L, np.ones((3, 2)), lower=True, b_ndim=1).eval()
    array([[0.5, 0.5],
           [0.5, 0.5],
           [0.5, 0.5]])
    """
    a = matrix_arg("solve_triangular", a, square=True)
    b = matrix_arg("solve_triangular", b, min_ndim=1)
    nd = rhs_ndim("solve_triangular", b, b_ndim)
    check_rhs("solve_triangular", a, b, nd)
    op = SolveTriangular(lower, trans, unit_diagonal, nd, on_error)
    return apply_core(op, a, b)


# --- cho_solve ---------------------------------------------------------------------------


class CholeskySolve(_RHSOp):
    """Solve ``(c c^T) x = b`` (``lower``) or ``(c^T c) x = b`` from a factor.

    Examples
    --------
    >>> import tessera as ts
    >>> c = ts.constant([[2.0, 0.0], [0.0, 1.0]])
    >>> CholeskySolve(lower=True, b_ndim=1)(c, ts.constant([4.0, 1.0])).eval()
    array([1., 1.])
    """

    __props__ = ("lower", "b_ndim")

    def __init__(self, lower: bool = False, b_ndim: int = 2):
        self.lower = bool(lower)
        self.b_ndim = _b_ndim(b_ndim)

    def make_node(self, c, b) -> Apply:
        return self._node("cho_solve", [_square(self, "cho_solve", c)], b)

    def perform_batched(self, node, inputs, output_storage):
        c, b = inputs
        self._run(
            node,
            output_storage,
            lambda c2, b2, dt: _triangular.cho_solve(c2, self.lower, b2, dt),
            c,
            b,
        )

    def pullback(self, inputs, outputs, cotangents):
        # x = a^{-1} b with a = c c^T: bbar = a^{-1} xbar, abar = -bbar x^T;
        # then cbar = tril((abar + abar^T) c) (or triu(c (abar + abar^T))).
        (c, _), (x,), (g,) = inputs, outputs, cotangents
        bbar = self(c, g)
        s = -2.0 * sym(outer_or_matmul(bbar, x))
        cbar = Triangle(True)(s @ c) if self.lower else Triangle(False)(c @ s)
        return [cbar, bbar]


def cho_solve(c_and_lower, b, b_ndim: int | None = None) -> Variable:
    """Solve ``a x = b`` given the Cholesky factor of ``a``, like SciPy's.

    Parameters
    ----------
    c_and_lower : tuple (c, lower)
        Factor (..., m, m) from :func:`cholesky` (only its ``lower`` or upper
        triangle is read) and which triangle it is.
    b : tensor_like, shape (..., m) or (..., m, n)
    b_ndim : {1, 2, None}
        Core ndim of ``b``; by default 1 only when ``b`` is 1-d.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> L = ts.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    >>> ts.linalg.cho_solve((L, True), np.array([6.0, 4.0])).eval()
    array([1., 1.])
    """
    if not (isinstance(c_and_lower, tuple | list) and len(c_and_lower) == 2):
        raise TypeError("cho_solve: the first argument must be a tuple (c, lower)")
    c, lower = c_and_lower
    c = matrix_arg("cho_solve", c, square=True)
    b = matrix_arg("cho_solve", b, min_ndim=1)
    nd = rhs_ndim("cho_solve", b, b_ndim)
    check_rhs("cho_solve", c, b, nd)
    return apply_core(CholeskySolve(bool(lower), nd), c, b)


# --- lu_solve --------------------------------------------------------------------------------


class LUSolve(_RHSOp):
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` from ``lu_factor(a)``.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.ops.linalg.decomposition import LUFactor
    >>> lu, piv = LUFactor()(ts.constant([[0.0, 2.0], [4.0, 0.0]]))
    >>> LUSolve(b_ndim=1)(lu, piv, ts.constant([2.0, 4.0])).eval()
    array([1., 1.])
    """

    __props__ = ("trans", "b_ndim")
    _head = "(m,m),(m)"

    def __init__(self, trans: int = 0, b_ndim: int = 2):
        self.trans = _trans(trans)
        self.b_ndim = _b_ndim(b_ndim)

    def make_node(self, lu, piv, b) -> Apply:
        lu = _square(self, "lu_solve", lu)
        piv = core_input(self, piv, 1, "pivot vector")
        if piv.dtype[0] not in "iu":
            raise TypeError(f"lu_solve: pivots must be integers, got {piv.dtype}")
        return self._node("lu_solve", [lu, piv], b)

    def perform_batched(self, node, inputs, output_storage):
        lu, piv, b = inputs
        self._run(
            node,
            output_storage,
            lambda lu2, b2, dt: _lu.lu_solve(lu2, piv, b2, self.trans, dt),
            lu,
            b,
        )

    def pullback(self, inputs, outputs, cotangents):
        # x = a^{-1} b (or a^{-T} b) with a = P L U; abar as for solve, then
        # lubar = tril(P^T abar U^T, -1) + triu(L^T P^T abar).
        from tessera.ops.linalg.decomposition import PermutationMatrix

        (lu, piv, _), (x,), (g,) = inputs, outputs, cotangents
        bbar = LUSolve(1 - self.trans, self.b_ndim)(lu, piv, g)
        if self.trans:
            abar = -outer_or_matmul(x, bbar)
        else:
            abar = -outer_or_matmul(bbar, x)
        pt_abar = mT(PermutationMatrix(lu.dtype)(piv)) @ abar
        l_strict, u = Triangle(True, -1)(lu), Triangle(False)(lu)
        lubar = Triangle(True, -1)(pt_abar @ mT(u)) + Triangle(False)(
            mT(l_strict) @ pt_abar + pt_abar
        )
        return [lubar, NonDifferentiable(self, "pivot indices are integers"), bbar]


def lu_solve(lu_and_piv, b, trans=0, b_ndim: int | None = None) -> Variable:
    """Solve ``a x = b`` from ``(lu, piv) = lu_factor(a)``, like SciPy's.

    Parameters
    ----------
    lu_and_piv : tuple (lu, piv)
        From :func:`lu_factor`; batch dims broadcast with ``b``.
    b : tensor_like, shape (..., m) or (..., m, n)
    trans : {0, 1, 2, "N", "T", "C"}
        Solve ``a x = b`` (0) or ``a^T x = b`` (1, 2).
    b_ndim : {1, 2, None}
        Core ndim of ``b``; by default 1 only when ``b`` is 1-d.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> lu_piv = ts.linalg.lu_factor(np.array([[0.0, 2.0], [4.0, 0.0]]))
    >>> ts.linalg.lu_solve(lu_piv, np.array([2.0, 4.0])).eval()
    array([1., 1.])
    """
    if not (isinstance(lu_and_piv, tuple | list) and len(lu_and_piv) == 2):
        raise TypeError("lu_solve: the first argument must be a tuple (lu, piv)")
    lu, piv = lu_and_piv
    lu = matrix_arg("lu_solve", lu, square=True)
    piv = matrix_arg("lu_solve", piv, min_ndim=1)
    b = matrix_arg("lu_solve", b, min_ndim=1)
    nd = rhs_ndim("lu_solve", b, b_ndim)
    check_rhs("lu_solve", lu, b, nd)
    if piv.ndim != lu.ndim - 1:
        raise ValueError(
            f"lu_solve: piv of shape {shape_str(piv.type.shape)} does not match lu of "
            f"shape {shape_str(lu.type.shape)}"
        )
    return apply_core(LUSolve(trans, nd), lu, piv, b)


__all__ = [
    "CholeskySolve",
    "LUSolve",
    "Solve",
    "SolveTriangular",
    "cho_solve",
    "lu_solve",
    "solve",
    "solve_triangular",
]
