"""The model's log-density and its compiled functions.

Values
------
Each free random variable ``x`` has a *value variable* on the unconstrained
space (``model.rvs_to_values[x]``, named ``x`` or ``x_<transform>__``); its
constrained value is ``transform.backward(value)``. The model's
log-density is

.. math:: \\log p = \\sum_{\\text{RVs}} \\log p(x_i \\mid \\text{parents})
          + \\sum \\text{potentials}
          + \\sum_{\\text{transformed}} \\log |J_i|

with observed RVs at their data, every random variable replaced by its
value wherever it appears (in other distributions' parameters, transform
bounds, potentials), and the Jacobian terms optional (``jacobian=False``).
In the summed log-density, scalar RVs of the same distribution (and
transform) contribute one vectorized term per group
(:mod:`tessera.ppl.model.grouping`): its size and the time to compile and
call it do not grow with the number of such variables.

Points and flat vectors
-----------------------
A *point* is a dict of value-variable name to array (unconstrained). The
flat vector of a point is the concatenation of its raveled (C order)
continuous value variables in ``model.value_vars`` order, as float64; see
:class:`~tessera.ppl.model.flat.FlatLayout` (``model.flat_layout()``),
``model.point_to_array`` and ``model.array_to_point``.
:class:`~tessera.ppl.model.flat.FlatLogpDlogp` is the log-density and
gradient over that vector, compiled once (what NUTS, MAP and ADVI call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.graph.basic import SharedValue, Variable
from tessera.graph.traversal import clone_replace, toposort
from tessera.ops.basic import as_tensor
from tessera.ppl.transforms.base import sum_trailing
from tessera.random.op import RandomVariable

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model


# --- replacing random variables by values ------------------------------------
def value_replacements(model: Model) -> dict[Variable, Variable]:
    """``{rv: constrained value}`` for every registered random variable.

    Free RVs map to ``transform.backward(value_var)`` (bounds of the
    transform already in terms of values), observed ones to their data.
    """
    cached = model._cache.get("replacements")
    if cached is not None:
        return cached
    repl: dict[Variable, Variable] = {}
    for rv in model.basic_RVs:
        value = model.rvs_to_values[rv]
        t = model.rvs_to_transforms[rv]
        if t is not None:
            value = clone_replace(t.backward(value), repl)
        repl[rv] = value
    model._cache["replacements"] = repl
    return repl


def replace_rvs_by_values(model: Model, graphs):
    """``graphs`` with the model's RVs replaced by their constrained values."""
    single = isinstance(graphs, Variable)
    outs = [as_tensor(graphs)] if single else [as_tensor(g) for g in graphs]
    outs = clone_replace(outs, value_replacements(model))
    return outs[0] if single else outs


def _check_no_random(model: Model, graphs: Sequence[Variable], what: str) -> None:
    for node in toposort(graphs):
        if isinstance(node.op, RandomVariable):
            rv = node.outputs[1]
            raise ValueError(
                f"the model's {what} depends on the random variable {rv} "
                f"({node.op}), which is not registered in the model: create it with "
                "a name, ppl.<Distribution>('name', ...), inside the model"
            )


def _resolve_vars(model: Model, vars) -> list[Variable]:
    if vars is None:
        return list(model.basic_RVs) + list(model.potentials)
    vars = [vars] if isinstance(vars, str | Variable) else list(vars)
    out = []
    for v in vars:
        var = model[v] if isinstance(v, str) else v
        if var not in model.basic_RVs and var not in model.potentials:
            raise ValueError(
                f"{v}: not a random variable or potential of the model (a "
                f"free or observed RV, or a Potential)"
            )
        out.append(var)
    return out


