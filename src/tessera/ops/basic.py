"""Creating tensor variables: symbolic inputs, constants, shared variables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops.type import TensorType
from tessera.ops.variable import SharedVariable, TensorConstant, TensorVariable

_PY_SCALARS = (bool, int, float, complex)


def _default_dtype(value: Any) -> np.dtype:
    arr = np.asarray(value)
    if arr.dtype == np.float64 and not isinstance(value, np.ndarray | np.generic):
        return np.dtype(config.floatX)
    return arr.dtype


def tensor(
    name: str | None = None,
    shape: Sequence[int | None] = (),
    dtype: Any = None,
) -> TensorVariable:
    """Create a symbolic input.

    Parameters
    ----------
    name : str, optional
    shape : tuple of int or None
        Static shape; ``None`` for dims known only at run time.
    dtype : dtype, optional
        Defaults to ``config.floatX``.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None, 3))
    >>> x.type
    TensorType(float64, shape=(?, 3))
    """
    if isinstance(shape, int):
        shape = (shape,)
    return TensorType(dtype or config.floatX, shape).make_variable(name)


def scalar(name: str | None = None, dtype: Any = None) -> TensorVariable:
    """A 0-d symbolic input (``tensor(name, shape=())``)."""
    return tensor(name, (), dtype)


def vector(name: str | None = None, dtype: Any = None) -> TensorVariable:
    """A 1-d symbolic input of unknown length."""
    return tensor(name, (None,), dtype)


def matrix(name: str | None = None, dtype: Any = None) -> TensorVariable:
    """A 2-d symbolic input of unknown shape."""
    return tensor(name, (None, None), dtype)


def constant(value: Any, name: str | None = None, dtype: Any = None) -> TensorConstant:
    """Create a constant tensor (the value is copied).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.constant([1.0, 2.0]).type
    TensorType(float64, shape=(2,))
    """
    if isinstance(value, TensorConstant) and dtype is None:
        return value
    if isinstance(value, Variable):
        raise TypeError(f"constant: {value} is a symbolic variable, not a value")
    dt = np.dtype(dtype) if dtype is not None else _default_dtype(value)
    arr = np.array(value, dtype=dt)
    arr.setflags(write=False)
    return TensorConstant(TensorType(arr.dtype, arr.shape), arr, name=name)


def as_tensor(value: Any, name: str | None = None, dtype: Any = None) -> TensorVariable:
    """Return ``value`` as a tensor variable (constants for raw values).

    Sequences mixing numbers and scalar variables are stacked.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.as_tensor(3.0).type
    TensorType(float64, shape=())
    """
    if isinstance(value, Variable):
        if not isinstance(value.type, TensorType):
            raise TypeError(f"as_tensor: {value} has non-tensor type {value.type}")
        if dtype is not None and np.dtype(dtype).name != value.dtype:
            from tessera.ops.math import cast

            return cast(value, dtype)
        return value
    if isinstance(value, list | tuple) and any(
        isinstance(v, Variable) or isinstance(v, list | tuple) for v in value
    ):
        if any(isinstance(v, Variable) for v in _flatten(value)):
            from tessera.ops.shape import stack

            return stack([as_tensor(v, dtype=dtype) for v in value])
    return constant(value, name=name, dtype=dtype)


def _flatten(seq):
    for v in seq:
        if isinstance(v, list | tuple):
            yield from _flatten(v)
        else:
            yield v


def _int_out_of_range(v: Any, dtype: np.dtype) -> bool:
    if isinstance(v, bool) or not isinstance(v, int) or dtype.kind not in "iu":
        return False
    info = np.iinfo(dtype)
    return not info.min <= v <= info.max


def _is_weak(v: Any) -> bool:
    return isinstance(v, _PY_SCALARS) and not isinstance(v, np.generic)


def as_tensors_weak(*values: Any, exact_ints: bool = False) -> list[TensorVariable]:
    """Convert operands of one elementwise op, treating Python scalars weakly.

    A Python number takes the dtype NumPy would give it next to the other
    operands (NEP 50), so ``x_float32 + 1.0`` stays float32. A Python int
    that does not fit that dtype is an OverflowError, as in NumPy, unless
    ``exact_ints`` (comparisons: ``x_int8 < 1000`` is fine in NumPy), where it
    keeps its own dtype.
    """
    strong = [v for v in values if not _is_weak(v)]
    dtypes = [as_tensor(v).dtype for v in strong]
    out = []
    for v in values:
        if _is_weak(v):
            if dtypes:
                dt = np.result_type(*dtypes, v)
            else:
                dt = _default_dtype(v)
            if exact_ints and _int_out_of_range(v, dt):
                dt = _default_dtype(v)
            out.append(constant(v, dtype=dt))
        else:
            out.append(as_tensor(v))
    return out


def shared(
    value: Any,
    name: str | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
) -> SharedVariable:
    """A variable whose value persists between calls of compiled functions.

    Parameters
    ----------
    value : array_like
        Initial value (copied).
    name : str, optional
    shape : tuple, optional
        Static shape; by default every dim is unknown so the value may change
        shape with :meth:`SharedVariable.set_value`.
    dtype : optional
        Defaults to the value's dtype.

    Examples
    --------
    >>> import tessera as ts
    >>> w = ts.shared(0.0, "w")
    >>> step = ts.function([], [], updates={w: w + 1})
    >>> _ = step(); _ = step()
    >>> w.get_value()
    array(2.)
    """
    arr = np.array(value, dtype=dtype)
    if shape is None:
        shape = (None,) * arr.ndim
    t = TensorType(arr.dtype, shape)
    return SharedVariable(t, t.filter(arr, name=name), name=name)
