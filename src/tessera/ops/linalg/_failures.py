"""Failed batch elements of a linalg kernel: locate them, raise or fill NaN.

A matrix that is not positive definite, or singular, is located per batch
element: the batched kernel runs first, and only when it reports a failure
do we look for the bad elements, so the common case pays nothing.
``on_error="raise"`` raises ``numpy.linalg.LinAlgError`` naming the op and
the first bad batch index; ``on_error="nan"`` fills that element's outputs
with NaN and leaves the others untouched. Every backend keeps these
semantics.
"""

from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

try:  # the gufuncs behind np.linalg, callable with our own error handling
    from numpy.linalg import _umath_linalg as umath_linalg
except ImportError:  # pragma: no cover - private module moved
    umath_linalg = None


def _gufunc_sig(dtype: np.dtype, nin: int, nout: int = 1) -> str:
    c = "f" if dtype == np.float32 else "d"
    return c * nin + "->" + c * nout


def call_gufunc(fn, *args, dtype: np.dtype, nout: int = 1):
    """Call an ``np.linalg`` gufunc; return ``(result, failed)``.

    LAPACK failures fill that element's output with NaN and set the
    floating-point "invalid" flag, which we catch instead of letting NumPy
    raise for the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.stack([np.eye(2), -np.eye(2)])
    >>> out, failed = call_gufunc(umath_linalg.cholesky_lo, a, dtype=a.dtype)
    >>> failed, nan_elements(out, 2)
    (True, array([False,  True]))
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


def zero_diagonal(a: np.ndarray, batch: tuple) -> np.ndarray | None:
    """Mask over ``batch`` of triangular matrices with a zero on the diagonal
    (None when there is none)."""
    zero = (np.diagonal(a, axis1=-2, axis2=-1) == 0).any(axis=-1)
    return np.broadcast_to(zero, batch) if zero.any() else None


def report(op: str, bad: np.ndarray | None, what: str, on_error: str, outs) -> None:
    """Raise for, or NaN-fill, the batch elements flagged in ``bad``.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.ones((3, 2))
    >>> report("inv", np.array([False, True, False]), "singular", "nan", [out])
    >>> out[:, 0]
    array([ 1., nan,  1.])
    >>> report("inv", np.array([False, True, True]), "singular", "raise", [out])
    Traceback (most recent call last):
    ...
    numpy.linalg.LinAlgError: inv: matrix at batch index (1,) is singular (2 of 3 matrices)
    """
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
