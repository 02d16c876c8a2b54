"""Model-level variables that are not random: Data, Deterministic, Potential.

``Data`` is a shared variable: compiled functions read its current value, so
:func:`set_data` changes their results without recompiling (predictions on
new inputs). Dims declared by a ``Data`` variable follow its shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ppl.model.context import modelcontext
from tessera.ppl.model.core import Model
from tessera.ppl.model.dims import _coord_values
from tessera.ppl.model.values import _data_array, check_no_nan
from tessera.ppl.options import check_keywords


def Data(
    name: str,
    value: Any,
    dims: str | Sequence[str] | None = None,
    coords: Mapping[str, Any] | None = None,
    infer_dims_and_coords: bool = False,
    model: Model | None = None,
    **kwargs: Any,
) -> Variable:
    """Register data (a shared variable) in the model, replaceable with
    :func:`set_data`.

    Parameters
    ----------
    name : str
    value : array_like, pandas Series/DataFrame or xarray DataArray
        Floats are stored as ``config.floatX``, integers as int64.
    dims : str or tuple of str, optional
        One name per axis. An unknown dim is declared by the data (its
        length follows the data); a known one must have the data's length.
    coords : dict, optional
        Coordinate values of (some of) ``dims``, declared on the model
        first, as in PyMC.
    infer_dims_and_coords : bool
        Take ``dims`` and ``coords`` from a pandas or xarray ``value``
        (index and column names and values; unnamed axes become
        ``{name}_dim_{k}``).
    model : Model, optional
        Default: the active model.
    **kwargs
        PyMC's ``mutable`` is accepted with a warning (every ``ppl.Data``
        can be changed with :func:`set_data`); any other keyword raises
        ``TypeError``.

    Returns
    -------
    SharedVariable
        With every static dim unknown, so its shape may change.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Data("x", np.arange(3.0), dims="obs")
    ...     z = ppl.Data("z", np.zeros(2), dims="g", coords={"g": ["a", "b"]})
    >>> m.dim_lengths["obs"], x.get_value(), m.coords["g"]
    (3, array([0., 1., 2.]), ('a', 'b'))
    """
    if "mutable" in kwargs:
        import warnings

        kwargs.pop("mutable")
        warnings.warn(
            f"ppl.Data({name!r}): `mutable` has no effect; every ppl.Data can be "
            "changed with ppl.set_data",
            UserWarning,
            stacklevel=2,
        )
    check_keywords("ppl.Data", kwargs, Data)
    model = modelcontext(model)
    if infer_dims_and_coords:
        value, inferred_dims, inferred_coords = _labelled(name, value)
        dims = inferred_dims if dims is None else dims
        coords = {**inferred_coords, **(coords or {})}
    for dim, values in (coords or {}).items():
        if dim not in model.coords or model.coords[dim] is None:
            model.add_coord(dim, values)
    return model.register_data(name, value, dims=dims)


def _labelled(name: str, value: Any) -> tuple[Any, tuple[str, ...], dict]:
    """``(array, dims, coords)`` of a pandas or xarray object."""
    if hasattr(value, "dims") and hasattr(value, "coords"):  # xarray
        dims = tuple(str(d) for d in value.dims)
        coords = {d: value.coords[d].values for d in value.dims if d in value.coords}
        return value.values, dims, coords
    axes = []
    if hasattr(value, "index"):  # pandas
        axes.append(value.index)
        if hasattr(value, "columns"):
            axes.append(value.columns)
    if not axes:
        raise TypeError(
            f"ppl.Data({name!r}): infer_dims_and_coords needs a pandas or xarray "
            f"value, got {type(value).__name__}"
        )
    dims = tuple(
        str(ax.name) if ax.name is not None else f"{name}_dim_{k}"
        for k, ax in enumerate(axes)
    )
    coords = {d: list(ax) for d, ax in zip(dims, axes)}
    return value.to_numpy(), dims, coords


def Deterministic(
    name: str, var: Any, dims: str | Sequence[str] | None = None, model=None
) -> Variable:
    """Register a function of the model's variables, recorded in results.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    ...     v = ppl.Deterministic("v", s**2)
    >>> m.deterministics == [v]
    True
    """
    return modelcontext(model).register_deterministic(name, var, dims=dims)


def Potential(
    name: str, var: Any, dims: str | Sequence[str] | None = None, model=None
) -> Variable:
    """Add ``var`` (summed) to the model's log-density.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0)
    ...     _ = ppl.Potential("shrink", -(x**2))
    >>> len(m.potentials)
    1
    """
    return modelcontext(model).register_potential(name, var, dims=dims)


def set_data(
    new_data: Mapping[str, Any],
    model: Model | None = None,
    coords: Mapping[str, Any] | None = None,
) -> None:
    """Replace the values of :func:`Data` variables.

    Dims declared by the data take the new lengths; give new coordinate
    values in ``coords`` for a labelled dim whose length changes. Compiled
    functions see the new values at their next call (a flat log-density
    whose free variables change size must be rebuilt).

    Raises
    ------
    ValueError
        Unknown name, a different number of dims, NaN (in observed data or
        not: the log-density would be NaN), data sharing a dim that disagree
        on its length, a labelled dim whose
        length changes without new coords, or a dim whose length is fixed in
        variables created before it was tied to data.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Data("x", np.zeros(3), dims="obs")
    >>> ppl.set_data({"x": np.ones(5)}, model=m)
    >>> m.dim_lengths["obs"]
    5
    """
    model = modelcontext(model)
    arrays = _checked_arrays(model, new_data)
    new_len: dict[str, tuple[int, str]] = {}
    for name, arr in arrays.items():
        for axis, d in enumerate(model.named_vars_to_dims.get(name, ())):
            n = arr.shape[axis]
            if d in new_len and new_len[d][0] != n:
                raise ValueError(
                    f"set_data: {new_len[d][1]!r} and {name!r} give dim {d!r} "
                    f"different lengths ({new_len[d][0]} and {n})"
                )
            new_len[d] = (n, name)
    coords = dict(coords or {})
    for d in coords:
        if d not in model._coords:
            raise ValueError(f"set_data: unknown dim {d!r} in coords")
    new_coords = {d: _coord_values(d, v) for d, v in coords.items()}
    for d, (n, src) in new_len.items():
        _check_dim_change(model, d, n, src, arrays, new_coords)
    for d, vals in new_coords.items():
        n = new_len[d][0] if d in new_len else model._dim_len[d]
        if vals is not None and len(vals) != n:
            raise ValueError(
                f"set_data: {len(vals)} coordinate values for dim {d!r}, whose "
                f"length is {n}"
            )
    for name, arr in arrays.items():
        model[name].set_value(arr)
    for d, (n, _) in new_len.items():
        model._dim_len[d] = n
    for d, vals in new_coords.items():
        model._coords[d] = vals
    model._invalidate()


def _checked_arrays(model: Model, new_data: Mapping[str, Any]) -> dict:
    if not isinstance(new_data, Mapping):
        raise TypeError(f"set_data: expected a dict, got {type(new_data).__name__}")
    arrays = {}
    for name, value in new_data.items():
        if name not in model.named_vars or model.kind(name) != "data":
            raise ValueError(
                f"set_data: {name!r} is not a Data variable of the model; Data "
                f"variables: {[v.name for v in model.data_vars]}"
            )
        var = model[name]
        arr = _data_array(name, value)
        if arr.dtype != var.dtype:
            if var.dtype.startswith("int") and not np.all(arr == np.round(arr)):
                raise ValueError(f"set_data: {name!r} holds integers, got {arr}")
            arr = arr.astype(var.dtype)
        if arr.ndim != var.ndim:
            old = var.get_value(borrow=True).shape
            raise ValueError(
                f"set_data: {name!r} has {var.ndim} dims (shape {old}), the new "
                f"value has shape {arr.shape}"
            )
        if name in model._observed_data:
            check_no_nan(model._observed_data[name], arr)
        elif arr.dtype.kind == "f" and np.isnan(arr).any():
            bad = np.isnan(arr)
            raise ValueError(
                f"set_data: Data {name!r} contains {int(bad.sum())} NaN values "
                f"(first at index {np.argwhere(bad)[:3].tolist()}); missing values "
                "are not supported"
            )
        arrays[name] = arr
    return arrays


def _check_dim_change(model, d, n, src, arrays, new_coords) -> None:
    for other in model.data_vars:
        dims = model.named_vars_to_dims.get(other.name, ())
        if other.name in arrays or d not in dims:
            continue
        m = other.get_value(borrow=True).shape[dims.index(d)]
        if m != n:
            raise ValueError(
                f"set_data: the new {src!r} gives dim {d!r} length {n}, but Data "
                f"{other.name!r} (not updated) has length {m} along it"
            )
    if n == model._dim_len[d]:
        return
    fixed = model._fixed_dim_users.get(d)
    if fixed:
        raise ValueError(
            f"set_data: dim {d!r} would change length from {model._dim_len[d]} to "
            f"{n}, but variables {fixed} were created with its fixed length "
            "(declare the Data before them)"
        )
    if model._coords[d] is not None and d not in new_coords:
        raise ValueError(
            f"set_data: dim {d!r} changes length from {model._dim_len[d]} to {n}; "
            f"pass its new coordinate values with coords={{{d!r}: ...}}"
        )
