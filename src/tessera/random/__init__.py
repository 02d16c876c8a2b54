"""Random variables: explicit RNG state and the RandomVariable op.

``tessera.random.rng(seed)`` makes a shared generator; a
:class:`RandomVariable` op maps ``(rng, size, *params)`` to
``(next_rng, draw)``; :func:`rng_updates` gives the updates that advance the
generators of a graph. Distributions (``tessera.ppl``) are built on these.

Examples
--------
>>> import tessera as ts
>>> import tessera.random as tr
>>> from tessera import ppl
>>> x = ppl.Normal.dist(0.0, 1.0, size=(2,), rng=tr.rng(0))
>>> f = ts.function([], x, updates=tr.rng_updates(x))
>>> f().shape
(2,)
"""

from tessera.random.op import RandomVariable, broadcast_params, rv_params
from tessera.random.type import (
    NoneConst,
    RandomGeneratorSharedVariable,
    RandomGeneratorType,
    RandomGeneratorVariable,
    copy_generator,
    rng,
)
from tessera.random.utils import random_nodes, rng_updates

__all__ = [
    "NoneConst",
    "RandomGeneratorSharedVariable",
    "RandomGeneratorType",
    "RandomGeneratorVariable",
    "RandomVariable",
    "broadcast_params",
    "copy_generator",
    "random_nodes",
    "rng",
    "rng_updates",
    "rv_params",
]
