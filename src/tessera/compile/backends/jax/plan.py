"""Which nodes of a graph the JAX linker lowers, and which run on the host.

Inputs that JAX needs at trace time (shapes, split sizes, slice bounds,
masks) must be computable from constants and shapes: :func:`plan` checks
this and marks the nodes that compute them to run with the NumPy backend
while tracing, so ``x.reshape((x.shape[0], -1))`` works on inputs of
unknown shape while a shape that depends on input *values* is a
compile-time error naming the op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax import random as jrandom
from tessera.compile.backends.jax.dispatch import JaxLoweringError, jax_funcify
from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.graph.basic import Apply, Constant, Variable
from tessera.ops.shape import Shape, ShapeI
from tessera.ops.type import TensorType

# Ops whose output depends only on the *shape* of their input: their values
# are known while tracing even when the input is a traced array.
_SHAPE_OPS = (Shape, ShapeI)


def is_tensor(var: Variable) -> bool:
    """Whether ``var`` is a tensor (a value JAX traces).

    Examples
    --------
    >>> import tessera as ts
    >>> is_tensor(ts.tensor("x", shape=(2,)))
    True
    """
    return isinstance(var.type, TensorType)


def var_name(var: Variable) -> str:
    """The variable's name, or its printed form when it has none.

    Examples
    --------
    >>> import tessera as ts
    >>> var_name(ts.tensor("x", shape=(2,)))
    'x'
    """
    return var.name or str(var)


class Step:
    """One node of the plan: its callable and whether it runs on the host.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2,))
    >>> step = Step((x * 2).owner, lambda a, b: a * b, host=False)
    >>> step.host
    False
    """

    __slots__ = ("node", "fn", "host")

    def __init__(self, node: Apply, fn: Callable, host: bool):
        self.node, self.fn, self.host = node, fn, host


def _static_values(nodes: Sequence[Apply]) -> set[Variable]:
    """Values known while tracing: constants, shapes, and deterministic
    nodes' outputs computed from those only."""
    static: set[Variable] = set()
    for node in nodes:
        for v in node.inputs:
            if isinstance(v, Constant):
                static.add(v)
        deterministic = not jrandom.is_random_node(node)
        if isinstance(node.op, _SHAPE_OPS) or (
            deterministic
            and all(is_tensor(o) for o in node.outputs)
            and all(v in static for v in node.inputs)
        ):
            static.update(node.outputs)
    return static


def _lower_all(nodes: Sequence[Apply]):
    """Each node's JAX lowering, and the errors of those that have none
    (raised later, only for nodes that do not run on the host)."""
    lowered: dict[Apply, object] = {}
    errors: dict[Apply, JaxLoweringError] = {}
    for node in nodes:
        try:
            lowered[node] = jax_funcify(node.op, node)
        except JaxLoweringError as e:
            errors[node] = e
    return lowered, errors


def _not_static_error(node: Apply, k: int) -> JaxLoweringError:
    var = node.inputs[k]
    what = f"the output of {var.owner.op}" if var.owner else var_name(var)
    return JaxLoweringError(
        f"JAX backend: {node.op} needs its input {k} ({what}) while "
        "tracing, because JAX compiles fixed shapes, but that input "
        "depends on the values of the function's inputs, not only on "
        "constants and shapes. Make it a constant (or compute it from "
        "shapes), or use the NumPy backend"
    )


def _host_nodes(nodes, static, lowered, errors) -> set[Apply]:
    """Nodes whose outputs are needed on the host while tracing.

    Walking the graph backwards, a static value is *needed* when a JAX
    lowering declares it a static input, or when a host node needs it.
    """
    needed: set[Variable] = set()
    host: set[Apply] = set()
    for node in reversed(nodes):
        if any(o in needed for o in node.outputs):
            host.add(node)
            if not isinstance(node.op, _SHAPE_OPS):
                needed.update(node.inputs)
            continue
        if node in errors:
            raise errors[node]
        for k in getattr(lowered[node], "static_inputs", ()):
            if node.inputs[k] not in static:
                raise _not_static_error(node, k)
            needed.add(node.inputs[k])
    return host


def plan(nodes: Sequence[Apply]) -> list[Step]:
    """Choose, per node, the JAX lowering or host (NumPy) evaluation.

    A value is *static* when it is a constant, the output of a shape op, or
    computed by a deterministic node from static values only; nodes
    producing static values that JAX needs at trace time run with NumPy
    while tracing.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.graph.fg import FunctionGraph
    >>> x = ts.tensor("x", shape=(None, 3))
    >>> fg = FunctionGraph([x], [x.reshape((x.shape[0], -1))])
    >>> [step.host for step in plan(fg.toposort())]
    [True, True, False]
    """
    lowered, errors = _lower_all(nodes)
    host = _host_nodes(nodes, _static_values(nodes), lowered, errors)
    return [
        Step(node, numpy_funcify(node.op, node), True)
        if node in host
        else Step(node, lowered[node], False)
        for node in nodes
    ]


def run_step(step: Step, args: Sequence) -> list:
    """Run one step while tracing; outputs carry the graph's dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2,), dtype="float32")
    >>> node = (x * 2).owner
    >>> out, = run_step(Step(node, lambda a, b: a * b, host=True), [np.ones(2), 2])
    >>> out.dtype
    dtype('float32')
    """
    node = step.node
    try:
        result = step.fn(*args)
    except Exception as e:
        e.add_note(f"(JAX backend, while tracing node {node.op} of {node})")
        raise
    outs = (result,) if len(node.outputs) == 1 else tuple(result)
    if len(outs) != len(node.outputs):
        raise AssertionError(
            f"JAX lowering of {node.op} returned {len(outs)} values for "
            f"{len(node.outputs)} outputs"
        )
    fixed = []
    for var, val in zip(node.outputs, outs):
        if is_tensor(var):
            dtype = var.type.numpy_dtype
            if step.host:
                val = np.asarray(val, dtype=dtype)
            elif getattr(val, "dtype", None) != dtype:
                # JAX's promotion differs from NumPy's in places: the graph's
                # dtypes (NumPy's) are the contract
                val = jnp.asarray(val).astype(dtype)
        fixed.append(val)
    return fixed


def describe(steps: Sequence[Step], names: dict) -> str:
    """One line per step: outputs, where it runs, op and inputs.

    ``names`` maps variables to their names in the text; it is extended
    with the names given to intermediate values.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.graph.fg import FunctionGraph
    >>> x = ts.tensor("x", shape=(2,))
    >>> fg = FunctionGraph([x], [ts.exp(x)])
    >>> print(describe(plan(fg.toposort()), {fg.inputs[0]: "i0"}))
    v1 = [jax] exp(i0)
    """
    lines = []

    def ref(v):
        if isinstance(v, Constant) and v not in names:
            text = repr(v)
            return text if len(text) <= 30 else text[:27] + "..."
        if v not in names:
            names[v] = f"v{len(names)}"
        return names[v]

    for step in steps:
        node = step.node
        where = "numpy (static)" if step.host else "jax"
        ins = ", ".join(ref(i) for i in node.inputs)
        outs = ", ".join(ref(o) for o in node.outputs)
        lines.append(f"{outs} = [{where}] {node.op}({ins})")
    return "\n".join(lines)
