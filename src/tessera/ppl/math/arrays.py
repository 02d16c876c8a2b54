"""Array helpers of ``ppl.math``: ``diff``, ``take``, ``cartesian``,
``flatten_list`` and ``logbern``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.join import concatenate
from tessera.ops.rearrange import (
    flatten,
)


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
