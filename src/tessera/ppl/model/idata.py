"""ArviZ ``InferenceData`` from sample arrays, with the model's coords and dims.

Every inference routine (prior/posterior predictive, NUTS, ADVI, ...)
builds its result with :func:`to_inference_data` (groups from dicts of
arrays of shape ``(chain, draw, *var_shape)``) or, for flat unconstrained
draws, :func:`posterior_from_flat`. A variable's axes after the sample
axes take the model's dims (``model.named_vars_to_dims``) or the names
``<var>_dim_<k>`` with integer coordinates.

ArviZ is imported when a result is built, not with ``tessera.ppl``.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tessera.ppl.model.core import Model

SAMPLE_DIMS = ("chain", "draw")


def _arviz():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz

    return arviz


def model_coords(model: Model) -> dict[str, np.ndarray]:
    """Current coordinate values of every dim (``arange`` for unlabelled ones).

    Examples
    --------
    >>> from tessera import ppl
    >>> model_coords(ppl.Model(coords={"g": ["a", "b"]}))["g"]
    array(['a', 'b'], dtype='<U1')
    """
    out = {}
    for d, vals in model.coords.items():
        n = model.dim_lengths[d]
        out[d] = np.asarray(vals) if vals is not None else np.arange(n)
    return out


def dict_to_dataset(
    data: Mapping[str, Any],
    model: Model | None = None,
    *,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, Sequence[str]] | None = None,
    sample_dims: Sequence[str] = SAMPLE_DIMS,
    attrs: Mapping[str, Any] | None = None,
):
    """An ``xarray.Dataset`` from arrays of shape ``(*sample_dims, ...)``.

    Parameters
    ----------
    data : dict of str to array_like
    model : Model, optional
        Gives dims and coords of its variables (``dims``/``coords`` win).
    coords : dict, optional
        Coordinate values of dims (extra to the model's).
    dims : dict of str to list of str, optional
        Dims of a variable's non-sample axes.
    sample_dims : tuple of str
        Leading axes of every array (``()`` for observed/constant data).
    attrs : dict, optional

    Raises
    ------
    ValueError
        If a variable's dims do not match its number of axes, or a dim's
        coordinate values do not match the array's length along it (naming
        the variable, the dim and both lengths).

    Examples
    --------
    >>> import numpy as np
    >>> ds = dict_to_dataset({"x": np.zeros((2, 3, 4))}, dims={"x": ["k"]})
    >>> dict(ds["x"].sizes)
    {'chain': 2, 'draw': 3, 'k': 4}
    """
    import xarray as xr

    all_coords: dict[str, Any] = dict(model_coords(model)) if model else {}
    all_coords.update({k: np.asarray(v) for k, v in (coords or {}).items()})
    model_dims = dict(model.named_vars_to_dims) if model else {}
    model_dims.update({k: tuple(v) for k, v in (dims or {}).items()})
    sample_dims = tuple(sample_dims)
    variables, used = {}, {}
    for name, value in data.items():
        arr = np.asarray(value)
        if arr.ndim < len(sample_dims):
            raise ValueError(
                f"{name!r}: expected leading sample dims {sample_dims}, got shape "
                f"{arr.shape}"
            )
        extra = arr.ndim - len(sample_dims)
        vdims = model_dims.get(name)
        if vdims is None:
            vdims = tuple(f"{name}_dim_{k}" for k in range(extra))
        elif len(vdims) != extra:
            raise ValueError(
                f"{name!r}: dims {tuple(vdims)} name {len(vdims)} axes but the "
                f"values have shape {arr.shape[len(sample_dims) :]} after "
                f"{sample_dims}"
            )
        full = sample_dims + tuple(vdims)
        for axis, d in enumerate(full):
            n = arr.shape[axis]
            c = all_coords.get(d)
            if c is None:
                c = used.get(d, np.arange(n))
            if len(c) != n:
                raise ValueError(
                    f"{name!r}: dim {d!r} has {len(c)} coordinates but the values "
                    f"have length {n} along it (shape {arr.shape})"
                )
            used[d] = c
        variables[name] = (full, arr)
    return xr.Dataset(variables, coords=used, attrs=_attrs(attrs))


def _attrs(attrs: Mapping[str, Any] | None) -> dict:
    import tessera

    out = {
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(),
        "inference_library": "tessera",
        "inference_library_version": tessera.__version__,
    }
    out.update(attrs or {})
    return out


def observed_data_dict(model: Model) -> dict[str, np.ndarray]:
    """The current data of each observed RV.

    Data that no longer fits the variable's dims (a constant array whose
    dims were resized by ``set_data``) and expressions of data (minibatches)
    are left out.
    """
    out = {}
    for rv in model.observed_RVs:
        v = model.rvs_to_values[rv]
        if hasattr(v, "get_value"):
            arr = np.asarray(v.get_value())
        elif hasattr(v, "data"):
            arr = np.asarray(v.data)
        else:  # an expression of data (a minibatch): no fixed value to record
            continue
        dims = model.named_vars_to_dims.get(rv.name)
        if dims is not None and arr.shape != tuple(model.dim_lengths[d] for d in dims):
            continue
        out[rv.name] = arr
    return out


def constant_data_dict(model: Model) -> dict[str, np.ndarray]:
    """The current value of each Data variable that is not observed data."""
    used = set(model._observed_data)
    return {v.name: v.get_value() for v in model.data_vars if v.name not in used}


_SAMPLE_GROUPS = (
    "posterior",
    "posterior_predictive",
    "predictions",
    "log_likelihood",
    "sample_stats",
    "prior",
    "prior_predictive",
    "sample_stats_prior",
    "warmup_posterior",
    "warmup_sample_stats",
    "predictions_constant_data",
)


def to_inference_data(
    model: Model | None = None,
    *,
    observed_data: bool | Mapping[str, Any] = True,
    constant_data: bool | Mapping[str, Any] = True,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, Sequence[str]] | None = None,
    attrs: Mapping[str, Any] | None = None,
    **groups: Any,
):
    """An ``arviz.InferenceData`` from dicts of arrays.

    Parameters
    ----------
    model : Model, optional
        Gives dims, coords, observed and constant data.
    observed_data, constant_data : bool or dict
        True: from the model (if it has any); False: omit; a dict: as given.
    coords, dims, attrs : optional
        See :func:`dict_to_dataset`.
    **groups : dict of str to array, or xarray.Dataset
        Sample groups (``posterior``, ``sample_stats``, ``prior``,
        ``prior_predictive``, ``posterior_predictive``, ``log_likelihood``,
        ``predictions``, ``warmup_posterior``, ``warmup_sample_stats``,
        ``sample_stats_prior``), arrays of shape ``(chain, draw, ...)``.
        Sample statistics take no model dims.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"g": ["a", "b"]}) as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, dims="g")
    >>> idata = to_inference_data(m, posterior={"x": np.zeros((4, 10, 2))},
    ...                           sample_stats={"diverging": np.zeros((4, 10), bool)})
    >>> idata.posterior["x"].dims, list(idata.groups())
    (('chain', 'draw', 'g'), ['posterior', 'sample_stats'])
    """
    az = _arviz()
    out: dict[str, Any] = {}
    for group, data in groups.items():
        if group not in _SAMPLE_GROUPS:
            raise ValueError(f"unknown group {group!r}; groups: {_SAMPLE_GROUPS}")
        if data is None:
            continue
        if hasattr(data, "data_vars"):
            out[group] = data
            continue
        stats = group in ("sample_stats", "warmup_sample_stats", "sample_stats_prior")
        out[group] = dict_to_dataset(
            data,
            None if stats else model,
            coords=coords,
            dims=None if stats else dims,
            sample_dims=() if group == "predictions_constant_data" else SAMPLE_DIMS,
            attrs=attrs,
        )
    for group, value, default in (
        ("observed_data", observed_data, observed_data_dict),
        ("constant_data", constant_data, constant_data_dict),
    ):
        if value is False or (value is True and model is None):
            continue
        data = default(model) if value is True else value
        if data:
            out[group] = dict_to_dataset(
                data, model, coords=coords, dims=dims, sample_dims=(), attrs=attrs
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return az.InferenceData(**out)


def posterior_from_flat(
    model: Model,
    samples: np.ndarray,
    sample_stats: Mapping[str, Any] | None = None,
    warmup_samples: np.ndarray | None = None,
    warmup_sample_stats: Mapping[str, Any] | None = None,
    **kwargs: Any,
):
    """InferenceData from flat unconstrained draws of shape ``(chain, draw, n)``.

    The draws (vectors in the model's flat layout, see
    :class:`~tessera.ppl.model.flat.FlatLayout`) are mapped to the free
    RVs on their constrained space and the deterministics in one vectorized
    call (:class:`~tessera.ppl.model.flat.ConstrainedDraws`).

    Parameters
    ----------
    model : Model
    samples : ndarray, shape (chain, draw, n)
    sample_stats : dict of str to array (chain, draw, ...), optional
    warmup_samples, warmup_sample_stats : optional
        The same for tuning draws (groups ``warmup_posterior`` and
        ``warmup_sample_stats``).
    **kwargs
        Passed to :func:`to_inference_data` (other groups, attrs, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0, shape=2)
    >>> idata = posterior_from_flat(m, np.zeros((2, 5, 2)))
    >>> float(idata.posterior["s"].mean())
    1.0
    """
    samples = np.asarray(samples)
    if samples.ndim != 3:
        raise ValueError(
            f"expected flat draws of shape (chain, draw, n), got {samples.shape}"
        )
    to_values = model.compile_constrained_draws()
    posterior = to_values(samples)
    warm = to_values(np.asarray(warmup_samples)) if warmup_samples is not None else None
    return to_inference_data(
        model,
        posterior=posterior,
        sample_stats=sample_stats,
        warmup_posterior=warm,
        warmup_sample_stats=warmup_sample_stats,
        **kwargs,
    )
