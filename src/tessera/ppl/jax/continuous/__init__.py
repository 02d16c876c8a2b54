"""JAX samplers of :mod:`tessera.ppl.distributions.continuous`, module by module."""

from tessera.ppl.jax.continuous import (  # noqa: F401  (registrations)
    bounded,
    circular,
    half,
    positive,
    skewed,
    unbounded,
)
