"""JAX lowerings of the scalar functions of :mod:`tessera.ppl.distributions.dist_math`.

``vonmises_cdf`` has no JAX kernel: SciPy's series / normal approximation
runs on the host (:func:`~tessera.compile.backends.jax.elemwise.host_scalar`).
"""

from __future__ import annotations

from tessera.compile.backends.jax.elemwise import host_scalar, register_scalar
from tessera.ppl.distributions.dist_math import _vonmises_cdf

register_scalar("vonmises_cdf", host_scalar(_vonmises_cdf))
