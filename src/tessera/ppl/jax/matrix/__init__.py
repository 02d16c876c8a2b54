"""JAX samplers of :mod:`tessera.ppl.distributions.matrix`, module by module."""

from tessera.ppl.jax.matrix import lkj, normal, wishart  # noqa: F401
