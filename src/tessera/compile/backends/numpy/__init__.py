"""The default backend: straight-line Python calling NumPy/SciPy kernels.

``numpy_funcify`` turns each node into a callable (the op's ``perform``
unless a module of this package, mirroring the op's module, registers a
faster kernel); ``numpy_link`` strings them into one generated function.
Every size crossover between kernels is in :mod:`.tuning`.
:func:`tune_malloc` is an opt-in for processes that call compiled
functions on large arrays many times.
"""

# the specializations, by op module (registered on import)
from tessera.compile.backends.numpy import (  # noqa: F401
    blockwise,
    elemwise,
    linalg,
    products,
    reduction,
    shape,
    subtensor,
)
from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.linker import numpy_link
from tessera.compile.backends.numpy.memory import tune_malloc

__all__ = ["numpy_funcify", "numpy_link", "tune_malloc"]

from tessera.compile.backends.registry import NUMPY  # noqa: E402

NUMPY.loaded()