def model_logp(
    model: Model, vars=None, jacobian: bool = True, sum: bool = True
) -> Variable | list[Variable]:
    """The symbolic log-density over the model's value variables.

    Parameters
    ----------
    vars : list of RVs, potentials or names, optional
        Terms to include (default: every RV and potential).
    jacobian : bool
        Add the log-det-Jacobian of each free RV's transform.
    sum : bool
        True: one float64 scalar. False: one term per entry of ``vars``
        (each RV's log-density with its batch shape; a potential as is).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.Exponential("s", 1.0)
    >>> lp = m.logp()  # log p(exp(y)) + y, at y = 0: -1
    >>> float(lp.eval({m.value_vars[0]: 0.0}))
    -1.0
    """
    if sum and vars is None:
        return summed_logp(model, jacobian)
    terms = _rv_terms(model, _resolve_vars(model, vars), jacobian)
    terms = clone_replace(terms, value_replacements(model)) if terms else []
    _check_no_random(model, terms, "log-density")
    if not sum:
        return terms
    return _total(terms)


def _rv_terms(model: Model, vars: Sequence[Variable], jacobian: bool) -> list:
    """One log-density term per RV or potential (RVs not yet replaced)."""
    from tessera.ppl.distributions.logprob import logp

    terms = []
    for var in vars:
        if var in model.potentials:
            terms.append(var)
            continue
        value = model.rvs_to_values[var]
        t = model.rvs_to_transforms[var]
        constrained = value if t is None else t.backward(value)
        lp = logp(var, constrained)
        if jacobian and t is not None:
            jac = t.log_jac_det(value)
            if jac.ndim > lp.ndim:
                jac = sum_trailing(jac, jac.ndim - lp.ndim)
            elif jac.ndim < lp.ndim:
                lp = sum_trailing(lp, lp.ndim - jac.ndim)
            lp = lp + jac
        terms.append(lp)
    return terms


def _total(terms: Sequence[Variable]) -> Variable:
    from tessera.ops.reduction import sum as ts_sum

    total = as_tensor(np.float64(0.0))
    for term in terms:
        s = ts_sum(term) if term.ndim else term
        total = total + (s if s.dtype == "float64" else s.astype("float64"))
    return total


def summed_logp(
    model: Model, jacobian: bool = True, blocks: Mapping | None = None
) -> Variable:
    """The model's total log-density, same-family scalar RVs gathered into
    one vectorized term per group (see :mod:`tessera.ppl.model.grouping`).

    ``blocks`` maps each free :class:`~tessera.ppl.model.grouping.ScalarGroup`
    to the vector of its members' values; by default the vector of their
    value variables (so that the result is a graph of ``model.value_vars``,
    like :func:`model_logp`).
    """
    from tessera.ops.shape import make_vector
    from tessera.ppl.model.grouping import group_logp, group_vectors, scalar_groups

    groups, others = scalar_groups(model)
    if blocks is None:
        blocks = {
            g: make_vector(
                *[model.rvs_to_values[rv] for rv in g.rvs],
                dtype=model.rvs_to_values[g.rvs[0]].dtype,
            )
            for g in groups
            if g.free
        }
    values, slices = group_vectors(model, groups, blocks)
    terms = [group_logp(g, values[g], slices, jacobian) for g in groups]
    terms += _rv_terms(model, others + list(model.potentials), jacobian)
    terms = clone_replace(terms, value_replacements(model)) if terms else []
    _check_no_random(model, terms, "log-density")
    return _total(terms)


def _continuous_values(model: Model) -> list[Variable]:
    return [v for v in model.value_vars if not v.dtype.startswith(("int", "uint"))]


def model_dlogp(model: Model, vars=None, jacobian: bool = True) -> Variable:
    """Gradient of :func:`model_logp` w.r.t. the continuous value variables,
    raveled and concatenated in ``value_vars`` order (a float64 vector)."""
    from tessera.grad import grad
    from tessera.ops.shape import concatenate

    wrt = _continuous_values(model)
    if not wrt:
        return as_tensor(np.zeros(0))
    lp = model_logp(model, vars=vars, jacobian=jacobian)
    grads = grad(lp, wrt, disconnected="zero")
    flat = [g.reshape((-1,)).astype("float64") for g in grads]
    return flat[0] if len(flat) == 1 else concatenate(flat)


