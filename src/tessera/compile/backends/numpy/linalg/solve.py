"""NumPy kernels of the solves: solve_triangular, cho_solve, lu_solve, solve.

Mirrors :mod:`tessera.ops.linalg.solve`. For a batch, ``tuning.trsm_loop_wins``
picks BLAS per matrix or the batched substitution of the ops' reference;
one matrix goes straight to BLAS (chosen at compile time when the static
types say so, where a triangular factor computed by a Cholesky is known to
have no zero on its diagonal, so that check is skipped).

Per matrix we call BLAS ``trsm``/``trsv``, not LAPACK's ``trtrs`` or
``getrs``: OpenBLAS replaces those with threaded versions that wake their
thread pool even for an 8x8 system, and on a busy machine (parallel
chains, another BLAS library in the same process) a call then takes
milliseconds instead of about 2 us.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg._dispatch import (
    linalg_funcify,
    register_kernel,
    single_matrix_shapes,
)
from tessera.compile.backends.numpy.linalg._lapack import lapack, per_matrix
from tessera.compile.backends.numpy.linalg.decomposition import cholesky
from tessera.ops.linalg import _lu, _triangular
from tessera.ops.linalg._base import as_float, batch_shape, broadcast_batch
from tessera.ops.linalg._failures import report, zero_diagonal
from tessera.ops.linalg.decomposition import is_cholesky_factor
from tessera.ops.linalg.solve import (
    CholeskySolve,
    LUSolve,
    Solve,
    SolveTriangular,
    solve_kernel,
    solve_rhs,
)

# --- solve_triangular ----------------------------------------------------------------


def trsm_loop(a, b, lower: bool, trans: int, unit: bool, dtype):
    """Per-matrix BLAS ``trsm`` (``trsv`` for one right-hand side); returns
    ``(x, singular mask)``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[2.0, 0.0], [1.0, 1.0]]] * 3)
    >>> x, bad = trsm_loop(a, np.ones((3, 2, 1)), True, 0, False, a.dtype)
    >>> x[0, :, 0], bad
    (array([0.5, 0.5]), None)
    """
    n, k = b.shape[-2:]
    # the transpose of a C-ordered matrix is Fortran-ordered: no copy
    if k == 1:
        x = _trsv_loop(a, b, lower, trans, unit, dtype)
    else:
        trsm = lapack("trsm", dtype, "blas")
        (x,), _ = per_matrix(
            lambda m, v: (
                trsm(1.0, m.T, v, lower=not lower, trans_a=1 - trans, diag=unit),
                0,
            ),
            [(a, 2), (b, 2)],
            [(n, k)],
            dtype,
        )
    bad = None if unit else zero_diagonal(a, x.shape[:-2])
    return x, bad


def _trsv_loop(a, b, lower: bool, trans: int, unit: bool, dtype) -> np.ndarray:
    """``trsv`` per matrix, ``b`` (..., n, 1): a third of the cost of the
    general per-matrix machinery at n = 64."""
    trsv = lapack("trsv", dtype, "blas")
    n = a.shape[-1]
    batch, (a, b) = broadcast_batch((a, 2), (b, 2))
    nb = math.prod(batch)
    a = a.reshape(nb, n, n)
    b = b.reshape(nb, n)
    x = np.empty((nb, n), dtype)
    flip, t = not lower, 1 - trans
    for i in range(nb):
        x[i] = trsv(a[i].T, b[i], lower=flip, trans=t, diag=unit)
    return x.reshape(batch + (n, 1))


def solve_triangular_one(a, b, lower, trans, unit_diagonal, b_ndim, dtype):
    """``a x = b`` (or ``a^T x = b``) for one matrix, straight to BLAS.

    About 3 us in all, for graphs whose shapes were unknown when compiled.
    Returns None when the inputs need the general path of
    :func:`solve_triangular`: a batch, a dtype conversion, an empty or
    malformed operand, or a zero on the diagonal (which it reports).
    """
    if a.dtype != dtype or b.dtype != dtype or a.ndim < 2 or b.ndim < b_ndim:
        return None
    n = a.shape[-1]
    core = b.shape[b.ndim - b_ndim :]
    k = 1 if b_ndim == 1 else core[-1]
    if (
        not n
        or not k
        or a.shape[-2] != n
        or core[0] != n
        or a.size != n * n
        or b.size != n * k
        or not (unit_diagonal or np.count_nonzero(a.diagonal(0, -2, -1)) == n)
    ):
        return None
    x = _trsm_one(a, b, n, k, lower, trans, unit_diagonal, dtype)
    return x.reshape(batch_shape(a.shape[:-2], b.shape[: b.ndim - b_ndim]) + core)


def _trsm_one(a, b, n, k, lower, trans, unit_diagonal, dtype) -> np.ndarray:
    """One ``(n, n)`` triangular solve with ``(n, k)`` right-hand sides (BLAS)."""
    trsm = lapack("trsm", dtype, "blas")
    # a^T is Fortran-ordered: solve with it, flipping lower and trans
    return trsm(
        1.0,
        a.reshape(n, n).T,
        b.reshape(n, k),
        lower=not lower,
        trans_a=1 - trans,
        diag=unit_diagonal,
    )


def solve_triangular(
    a,
    b,
    lower: bool,
    trans: int,
    unit_diagonal: bool,
    dtype: np.dtype,
    on_error: str,
    op: str = "solve_triangular",
) -> np.ndarray:
    """The reference :func:`tessera.ops.linalg._triangular.solve_triangular`,
    run per matrix with BLAS where :mod:`..tuning` says that wins.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> solve_triangular(a, np.ones((2, 1)), True, 0, False, a.dtype, "raise")[:, 0]
    array([0.5, 0.5])
    """
    a, b = as_float(a, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch = batch_shape(a.shape[:-2], b.shape[:-2])
    nbatch = math.prod(batch)
    if (
        nbatch == 1
        and n
        and k
        and (unit_diagonal or np.count_nonzero(a.diagonal(0, -2, -1)) == n)
    ):
        # one matrix (the unbatched case): straight to BLAS, ~3 us in all
        x = _trsm_one(a, b, n, k, lower, trans, unit_diagonal, dtype)
        return x.reshape(batch + (n, k))
    if not tuning.trsm_loop_wins(nbatch, n, k):
        return _triangular.solve_triangular(
            a, b, lower, trans, unit_diagonal, dtype, on_error, op
        )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x, bad = trsm_loop(a, b, lower, trans, unit_diagonal, dtype)
    report(op, bad, "singular (zero on the diagonal)", on_error, [x])
    return x


@register_kernel(SolveTriangular)
def _solve_triangular_kernel(op: SolveTriangular, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype
    lower, trans, unit = op.lower, op.trans, op.unit_diagonal
    b_ndim, on_error = op.b_ndim, op.on_error

    def kernel(a, b2, dt):
        return solve_triangular(a, b2, lower, trans, unit, dt, on_error)

    def run(a, b):
        x = solve_triangular_one(a, b, lower, trans, unit, b_ndim, dt)
        return solve_rhs(op, kernel, a, b, dt) if x is None else x

    return run


@linalg_funcify.register(SolveTriangular)
def _solve_triangular_one(op: SolveTriangular, node, general):
    cores = single_matrix_shapes(node, [2, op.b_ndim])
    if cores is None or not cores[0][-1] or not cores[1][-1]:
        return None
    n = cores[0][-1]
    shape = node.outputs[0].type.shape
    dtype = node.outputs[0].type.numpy_dtype
    unit = op.unit_diagonal
    # the diagonal of a Cholesky factor has no zero to report
    check = not (unit or is_cholesky_factor(node.inputs[0]))
    # a^T is Fortran-ordered: BLAS reads it without a copy, as the other
    # triangle with `trans` flipped
    lower, trans = not op.lower, 1 - op.trans

    if op.b_ndim == 1:
        trsv = lapack("trsv", dtype, "blas")

        def solve(a, b):
            return trsv(
                a.reshape(n, n).T, b.reshape(n), lower=lower, trans=trans, diag=unit
            )
    else:
        trsm = lapack("trsm", dtype, "blas")
        k = cores[1][-1]

        def solve(a, b):
            return trsm(
                1.0,
                a.reshape(n, n).T,
                b.reshape(n, k),
                lower=lower,
                trans_a=trans,
                diag=unit,
            )

    if not check:

        def run(a, b):
            return solve(a, b).reshape(shape)

        return run

    def run_checked(a, b):
        if np.count_nonzero(a.reshape(n * n)[:: n + 1]) != n:
            return general(a, b)  # a singular matrix: its error, or NaN
        return solve(a, b).reshape(shape)

    return run_checked


# --- cho_solve, lu_solve, solve ---------------------------------------------------------


def cho_solve(c, lower: bool, b, dtype: np.dtype) -> np.ndarray:
    """Solve ``(c c^T) x = b`` (``lower``) or ``(c^T c) x = b`` from a factor:
    ``potrs`` per matrix or two batched substitutions.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> cho_solve(c, True, np.array([[6.0], [4.0]]), c.dtype)[:, 0]
    array([1., 1.])
    """
    c, b = as_float(c, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch = batch_shape(c.shape[:-2], b.shape[:-2])
    if not tuning.trsm_loop_wins(math.prod(batch), n, k):
        return _triangular.cho_solve(c, lower, b, dtype)
    potrs = lapack("potrs", dtype)
    (x,), _ = per_matrix(
        lambda m, v: potrs(m, v, lower=lower), [(c, 2), (b, 2)], [(n, k)], dtype
    )
    return x


def lu_solve(lu, piv, b, trans: int, dtype: np.dtype) -> np.ndarray:
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` from ``lu_factor(a)``:
    row swaps and two BLAS ``trsm`` per matrix, or the batched reference.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera.ops.linalg._lu import lu_factor
    >>> f64 = np.dtype("float64")
    >>> lu, piv = lu_factor(np.array([[0.0, 2.0], [4.0, 0.0]]), f64)
    >>> lu_solve(lu, piv, np.array([[2.0], [4.0]]), 0, f64)[:, 0]
    array([1., 1.])
    """
    lu, b = as_float(lu, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch, (lu, piv, b) = broadcast_batch((lu, 2), (np.asarray(piv), 1), (b, 2))
    if not tuning.trsm_loop_wins(math.prod(batch), n, k):
        return _lu.lu_solve(lu, piv, b, trans, dtype)
    laswp, trsm = lapack("laswp", dtype), lapack("trsm", dtype, "blas")

    def one(m, p, v):
        if trans == 0:
            y = trsm(1.0, m, laswp(v, p), lower=1, diag=1, overwrite_b=1)
            return trsm(1.0, m, y, lower=0, overwrite_b=1), 0
        z = trsm(1.0, m, v, lower=0, trans_a=1)
        w = trsm(1.0, m, z, lower=1, trans_a=1, diag=1, overwrite_b=1)
        return laswp(w, p, inc=-1), 0

    (x,), _ = per_matrix(one, [(lu, 2), (piv, 1), (b, 2)], [(n, k)], dtype)
    return x


def solve(a, b, assume_a: str, lower: bool, dtype: np.dtype, on_error: str):
    """Solve ``a x = b`` with ``b`` (..., n, k); ``"pos"`` by this backend's
    Cholesky and :func:`cho_solve`, the others by ``np.linalg.solve``'s
    gufunc (the reference kernel).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> solve(a, np.ones((2, 1)), "pos", True, a.dtype, "raise")[:, 0]
    array([0.33333333, 0.33333333])
    """
    if assume_a != "pos":
        return solve_kernel(a, b, assume_a, lower, dtype, on_error)
    a, b = as_float(a, dtype), as_float(b, dtype)
    factor = cholesky(a, lower, dtype, on_error, op="solve")
    return cho_solve(factor, lower, b, dtype)


@register_kernel(CholeskySolve)
def _cho_solve_kernel(op: CholeskySolve, node) -> Callable:
    dt, lower = node.outputs[0].type.numpy_dtype, op.lower

    def kernel(c, b2, dt):
        return cho_solve(c, lower, b2, dt)

    def run(c, b):
        return solve_rhs(op, kernel, c, b, dt)

    return run


@register_kernel(LUSolve)
def _lu_solve_kernel(op: LUSolve, node) -> Callable:
    dt, trans = node.outputs[0].type.numpy_dtype, op.trans

    def run(lu, piv, b):
        def kernel(lu2, b2, dt):
            return lu_solve(lu2, piv, b2, trans, dt)

        return solve_rhs(op, kernel, lu, b, dt)

    return run


@register_kernel(Solve)
def _solve_kernel(op: Solve, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype
    assume_a, lower, on_error = op.assume_a, op.lower, op.on_error

    def kernel(a, b2, dt):
        return solve(a, b2, assume_a, lower, dt, on_error)

    def run(a, b):
        return solve_rhs(op, kernel, a, b, dt)

    return run
