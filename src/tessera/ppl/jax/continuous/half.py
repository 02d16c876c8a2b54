"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.half`.

The improper ``HalfFlat`` has no draws (an error at compile time).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.random as jr

from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.half import (
    HalfCauchyRV,
    HalfFlatRV,
    HalfNormalRV,
    HalfStudentTRV,
)
from tessera.ppl.jax.continuous.unbounded import improper
from tessera.ppl.jax.draws import float_dtype, std_t_draws


@jax_sample.register(HalfNormalRV)
def _half_normal(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, sigma, size: jnp.abs(sigma * jr.normal(k, size, dt))


@jax_sample.register(HalfStudentTRV)
def _half_student_t(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, nu, s, size: jnp.abs(s * std_t_draws(k, nu, size, dt))


@jax_sample.register(HalfCauchyRV)
def _half_cauchy(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, b, size: jnp.abs(b * jr.cauchy(k, size, dt))


jax_sample.register(HalfFlatRV)(improper)
