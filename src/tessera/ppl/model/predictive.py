"""Prior and posterior predictive sampling, and the pointwise
log-likelihood of posterior draws; all vectorized over draws.

Both rebuild the model's generative graph with a leading *sample* axis and
draw every sample in one compiled call (no Python loop over draws):

* a random variable whose parameters gained the sample axis is batched by
  its op's ``vectorize_node`` (so multivariate likelihoods with batched
  parameters work);
* one whose parameters did not (a root of the graph) draws ``n`` samples
  at once by broadcasting a parameter along the new axis;
* for the posterior predictive, free RVs found in the posterior are
  replaced by their ``(chain * draw, ...)`` values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.graph.basic import SharedValue, Variable
from tessera.graph.traversal import clone_replace, toposort
from tessera.ops.type import TensorType
from tessera.ops.vectorize import vectorize_node
from tessera.ppl.backend import compile_with
from tessera.ppl.model.context import modelcontext
from tessera.ppl.model.core import Model
from tessera.ppl.options import check_keywords
from tessera.random.op import RandomVariable
from tessera.random.type import is_none_const


def _batched_rv(node, new_inputs, n: Variable) -> list[Variable]:
    from tessera.ops.shape import (
        broadcast_to,
        concatenate,
        expand_dims,
        make_vector,
        shape_tuple,
    )

    op = node.op
    rng, size, *params = new_inputs
    if any(p.ndim > o.ndim for p, o in zip(params, node.inputs[2:])):
        return op.vectorize_node(node, *new_inputs)
    if not is_none_const(size):
        new_size = concatenate([make_vector(n), size])
        return op.make_node(rng, new_size, *params).outputs
    if not params:
        return op.make_node(rng, make_vector(n), *params).outputs
    # a root with its batch from its parameters: give one of them the sample
    # axis (a broadcast view), then batch as if it came from upstream
    p0 = params[0]
    p0 = broadcast_to(expand_dims(p0, 0), (n, *shape_tuple(p0)))
    return op.vectorize_node(node, rng, size, p0, *params[1:])


def batched_graph(
    outputs: Sequence[Variable], n: Variable, given: Mapping[Variable, Variable]
) -> list[Variable]:
    """``outputs`` rebuilt with a leading sample axis of length ``n``.

    Parameters
    ----------
    outputs : list of Variable
        Graphs of the model's random variables.
    n : int64 scalar variable
        Number of samples.
    given : dict
        Random variables (or any variables) to replace by batched values of
        shape ``(n, *var.shape)``.

    Returns
    -------
    list of Variable
        Each output with shape ``(n, *output.shape)`` (outputs that depend on
        no random variable are broadcast).
    """
    from tessera.ops.shape import broadcast_to, expand_dims, shape_tuple

    equiv: dict[Variable, Variable] = dict(given)
    for node in toposort(list(outputs), list(given)):
        new_inputs = [equiv.get(i, i) for i in node.inputs]
        if isinstance(node.op, RandomVariable):
            new_outs = _batched_rv(node, new_inputs, n)
        elif all(a is b for a, b in zip(new_inputs, node.inputs)):
            continue
        elif all(a.ndim == b.ndim for a, b in zip(new_inputs, node.inputs)):
            new_outs = node.op.make_node(*new_inputs).outputs
        else:
            new_outs = vectorize_node(node, *new_inputs)
        equiv.update(zip(node.outputs, new_outs))
    result = []
    for o in outputs:
        b = equiv.get(o, o)
        if b.ndim == o.ndim:
            b = broadcast_to(expand_dims(b, 0), (n, *shape_tuple(b)))
        result.append(b)
    return result


def _run(outputs, inputs, values, random_seed, backend, what) -> list[np.ndarray]:
    """Compile with fresh generators seeded from ``random_seed`` for
    ``backend`` (``"auto"`` choosing it); call once."""
    from tessera.compile.function import function
    from tessera.random.type import rng as make_rng
    from tessera.random.utils import rng_updates

    rngs = []
    for node in toposort(outputs):
        if isinstance(node.op, RandomVariable):
            g = node.inputs[0]
            if isinstance(g, SharedValue) and g not in rngs:
                rngs.append(g)
    seeds = np.random.SeedSequence(_seed(random_seed)).spawn(len(rngs))
    fresh = {g: make_rng(s) for g, s in zip(rngs, seeds)}
    if fresh:
        outputs = clone_replace(outputs, fresh)
    fn, _ = compile_with(
        backend,
        lambda b: function(inputs, outputs, updates=rng_updates(outputs), backend=b),
        what,
    )
    return [np.asarray(v) for v in fn(*values)]


def _seed(random_seed: Any):
    if isinstance(random_seed, np.random.Generator):
        return random_seed.integers(2**63)
    return random_seed


def _names(model: Model, var_names, default) -> list[str]:
    if var_names is None:
        return [v.name for v in default]
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    for name in names:
        kind = model.kind(name)
        if kind in ("potential", "data"):
            raise ValueError(f"{name!r} is a {kind}: it cannot be sampled")
    return names


#: PyMC's predictive keywords tessera does not take, and why
_PYMC_ONLY = {
    "compile_kwargs": "the sampling function is compiled by tessera (see backend=)",
    "progressbar_theme": "the progress bar is tqdm's",
}
#: the ``idata_kwargs`` keys the predictive functions take
_IDATA_KWARGS = ("coords", "dims", "attrs")


def _idata_kwargs(where: str, idata_kwargs: Mapping | None) -> dict:
    kwargs = dict(idata_kwargs or {})
    unknown = sorted(set(kwargs) - set(_IDATA_KWARGS))
    if unknown:
        raise TypeError(
            f"{where}: idata_kwargs has {unknown}; it takes {list(_IDATA_KWARGS)}"
        )
    return kwargs


def _check_sample_dims(where: str, sample_dims) -> None:
    if sample_dims is not None and tuple(sample_dims) != ("chain", "draw"):
        raise NotImplementedError(
            f"{where}: sample_dims={list(sample_dims)} is not supported; the "
            "posterior must have dims ('chain', 'draw') (stack others into them)"
        )


def sample_prior_predictive(
    draws: int = 500,
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    random_seed: Any = None,
    return_inferencedata: bool = True,
    idata_kwargs: Mapping[str, Any] | None = None,
    *,
    backend: str | Backend = "auto",
    **kwargs: Any,
):
    """Draw from the model's prior and prior predictive distributions.

    All ``draws`` samples come from one compiled, vectorized call.

    Parameters
    ----------
    draws : int
    model : Model, optional
        Default: the active model.
    var_names : list of str, optional
        Default: every free RV, deterministic and observed RV.
    random_seed : int, SeedSequence or Generator, optional
    return_inferencedata : bool
        False: a dict of name to array of shape ``(draws, ...)``.
    idata_kwargs : dict, optional
        ``coords``, ``dims`` or ``attrs`` for the InferenceData, on top of
        the model's.
    backend : {"auto", "numpy", "jax"} or Backend
        Backend of the compiled sampling function (``"auto"``: JAX when
        every op lowers to it, see :mod:`tessera.ppl.backend`).
    **kwargs
        Any other keyword raises ``TypeError`` naming it (PyMC's
        ``compile_kwargs``: ``NotImplementedError``).

    Returns
    -------
    arviz.InferenceData
        Groups ``prior`` (free RVs and deterministics), ``prior_predictive``
        (observed RVs), ``observed_data`` and ``constant_data``; each
        variable of shape ``(1, draws, ...)`` with the model's dims.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"obs": range(3)}) as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3), dims="obs")
    ...     idata = ppl.sample_prior_predictive(draws=10, random_seed=0)
    >>> idata.prior_predictive["y"].dims
    ('chain', 'draw', 'obs')
    """
    from tessera.ops.basic import as_tensor

    check_keywords(
        "ppl.sample_prior_predictive", kwargs, sample_prior_predictive, _PYMC_ONLY
    )
    extra = _idata_kwargs("ppl.sample_prior_predictive", idata_kwargs)
    model = modelcontext(model)
    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    default = model.free_RVs + model.deterministics + model.observed_RVs
    names = _names(model, var_names, default)
    outs = batched_graph([model[n] for n in names], as_tensor(np.int64(draws)), {})
    values = (
        _run(outs, [], [], random_seed, backend, "ppl.sample_prior_predictive")
        if outs
        else []
    )
    samples = dict(zip(names, values))
    if not return_inferencedata:
        return samples
    from tessera.ppl.model.idata import to_inference_data

    observed = {rv.name for rv in model.observed_RVs}
    prior = {k: v[None] for k, v in samples.items() if k not in observed}
    prior_pred = {k: v[None] for k, v in samples.items() if k in observed}
    return to_inference_data(
        model, prior=prior or None, prior_predictive=prior_pred or None, **extra
    )


def _posterior_arrays(trace) -> dict[str, np.ndarray]:
    posterior = getattr(trace, "posterior", trace)
    if hasattr(posterior, "data_vars"):  # an xarray Dataset
        return {
            k: posterior[k].transpose("chain", "draw", ...).values
            for k in posterior.data_vars
        }
    if isinstance(posterior, Mapping):
        return {k: np.asarray(v) for k, v in posterior.items()}
    raise TypeError(
        "expected an InferenceData with a posterior group, an xarray Dataset, or "
        f"a dict of arrays of shape (chain, draw, ...), got {type(trace).__name__}"
    )


def sample_posterior_predictive(
    trace,
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    sample_dims: Sequence[str] | None = None,
    random_seed: Any = None,
    progressbar: bool = True,
    return_inferencedata: bool = True,
    extend_inferencedata: bool = False,
    predictions: bool = False,
    idata_kwargs: Mapping[str, Any] | None = None,
    *,
    backend: str | Backend = "auto",
    **kwargs: Any,
):
    """Draw from the posterior predictive distribution.

    Every free RV found in the posterior takes its posterior values (one
    sample per chain and draw); the others are drawn given them. All
    samples come from one compiled, vectorized call. Data changed with
    :func:`set_data` since sampling is used (out-of-sample predictions).

    Parameters
    ----------
    trace : InferenceData, xarray Dataset or dict of arrays
        Posterior values of shape ``(chain, draw, *var_shape)``.
    model : Model, optional
    var_names : list of str, optional
        Default: the observed RVs. Deterministics are recomputed; free RVs in
        the posterior are copied.
    sample_dims : list of str, optional
        ``["chain", "draw"]`` (the only layout taken).
    random_seed : int, SeedSequence or Generator, optional
    progressbar : bool
        Show the (one, vectorized) sampling step and its time.
    extend_inferencedata : bool
        Add the groups to ``trace`` (an InferenceData) and return it.
    predictions : bool
        Out-of-sample predictions: groups ``predictions`` and
        ``predictions_constant_data`` (the current Data) instead of
        ``posterior_predictive`` and ``observed_data``.
    return_inferencedata : bool
        False: a dict of name to array of shape ``(chain, draw, ...)``.
    idata_kwargs : dict, optional
        ``coords``, ``dims`` or ``attrs`` for the InferenceData.
    backend : {"auto", "numpy", "jax"} or Backend
        As for :func:`sample_prior_predictive`.
    **kwargs
        As for :func:`sample_prior_predictive`.

    Returns
    -------
    arviz.InferenceData
        Groups ``posterior_predictive`` and ``observed_data`` (observed data
        that no longer fits its dims after ``set_data`` is left out).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3))
    >>> post = {"mu": np.zeros((2, 5))}
    >>> pp = ppl.sample_posterior_predictive(post, model=m, random_seed=0)
    >>> pp.posterior_predictive["y"].shape
    (2, 5, 3)
    """
    where = "ppl.sample_posterior_predictive"
    check_keywords(where, kwargs, sample_posterior_predictive, _PYMC_ONLY)
    _check_sample_dims(where, sample_dims)
    extra = _idata_kwargs(where, idata_kwargs)
    model = modelcontext(model)
    arrays = _posterior_arrays(trace)
    names = _names(model, var_names, model.observed_RVs)
    lead, given, values = _posterior_placeholders(model, arrays)
    from tessera.ops.basic import as_tensor
    from tessera.ppl.progress import stage

    n = as_tensor(np.int64(lead[0] * lead[1]))
    outs = batched_graph([model[k] for k in names], n, given)
    desc = f"Sampling the posterior predictive ({lead[0]} x {lead[1]} draws)"
    with stage(desc, progressbar):
        res = _run(outs, list(given.values()), values, random_seed, backend, where)
    samples = {k: v.reshape(lead + v.shape[1:]) for k, v in zip(names, res)}
    if not return_inferencedata:
        return samples
    new = _predictive_idata(model, samples, predictions, extra)
    if extend_inferencedata:
        if not hasattr(trace, "extend"):
            raise TypeError("extend_inferencedata needs an InferenceData trace")
        trace.extend(new, join="right")
        return trace
    return new


def _posterior_placeholders(model: Model, arrays: Mapping[str, np.ndarray]):
    """``(lead, {rv: placeholder}, flat values)`` of the free RVs in ``arrays``.

    ``lead`` is the posterior's ``(chain, draw)``; each placeholder has a
    leading sample axis, and its value the ``chain * draw`` samples.
    """
    lead = None
    given, values = {}, []
    for rv in model.free_RVs:
        if rv.name not in arrays:
            continue
        arr = arrays[rv.name]
        if arr.ndim != rv.ndim + 2 or any(
            s is not None and s != a for s, a in zip(rv.type.shape, arr.shape[2:])
        ):
            raise ValueError(
                f"posterior of {rv.name!r} has shape {arr.shape}; expected "
                f"(chain, draw) + the variable's shape {rv.type.shape}"
            )
        lead = _check_lead(lead, arr, rv.name)
        flat = arr.reshape((-1, *arr.shape[2:])).astype(rv.dtype, copy=False)
        given[rv] = TensorType(rv.dtype, (None, *rv.type.shape))(name=rv.name)
        values.append(flat)
    if lead is None:
        raise ValueError(
            "the posterior holds none of the model's free variables "
            f"{[rv.name for rv in model.free_RVs]}"
        )
    return lead, given, values


def _check_lead(lead: tuple | None, arr: np.ndarray, name: str) -> tuple:
    """The ``(chain, draw)`` of ``arr``, which must be ``lead`` if known."""
    if lead is not None and arr.shape[:2] != lead:
        raise ValueError(
            f"posterior variables disagree on (chain, draw): {lead} and "
            f"{arr.shape[:2]} ({name!r})"
        )
    return arr.shape[:2]


def _predictive_idata(model: Model, samples: dict, predictions: bool, extra: dict):
    """The InferenceData of posterior predictive samples (or predictions)."""
    from tessera.ppl.model.idata import constant_data_dict, to_inference_data

    if predictions:
        return to_inference_data(
            model,
            predictions=samples,
            predictions_constant_data=constant_data_dict(model) or None,
            observed_data=False,
            constant_data=False,
            **extra,
        )
    return to_inference_data(
        model, posterior_predictive=samples, constant_data=False, **extra
    )


def compute_log_likelihood(
    trace,
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    extend_inferencedata: bool = True,
    *,
    sample_dims: Sequence[str] = ("chain", "draw"),
    progressbar: bool = False,
    **kwargs: Any,
):
    """Pointwise log-likelihood of the observed RVs at every posterior draw.

    One compiled, vectorized call over all ``chain * draw`` draws (the
    ``log_likelihood`` group ArviZ's ``loo`` and ``waic`` read). Entries
    have each observed variable's batch shape (event dims of multivariate
    variables are summed) with its leading dims.

    Parameters
    ----------
    trace : InferenceData, xarray Dataset or dict of arrays
        Posterior values of every free RV, shape ``(chain, draw, ...)``.
    model : Model, optional
    var_names : list of str, optional
        Observed RVs to include (default: all).
    extend_inferencedata : bool
        Add the group to ``trace`` (an InferenceData) and return it;
        otherwise return a new InferenceData with the group only.
    sample_dims : list of str
        ``["chain", "draw"]`` (the only layout taken).
    progressbar : bool
        Show the (one, vectorized) step and its time.
    **kwargs
        As for :func:`sample_prior_predictive`.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3))
    >>> ll = compute_log_likelihood({"mu": np.zeros((2, 4))}, model=m)
    >>> ll.log_likelihood["y"].shape
    (2, 4, 3)
    """
    from tessera.compile.function import function
    from tessera.ops.vectorize import vectorize_graph
    from tessera.ppl.model.idata import to_inference_data
    from tessera.ppl.progress import stage

    check_keywords(
        "ppl.compute_log_likelihood", kwargs, compute_log_likelihood, _PYMC_ONLY
    )
    _check_sample_dims("ppl.compute_log_likelihood", sample_dims)
    model = modelcontext(model)
    arrays = _posterior_arrays(trace)
    names = _names(model, var_names, model.observed_RVs)
    for n in names:
        if model.kind(n) != "observed":
            raise ValueError(f"{n!r} is not an observed variable")
    lead, core, batched, values = _free_rv_placeholders(model, arrays)
    terms = _log_likelihood_terms(model, names, core)
    with stage("Computing the log-likelihood", progressbar):
        fn = function(list(batched.values()), vectorize_graph(terms, batched))
        res = fn(*values)
    data, dims = {}, {}
    for n, r, term in zip(names, res, terms):
        data[n] = _per_draw(np.asarray(r), term, lead)
        model_dims = model.named_vars_to_dims.get(n)
        if model_dims is not None:
            dims[n] = model_dims[: term.ndim]
    new = to_inference_data(
        model,
        log_likelihood=data,
        dims=dims,
        observed_data=False,
        constant_data=False,
    )
    if extend_inferencedata and hasattr(trace, "extend"):
        trace.extend(new, join="right")
        return trace
    return new


def _free_rv_placeholders(model: Model, arrays: Mapping[str, np.ndarray]):
    """``(lead, core, batched, values)`` for every free RV of ``model``.

    ``core[rv]`` stands for one draw of ``rv``, ``batched[core[rv]]`` for all
    ``chain * draw`` of them (values in ``values``, in the same order).
    """
    missing = [rv.name for rv in model.free_RVs if rv.name not in arrays]
    if missing:
        raise ValueError(f"the posterior has no values for the free RVs {missing}")
    lead = arrays[model.free_RVs[0].name].shape[:2] if model.free_RVs else (1, 1)
    core, batched, values = {}, {}, []
    for rv in model.free_RVs:
        arr = arrays[rv.name]
        _check_lead(lead, arr, rv.name)
        core[rv] = TensorType(rv.dtype, rv.type.shape)(name=rv.name)
        batched[core[rv]] = TensorType(rv.dtype, (None, *rv.type.shape))(name=rv.name)
        values.append(arr.reshape((-1, *arr.shape[2:])).astype(rv.dtype, copy=False))
    return lead, core, batched, values


def _log_likelihood_terms(model: Model, names, core: dict) -> list[Variable]:
    """The observed RVs' log-densities at their data, free RVs as ``core``."""
    from tessera.ppl.distributions.logprob import logp
    from tessera.ppl.model.compile import _check_no_random

    repl = dict(core)
    repl.update({rv: model.rvs_to_values[rv] for rv in model.observed_RVs})
    terms = [logp(model[n], model.rvs_to_values[model[n]]) for n in names]
    terms = clone_replace(terms, repl)
    _check_no_random(model, terms, "log-likelihood")
    return terms


def _per_draw(r: np.ndarray, term: Variable, lead: tuple) -> np.ndarray:
    """A vectorized result ``(chain * draw, ...)`` as ``(chain, draw, ...)``."""
    if r.ndim == term.ndim:  # no free variable among its parents
        r = np.broadcast_to(r, (lead[0] * lead[1], *r.shape))
    return r.reshape(lead + r.shape[1:])
