"""Inner graphs: a tessera graph as a JAX function called while tracing another.

The JAX lowerings of :mod:`tessera.ppl` that loop (the chunked sums of
:mod:`.range_sum`, the CDF inversion of :mod:`.truncated`) evaluate a
tessera graph in the body of a ``lax`` loop. :func:`graph_callable` compiles
that graph with ``tessera.function(..., backend="jax")`` and calls its
public traceable form (:attr:`tessera.compile.Function.traceable`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.extend.core
import jax.numpy as jnp

from tessera.compile.backends import get_backend
from tessera.compile.backends.jax.dispatch import JaxLoweringError
from tessera.compile.function import function
from tessera.graph.basic import Constant, Variable
from tessera.graph.traversal import graph_inputs


def graph_callable(inputs: Sequence[Variable], outputs: Sequence[Variable]) -> Callable:
    """A JAX function computing ``outputs`` from ``inputs`` (a tessera graph).

    The graph is rewritten and linked like a ``backend="jax"`` function; the
    result takes and returns JAX arrays (a list, one per output) and can be
    called while tracing, e.g. in the body of a ``lax.while_loop``. The graph
    may not hold shared variables, random draws or run-time checks.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> f = graph_callable([x], [ts.exp(x).sum()])
    >>> float(f(jnp.zeros(3))[0])
    3.0
    """
    inputs, outputs = list(inputs), list(outputs)
    for v in graph_inputs(outputs):
        if v not in inputs and not isinstance(v, Constant):
            raise JaxLoweringError(
                f"JAX backend: an inner graph depends on {v} (type {v.type}), "
                "which is neither an input nor a constant"
            )
    traceable = function(inputs, outputs, backend=get_backend("jax")).traceable
    if _has_checks(traceable, inputs):
        raise JaxLoweringError(
            "JAX backend: an inner graph has run-time checks, which cannot "
            "be reported from inside it"
        )
    dtypes = [v.type.numpy_dtype for v in inputs]
    # a nested jit, as a compiled function's own: XLA then compiles the inner
    # graph as one computation, rounding as it does when called on its own
    traceable = jax.jit(traceable)

    def call(*args):
        results, _ = traceable(*[jnp.asarray(a, dt) for a, dt in zip(args, dtypes)])
        return results

    return call


def _has_checks(traceable: Callable, inputs: Sequence[Variable]) -> bool:
    # the traceable form folds its checks into `ok`, the constant True when
    # there are none: trace it once on placeholders to tell
    specs = [
        jax.ShapeDtypeStruct(
            tuple(1 if d is None else d for d in v.type.shape), v.type.numpy_dtype
        )
        for v in inputs
    ]
    ok = jax.make_jaxpr(traceable)(*specs).jaxpr.outvars[-1]
    return not (isinstance(ok, jax.extend.core.Literal) and bool(ok.val))
