"""JAX lowering of :class:`~tessera.ppl.distributions.logprob.CheckParameterValue`.

A failed parameter check cannot raise inside a traced function: it is
recorded as a run-time check, which the compiled function raises after the
call.
"""

from __future__ import annotations

from collections.abc import Callable

from tessera.compile.backends.jax.dispatch import jax_funcify, runtime_check
from tessera.ppl.distributions.logprob import CheckParameterValue, ParameterValueError


@jax_funcify.register(CheckParameterValue)
def _funcify_check_parameter_value(op: CheckParameterValue, node) -> Callable:
    def run(x, *conds):
        for c in conds:
            runtime_check(c, ParameterValueError(f"invalid parameters: {op.msg}"))
        return x

    return run
