"""JAX samplers of :mod:`tessera.ppl.distributions.continuous.unbounded`.

Each draws the same distribution as the op's NumPy ``rng_fn`` (not the same
numbers), for batched parameters of any shape. The improper ``Flat`` has no
draws: an error at compile time, as NumPy raises at run time.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.random as jr

from tessera.compile.backends.jax.dispatch import JaxLoweringError
from tessera.compile.backends.jax.random import jax_sample
from tessera.ppl.distributions.continuous.unbounded import (
    CauchyRV,
    FlatRV,
    LaplaceRV,
    LogisticRV,
    NormalRV,
    StudentTRV,
)
from tessera.ppl.jax.draws import float_dtype, std_t_draws


@jax_sample.register(NormalRV)
def _normal(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, sigma, size: mu + sigma * jr.normal(k, size, dt)


@jax_sample.register(StudentTRV)
def _student_t(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, nu, mu, sigma, size: mu + sigma * std_t_draws(k, nu, size, dt)


@jax_sample.register(CauchyRV)
def _cauchy(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, a, b, size: a + b * jr.cauchy(k, size, dt)


@jax_sample.register(LaplaceRV)
def _laplace(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, b, size: mu + b * jr.laplace(k, size, dt)


@jax_sample.register(LogisticRV)
def _logistic(op, node) -> Callable:
    dt = float_dtype(node)
    return lambda k, mu, s, size: mu + s * jr.logistic(k, size, dt)


def improper(op, node) -> Callable:
    """The "sampler" of an improper distribution: a compile-time error."""
    raise JaxLoweringError(
        f"JAX backend: {op} is an improper distribution: it has no draws (give "
        "the variable an initial value, or use a proper prior)"
    )


jax_sample.register(FlatRV)(improper)
