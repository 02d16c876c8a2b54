"""JAX lowerings of the scalar functions of :mod:`tessera.ppl.distributions.dist_math`
and :mod:`tessera.ppl.distributions.logcdf_kernels`.

``vonmises_cdf`` has no JAX kernel: SciPy's series / normal approximation
runs on the host (:func:`~tessera.compile.backends.jax.elemwise.host_scalar`).
The log-space log-CDFs run natively: their kernels are written for any
array namespace.
"""

from __future__ import annotations

import jax.numpy as jnp
import jax.scipy.special as jsp

from tessera.compile.backends.jax.elemwise import host_scalar, register_scalar
from tessera.ppl.distributions.dist_math import _vonmises_cdf
from tessera.ppl.distributions.logcdf_kernels import (
    skewnorm_logcdf_kernel,
    vonmises_logcdf_kernel,
)

register_scalar("vonmises_cdf", host_scalar(_vonmises_cdf))
register_scalar("skewnorm_logcdf", lambda z, a: skewnorm_logcdf_kernel(z, a, jnp, jsp))
register_scalar("vonmises_logcdf", lambda x, k: vonmises_logcdf_kernel(x, k, jnp, jsp))
