"""Link a rewritten graph into one :func:`jax.jit`-compiled function.

Compile time (here, in milliseconds): every node gets its lowering from
:func:`~tessera.compile.backends.jax.dispatch.jax_funcify`; an op without
one is an error naming the op. Inputs that JAX needs at trace time (shapes,
split sizes, slice bounds, masks) must be computable from constants and
shapes: the linker checks this and evaluates those small sub-graphs with
the NumPy backend while tracing, so ``x.reshape((x.shape[0], -1))`` works on
inputs of unknown shape while a shape that depends on input *values* is a
compile-time error naming the op.

Call time: inputs are validated (JAX arrays stay on their device), shared
values read, the jitted function runs (JAX retraces it once per new set of
input shapes), and the new values of updated shared variables are written
back as JAX arrays, kept on the device. Random generators are handled on the
host, see :mod:`tessera.compile.backends.jax.random`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from tessera.compile.backends.jax import random as jrandom
from tessera.compile.backends.jax.cache import enable_persistent_cache
from tessera.compile.backends.jax.dispatch import (
    _TRACE,
    JaxLoweringError,
    jax_funcify,
)
from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.graph.basic import Apply, Constant, SharedValue, Variable
from tessera.graph.fg import FunctionGraph
from tessera.ops.shape import Shape, ShapeI
from tessera.ops.type import TensorType, shape_str

# Ops whose output depends only on the *shape* of their input: their values
# are known while tracing even when the input is a traced array.
_SHAPE_OPS = (Shape, ShapeI)


def _is_tensor(var: Variable) -> bool:
    return isinstance(var.type, TensorType)


def _name(var: Variable) -> str:
    return var.name or str(var)


class _Step:
    """One node of the plan: its callable and whether it runs on the host."""

    __slots__ = ("node", "fn", "host")

    def __init__(self, node: Apply, fn, host: bool):
        self.node, self.fn, self.host = node, fn, host


def _plan(nodes: Sequence[Apply]) -> list[_Step]:
    """Choose, per node, the JAX lowering or host (NumPy) evaluation.

    A value is *static* when it is a constant, the output of a shape op, or
    computed by a deterministic node from static values only. Walking the
    graph backwards, a static value is *needed* on the host when a JAX
    lowering declares it a static input, or when a host node needs it; nodes
    producing needed values run with NumPy while tracing.
    """
    static: set[Variable] = set()
    for node in nodes:
        for v in node.inputs:
            if isinstance(v, Constant):
                static.add(v)
        deterministic = not jrandom.is_random_node(node)
        if isinstance(node.op, _SHAPE_OPS) or (
            deterministic
            and all(_is_tensor(o) for o in node.outputs)
            and all(v in static for v in node.inputs)
        ):
            static.update(node.outputs)
    lowered: dict[Apply, object] = {}
    errors: dict[Apply, JaxLoweringError] = {}
    for node in nodes:
        try:
            lowered[node] = jax_funcify(node.op, node)
        except JaxLoweringError as e:
            errors[node] = e
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
            var = node.inputs[k]
            if var not in static:
                what = f"the output of {var.owner.op}" if var.owner else _name(var)
                raise JaxLoweringError(
                    f"JAX backend: {node.op} needs its input {k} ({what}) while "
                    "tracing, because JAX compiles fixed shapes, but that input "
                    "depends on the values of the function's inputs, not only on "
                    "constants and shapes. Make it a constant (or compute it from "
                    "shapes), or use the NumPy backend"
                )
            needed.add(var)
    steps = []
    for node in nodes:
        if node in host:
            steps.append(_Step(node, numpy_funcify(node.op, node), True))
        else:
            steps.append(_Step(node, lowered[node], False))
    return steps


def _run_step(step: _Step, args):
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
        if _is_tensor(var):
            dtype = var.type.numpy_dtype
            if step.host:
                val = np.asarray(val, dtype=dtype)
            elif getattr(val, "dtype", None) != dtype:
                # JAX's promotion differs from NumPy's in places: the graph's
                # dtypes (NumPy's) are the contract
                val = jnp.asarray(val).astype(dtype)
        fixed.append(val)
    return fixed


def _read_flag(ok) -> bool:
    """The value of a boolean scalar JAX array, read on the host.

    A CPU array exports its memory through the buffer protocol, which waits
    until the value is computed: reading it that way costs about half of
    ``np.asarray(ok)`` and a quarter of ``bool(ok)`` (microseconds that count
    on small graphs). Arrays on other devices take the general path.
    """
    try:
        return bool(memoryview(ok)[()])
    except (BufferError, TypeError):
        return bool(np.asarray(ok))


def _make_filter(var: Variable, k: int):
    t = var.type
    label = var.name or f"#{k}"
    dtype = t.numpy_dtype
    static = tuple(t.shape)
    known = [(d, s) for d, s in enumerate(static) if s is not None]

    def slow(value):
        if isinstance(value, jax.Array) and value.dtype == dtype:
            # validate without a round trip through host memory
            if value.ndim != t.ndim or any(
                s is not None and s != a for s, a in zip(t.shape, value.shape)
            ):
                raise ValueError(
                    f"input {label!r}: expected shape {shape_str(t.shape)}, got an "
                    f"array of shape {value.shape} (input {k} {label!r} of type "
                    f"{t.dtype}{shape_str(t.shape)})"
                )
            return value
        try:
            return t.filter(value, name=label)
        except (TypeError, ValueError) as e:
            what = f"{t.dtype}{shape_str(t.shape)}"
            raise type(e)(f"{e} (input {k} {label!r} of type {what})") from None

    if len(known) == len(static):
        # the common case, fully static shapes: one comparison per input
        def filt(value):
            if value.__class__ is np.ndarray and value.dtype is dtype:
                if value.shape == static:
                    return value
            return slow(value)

        return filt

    def filt_partial(value):
        if value.__class__ is np.ndarray and value.dtype is dtype:
            shape = value.shape
            if len(shape) == len(static) and all(shape[d] == s for d, s in known):
                return value
        return slow(value)

    return filt_partial


def _plain_caller(n_args, in_pos, filters, run, n_res, single, on_failure):
    """The call path of a function without generators, updates or shared
    values, as generated straight-line code.

    ``run(*tensor_inputs)`` returns the results, then the flag of the
    run-time checks when the graph has any (known once traced, hence the
    length test). On tiny graphs, each list comprehension or slice here costs
    microseconds: between two XLA runs the interpreter's caches are cold.
    """
    args = ", ".join(f"a{k}" for k in range(n_args))
    vals = ", ".join(f"v{j}" for j in range(len(in_pos)))
    if single:
        ret = "out[0]"
    else:
        ret = "[" + ", ".join(f"out[{i}]" for i in range(n_res)) + "]"
    lines = [f"def call({args}):"]
    lines += [f"    v{j} = f{j}(a{k})" for j, k in enumerate(in_pos)]
    lines += [
        f"    out = run({vals})",
        f"    if len(out) != {n_res} and not read_flag(out[{n_res}]):",
        f"        raise on_failure([{vals}])",
        f"    return {ret}",
    ]
    namespace = {"run": run, "read_flag": _read_flag, "on_failure": on_failure}
    namespace.update((f"f{j}", f) for j, f in enumerate(filters))
    exec(compile("\n".join(lines), "<tessera jax call>", "exec"), namespace)
    return namespace["call"]


def _describe(steps: Sequence[_Step], names: dict) -> str:
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
    steps = _plan(nodes)
    inputs = list(inputs)
    input_set = set(inputs)
    leaves: list[Variable] = []
    seen: set[Variable] = set()
    for v in [i for n in nodes for i in n.inputs] + list(fg.outputs):
        if v.owner is None and v not in seen and v not in input_set:
            seen.add(v)
            leaves.append(v)
    constants = [v for v in leaves if isinstance(v, Constant)]
    shared = [v for v in leaves if isinstance(v, SharedValue)]
    for v in leaves:
        if not isinstance(v, Constant | SharedValue):
            raise ValueError(
                f"missing input: {v} of type {v.type} is needed but was not given "
                "as an input of the function"
            )
    shared_t = sorted((v for v in shared if _is_tensor(v)), key=lambda v: v.id)
    rng_inputs = [v for v in inputs if jrandom.is_rng(v)]
    rng_roots = rng_inputs + sorted(
        (v for v in leaves if jrandom.is_rng(v)), key=lambda v: v.id
    )
    for v in inputs + leaves:
        if not _is_tensor(v) and not jrandom.is_rng(v) and not isinstance(v, Constant):
            raise JaxLoweringError(
                f"JAX backend: input {v} has type {v.type}, which it cannot pass to JAX"
            )
    tensor_inputs = [v for v in inputs if _is_tensor(v)]
    filters = [_make_filter(v, inputs.index(v)) for v in tensor_inputs]
    const_values = {v: v.data for v in constants if not jrandom.is_rng(v)}
    outputs = list(fg.outputs)
    upd_values = outputs[n_outputs:]
    tensor_updates = [
        (t, v) for t, v in zip(update_targets, upd_values) if _is_tensor(t)
    ]
    # random generators advance on the host: each update is the root
    # generator of its chain of draws, advanced once (see random.py)
    rng_updates = [
        (t, jrandom.chain_root(v, rng_roots))
        for t, v in zip(update_targets, upd_values)
        if not _is_tensor(t)
    ]
    out_rng = {
        k: jrandom.chain_root(v, rng_roots)
        for k, v in enumerate(outputs[:n_outputs])
        if not _is_tensor(v)
    }
    jax_outputs = [v for v in outputs[:n_outputs] if _is_tensor(v)]
    jax_outputs += [v for _, v in tensor_updates]

    # errors of the run-time checks recorded by the last trace (every trace
    # of one graph records the same checks in the same order)
    check_errors: list[Exception] = []

    def traced(in_vals, shared_vals, keys):
        env: dict[Variable, object] = dict(const_values)
        env.update(zip(tensor_inputs, in_vals))
        env.update(zip(shared_t, shared_vals))
        for root, key in zip(rng_roots, keys):
            env[root] = jrandom.wrap_key(key)
        # restored afterwards: this graph may be traced inside another one
        saved, _TRACE.checks = _TRACE.checks, []
        checks = _TRACE.checks
        try:
            for step in steps:
                args = [env[v] for v in step.node.inputs]
                env.update(zip(step.node.outputs, _run_step(step, args)))
        finally:
            _TRACE.checks = saved
        check_errors[:] = [err for _, err in checks]
        flags = jnp.stack([jnp.all(ok) for ok, _ in checks]) if checks else None
        return [jnp.asarray(env[v]) for v in jax_outputs], flags

    def checked(in_vals, shared_vals, keys):
        # one boolean scalar to read on the host per call: reading it costs a
        # few microseconds, the stacked flags more; on failure, `jitted`
        # (same inputs, same keys: same values) tells which check failed
        results, flags = traced(in_vals, shared_vals, keys)
        return results, (jnp.all(flags) if flags is not None else None)

    def failed_check(in_vals, shared_vals, keys) -> Exception:
        _, flags = jitted(in_vals, shared_vals, keys)
        return check_errors[int(np.argmin(np.asarray(flags)))]

    jitted = jax.jit(traced)
    run_checked = jax.jit(checked)
    n_out_t = len(jax_outputs) - len(tensor_updates)
    in_pos = [inputs.index(v) for v in tensor_inputs]
    # where each generator comes from: ("arg", position), ("const", value)
    # or ("shared", variable)
    rng_src = [
        ("arg", inputs.index(r))
        if r in input_set
        else ("const", r.data)
        if isinstance(r, Constant)
        else ("shared", r)
        for r in rng_roots
    ]

    def compiled_fn(*args):
        in_vals = [f(args[k]) for f, k in zip(filters, in_pos)]
        keys, after = [], {}
        for root, (kind, src) in zip(rng_roots, rng_src):
            value = (
                args[src] if kind == "arg" else src if kind == "const" else src._value
            )
            key, after[root] = jrandom.key_from_generator(value, _name(root))
            keys.append(key)
        shared_vals = [v._value for v in shared_t]
        results, ok = run_checked(in_vals, shared_vals, keys)
        if ok is not None and not _read_flag(ok):
            raise failed_check(in_vals, shared_vals, keys)
        for (target, _), value in zip(tensor_updates, results[n_out_t:]):
            target._value = value
        for target, root in rng_updates:
            target._value = jrandom.copy_generator(after[root])
        it = iter(results[:n_out_t])
        outs = [
            jrandom.copy_generator(after[out_rng[k]]) if k in out_rng else next(it)
            for k in range(n_outputs)
        ]
        return outs[0] if single else outs

    def flat(*in_vals):
        # positional arguments and a flat tuple of results, the reduced flag
        # last when the graph has checks: JAX's C++ dispatch handles these
        # with less work per call than nested lists
        results, flags = traced(list(in_vals), [], [])
        if flags is None:
            return tuple(results)
        return (*results, jnp.all(flags))

    if not rng_roots and not tensor_updates and not shared_t and not out_rng:
        # no generators, updates or shared values (most functions): the same
        # steps without their bookkeeping, in generated straight-line code
        compiled_fn = _plain_caller(
            len(inputs),
            in_pos,
            filters,
            jax.jit(flat),
            len(jax_outputs),
            single,
            lambda in_vals: failed_check(in_vals, [], []),
        )

    def traceable(*in_vals):
        # the graph as a pure function of its tensor inputs, for use inside
        # another JAX program (a jitted sampler): shared values are read when
        # traced, run-time checks are folded into one `ok` flag
        if rng_roots or tensor_updates:
            raise JaxLoweringError(
                "JAX backend: a function with random draws or updates has no "
                "pure traceable form"
            )
        results, flags = traced(list(in_vals), [v._value for v in shared_t], [])
        ok = jnp.all(flags) if flags is not None else jnp.asarray(True)
        return results[:n_out_t], ok

    compiled_fn.jitted = jitted
    compiled_fn.traceable = traceable
    names = {v: f"i{k}" for k, v in enumerate(inputs)}
    header = (
        f"jax.jit over {len(steps)} nodes; inputs "
        f"{', '.join(f'{names[v]}={_name(v)}' for v in inputs) or '(none)'}"
    )
    return compiled_fn, header + "\n" + _describe(steps, names)
