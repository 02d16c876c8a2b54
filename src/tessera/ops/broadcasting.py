"""Static broadcasting rules shared by elementwise ops and Blockwise."""

from __future__ import annotations

from collections.abc import Sequence

from tessera.ops.type import shape_str


def broadcast_static_shapes(
    shapes: Sequence[tuple[int | None, ...]], op_name: str
) -> tuple[int | None, ...]:
    """Broadcast static shapes with NumPy rules, ``None`` meaning unknown.

    A dim is 1 only if every input has 1 there; it is known if any input
    knows a size other than 1; two different known sizes other than 1 are an
    error naming the op and the shapes.

    Examples
    --------
    >>> broadcast_static_shapes([(2, 1, 4), (5, 4)], "add")
    (2, 5, 4)
    >>> broadcast_static_shapes([(None,), (3,)], "add")
    (3,)
    """
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    out: list[int | None] = []
    for axis, dims in enumerate(zip(*padded)):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(
                f"{op_name}: shapes "
                + " and ".join(shape_str(s) for s in shapes)
                + f" cannot be broadcast together (dim {axis - ndim}: "
                + " vs ".join(str(d) for d in sorted(known))
                + ")"
            )
        if known:
            out.append(known.pop())
        elif all(d == 1 for d in dims):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)
