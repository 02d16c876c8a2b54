"""New models from old: ``do`` (interventions) and ``observe`` (conditioning).

Both return a new :class:`~tessera.ppl.Model` and leave the original
unchanged. The new model's graph is a clone of the original's, with its own
data and random generators (``set_data`` on one does not touch the other):

* :func:`do` replaces variables by constants or by expressions of other
  model variables; their descendants use the replacement. An intervened
  variable becomes a ``Data`` variable (a constant intervention, which
  ``set_data`` can change) or a ``Deterministic`` (an expression of model
  variables), so it is still recorded in results.
* :func:`observe` turns free random variables into observed ones.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.graph.traversal import ancestors, clone_get_equiv, clone_replace, toposort
from tessera.ops.basic import as_tensor, shared
from tessera.ops.type import shape_str
from tessera.ppl.model.core import Model, _check_same_shape
from tessera.ppl.transforms import Transform
from tessera.random.op import RandomVariable


def _key_name(model: Model, key: Any, what: str) -> str:
    if isinstance(key, str):
        name = key
    elif isinstance(key, Variable) and key.name is not None:
        name = key.name
    else:
        raise TypeError(f"{what}: keys must be model variables or names, got {key!r}")
    if name not in model.named_vars or (
        isinstance(key, Variable) and model.named_vars[name] is not key
    ):
        raise ValueError(
            f"{what}: {key!r} is not a variable of the model; its variables are "
            f"{list(model.named_vars)}"
        )
    return name


def _fresh_shared(model: Model, graphs: list[Variable]) -> dict:
    """Copies of the model's data and of the random generators of ``graphs``."""
    from tessera.random.type import rng as make_rng

    repl: dict[Variable, Variable] = {}
    for v in model.data_vars:
        repl[v] = shared(v.get_value(), name=v.name, dtype=v.dtype)
    for node in toposort(graphs):
        if isinstance(node.op, RandomVariable):
            g = node.inputs[0]
            if isinstance(g, SharedValue) and g not in repl:
                repl[g] = make_rng(g.get_value(), name=g.name)
    return repl


def _model_graphs(model: Model) -> list[Variable]:
    outs = list(model.named_vars.values())
    outs += [model.rvs_to_values[rv] for rv in model.observed_RVs]
    outs += list(model._dim_vars.values())
    for t in model.rvs_to_transforms.values():
        outs += [v for v in _transform_vars(t)]
    return outs


def _transform_vars(t: Transform | None):
    if t is None:
        return
    for v in vars(t).values():
        if isinstance(v, Variable):
            yield v
        elif isinstance(v, Transform):
            yield from _transform_vars(v)
        elif isinstance(v, list | tuple):
            for item in v:
                if isinstance(item, Transform):
                    yield from _transform_vars(item)


def _remap_transform(t: Transform | None, equiv: Mapping) -> Transform | None:
    """``t`` with its symbolic attributes (bounds) in terms of the new model."""
    if t is None or not list(_transform_vars(t)):
        return t
    new = copy.copy(t)
    for k, v in vars(t).items():
        if isinstance(v, Variable):
            setattr(new, k, equiv.get(v, v))
        elif isinstance(v, Transform):
            setattr(new, k, _remap_transform(v, equiv))
        elif isinstance(v, list | tuple) and any(isinstance(i, Transform) for i in v):
            setattr(new, k, type(v)(_remap_transform(i, equiv) for i in v))
    return new


def _intervention_value(model: Model, name: str, value: Any) -> tuple[Variable, bool]:
    """``(graph, is_expression)``: the intervention on ``name`` as a variable."""
    var = model[name]
    if isinstance(value, Variable):
        if isinstance(value, Constant):
            value = value.data
        else:
            named = {id(v) for v in model.named_vars.values()}
            if not any(id(v) in named for v in ancestors([value])):
                raise TypeError(
                    f"do: the intervention on {name!r} is a variable that is not an "
                    "expression of the model's variables; give an array or a graph "
                    "of model variables"
                )
            for node in toposort([value], [v for v in model.named_vars.values()]):
                if isinstance(node.op, RandomVariable):
                    raise TypeError(
                        f"do: the intervention on {name!r} draws from the random "
                        f"variable {node.outputs[1]}, which is not in the model"
                    )
            value = as_tensor(value)
            if value.dtype != var.dtype:
                value = value.astype(var.dtype)
            return value, True
    try:
        arr = np.asarray(value, dtype=var.dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"do: the intervention on {name!r} cannot be converted to {var.dtype}: "
            f"{err}"
        ) from None
    static = var.type.shape
    fits = arr.ndim == len(static) and all(
        s is None or s == a for s, a in zip(static, arr.shape)
    )
    if not fits:
        try:
            if None in static or arr.ndim > len(static):
                raise ValueError
            arr = np.broadcast_to(arr, static).copy()
        except ValueError:
            raise ValueError(
                f"do: the intervention on {name!r} has shape {arr.shape}, which does "
                f"not fit the variable's shape {shape_str(static)}"
            ) from None
    return shared(arr, name=name), False


