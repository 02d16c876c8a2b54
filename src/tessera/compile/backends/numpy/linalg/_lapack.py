"""Per-matrix LAPACK and BLAS, called directly.

SciPy's ``scipy.linalg`` wrappers check and convert their arguments: about
10 us a call, more than an 8x8 factorization takes. The raw routines cost
about 1 us. :func:`per_matrix` runs one over every matrix of a batch.
"""

from __future__ import annotations

import math

import numpy as np

from tessera.ops.linalg._base import broadcast_batch

_LAPACK: dict = {}


def lapack(name: str, dtype: np.dtype, kind: str = "lapack"):
    """The LAPACK (or BLAS, ``kind="blas"``) routine ``name`` for ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> potrf = lapack("potrf", np.dtype("float64"))
    >>> c, info = potrf(np.array([[4.0]]))
    >>> float(c[0, 0]), info
    (2.0, 0)
    """
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
    and the mask of elements whose ``info`` was positive (None for one
    matrix that succeeded).

    Examples
    --------
    >>> import numpy as np
    >>> f64 = np.dtype("float64")
    >>> potrf = lapack("potrf", f64)
    >>> a = np.stack([4.0 * np.eye(2), -np.eye(2)])
    >>> (c,), bad = per_matrix(lambda m: potrf(m, lower=1), [(a, 2)], [(2, 2)], f64)
    >>> c[0, 0], bad
    (array([2., 0.]), array([False,  True]))
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
