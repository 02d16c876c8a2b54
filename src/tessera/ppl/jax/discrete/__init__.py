"""JAX samplers of :mod:`tessera.ppl.distributions.discrete`, module by module."""

from tessera.ppl.jax.discrete import counts, finite, ordinal  # noqa: F401
