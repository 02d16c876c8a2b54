"""``tessera.function``: graph -> rewritten graph -> backend callable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.graph.fg import FunctionGraph
from tessera.graph.traversal import clone_replace, graph_inputs
from tessera.ops.basic import as_tensor
from tessera.ops.type import TensorType

BACKENDS = ("numpy", "jax")


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
        Generated Python source (NumPy backend).
    """

    def __init__(self, fn, inputs, outputs, fg, source, backend, single):
        self._fn = fn
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
        return self._fn(*args)

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
        return f"Function({self.inputs} -> {self.outputs}, backend={self.backend!r})"


def function(
    inputs: Sequence[Variable],
    outputs: Variable | Sequence[Variable] | None = None,
    updates: Mapping[SharedValue, Any] | Sequence[tuple] | None = None,
    givens: Mapping[Variable, Any] | None = None,
    rewrites: str | Sequence[str] = "fast_run",
    backend: str = "numpy",
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
    backend : {"numpy", "jax"}

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = ts.function([x], [x.sum(), (x ** 2).sum()])
    >>> f([1.0, 2.0])
    [array(3.), array(5.)]
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
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
    single = isinstance(outputs, Variable)
    if outputs is None:
        out_list: list[Variable] = []
    elif single:
        out_list = [outputs]
    else:
        out_list = [o if isinstance(o, Variable) else as_tensor(o) for o in outputs]
    upd_pairs = (
        list(updates.items()) if isinstance(updates, Mapping) else list(updates or [])
    )
    targets, new_values = [], []
    for target, value in upd_pairs:
        if not isinstance(target, SharedValue):
            raise TypeError(f"updates: {target} is not a shared variable")
        if not isinstance(target.type, TensorType):
            # non-tensor shared values (random generators): types must match
            if not isinstance(value, Variable) or value.type != target.type:
                raise ValueError(
                    f"updates: new value of {target} must be a variable of type "
                    f"{target.type}, got {value!r}"
                )
            targets.append(target)
            new_values.append(value)
            continue
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
        targets.append(target)
        new_values.append(value)
    all_outputs = out_list + new_values
    if givens:
        all_outputs = clone_replace(
            all_outputs,
            {
                k: v if isinstance(v, Variable) else as_tensor(v)
                for k, v in dict(givens).items()
            },
        )
    given_inputs = set(inputs)
    for v in graph_inputs(all_outputs):
        if v in given_inputs or isinstance(v, Constant | SharedValue):
            continue
        raise ValueError(
            f"function: the outputs depend on {v} (type {v.type}), which is not "
            "among the inputs; pass it in `inputs` or use `givens`"
        )
    fg = FunctionGraph(inputs, all_outputs, clone=True)
    from tessera.rewrite import rewrite_graph
    from tessera.rewrite.basic import BACKEND_EXCLUDES

    rewrite_graph(fg, rewrites, exclude=BACKEND_EXCLUDES[backend])
    if backend == "numpy":
        from tessera.compile.backends.numpy import numpy_link

        fn, source = numpy_link(fg, inputs, len(out_list), targets, single)
    else:
        from tessera.compile.backends.jax import jax_link

        fn, source = jax_link(fg, inputs, len(out_list), targets, single)
    return Function(fn, inputs, out_list, fg, source, backend, single)