def _broadcast_like(value: Variable, var: Variable, name: str) -> Variable:
    from tessera.ops.shape import broadcast_to, shape_tuple

    if value.ndim > var.ndim:
        raise ValueError(
            f"do: the intervention on {name!r} has {value.ndim} dims, more than the "
            f"variable's {var.ndim}"
        )
    if not var.type.is_compatible(value.type):
        value = broadcast_to(value, shape_tuple(var))
    return value


def _rebuild(
    model: Model,
    interventions: Mapping[str, Any],
    observations: Mapping[str, Any],
    prune: bool = False,
) -> Model:
    graphs = _model_graphs(model)
    new_values = {n: _intervention_value(model, n, v) for n, v in interventions.items()}
    exprs = [g for g, is_expr in new_values.values() if is_expr]
    repl = _fresh_shared(model, graphs)
    equiv = clone_get_equiv([], graphs + exprs, replace=repl, clone_nodes=True)
    # second pass: the intervened variables' clones replaced by the interventions
    swap = {}
    for n, (g, is_expr) in new_values.items():
        new_g = equiv[g] if is_expr else g
        cloned = equiv[model[n]]
        if cloned in ancestors([new_g]):
            raise ValueError(f"do: the intervention on {n!r} depends on {n!r} itself")
        swap[cloned] = _broadcast_like(new_g, cloned, n)
    outs = [equiv[g] for g in graphs]
    outs = clone_replace(outs, swap) if swap else outs
    final = dict(zip(graphs, outs))
    for n in interventions:
        final[model[n]] = swap[equiv[model[n]]]
    return _populate(model, final, new_values, observations, prune)


def _kept(model: Model, final: dict, kinds: dict[str, str]) -> set[str]:
    """Names of variables that observed variables or potentials depend on."""
    roots = [
        final[model[n]] for n, k in kinds.items() if k in ("observed", "potential")
    ]
    roots += [final[model.rvs_to_values[rv]] for rv in model.observed_RVs]
    reach = {id(v) for v in ancestors(roots)}
    keep = {n for n in kinds if id(final[model[n]]) in reach}
    keep |= set(model._dim_source.values())
    return keep


def _populate(model, final, new_values, observations, prune) -> Model:
    from tessera.ops.math import identity
    from tessera.ops.type import TensorType

    new = Model()
    new._coords = dict(model._coords)
    new._dim_len = dict(model._dim_len)
    kinds = dict(model._kinds)
    for n, (_, is_expr) in new_values.items():
        kinds[n] = "deterministic" if is_expr else "data"
    for n in observations:
        kinds[n] = "observed"
    keep = _kept(model, final, kinds) if prune else set(kinds)
    var_map = {old: final[old] for old in model.named_vars.values()}
    taken: set[int] = set()
    for name, old in model.named_vars.items():
        if name not in keep:
            continue
        kind = kinds[name]
        var = final[old]
        if id(var) in taken:  # an intervention that is another named variable
            var = identity(var)
        taken.add(id(var))
        new._add(name, var, kind, model.named_vars_to_dims.get(name))
        if kind == "data":
            new.data_vars.append(var)
        elif kind == "deterministic":
            new.deterministics.append(var)
        elif kind == "potential":
            new.potentials.append(var)
        elif kind == "free":
            _add_free_clone(model, new, old, var, var_map, TensorType)
        else:
            new.observed_RVs.append(var)
            new.basic_RVs.append(var)
            new.rvs_to_transforms[var] = None
            if name not in observations:
                new.rvs_to_values[var] = final[model.rvs_to_values[old]]
            if old in model.rvs_to_total_sizes:
                new.rvs_to_total_sizes[var] = model.rvs_to_total_sizes[old]
    _copy_dim_sources(model, new, final)
    for name, obs in observations.items():
        _set_observed(model, new, name, obs, final)
    new._invalidate()
    return new


def _copy_dim_sources(model: Model, new: Model, final: dict) -> None:
    """Dims that follow Data, and which Data is observed data, in ``new``."""
    for d, src in model._dim_source.items():
        if src in new.named_vars and new.kind(src) == "data":
            new._dim_vars[d] = final[model._dim_vars[d]]
            new._dim_source[d] = src
    new._fixed_dim_users = {d: list(u) for d, u in model._fixed_dim_users.items()}
    for data_name, obs_name in model._observed_data.items():
        if data_name in new.named_vars and new._kinds.get(obs_name) == "observed":
            new._observed_data[data_name] = obs_name


