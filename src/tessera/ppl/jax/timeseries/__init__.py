"""JAX samplers of :mod:`tessera.ppl.distributions.timeseries` (same modules)."""

from tessera.ppl.jax.timeseries import (  # noqa: F401  (registrations)
    autoregressive,
    garch,
    random_walk,
    sde,
)
