"""``compute_deterministics``: a model's deterministics from posterior draws.

The deterministics are rebuilt as functions of one draw of the free
variables they depend on, vectorized over all ``chain * draw`` draws with
:func:`tessera.vectorize_graph` and computed in one compiled call (no Python
loop over draws).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Variable
from tessera.graph.traversal import ancestors, clone_replace
from tessera.ops.type import TensorType
from tessera.ppl.model.context import modelcontext
from tessera.ppl.model.core import Model

SAMPLE_DIMS = ("chain", "draw")


def _names(model: Model, var_names) -> list[str]:
    if var_names is None:
        return [v.name for v in model.deterministics]
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    for n in names:
        if n not in model.named_vars:
            raise ValueError(
                f"compute_deterministics: var_names has {n!r}, which is not a "
                f"variable of the model; its deterministics are "
                f"{[v.name for v in model.deterministics]}"
            )
        if model.kind(n) != "deterministic":
            raise ValueError(
                f"compute_deterministics: {n!r} is a {model.kind(n)} variable, not "
                "a deterministic"
            )
    return names


def _draws(dataset, name: str, rv: Variable) -> np.ndarray:
    arr = dataset[name].transpose(*SAMPLE_DIMS, ...).values
    if arr.ndim != rv.ndim + 2 or any(
        s is not None and s != a for s, a in zip(rv.type.shape, arr.shape[2:])
    ):
        raise ValueError(
            f"compute_deterministics: {name!r} in the dataset has shape "
            f"{arr.shape}; expected (chain, draw) + the variable's shape "
            f"{rv.type.shape}"
        )
    return arr


def compute_deterministics(
    dataset,
    *,
    var_names: Sequence[str] | None = None,
    model: Model | None = None,
    merge_dataset: bool = False,
    progressbar: bool = True,
):
    """Compute the model's deterministics at every draw of a posterior.

    Parameters
    ----------
    dataset : xarray.Dataset
        Draws of the free variables with dims ``("chain", "draw", ...)``
        (``idata.posterior``); it needs the free variables the requested
        deterministics depend on.
    var_names : list of str, optional
        Deterministics to compute (default: all of the model's).
    model : Model, optional
        Default: the active model.
    merge_dataset : bool
        Return ``dataset`` with the deterministics added (replacing
        variables of the same name) instead of a Dataset of them alone.
    progressbar : bool
        Accepted for compatibility; the computation is one vectorized call.

    Returns
    -------
    xarray.Dataset
        With the dataset's ``chain`` and ``draw`` coordinates and the
        model's dims and coords.

    Raises
    ------
    ValueError
        A name that is not a deterministic of the model, or a free variable
        it needs that the dataset lacks or holds with another shape.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> from tessera.ppl.model.idata import dict_to_dataset
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    ...     _ = ppl.Deterministic("s2", s**2)
    >>> post = dict_to_dataset({"s": np.full((2, 3), 3.0)})
    >>> compute_deterministics(post, model=m)["s2"].values.tolist()
    [[9.0, 9.0, 9.0], [9.0, 9.0, 9.0]]
    """
    from tessera.compile.function import function
    from tessera.ops.vectorize import vectorize_graph
    from tessera.ppl.model.idata import dict_to_dataset

    model = modelcontext(model)
    if not hasattr(dataset, "data_vars"):
        raise TypeError(
            "compute_deterministics: expected an xarray Dataset (such as "
            f"idata.posterior), got {type(dataset).__name__}"
        )
    missing_dims = [d for d in SAMPLE_DIMS if d not in dataset.dims]
    if missing_dims:
        raise ValueError(
            f"compute_deterministics: the dataset has no dims {missing_dims}; "
            f"expected draws with dims {SAMPLE_DIMS}"
        )
    names = _names(model, var_names)
    outs = [model[n] for n in names]
    needed = {id(v) for v in ancestors(outs)}
    free = [rv for rv in model.free_RVs if id(rv) in needed]
    absent = [rv.name for rv in free if rv.name not in dataset.data_vars]
    if absent:
        raise ValueError(
            f"compute_deterministics: the dataset has no draws of {absent}, which "
            f"{names} depend on"
        )
    lead = (dataset.sizes["chain"], dataset.sizes["draw"])
    core, batched, values = {}, {}, []
    for rv in free:
        arr = _draws(dataset, rv.name, rv)
        core[rv] = TensorType(rv.dtype, rv.type.shape)(name=rv.name)
        batched[core[rv]] = TensorType(rv.dtype, (None, *rv.type.shape))(name=rv.name)
        values.append(arr.reshape((-1, *arr.shape[2:])).astype(rv.dtype, copy=False))
    repl = dict(core)
    repl.update({rv: model.rvs_to_values[rv] for rv in model.observed_RVs})
    graphs = clone_replace(outs, repl) if outs else []
    res = function(list(batched.values()), vectorize_graph(graphs, batched))(*values)
    data = {}
    for n, r, g in zip(names, res, graphs):
        r = np.asarray(r)
        if r.ndim == g.ndim:  # depends on no free variable
            r = np.broadcast_to(r, (lead[0] * lead[1], *r.shape))
        data[n] = r.reshape(lead + r.shape[1:])
    coords = {d: dataset.coords[d].values for d in SAMPLE_DIMS if d in dataset.coords}
    out = dict_to_dataset(data, model, coords=coords)
    if merge_dataset:
        return dataset.drop_vars([n for n in names if n in dataset.data_vars]).merge(
            out, compat="override"
        )
    return out
