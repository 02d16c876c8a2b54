"""JAX lowerings of the ops of :mod:`tessera.ppl` (imported on first use).

The distributions' samplers are in
:mod:`tessera.compile.backends.jax.ppl_random` (and its ``_multivariate``
and ``_composite`` siblings); the chunked reduction behind the summed
log-CDFs in :mod:`tessera.compile.backends.jax.ppl_summation`.
"""

from __future__ import annotations

from collections.abc import Callable

from tessera.compile.backends.jax import (  # noqa: F401  (registrations)
    ppl_random,
    ppl_random_composite,
    ppl_random_multivariate,
    ppl_summation,
)
from tessera.compile.backends.jax.dispatch import jax_funcify, runtime_check
from tessera.compile.backends.jax.elemwise import host_scalar, register_scalar
from tessera.ppl.distributions.dist_math import _vonmises_cdf
from tessera.ppl.distributions.logprob import CheckParameterValue, ParameterValueError


@jax_funcify.register(CheckParameterValue)
def _funcify_check_parameter_value(op: CheckParameterValue, node) -> Callable:
    def run(x, *conds):
        for c in conds:
            runtime_check(c, ParameterValueError(f"invalid parameters: {op.msg}"))
        return x

    return run


# no JAX kernel: SciPy's series / normal approximation runs on the host
register_scalar("vonmises_cdf", host_scalar(_vonmises_cdf))
