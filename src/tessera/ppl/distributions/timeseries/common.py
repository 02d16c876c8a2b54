"""Pieces the time-series distributions share.

* :func:`resolve_steps`: the number of steps from ``steps`` or ``shape``
  (the time axis is the last axis before the event dims, as in PyMC), and
  the batch ``size`` that ``shape`` implies;
* :func:`embed` and :class:`Embedded`: a distribution used inside a time
  series (an ``init_dist``, a random walk's ``innovation_dist``): its op,
  its parameters broadcast so that they carry the batch of the
  ``.dist(...)`` variable it came from, the gufunc signature of those
  parameters inside the outer op, and its log-density, draws, moment and
  parameter conditions there;
* :func:`static_int`: an integer known at graph-build time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.shape import broadcast_to
from tessera.ops.signature import parse_signature
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import dist_of_op
from tessera.ppl.distributions.logprob import op_logp
from tessera.ppl.distributions.mv_util import as_float, draw_shape
from tessera.random.op import RandomVariable

__all__ = ["Embedded", "embed", "embedded_signature", "resolve_steps", "static_int"]


def static_int(who: str, what: str, value: Any) -> int:
    """``value`` as a Python int, known now (a literal or a constant graph).

    Examples
    --------
    >>> static_int("AR", "steps", np.int64(3))
    3
    """
    val = get_static_value(value) if isinstance(value, Variable) else value
    try:
        ok = val is not None and np.ndim(val) == 0 and float(val).is_integer()
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise TypeError(f"{who}: {what} must be an int known now, got {value!r}")
    return int(val)


def resolve_steps(
    who: str,
    steps: Any,
    shape: Any,
    size: Any,
    offset: int = 1,
    event_ndim: int = 0,
) -> tuple[int, Any]:
    """``(steps, size)`` from ``steps`` and/or ``shape``.

    ``shape`` is the full shape ``(*batch, steps + offset, *event)``: its
    time axis gives ``steps`` (checked against ``steps`` when both are given)
    and its leading axes the batch ``size``.

    Examples
    --------
    >>> resolve_steps("GaussianRandomWalk", None, (3, 11), None)
    (10, (3,))
    >>> resolve_steps("AR", 5, None, (2,), offset=2)
    (5, (2,))
    """
    if shape is not None:
        if size is not None:
            raise TypeError(f"{who}.dist: give size or shape, not both")
        shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
        if len(shape) < 1 + event_ndim:
            event = ", n" if event_ndim else ""
            raise ValueError(
                f"{who}: shape {shape} has no time axis; it must end with "
                f"(steps + {offset}{event})"
            )
        t_len = static_int(
            who, "the time length of shape", shape[len(shape) - 1 - event_ndim]
        )
        if steps is not None and static_int(who, "steps", steps) + offset != t_len:
            raise ValueError(
                f"{who}: steps={steps} does not match shape {shape}: its time "
                f"axis has length {t_len}, which must be steps + {offset}"
            )
        steps, size = t_len - offset, shape[: len(shape) - 1 - event_ndim]
    if steps is None:
        raise ValueError(f"{who}: give steps (or shape)")
    steps = static_int(who, "steps", steps)
    if steps < 1:
        raise ValueError(f"{who}: steps must be >= 1, got {steps}")
    return steps, size


def _names(dims: Sequence[str], rename: dict[str, str], suffix: str) -> list[str]:
    return [d if d.isdigit() else rename.get(d, f"{d}_{suffix}") for d in dims]


def embedded_signature(
    op: RandomVariable, event_names: Sequence[str], suffix: str
) -> list[str]:
    """Core dims of ``op``'s parameters inside an op whose event is ``event_names``.

    A univariate ``op`` filling the event has the event axes in front of
    each parameter's own core dims; an ``op`` with an event of its own has
    that event renamed to ``event_names``. Other dim names get ``suffix``.

    Examples
    --------
    >>> from tessera import ppl
    >>> embedded_signature(ppl.Normal.rv_op, ["3"], "init")
    ['(3)', '(3)']
    >>> embedded_signature(ppl.Categorical.rv_op, ["n"], "init")
    ['(n,k_init)']
    >>> embedded_signature(ppl.MvNormal.rv_op, ["n"], "init")
    ['(n)', '(n,n)']
    """
    sig = parse_signature(op.signature)
    if op.ndim_supp == 0:
        return [
            "(" + ",".join([*event_names, *_names(d, {}, suffix)]) + ")"
            for d in sig.inputs
        ]
    (out,) = sig.outputs
    rename = dict(zip(out, event_names))
    return ["(" + ",".join(_names(d, rename, suffix)) + ")" for d in sig.inputs]


@dataclass(frozen=True)
class Embedded:
    """A distribution inside a time series (see :func:`embed`).

    ``params`` are broadcast to ``(*batch, *event, *own core)`` when a
    univariate ``op`` fills the ``event_ndim`` event axes of the outer
    distribution, or to ``(*batch, *own core)`` otherwise.
    """

    op: RandomVariable
    params: tuple
    event_ndim: int


def embed(who: str, what: str, rv: Any, event: Sequence[Any] = ()) -> Embedded:
    """The op and parameters of a ``.dist(...)`` variable used inside ``who``.

    Parameters
    ----------
    who, what : str
        The outer distribution and the argument's name, for error messages.
    rv : TensorVariable
        An unregistered ``ppl.<Distribution>.dist(...)`` variable.
    event : sequence of int or scalar variable
        The event shape the variable fills. A univariate ``rv`` is broadcast
        over it: its last axis (if any) has the event's size or 1, the axes
        before it are batch axes. A ``rv`` with a vector event must have
        that event.

    Examples
    --------
    >>> from tessera import ppl
    >>> e = embed("AR", "init_dist", ppl.Normal.dist([0.0, 1.0], 1.0, size=(3, 2)), (2,))
    >>> [p.type.shape for p in e.params]
    [(3, 2), (3, 2)]
    """
    node = getattr(rv, "owner", None)
    if (
        node is None
        or not isinstance(node.op, RandomVariable)
        or rv is not node.outputs[1]
    ):
        raise TypeError(
            f"{who}: {what} must be a distribution made with "
            f"ppl.<Distribution>.dist(...), got {rv!r}"
        )
    _check_unregistered(who, what, rv)
    op = node.op
    k = len(event)
    shape = draw_shape(rv)
    if op.ndim_supp == 0:
        batch = shape
        if k:
            if len(shape) and not _fits(shape[-1], event[-1]):
                raise ValueError(
                    f"{who}: {what} must have trailing shape ({_show(event[-1])},) "
                    f"or (1,) (the event), got {rv.type.shape}; give it "
                    f"size=(..., {_show(event[-1])})"
                )
            batch = shape[:-1]
        params = [
            broadcast_to(p, (*batch, *event, *_core(p, nd)))
            for p, nd in zip(node.inputs[2:], op.ndims_params)
        ]
        return Embedded(op, tuple(params), k)
    if op.ndim_supp != k:
        raise ValueError(
            f"{who}: {what} must be univariate or have an event of {k} dims, "
            f"got {dist_of_op(op).__name__} with {op.ndim_supp}"
        )
    if not all(_fits(s, e, allow_one=False) for s, e in zip(shape[-k:], event)):
        raise ValueError(
            f"{who}: {what} has event shape {rv.type.shape[-k:]}, which does "
            f"not match the series' ({', '.join(map(_show, event))})"
        )
    batch = shape[:-k]
    params = [
        broadcast_to(p, (*batch, *_core(p, nd)))
        for p, nd in zip(node.inputs[2:], op.ndims_params)
    ]
    return Embedded(op, tuple(params), 0)


def _core(p: Variable, nd: int) -> list:
    return [
        p.type.shape[i] if p.type.shape[i] is not None else p.shape[i]
        for i in range(p.ndim - nd, p.ndim)
    ]


def _fits(size: Any, event: Any, allow_one: bool = True) -> bool:
    if not isinstance(size, int | np.integer) or not isinstance(
        event, int | np.integer
    ):
        return True  # symbolic: checked when the graph runs
    return size == event or (allow_one and size == 1)


def _show(d: Any) -> str:
    return str(d) if isinstance(d, int | np.integer) else "n"


def _check_unregistered(who: str, what: str, rv: Variable) -> None:
    from tessera.ppl.context import modelcontext_or_none

    model = modelcontext_or_none()
    if model is not None and rv in getattr(model, "basic_RVs", ()):
        raise TypeError(
            f"{who}: {what} {rv.name!r} is a registered model variable; pass an "
            "unregistered one, built with ppl.<Distribution>.dist(...)"
        )


# --- an embedded distribution at work, given its op and parameters ----------------
def embedded_logp(op: RandomVariable, value: Variable, params, event_ndim: int):
    """Log-density of ``value`` (event axes summed for a univariate ``op``)."""
    lp = op_logp(op, value, list(params))
    if op.ndim_supp == 0 and event_ndim:
        lp = lp.sum(axis=tuple(range(-event_ndim, 0)))
    return lp


def embedded_conditions(
    op: RandomVariable, params, event_ndim: int, what: str
) -> list[tuple[Variable, str]]:
    """``op``'s parameter conditions, reduced over the event axes, named."""
    out = []
    for cond, text in dist_of_op(op).node_param_conditions(op, list(params)):
        cond = as_tensor(cond)
        if op.ndim_supp == 0 and event_ndim and cond.ndim >= event_ndim:
            cond = cond.all(axis=tuple(range(-event_ndim, 0)))
        out.append((cond, f"{what}: {text}"))
    return out


def embedded_moment(op: RandomVariable, params) -> Variable:
    """``op``'s moment, as a float tensor."""
    return as_float(dist_of_op(op).node_moment(op, list(params)))


def embedded_draw(op: RandomVariable, rng, params, size: tuple, event: tuple):
    """NumPy draws of ``op`` of shape ``size + event`` (parameters as above)."""
    if op.ndim_supp == 0:
        return np.asarray(op.rng_fn(rng, *params, size=tuple(size) + tuple(event)))
    return np.asarray(op.rng_fn(rng, *params, size=tuple(size)))


def split_signature(op_sig: str) -> list[str]:
    """The argument strings of the inputs of a gufunc signature."""
    sig = parse_signature(op_sig)
    return ["(" + ",".join(d) + ")" for d in sig.inputs]
