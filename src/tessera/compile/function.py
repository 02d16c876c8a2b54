"""``tessera.function``: graph -> rewritten graph -> backend callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tessera.compile.backends.registry import Backend, get_backend
from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.graph.fg import FunctionGraph
from tessera.graph.traversal import clone_replace, graph_inputs
from tessera.ops.basic import as_tensor
from tessera.ops.type import TensorType


class Function:
    """A compiled graph. Call it with values for its inputs.

    Attributes
    ----------
    inputs : list of Variable
    outputs : list of Variable
        The original (unrewritten) outputs.
    fg : FunctionGraph
        The rewritten graph that runs (see :func:`tessera.dprint`).
    source : str
        Generated Python source (NumPy backend), or a listing of the
        lowered steps (JAX backend).
    backend : Backend
        The backend it was compiled for; it compares equal to its name
        (``f.backend == "numpy"``) and tells what the function can do
        (``f.backend.traceable``, ``f.backend.fork_safe``, ...).
    raw_fn : callable
        The backend's callable itself: inputs by position only, no checks
        of their number or names; the fastest way to call in a loop.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = ts.function([x], x.sum())
    >>> f.backend == "numpy", f.backend.traceable
    (True, False)
    >>> f.raw_fn([1.0, 2.0])
    array(3.)
    """

    def __init__(self, fn, inputs, outputs, fg, source, backend: Backend, single):
        self.raw_fn = fn
        self.inputs = inputs
        self.outputs = outputs
        self.fg = fg
        self.source = source
        self.backend = backend
        self._single = single
        self._names = {v.name: k for k, v in enumerate(inputs) if v.name}

    def __call__(self, *args: Any, **kwargs: Any):
        if kwargs:
            args = self._bind(args, kwargs)
        if len(args) != len(self.inputs):
            raise TypeError(
                f"compiled function takes {len(self.inputs)} inputs "
                f"({', '.join(map(str, self.inputs))}), got {len(args)}"
            )
        return self.raw_fn(*args)

    @property
    def traceable(self) -> Callable:
        """The graph as a pure function of its tensor inputs, for tracing.

        ``traceable(*inputs) -> (outputs, ok)``, with ``ok`` the conjunction
        of the run-time checks (``None`` when there are none); it can be
        traced into a larger JAX program (a sampler's ``jit``). Only for
        backends whose ``traceable`` capability is set (JAX).
        """
        if not self.backend.traceable:
            raise TypeError(
                f"a function compiled for the {self.backend.name!r} backend has "
                "no traceable form; compile it with a traceable backend "
                "(backend='jax')"
            )
        return self.raw_fn.traceable

    def _bind(self, args, kwargs):
        values = list(args) + [None] * (len(self.inputs) - len(args))
        for name, value in kwargs.items():
            if name not in self._names:
                raise TypeError(f"compiled function has no input named {name!r}")
            values[self._names[name]] = value
        missing = [str(self.inputs[k]) for k, v in enumerate(values) if v is None]
        if missing:
            raise TypeError(f"compiled function: missing inputs {missing}")
        return values

    def __repr__(self) -> str:
        return (
            f"Function({self.inputs} -> {self.outputs}, backend={self.backend.name!r})"
        )


def function(
    inputs: Sequence[Variable],
    outputs: Variable | Sequence[Variable] | None = None,
    updates: Mapping[SharedValue, Any] | Sequence[tuple] | None = None,
    givens: Mapping[Variable, Any] | None = None,
    rewrites: str | Sequence[str] = "fast_run",
    backend: str | Backend = "numpy",
) -> Function:
    """Compile a graph into a Python callable.

    Parameters
    ----------
    inputs : sequence of Variable
        Graph inputs, in call order.
    outputs : Variable or sequence of Variable
        A single variable gives a single result; a list gives a list.
    updates : dict or list of (shared, new_value)
        New values of shared variables, written after each call.
    givens : dict
        Variables to substitute in the graph before compiling.
    rewrites : {"fast_run", "fast_compile", "none"} or list of tags
    backend : {"numpy", "jax"} or Backend
        A registered backend's name, or the backend itself (see
        :mod:`tessera.compile.backends`).

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = ts.function([x], [x.sum(), (x ** 2).sum()])
    >>> f([1.0, 2.0])
    [array(3.), array(5.)]
    """
    backend = get_backend(backend)
    inputs = _checked_inputs(inputs)
    single = isinstance(outputs, Variable)
    out_list = _output_list(outputs)
    targets, new_values = _checked_updates(updates)
    all_outputs = out_list + new_values
    if givens:
        all_outputs = clone_replace(
            all_outputs,
            {
                k: v if isinstance(v, Variable) else as_tensor(v)
                for k, v in dict(givens).items()
            },
        )
    _check_closed(inputs, all_outputs)
    fg = FunctionGraph(inputs, all_outputs, clone=True)
    from tessera.rewrite import rewrite_graph

    rewrite_graph(fg, rewrites, exclude=backend.exclude)
    fn, source = backend.link(fg, inputs, len(out_list), targets, single)
    if backend.name == "numpy" and masks_to_minus_inf(fg):
        fn = quiet_masked(fn)
    return Function(fn, inputs, out_list, fg, source, backend, single)


def masks_to_minus_inf(fg: FunctionGraph) -> bool:
    """Whether the graph overwrites results with ``-inf`` by a ``where`` (a
    log-density's support or parameter mask), or has an op that declares
    ``guards_invalid_values`` (one that raises for the values a mask would
    cover, such as the log-densities' run-time parameter check).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.scalar("x")
    >>> masks_to_minus_inf(ts.function([x], ts.where(x > 0, ts.log(x), -np.inf)).fg)
    True
    >>> masks_to_minus_inf(ts.function([x], ts.log(x)).fg)
    False
    """
    from tessera.ops.elemwise import Elemwise

    for node in fg.apply_nodes:
        op = node.op
        if getattr(op, "guards_invalid_values", False):
            return True
        if not (isinstance(op, Elemwise) and op.scalar_fn.name == "where"):
            continue
        for branch in node.inputs[1:]:
            if isinstance(branch, Constant) and _all_minus_inf(branch.data):
                return True
    return False


def _all_minus_inf(value) -> bool:
    arr = np.asarray(value)
    return arr.dtype.kind == "f" and arr.size > 0 and bool(np.all(arr == -np.inf))


def quiet_masked(fn: Callable) -> Callable:
    """``fn`` with NumPy's divide-by-zero and invalid-value warnings off.

    For the NumPy backend's functions whose graph masks results to ``-inf``
    (log-densities outside the support or at invalid parameters): the
    masked branches compute ``log(-1)`` and the like, whose warnings would
    reach the user although the result is ``-inf`` as it should be. Set
    through NumPy's error-state context variable, about 0.3 us a call (an
    ``np.errstate`` block costs about 1 us); functions without such a mask
    are not wrapped, so their warnings still show.
    """
    import functools

    try:  # NumPy 2: the error state is a context variable
        from numpy._core import _ufunc_config

        var = _ufunc_config._extobj_contextvar
        quiet = _ufunc_config._make_extobj(divide="ignore", invalid="ignore")
    except (ImportError, AttributeError):  # pragma: no cover - older NumPy
        var = None

    if var is None:  # pragma: no cover

        @functools.wraps(fn)
        def run(*args):
            with np.errstate(divide="ignore", invalid="ignore"):
                return fn(*args)

        return run

    @functools.wraps(fn)
    def run(*args):
        token = var.set(quiet)
        try:
            return fn(*args)
        finally:
            var.reset(token)

    return run


def _checked_inputs(inputs: Sequence[Variable]) -> list[Variable]:
    inputs = list(inputs)
    for k, v in enumerate(inputs):
        if not isinstance(v, Variable):
            raise TypeError(f"function: input {k} is {v!r}, not a symbolic variable")
        if v.owner is not None or isinstance(v, Constant):
            raise TypeError(
                f"function: input {k} ({v}) is computed from other variables or is "
                "a constant; inputs must be free variables"
            )
    if len(set(inputs)) != len(inputs):
        raise ValueError("function: the same variable is given twice as an input")
    return inputs


def _output_list(outputs) -> list[Variable]:
    if outputs is None:
        return []
    if isinstance(outputs, Variable):
        return [outputs]
    return [o if isinstance(o, Variable) else as_tensor(o) for o in outputs]


def _checked_updates(updates) -> tuple[list[SharedValue], list[Variable]]:
    """The shared variables updated and their new values, checked."""
    pairs = (
        list(updates.items()) if isinstance(updates, Mapping) else list(updates or [])
    )
    targets, new_values = [], []
    for target, value in pairs:
        if not isinstance(target, SharedValue):
            raise TypeError(f"updates: {target} is not a shared variable")
        targets.append(target)
        new_values.append(_update_value(target, value))
    return targets, new_values


def _update_value(target: SharedValue, value) -> Variable:
    if not isinstance(target.type, TensorType):
        # non-tensor shared values (random generators): types must match
        if not isinstance(value, Variable) or value.type != target.type:
            raise ValueError(
                f"updates: new value of {target} must be a variable of type "
                f"{target.type}, got {value!r}"
            )
        return value
    value = as_tensor(value)
    if value.dtype != target.dtype:
        from tessera.ops.math import cast

        value = cast(value, target.dtype)
    if value.ndim != target.ndim or not target.type.is_compatible(
        value.type.clone(dtype=target.dtype)
    ):
        raise ValueError(
            f"updates: new value of {target} has type {value.type}, "
            f"incompatible with {target.type}"
        )
    return value


def _check_closed(inputs: list[Variable], outputs: list[Variable]) -> None:
    """Every free variable the outputs depend on is an input."""
    given_inputs = set(inputs)
    for v in graph_inputs(outputs):
        if v in given_inputs or isinstance(v, Constant | SharedValue):
            continue
        raise ValueError(
            f"function: the outputs depend on {v} (type {v.type}), which is not "
            "among the inputs; pass it in `inputs` or use `givens`"
        )
