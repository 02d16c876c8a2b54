"""JAX samplers of :mod:`tessera.ppl.distributions.multivariate`, module by module."""

from tessera.ppl.jax.multivariate import (  # noqa: F401  (registrations)
    normal,
    simplex,
    spatial,
    zerosum,
)
