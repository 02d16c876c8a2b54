"""Matrix helpers of ``ppl.math``: ``logdet``, ``norm``, Kronecker products
and solves that never form the full product, ``batched_diag`` and
``expand_packed_triangular``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.creation import (
    zeros,
)
from tessera.ops.linalg import (
    kron,
    slogdet,
    solve_triangular,
)
from tessera.ops.math import (
    abs,
    sqrt,
)
from tessera.ops.math import square as sqr
from tessera.ops.products import dot, outer
from tessera.ops.rearrange import (
    flatten,
    moveaxis,
)
from tessera.ops.reduction import (
    max,
    min,
    sum,
)
from tessera.ops.shape import (
    expand_dims,
    reshape,
    shape_i,
    shape_tuple,
)


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
