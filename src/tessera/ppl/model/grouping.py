"""Same-family scalar variables gathered into one vectorized log-density term.

A model of many scalar random variables of the same distribution (``x0 ~
Normal(...)``, ``x1 ~ Normal(...)``, ...) would otherwise get one small
log-density graph per variable: compile time and call time grow with the
number of variables times the size of that graph. Here such variables form a
:class:`ScalarGroup`, and the group's log-density is built once, on scalar
placeholders, and batched with :func:`~tessera.ops.vectorize.vectorize_graph`
over the vector of the group's values and the vectors of their parameters.

A parameter shared by every member (the same variable, or equal constants)
stays unbatched; one that is the constrained value of consecutive members of
a group becomes a slice of that group's vector (a chain ``x_i ~
Normal(x_{i-1}, 1)`` reads ``x[0:n-1]``); others are stacked. Each entry of
the batched term is the same computation as the variable's own term, so the
sum differs from the sum of per-variable terms only by the order of the
additions.

Only the summed log-density (``model.logp()``, ``model.dlogp()``, the flat
log-density and gradient) is grouped; per-variable terms (``sum=False``,
``point_logps``) are built one by one as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tessera.graph.basic import Constant, Variable
from tessera.ops.basic import as_tensor
from tessera.ops.join import concatenate
from tessera.ops.shape import make_vector
from tessera.ops.type import TensorType
from tessera.ppl.transforms.base import sum_trailing

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model
    from tessera.ppl.transforms.base import Transform

# groups smaller than this keep one term per variable
MIN_GROUP_SIZE = 2


@dataclass(eq=False)
class ScalarGroup:
    """Scalar random variables whose log-density terms are one computation.

    Attributes
    ----------
    rvs : list of Variable
        The registered RVs, in ``model.basic_RVs`` order.
    free : bool
        Free RVs (values are value variables) or observed ones (data).
    transform : Transform or None
        The transform every member shares (free RVs only).
    """

    rvs: list[Variable]
    free: bool
    transform: Transform | None

    @property
    def size(self) -> int:
        return len(self.rvs)


def _attr_key(value, depth: int = 0):
    """A hashable description of a transform's attribute; None where the
    attribute is a graph that only identity can compare."""
    if depth > 4:
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return (type(value).__name__, value)
    if isinstance(value, Constant):
        value = value.data
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        return ("array", arr.dtype.str, arr.shape, arr.tobytes())
    if isinstance(value, tuple | list):
        keys = tuple(_attr_key(v, depth + 1) for v in value)
        return None if None in keys else ("seq", keys)
    if hasattr(value, "__dict__") and not isinstance(value, Variable):
        return _object_key(value, depth + 1)
    return None


def _object_key(obj, depth: int = 0):
    items = []
    for name, v in sorted(vars(obj).items()):
        k = _attr_key(v, depth)
        if k is None:
            return None
        items.append((name, k))
    return (type(obj), tuple(items))


def _transform_key(t: Transform | None):
    if t is None:
        return None
    key = _object_key(t)
    # transforms holding graphs (bounds that are other variables) group only
    # with themselves
    return ("same", id(t)) if key is None else key


def _group_key(model: Model, rv: Variable, free: bool):
    node = rv.owner
    if node is None or rv.ndim != 0 or getattr(node.op, "ndim_supp", None) != 0:
        return None
    params = node.inputs[2:]
    if any(getattr(p, "ndim", None) != 0 for p in params):
        return None
    value = model.rvs_to_values[rv]
    if not isinstance(value.type, TensorType) or value.ndim != 0:
        return None
    t = model.rvs_to_transforms.get(rv) if free else None
    try:
        hash(node.op)
    except TypeError:
        return None
    return (node.op, free, value.type, tuple(p.type for p in params), _transform_key(t))


def scalar_groups(model: Model) -> tuple[list[ScalarGroup], list[Variable]]:
    """The model's groups of same-family scalar RVs, and the other RVs.

    Returns
    -------
    groups : list of ScalarGroup
        Groups of at least :data:`MIN_GROUP_SIZE` members, in the order of
        their first member.
    others : list of Variable
        The RVs in no group, in ``model.basic_RVs`` order.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     xs = [ppl.Normal(f"x{i}", 0.0, 1.0) for i in range(3)]
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> groups, others = scalar_groups(m)
    >>> [g.size for g in groups], [v.name for v in others]
    ([3], ['s'])
    """
    cached = model._cache.get("scalar_groups")
    if cached is not None:
        return cached
    by_key: dict = {}
    order: list = []
    free_rvs = set(model.free_RVs)
    for rv in model.basic_RVs:
        key = _group_key(model, rv, rv in free_rvs)
        if key is None:
            key = ("single", id(rv))
        if key not in by_key:
            by_key[key] = []
            order.append(key)
        by_key[key].append(rv)
    groups, others = [], []
    grouped: set = set()
    for key in order:
        members = by_key[key]
        if key[0] != "single" and len(members) >= MIN_GROUP_SIZE:
            free = key[1]
            t = model.rvs_to_transforms.get(members[0]) if free else None
            groups.append(ScalarGroup(members, free, t))
            grouped.update(members)
    others = [rv for rv in model.basic_RVs if rv not in grouped]
    model._cache["scalar_groups"] = (groups, others)
    return groups, others


def _all_same(items: Sequence[Variable]) -> bool:
    first = items[0]
    if all(i is first for i in items):
        return True
    if not all(isinstance(i, Constant) for i in items):
        return False
    a = np.asarray(first.data)
    return all(
        i.type == first.type and np.array_equal(np.asarray(i.data), a) for i in items
    )


def batch_scalars(
    items: Sequence[Variable], slices: Mapping[Variable, tuple[Variable, int]]
) -> Variable:
    """One vector of the scalar graphs ``items``, or one of them where all
    are the same.

    ``slices`` maps a variable to ``(vector, position)``: a run of items that
    are consecutive positions of one vector becomes a slice of it; a run of
    constants becomes one constant; anything else is stacked.
    """
    if _all_same(items):
        return items[0]
    dtype = items[0].dtype
    pieces: list[Variable] = []
    run: list = []  # the current run: ("vec", v, start, stop) or ("const", [...])

    def flush():
        if not run:
            return
        kind = run[0]
        if kind == "vec":
            _, vec, a, b = run
            pieces.append(vec if (a == 0 and b == vec.type.shape[0]) else vec[a:b])
        elif kind == "const":
            pieces.append(as_tensor(np.asarray(run[1], dtype=dtype)))
        else:
            pieces.append(make_vector(*run[1], dtype=dtype))
        run.clear()

    for item in items:
        at = slices.get(item)
        if at is not None and at[0].dtype == dtype:
            vec, j = at
            if run and run[0] == "vec" and run[1] is vec and run[3] == j:
                run[3] = j + 1
                continue
            flush()
            run.extend(["vec", vec, j, j + 1])
        elif isinstance(item, Constant):
            if not (run and run[0] == "const"):
                flush()
                run.extend(["const", []])
            run[1].append(np.asarray(item.data))
        else:
            if not (run and run[0] == "stack"):
                flush()
                run.extend(["stack", []])
            run[1].append(item)
    flush()
    return pieces[0] if len(pieces) == 1 else concatenate(pieces)


def group_logp(
    group: ScalarGroup,
    values: Variable,
    slices: Mapping[Variable, tuple[Variable, int]],
    jacobian: bool = True,
) -> Variable:
    """The log-density terms of ``group``'s members, a vector like ``values``.

    ``values`` is the vector of the members' values (unconstrained for free
    RVs, data for observed ones); parameters are in terms of the members'
    RVs, as in the model (the caller replaces RVs by values afterwards),
    except where ``slices`` gives an RV's constrained value as an entry of a
    vector (see :func:`batch_scalars`).
    """
    from tessera.ops.vectorize import vectorize_graph
    from tessera.ppl.distributions.logprob import op_logp

    first = group.rvs[0].owner
    t = group.transform
    v = values.type.clone(shape=())(name="value")
    params = [p.type() for p in first.inputs[2:]]
    constrained = v if t is None else t.backward(v)
    lp = op_logp(first.op, constrained, params)
    if jacobian and t is not None:
        jac = t.log_jac_det(v)
        if jac.ndim > lp.ndim:
            jac = sum_trailing(jac, jac.ndim - lp.ndim)
        elif jac.ndim < lp.ndim:
            lp = sum_trailing(lp, lp.ndim - jac.ndim)
        lp = lp + jac
    replace = {v: values}
    for k, p in enumerate(params):
        replace[p] = batch_scalars([rv.owner.inputs[2 + k] for rv in group.rvs], slices)
    out = vectorize_graph(lp, replace)
    if out.ndim == 0:  # nothing depended on the values (cannot happen for a density)
        from tessera.ops.shape import broadcast_to

        out = broadcast_to(out, (group.size,))
    return out


def group_vectors(
    model: Model, groups: Sequence[ScalarGroup], blocks: Mapping[ScalarGroup, Variable]
) -> tuple[dict, dict]:
    """The value vector of each group and where each member's constrained
    value sits in a vector.

    ``blocks`` gives the unconstrained value vector of free groups; observed
    groups get the vector of their data.

    Returns
    -------
    values : dict of ScalarGroup to Variable
    slices : dict of RV to (constrained vector, position)
    """
    from tessera.ops.shape import broadcast_to

    values, slices = {}, {}
    for g in groups:
        if g.free and g in blocks:
            vec = blocks[g]
        else:
            vec = batch_scalars([model.rvs_to_values[rv] for rv in g.rvs], {})
            if vec.ndim == 0:  # every member at the same value
                vec = broadcast_to(vec, (g.size,))
        cvec = vec if g.transform is None else g.transform.backward(vec)
        values[g] = vec
        for j, rv in enumerate(g.rvs):
            slices[rv] = (cvec, j)
    return values, slices
