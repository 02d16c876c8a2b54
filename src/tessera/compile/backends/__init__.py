"""The backends: a registry of :class:`Backend` objects (see :mod:`.registry`).

Each backend's package (``numpy/``, ``jax/``) holds its linker and its
kernels or lowerings, in modules mirroring ``tessera/ops``; it is imported
the first time a function is compiled for it.
"""

from tessera.compile.backends.registry import (
    Backend,
    backend_names,
    get_backend,
    register_backend,
)

__all__ = ["Backend", "backend_names", "get_backend", "register_backend"]
