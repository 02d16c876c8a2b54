"""A model's coords and dims: the dims it knows, their lengths and
coordinate values, and the checks of a variable's ``dims`` against them
(the :class:`Dims` part of :class:`~tessera.ppl.model.core.Model`).

Examples
--------
>>> from tessera import ppl
>>> m = ppl.Model(coords={"city": ["Paris", "Rome"]})
>>> m.dim_lengths
{'city': 2}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tessera.ops.type import shape_str


class Dims:
    """The coords and dims of a :class:`~tessera.ppl.model.core.Model`,
    which holds their state: ``_coords`` (values or None per dim),
    ``_dim_len`` (lengths), ``_dim_vars`` (symbolic lengths of data dims)
    and ``_fixed_dim_users`` (variables created with a dim's fixed length).

    Examples
    --------
    >>> from tessera import ppl
    >>> isinstance(ppl.Model(), Dims)
    True
    """

    @property
    def coords(self) -> dict[str, tuple | None]:
        """Coordinate values of each dim (None: a dim without labels)."""
        return dict(self._coords)

    @property
    def dim_lengths(self) -> dict[str, int]:
        """Current length of each dim."""
        return dict(self._dim_len)

    def add_coord(
        self, name: str, values: Sequence | None = None, *, length: int | None = None
    ) -> None:
        """Declare a dim with coordinate ``values`` (or only a ``length``).

        Raises
        ------
        ValueError
            If the dim exists, values are not 1-d or repeat, or disagree with
            ``length``.

        Examples
        --------
        >>> from tessera import ppl
        >>> m = ppl.Model()
        >>> m.add_coord("city", ["Paris", "Rome"])
        >>> m.coords["city"]
        ('Paris', 'Rome')
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a dim name must be a non-empty str, got {name!r}")
        if name in self._coords:
            raise ValueError(f"duplicate dim {name!r}: it is already in the coords")
        vals = _coord_values(name, values)
        if vals is not None and length is not None and len(vals) != length:
            raise ValueError(
                f"dim {name!r}: {len(vals)} coordinate values but length={length}"
            )
        self._coords[name] = vals
        self._dim_len[name] = len(vals) if vals is not None else length
        self._invalidate()

    def add_coords(self, coords: Mapping[str, Any]) -> None:
        """:meth:`add_coord` for each entry of ``coords``."""
        if not isinstance(coords, Mapping):
            raise TypeError(f"coords must be a dict, got {type(coords).__name__}")
        for k, v in coords.items():
            self.add_coord(k, v)

    def _check_dims(self, name: str, dims: Any) -> tuple[str, ...] | None:
        if dims is None:
            return None
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        for d in dims:
            if not isinstance(d, str):
                raise TypeError(f"variable {name!r}: dims must be str, got {d!r}")
            if d not in self._coords:
                raise ValueError(
                    f"variable {name!r}: unknown dim {d!r}; known dims are "
                    f"{list(self._coords)} (add it with Model(coords=...) or "
                    "declare it with ppl.Data)"
                )
            if self._dim_len[d] is None:
                raise ValueError(
                    f"variable {name!r}: dim {d!r} has no length yet (declare a "
                    "ppl.Data with it first, or give its coords)"
                )
        if len(set(dims)) != len(dims):
            raise ValueError(f"variable {name!r}: repeated dim in dims={dims}")
        return dims

    def _dims_shape(self, name: str, dims: tuple[str, ...]) -> tuple:
        """The shape given by ``dims``: ints, or symbolic lengths of data dims."""
        out = []
        for d in dims:
            if d in self._dim_vars:
                out.append(self._dim_vars[d])
            else:
                out.append(self._dim_len[d])
                self._fixed_dim_users.setdefault(d, []).append(name)
        return tuple(out)

    def _check_shape_vs_dims(self, name, dims, static_shape, what="shape") -> None:
        want = tuple(self._dim_len[d] for d in dims)
        got = tuple(static_shape)
        if len(got) != len(want) or any(
            g is not None and g != w for g, w in zip(got, want)
        ):
            raise ValueError(
                f"variable {name!r}: dims {dims} have shape {shape_str(want)} but "
                f"its {what} is {shape_str(got)}"
            )


def _coord_values(name: str, values: Any) -> tuple | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise TypeError(f"dim {name!r}: coordinate values must be a sequence, not str")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"dim {name!r}: coordinate values must be 1-d, got shape {arr.shape}"
        )
    vals = tuple(arr.tolist())
    if len(set(vals)) != len(vals):
        raise ValueError(f"dim {name!r}: repeated coordinate values {vals}")
    return vals