# --- point functions ----------------------------------------------------------
class PointFunction:
    """A compiled function of a point (dict of value-variable name to array).

    Keys that are not inputs are ignored; a missing input raises a KeyError
    naming it.

    Attributes
    ----------
    input_names : list of str
    fn : tessera.Function
        The compiled function (positional inputs in ``input_names`` order).
    """

    def __init__(self, fn, input_names: list[str], post=None):
        self.fn = fn
        self.input_names = input_names
        self._post = post

    def __call__(self, point: Mapping[str, Any]):
        try:
            args = [point[n] for n in self.input_names]
        except KeyError as err:
            raise KeyError(
                f"the point has no value for {err.args[0]!r}; it needs "
                f"{self.input_names}"
            ) from None
        out = self.fn(*args)
        return out if self._post is None else self._post(out)


def _point_inputs(model: Model) -> list[Variable]:
    return list(model.value_vars)


def compile_logp(model: Model, vars=None, jacobian: bool = True, sum: bool = True):
    """``point -> float`` (or a list of arrays with ``sum=False``).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0)
    >>> round(m.compile_logp()({"x": 0.0}), 4)
    -0.9189
    """
    from tessera.compile.function import function

    out = model_logp(model, vars=vars, jacobian=jacobian, sum=sum)
    inputs = _point_inputs(model)
    fn = function(inputs, out)
    post = float if sum else None
    return PointFunction(fn, [v.name for v in inputs], post)


def compile_dlogp(
    model: Model, vars=None, jacobian: bool = True, as_dict: bool = False
):
    """``point -> gradient`` over the continuous value variables: a flat
    float64 vector in ``value_vars`` order, or a dict with ``as_dict``.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> m.compile_dlogp()({"x": [1.0, -2.0]})
    array([-1.,  2.])
    """
    from tessera.compile.function import function

    out = model_dlogp(model, vars=vars, jacobian=jacobian)
    inputs = _point_inputs(model)
    fn = function(inputs, out)
    post = None
    if as_dict:
        from tessera.ppl.model.flat import flat_layout

        layout = flat_layout(model)
        post = layout.array_to_point
    return PointFunction(fn, [v.name for v in inputs], post)


def compile_fn(model: Model, outputs, point_fn: bool = True):
    """Compile graphs of the model's variables (RVs replaced by values).

    With ``point_fn`` the result is called with a point; otherwise it is a
    :func:`tessera.function` of the value variables, in ``value_vars`` order.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> float(m.compile_fn(s * 2)({"s_log__": 0.0}))
    2.0
    """
    from tessera.compile.function import function

    outs = replace_rvs_by_values(model, outputs)
    inputs = _point_inputs(model)
    fn = function(inputs, outs)
    return PointFunction(fn, [v.name for v in inputs]) if point_fn else fn


# --- checking points --------------------------------------------------------------
def point_logps(model: Model, point: Mapping[str, Any] | None = None) -> dict:
    """Log-density of each RV and potential at ``point`` (summed over its
    entries, Jacobian included); default: the initial point.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0)
    >>> {k: round(v, 4) for k, v in m.point_logps({"x": 0.0}).items()}
    {'x': -0.9189}
    """
    if point is None:
        point = initial_point(model)
    fn = model._cache.get("point_logps")
    if fn is None:
        fn = model._cache["point_logps"] = compile_logp(model, sum=False)
    names = [v.name for v in model.basic_RVs + model.potentials]
    with np.errstate(all="ignore"):
        terms = fn(point)
    return {n: float(np.sum(t)) for n, t in zip(names, terms)}


