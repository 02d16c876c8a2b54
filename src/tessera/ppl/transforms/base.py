"""The Transform base class, its shape bookkeeping, and composition (Chain).

A transform maps the support of a distribution to an unconstrained space
and back:

* ``forward(x)``: constrained value -> unconstrained value;
* ``backward(y)``: unconstrained value -> constrained value;
* ``log_jac_det(y)``: ``log |det d backward(y) / dy|``, summed over the
  transform's event dims, so a ``batch + event`` input gives a
  ``batch``-shaped result.

The model's log-density on the unconstrained space is
``logp(backward(y)) + log_jac_det(y)``.

Each transform declares ``ndim_supp``, the number of trailing (event) dims
of a constrained value it acts on together (0 for elementwise transforms),
and ``ndim_unconstrained``, the same for the unconstrained value (they
differ for :class:`~tessera.ppl.transforms.CholeskyCorrTransform`, which
packs an ``(n, n)`` matrix into a vector). Every leading dim is a batch dim,
handled by the tensor ops themselves, never by a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.reduction import sum as ts_sum

ShapeLike = Sequence  # entries: Python ints or int64 scalar variables


class Transform:
    """A bijection between a distribution's support and unconstrained space.

    Subclasses implement ``_forward``, ``_backward`` and ``_log_jac_det`` on
    tensors that have already been checked to have enough dims; those that
    change the size of the event override ``unconstrained_shape`` and
    ``constrained_shape``.

    Attributes
    ----------
    name : str
        Short name, used by the model to name the unconstrained variable
        (``"x_log__"``).
    ndim_supp : int
        Event ndim of a constrained value.
    ndim_unconstrained : int
        Event ndim of an unconstrained value.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera.ppl.transforms import LogTransform
    >>> t = LogTransform()
    >>> y = ts.vector("y")
    >>> t.backward(y).eval({y: np.array([0.0, 1.0])})
    array([1.        , 2.71828183])
    """

    name: str = "transform"
    ndim_supp: int = 0
    ndim_unconstrained: int = 0

    # --- public API: validate, then do the maths -----------------------------
    def forward(self, x) -> Variable:
        """Map a constrained value to the unconstrained space."""
        x = as_tensor(x)
        self._check_ndim(x, self.ndim_supp, "forward", "constrained value")
        return self._forward(x)

    def backward(self, y) -> Variable:
        """Map an unconstrained value back to the constrained space."""
        y = as_tensor(y)
        self._check_ndim(y, self.ndim_unconstrained, "backward", "unconstrained value")
        return self._backward(y)

    def log_jac_det(self, y) -> Variable:
        """``log |det d backward(y) / dy|``, summed over the event dims.

        The result has the batch shape of ``y`` (its shape without the last
        ``ndim_unconstrained`` dims), broadcast with the shape of any tensor
        parameter of the transform.
        """
        y = as_tensor(y)
        self._check_ndim(
            y, self.ndim_unconstrained, "log_jac_det", "unconstrained value"
        )
        return self._log_jac_det(y)

    def unconstrained_shape(self, shape: ShapeLike) -> tuple:
        """The shape of ``forward(x)`` for a constrained value of ``shape``.

        Entries may be Python ints or symbolic int64 scalars.

        Examples
        --------
        >>> from tessera.ppl.transforms import SimplexTransform
        >>> SimplexTransform().unconstrained_shape((2, 4))
        (2, 3)
        """
        shape = tuple(shape)
        self._check_shape(shape, self.ndim_supp, "unconstrained_shape")
        return shape

    def constrained_shape(self, shape: ShapeLike) -> tuple:
        """The shape of ``backward(y)`` for an unconstrained value of ``shape``.

        Examples
        --------
        >>> from tessera.ppl.transforms import SimplexTransform
        >>> SimplexTransform().constrained_shape((2, 3))
        (2, 4)
        """
        shape = tuple(shape)
        self._check_shape(shape, self.ndim_unconstrained, "constrained_shape")
        return shape

    # --- to implement ---------------------------------------------------------
    def _forward(self, x: Variable) -> Variable:
        raise NotImplementedError

    def _backward(self, y: Variable) -> Variable:
        raise NotImplementedError

    def _log_jac_det(self, y: Variable) -> Variable:
        raise NotImplementedError

    # --- helpers --------------------------------------------------------------
    def _check_ndim(self, v: Variable, ndim: int, method: str, what: str) -> None:
        if v.ndim < ndim:
            raise ValueError(
                f"{type(self).__name__}.{method}: the {what} needs at least "
                f"{ndim} dims (its event dims), got {v.ndim} dims with shape "
                f"{_shape_repr(v)}"
            )

    def _check_shape(self, shape: tuple, ndim: int, method: str) -> None:
        if len(shape) < ndim:
            raise ValueError(
                f"{type(self).__name__}.{method}: a shape with at least {ndim} "
                f"dims is needed, got {shape}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _shape_repr(v: Variable) -> str:
    from tessera.ops.type import shape_str

    return shape_str(v.type.shape)


def sum_trailing(v: Variable, ndim: int) -> Variable:
    """Sum ``v`` over its last ``ndim`` dims (no-op for ``ndim <= 0``).

    Examples
    --------
    >>> import tessera as ts
    >>> sum_trailing(ts.ones((2, 3, 4)), 2).eval()
    array([12., 12.])
    """
    if ndim <= 0:
        return v
    return ts_sum(v, axis=tuple(range(v.ndim - ndim, v.ndim)))


class Chain(Transform):
    """The composition of transforms, applied in order by ``forward``.

    ``Chain(t1, t2).forward(x) == t2.forward(t1.forward(x))`` and
    ``backward`` undoes them in reverse order; the log-det-Jacobian is the
    sum of the stages' terms, each evaluated at its own input and summed
    over the chain's event dims. Nested chains are flattened.

    Parameters
    ----------
    *transforms : Transform
        The stages, from the constrained side to the unconstrained side.

    Examples
    --------
    A positive, increasing vector: log of the values, then the ordered
    transform on the logs.

    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera.ppl.transforms import Chain, LogTransform, OrderedTransform
    >>> t = Chain(LogTransform(), OrderedTransform())
    >>> t.ndim_supp, t.name
    (1, 'log_ordered')
    >>> x = ts.vector("x")
    >>> t.backward(t.forward(x)).eval({x: np.array([0.5, 1.0, 4.0])})
    array([0.5, 1. , 4. ])
    """

    def __init__(self, *transforms: Transform):
        stages: list[Transform] = []
        for t in transforms:
            if isinstance(t, Chain):
                stages.extend(t.transforms)
            elif isinstance(t, Transform):
                stages.append(t)
            else:
                raise TypeError(f"Chain: expected Transform instances, got {t!r}")
        if not stages:
            raise ValueError("Chain: needs at least one transform")
        self.transforms = tuple(stages)
        self.name = "_".join(t.name for t in stages)
        # Walk from the constrained side: a stage needing more event dims
        # than the previous ones produced makes the chain's event larger.
        need, have = 0, 0
        for t in stages:
            if have < t.ndim_supp:
                need += t.ndim_supp - have
                have = t.ndim_supp
            have += t.ndim_unconstrained - t.ndim_supp
        self.ndim_supp = need
        self.ndim_unconstrained = have

    def _forward(self, x):
        for t in self.transforms:
            x = t.forward(x)
        return x

    def _backward(self, y):
        for t in reversed(self.transforms):
            y = t.backward(y)
        return y

    def _log_jac_det(self, y):
        batch_ndim = y.ndim - self.ndim_unconstrained
        total = None
        for t in reversed(self.transforms):
            term = t.log_jac_det(y)
            term = sum_trailing(term, term.ndim - batch_ndim)
            total = term if total is None else total + term
            y = t.backward(y)
        return total

    def unconstrained_shape(self, shape):
        shape = super().unconstrained_shape(shape)
        for t in self.transforms:
            shape = t.unconstrained_shape(shape)
        return shape

    def constrained_shape(self, shape):
        shape = super().constrained_shape(shape)
        for t in reversed(self.transforms):
            shape = t.constrained_shape(shape)
        return shape

    def __repr__(self) -> str:
        return f"Chain({', '.join(repr(t) for t in self.transforms)})"
