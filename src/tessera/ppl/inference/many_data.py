"""One model, many datasets: the models' common structure, and the model's
log-density compiled once as a function of its data.

:func:`build_models` calls the user's ``build(data)`` for every dataset and
checks, before anything is compiled, that the models have the same
structure (free variables, their shapes and transforms, the shapes of the
observed and ``ppl.Data`` arrays, and every other constant of the
log-density). The *data* of a model are the arrays of its observed
variables and of its ``ppl.Data`` variables (:func:`data_arrays`).
:class:`ManyLogp` rebuilds the first model's flat log-density and gradient
graph with those arrays as explicit inputs and compiles it once for JAX, so
that ``jax.vmap`` maps it over a dataset axis; :class:`ManyDraws` maps flat
draws to the posterior's variables (deterministics that read the data
included) the same way, for the NumPy backend.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> def build(y):
...     with ppl.Model() as m:
...         mu = ppl.Normal("mu", 0.0, 10.0)
...         ppl.Normal("y", mu, 1.0, observed=y)
...     return m
>>> models = build_models(build, [np.zeros(3), np.ones(3)])
>>> [a.tolist() for a in data_arrays(models[1])]
[[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Constant, SharedValue
from tessera.graph.structure import structure_key
from tessera.graph.traversal import clone_replace, graph_inputs
from tessera.ops.type import TensorType

__all__ = [
    "ManyDraws",
    "ManyLogp",
    "ProgramKey",
    "StructureError",
    "build_models",
    "data_arrays",
    "data_variables",
    "split_datasets",
]


class StructureError(ValueError):
    """Datasets whose models differ in structure (found before compiling).

    Examples
    --------
    >>> issubclass(StructureError, ValueError)
    True
    """


def split_datasets(datasets: Any) -> list:
    """The datasets as a list: a sequence of arrays or dicts, or one array
    (or a dict of arrays) with a leading dataset axis.

    Examples
    --------
    >>> len(split_datasets(np.zeros((4, 3)))), len(split_datasets([1, 2]))
    (4, 2)
    >>> split_datasets({"y": np.zeros((2, 3)), "x": np.ones((2, 3))})[1]["x"]
    array([1., 1., 1.])
    """
    if isinstance(datasets, np.ndarray):
        if datasets.ndim < 1:
            raise ValueError("datasets: one array needs a leading dataset axis")
        return list(datasets)
    if isinstance(datasets, Mapping):
        arrays = {k: np.asarray(v) for k, v in datasets.items()}
        lengths = {k: (len(v) if v.ndim else None) for k, v in arrays.items()}
        if len(set(lengths.values())) != 1 or None in lengths.values():
            raise ValueError(
                "datasets: a dict of arrays needs the same leading dataset axis "
                f"on every array, got lengths {lengths}"
            )
        n = next(iter(lengths.values()))
        return [{k: v[i] for k, v in arrays.items()} for i in range(n)]
    out = list(datasets)
    if not out:
        raise ValueError("datasets: no datasets given")
    return out


def data_variables(model: Any) -> list[tuple[str, Any]]:
    """``(name, variable)`` of every array that is data: each observed
    variable's value (a constant or a ``ppl.Data``) and each ``ppl.Data``."""
    out, seen = [], set()
    for rv in model.observed_RVs:
        v = model.rvs_to_values[rv]
        if isinstance(v, Constant | SharedValue) and id(v) not in seen:
            seen.add(id(v))
            out.append((rv.name if isinstance(v, Constant) else v.name, v))
    for v in model.data_vars:
        if id(v) not in seen:
            seen.add(id(v))
            out.append((v.name, v))
    return out


def _value(v: Any) -> np.ndarray:
    return np.asarray(v.get_value() if isinstance(v, SharedValue) else v.data)


def data_arrays(model: Any) -> tuple[np.ndarray, ...]:
    """The arrays of :func:`data_variables`, in that order."""
    return tuple(_value(v) for _, v in data_variables(model))


def _other_constants(model: Any) -> list[np.ndarray]:
    """The constants of the log-density and the deterministics that are not
    data, in graph order."""
    from tessera.ppl.model.compile import model_logp

    data = {id(v) for _, v in data_variables(model)}
    return [
        np.asarray(v.data)
        for v in graph_inputs([model_logp(model), *model.deterministics])
        if isinstance(v, Constant) and id(v) not in data
    ]


def _signature(model: Any) -> dict[str, Any]:
    """What must agree between the models, by the name it is reported as."""
    sig: dict[str, Any] = {"free variables": [rv.name for rv in model.free_RVs]}
    layout = model.flat_layout()
    for name, shape in zip(layout.names, layout.shapes):
        sig[f"free variable {name!r} (shape)"] = shape
    for rv in model.free_RVs:
        t = model.rvs_to_transforms.get(rv)
        sig[f"free variable {rv.name!r} (transform)"] = type(t).__name__
    for name, v in data_variables(model):
        arr = _value(v)
        sig[f"data {name!r} (shape)"] = arr.shape
        sig[f"data {name!r} (dtype)"] = arr.dtype.kind
    return sig