def _add_free_clone(model, new, old, var, var_map, TensorType) -> None:
    old_value = model.rvs_to_values[old]
    value = TensorType(old_value.dtype, old_value.type.shape)(name=old_value.name)
    new._value_names.add(value.name)
    new.free_RVs.append(var)
    new.basic_RVs.append(var)
    new.rvs_to_values[var] = value
    new.values_to_rvs[value] = var
    new.rvs_to_transforms[var] = _remap_transform(model.rvs_to_transforms[old], var_map)
    if old in model.rvs_to_initial_values:
        new.rvs_to_initial_values[var] = model.rvs_to_initial_values[old]


def _set_observed(model, new, name, obs, final) -> None:
    from tessera.ppl.distributions.base import dist_of
    from tessera.ppl.model.values import observed_input

    rv = new[name]
    if isinstance(obs, Variable) and obs in model.data_vars:
        obs = final[obs]
    obs_var, _ = observed_input(new, name, dist_of(rv), obs)
    _check_same_shape(name, rv.type.shape, obs_var.type.shape)
    new.rvs_to_values[rv] = obs_var


def do(
    model: Model,
    vars_to_interventions: Mapping[Any, Any],
    prune_vars: bool = False,
) -> Model:
    """A new model in which variables are set by intervention (the do-operator).

    Each intervened variable is replaced, wherever the model uses it, by a
    constant or by an expression of other model variables: its own
    distribution no longer counts, and its descendants follow the
    intervention.

    Parameters
    ----------
    model : Model
        Left unchanged.
    vars_to_interventions : dict
        Keys: random variables or deterministics of ``model`` (or their
        names). Values: arrays (the variable becomes a ``Data`` variable of
        the new model, changeable with ``set_data``) or graphs of
        ``model``'s variables (it becomes a ``Deterministic``).
    prune_vars : bool
        Drop the variables that no observed variable or potential depends on
        any more (a cause cut off by the intervention).

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        A key that is not a variable of the model, Data or a Potential as a
        key, or an intervention that depends on the variable itself.
    TypeError
        An intervention that cannot be converted to the variable's dtype.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0)
    ...     y = ppl.Normal("y", x + 10.0, 0.1)
    >>> m_do = do(m, {"x": 5.0})
    >>> m_do.kind("x"), [v.name for v in m_do.free_RVs]
    ('data', ['y'])
    >>> draws = ppl.sample_prior_predictive(100, model=m_do, random_seed=0)
    >>> round(float(draws.prior["y"].mean()))
    15
    """
    if not isinstance(vars_to_interventions, Mapping):
        raise TypeError(
            "do: vars_to_interventions must be a dict of variable (or name) to "
            f"value, got {type(vars_to_interventions).__name__}"
        )
    interventions = {}
    for key, value in vars_to_interventions.items():
        name = _key_name(model, key, "do")
        kind = model.kind(name)
        if kind in ("data", "potential"):
            hint = " (change data with ppl.set_data)" if kind == "data" else ""
            raise ValueError(
                f"do: {name!r} is a {kind}; only random variables and "
                f"deterministics can be intervened on{hint}"
            )
        interventions[name] = value
    return _rebuild(model, interventions, {}, prune=prune_vars)


def observe(model: Model, vars_to_observations: Mapping[Any, Any]) -> Model:
    """A new model in which free random variables are observed at given data.

    Parameters
    ----------
    model : Model
        Left unchanged.
    vars_to_observations : dict
        Keys: free random variables of ``model`` (or their names). Values:
        arrays of the variable's shape and kind (integers for discrete
        ones), or ``Data`` variables of ``model``.

    Returns
    -------
    Model
        The same as writing ``observed=`` for those variables.

    Raises
    ------
    ValueError
        A key that is not a free random variable of the model, or data of
        another shape or with NaN.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, shape=2)
    >>> m_obs = observe(m, {"y": [0.5, 1.5]})
    >>> [v.name for v in m_obs.free_RVs], [v.name for v in m_obs.observed_RVs]
    (['mu'], ['y'])
    """
    if not isinstance(vars_to_observations, Mapping):
        raise TypeError(
            "observe: vars_to_observations must be a dict of variable (or name) to "
            f"data, got {type(vars_to_observations).__name__}"
        )
    observations = {}
    for key, value in vars_to_observations.items():
        name = _key_name(model, key, "observe")
        kind = model.kind(name)
        if kind != "free":
            raise ValueError(
                f"observe: {name!r} is a {kind} variable; only free random variables "
                "can be observed"
            )
        observations[name] = value
    return _rebuild(model, {}, observations)
