"""Scan on the JAX backend: :func:`jax.lax.scan` over the lowered inner graph.

The inner graph is rewritten and lowered once per op, like a
``backend="jax"`` function (:func:`~tessera.compile.backends.jax.plan.plan`
chooses each node's lowering), and traced as the body of one
``lax.scan``. The number of steps fixes the length of the stacked outputs,
so it must be known while tracing: a constant, or computed from shapes.

Random generators are JAX keys inside the program (see
:mod:`tessera.compile.backends.jax.random`): a generator carried by the
loop is a key threaded through the steps, split by each draw. Run-time
checks of the inner graph (a parameter's domain, ...) are folded over the
steps and reported after the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from tessera.compile.backends.jax import random as jrandom
from tessera.compile.backends.jax.dispatch import (
    JaxLoweringError,
    jax_funcify,
    recorded_checks,
    runtime_check,
    static_inputs,
)
from tessera.compile.backends.jax.plan import plan, run_step
from tessera.compile.backends.registry import JAX
from tessera.graph.basic import Constant, Variable
from tessera.graph.fg import FunctionGraph
from tessera.scan.op import Scan


def inner_jax_function(op: Scan) -> tuple[Callable, list]:
    """``step(*inner_values) -> (outputs, flags)`` tracing the inner graph,
    and the errors of its run-time checks (filled when first traced)."""
    cached = op.cache.get("jax")
    if cached is not None:
        return cached
    from tessera.rewrite import rewrite_graph

    fg = FunctionGraph(op.inner_inputs, op.inner_outputs, clone=True)
    rewrite_graph(fg, "fast_run", exclude=JAX.exclude)
    nodes = fg.toposort()
    steps = plan(nodes)
    inputs, outputs = list(fg.inputs), list(fg.outputs)
    consts: dict[Variable, object] = {}
    for v in list(fg.variables):
        if isinstance(v, Constant):
            if jrandom.is_rng(v):
                raise JaxLoweringError(
                    f"JAX backend: {op} draws from the constant generator {v}; "
                    "pass a shared generator (tessera.random.rng) instead"
                )
            consts[v] = v.data
    errors: list[Exception] = []

    def step(*values):
        env: dict[Variable, object] = dict(consts)
        env.update(zip(inputs, values))
        with recorded_checks() as checks:
            for s in steps:
                env.update(
                    zip(s.node.outputs, run_step(s, [env[v] for v in s.node.inputs]))
                )
        errors[:] = [err for _, err in checks]
        flags = [jnp.all(ok) for ok, _ in checks]
        return [env[o] for o in outputs], flags

    op.cache["jax"] = (step, errors)
    return step, errors


@jax_funcify.register(Scan)
def _funcify_scan(op: Scan, node) -> Callable:
    info = op.info
    label = info.label()
    step, errors = inner_jax_function(op)
    lags = info.max_lags
    n_mit, n_nit = info.n_mit, info.n_nit
    dtypes = [o.type.numpy_dtype for o in node.outputs[: n_mit + n_nit]]

    def run(n, *args):
        n = int(n)
        g = Scan.outer_groups(info, [n, *args])
        for k, s in enumerate(g["seqs"]):
            if jnp.shape(s)[0] != n:
                raise ValueError(
                    f"{label}: sequence {k} has {jnp.shape(s)[0]} rows (shape "
                    f"{jnp.shape(s)}), but n_steps is {n}"
                )
        for j, (b, L) in enumerate(zip(g["inits"], lags)):
            if jnp.shape(b)[0] != L:
                raise ValueError(
                    f"{label}: output {j} has taps {list(info.mit_taps[j])}, which "
                    f"need {L} initial values; its initial value has "
                    f"{jnp.shape(b)[0]} (shape {jnp.shape(b)})"
                )
        non_seqs = list(g["non_seqs"])
        seqs = [jnp.asarray(s) for s in g["seqs"]]
        bufs = [jnp.asarray(b, dt) for b, dt in zip(g["inits"], dtypes)]

        def body(carry, xs):
            bufs, carries = carry
            vals = list(xs)
            for j, taps in enumerate(info.mit_taps):
                vals += [bufs[j][lags[j] + k] for k in taps]
            outs, flags = step(*vals, *carries, *non_seqs)
            new = [jnp.asarray(o, dt) for o, dt in zip(outs[: n_mit + n_nit], dtypes)]
            for j, b in enumerate(bufs):
                if new[j].shape != b.shape[1:]:
                    raise ValueError(
                        f"{label}: output {j} has shape {new[j].shape} at a step, "
                        f"but its initial value has shape {b.shape[1:]}"
                    )
            bufs = [
                new[j][None] if lags[j] == 1 else jnp.concatenate([b[1:], new[j][None]])
                for j, b in enumerate(bufs)
            ]
            ok = jnp.stack(flags) if flags else jnp.ones((0,), bool)
            return (bufs, list(outs[n_mit + n_nit :])), (new, ok)

        (_, carries), (ys, oks) = jax.lax.scan(
            body, (bufs, list(g["carries"])), seqs, length=n
        )
        # the checks of every step, reported once after the loop
        for k, err in enumerate(errors):
            runtime_check(jnp.all(oks[:, k]), err)
        results = list(ys) + list(carries)
        return results[0] if len(results) == 1 else tuple(results)

    return static_inputs(run, 0)


@jrandom.advanced_generator.register(Scan)
def _advanced_generator(op: Scan, node, index: int) -> int | None:
    info = op.info
    c = index - info.n_mit - info.n_nit
    if c < 0 or not jrandom.is_rng(node.outputs[index]):
        return None
    return 1 + info.n_seqs + info.n_mit + c
