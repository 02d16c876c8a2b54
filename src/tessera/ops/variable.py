"""Tensor variables and constants, with NumPy-style operators and methods."""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.ops.type import TensorType, shape_str


class _TensorMethods:
    """Operators and methods shared by tensor variables and constants.

    ``==`` and ``!=`` keep identity semantics (variables are graph nodes and
    live in dicts and sets); use :func:`tessera.eq` / :func:`tessera.neq` for
    elementwise equality. The ordering comparisons are elementwise.
    """

    type: TensorType

    # NumPy must not try to treat a symbolic tensor as an array: with this,
    # ``ndarray @ tensor`` and ``ndarray + tensor`` defer to our reflected ops.
    __array_ufunc__ = None

    # --- static information -------------------------------------------------
    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def shape(self):
        """Symbolic shape: an int64 vector variable (index it for one dim)."""
        from tessera.ops.shape import shape

        return shape(self)

    @property
    def size(self):
        from tessera.ops import math

        return math.prod(self.shape)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """Transpose of the last two dims (a batch of matrices)."""
        from tessera.ops.shape import swapaxes

        return swapaxes(self, -1, -2)

    # --- arithmetic ---------------------------------------------------------
    def __add__(self, other):
        from tessera.ops.math import add

        return add(self, other)

    def __radd__(self, other):
        from tessera.ops.math import add

        return add(other, self)

    def __sub__(self, other):
        from tessera.ops.math import sub

        return sub(self, other)

    def __rsub__(self, other):
        from tessera.ops.math import sub

        return sub(other, self)

    def __mul__(self, other):
        from tessera.ops.math import mul

        return mul(self, other)

    def __rmul__(self, other):
        from tessera.ops.math import mul

        return mul(other, self)

    def __truediv__(self, other):
        from tessera.ops.math import true_div

        return true_div(self, other)

    def __rtruediv__(self, other):
        from tessera.ops.math import true_div

        return true_div(other, self)

    def __floordiv__(self, other):
        from tessera.ops.math import floor_div

        return floor_div(self, other)

    def __rfloordiv__(self, other):
        from tessera.ops.math import floor_div

        return floor_div(other, self)

    def __mod__(self, other):
        from tessera.ops.math import mod

        return mod(self, other)

    def __rmod__(self, other):
        from tessera.ops.math import mod

        return mod(other, self)

    def __pow__(self, other):
        from tessera.ops.math import pow

        return pow(self, other)

    def __rpow__(self, other):
        from tessera.ops.math import pow

        return pow(other, self)

    def __matmul__(self, other):
        from tessera.ops.products import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from tessera.ops.products import matmul

        return matmul(other, self)

    def __neg__(self):
        from tessera.ops.math import neg

        return neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        from tessera.ops.math import abs

        return abs(self)

    def __invert__(self):
        from tessera.ops.math import invert

        return invert(self)

    def __and__(self, other):
        from tessera.ops.math import and_

        return and_(self, other)

    def __rand__(self, other):
        from tessera.ops.math import and_

        return and_(other, self)

    def __or__(self, other):
        from tessera.ops.math import or_

        return or_(self, other)

    def __ror__(self, other):
        from tessera.ops.math import or_

        return or_(other, self)

    def __xor__(self, other):
        from tessera.ops.math import xor

        return xor(self, other)

    def __rxor__(self, other):
        from tessera.ops.math import xor

        return xor(other, self)

    def __lt__(self, other):
        from tessera.ops.math import lt

        return lt(self, other)

    def __le__(self, other):
        from tessera.ops.math import le

        return le(self, other)

    def __gt__(self, other):
        from tessera.ops.math import gt

        return gt(self, other)

    def __ge__(self, other):
        from tessera.ops.math import ge

        return ge(self, other)

    def __bool__(self):
        raise TypeError(
            f"the truth value of symbolic variable {self} is not known at "
            "graph-build time; use tessera.where or compare values after compiling"
        )

    def __len__(self):
        n = self.type.shape[0] if self.ndim else None
        if n is None:
            raise TypeError(f"len() of {self}: first dim is not known statically")
        return n

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # --- indexing -----------------------------------------------------------
    def __getitem__(self, idx):
        from tessera.ops.subtensor import getitem

        return getitem(self, idx)

    def __setitem__(self, idx, value):
        raise TypeError(
            "symbolic tensors are immutable; use tessera.set_subtensor(x[idx], y) "
            "or tessera.inc_subtensor(x[idx], y)"
        )

    # --- methods ------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, dtype=None):
        from tessera.ops.reduction import sum

        return sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False):
        from tessera.ops.reduction import prod

        return prod(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        from tessera.ops.reduction import mean

        return mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        from tessera.ops.reduction import var

        return var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        from tessera.ops.reduction import std

        return std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def max(self, axis=None, keepdims=False):
        from tessera.ops.reduction import max

        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        from tessera.ops.reduction import min

        return min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        from tessera.ops.reduction import argmax

        return argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        from tessera.ops.reduction import argmin

        return argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        from tessera.ops.reduction import all

        return all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        from tessera.ops.reduction import any

        return any(self, axis=axis, keepdims=keepdims)

    def cumsum(self, axis=None):
        from tessera.ops.reduction import cumsum

        return cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        from tessera.ops.reduction import cumprod

        return cumprod(self, axis=axis)

    def reshape(self, *shape):
        from tessera.ops.shape import reshape

        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return reshape(self, shape)

    def transpose(self, *axes):
        from tessera.ops.shape import transpose

        if len(axes) == 1 and isinstance(axes[0], list | tuple):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, a, b):
        from tessera.ops.shape import swapaxes

        return swapaxes(self, a, b)

    def flatten(self):
        from tessera.ops.shape import flatten

        return flatten(self)

    def squeeze(self, axis=None):
        from tessera.ops.shape import squeeze

        return squeeze(self, axis)

    def astype(self, dtype):
        from tessera.ops.math import cast

        return cast(self, dtype)

    def dot(self, other):
        from tessera.ops.products import dot

        return dot(self, other)

    def clip(self, lo, hi):
        from tessera.ops.math import clip

        return clip(self, lo, hi)

    def copy(self):
        from tessera.ops.math import identity

        return identity(self)

    def eval(self, inputs: dict | None = None, **kwargs):
        """Compile and evaluate this variable.

        Parameters
        ----------
        inputs : dict, optional
            Values for the graph inputs, keyed by variable (or by name).

        Examples
        --------
        >>> import tessera as ts
        >>> x = ts.tensor("x", shape=(2,))
        >>> (x * 2).eval({x: [1.0, 2.0]})
        array([2., 4.])
        """
        from tessera.compile.function import function
        from tessera.graph.traversal import graph_inputs

        inputs = dict(inputs or {})
        if inputs and all(isinstance(k, str) for k in inputs):
            by_name = {
                v.name: v
                for v in graph_inputs([self])
                if v.name is not None and not isinstance(v, Constant)
            }
            missing = [k for k in inputs if k not in by_name]
            if missing:
                raise KeyError(f"eval: no input named {missing} in the graph of {self}")
            inputs = {by_name[k]: v for k, v in inputs.items()}
        keys = list(inputs)
        cache = self.tag.setdefault("_eval_cache", {})
        key = tuple(k.id for k in keys)
        fn = cache.get(key)
        if fn is None:
            fn = function(keys, self, **kwargs)
            cache[key] = fn
        return fn(*[inputs[k] for k in keys])


