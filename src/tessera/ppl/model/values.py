"""Value variables, transforms and observed data of registered variables.

A free random variable's *value variable* lives on the unconstrained space
of its transform (named ``<name>_<transform>__``); observed data become
constants, or stay the shared variable of a ``ppl.Data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.type import TensorType, shape_str
from tessera.ppl.transforms import Chain, Transform, get_transform


def observed_input(model, name: str, cls, observed: Any):
    """The data variable of ``observed`` and the shape it gives the variable.

    Arrays are checked (no NaN, integers for discrete distributions) and
    become constants; a ``ppl.Data`` variable of ``model`` is used as is
    (its symbolic shape follows ``set_data``), and so is an expression of
    shared data and constants (a ``ppl.Minibatch``, ``data[index]``).
    """
    if isinstance(observed, Variable):
        return _observed_graph(model, name, observed)
    return observed_array(name, observed, _class_out_dtype(cls), cls.__name__)


def observed_array(
    name: str, observed: Any, out_dtype: str | None, what: str = "the distribution"
) -> tuple[Variable, tuple]:
    """Observed data ``observed`` of variable ``name`` as a constant of ``out_dtype``.

    Checks there are no NaNs and, for an integer ``out_dtype``, that the
    values are integers (``what`` names the distribution in that error).
    With ``out_dtype=None`` (a distribution whose op is built per call and
    does not say its dtype) integer data become int64 and float data
    ``config.floatX``.

    Examples
    --------
    >>> var, shape = observed_array("y", [1.0, 2.0], "int64")
    >>> var.dtype, shape
    ('int64', (2,))
    """
    if np.ma.isMaskedArray(observed):
        raise ValueError(
            f"observed data of {name!r} is a masked array; missing values are "
            "not supported (drop them or model them as free variables)"
        )
    arr = np.asarray(observed)
    if arr.dtype == object:
        raise TypeError(f"observed data of {name!r}: cannot convert to numbers")
    if arr.dtype.kind not in "biuf":
        what = "strings" if arr.dtype.kind in "US" else f"dtype {arr.dtype}"
        raise TypeError(
            f"observed data of {name!r} must be numbers (booleans, integers or "
            f"floats), got {what}"
        )
    check_no_nan(name, arr)
    if out_dtype is None:
        from tessera.config import config

        out_dtype = "int64" if arr.dtype.kind in "biu" else config.floatX
    if out_dtype.startswith(("int", "uint")):
        if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
            raise ValueError(
                f"observed data of {name!r} must be integers ({what} is discrete)"
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "biu":
        arr = arr.astype(out_dtype)
    return as_tensor(arr), arr.shape


def _class_out_dtype(cls) -> str | None:
    """The draw dtype of ``cls`` when its op is fixed (a class attribute).

    None for distributions whose op is built per call (no ``rv_op`` of their
    own, or one marked ``per_call_op``).
    """
    if getattr(cls, "per_call_op", False):
        return None
    op = getattr(cls, "rv_op", None)
    return None if op is None else op.out_dtype()


def _observed_graph(model, name: str, observed: Variable):
    from tessera.graph.basic import Constant, SharedValue
    from tessera.graph.traversal import graph_inputs, toposort
    from tessera.ops.shape import shape_tuple
    from tessera.random.op import RandomVariable

    if observed.name in model.named_vars and observed not in model.data_vars:
        raise TypeError(
            f"variable {name!r}: observed is the model variable {observed.name!r}; "
            "observed values must be data"
        )
    for v in graph_inputs([observed]):
        if not isinstance(v, Constant | SharedValue):
            what = "is" if v is observed else f"{observed} depends on"
            raise TypeError(
                f"variable {name!r}: observed must be an array, a ppl.Data "
                f"variable or an expression of data; {what} the free input {v}"
            )
        if isinstance(v, SharedValue) and hasattr(v, "get_value"):
            check_no_nan(name, v.get_value(borrow=True))
            if v in model.data_vars:
                model._observed_data[v.name] = name
    for node in toposort([observed]):
        if isinstance(node.op, RandomVariable):
            raise TypeError(
                f"variable {name!r}: observed depends on the random variable "
                f"{node.outputs[1]}; observed values must be data"
            )
    return observed, shape_tuple(observed)


def check_no_nan(name: str, arr: Any) -> None:
    """Raise a ValueError naming ``name`` if ``arr`` has NaN entries."""
    arr = np.asarray(arr)
    if arr.dtype.kind in "fc":
        bad = np.isnan(arr)
        if bad.any():
            where = np.argwhere(bad)[:3].tolist()
            raise ValueError(
                f"observed data of {name!r} contains {int(bad.sum())} NaN values "
                f"(first at index {where}); missing values are not supported"
            )


def _data_array(name: str, value: Any) -> np.ndarray:
    from tessera.config import config

    if isinstance(value, Variable):
        raise TypeError(f"Data {name!r}: expected an array, got a variable {value}")
    arr = np.array(value)
    if arr.dtype.kind == "f":
        arr = arr.astype(config.floatX)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind != "b":
        raise TypeError(
            f"Data {name!r}: expected numeric data, got dtype {arr.dtype.name}"
        )
    return arr


def _bound_params(rv: Variable, key: Any) -> dict:
    if key in ("interval", "lowerbound", "upperbound"):
        from tessera.ppl.distributions.base import dist_of

        node = rv.owner
        lower, upper = dist_of(rv).node_support_bounds(node.op, node.inputs[2:])
        if key == "interval":
            return {"lower": lower, "upper": upper}
        return {"lower": lower} if key == "lowerbound" else {"upper": upper}
    return {}


def default_transform_of(rv: Variable) -> Transform | None:
    """The transform a model uses for a free ``rv`` by default.

    From the distribution's ``default_transform`` key (bounds of
    ``"interval"`` from its support); a distribution may add transform
    parameters with a classmethod ``_default_transform_params(*params)``.

    Examples
    --------
    >>> from tessera import ppl
    >>> default_transform_of(ppl.Uniform.dist(0.0, 2.0))
    IntervalTransform(lower=0.0, upper=2.0)
    """
    from tessera.ppl.distributions.base import dist_of

    cls = dist_of(rv)
    key = cls.default_transform
    if key is None:
        return None
    if not isinstance(key, str):
        return get_transform(key)
    params = _bound_params(rv, key)
    extra = getattr(cls, "_default_transform_params", None)
    if extra is not None:
        params.update(extra(*rv.owner.inputs[2:]))
    # node-level form, for parameters held by the op (ZeroSumNormal's axes)
    node_extra = getattr(cls, "node_transform_kwargs", None)
    if node_extra is not None:
        params.update(node_extra(rv.owner.op, rv.owner.inputs[2:]))
    return get_transform(key, **params)


#: ``transform=`` not given: the distribution's default transform.
UNSET: Any = object()


class TransformChoice:
    """Both transform keywords of ``Dist("name", ..., transform=, default_transform=)``.

    ``Distribution.__new__`` passes this as ``transform=`` when
    ``default_transform=`` is given; :func:`chosen_transform` unpacks it.

    Examples
    --------
    >>> TransformChoice(UNSET, None).default is None
    True
    """

    def __init__(self, transform: Any, default: Any):
        self.transform = transform
        self.default = default


def _resolve(rv: Variable, key: Any) -> Transform | None:
    if key is None or isinstance(key, Transform):
        return key
    return get_transform(key, **_bound_params(rv, key))


def chosen_transform(rv: Variable, transform: Any) -> Transform | None:
    """The transform of a free variable given the transform keywords.

    As in PyMC: ``default_transform`` (:data:`UNSET`: the distribution's
    own; None: none; a :class:`Transform` or a key) is the map to the
    unconstrained space, and ``transform``, when given, is applied after it
    (composed with :class:`~tessera.ppl.transforms.Chain`), or instead of
    it when it is of the same kind (a ``transform="log"`` on a positive
    distribution is its default again). ``transform=None`` disables the
    transforms. Keys (``"log"``, ``"interval"``, ...) are bounded by the
    distribution's support where they need bounds.

    Examples
    --------
    >>> from tessera import ppl
    >>> from tessera.ppl.distributions import transforms
    >>> chosen_transform(ppl.HalfNormal.dist(1.0), UNSET).name
    'log'
    >>> chosen_transform(ppl.HalfNormal.dist(1.0, size=3), transforms.ordered).name
    'log_ordered'
    >>> chosen_transform(ppl.HalfNormal.dist(1.0), TransformChoice(UNSET, None))
    """
    default: Any = UNSET
    if isinstance(transform, TransformChoice):
        transform, default = transform.transform, transform.default
    if transform is None:
        return None
    if default is UNSET:
        if transform is not UNSET:
            try:
                default = default_transform_of(rv)
            except (TypeError, ValueError, NotImplementedError):
                # a default that cannot be built here (sizes known only at
                # run time) is replaced by the explicit transform
                default = None
        else:
            default = default_transform_of(rv)
    else:
        default = _resolve(rv, default)
    if transform is UNSET:
        return default
    extra = _resolve(rv, transform)
    if default is None or type(extra) is type(default):
        return extra
    return Chain(default, extra)


def checked_total_size(name: str, total_size: Any, obs_var: Variable | None) -> int:
    """``total_size`` of variable ``name`` as an int; only observed ones take one.

    Examples
    --------
    >>> checked_total_size("y", 1000, obs_var=object())
    1000
    """
    if obs_var is None:
        raise ValueError(f"variable {name!r}: total_size applies to observed variables")
    if isinstance(total_size, bool) or not isinstance(total_size, int | np.integer):
        raise TypeError(
            f"variable {name!r}: total_size must be an int, got {total_size!r}"
        )
    return int(total_size)


def _value_variable(name: str, rv: Variable, t: Transform | None) -> Variable:
    if t is None:
        return TensorType(rv.dtype, rv.type.shape)(name=name)
    if rv.dtype.startswith(("int", "uint", "bool")):
        raise TypeError(
            f"variable {name!r}: discrete values cannot be transformed ({t!r})"
        )
    try:
        shape = t.forward(TensorType(rv.dtype, rv.type.shape)()).type.shape
    except (ValueError, TypeError):
        shape = (None,) * (rv.ndim - t.ndim_supp + t.ndim_unconstrained)
    return TensorType(rv.dtype, shape)(name=f"{name}_{t.name}__")


def _check_initval(
    name: str, rv: Variable, initval: Any, t: Transform | None = None
) -> np.ndarray:
    """``initval`` of free variable ``name`` as an array, checked.

    It must broadcast to the variable's shape (without growing it), be
    finite, and, where the distribution's parameters are constants, lie in
    the support and map to a finite unconstrained value through ``t``;
    each failure raises a ValueError naming the variable.
    """
    if isinstance(initval, Variable):
        raise TypeError(
            f"variable {name!r}: initval must be an array, got the variable {initval}"
        )
    try:
        arr = np.asarray(initval, dtype=rv.dtype)
    except (TypeError, ValueError):
        raise TypeError(
            f"variable {name!r}: initval {initval!r} cannot be converted to {rv.dtype}"
        ) from None
    static = tuple(1 if s is None else s for s in rv.type.shape)
    try:
        shape = np.broadcast_shapes(arr.shape, static)
    except ValueError:
        shape = None
    if (
        shape is None
        or len(shape) != len(static)
        or any(s is not None and d != s for d, s in zip(shape, rv.type.shape))
    ):
        raise ValueError(
            f"variable {name!r}: initval of shape {arr.shape} does not broadcast "
            f"to its shape {shape_str(rv.type.shape)}"
        )
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"variable {name!r}: initval is not finite: {arr!r}")
    _check_initval_support(name, rv, arr, t)
    return arr


def _check_initval_support(
    name: str, rv: Variable, arr: np.ndarray, t: Transform | None
) -> None:
    """Raise if ``arr`` is outside the support of ``rv`` (known statically)."""
    from tessera.ops.basic import constant
    from tessera.ops.static import get_static_value
    from tessera.ppl.distributions.base import dist_of

    node = rv.owner
    try:
        dist = dist_of(rv)
    except (TypeError, ValueError, AttributeError):
        return
    value = constant(arr)
    try:
        mask = dist.node_support_mask(node.op, value, node.inputs[2:])
    except (TypeError, ValueError, NotImplementedError):
        mask = None
    inside = None if mask is None else get_static_value(mask)
    if inside is not None and not np.all(inside):
        where = ""
        if np.ndim(inside):
            bad = np.argwhere(~np.broadcast_to(inside, np.shape(inside)))
            where = f" (first at index {tuple(int(i) for i in bad[0])})"
        raise ValueError(
            f"variable {name!r}: initval is outside the support of "
            f"{dist.__name__}{where}"
        )
    if t is None or arr.dtype.kind != "f":
        return
    try:
        forward = get_static_value(t.forward(value))
    except (TypeError, ValueError, NotImplementedError):
        return
    if forward is not None and not np.all(np.isfinite(forward)):
        raise ValueError(
            f"variable {name!r}: initval is outside the support of "
            f"{dist.__name__} (its {t.name} transform maps it to a non-finite "
            "value)"
        )
