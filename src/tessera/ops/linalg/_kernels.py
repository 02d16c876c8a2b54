"""Natively batched NumPy/SciPy kernels behind the linalg ops.

Every kernel takes arrays with any leading batch dims (broadcast between
arguments like a NumPy gufunc) and is called once per op evaluation. The
choice between a NumPy gufunc, a batch-vectorized substitution written here
and a per-matrix SciPy LAPACK call depends on the batch size and the matrix
size; the crossovers below were measured with ``python benchmarks/linalg.py
--kernels`` on the project's 2-core reference machine (OpenBLAS 0.3.31).

Failures (a matrix that is not positive definite, a singular matrix) are
located per batch element: the fast batched path runs first, and only when
LAPACK reports a failure do we look for the bad elements, so the common case
pays nothing. ``on_error="raise"`` raises ``numpy.linalg.LinAlgError`` naming
the first bad batch index; ``on_error="nan"`` fills that element's outputs
with NaN and leaves the others untouched.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.linalg import LinAlgError

try:  # the gufuncs behind np.linalg, callable with our own error handling
    from numpy.linalg import _umath_linalg as _gu
except ImportError:  # pragma: no cover - private module moved
    _gu = None

ON_ERROR = ("raise", "nan")

# --- crossovers ---------------------------------------------------------------
#
# Measured with `python benchmarks/linalg.py --kernels` (2 cores, OpenBLAS
# 0.3.31; median times, batched kernel vs per-matrix LAPACK called directly,
# about 2.5 us of Python per matrix). The machine was shared while measuring,
# so only the orders of magnitude are firm; the rules below sit in the middle
# of the ties.
#
# Cholesky, np.linalg gufunc vs potrf per matrix (each in its own process):
#   (batch, n)  (4096,8)  (256,32)  (64,64)  (16,128)  (16,256)  (4,512)  (1,1024)
#   gufunc       2.0 ms    1.3 ms    0.83 ms  1.7 ms    10.7 ms   17.7 ms  20 ms
#   potrf loop   16 ms     2.7 ms    1.0 ms   2.0 ms    9.8-34    87 ms    200 ms
# The gufunc is never much slower, and it stays in NumPy's OpenBLAS: NumPy
# and SciPy wheels each bundle their own OpenBLAS, and when a graph
# alternates NumPy matmuls with SciPy level-3 calls on large matrices the two
# thread pools fight over the cores (a 2-3x slowdown on 2 cores; setting
# OPENBLAS_NUM_THREADS=1 avoids it).
# Measured again with OPENBLAS_NUM_THREADS=1 (potrf per matrix on a C-ordered
# matrix's transpose, as below; median ms, gufunc vs loop):
#   (64,64) 0.96 vs 0.95-1.8  (32,96) 1.9 vs 2.2  (16,128) 2.3 vs 1.7
#   (16,192) 5.6 vs 4.7  (16,256) 13.0 vs 5.4  (1,512) 6.2 vs 2.3
# NumPy's gufunc falls behind SciPy's potrf for large matrices, so from
# CHOLESKY_LOOP_MIN_N on cholesky calls potrf per matrix; below, the gufunc.
#
# Triangular solve: the batch-vectorized substitution below (one NumPy
# statement per row) against BLAS per matrix. Vector right-hand side, BLAS
# trsv per matrix (OPENBLAS_NUM_THREADS=1, the machine shared):
#   (batch, n):  (8,8) 41 vs 14 us  (32,32) 194 vs 67 us  (64,64) 419 vs 169 us
#                (16,256) 2.15 vs 0.19 ms  (4096,8) 0.38 vs about 9 ms
# fitted by the first cost model of `_trsm_loop_wins`. With k right-hand-side
# columns, against trsm per matrix:
#   (batch, n, k): (4096,8,8) 2.1 vs 14.4 ms  (8,8,8) 51 vs 47 us
#                  (16,32,32) 0.30 vs 0.14 ms  (64,32,32) 0.59 vs 0.47 ms
#                  (64,64,64) 2.6 vs 1.1 ms  (256,64,64) 10.5 vs 5.2 ms
#                  (16,128,128) 4.4 vs 1.6 ms  (16,256,256) 27 vs 10 ms
# fitted by the cost model of `_trsm_loop_wins` (microseconds). Solving with
# np.linalg.solve (LU, O(n^3)) never wins: 4.8 ms at (4096, 8, 8).


CHOLESKY_LOOP_MIN_N = 128


def _trsm_loop_wins(nbatch: int, n: int, k: int) -> bool:
    if k == 1:
        loop_us = 2.2 * nbatch + 1.5e-4 * nbatch * n * n
        subst_us = (4.0 + 0.017 * n) * n + 0.012 * nbatch * n
        return loop_us < subst_us
    flops = nbatch * n * n * k
    loop_us = 15.0 + 2.5 * nbatch + 8e-5 * flops
    subst_us = 4.0 * n + 0.012 * nbatch * n * k + 8e-5 * flops
    return loop_us < subst_us


# General solve and inverse: np.linalg's gufunc (getrf + getrs) and SciPy's
# per-matrix gesv run the same LAPACK code; the gufunc has no per-matrix
# Python overhead, so it is used at every size.
# (LU and expm crossovers: see _kernels_lu_expm.py.)


def batch_size(shape) -> int:
    return math.prod(shape)


def float_dtype(*dtypes) -> np.dtype:
    """float32 if every input is at most single precision, else float64."""
    dt = np.result_type(*dtypes, np.float32) if dtypes else np.dtype(np.float64)
    if dt.kind == "c":
        raise TypeError("tessera.linalg supports real inputs only")
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


def _gufunc_sig(dtype: np.dtype, nin: int, nout: int = 1) -> str:
    c = "f" if dtype == np.float32 else "d"
    return c * nin + "->" + c * nout


def call_gufunc(fn, *args, dtype: np.dtype, nout: int = 1):
    """Call an ``np.linalg`` gufunc; return ``(result, failed)``.

    LAPACK failures fill that element's output with NaN and set the
    floating-point "invalid" flag, which we catch instead of letting NumPy
    raise for the whole batch.
    """
    failed: list[bool] = []
    with np.errstate(
        invalid="call",
        call=lambda *_: failed.append(True),
        over="ignore",
        divide="ignore",
        under="ignore",
    ):
        out = fn(*args, signature=_gufunc_sig(dtype, len(args), nout))
    return out, bool(failed)


def nan_elements(x: np.ndarray, core_ndim: int) -> np.ndarray:
    """Boolean mask over the batch dims: elements with a NaN anywhere."""
    if core_ndim == 0:
        return np.isnan(x)
    return np.isnan(x).any(axis=tuple(range(-core_ndim, 0)))


def report(op: str, bad: np.ndarray | None, what: str, on_error: str, outs) -> None:
    """Raise for, or NaN-fill, the batch elements flagged in ``bad``."""
    if bad is None or not bad.any():
        return
    if on_error == "raise":
        if bad.ndim == 0:
            raise LinAlgError(f"{op}: matrix is {what}")
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        count = int(bad.sum())
        more = f" ({count} of {bad.size} matrices)" if count > 1 else ""
        raise LinAlgError(f"{op}: matrix at batch index {idx} is {what}{more}")
    for out in outs:
        out[bad] = np.nan


def as_float(x, dtype: np.dtype) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype == dtype else x.astype(dtype)


def batch_shape(*shapes) -> tuple:
    """Broadcast batch shapes (fast when they are all equal)."""
    first = shapes[0]
    if all(s == first for s in shapes[1:]):
        return first
    return np.broadcast_shapes(*shapes)


def broadcast_batch(*arrays_and_core_ndims):
    """Broadcast the batch dims of ``(array, core_ndim)`` pairs."""
    shapes = [a.shape[: a.ndim - nd] for a, nd in arrays_and_core_ndims]
    batch = batch_shape(*shapes)
    return batch, [
        a if s == batch else np.broadcast_to(a, batch + a.shape[a.ndim - nd :])
        for (a, nd), s in zip(arrays_and_core_ndims, shapes)
    ]


def symmetrize_from(a: np.ndarray, lower: bool) -> np.ndarray:
    """The symmetric matrix defined by one triangle of ``a``."""
    t = np.tril(a) if lower else np.triu(a)
    strict = np.tril(a, -1) if lower else np.triu(a, 1)
    return t + np.swapaxes(strict, -1, -2)


# --- per-matrix LAPACK ------------------------------------------------------------

_LAPACK: dict = {}


def lapack(name: str, dtype: np.dtype, kind: str = "lapack"):
    """The LAPACK (or BLAS, ``kind="blas"``) routine ``name`` for ``dtype``,
    called directly: about 1 us of overhead, against about 10 us through the
    ``scipy.linalg`` wrappers."""
    key = (name, dtype.char, kind)
    fn = _LAPACK.get(key)
    if fn is None:
        from scipy.linalg import get_blas_funcs, get_lapack_funcs  # on first use

        get = get_blas_funcs if kind == "blas" else get_lapack_funcs
        fn = _LAPACK[key] = get(name, dtype=dtype)
    return fn


def per_matrix(fn, args, out_core, dtype, out_dtypes=None):
    """Call ``fn(*core_args) -> (*outputs, info)`` per batch element.

    ``args`` are ``(array, core_ndim)`` pairs whose batch dims broadcast;
    ``out_core`` gives the core shape of each output. Returns the outputs
    and the mask of elements whose ``info`` was positive.
    """
    batch, arrays = broadcast_batch(*args)
    nb = math.prod(batch)
    if nb == 1:  # the common single-matrix case, without the loop machinery
        *res, info = fn(*[a.reshape(a.shape[len(batch) :]) for a in arrays])
        outs = [np.asarray(r).reshape(batch + c) for r, c in zip(res, out_core)]
        if out_dtypes:
            outs = [o.astype(d, copy=False) for o, d in zip(outs, out_dtypes)]
        return outs, (np.full(batch, True) if info > 0 else None)
    flat = [a.reshape((nb,) + a.shape[len(batch) :]) for a in arrays]
    out_dtypes = out_dtypes or [dtype] * len(out_core)
    outs = [np.empty((nb,) + c, d) for c, d in zip(out_core, out_dtypes)]
    bad = np.zeros(nb, dtype=bool)
    for i in range(nb):
        *res, info = fn(*[a[i] for a in flat])
        for o, r in zip(outs, res):
            o[i] = r
        if info > 0:
            bad[i] = True
    return [o.reshape(batch + c) for o, c in zip(outs, out_core)], bad.reshape(batch)


# --- cholesky ------------------------------------------------------------------


def cholesky(a, lower: bool, dtype: np.dtype, on_error: str, op: str = "cholesky"):
    a = as_float(a, dtype)
    n = a.shape[-1]
    if a.size == n * n and n:
        # one matrix: LAPACK directly (~1.5 us against ~5 us for the gufunc
        # and its error handling). a^T is Fortran-ordered, its `not lower`
        # triangle is a's `lower` one, and its factor is the transpose of a's.
        potrf = lapack("potrf", dtype)
        c, info = potrf(a.reshape(n, n).T, lower=not lower, clean=1)
        out = c.T.reshape(a.shape)
        if info:
            out = np.array(out)  # writable and C-ordered for NaN filling
            report(
                op,
                np.ones(a.shape[:-2], bool),
                "not positive definite",
                on_error,
                [out],
            )
        return out
    if _gu is None or n >= CHOLESKY_LOOP_MIN_N:
        # per-matrix LAPACK, on transposes like the single-matrix case
        potrf = lapack("potrf", dtype)

        def one(m):
            c, info = potrf(m.T, lower=not lower, clean=1)
            return c.T, info

        (out,), bad = per_matrix(one, [(a, 2)], [(n, n)], dtype)
        report(op, bad, "not positive definite", on_error, [out])
        return out
    fn = _gu.cholesky_lo if lower else _gu.cholesky_up
    out, failed = call_gufunc(fn, a, dtype=dtype)
    bad = nan_elements(out, 2) if failed else None
    report(op, bad, "not positive definite", on_error, [out])
    return out


# --- triangular solves ---------------------------------------------------------


def _substitute(a, b, lower: bool, unit: bool, dtype) -> np.ndarray:
    """Forward (``lower``) or back substitution, vectorized over the batch.

    Reads only the ``lower``/upper triangle of ``a`` (and not its diagonal
    when ``unit``). ``b`` is ``(..., n, k)``; batch dims broadcast.
    """
    n = a.shape[-1]
    shape = batch_shape(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    x = np.empty(shape, dtype)
    if n == 0 or x.size == 0:
        return x
    if shape[-1] == 1:
        # one right-hand side: batched dot products (einsum) beat stacks of
        # (1, i) @ (i, 1) matmuls by about 1.6x
        _substitute_vector(a, b[..., 0], x[..., 0], lower, unit)
        return x
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n) if lower else range(n - 1, -1, -1):
            row = b[..., i, :]
            lo, hi = (0, i) if lower else (i + 1, n)
            if hi > lo:
                row = (
                    row
                    - np.matmul(a[..., i : i + 1, lo:hi], x[..., lo:hi, :])[..., 0, :]
                )
            x[..., i, :] = row if unit else row / a[..., i, i, None]
    return x


def _substitute_vector(a, b, x, lower: bool, unit: bool) -> None:
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(n) if lower else range(n - 1, -1, -1):
            row = b[..., i]
            lo, hi = (0, i) if lower else (i + 1, n)
            if hi > lo:
                row = row - np.einsum("...j,...j->...", a[..., i, lo:hi], x[..., lo:hi])
            x[..., i] = row if unit else row / a[..., i, i]


def trsm_loop(a, b, lower: bool, trans: int, unit: bool, dtype):
    """Per-matrix BLAS ``trsm`` (``trsv`` for one right-hand side); returns
    ``(x, singular mask)``.

    Not LAPACK's ``trtrs``: OpenBLAS replaces it (and ``getrs``) with a
    threaded version that wakes its thread pool even for an 8x8 system, and
    on a busy machine (parallel chains, another BLAS library in the same
    process) a call then takes milliseconds instead of about 2 us.
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
    bad = None
    if not unit:
        zero = (np.diagonal(a, axis1=-2, axis2=-1) == 0).any(axis=-1)
        if zero.any():
            bad = np.broadcast_to(zero, x.shape[:-2])
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

    About 3 us in all. Returns None when the inputs need the general path of
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
    """Solve ``a x = b`` (``trans=0``) or ``a^T x = b`` with ``b`` (..., n, k)."""
    a, b = as_float(a, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch = batch_shape(a.shape[:-2], b.shape[:-2])
    nbatch = batch_size(batch)
    if (
        nbatch == 1
        and n
        and k
        and (unit_diagonal or np.count_nonzero(a.diagonal(0, -2, -1)) == n)
    ):
        # one matrix (the unbatched case): straight to BLAS, ~3 us in all
        x = _trsm_one(a, b, n, k, lower, trans, unit_diagonal, dtype)
        return x.reshape(batch + (n, k))
    if _trsm_loop_wins(nbatch, n, k):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x, bad = trsm_loop(a, b, lower, trans, unit_diagonal, dtype)
    else:
        bad = None
        if not unit_diagonal:
            zero = (np.diagonal(a, axis1=-2, axis2=-1) == 0).any(axis=-1)
            if zero.any():
                bad = np.broadcast_to(zero, batch)
        if trans:
            a, lower = np.swapaxes(a, -1, -2), not lower
        x = _substitute(a, b, lower, unit_diagonal, dtype)
    report(op, bad, "singular (zero on the diagonal)", on_error, [x])
    return x


def cho_solve(c, lower: bool, b, dtype: np.dtype) -> np.ndarray:
    """Solve ``(c c^T) x = b`` (``lower``) or ``(c^T c) x = b`` from a factor."""
    c, b = as_float(c, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch = batch_shape(c.shape[:-2], b.shape[:-2])
    if _trsm_loop_wins(batch_size(batch), n, k):
        potrs = lapack("potrs", dtype)
        (x,), _ = per_matrix(
            lambda m, v: potrs(m, v, lower=lower), [(c, 2), (b, 2)], [(n, k)], dtype
        )
        return x
    ct = np.swapaxes(c, -1, -2)
    if lower:
        y = _substitute(c, b, True, False, dtype)
        return _substitute(ct, y, False, False, dtype)
    y = _substitute(ct, b, True, False, dtype)
    return _substitute(c, y, False, False, dtype)


# --- general solve and inverse ---------------------------------------------------


def solve(a, b, assume_a: str, lower: bool, dtype: np.dtype, on_error: str):
    """Solve ``a x = b`` with ``b`` (..., n, k)."""
    a, b = as_float(a, dtype), as_float(b, dtype)
    if assume_a == "pos":
        factor = cholesky(a, lower, dtype, on_error, op="solve")
        x = cho_solve(factor, lower, b, dtype)
        return x
    if assume_a == "sym":
        a = symmetrize_from(a, lower)
    if _gu is None:  # pragma: no cover
        return np.linalg.solve(a, b).astype(dtype, copy=False)
    x, failed = call_gufunc(_gu.solve, a, b, dtype=dtype)
    bad = nan_elements(x, 2) if failed else None
    report("solve", bad, "singular", on_error, [x])
    return x


def inv(a, dtype: np.dtype, on_error: str) -> np.ndarray:
    a = as_float(a, dtype)
    if _gu is None:  # pragma: no cover
        return np.linalg.inv(a).astype(dtype, copy=False)
    x, failed = call_gufunc(_gu.inv, a, dtype=dtype)
    bad = nan_elements(x, 2) if failed else None
    report("inv", bad, "singular", on_error, [x])
    return x
