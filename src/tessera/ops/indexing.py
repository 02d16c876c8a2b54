"""The structure of a NumPy-style index, and the shape it selects.

An index is stored in two parts. Its static structure (ints, slices, ``None``,
``Ellipsis``) is an ``idx_list`` tuple, the prop of the indexing ops in
:mod:`tessera.ops.subtensor` and :mod:`tessera.ops.advanced_subtensor`; every
symbolic entry (a scalar index, a slice bound, an index array or a boolean
mask) is a :data:`SYM` placeholder there and an extra input of the node, in
order. This module parses Python indices into that form and infers the
static and symbolic shapes of ``x[idx]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.ops.basic import as_tensor, constant
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.static import get_static_value
from tessera.ops.type import shape_str

# --- the static index structure ------------------------------------------


@dataclass(frozen=True)
class Sym:
    """Placeholder in ``idx_list`` for the next symbolic index input.

    Examples
    --------
    >>> SYM, Slice(1, SYM, -1)
    (?, 1:?:-1)
    """

    def __repr__(self) -> str:
        return "?"


SYM = Sym()


@dataclass(frozen=True)
class Slice:
    """A hashable slice whose fields are ``None``, ints or :data:`SYM`.

    (Python's own slices are unhashable before 3.12, and ops are hashed.)

    Examples
    --------
    >>> Slice(None, None, -1)
    ::-1
    """

    start: Any = None
    stop: Any = None
    step: Any = None

    def __repr__(self) -> str:
        text = ["" if f is None else repr(f) for f in (self.start, self.stop)]
        if self.step is not None:
            text.append(repr(self.step))
        return ":".join(text)


FULL = Slice()


def format_idx(idx_list: Sequence) -> str:
    """``idx_list`` as it would be written in Python.

    Examples
    --------
    >>> format_idx((0, Slice(1, SYM, -1), None, Ellipsis))
    '0, 1:?:-1, None, ...'
    """
    return ", ".join("..." if e is Ellipsis else repr(e) for e in idx_list)


def _scalar_int(value, what: str):
    """A scalar index as an int, or a symbolic 0-d integer variable."""
    if isinstance(value, Variable):
        if value.ndim != 0 or value.type.numpy_dtype.kind not in "iu":
            raise TypeError(
                f"{what} must be a scalar integer, got {value} ({value.type})"
            )
        static = get_static_value(value)
        return value if static is None else int(static)
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{what} must be an integer, got the boolean {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    arr = np.asarray(value) if isinstance(value, np.ndarray) else None
    if arr is not None and arr.ndim == 0 and arr.dtype.kind in "iu":
        return int(arr)
    raise TypeError(
        f"{what} must be an integer, None or a scalar int tensor, got {value!r}"
    )


_VALID = (
    "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean "
    "arrays are valid indices"
)


def _index_entry(item):
    """One non-slice index entry as an int or a tensor variable."""
    if isinstance(item, bool | np.bool_):
        raise TypeError(
            f"indexing with the boolean scalar {item!r} is not supported; "
            "use a boolean array"
        )
    if isinstance(item, int | np.integer):
        return int(item)
    if isinstance(item, list | tuple) and not any(
        isinstance(v, Variable) for v in _flat(item)
    ):
        item = np.asarray(item)
        if item.size == 0 and item.dtype.kind == "f":
            item = item.astype(np.int64)  # [] is an empty integer index in NumPy
    if isinstance(item, np.ndarray):
        if item.dtype.kind == "b" and item.ndim == 0:
            return _index_entry(bool(item))
        if item.dtype.kind not in "biu":
            raise IndexError(f"{_VALID}; got an array of dtype {item.dtype}")
        if item.ndim == 0:
            return int(item)
        return constant(item)
    if isinstance(item, list | tuple):
        item = as_tensor(item)
    if not isinstance(item, Variable):
        raise IndexError(f"{_VALID}; got {item!r}")
    item = as_tensor(item)
    kind = item.type.numpy_dtype.kind
    if kind == "b" and item.ndim == 0:
        raise TypeError(
            f"indexing with the boolean scalar {item} is not supported; "
            "use a boolean array"
        )
    if kind not in "biu":
        raise IndexError(f"{_VALID}; got {item} of dtype {item.dtype}")
    if item.ndim == 0:
        return _scalar_int(item, "index")
    return item


def _flat(seq):
    for v in seq:
        if isinstance(v, list | tuple):
            yield from _flat(v)
        else:
            yield v


def parse_index(idx) -> tuple[tuple, list[Variable]]:
    """Split a Python index into its static ``idx_list`` and symbolic inputs.

    Examples
    --------
    >>> import tessera as ts
    >>> n = ts.scalar("n", dtype="int64")
    >>> idx_list, inputs = parse_index((0, slice(None, n, -1), None, ...))
    >>> format_idx(idx_list), inputs
    ('0, :?:-1, None, ...', [n])
    """
    if not isinstance(idx, tuple):
        idx = (idx,)
    idx_list: list = []
    inputs: list[Variable] = []
    for item in idx:
        if item is None or item is Ellipsis:
            idx_list.append(item)
        elif isinstance(item, slice):
            fields = []
            for f in (item.start, item.stop, item.step):
                v = None if f is None else _scalar_int(f, "a slice bound")
                if isinstance(v, Variable):
                    inputs.append(v)
                    v = SYM
                fields.append(v)
            if fields[2] == 0:
                raise ValueError("slice step cannot be zero")
            idx_list.append(Slice(*fields))
        else:
            v = _index_entry(item)
            if isinstance(v, Variable):
                inputs.append(v)
                v = SYM
            idx_list.append(v)
    if sum(e is Ellipsis for e in idx_list) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    return tuple(idx_list), inputs


def numpy_index(idx_list: Sequence, values: Sequence) -> tuple:
    """The NumPy index for ``idx_list`` with :data:`SYM` entries from ``values``.

    Examples
    --------
    >>> numpy_index((SYM, Slice(None, SYM)), [2, 5])
    (2, slice(None, 5, None))
    """
    it = iter(values)
    out = []
    for e in idx_list:
        if isinstance(e, Sym):
            out.append(next(it))
        elif isinstance(e, Slice):
            out.append(
                slice(
                    *(
                        next(it) if isinstance(f, Sym) else f
                        for f in (e.start, e.stop, e.step)
                    )
                )
            )
        else:
            out.append(e)
    return tuple(out)


# --- index layout and output shapes --------------------------------------


def index_items(
    idx_list: Sequence, idx_inputs: Sequence, ndim: int, x_shape=None
) -> tuple[list, int | None]:
    """Lay an index out over the dims of a tensor with ``ndim`` dims.

    Returns ``(items, adv_pos)``. ``items`` lists ``(kind, payload, axis)``
    with ``Ellipsis`` and the implicit trailing slices expanded; ``kind`` is
    ``"new"``, ``"int"``, ``"slice"`` (payload: ``(start, stop, step)``),
    ``"array"`` or ``"mask"``, ``axis`` the first dim of ``x`` it consumes.
    ``adv_pos`` is ``None`` for basic indexing, otherwise the output position
    of the broadcast advanced-index dims (NumPy's rule: where the first
    advanced index is when all advanced indices are adjacent, else first).

    Examples
    --------
    >>> import tessera as ts
    >>> items, adv_pos = index_items((Ellipsis, SYM), [ts.constant([0, 1])], 3)
    >>> [(kind, axis) for kind, _, axis in items], adv_pos
    ([('slice', 0), ('slice', 1), ('array', 2)], 2)
    """
    it = iter(idx_inputs)
    entries = []
    for e in idx_list:
        if isinstance(e, Slice):
            bounds = tuple(
                next(it) if isinstance(f, Sym) else f for f in (e.start, e.stop, e.step)
            )
            entries.append(("slice", bounds))
        elif isinstance(e, Sym):
            v = next(it)
            if v.ndim == 0:
                entries.append(("int", v))
            else:
                entries.append(("mask" if v.dtype == "bool" else "array", v))
        elif e is None:
            entries.append(("new", None))
        elif e is Ellipsis:
            entries.append(("ellipsis", None))
        else:
            entries.append(("int", e))
    used = sum(
        p.ndim if k == "mask" else k in ("int", "slice", "array") for k, p in entries
    )
    if used > ndim:
        where = "" if x_shape is None else f" of shape {shape_str(x_shape)}"
        raise IndexError(
            f"too many indices for tensor{where}: it has {ndim} dims but "
            f"{used} were indexed"
        )
    advanced = any(k in ("array", "mask") for k, _ in entries)
    items, axis, adv_pos = [], 0, None
    for pos, (kind, p) in enumerate(entries):
        if kind == "ellipsis":
            for _ in range(ndim - used):
                items.append(("slice", (None, None, None), axis))
                axis += 1
            continue
        if advanced and kind in ("int", "array", "mask") and adv_pos is None:
            adv_pos = sum(1 for k, _, _ in items if k in ("new", "slice"))
            first = pos
        items.append((kind, p, None if kind == "new" else axis))
        axis += p.ndim if kind == "mask" else (kind != "new")
    while axis < ndim:
        items.append(("slice", (None, None, None), axis))
        axis += 1
    if advanced:
        adv = [
            k for k, (kind, _) in enumerate(entries) if kind in ("int", "array", "mask")
        ]
        if adv != list(range(first, first + len(adv))):
            adv_pos = 0
    return items, adv_pos


def _static_int(v):
    if v is None or isinstance(v, int):
        return v
    s = get_static_value(v)
    return None if s is None else int(s)


def out_of_bounds(i: int, axis: int, size: int, x_shape) -> IndexError:
    return IndexError(
        f"index {i} is out of bounds for axis {axis} with size {size} "
        f"(indexing a tensor of shape {shape_str(x_shape)})"
    )


def indexed_static_shape(
    x: Variable, idx_list: Sequence, idx_inputs: Sequence
) -> tuple:
    """Static shape of ``x[idx]``; raises IndexError for bad constant indices.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(5, None))
    >>> indexed_static_shape(x, (Slice(1, 3), None, 0), [])
    (2, 1)
    """
    shp = x.type.shape
    items, adv_pos = index_items(idx_list, idx_inputs, x.ndim, shp)
    out, adv_shapes = [], []
    pending = None  # NumPy skips bounds checks when the selection is empty
    for kind, p, axis in items:
        if kind == "new":
            out.append(1)
        elif kind == "slice":
            out.append(_static_slice_length(p, shp[axis]))
        elif kind == "int":
            _check_static_int(p, axis, shp)
            if adv_pos is not None:
                adv_shapes.append(())
        elif kind == "array":
            pending = pending or _static_array_out_of_bounds(p, axis, shp)
            adv_shapes.append(p.type.shape)
        else:
            adv_shapes.append(_static_mask_shape(p, axis, shp))
    if adv_pos is not None:
        block = _advanced_block_shape(adv_shapes)
        out[adv_pos:adv_pos] = block
        if pending is not None and 0 not in block:
            raise pending
    return tuple(out)


def _static_slice_length(bounds_in, n) -> int | None:
    bounds = [_static_int(b) for b in bounds_in]
    known = all(b is not None or raw is None for b, raw in zip(bounds, bounds_in))
    if known and bounds[2] == 0:
        raise ValueError("slice step cannot be zero")
    if known and n is not None:
        return len(range(*slice(*bounds).indices(n)))
    return None


def _check_static_int(p, axis: int, shp: tuple) -> None:
    i, n = _static_int(p), shp[axis]
    if i is not None and n is not None and not -n <= i < n:
        raise out_of_bounds(i, axis, n, shp)


def _static_array_out_of_bounds(p, axis: int, shp: tuple) -> IndexError | None:
    """The error for a constant index array out of bounds (raised later: NumPy
    does not check bounds when the selection is empty)."""
    n, val = shp[axis], get_static_value(p)
    if n is not None and val is not None and val.size:
        bad = val[(val < -n) | (val >= n)]
        if bad.size:
            return out_of_bounds(int(bad.ravel()[0]), axis, n, shp)
    return None


def _static_mask_shape(p, axis: int, shp: tuple) -> tuple:
    dims = shp[axis : axis + p.ndim]
    # NumPy accepts an empty mask against any dims (it selects nothing)
    empty = 0 in p.type.shape
    for d, (m, s) in enumerate(zip(p.type.shape, dims)):
        if not empty and m is not None and s is not None and m != s:
            raise IndexError(
                f"boolean index of shape {shape_str(p.type.shape)} does not "
                f"match dims {axis}..{axis + p.ndim - 1} of the indexed tensor "
                f"of shape {shape_str(shp)} (dim {axis + d}: {m} vs {s})"
            )
    val = get_static_value(p)
    return (None if val is None else int(np.count_nonzero(val)),)


def _advanced_block_shape(adv_shapes: list) -> tuple:
    try:
        return broadcast_static_shapes(adv_shapes, "indexing")
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing arrays could not be broadcast together "
            "with shapes " + ", ".join(shape_str(s) for s in adv_shapes)
        ) from None


def _i64(v):
    from tessera.ops.math import cast

    return cast(as_tensor(v), "int64")


def slice_length(start, stop, step, n) -> int | Variable:
    """Length of ``range(n)[start:stop:step]``; symbolic if any argument is.

    Examples
    --------
    >>> slice_length(1, None, -2, 6)
    1
    """
    if all(v is None or isinstance(v, int) for v in (start, stop, step, n)):
        return len(range(*slice(start, stop, step).indices(n)))
    if start is None and stop is None and step in (None, 1, -1):
        return n
    from tessera.ops.math import clip, floor_div, gt, lt, maximum, switch

    n = _i64(n)

    def norm(v, default, lo, hi):
        if v is None:
            return default
        if isinstance(v, int):
            return clip(v + n if v < 0 else v, lo, hi)
        v = _i64(v)
        return clip(switch(lt(v, 0), v + n, v), lo, hi)

    def length(step, positive: bool):
        if positive:
            a, b = norm(start, 0, 0, n), norm(stop, n, 0, n)
            if isinstance(step, int) and step == 1:
                return maximum(b - a, 0)
            return maximum(floor_div(b - a + step - 1, step), 0)
        a = norm(start, n - 1, -1, n - 1)
        b = -1 if stop is None else norm(stop, None, -1, n - 1)
        return maximum(floor_div(a - b - step - 1, -step), 0)

    if step is None or isinstance(step, int):
        step = 1 if step is None else step
        return length(step, step > 0)
    step = _i64(step)
    return switch(gt(step, 0), length(step, True), length(step, False))


def broadcast_dims(dims: Sequence) -> int | Variable:
    """NumPy broadcast of one dim across arrays (ints or scalar variables).

    Examples
    --------
    >>> broadcast_dims([1, 3, 1])
    3
    """
    from tessera.ops.math import eq, switch

    static = [d for d in dims if isinstance(d, int)]
    if any(d != 1 for d in static):
        return next(d for d in static if d != 1)
    sym = [d for d in dims if not isinstance(d, int)]
    if not sym:
        return 1
    out = sym[0]
    for d in sym[1:]:
        out = switch(eq(out, 1), d, out)
    return out


def indexed_symbolic_shape(
    node: Apply, x_shape: Sequence, idx_inputs: Sequence, idx_shapes
):
    """Symbolic shape of the output of a getitem ``node`` (its ``infer_shape``).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None, 3))
    >>> node = x[np.array([True, False, True]), None].owner
    >>> shape = indexed_symbolic_shape(node, (x.shape[0], 3), node.inputs[1:], [(3,)])
    >>> shape
    (2, 1, 3)
    """
    x = node.inputs[0]
    items, adv_pos = index_items(node.op.idx_list, idx_inputs, x.ndim)
    shapes = dict(zip(idx_inputs, idx_shapes))
    out, adv_shapes = [], []
    for kind, p, axis in items:
        if kind == "new":
            out.append(1)
        elif kind == "slice":
            out.append(slice_length(*p, x_shape[axis]))
        elif kind == "int":
            if adv_pos is not None:
                adv_shapes.append(())
        elif kind == "array":
            adv_shapes.append(tuple(shapes[p]))
        else:
            static = get_static_value(p)
            if static is not None:
                adv_shapes.append((int(np.count_nonzero(static)),))
            else:
                adv_shapes.append((_i64(p).sum(),))
    if adv_pos is not None:
        nd = max(len(s) for s in adv_shapes)
        padded = [(1,) * (nd - len(s)) + tuple(s) for s in adv_shapes]
        out[adv_pos:adv_pos] = [broadcast_dims(d) for d in zip(*padded)]
    return tuple(out)
