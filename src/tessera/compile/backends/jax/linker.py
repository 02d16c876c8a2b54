"""Link a rewritten graph into one :func:`jax.jit`-compiled function.

Compile time (here, in milliseconds): every node gets its lowering from
:func:`~tessera.compile.backends.jax.dispatch.jax_funcify`; an op without
one is an error naming the op. Inputs that JAX needs at trace time (shapes,
split sizes, slice bounds, masks) are computed on the host while tracing
(see :mod:`tessera.compile.backends.jax.plan`). :func:`jax_link` sorts the
function's values (:class:`Layout`), builds the graph as a JAX function of
its inputs, shared values and keys (:func:`_make_traced`), and wraps it in
a call path (:mod:`tessera.compile.backends.jax.calls`).

Call time: inputs are validated (JAX arrays stay on their device), shared
values read, the jitted function runs (JAX retraces it once per new set of
input shapes), and the new values of updated shared variables are written
back as JAX arrays, kept on the device. Random generators are handled on the
host, see :mod:`tessera.compile.backends.jax.random`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax import random as jrandom
from tessera.compile.backends.jax.cache import enable_persistent_cache
from tessera.compile.backends.jax.calls import (
    make_filter,
    plain_caller,
    stateful_caller,
)
from tessera.compile.backends.jax.dispatch import JaxLoweringError, recorded_checks
from tessera.compile.backends.jax.options import jit
from tessera.compile.backends.jax.plan import (
    Step,
    describe,
    is_tensor,
    plan,
    run_step,
    var_name,
)
from tessera.graph.basic import (
    Apply,
    Constant,
    SharedValue,
    Variable,
    node_context,
    with_context,
)
from tessera.graph.fg import FunctionGraph


@dataclass
class Layout:
    """Where a compiled function's values come from and go to.

    The jitted program takes ``(tensor inputs, shared tensors, keys)`` and
    returns the tensor outputs followed by the new values of the updated
    shared tensors; generators (inputs, outputs, updates) stay on the host.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.graph.fg import FunctionGraph
    >>> x = ts.tensor("x", shape=(2,))
    >>> fg = FunctionGraph([x], [x * 2])
    >>> layout = _layout(fg, fg.toposort(), list(fg.inputs), 1, [])
    >>> layout.in_pos, layout.plain
    ([0], True)
    """

    #: tensor inputs, and their positions among the function's arguments
    tensor_inputs: list[Variable]
    in_pos: list[int]
    #: values of the graph's constants (generators excepted)
    const_values: dict
    #: shared tensors the graph reads, in a stable order
    shared_t: list[SharedValue]
    #: the generators the graph starts from, and where each comes from:
    #: ("arg", position), ("const", value) or ("shared", variable)
    rng_roots: list[Variable]
    rng_src: list[tuple]
    #: the program's results: tensor outputs, then tensor updates
    jax_outputs: list[Variable]
    n_out_t: int
    tensor_updates: list[tuple]
    #: (target, root generator) of updated generators; output position ->
    #: root generator of generator outputs
    rng_updates: list[tuple]
    out_rng: dict[int, Variable]

    @property
    def plain(self) -> bool:
        """No generators, updates or shared values (most functions)."""
        return not (
            self.rng_roots or self.tensor_updates or self.shared_t or self.out_rng
        )


def _leaves(nodes: Sequence[Apply], outputs, inputs) -> list[Variable]:
    """Values the graph reads that no node computes and are not inputs."""
    input_set = set(inputs)
    leaves: list[Variable] = []
    seen: set[Variable] = set()
    for v in [i for n in nodes for i in n.inputs] + list(outputs):
        if v.owner is None and v not in seen and v not in input_set:
            seen.add(v)
            leaves.append(v)
    for v in leaves:
        if not isinstance(v, Constant | SharedValue):
            raise ValueError(
                f"missing input: {v} of type {v.type} is needed but was not given "
                "as an input of the function"
            )
    for v in list(inputs) + leaves:
        if not is_tensor(v) and not jrandom.is_rng(v) and not isinstance(v, Constant):
            raise JaxLoweringError(
                f"JAX backend: input {v} has type {v.type}, which it cannot pass to JAX"
            )
    return leaves


def _rng_source(r: Variable, inputs: list[Variable]) -> tuple:
    if r in inputs:
        return ("arg", inputs.index(r))
    if isinstance(r, Constant):
        return ("const", r.data)
    return ("shared", r)


def _layout(fg: FunctionGraph, nodes, inputs, n_outputs, update_targets) -> Layout:
    leaves = _leaves(nodes, fg.outputs, inputs)
    shared = [v for v in leaves if isinstance(v, SharedValue)]
    rng_roots = [v for v in inputs if jrandom.is_rng(v)]
    rng_roots += sorted((v for v in leaves if jrandom.is_rng(v)), key=lambda v: v.id)
    tensor_inputs = [v for v in inputs if is_tensor(v)]
    outputs = list(fg.outputs)
    upd_values = outputs[n_outputs:]
    tensor_updates = [
        (t, v) for t, v in zip(update_targets, upd_values) if is_tensor(t)
    ]
    jax_outputs = [v for v in outputs[:n_outputs] if is_tensor(v)]
    n_out_t = len(jax_outputs)
    jax_outputs += [v for _, v in tensor_updates]
    return Layout(
        tensor_inputs=tensor_inputs,
        in_pos=[inputs.index(v) for v in tensor_inputs],
        const_values={
            v: v.data
            for v in leaves
            if isinstance(v, Constant) and not jrandom.is_rng(v)
        },
        shared_t=sorted((v for v in shared if is_tensor(v)), key=lambda v: v.id),
        rng_roots=rng_roots,
        rng_src=[_rng_source(r, inputs) for r in rng_roots],
        jax_outputs=jax_outputs,
        n_out_t=n_out_t,
        tensor_updates=tensor_updates,
        # random generators advance on the host: each update is the root
        # generator of its chain of draws, advanced once (see random.py)
        rng_updates=[
            (t, jrandom.chain_root(v, rng_roots))
            for t, v in zip(update_targets, upd_values)
            if not is_tensor(t)
        ],
        out_rng={
            k: jrandom.chain_root(v, rng_roots)
            for k, v in enumerate(outputs[:n_outputs])
            if not is_tensor(v)
        },
    )


def _make_traced(steps: Sequence[Step], layout: Layout, check_errors: list):
    """The graph as a JAX function ``traced(in_vals, shared_vals, keys) ->
    (results, flags, wheres)``; ``flags`` stacks the run-time checks (None
    without any), ``wheres`` their unreduced flags that locate a failure
    (None where a check has none), and each trace records every check's
    ``(error, node context)`` in ``check_errors``. An error while tracing
    a node (shapes that do not fit) names the node."""
    const_values, tensor_inputs = layout.const_values, layout.tensor_inputs
    shared_t, rng_roots = layout.shared_t, layout.rng_roots
    jax_outputs = layout.jax_outputs

    def traced(in_vals, shared_vals, keys):
        env: dict[Variable, object] = dict(const_values)
        env.update(zip(tensor_inputs, in_vals))
        env.update(zip(shared_t, shared_vals))
        for root, key in zip(rng_roots, keys):
            env[root] = jrandom.wrap_key(key)
        contexts: list[str] = []
        with recorded_checks() as checks:
            for step in steps:
                node = step.node
                args = [env[v] for v in node.inputs]
                before = len(checks)
                try:
                    outs = run_step(step, args)
                except Exception as e:
                    if getattr(e, "_tessera_node", False):
                        raise
                    raise with_context(e, node_context(node, args)) from None
                if len(checks) > before:
                    contexts += [node_context(node, args)] * (len(checks) - before)
                env.update(zip(node.outputs, outs))
        # every trace of one graph records the same checks in the same order
        check_errors[:] = [(c[1], ctx) for c, ctx in zip(checks, contexts)]
        flags = jnp.stack([jnp.all(ok) for ok, _ in checks]) if checks else None
        wheres = [_where(c) for c in checks]
        return [jnp.asarray(env[v]) for v in jax_outputs], flags, wheres

    return traced


def _where(check):
    """The flags that locate a failure of ``check``: the lowering's, else
    the condition itself when it has dims."""
    if getattr(check, "where", None) is not None:
        return check.where
    ok = check[0]
    return ok if getattr(ok, "ndim", 0) > 0 else None


def _failed(error: Exception, context: str, where) -> Exception:
    """The error of a failed check, naming its node and, when ``where``
    tells, the first batch index where it failed."""
    head = str(error)
    if where is not None:
        bad = np.argwhere(~np.asarray(where, dtype=bool))
        if bad.size:
            head += f" (first at batch index {tuple(int(i) for i in bad[0])})"
    return with_context(error, context, head)


def _make_traceable(traced: Callable, layout: Layout) -> Callable:
    """The graph as a pure function of its tensor inputs, for use inside
    another JAX program (a jitted sampler): shared values are read when
    traced, run-time checks are folded into one ``ok`` flag."""
    impure = bool(layout.rng_roots or layout.tensor_updates)
    shared_t, n_out_t = layout.shared_t, layout.n_out_t

    def traceable(*in_vals):
        if impure:
            raise JaxLoweringError(
                "JAX backend: a function with random draws or updates has no "
                "pure traceable form"
            )
        results, flags, _ = traced(list(in_vals), [v._value for v in shared_t], [])
        ok = jnp.all(flags) if flags is not None else jnp.asarray(True)
        return results[:n_out_t], ok

    return traceable


def _make_flat(traced: Callable) -> Callable:
    def flat(*in_vals):
        # positional arguments and a flat tuple of results, the reduced flag
        # last when the graph has checks: JAX's C++ dispatch handles these
        # with less work per call than nested lists
        results, flags, _ = traced(list(in_vals), [], [])
        if flags is None:
            return tuple(results)
        return (*results, jnp.all(flags))

    return flat


def _make_checked(traced: Callable) -> Callable:
    def checked(in_vals, shared_vals, keys):
        # one boolean scalar to read on the host per call: reading it costs a
        # few microseconds, the stacked flags more; on failure, `jitted`
        # (same inputs, same keys: same values) tells which check failed
        results, flags, _ = traced(in_vals, shared_vals, keys)
        return results, (jnp.all(flags) if flags is not None else None)

    return checked


def _header(steps: Sequence[Step], inputs: Sequence[Variable], names: dict) -> str:
    listed = ", ".join(f"{names[v]}={var_name(v)}" for v in inputs) or "(none)"
    return f"jax.jit over {len(steps)} nodes; inputs {listed}"


def jax_link(
    fg: FunctionGraph,
    inputs: Sequence[Variable],
    n_outputs: int,
    update_targets: Sequence[SharedValue],
    single: bool = False,
):
    """Compile ``fg`` into a function running under :func:`jax.jit`.

    ``fg.outputs[:n_outputs]`` are returned (the value itself if ``single``,
    else a list) as JAX arrays; ``fg.outputs[n_outputs:]`` are the new values
    of ``update_targets``, written back after the call (JAX arrays for
    tensors, so they stay on the device; NumPy generators for random
    generators). Returns ``(callable, description)``; the callable's
    ``jitted`` attribute is the underlying :func:`jax.jit` function, and its
    ``traceable(*tensor_inputs) -> (outputs, ok)`` the graph as a pure JAX
    function (no random draws or updates) for use inside other JAX programs,
    with the run-time checks folded into the boolean ``ok``.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = ts.function([x], ts.exp(x).sum(), backend="jax")
    >>> float(f([0.0, 0.0]))
    2.0
    """
    enable_persistent_cache()
    nodes = fg.toposort()
    steps = plan(nodes)
    inputs = list(inputs)
    layout = _layout(fg, nodes, inputs, n_outputs, update_targets)
    filters = [make_filter(v, inputs.index(v)) for v in layout.tensor_inputs]
    check_errors: list[tuple[Exception, str]] = []
    traced = _make_traced(steps, layout, check_errors)
    jitted = jit(traced)

    def failed_check(in_vals, shared_vals, keys) -> Exception:
        _, flags, wheres = jitted(in_vals, shared_vals, keys)
        k = int(np.argmin(np.asarray(flags)))
        return _failed(*check_errors[k], wheres[k])

    if layout.plain:
        # the same steps without the bookkeeping of generators, updates and
        # shared values, in generated straight-line code
        compiled_fn = plain_caller(
            len(inputs),
            layout.in_pos,
            filters,
            jit(_make_flat(traced)),
            len(layout.jax_outputs),
            single,
            lambda in_vals: failed_check(in_vals, [], []),
        )
    else:
        run_checked = jit(_make_checked(traced))
        compiled_fn = stateful_caller(
            layout, filters, run_checked, failed_check, n_outputs, single
        )
    compiled_fn.jitted = jitted
    compiled_fn.traceable = _make_traceable(traced, layout)
    names = {v: f"i{k}" for k, v in enumerate(inputs)}
    return compiled_fn, _header(steps, inputs, names) + "\n" + describe(steps, names)
