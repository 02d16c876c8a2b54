"""Building blocks of the time-series JAX samplers."""

from __future__ import annotations

from collections.abc import Callable

from tessera.ppl.jax.draws import sub_sampler
from tessera.random.op import RandomVariable


def init_sampler(op: RandomVariable, params) -> Callable:
    """``sample(key, *params, size, event)`` of an embedded distribution.

    A univariate ``op`` is drawn over ``size + event`` (its parameters
    carry the event axes); one with an event of its own over ``size``.
    """
    sample = sub_sampler(op, params)

    def draw(key, *ps, size, event=()):
        if op.ndim_supp == 0:
            return sample(key, *ps, size=tuple(size) + tuple(event))
        return sample(key, *ps, size=tuple(size))

    return draw
