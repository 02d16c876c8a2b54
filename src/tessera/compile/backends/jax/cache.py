"""A persistent cache for the XLA programs the JAX backend compiles.

Compiling is most of the cost of a first call of a large JAX program: a
model's log-density and gradient take about a second, a whole NUTS sampler
(:mod:`tessera.ppl.inference.nuts_blackjax`) several. With JAX's persistent
compilation cache turned on, a program compiled once (in any process) is
loaded from disk the next time. Only programs that took more than a
quarter of a second to compile are stored, so small functions never touch
the disk.

The cache lives in ``$XDG_CACHE_HOME/tessera/jax`` (``~/.cache/tessera/jax``
by default) and is turned on when the first JAX-backend function is
compiled. It is left alone when the user already configured JAX's cache
(``jax_compilation_cache_dir``); set ``tessera.config.jax_cache_dir`` to
another folder, or to ``None`` (or ``TESSERA_JAX_CACHE_DIR=""`` in the
environment) to turn it off.

On CPU it is off unless chosen explicitly (``tessera.config.jax_cache_dir``
set, or ``TESSERA_JAX_CACHE_DIR``): jaxlib's CPU loader (0.9 and 0.10 at
least) logs two C++ errors ending "This could lead to execution errors such
as SIGILL" for every program it loads from the cache, because it mistakes
LLVM tuning flags for CPU features (jax-ml/jax#38445, openxla/xla#44565).
The programs load and run correctly, and loading saves about a second per
sampler, but a warning of illegal instructions on every run is not a
default a user should have to read past.
"""

from __future__ import annotations

import os

# programs that compile faster than this are not worth a disk read
MIN_COMPILE_SECONDS = 0.25

_state = {"done": False, "dir": None}


def enable_persistent_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, once per process.

    Returns the folder in use (``None`` when off or configured by the user).

    Examples
    --------
    >>> from tessera.compile.backends.jax.cache import enable_persistent_cache
    >>> enable_persistent_cache() is None or isinstance(enable_persistent_cache(), str)
    True
    """
    import jax

    from tessera.config import config

    if _state["done"]:
        return _state["dir"]
    _state["done"] = True
    path = config.jax_cache_dir
    if not path or jax.config.jax_compilation_cache_dir is not None:
        return None
    if not config.jax_cache_dir_chosen and jax.default_backend() == "cpu":
        return None  # see the module docstring (jax-ml/jax#38445)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:  # a read-only home: run without the cache
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    _state["dir"] = path
    return path