def check_start_vals(model: Model, point: Mapping[str, Any]) -> None:
    """Raise if ``point`` is not a valid starting point of the model.

    Raises
    ------
    KeyError
        A value variable has no entry.
    ValueError
        A value is not finite, or some variable's log-density is not finite
        there (naming the variables and their log-densities).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Uniform("x", 0.0, 1.0, transform=None)
    >>> m.check_start_vals({"x": 2.0})
    Traceback (most recent call last):
    ...
    ValueError: the model's log-density is not finite at the starting point: x: -inf (starting values: x=2.0)
    """
    for v in model.value_vars:
        if v.name not in point:
            raise KeyError(f"the starting point has no value for {v.name!r}")
        if not np.all(np.isfinite(point[v.name])):
            raise ValueError(
                f"the starting value of {v.name!r} is not finite: {point[v.name]}"
            )
    logps = point_logps(model, point)
    bad = {k: v for k, v in logps.items() if not np.isfinite(v)}
    if bad:
        shown = ", ".join(f"{k}: {v}" for k, v in bad.items())
        start = ", ".join(
            f"{v.name}={np.round(np.asarray(point[v.name]), 4).tolist()}"
            for v in model.value_vars
        )
        raise ValueError(
            f"the model's log-density is not finite at the starting point: "
            f"{shown} (starting values: {start})"
        )


# --- initial point --------------------------------------------------------------
def _fresh_rngs(graphs) -> dict:
    from tessera.random.type import rng as make_rng

    fresh = {}
    for node in toposort(graphs):
        if isinstance(node.op, RandomVariable):
            g = node.inputs[0]
            if isinstance(g, SharedValue) and g not in fresh:
                fresh[g] = make_rng(0)
    return fresh


def _initial_point_function(model: Model):
    cached = model._cache.get("initial_point")
    if cached is not None:
        return cached
    from tessera.compile.function import function
    from tessera.ops.shape import broadcast_to
    from tessera.ppl.distributions.logprob import moment

    start: dict[Variable, Variable] = {}
    outs = []
    for rv in model.basic_RVs:
        if rv in model.observed_RVs:
            start[rv] = model.rvs_to_values[rv]
            continue
        if rv in model.rvs_to_initial_values:
            c = broadcast_to(as_tensor(model.rvs_to_initial_values[rv]), rv.shape)
        else:
            try:
                c = moment(rv)
            except NotImplementedError:
                c = rv  # no moment: a draw from the prior given the parents
        t = model.rvs_to_transforms[rv]
        u = c if t is None else t.forward(c)
        c, u = clone_replace([c, u], start)
        start[rv] = c
        outs.append(u)
    fresh = _fresh_rngs(outs)
    if fresh:
        outs = clone_replace(outs, fresh)
    fn = function([], outs) if outs else None
    cached = (fn, list(fresh.values()))
    model._cache["initial_point"] = cached
    return cached


def initial_point(
    model: Model, random_seed: Any = None, jitter: bool = False
) -> dict[str, np.ndarray]:
    """The default starting point, on the unconstrained space.

    Each free RV starts at its ``initval`` or its distribution's moment (a
    prior draw where there is none), given its parents' starting values,
    mapped with its transform's ``forward``.

    Parameters
    ----------
    random_seed : int, optional
        Seeds the prior draws and the jitter.
    jitter : bool
        Add uniform(-1, 1) noise to every continuous value (different
        starting points for several chains).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 3.0, 1.0)
    ...     s = ppl.Exponential("s", 2.0)
    >>> {k: float(v) for k, v in m.initial_point().items()}  # log(1 / 2)
    {'mu': 3.0, 's_log__': -0.6931471805599453}
    """
    fn, rngs = _initial_point_function(model)
    if fn is None:
        return {}
    seeds = np.random.SeedSequence(random_seed).spawn(len(rngs) + 1)
    for g, s in zip(rngs, seeds):
        g.set_value(np.random.default_rng(s))
    values = fn()
    point = {}
    jitter_rng = np.random.default_rng(seeds[-1])
    for v, val in zip(model.value_vars, values):
        val = np.asarray(val)
        if jitter and val.dtype.kind == "f":
            val = val + jitter_rng.uniform(-1.0, 1.0, size=val.shape)
        point[v.name] = val
    return point
