"""Minibatches: random rows of data arrays, drawn anew at every step.

``ppl.Minibatch(X, y, batch_size=100)`` returns one symbolic variable per
array: ``X[index]``, ``y[index]`` with ``index`` a *shared* vector of
``batch_size`` row numbers, the same rows for all arrays given together.
The rows are redrawn (with replacement) by the updates of
:func:`minibatch_updates`, which :func:`tessera.ppl.fit` adds to its step
function: every ADVI step sees new rows.

Keeping the index a shared variable (not a random draw inside the graph)
keeps the model's log-density a deterministic function of its values
between steps: gradients, the model's checks and compiled functions work
as for full data, and the draw of the next rows lives in the updates only.

Observed with a minibatch, a variable's log-likelihood is scaled by
``total_size / batch_size`` in the ELBO (``total_size`` is the number of rows
of the full data unless the observed variable says otherwise), so the ELBO
estimates the full-data one.

Examples
--------
>>> import numpy as np
>>> import tessera as ts
>>> X = np.arange(20.0).reshape(10, 2)
>>> y = np.arange(10.0)
>>> Xb, yb = Minibatch(X, y, batch_size=4, random_seed=0)
>>> Xb.type.shape, yb.type.shape
((4, 2), (4,))
>>> f = ts.function([], [Xb, yb], updates=minibatch_updates([Xb, yb]))
>>> x1, y1 = f()
>>> x2, y2 = f()
>>> bool((x1[:, 0] == 2 * y1).all() and (x2[:, 0] == 2 * y2).all())
True
>>> bool((y1 != y2).any())  # new rows at each call
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.graph.traversal import graph_inputs
from tessera.ops.basic import shared
from tessera.ops.variable import SharedVariable

__all__ = [
    "Minibatch",
    "MinibatchInfo",
    "minibatch_indices",
    "minibatch_info",
    "minibatch_updates",
]

_TAG = "minibatch"


@dataclass(frozen=True, eq=False)
class MinibatchInfo:
    """What a minibatch variable (and its index) carries in ``tag["minibatch"]``.

    Attributes
    ----------
    total_size : int
        Rows of the full data.
    batch_size : int
    index : SharedVariable
        The current row numbers (int64 vector of ``batch_size``), shared by
        all arrays of one :func:`Minibatch` call.
    rng : RandomGeneratorSharedVariable
        The generator of the next rows.
    next_index : Variable
        A draw of new row numbers from ``rng``.
    next_rng : Variable
        ``rng`` after that draw.

    Examples
    --------
    >>> info = minibatch_info(Minibatch(np.zeros(10), batch_size=4))
    >>> info.total_size, info.batch_size, info.scale
    (10, 4, 2.5)
    """

    total_size: int
    batch_size: int
    index: SharedVariable
    rng: Any
    next_index: Variable
    next_rng: Variable

    @property
    def scale(self) -> float:
        """``total_size / batch_size``, the factor on a minibatch log-likelihood."""
        return self.total_size / self.batch_size

    def updates(self) -> dict:
        """``{index: next_index, rng: next_rng}``: draw the next rows."""
        return {self.index: self.next_index, self.rng: self.next_rng}

    def reseed(self, seed: Any) -> None:
        """Restart the row generator from ``seed`` and draw new rows now."""
        gen = np.random.default_rng(seed)
        self.index.set_value(gen.integers(0, self.total_size, self.batch_size))
        self.rng.set_value(gen, borrow=True)


def minibatch_info(var: Any) -> MinibatchInfo | None:
    """The :class:`MinibatchInfo` of a minibatch variable (or index), else None.

    Examples
    --------
    >>> xb = Minibatch(np.zeros(5), batch_size=2)
    >>> minibatch_info(xb).total_size
    5
    >>> minibatch_info(np.zeros(3)) is None
    True
    """
    if not isinstance(var, Variable):
        return None
    return var.tag.get(_TAG)


def minibatch_indices(graphs: Variable | Sequence[Variable]) -> list[MinibatchInfo]:
    """The minibatches whose rows ``graphs`` depend on (one per index).

    Examples
    --------
    >>> xb, yb = Minibatch(np.zeros(5), np.ones(5), batch_size=2)
    >>> len(minibatch_indices([xb + yb]))
    1
    """
    graphs = [graphs] if isinstance(graphs, Variable) else list(graphs)
    out, seen = [], set()
    for v in graph_inputs(graphs):
        info = minibatch_info(v)
        if info is not None and v is info.index and id(info) not in seen:
            seen.add(id(info))
            out.append(info)
    return out


def minibatch_updates(graphs: Variable | Sequence[Variable]) -> dict:
    """Updates that draw new rows for every minibatch ``graphs`` depend on.

    Examples
    --------
    >>> xb = Minibatch(np.arange(5.0), batch_size=3)
    >>> len(minibatch_updates(xb))  # the index and its generator
    2
    """
    updates: dict = {}
    for info in minibatch_indices(graphs):
        updates.update(info.updates())
    return updates


def Minibatch(
    *arrays: Any, batch_size: int, random_seed: Any = None
) -> Variable | tuple[Variable, ...]:
    """Random rows of ``arrays``, redrawn at every step of a fit.

    Parameters
    ----------
    *arrays : array_like or shared variables
        Data with the same number of rows (length of the first axis).
    batch_size : int
        Rows per minibatch (drawn with replacement).
    random_seed : int or numpy Generator, optional
        Seed of the rows; :func:`tessera.ppl.fit` reseeds them from its own
        ``random_seed``.

    Returns
    -------
    TensorVariable or tuple of TensorVariable
        One variable for one array, else a tuple (same order as ``arrays``).
        Each has static shape ``(batch_size, *array.shape[1:])``.

    Raises
    ------
    ValueError
        If no array is given, an array is 0-d or empty, the row counts
        differ, or ``batch_size`` is not positive.

    Examples
    --------
    >>> xb = Minibatch(np.arange(6.0), batch_size=3, random_seed=1)
    >>> xb.type.shape
    (3,)
    """
    from tessera.ppl.distributions import DiscreteUniform
    from tessera.random.type import rng

    if not arrays:
        raise ValueError("Minibatch needs at least one array")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise TypeError(f"Minibatch: batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"Minibatch: batch_size must be >= 1, got {batch_size}")
    batch_size = int(batch_size)
    data = [_as_data(a, k) for k, a in enumerate(arrays)]
    lengths = [d.get_value(borrow=True).shape[0] for d in data]
    if len(set(lengths)) != 1:
        raise ValueError(
            f"Minibatch: the arrays have different numbers of rows {lengths}; "
            "rows are drawn jointly, so all arrays need the same first dim"
        )
    n = int(lengths[0])
    if n == 0:
        raise ValueError("Minibatch: the arrays have no rows")
    gen = np.random.default_rng(random_seed)
    index = shared(
        gen.integers(0, n, batch_size), name="minibatch_index", shape=(batch_size,)
    )
    row_rng = rng(gen, name="minibatch_rng")
    nxt = DiscreteUniform.dist(0, n - 1, size=(batch_size,), rng=row_rng)
    info = MinibatchInfo(n, batch_size, index, row_rng, nxt, nxt.owner.outputs[0])
    index.tag[_TAG] = info
    out = []
    for d in data:
        batch = d[index]
        batch.tag[_TAG] = info
        out.append(batch)
    return out[0] if len(out) == 1 else tuple(out)


def _as_data(a: Any, k: int) -> SharedVariable:
    if isinstance(a, SharedVariable):
        if a.get_value(borrow=True).ndim == 0:
            raise ValueError(f"Minibatch: array {k} ({a}) is 0-d; it has no rows")
        return a
    if isinstance(a, Variable):
        raise TypeError(
            f"Minibatch: array {k} is a symbolic variable {a}; pass an array or a "
            "shared variable (ppl.Data)"
        )
    arr = np.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"Minibatch: array {k} cannot be converted to numbers")
    if arr.ndim == 0:
        raise ValueError(f"Minibatch: array {k} is 0-d; it has no rows")
    if arr.dtype.kind == "f":
        from tessera.config import config

        arr = arr.astype(config.floatX)
    return shared(arr, name=f"minibatch_data_{k}", shape=arr.shape)
