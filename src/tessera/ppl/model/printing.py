"""Text summary of a model: one line per variable.

``name ~ Distribution(params)   dims=(...) shape=(...)``, where a parameter
shows as a number, the name of a model variable, or ``f(a, b)`` for an
expression of model variables ``a`` and ``b``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tessera.graph.basic import Constant, Variable
from tessera.graph.traversal import ancestors
from tessera.ops.static import get_static_value

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model


def _number(x) -> str:
    x = np.asarray(x)
    if x.size == 1:
        v = x.reshape(()).item()
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)
    if x.size <= 4:
        return "[" + ", ".join(_number(v) for v in x.ravel()) + "]"
    return f"<array {x.shape}>"


def _param_str(model: Model, p: Variable, top: bool = False) -> str:
    named = model.named_vars
    if not top and p.name is not None and named.get(p.name) is p:
        return p.name
    if isinstance(p, Constant):
        return _number(p.data)
    blockers = [v for v in named.values() if v is not p]
    names = []
    for v in ancestors([p], blockers=blockers):
        if v is p:
            continue
        if v.name is not None and named.get(v.name) is v and v.name not in names:
            names.append(v.name)
    if not names:
        val = get_static_value(p)
        if val is not None:
            return _number(val)
    return f"f({', '.join(names)})"


def _current_shapes(model: Model) -> dict[str, tuple]:
    """Shapes of variables with unknown static sizes (data-sized), evaluated."""
    from tessera.compile.function import function
    from tessera.ops.shape import shape as ts_shape

    unknown = [
        (n, v)
        for n, v in model.named_vars.items()
        if None in v.type.shape and n not in model.named_vars_to_dims
    ]
    if not unknown:
        return {}
    try:
        values = function([], [ts_shape(v) for _, v in unknown])()
    except Exception:  # a shape that needs values: shown as '?'
        return {}
    return {n: tuple(int(d) for d in val) for (n, _), val in zip(unknown, values)}


def _shape_str(model: Model, name: str, var: Variable, current: dict) -> str:
    dims = model.named_vars_to_dims.get(name)
    if dims is not None:
        shape = tuple(model.dim_lengths[d] for d in dims)
    elif name in current:
        shape = current[name]
    else:
        shape = tuple("?" if s is None else s for s in var.type.shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


def describe(model: Model, name: str) -> str:
    """``Distribution(params)`` (or ``Deterministic(f(...))``, ...) of ``name``."""
    var = model[name]
    kind = model.kind(name)
    if kind in ("free", "observed"):
        from tessera.ppl.distributions.base import dist_of

        cls = dist_of(var)
        args = ", ".join(_param_str(model, p) for p in var.owner.inputs[2:])
        return f"{cls.__name__}({args})"
    if kind == "data":
        return "Data"
    label = "Deterministic" if kind == "deterministic" else "Potential"
    return f"{label}({_param_str(model, var, top=True)})"


def model_str(model: Model) -> str:
    """The model's summary (also ``str(model)``)."""
    if not model.named_vars:
        return "<empty Model>"
    rows = []
    current = _current_shapes(model)
    for name, var in model.named_vars.items():
        dims = model.named_vars_to_dims.get(name)
        dims_s = f"dims=({', '.join(dims)},)" if dims and len(dims) == 1 else ""
        if dims and len(dims) > 1:
            dims_s = f"dims=({', '.join(dims)})"
        extra = " observed" if model.kind(name) == "observed" else ""
        rows.append(
            (
                name,
                describe(model, name),
                dims_s,
                f"shape={_shape_str(model, name, var, current)}",
            )
            + (extra,)
        )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    lines = [
        f"{n:>{w0}} ~ {d:<{w1}} {dm:<{w2}} {s}{e}".rstrip() for n, d, dm, s, e in rows
    ]
    return "\n".join(lines)
