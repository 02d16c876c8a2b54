"""Reverse-mode symbolic differentiation: grad, jacobian, hessian."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Variable
from tessera.graph.null import DisconnectedType, NonDifferentiable, disconnected
from tessera.graph.traversal import ancestors, toposort
from tessera.ops.basic import as_tensor, constant
from tessera.ops.elemwise import is_discrete


def _check_cotangent(node, k: int, inp: Variable, g) -> None:
    if not isinstance(g, Variable):
        raise TypeError(
            f"{node.op}.pullback returned {g!r} for input {k}; expected a Variable "
            "or a sentinel from tessera.graph.null"
        )
    if g.ndim != inp.ndim:
        raise ValueError(
            f"{node.op}.pullback returned a cotangent with {g.ndim} dims for "
            f"input {k} ({inp}), which has {inp.ndim}"
        )


def _sum(terms: list[Variable]) -> Variable:
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def pullback_graph(
    outputs: Sequence[Variable],
    cotangents: Sequence[Variable],
    wrt: Sequence[Variable],
) -> list[Variable | DisconnectedType | NonDifferentiable]:
    """Symbolic vector-Jacobian product of ``outputs`` at ``cotangents``.

    Returns one entry per ``wrt``: the summed cotangent, ``disconnected``, or
    a :class:`NonDifferentiable` naming the op when the outputs depend on that
    ``wrt`` only through integer or boolean values (e.g. ``argmax``, ``x > 0``).
    This is the engine behind :func:`grad`.
    """
    wrt = list(wrt)
    order = toposort(outputs)
    reach: set[Variable] = set(wrt)
    for node in order:
        if any(i in reach for i in node.inputs):
            reach.update(node.outputs)
    grads: dict[Variable, list[Variable]] = {}
    cut: list[Variable] = []
    for out, ct in zip(outputs, cotangents):
        if out in reach:
            grads.setdefault(out, []).append(ct)
    for node in reversed(order):
        if not any(o in grads for o in node.outputs):
            continue
        cts = [_sum(grads[o]) if o in grads else disconnected for o in node.outputs]
        results = node.op.pullback(node.inputs, node.outputs, cts)
        if len(results) != len(node.inputs):
            raise ValueError(
                f"{node.op}.pullback returned {len(results)} cotangents for "
                f"{len(node.inputs)} inputs"
            )
        for k, (inp, g) in enumerate(zip(node.inputs, results)):
            if inp not in reach or isinstance(g, DisconnectedType):
                continue
            if is_discrete(inp):
                # no gradient flows through integer values; remember where the
                # path was cut to explain a wrt that gets no gradient at all
                cut.append(inp)
                continue
            if isinstance(g, NonDifferentiable):
                raise ValueError(
                    f"gradient is not defined through {g.op} (input {k}: {inp})"
                    + (f": {g.reason}" if g.reason else "")
                )
            _check_cotangent(node, k, inp, g)
            grads.setdefault(inp, []).append(g)
    return [_sum(grads[w]) if w in grads else _blocked_path(w, cut, reach) for w in wrt]


def _blocked_path(w: Variable, cut: list[Variable], reach: set[Variable]):
    """Why ``w`` got no gradient: the op that turned a value depending on
    ``w`` into an integer one, as a NonDifferentiable, or ``disconnected``."""
    stack = [c for c in cut if w in ancestors(c)]
    seen: set[Variable] = set()
    while stack:
        v = stack.pop()
        if v in seen or v.owner is None:
            continue
        seen.add(v)
        node = v.owner
        sources = [
            k
            for k, i in enumerate(node.inputs)
            if i in reach and not is_discrete(i) and w in ancestors(i)
        ]
        if sources:
            try:
                results = node.op.pullback(
                    node.inputs, node.outputs, [disconnected] * len(node.outputs)
                )
            except Exception:
                results = [None] * len(node.inputs)
            for k in sources:
                r = results[k]
                if isinstance(r, NonDifferentiable):
                    return r
                if not isinstance(r, DisconnectedType):
                    return NonDifferentiable(node.op, f"its output {v} is {v.dtype}")
        stack.extend(i for i in node.inputs if i in reach and is_discrete(i))
    return disconnected


def _wrt_list(who: str, wrt) -> tuple[bool, list]:
    """``(single, list)`` of ``wrt``: a variable or a sequence of variables."""
    if isinstance(wrt, Variable):
        return True, [wrt]
    from collections.abc import Iterable

    if not isinstance(wrt, Iterable) or isinstance(wrt, str | bytes | np.ndarray):
        raise TypeError(
            f"{who}: wrt must be a variable or a list of variables, got "
            f"{type(wrt).__name__} {wrt!r}; to differentiate at a value, make a "
            "symbolic input (ts.scalar, ts.tensor), differentiate with respect to "
            "it and evaluate at the value"
        )
    wrt = list(wrt)
    for w in wrt:
        if not isinstance(w, Variable):
            raise TypeError(
                f"{who}: wrt must be variables, got {type(w).__name__} {w!r}"
            )
    return False, wrt


def grad(
    cost: Variable,
    wrt: Variable | Sequence[Variable],
    disconnected: str = "raise",
):
    """Symbolic gradient of a scalar ``cost`` with respect to ``wrt``.

    Parameters
    ----------
    cost : scalar TensorVariable
    wrt : TensorVariable or sequence of them
    disconnected : {"raise", "zero"}
        What to do when ``cost`` does not depend on a ``wrt`` variable.

    Returns
    -------
    TensorVariable or list of them (matching ``wrt``), each with the shape
    of its ``wrt``.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,))
    >>> g = ts.grad((x ** 2).sum(), x)
    >>> g.eval({x: [1.0, 2.0, 3.0]})
    array([2., 4., 6.])
    """
    if disconnected not in ("raise", "zero"):
        raise ValueError(
            f"disconnected must be 'raise' or 'zero', not {disconnected!r}"
        )
    cost = as_tensor(cost)
    if cost.ndim != 0:
        raise ValueError(
            f"grad: cost must be a scalar, got {cost.ndim} dims; sum it or use "
            "tessera.jacobian"
        )
    if is_discrete(cost):
        raise TypeError(f"grad: cost {cost} has integer dtype {cost.dtype}")
    single, wrt_list = _wrt_list("grad", wrt)
    for w in wrt_list:
        if is_discrete(w):
            raise TypeError(
                f"grad: cannot differentiate with respect to {w} of dtype {w.dtype}"
            )
    seed = constant(np.ones((), dtype=cost.dtype))
    results = pullback_graph([cost], [seed], wrt_list)
    out = []
    for w, g in zip(wrt_list, results):
        if isinstance(g, NonDifferentiable):
            raise ValueError(
                f"grad: cost depends on {w} only through {g.op}, which is not "
                "differentiable" + (f" ({g.reason})" if g.reason else "")
            )
        if isinstance(g, DisconnectedType):
            if disconnected == "raise":
                raise ValueError(
                    f"grad: cost does not depend on {w} (pass disconnected='zero' "
                    "to get zeros)"
                )
            from tessera.ops.creation import zeros_like

            g = zeros_like(w)
        elif g.dtype != w.dtype:
            from tessera.ops.math import cast

            g = cast(g, w.dtype)
        out.append(g)
    return out[0] if single else out


def jacobian(expression: Variable, wrt, disconnected: str = "raise"):
    """Jacobian of ``expression`` with respect to ``wrt``.

    The result has shape ``expression.shape + wrt.shape``. One symbolic
    vector-Jacobian product is built and vectorized over the rows of an
    identity matrix (:func:`tessera.vectorize_graph`), so all rows are
    computed in one batched pass and shapes may be unknown until run time.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2,))
    >>> ts.jacobian(x ** 2, x).eval({x: [1.0, 3.0]})
    array([[2., 0.],
           [0., 6.]])
    """
    from tessera.ops.creation import eye
    from tessera.ops.shape import (
        broadcast_to,
        concatenate,
        expand_dims,
        reshape,
        shape,
        shape_i,
    )
    from tessera.ops.type import TensorType
    from tessera.ops.vectorize import vectorize_graph

    expression = as_tensor(expression)
    single, wrt_list = _wrt_list("jacobian", wrt)
    if expression.ndim == 0:
        rows = grad(expression, wrt_list, disconnected=disconnected)
        return rows[0] if single else rows
    if is_discrete(expression):
        raise TypeError(f"jacobian: {expression} has integer dtype {expression.dtype}")
    flat = reshape(expression, (-1,))
    n = flat.type.shape[0]
    cot = TensorType(flat.dtype, (n,)).make_variable("cotangent")
    vjps = pullback_graph([flat], [cot], wrt_list)
    basis = eye(n if n is not None else shape_i(flat, 0), dtype=flat.dtype)
    out = []
    for w, g in zip(wrt_list, vjps):
        target = concatenate([shape(expression), shape(w)])
        if isinstance(g, DisconnectedType):
            if disconnected == "raise":
                raise ValueError(
                    f"jacobian: {expression} does not depend on {w} (pass "
                    "disconnected='zero' to get zeros)"
                )
            from tessera.ops.creation import zeros

            out.append(zeros(target, dtype=w.dtype))
            continue
        rows = vectorize_graph(g, {cot: basis})
        if rows.ndim == w.ndim:  # the vjp does not depend on the cotangent
            rows = broadcast_to(
                expand_dims(rows, 0), concatenate([shape(flat), shape(w)])
            )
        if rows.dtype != w.dtype:
            from tessera.ops.math import cast

            rows = cast(rows, w.dtype)
        out.append(reshape(rows, target))
    return out[0] if single else out


def hessian(cost: Variable, wrt, disconnected: str = "raise"):
    """Hessian of a scalar ``cost``: the jacobian of its gradient.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2,))
    >>> ts.hessian((x ** 3).sum(), x).eval({x: [1.0, 2.0]})
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    single, wrt_list = _wrt_list("hessian", wrt)
    gs = grad(cost, wrt_list, disconnected=disconnected)
    out = [jacobian(g, w, disconnected="zero") for g, w in zip(gs, wrt_list)]
    return out[0] if single else out
