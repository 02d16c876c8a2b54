"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.bounded`."""

from __future__ import annotations

from collections.abc import Callable

import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.bounded import (
    BetaRV,
    KumaraswamyRV,
    UniformRV,
)
from tessera.ppl.jax.draws import beta_draws, float_dtype


@jax_sample.register(BetaRV)
def _beta(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, a, b, size: beta_draws(k, a, b, size, dt)


@jax_sample.register(KumaraswamyRV)
def _kumaraswamy(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, a, b, size: (
        (1.0 - (1.0 - jr.uniform(k, size, dt)) ** (1.0 / b)) ** (1.0 / a)
    )


@jax_sample.register(UniformRV)
def _uniform(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, lo, hi, size: jr.uniform(k, size, dt, lo, hi)
