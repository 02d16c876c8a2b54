"""Flat vectors: the layout of points as float64 vectors, the flat
log-density-and-gradient function, and batched constrained draws.

A *point* is a dict of value-variable name to array (unconstrained). Its
flat vector is the concatenation of its raveled (C order) continuous value
variables in ``model.value_vars`` order, as float64 (:class:`FlatLayout`).
:class:`FlatLogpDlogp` is the log-density and gradient over that vector,
compiled once: what NUTS (nutpie), MAP and ADVI call.
:class:`ConstrainedDraws` maps batches of flat vectors to the values a
posterior records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.graph.traversal import clone_replace, graph_inputs
from tessera.ops.basic import as_tensor
from tessera.ops.join import concatenate
from tessera.ops.type import TensorType
from tessera.ppl.model.compile import (
    _continuous_values,
    replace_rvs_by_values,
    summed_logp,
)

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model


@dataclass(frozen=True)
class FlatLayout:
    """How points map to flat float64 vectors.

    ``x[slices[k]].reshape(shapes[k])`` is the value of ``names[k]``; the
    names are the continuous value variables in ``model.value_vars`` order
    (discrete free variables have no place in the vector).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     a = ppl.Normal("a", 0.0, 1.0, shape=(2, 2))
    ...     b = ppl.HalfNormal("b", 1.0)
    >>> lay = m.flat_layout()
    >>> lay.names, lay.shapes, lay.size
    (('a', 'b_log__'), ((2, 2), ()), 5)
    >>> x = lay.point_to_array({"a": [[1, 2], [3, 4]], "b_log__": 5.0})
    >>> x
    array([1., 2., 3., 4., 5.])
    >>> lay.array_to_point(x)["a"]
    array([[1., 2.],
           [3., 4.]])
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s, dtype=np.int64)) for s in self.shapes)

    @property
    def slices(self) -> tuple[slice, ...]:
        out, start = [], 0
        for n in self.sizes:
            out.append(slice(start, start + n))
            start += n
        return tuple(out)

    @property
    def size(self) -> int:
        return int(sum(self.sizes))

    def point_to_array(self, point: Mapping[str, Any]) -> np.ndarray:
        """The flat float64 vector of ``point`` (extra keys are ignored)."""
        parts = []
        for name, shape in zip(self.names, self.shapes):
            if name not in point:
                raise KeyError(f"the point has no value for {name!r}")
            v = np.asarray(point[name], dtype=np.float64)
            if v.shape != shape:
                raise ValueError(
                    f"value of {name!r} has shape {v.shape}, expected {shape}"
                )
            parts.append(v.ravel())
        return np.concatenate(parts) if parts else np.zeros(0)

    def array_to_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The point of a flat vector (arrays of each value variable's dtype)."""
        x = np.asarray(x)
        if x.shape != (self.size,):
            raise ValueError(
                f"expected a vector of shape ({self.size},), got {x.shape}"
            )
        return {
            n: x[s].reshape(shape).astype(dt)
            for n, s, shape, dt in zip(
                self.names, self.slices, self.shapes, self.dtypes
            )
        }


def flat_layout(model: Model) -> FlatLayout:
    """The :class:`FlatLayout` of the model's current value variables."""
    cached = model._cache.get("layout")
    if cached is not None:
        return cached
    values = _continuous_values(model)
    shapes: list = [v.type.shape for v in values]
    unknown = [k for k, s in enumerate(shapes) if None in s]
    if unknown:
        # sizes that follow data or symbolic sizes: evaluate them now
        from tessera.compile.function import function

        graphs = []
        for k in unknown:
            rv = model.values_to_rvs[values[k]]
            t = model.rvs_to_transforms[rv]
            shp = tuple(rv.shape[i] for i in range(rv.ndim))
            if t is not None:
                try:
                    shp = t.unconstrained_shape(shp)
                except ValueError as e:
                    sized = f"{type(t).__name__}(n=...)" if hasattr(t, "n") else "..."
                    raise ValueError(
                        f"variable {rv.name!r}: {e}. Its transform needs the size "
                        "of the value when the model is built: give the "
                        "distribution's parameters static shapes (e.g. NumPy "
                        "arrays rather than ppl.Data), or pass the transform "
                        f"with its size (transform={sized})"
                    ) from e
            graphs.extend(as_tensor(s) for s in shp)
        got = iter(function([], graphs, rewrites="fast_run")() if graphs else [])
        for k in unknown:
            shapes[k] = tuple(int(next(got)) for _ in shapes[k])
    layout = FlatLayout(
        tuple(v.name for v in values),
        tuple(tuple(int(d) for d in s) for s in shapes),
        tuple(v.dtype for v in values),
    )
    model._cache["layout"] = layout
    return layout


def _flat_input_replacements(
    layout: FlatLayout, values, x: Variable, skip: set | frozenset = frozenset()
) -> dict:
    repl = {}
    for v, sl, shape in zip(values, layout.slices, layout.shapes):
        if v in skip:
            continue
        part = x[sl].reshape(shape)
        if v.dtype != "float64":
            part = part.astype(v.dtype)
        repl[v] = part
    return repl


def _index(x: Variable, positions: list[int]) -> Variable:
    """``x[positions]``: a slice where the positions are a run."""
    a = positions[0]
    if positions == list(range(a, a + len(positions))):
        return x[a : a + len(positions)]
    return x[np.asarray(positions, dtype=np.int64)]


def flat_logp_dlogp(
    model: Model, layout: FlatLayout, x: Variable, jacobian: bool = True
) -> tuple[Variable, Variable]:
    """The model's log-density and its gradient as graphs of the flat vector
    ``x`` (see :class:`FlatLayout`).

    Same-family scalar RVs (:func:`~tessera.ppl.model.grouping.scalar_groups`)
    read their values as one slice of ``x`` and get their gradient as one
    vector; the gradient is taken with respect to those vectors and to the
    other value variables, then laid out in ``x``'s order.
    """
    from tessera.grad import grad
    from tessera.ppl.model.grouping import scalar_groups

    values = _continuous_values(model)
    position = {v: k for k, v in enumerate(values)}
    groups, _ = scalar_groups(model)
    blocks: dict = {}
    for g in groups:
        if g.free:
            dtype = model.rvs_to_values[g.rvs[0]].dtype
            blocks[g] = TensorType(dtype, (g.size,))(name=f"{g.rvs[0].name}_group")
    lp = summed_logp(model, jacobian, blocks)
    # a grouped value variable still read alone (by another term) is an entry
    # of its group's vector
    in_block, repl = {}, {}
    for g, vec in blocks.items():
        for j, rv in enumerate(g.rvs):
            in_block[model.rvs_to_values[rv]] = (vec, j)
    if in_block:
        for v in graph_inputs(lp):
            if v in in_block:
                vec, j = in_block[v]
                repl[v] = vec[j]
    if repl:
        lp = clone_replace(lp, repl)
    wrt = [vec for g, vec in blocks.items() if vec.dtype.startswith("float")]
    wrt += [v for v in values if v not in in_block]
    if not wrt:
        return lp, as_tensor(np.zeros(0))
    grads = grad(lp, wrt, disconnected="zero")
    # each wrt's entries in x; the gradients in x's order
    slices = layout.slices
    places, parts = [], []
    for w, gw in zip(wrt, grads):
        if w in position:
            sl = slices[position[w]]
            places.extend(range(sl.start, sl.stop))
        else:
            g = next(g for g, vec in blocks.items() if vec is w)
            places.extend(
                slices[position[model.rvs_to_values[rv]]].start for rv in g.rvs
            )
        parts.append(gw.reshape((-1,)).astype("float64"))
    flat = parts[0] if len(parts) == 1 else concatenate(parts)
    if places != list(range(len(places))):
        order = np.empty(len(places), dtype=np.int64)
        order[np.asarray(places, dtype=np.int64)] = np.arange(len(places))
        flat = flat[order]
    # the inputs: slices of x
    inputs = _flat_input_replacements(
        layout, values, x, skip={v for v in values if v in in_block}
    )
    for g, vec in blocks.items():
        positions = [slices[position[model.rvs_to_values[rv]]].start for rv in g.rvs]
        part = _index(x, positions)
        inputs[vec] = part if vec.dtype == "float64" else part.astype(vec.dtype)
    lp, flat = clone_replace([lp, flat], inputs)
    return lp, flat


class FlatLogpDlogp:
    """The model's log-density and gradient over a flat vector, compiled once.

    ``f(x) -> (logp, grad)`` with ``x`` a float64 vector of
    ``layout.size`` entries (see :class:`FlatLayout`), ``logp`` a Python
    float and ``grad`` a float64 vector like ``x``. One compiled call
    computes both; nothing else happens per call.

    Parameters
    ----------
    model : Model
    jacobian : bool
        Include the transforms' log-det-Jacobians (needed for sampling on
        the unconstrained space; MAP estimates in the constrained space
        drop them).
    backend : str
        Passed to :func:`tessera.function`.

    Attributes
    ----------
    layout : FlatLayout
    size : int
    fn : tessera.Function
        The compiled function, ``fn(x) -> [logp array, grad]``.

    Raises
    ------
    TypeError
        If the model has discrete free variables (no gradient).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=2)
    >>> f = m.logp_dlogp_function()
    >>> lp, g = f(np.array([1.0, -1.0]))
    >>> round(lp, 4), g
    (-2.8379, array([-1.,  1.]))
    """

    def __init__(self, model: Model, jacobian: bool = True, backend: str = "numpy"):
        from tessera.compile.function import function

        discrete = [
            v.name for v in model.value_vars if v.dtype.startswith(("int", "uint"))
        ]
        if discrete:
            raise TypeError(
                f"the model has discrete free variables {discrete}: a gradient "
                "over a flat vector needs continuous variables only"
            )
        self.model = model
        self.layout = flat_layout(model)
        self.size = self.layout.size
        x = TensorType("float64", (self.size,))(name="x")
        lp, g = flat_logp_dlogp(model, self.layout, x, jacobian)
        self.fn = function([x], [lp, g], backend=backend)
        self._call = self.fn.raw_fn
        self._host = self.fn.backend.host_arrays

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        lp, g = self._call(x)
        if not self._host:  # device arrays (JAX)
            g = np.asarray(g, dtype=np.float64)
        return float(lp), g

    def point_to_array(self, point: Mapping[str, Any]) -> np.ndarray:
        return self.layout.point_to_array(point)

    def array_to_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return self.layout.array_to_point(x)


class ConstrainedDraws:
    """Map flat unconstrained draws to the values a posterior records.

    ``f(samples)`` with ``samples`` of shape ``(..., layout.size)`` returns
    ``{name: array of shape (..., *var_shape)}`` for the free RVs (on their
    constrained space) and deterministics, computed for every draw in one
    compiled, vectorized call.

    Parameters
    ----------
    model : Model
    var_names : list of str, optional
        Default: every free RV and deterministic.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    ...     _ = ppl.Deterministic("s2", s * 2)
    >>> out = m.compile_constrained_draws()(np.zeros((2, 3, 1)))
    >>> out["s"].shape, float(out["s2"][0, 0])
    ((2, 3), 2.0)
    """

    def __init__(self, model: Model, var_names: Sequence[str] | None = None):
        from tessera.compile.function import function
        from tessera.ops.vectorize import vectorize_graph

        if var_names is None:
            var_names = [v.name for v in model.unobserved_RVs]
        self.var_names = list(var_names)
        self.layout = flat_layout(model)
        values = _continuous_values(model)
        if len(values) != len(model.value_vars):
            raise TypeError("ConstrainedDraws: the model has discrete free variables")
        outs = replace_rvs_by_values(model, [model[n] for n in self.var_names])
        x = TensorType("float64", (self.layout.size,))(name="x")
        outs = clone_replace(outs, _flat_input_replacements(self.layout, values, x))
        xs = TensorType("float64", (None, self.layout.size))(name="xs")
        batched = vectorize_graph(outs, {x: xs}) if outs else []
        self._core_ndim = [o.ndim for o in outs]
        self.fn = function([xs], batched)

    def __call__(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim < 1 or samples.shape[-1] != self.layout.size:
            raise ValueError(
                f"expected draws of shape (..., {self.layout.size}), got "
                f"{samples.shape}"
            )
        lead = samples.shape[:-1]
        flat = samples.reshape((-1, self.layout.size))
        res = self.fn(flat) if self.var_names else []
        out = {}
        for name, r, nd in zip(self.var_names, res, self._core_ndim):
            r = np.asarray(r)
            if r.ndim == nd:  # does not depend on the draws
                r = np.broadcast_to(r, (flat.shape[0],) + r.shape)
            out[name] = np.ascontiguousarray(r).reshape(lead + r.shape[1:])
        return out


def constrained_draws(model: Model, var_names: Sequence[str] | None = None):
    """:class:`ConstrainedDraws` of ``model``, compiled once and kept in its
    cache (cleared when variables are added, as the layout's is): every
    InferenceData built from flat draws compiled one again.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    >>> constrained_draws(m) is constrained_draws(m)
    True
    """
    key = ("constrained_draws", None if var_names is None else tuple(var_names))
    draws = model._cache.get(key)
    if draws is None:
        draws = model._cache[key] = ConstrainedDraws(model, var_names=var_names)
    return draws
