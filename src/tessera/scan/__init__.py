"""Loops in graphs: :func:`scan` and the :class:`Scan` op.

A layer above ``tessera.grad`` and ``tessera.random`` (the op's pullback is
built with :func:`tessera.grad.pullback_graph`; loops may draw random
numbers) and beside ``tessera.ppl``: it registers its own kernels with the
backends when they load (``Backend.on_load``), so importing it imports
neither the NumPy backend's package nor JAX, and nothing below it imports
it. Its rewrites (hoisting loop invariants, merging loops, dropping unused
outputs) join the rewrite database on import.

Examples
--------
>>> import numpy as np
>>> import tessera as ts
>>> x = ts.tensor("x", shape=(None,))
>>> sums, _ = ts.scan(lambda xt, acc: acc + xt, sequences=x,
...                   outputs_info=ts.constant(0.0))
>>> ts.function([x], sums)(np.arange(4.0))
array([0., 1., 3., 6.])
"""

from tessera.compile.backends import get_backend
from tessera.scan import rewrites  # noqa: F401  (registers the rewrites)
from tessera.scan.builder import scan
from tessera.scan.op import Scan, ScanInfo

__all__ = ["Scan", "ScanInfo", "scan"]


def _register_numpy(backend) -> None:
    import tessera.scan.numpy  # noqa: F401


def _register_jax(backend) -> None:
    import tessera.scan.jax  # noqa: F401


get_backend("numpy").on_load(_register_numpy)
get_backend("jax").on_load(_register_jax)