def build_models(build: Callable[[Any], Any], datasets: Sequence) -> list:
    """``build(data)`` for every dataset, checked to give one structure.

    Raises
    ------
    StructureError
        Naming the first dataset whose model differs from dataset 0's and
        the variable (or data array) that differs.
    """
    models, first, consts = [], None, None
    for i, data in enumerate(datasets):
        model = build(data)
        if not hasattr(model, "free_RVs"):
            raise TypeError(
                f"build(datasets[{i}]) returned {type(model).__name__}, not a Model"
            )
        sig = _signature(model)
        if first is None:
            first, consts = sig, _other_constants(model)
        elif sig != first:
            for key in list(first) + [k for k in sig if k not in first]:
                if first.get(key) != sig.get(key):
                    raise StructureError(
                        f"dataset {i}: {key} is {sig.get(key)!r}, but "
                        f"{first.get(key)!r} in dataset 0; every dataset must "
                        "give a model of the same structure"
                    )
        else:
            _check_constants(i, consts, _other_constants(model))
        models.append(model)
    return models


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.all(a == b))


def _check_constants(i: int, first: list, other: list) -> None:
    same = len(first) == len(other) and all(_same(a, b) for a, b in zip(first, other))
    if not same:
        raise StructureError(
            f"dataset {i}: the model's log-density or deterministics have "
            "constants that differ "
            "from dataset 0's outside its observed and ppl.Data arrays; pass "
            "per-dataset arrays as observed= or ppl.Data (only those are "
            "replaced per dataset)"
        )


def _flat_graph(model: Any, outputs: list, x: Any) -> tuple[list, list]:
    """``outputs`` with the flat vector ``x`` and one input per data array
    in place of the value variables and the data; returns them and the
    data inputs."""
    from tessera.ppl.model.compile import _continuous_values
    from tessera.ppl.model.flat import _flat_input_replacements

    values = _continuous_values(model)
    repl = _flat_input_replacements(model.flat_layout(), values, x)
    inputs = []
    for name, v in data_variables(model):
        arr = _value(v)
        inp = TensorType(str(arr.dtype), arr.shape)(name=name)
        repl[v] = inp
        inputs.append(inp)
    return clone_replace(outputs, repl), inputs


class ProgramKey:
    """What compiled samplers are kept under (see
    :meth:`ManyLogp.program_key`); weakly referenced by the caches, so
    that the programs go with the last log-density holding their key."""


#: program keys of the last log-density structures seen (a model rebuilt
#: later reuses its compiled samplers while its structure is among them);
#: each keeps its programs alive, 10-15 MB per structure on CPU (the test
#: suite's peak grew by 330 MB with 16)
_KEYS: OrderedDict = OrderedDict()
MAX_STRUCTURES = 4


def _program_key(structure: Any) -> ProgramKey:
    """The key of ``structure`` (a new one for None: an unhashable graph)."""
    if structure is None:
        return ProgramKey()
    key = _KEYS.pop(structure, None) or ProgramKey()
    _KEYS[structure] = key
    while len(_KEYS) > MAX_STRUCTURES:
        _KEYS.popitem(last=False)
    return key