class TensorVariable(_TensorMethods, Variable):
    """A symbolic n-dimensional array.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None, 3))
    >>> (x.sum(axis=0) + 1).type
    TensorType(float64, shape=(3,))
    """

    def __repr__(self) -> str:
        return Variable.__repr__(self)


class TensorConstant(_TensorMethods, Constant):
    """A tensor whose value is fixed at graph-build time."""

    def __repr__(self) -> str:
        if self.name is not None:
            return self.name
        data = self.data
        if data.ndim == 0:
            return repr(data.item())
        if data.size <= 6:
            return repr(data.tolist())
        return f"Constant{shape_str(data.shape)}"

    def signature(self) -> tuple:
        """Key identifying equal constants (used by the merge pass)."""
        d = self.data
        return (d.dtype.str, d.shape, d.tobytes())


class SharedVariable(SharedValue, TensorVariable):
    """A graph input whose value lives with the variable between calls.

    Compiled functions read its current value and may update it
    (``updates=``); use :func:`tessera.shared` to create one.
    """

    def __init__(self, type: TensorType, value: np.ndarray, name: str | None = None):
        super().__init__(type, name=name)
        self._value = value

    def get_value(self, borrow: bool = False) -> np.ndarray:
        """The current value (a copy unless ``borrow``)."""
        return self._value if borrow else self._value.copy()

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value; it is validated against the variable's type."""
        arr = self.type.filter(value, name=self.name)
        self._value = arr if (borrow or arr is not value) else arr.copy()

    def clone(self) -> SharedVariable:
        return self  # a shared variable is its own clone: the storage is shared


TensorType.variable_class = TensorVariable
