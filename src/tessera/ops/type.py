"""TensorType: dtype plus static shape (``None`` for unknown dims)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Type


@functools.lru_cache(maxsize=256)
def _cached_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.dtype(dtype).name)


def _dtype(dtype: Any) -> np.dtype:
    """Normalized NumPy dtype (``dtype.name`` is slow: cache the lookup)."""
    try:
        return _cached_dtype(dtype)
    except TypeError:  # unhashable dtype-like
        return np.dtype(np.dtype(dtype).name)


_NAMES: dict[np.dtype, str] = {}


def _dtype_name(dt: np.dtype) -> str:
    """``dt.name``, cached (NumPy builds the string at every access)."""
    name = _NAMES.get(dt)
    if name is None:
        name = _NAMES[dt] = dt.name
    return name


def _norm_shape(shape: Sequence[int | None]) -> tuple[int | None, ...]:
    out = []
    for s in shape:
        if s is None:
            out.append(None)
        else:
            s = int(s)
            if s < 0:
                raise ValueError(
                    f"static dims must be >= 0 or None, got {tuple(shape)}"
                )
            out.append(s)
    return tuple(out)


def shape_str(shape: Sequence[int | None]) -> str:
    """Format a static shape with ``?`` for unknown dims."""
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


_INTERNED: dict = {}
_MAX_INTERNED = 4096


class TensorType(Type):
    """The type of an n-dimensional array.

    Parameters
    ----------
    dtype : str or numpy dtype
    shape : tuple of int or None
        Static shape; ``None`` marks a dim whose size is known only at run time.

    Examples
    --------
    >>> t = TensorType("float32", (None, 3))
    >>> t.ndim, t.dtype
    (2, 'float32')
    """

    def __new__(cls, dtype: Any = None, shape: Sequence[int | None] = ()):
        # types are immutable values: one instance per (dtype, shape) as
        # written, so that a large graph does not hold thousands of copies
        if cls is TensorType and dtype is not None:
            try:
                hit = _INTERNED.get((dtype, shape))
            except TypeError:  # an unhashable shape (a list)
                hit = None
            if hit is not None:
                return hit
        return super().__new__(cls)

    def __init__(self, dtype: Any, shape: Sequence[int | None] = ()):
        if "ndim" in self.__dict__:
            return  # an interned instance (see __new__)
        self.numpy_dtype = _dtype(dtype)
        self.dtype = _dtype_name(self.numpy_dtype)
        self.shape = _norm_shape(shape)
        self.ndim = len(self.shape)
        if type(self) is TensorType:
            try:
                key = (dtype, shape)
                hash(key)
            except TypeError:
                return
            if len(_INTERNED) >= _MAX_INTERNED:
                _INTERNED.clear()
            _INTERNED[key] = self

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.dtype == other.dtype
            and self.shape == other.shape
        )

    def __hash__(self) -> int:
        return hash((type(self), self.dtype, self.shape))

    def __repr__(self) -> str:
        return f"TensorType({self.dtype}, shape={shape_str(self.shape)})"

    def short_str(self) -> str:
        return f"{self.dtype}{shape_str(self.shape)}"

    def clone(self, dtype=None, shape=None) -> TensorType:
        return TensorType(
            self.dtype if dtype is None else dtype,
            self.shape if shape is None else shape,
        )

    def is_compatible(self, other: Type) -> bool:
        """Whether a variable of ``other`` may stand in for one of this type.

        Same dtype and ndim, and every dim this type knows statically is the
        same in ``other`` (or unknown there).
        """
        if not isinstance(other, TensorType):
            return False
        if other.dtype != self.dtype or other.ndim != self.ndim:
            return False
        return all(
            a is None or b is None or a == b for a, b in zip(self.shape, other.shape)
        )

    def filter(self, value: Any, name: str | None = None, strict: bool = False):
        """Convert ``value`` to an ndarray of this type or raise a clear error."""
        label = f"input {name!r}" if name else "value"
        arr = np.asarray(value)
        if arr.dtype != self.numpy_dtype:
            if strict or not _can_cast(arr, self.numpy_dtype):
                raise TypeError(
                    f"{label}: cannot cast array of dtype {arr.dtype} to {self.dtype}"
                )
            cast = arr.astype(self.numpy_dtype)
            if not np.can_cast(arr.dtype, self.numpy_dtype, casting="safe") and (
                arr.dtype.kind in "iu" and self.numpy_dtype.kind in "iu"
            ):
                # an integer downcast would wrap around silently: refuse it
                # unless every value fits
                if not np.array_equal(cast, arr):
                    raise TypeError(
                        f"{label}: cannot cast array of dtype {arr.dtype} to "
                        f"{self.dtype}: values out of range"
                    )
            arr = cast
        if arr.ndim != self.ndim:
            raise ValueError(
                f"{label}: expected {self.ndim} dimensions of shape "
                f"{shape_str(self.shape)}, got an array of shape {arr.shape}"
            )
        for s, a in zip(self.shape, arr.shape):
            if s is not None and s != a:
                raise ValueError(
                    f"{label}: expected shape {shape_str(self.shape)}, "
                    f"got an array of shape {arr.shape}"
                )
        return arr


def _can_cast(arr: np.ndarray, dtype: np.dtype) -> bool:
    # same kind or a safe upgrade (int into float); float into int is refused.
    # Integers into another signedness (e.g. a Python list into uint8) are
    # allowed here; filter then checks that the values fit.
    if np.can_cast(arr.dtype, dtype, casting="same_kind"):
        return True
    return arr.dtype.kind in "iu" and dtype.kind in "iu"