class ManyLogp:
    """The model's log-density and gradient ``f(x, *data)``, compiled once
    for the JAX backend (:attr:`both`, for the programs), with the data
    arrays as inputs; calling it runs its NumPy twin.

    Attributes
    ----------
    fn : tessera.Function
        ``fn(x, *data) -> [logp, grad]``.
    size : int
        The flat vector's length.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=[1.0, 2.0])
    >>> f = ManyLogp(m)
    >>> lp, g = f(np.zeros(1), np.array([1.0, 2.0]))
    >>> g.tolist()
    [3.0]
    """

    def __init__(self, model: Any):
        from tessera.compile.function import function
        from tessera.ppl.model.compile import model_dlogp, model_logp

        self.model = model
        self.size = model.flat_layout().size
        x = TensorType("float64", (self.size,))(name="x")
        outs, inputs = _flat_graph(model, [model_logp(model), model_dlogp(model)], x)
        self._graph = ([x, *inputs], outs)
        self.fn = function([x, *inputs], outs, backend="jax")
        self._logdensity = None
        self._host = None
        self._shared: list | None = None  # shared values outside the data
        self._key: tuple | None = None  # (their values, ProgramKey)

    def __call__(self, x: np.ndarray, *data: np.ndarray) -> tuple[float, np.ndarray]:
        """``(logp, grad)`` at one point, on the host: the NumPy backend's
        twin of :attr:`fn` (compiled in milliseconds at the first call), for
        the starting points, so that XLA compiles the model only inside
        the sampler's program."""
        if self._host is None:
            from tessera.compile.function import function

            self._host = function(*self._graph, backend="numpy").raw_fn
        lp, g = self._host(x, *data)
        return float(lp), np.asarray(g, dtype=np.float64)

    def retrace(self) -> None:
        """Forget the jitted :attr:`both` and :attr:`logdensity`, so that
        the next program traces the graph anew (reading the shared values
        outside the data as they are now)."""
        self._logdensity = None

    def program_key(self) -> ProgramKey:
        """The key the samplers compiled for this log-density are kept
        under (weakly referenced, with their settings and argument shapes).

        The same object for every :class:`ManyLogp` whose graph has the same
        structure (:func:`~tessera.graph.structure.structure_key`: ops,
        constants, and the shared values outside the data, which tracing
        bakes into a program): a model built again, as when a notebook cell
        runs again, reuses the compiled sampler. A shared value changed
        since the last call gives another key, and :meth:`retrace`.

        Examples
        --------
        >>> from tessera import ppl
        >>> def build(scale):
        ...     with ppl.Model() as m:
        ...         mu = ppl.Normal("mu", 0.0, scale)
        ...         ppl.Normal("y", mu, 1.0, observed=[1.0, 2.0])
        ...     return m
        >>> key = ManyLogp(build(1.0)).program_key()
        >>> ManyLogp(build(1.0)).program_key() is key
        True
        >>> ManyLogp(build(2.0)).program_key() is key
        False
        """
        fg = self.fn.fg
        if self._shared is None:
            self._shared = [
                v for v in graph_inputs(fg.outputs) if isinstance(v, SharedValue)
            ]
        values = tuple(v.get_value(borrow=True) for v in self._shared)
        if self._key is None or not all(a is b for a, b in zip(self._key[0], values)):
            if self._key is not None:
                self.retrace()  # JAX would reuse its trace, with the old values
            # the shared values enter the key by value (not as inputs)
            inputs = [v for v in fg.inputs if not isinstance(v, SharedValue)]
            self._key = (values, _program_key(structure_key(inputs, fg.outputs)))
        return self._key[1]

    @property
    def both(self) -> Callable:
        """``(x, *data) -> (logp, grad)`` jitted, ``logp = -inf`` and a zero
        gradient where either is not finite or a run-time check fails."""
        return self.logdensity.both

    @property
    def logdensity(self) -> Callable:
        """A JAX ``(x, *data) -> logp`` whose gradient in ``x`` is tessera's
        (:func:`~tessera.ppl.inference.nuts_blackjax.jax_logdensity`)."""
        if self._logdensity is None:
            from tessera.ppl.inference.nuts_blackjax import jax_logdensity

            self._logdensity = jax_logdensity(self.fn.traceable)
        return self._logdensity


class ManyDraws:
    """Flat draws ``(..., n)`` of one dataset to the posterior's variables
    (free variables constrained, deterministics), compiled once for every
    dataset (the NumPy backend), ``f(draws, *data) -> {name: array}``.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     s = ppl.HalfNormal("s", 1.0)
    ...     y = ppl.Normal("y", 0.0, s, observed=[1.0])
    ...     d = ppl.Deterministic("d", s * y.sum())
    >>> out = ManyDraws(m)(np.zeros((2, 3, 1)), np.array([4.0]))
    >>> out["s"].shape, float(out["d"][0, 0])
    ((2, 3), 4.0)
    """

    def __init__(self, model: Any, var_names: Sequence[str] | None = None):
        from tessera.compile.function import function
        from tessera.ops.vectorize import vectorize_graph
        from tessera.ppl.model.compile import replace_rvs_by_values

        if var_names is None:
            var_names = [v.name for v in model.unobserved_RVs]
        self.var_names = list(var_names)
        self.size = model.flat_layout().size
        outs = replace_rvs_by_values(model, [model[n] for n in self.var_names])
        x = TensorType("float64", (self.size,))(name="x")
        outs, inputs = _flat_graph(model, outs, x)
        xs = TensorType("float64", (None, self.size))(name="xs")
        batched = vectorize_graph(outs, {x: xs}) if outs else []
        self._core_ndim = [o.ndim for o in outs]
        self.fn = function([xs, *inputs], batched)

    def __call__(self, samples: np.ndarray, *data: np.ndarray) -> dict:
        samples = np.asarray(samples, dtype=np.float64)
        lead = samples.shape[:-1]
        flat = samples.reshape((-1, self.size))
        res = self.fn(flat, *data) if self.var_names else []
        out = {}
        for name, r, nd in zip(self.var_names, res, self._core_ndim):
            r = np.asarray(r)
            if r.ndim == nd:  # does not depend on the draws
                r = np.broadcast_to(r, (flat.shape[0],) + r.shape)
            out[name] = np.ascontiguousarray(r).reshape(lead + r.shape[1:])
        return out
