"""The call path of a JAX-compiled function: what runs on the host per call.

Inputs are validated (JAX arrays stay on their device), shared values read,
generators turned into keys, the jitted program run, the flag of its
run-time checks read, and the new values of updated shared variables
written back as JAX arrays, kept on the device. Each microsecond here
counts on small graphs, between two XLA runs whose caches are cold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from tessera.compile.backends.jax import random as jrandom
from tessera.graph.basic import Variable
from tessera.ops.type import shape_str


def read_flag(ok) -> bool:
    """The value of a boolean scalar JAX array, read on the host.

    A CPU array exports its memory through the buffer protocol, which waits
    until the value is computed: reading it that way costs about half of
    ``np.asarray(ok)`` and a quarter of ``bool(ok)`` (microseconds that count
    on small graphs). Arrays on other devices take the general path.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> read_flag(jnp.asarray(True)), read_flag(False)
    (True, False)
    """
    try:
        return bool(memoryview(ok)[()])
    except (BufferError, TypeError):
        return bool(np.asarray(ok))


def _converting_filter(var: Variable, k: int) -> Callable:
    """The general check of input ``k``: converts what is not a JAX array of
    the right dtype, and names the input in the error."""
    t = var.type
    label = var.name or f"#{k}"
    dtype = t.numpy_dtype

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

    return slow


def make_filter(var: Variable, k: int) -> Callable:
    """The check of input ``k`` (``var``): a NumPy array of the right dtype
    and shape passes as is, anything else takes the general path.

    Examples
    --------
    >>> import tessera as ts
    >>> check = make_filter(ts.tensor("x", shape=(None, 2)), 0)
    >>> check([[1, 2]]).dtype
    dtype('float64')
    """
    t = var.type
    dtype = t.numpy_dtype
    static = tuple(t.shape)
    known = [(d, s) for d, s in enumerate(static) if s is not None]
    slow = _converting_filter(var, k)

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


def plain_caller(
    n_args: int,
    in_pos: Sequence[int],
    filters: Sequence[Callable],
    run: Callable,
    n_res: int,
    single: bool,
    on_failure: Callable,
) -> Callable:
    """The call path of a function without generators, updates or shared
    values, as generated straight-line code.

    ``run(*tensor_inputs)`` returns the results, then the flag of the
    run-time checks when the graph has any (known once traced, hence the
    length test). On tiny graphs, each list comprehension or slice here costs
    microseconds: between two XLA runs the interpreter's caches are cold.

    Examples
    --------
    >>> call = plain_caller(1, [0], [float], lambda v: (v * 2,), 1, True, None)
    >>> call(3)
    6.0
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
    namespace = {"run": run, "read_flag": read_flag, "on_failure": on_failure}
    namespace.update((f"f{j}", f) for j, f in enumerate(filters))
    exec(compile("\n".join(lines), "<tessera jax call>", "exec"), namespace)
    return namespace["call"]


def stateful_caller(
    layout: Any,
    filters: Sequence[Callable],
    run_checked: Callable,
    failed_check: Callable,
    n_outputs: int,
    single: bool,
) -> Callable:
    """The call path of a function with generators, updates or shared values.

    Generators become keys on the host (each root generator is copied and
    the copy draws the key; see :mod:`tessera.compile.backends.jax.random`),
    shared values are read, and after the run the updated shared variables
    and generators are written back. ``layout`` is the linker's ``Layout``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> w = ts.shared(np.zeros(2), name="w")
    >>> f = ts.function([], w.sum(), updates={w: w + 1}, backend="jax")
    >>> float(f()), float(f()), np.asarray(w.get_value()).tolist()
    (0.0, 2.0, [2.0, 2.0])
    """
    # locals, not attribute reads of `layout`: read on every call
    in_pos, rng_roots, rng_src = layout.in_pos, layout.rng_roots, layout.rng_src
    shared_t, n_out_t = layout.shared_t, layout.n_out_t
    tensor_updates, rng_updates = layout.tensor_updates, layout.rng_updates
    out_rng = layout.out_rng
    names = [root.name or str(root) for root in rng_roots]

    def compiled_fn(*args):
        in_vals = [f(args[k]) for f, k in zip(filters, in_pos)]
        keys, after = [], {}
        for root, (kind, src), name in zip(rng_roots, rng_src, names):
            value = (
                args[src] if kind == "arg" else src if kind == "const" else src._value
            )
            key, after[root] = jrandom.key_from_generator(value, name)
            keys.append(key)
        shared_vals = [v._value for v in shared_t]
        results, ok = run_checked(in_vals, shared_vals, keys)
        if ok is not None and not read_flag(ok):
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

    return compiled_fn
