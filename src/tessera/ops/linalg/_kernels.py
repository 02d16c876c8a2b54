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
import scipy.linalg as sla
from numpy.linalg import LinAlgError

try:  # the gufuncs behind np.linalg, callable with our own error handling
    from numpy.linalg import _umath_linalg as _gu
except ImportError:  # pragma: no cover - private module moved
    _gu = None

ON_ERROR = ("raise", "nan")

# --- crossovers ---------------------------------------------------------------
#
# Cholesky (np.linalg gufunc vs scipy.linalg.cholesky per matrix), median ms:
#   (batch, n)   (4096,8) (256,32) (64,64) (16,128) (16,256) (4,512) (1,1024)
#   gufunc          1.50     0.85    1.25     7.9     10.6     18.0    19.7
#   scipy loop     28.8      2.7     1.23     2.5      7.6     11.7    14.8
# The gufunc wins below n = 64 whatever the batch; above, LAPACK's blocked
# potrf called per matrix wins (numpy's gufunc runs the unblocked path).
CHOLESKY_LOOP_MIN_N = 64
#
# Triangular solve, vector right-hand side: the batch-vectorized forward /
# back substitution below (one NumPy statement per row, O(batch * n^2) work)
# against scipy.linalg.solve_triangular per matrix (about 11 us of call
# overhead each, then BLAS trsv):
#   n=8:   batch 4096: 0.36 vs 44 ms;   batch 4: 0.042 vs 0.045 ms
#   n=32:  batch 16:   0.17 vs 0.18 ms; batch 64: 0.22 vs 0.72 ms
#   n=128: batch 64:   1.07 vs 0.98 ms; batch 16: 0.74 vs 0.24 ms
#   n=256: batch 16:   1.67 vs 0.38 ms; batch 64: 4.2 vs 2.3 ms
# so the per-matrix loop wins when 2 * batch <= n. Matrix right-hand sides
# (k columns) use the cost model of `_trsm_loop_wins`, fitted to
#   n=32,k=32:   batch 16: 0.28 vs 0.24 ms;  batch 64: 0.57 vs 0.96 ms
#   n=64,k=64:   batch 64: 2.5 vs 1.6 ms;    batch 256: 12.8 vs 7.6 ms
#   n=128,k=128: batch 4:  1.5 vs 0.64 ms;   n=8,k=8, batch 4096: 2.0 vs 47 ms
# np.linalg.solve on the triangular matrix (LU, O(n^3)) never wins: 2.4-4.8 ms
# at (4096, 8) against 0.36-2.0 ms for the substitution.


def _trsm_loop_wins(nbatch: int, n: int, k: int) -> bool:
    if k <= 2:
        return 2 * nbatch <= n
    work = nbatch * n * n * k
    loop_us = 12.0 * nbatch + 3e-5 * work
    subst_us = 5.0 * n + 2e-4 * work
    return loop_us < subst_us


# General solve and inverse: np.linalg's gufunc (getrf + getrs) and SciPy's
# per-matrix gesv run the same LAPACK code; the gufunc has no per-matrix
# Python overhead, so it is used at every size.
#
# expm: scipy.linalg.expm loops over a batch at about 110 us per 8x8 matrix
# (475 ms for 4096 of them); `expm_pade` below vectorizes Higham's scaling
# and squaring over the batch (about 3 ms there). For a single matrix SciPy's
# version (with its exact 1-norm estimates) is used.


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
    if bad is None:
        return
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
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


def broadcast_batch(*arrays_and_core_ndims):
    """Broadcast the batch dims of ``(array, core_ndim)`` pairs."""
    batch = np.broadcast_shapes(
        *[a.shape[: a.ndim - nd] for a, nd in arrays_and_core_ndims]
    )
    return batch, [
        np.broadcast_to(a, batch + a.shape[a.ndim - nd :])
        for a, nd in arrays_and_core_ndims
    ]


def symmetrize_from(a: np.ndarray, lower: bool) -> np.ndarray:
    """The symmetric matrix defined by one triangle of ``a``."""
    t = np.tril(a) if lower else np.triu(a)
    strict = np.tril(a, -1) if lower else np.triu(a, 1)
    return t + np.swapaxes(strict, -1, -2)


# --- cholesky ------------------------------------------------------------------


def cholesky(a, lower: bool, dtype: np.dtype, on_error: str, op: str = "cholesky"):
    a = as_float(a, dtype)
    n = a.shape[-1]
    batch = a.shape[:-2]
    if n >= CHOLESKY_LOOP_MIN_N or _gu is None:
        out = np.empty(a.shape, dtype)
        bad = np.zeros(batch, dtype=bool)
        for idx in np.ndindex(*batch):
            try:
                out[idx] = sla.cholesky(a[idx], lower=lower, check_finite=False)
            except LinAlgError:
                bad[idx] = True
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
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    x = np.empty(shape, dtype)
    if n == 0 or x.size == 0:
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
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    bad = None
    if not unit_diagonal:
        zero = np.diagonal(a, axis1=-2, axis2=-1) == 0
        if zero.any():
            bad = np.broadcast_to(zero.any(axis=-1), batch)
    if _trsm_loop_wins(batch_size(batch), n, k):
        _, (ab, bb) = broadcast_batch((a, 2), (b, 2))
        x = np.empty(batch + (n, k), dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            for idx in np.ndindex(*batch):
                if bad is not None and bad[idx]:
                    continue
                x[idx] = sla.solve_triangular(
                    ab[idx],
                    bb[idx],
                    trans=trans,
                    lower=lower,
                    unit_diagonal=unit_diagonal,
                    check_finite=False,
                )
    else:
        if trans:
            a, lower = np.swapaxes(a, -1, -2), not lower
        x = _substitute(a, b, lower, unit_diagonal, dtype)
    report(op, bad, "singular (zero on the diagonal)", on_error, [x])
    return x


def cho_solve(c, lower: bool, b, dtype: np.dtype) -> np.ndarray:
    """Solve ``(c c^T) x = b`` (``lower``) or ``(c^T c) x = b`` from a factor."""
    c, b = as_float(c, dtype), as_float(b, dtype)
    n, k = b.shape[-2], b.shape[-1]
    batch = np.broadcast_shapes(c.shape[:-2], b.shape[:-2])
    if _trsm_loop_wins(batch_size(batch), n, k):
        _, (cb, bb) = broadcast_batch((c, 2), (b, 2))
        x = np.empty(batch + (n, k), dtype)
        for idx in np.ndindex(*batch):
            x[idx] = sla.cho_solve((cb[idx], lower), bb[idx], check_finite=False)
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
