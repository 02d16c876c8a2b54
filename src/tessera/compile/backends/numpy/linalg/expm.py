"""NumPy kernel of ``expm``: scaling and squaring vectorized over the batch.

Mirrors :mod:`tessera.ops.linalg.expm`. ``scipy.linalg.expm`` (the
reference) loops over a batch in Python, 20-110 us per 8x8 matrix;
:func:`expm_pade` runs every step over the whole batch. SciPy's version,
with exact 1-norm estimates, is kept for one matrix and for two small ones
(``tuning.expm_scipy_wins``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.linalg._dispatch import cast, register_kernel
from tessera.ops.linalg._base import square_value
from tessera.ops.linalg.expm import Expm, expm_kernel

# Largest 1-norm for which the degree-m Pade approximant is accurate to double
# precision (Higham 2005, "The scaling and squaring method revisited").
_THETA = {
    3: 1.495585217958292e-2,
    5: 2.539398330063230e-1,
    7: 9.504178996162932e-1,
    9: 2.097847961257068e0,
    13: 5.371920351148152e0,
}


def _pade_coefficients(m: int) -> list[float]:
    f = math.factorial
    return [f(2 * m - j) * f(m) / (f(2 * m) * f(j) * f(m - j)) for j in range(m + 1)]


def _pade(a: np.ndarray, m: int) -> np.ndarray:
    """Degree-m diagonal Pade approximant of exp, batched."""
    b = _pade_coefficients(m)
    n = a.shape[-1]
    eye = np.eye(n, dtype=a.dtype)
    a2 = a @ a
    if m == 13:
        a4 = a2 @ a2
        a6 = a4 @ a2
        u = a @ (
            a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
            + b[7] * a6
            + b[5] * a4
            + b[3] * a2
            + b[1] * eye
        )
        v = (
            a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2)
            + b[6] * a6
            + b[4] * a4
            + b[2] * a2
            + b[0] * eye
        )
    else:
        powers = [eye, a2]
        while len(powers) <= m // 2:
            powers.append(powers[-1] @ a2)
        u = a @ sum(b[2 * j + 1] * powers[j] for j in range((m + 1) // 2))
        v = sum(b[2 * j] * powers[j] for j in range((m + 1) // 2))
    return np.linalg.solve(v - u, v + u)


def expm_pade(a: np.ndarray) -> np.ndarray:
    """Scaling and squaring with a Pade approximant, vectorized over the batch.

    The Pade degree is chosen from the largest 1-norm in the batch; each
    element gets its own number of squarings (masked beyond its own count).

    Examples
    --------
    >>> import numpy as np
    >>> expm_pade(np.zeros((3, 2, 2)))[0]
    array([[1., 0.],
           [0., 1.]])
    """
    norms = np.abs(a).sum(axis=-2).max(axis=-1)
    norms = np.where(np.isfinite(norms), norms, 0.0)
    top = float(norms.max()) if norms.size else 0.0
    for m in (3, 5, 7, 9):
        if top <= _THETA[m]:
            return _pade(a, m)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(norms / _THETA[13]))).astype(np.int64)
    r = _pade(a / np.ldexp(1.0, s)[..., None, None], 13)
    for k in range(int(s.max()) if s.size else 0):
        r = np.where((s > k)[..., None, None], r @ r, r)
    return r


def expm(a, dtype: np.dtype) -> np.ndarray:
    """The matrix exponentials of (..., n, n), computed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> expm(np.zeros((3, 1, 1)), np.dtype("float32"))[:, 0, 0]
    array([1., 1., 1.], dtype=float32)
    """
    a = np.asarray(a, dtype=np.float64)
    if tuning.expm_scipy_wins(math.prod(a.shape[:-2]), a.shape[-1]):
        return expm_kernel(a, dtype)
    return np.asarray(expm_pade(a), dtype=dtype)


@register_kernel(Expm)
def _expm_kernel(op: Expm, node) -> Callable:
    dt = node.outputs[0].type.numpy_dtype

    def run(a):
        square_value("expm", a)
        return cast(expm(a, dt), dt)

    return run
