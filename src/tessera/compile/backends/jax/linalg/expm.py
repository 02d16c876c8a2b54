"""JAX lowering of :mod:`tessera.ops.linalg.expm`: the matrix exponential."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import jax.scipy.linalg as jsl

from tessera.compile.backends.jax.linalg._base import out_dtype, register
from tessera.ops.linalg.expm import Expm


@register(Expm)
def _funcify_expm(op: Expm, node) -> Callable:
    dt = out_dtype(node)
    return lambda a: jsl.expm(jnp.asarray(a, dt))
