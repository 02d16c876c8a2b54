"""``model.debug()``: which term of the log-density is not finite, and why.

For each term (every free or observed random variable's log-density, every
potential) the report gives its value at a point and, where it is not
finite, the cause: a parameter condition of the distribution that fails
(``sigma > 0``) with the parameter's values, a value outside the
distribution's support, or parameters that are themselves not finite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.graph.basic import Variable

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model

FNS = ("logp", "dlogp", "random")


@dataclass
class FailedCondition:
    """A parameter condition that does not hold.

    Attributes
    ----------
    condition : str
        As the distribution states it (``"sigma > 0"``).
    params : dict of str to ndarray
        Values of the parameters the condition names (all of them when it
        names none).
    where : list of tuple
        Indices (in the term's batch shape) where it fails, the first ten.
    """

    condition: str
    params: dict[str, np.ndarray]
    where: list[tuple]


@dataclass
class TermReport:
    """One term of the log-density (or of its gradient) at the point.

    Attributes
    ----------
    name : str
        The variable, potential or (for ``fn="dlogp"``) value variable.
    kind : str
        ``"free"``, ``"observed"``, ``"potential"`` or ``"gradient"``.
    value : float
        The term, summed over its entries (the gradient's norm for
        ``"gradient"``).
    finite : bool
    failed_conditions : list of FailedCondition
    outside_support : list of tuple
        Indices where the variable's value is outside the support.
    messages : list of str
        The causes, as printed.
    """

    name: str
    kind: str
    value: float
    finite: bool
    failed_conditions: list[FailedCondition] = field(default_factory=list)
    outside_support: list[tuple] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _short(x: Any) -> str:
    arr = np.asarray(x)
    if arr.size == 1:
        return f"{arr.reshape(()).item():.6g}" if arr.dtype.kind == "f" else str(arr)
    with np.printoptions(precision=4, threshold=12, edgeitems=3):
        return np.array2string(arr, separator=", ")


def _failing(ok: np.ndarray, shape: tuple) -> list[tuple]:
    ok = np.broadcast_to(np.asarray(ok), shape) if shape else np.asarray(ok)
    return [tuple(int(i) for i in ix) for ix in np.argwhere(~ok)[:10]]


class _TermGraphs:
    """Graphs of one random variable's diagnosis: params, conditions, support."""

    def __init__(self, model: Model, rv: Variable):
        from tessera.ppl.distributions.base import dist_of
        from tessera.ppl.model.compile import value_replacements
        from tessera.ppl.model.printing import _param_str

        node = rv.owner
        cls = dist_of(rv)
        self.dist = cls.__name__
        params = list(node.inputs[2:])
        names = list(cls.params)
        if len(names) != len(params):
            names = [f"param{i}" for i in range(len(params))]
        self.param_names = names
        self.param_sources = [_param_str(model, p) for p in params]
        try:
            conds = cls.node_param_conditions(node.op, params)
        except Exception:  # a composite distribution without checkable conditions
            conds = []
        self.texts = [t for _, t in conds]
        value = value_replacements(model)[rv]
        try:
            mask = cls.node_support_mask(node.op, value, params)
        except Exception:
            mask = None
        self.has_mask = mask is not None
        outs = params + [c for c, _ in conds] + ([mask] if mask is not None else [])
        self.outputs = model.replace_rvs_by_values(outs) + [value]

    def split(self, values: list) -> tuple:
        n, k = len(self.param_names), len(self.texts)
        params = values[:n]
        conds = values[n : n + k]
        mask = values[n + k] if self.has_mask else None
        return params, conds, mask, values[-1]


def _diagnosis_function(model: Model):
    cached = model._cache.get("debug")
    if cached is not None:
        return cached
    from tessera.compile.function import function

    terms = model.basic_RVs + model.potentials
    logps = model.logp(vars=terms, sum=False) if terms else []
    graphs = {rv: _TermGraphs(model, rv) for rv in model.basic_RVs}
    outs = list(logps)
    for g in graphs.values():
        outs += g.outputs
    fn = function(list(model.value_vars), outs)
    model._cache["debug"] = (fn, terms, graphs)
    return model._cache["debug"]


def _explain_rv(rep: TermReport, g: _TermGraphs, values: list, shape) -> None:
    params, conds, mask, value = g.split(values)
    for text, ok in zip(g.texts, conds):
        if np.all(ok):
            continue
        named = [
            (n, p, s)
            for n, p, s in zip(g.param_names, params, g.param_sources)
            if re.search(rf"\b{re.escape(n)}\b", text)
        ] or list(zip(g.param_names, params, g.param_sources))
        where = _failing(ok, shape) if np.ndim(ok) else []
        rep.failed_conditions.append(
            FailedCondition(text, {n: np.asarray(p) for n, p, _ in named}, where)
        )
        shown = ", ".join(
            f"{n} = {_short(p)}" + ("" if s in (n, _short(p)) else f" (from {s})")
            for n, p, s in named
        )
        at = f" at {where}" if where else ""
        rep.messages.append(
            f"parameter condition {text!r} of {g.dist} does not hold{at}: {shown}"
        )
    if mask is not None and not np.all(mask):
        rep.outside_support = _failing(mask, np.shape(mask))
        rep.messages.append(
            f"the value {_short(value)} is outside the support of {g.dist}"
            + (f" at {rep.outside_support}" if np.ndim(mask) else "")
        )
    for n, p, s in zip(g.param_names, params, g.param_sources):
        p = np.asarray(p)
        if p.dtype.kind == "f" and not np.all(np.isfinite(p)):
            src = "" if s == n else f" (from {s})"
            rep.messages.append(f"parameter {n}{src} is not finite: {_short(p)}")
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        rep.messages.append(f"the value is not finite: {_short(value)}")
    if not rep.messages:
        rep.messages.append(
            f"the log-density of {g.dist} is not finite although its parameters "
            "and value are valid (an overflow or a numerical problem)"
        )


def _check_point(model: Model, point: Mapping[str, Any]) -> dict:
    if not isinstance(point, Mapping):
        raise TypeError(f"debug: point must be a dict, got {type(point).__name__}")
    missing = [v.name for v in model.value_vars if v.name not in point]
    if missing:
        raise KeyError(
            f"debug: the point has no value for {missing}; it needs the value "
            f"variables {[v.name for v in model.value_vars]}"
        )
    return {v.name: np.asarray(point[v.name]) for v in model.value_vars}


def _logp_reports(model: Model, point: dict) -> list[TermReport]:
    fn, terms, graphs = _diagnosis_function(model)
    with np.errstate(all="ignore"):
        res = fn(*[point[v.name] for v in model.value_vars])
    logps, rest = res[: len(terms)], res[len(terms) :]
    reports = []
    for var, lp in zip(terms, logps):
        kind = model.kind(var.name)
        total = float(np.sum(lp))
        rep = TermReport(var.name, kind, total, bool(np.isfinite(total)))
        if var in graphs:
            g = graphs[var]
            values, rest = rest[: len(g.outputs)], rest[len(g.outputs) :]
            if not rep.finite:
                _explain_rv(rep, g, values, np.shape(lp))
        elif not rep.finite:
            rep.messages.append(f"the potential is not finite: {_short(lp)}")
        reports.append(rep)
    return reports


def _dlogp_reports(model: Model, point: dict) -> list[TermReport]:
    with np.errstate(all="ignore"):
        grads = model.compile_dlogp(as_dict=True)(point)
    reports = []
    for name, g in grads.items():
        g = np.asarray(g)
        ok = np.isfinite(g)
        rep = TermReport(name, "gradient", float(np.linalg.norm(g)), bool(ok.all()))
        if not rep.finite:
            where = _failing(ok, g.shape) if g.ndim else []
            rep.messages.append(
                f"the gradient w.r.t. {name} is not finite"
                + (f" at {where}" if where else "")
                + f": {_short(g)}"
            )
        reports.append(rep)
    return reports


def debug_model(
    model: Model,
    point: Mapping[str, Any] | None = None,
    fn: str = "logp",
    verbose: bool = False,
) -> list[TermReport]:
    """Print which terms of the log-density are not finite at ``point``, and why.

    Parameters
    ----------
    model : Model
    point : dict, optional
        Values of the value variables (unconstrained space, as
        ``model.initial_point()`` gives). Default: the initial point.
    fn : {"logp", "dlogp"}
        Check each term of the log-density, or the gradient w.r.t. each
        value variable. ``"random"`` (checking forward draws) is not
        implemented.
    verbose : bool
        Also print the terms that are finite, with their values.

    Returns
    -------
    list of TermReport
        One per term, finite or not (see :class:`TermReport`).

    Raises
    ------
    KeyError
        The point lacks a value variable.
    NotImplementedError
        ``fn="random"``.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.Normal("s", 0.0, 1.0)
    ...     y = ppl.Normal("y", 0.0, s, observed=[0.5])
    >>> reports = m.debug({"s": -2.0})
    debug at point {'s': -2.0}:
    y: logp = -inf
      - parameter condition 'sigma > 0' of Normal does not hold: sigma = -2 (from s)
    >>> [r.name for r in reports if not r.finite]
    ['y']
    """
    if fn not in FNS:
        raise ValueError(f"debug: fn must be one of {FNS}, got {fn!r}")
    if fn == "random":
        raise NotImplementedError(
            "debug(fn='random') is not implemented: check forward draws with "
            "ppl.sample_prior_predictive and look for non-finite values"
        )
    if point is None:
        point = model.initial_point()
    point = _check_point(model, point)
    shown = {k: np.round(v, 4).tolist() for k, v in point.items()}
    print(f"debug at point {shown}:")
    if fn == "dlogp":
        reports = _dlogp_reports(model, point)
    else:
        reports = _logp_reports(model, point)
    what = "log-density" if fn == "logp" else "gradient"
    for rep in reports:
        if rep.finite and not verbose:
            continue
        label = "logp" if fn == "logp" else "|grad|"
        print(f"{rep.name}: {label} = {rep.value:.6g}")
        for msg in rep.messages:
            print(f"  - {msg}")
    if all(r.finite for r in reports):
        print(f"no problems found: every term of the {what} is finite")
    return reports
