"""The default backend: straight-line Python calling NumPy/SciPy kernels."""

from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.linker import numpy_link

__all__ = ["numpy_funcify", "numpy_link"]

from tessera.compile.backends.registry import NUMPY  # noqa: E402

NUMPY.loaded()
