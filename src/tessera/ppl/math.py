"""``ppl.math``: the maths helpers PyMC users find in ``pm.math``.

Most names are tessera's own ops (``ts.exp``, ``ts.linalg.cholesky``, ...)
under the names PyMC uses; the rest are small graphs of them, written in
numerically stable forms (``log1mexp``, ``logdiffexp``, ``log_softmax``,
``erfcinv``). Everything works on symbolic tensors, so model code written
with ``pm.math`` ports by changing ``pm.`` to ``ppl.``.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> x = ppl.math.as_tensor(np.array([-1.0, 0.0, 2.0]))
>>> ppl.math.invlogit(x).eval().round(4)
array([0.2689, 0.5   , 0.8808])
>>> float(ppl.math.logsumexp(x).eval().round(4))
2.1698
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor, constant
from tessera.ops.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from tessera.ops.join import concatenate, stack
from tessera.ops.linalg import (
    block_diag,
    cho_solve,
    cholesky,
    det,
    diag,
    eigh,
    kron,
    slogdet,
    solve,
    solve_triangular,
    trace,
    tril,
    triu,
)
from tessera.ops.linalg import inv as matrix_inverse
from tessera.ops.math import (
    abs,
    and_,
    arccos,
    arcsin,
    arctan,
    arctan2,
    betainc,
    ceil,
    clip,
    cos,
    cosh,
    digamma,
    eq,
    erf,
    erfc,
    erfinv,
    exp,
    expm1,
    floor,
    gammainc,
    gammaincc,
    gammaln,
    ge,
    gt,
    i0,
    i1,
    le,
    log,
    log1mexp,
    log1p,
    log2,
    log10,
    logaddexp,
    logit,
    lt,
    maximum,
    minimum,
    ndtr,
    ndtri,
    neq,
    or_,
    polygamma,
    round,
    sigmoid,
    sin,
    sinh,
    softplus,
    sqrt,
    switch,
    tan,
    tanh,
    where,
)
from tessera.ops.math import sign as sgn
from tessera.ops.math import square as sqr
from tessera.ops.products import dot, matmul, outer
from tessera.ops.rearrange import (
    broadcast_arrays,
    flatten,
    moveaxis,
    repeat,
    swapaxes,
    tile,
)
from tessera.ops.reduction import (
    all,
    any,
    argmax,
    argmin,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from tessera.ops.shape import (
    broadcast_to,
    expand_dims,
    reshape,
    shape_i,
    shape_tuple,
    squeeze,
    transpose,
)

#: ``log(1 + exp(x))`` (PyMC's name for softplus).
log1pexp = softplus
#: The logistic function, inverse of :func:`logit`.
invlogit = sigmoid


def probit(p) -> Variable:
    """The standard normal quantile function, ``Phi^-1(p)``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.probit(0.975).eval().round(4))
    1.96
    """
    return ndtri(p)


def invprobit(x) -> Variable:
    """The standard normal CDF, ``Phi(x)``, inverse of :func:`probit`.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.invprobit(0.0).eval())
    0.5
    """
    return ndtr(x)


def erfcinv(x) -> Variable:
    """Inverse of ``erfc``, as ``-probit(x / 2) / sqrt(2)`` (accurate near 0).

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.erfcinv(0.5).eval().round(4))
    0.4769
    """
    return -ndtri(as_tensor(x) / 2.0) / np.sqrt(2.0)


def arcsinh(x) -> Variable:
    """Inverse hyperbolic sine, ``sign(x) log(|x| + sqrt(x^2 + 1))``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arcsinh(1.0).eval().round(4))
    0.8814
    """
    x = as_tensor(x)
    ax = abs(x)
    return sgn(x) * log1p(ax + ax * ax / (1.0 + sqrt(ax * ax + 1.0)))


def arccosh(x) -> Variable:
    """Inverse hyperbolic cosine (``x >= 1``), ``log(x + sqrt(x^2 - 1))``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arccosh(2.0).eval().round(4))
    1.317
    """
    x = as_tensor(x)
    return log(x + sqrt(x * x - 1.0))


def arctanh(x) -> Variable:
    """Inverse hyperbolic tangent (``|x| < 1``), ``log1p(2x / (1 - x)) / 2``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arctanh(0.5).eval().round(4))
    0.5493
    """
    x = as_tensor(x)
    return 0.5 * log1p(2.0 * x / (1.0 - x))


def gamma(x) -> Variable:
    """The gamma function, ``exp(gammaln(x))`` with its sign for negative x.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.gamma(5.0).eval().round(6))
    24.0
    """
    x = as_tensor(x)
    odd = eq(floor(-x) - 2.0 * floor(floor(-x) / 2.0), 0.0)
    s = where(gt(x, 0.0), 1.0, where(odd, -1.0, 1.0))
    return s * exp(gammaln(x))


def logdiffexp(a, b) -> Variable:
    """``log(exp(a) - exp(b))`` for ``a >= b``, stably (``a`` where ``b = -inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> float(ppl.math.logdiffexp(np.log(3.0), np.log(1.0)).eval().round(4))
    0.6931
    """
    a, b = as_tensor(a), as_tensor(b)
    return where(eq(b, -np.inf), a, a + log1mexp(b - a))


def log_softmax(x, axis: int | None = None) -> Variable:
    """``x - logsumexp(x)`` along ``axis`` (None: over all entries).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.log_softmax(np.log([1.0, 3.0]), axis=-1).eval().round(4)
    array([-1.3863, -0.2877])
    """
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis: int | None = None) -> Variable:
    """``exp(x) / sum(exp(x))`` along ``axis`` (None: over all entries).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.softmax(np.log([1.0, 3.0]), axis=-1).eval()
    array([0.25, 0.75])
    """
    return exp(log_softmax(x, axis=axis))


def logdet(m) -> Variable:
    """``log |det(m)|`` of square matrices ``(..., n, n)``, without overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> float(ppl.math.logdet(np.diag([2.0, -3.0])).eval().round(4))
    1.7918
    """
    return slogdet(m)[1]


def diff(x, n: int = 1, axis: int = -1) -> Variable:
    """The ``n``-th discrete difference along ``axis``, like ``np.diff``.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.math.diff([1.0, 4.0, 9.0, 16.0]).eval()
    array([3., 5., 7.])
    """
    x = as_tensor(x)
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    ax = axis % x.ndim if x.ndim else 0
    lead = (slice(None),) * ax
    for _ in range(n):
        x = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
    return x


def take(a, indices, axis: int | None = None) -> Variable:
    """Entries of ``a`` at ``indices`` along ``axis`` (None: of ``a`` flattened).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.take(np.array([[1.0, 2.0], [3.0, 4.0]]), [1, 0], axis=1).eval()
    array([[2., 1.],
           [4., 3.]])
    """
    a = as_tensor(a)
    idx = np.asarray(indices) if not isinstance(indices, Variable) else indices
    if axis is None:
        return flatten(a)[idx]
    ax = axis % a.ndim
    return a[(slice(None),) * ax + (idx,)]


def norm(x, ord: Any = None, axis: int | None = None) -> Variable:
    """Vector norms along ``axis``, or the Frobenius norm of all entries.

    ``ord``: None, ``"fro"`` or 2 (Euclidean), another number p
    (``sum |x|^p ^ (1/p)``), ``np.inf`` / ``-np.inf`` (largest / smallest
    ``|x|``). With ``axis=None`` a number other than 2 needs a vector.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.norm([3.0, 4.0]).eval())
    5.0
    """
    x = as_tensor(x)
    if ord in (None, "fro", 2):
        return sqrt(sum(sqr(abs(x)), axis=axis))
    if axis is None and x.ndim != 1:
        raise NotImplementedError(
            f"norm: ord={ord!r} over all dims of a {x.ndim}-d tensor (a matrix "
            "norm) is not available; give axis, or use ord=None (Frobenius)"
        )
    if ord == np.inf:
        return max(abs(x), axis=axis)
    if ord == -np.inf:
        return min(abs(x), axis=axis)
    if isinstance(ord, int | float) and ord > 0:
        return sum(abs(x) ** ord, axis=axis) ** (1.0 / ord)
    raise ValueError(f"norm: unsupported ord={ord!r}")


def kronecker(*Ks) -> Variable:
    """Kronecker product ``K_1 ⊗ K_2 ⊗ ...`` of matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.kronecker(np.eye(2), np.ones((1, 2))).eval()
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """
    if not Ks:
        raise TypeError("kronecker: give at least one matrix")
    return reduce(kron, [as_tensor(k) for k in Ks])


def flat_outer(a, b) -> Variable:
    """The outer product of two vectors, raveled.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.math.flat_outer([1.0, 2.0], [1.0, 10.0]).eval()
    array([ 1., 10.,  2., 20.])
    """
    return flatten(outer(a, b))


def kron_diag(*diags) -> Variable:
    """Diagonal of the Kronecker product of matrices with diagonals ``diags``.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.math.kron_diag([1.0, 2.0], [1.0, 3.0]).eval()
    array([1., 3., 2., 6.])
    """
    return reduce(flat_outer, [as_tensor(d) for d in diags])


def _kron_apply(krons: Sequence, m, fn, what: str) -> Variable:
    """``fn(kronecker(*krons), m)`` by applying each factor along its own axis
    of ``m`` reshaped to ``(n_1, ..., n_D, columns)``; the product itself is
    never formed."""
    krons = [as_tensor(k) for k in krons]
    m = as_tensor(m)
    if m.ndim == 1:
        m = expand_dims(m, 1)
    if m.ndim != 2:
        raise ValueError(f"{what}: m must be a vector or a matrix, got {m.ndim} dims")
    sizes = [shape_i(k, 0) for k in krons]
    ncol = shape_i(m, 1)
    x = reshape(m, (*sizes, ncol))
    for k, a in enumerate(krons):
        front = moveaxis(x, k, 0)
        shape = shape_tuple(front)
        y = fn(a, reshape(front, (sizes[k], -1)))
        x = moveaxis(reshape(y, shape), 0, k)
    return reshape(x, (-1, ncol))


def kron_dot(krons: Sequence, m) -> Variable:
    """``kronecker(*krons) @ m`` without forming the product (``m``: ``(N,)``
    or ``(N, M)``; the result is ``(N, M)``, ``(N, 1)`` for a vector).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.kron_dot([np.eye(2), 2 * np.eye(2)], np.arange(4.0)).eval().ravel()
    array([0., 2., 4., 6.])
    """
    return _kron_apply(krons, m, dot, "kron_dot")


def kron_solve_lower(krons: Sequence, m) -> Variable:
    """Solve ``kronecker(*krons) x = m`` for lower-triangular factors.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> L = np.array([[2.0, 0.0], [1.0, 1.0]])
    >>> ppl.math.kron_solve_lower([L], [2.0, 3.0]).eval().ravel()
    array([1., 2.])
    """
    return _kron_apply(
        krons, m, lambda a, b: solve_triangular(a, b, lower=True), "kron_solve_lower"
    )


def kron_solve_upper(krons: Sequence, m) -> Variable:
    """Solve ``kronecker(*krons) x = m`` for upper-triangular factors.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> U = np.array([[1.0, 1.0], [0.0, 2.0]])
    >>> ppl.math.kron_solve_upper([U], [3.0, 4.0]).eval().ravel()
    array([1., 2.])
    """
    return _kron_apply(
        krons, m, lambda a, b: solve_triangular(a, b, lower=False), "kron_solve_upper"
    )


def cartesian(*arrays) -> np.ndarray:
    """All combinations of the rows of ``arrays`` (NumPy), the first varying
    slowest; 1-d arrays count as columns.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.math.cartesian([1, 2], [3, 4]).tolist()
    [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    cols = [np.asarray(a) for a in arrays]
    cols = [a[:, None] if a.ndim == 1 else a for a in cols]
    grids = np.meshgrid(*[np.arange(len(a)) for a in cols], indexing="ij")
    rows = [g.ravel() for g in grids]
    return np.concatenate([a[r] for a, r in zip(cols, rows)], axis=1)


def flatten_list(tensors: Sequence) -> Variable:
    """The tensors raveled and concatenated into one vector.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.flatten_list([np.ones((2, 2)), np.zeros(1)]).eval()
    array([1., 1., 1., 1., 0.])
    """
    return concatenate([flatten(as_tensor(t)) for t in tensors])


def logbern(log_p: float, rng: np.random.Generator | None = None) -> bool:
    """A Bernoulli draw (NumPy) with success probability ``exp(log_p)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> bool(ppl.math.logbern(0.0, rng=np.random.default_rng(0)))
    True
    """
    if np.isnan(log_p):
        raise FloatingPointError("logbern: log_p is NaN")
    rng = rng if rng is not None else np.random.default_rng()
    return bool(np.log(rng.uniform()) < log_p)


def batched_diag(c) -> Variable:
    """Vectors ``(b, n)`` to diagonal matrices ``(b, n, n)``, or matrices
    ``(b, n, n)`` to their diagonals ``(b, n)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.batched_diag(np.ones((2, 3))).eval().shape
    (2, 3, 3)
    """
    from tessera.ops.linalg import diag_embed, diagonal

    c = as_tensor(c)
    if c.ndim == 2:
        return diag_embed(c)
    if c.ndim == 3:
        return diagonal(c)
    raise ValueError(f"batched_diag: expected 2 or 3 dims, got {c.ndim}")


def expand_packed_triangular(
    n: int, packed, lower: bool = True, diagonal_only: bool = False
) -> Variable:
    """A triangular ``(n, n)`` matrix from its entries packed row by row.

    Lower: ``[[0, ., .], [1, 2, .], [3, 4, 5]]``; upper:
    ``[[0, 1, 2], [., 3, 4], [., ., 5]]``. Leading dims of ``packed`` are
    batch dims.

    Parameters
    ----------
    n : int
        Rows of the matrix.
    packed : tensor_like, shape (..., n * (n + 1) / 2)
    lower : bool
        Lower (True) or upper triangular.
    diagonal_only : bool
        Return only the diagonal, shape ``(..., n)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.expand_packed_triangular(2, np.array([1.0, 2.0, 3.0])).eval()
    array([[1., 0.],
           [2., 3.]])
    """
    from tessera.ops.subtensor import set_subtensor

    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise TypeError(
            f"expand_packed_triangular: n must be a positive int, got {n!r}"
        )
    n = int(n)
    packed = as_tensor(packed)
    if packed.ndim < 1:
        raise ValueError("expand_packed_triangular: packed must have at least 1 dim")
    size = packed.type.shape[-1]
    if size is not None and size != n * (n + 1) // 2:
        raise ValueError(
            f"expand_packed_triangular: packed has {size} entries but an {n} x {n} "
            f"triangle has {n * (n + 1) // 2}"
        )
    rows, cols = np.tril_indices(n) if lower else np.triu_indices(n)
    if diagonal_only:
        return packed[..., np.flatnonzero(rows == cols)]
    out = zeros((*shape_tuple(packed)[:-1], n, n), dtype=packed.dtype)
    return set_subtensor(out[..., rows, cols], packed)


__all__ = [
    "abs",
    "all",
    "and_",
    "any",
    "arange",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argmax",
    "argmin",
    "as_tensor",
    "batched_diag",
    "betainc",
    "block_diag",
    "broadcast_arrays",
    "broadcast_to",
    "cartesian",
    "ceil",
    "cho_solve",
    "cholesky",
    "clip",
    "concatenate",
    "constant",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "det",
    "diag",
    "diff",
    "digamma",
    "dot",
    "eigh",
    "eq",
    "erf",
    "erfc",
    "erfcinv",
    "erfinv",
    "exp",
    "expand_dims",
    "expand_packed_triangular",
    "expm1",
    "eye",
    "flat_outer",
    "flatten",
    "flatten_list",
    "floor",
    "full",
    "full_like",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "ge",
    "gt",
    "i0",
    "i1",
    "invlogit",
    "invprobit",
    "kron",
    "kron_diag",
    "kron_dot",
    "kron_solve_lower",
    "kron_solve_upper",
    "kronecker",
    "le",
    "linspace",
    "log",
    "log10",
    "log1mexp",
    "log1p",
    "log1pexp",
    "log2",
    "log_softmax",
    "logaddexp",
    "logbern",
    "logdet",
    "logdiffexp",
    "logit",
    "logsumexp",
    "lt",
    "matmul",
    "matrix_inverse",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "moveaxis",
    "neq",
    "norm",
    "ones",
    "ones_like",
    "or_",
    "polygamma",
    "probit",
    "prod",
    "repeat",
    "reshape",
    "round",
    "sgn",
    "sigmoid",
    "sin",
    "sinh",
    "slogdet",
    "softmax",
    "softplus",
    "solve",
    "solve_triangular",
    "sqr",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "swapaxes",
    "switch",
    "take",
    "tan",
    "tanh",
    "tile",
    "trace",
    "transpose",
    "tril",
    "triu",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
