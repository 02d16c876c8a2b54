"""Global configuration.

Examples
--------
>>> import tessera as ts
>>> ts.config.floatX
'float64'
"""

from __future__ import annotations

import os


def _default_jax_cache_dir() -> tuple[str | None, bool]:
    """The cache folder and whether the user chose it (in the environment)."""
    env = os.environ.get("TESSERA_JAX_CACHE_DIR")
    if env is not None:
        return env or None, True
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "tessera", "jax"), False


class CompilerOptionsError(ValueError):
    """``config.jax_compiler_options`` holds options this jaxlib rejects: a
    setting to fix, never a reason for ``backend="auto"`` to fall back to
    the NumPy backend (raised by
    :func:`tessera.compile.backends.jax.options.compiler_options`).

    Examples
    --------
    >>> issubclass(CompilerOptionsError, ValueError)
    True
    """


class Config:
    """Library-wide settings.

    Attributes
    ----------
    floatX : str
        Default float dtype for symbolic inputs and Python-float constants
        (``"float64"`` or ``"float32"``).
    jax_cache_dir : str or None
        Folder of the JAX backend's persistent compilation cache (see
        :mod:`tessera.compile.backends.jax.cache`); ``None`` turns it off.
        Default ``$XDG_CACHE_HOME/tessera/jax``, or ``TESSERA_JAX_CACHE_DIR``.
        On CPU the default folder is used only once chosen explicitly (by
        setting this attribute or the environment variable).
    jax_cache_dir_chosen : bool
        Whether ``jax_cache_dir`` was set by the user rather than defaulted.
    jax_compiler_options : dict or None
        XLA options of the programs tessera compiles with JAX (see
        :mod:`tessera.compile.backends.jax.options`). Default None: on CPU,
        XLA's fusion emitters off (a faster, leaner compile; a long run of a
        model heavy in small linear algebra samples up to a third slower)
        and region analysis on in copy insertion (fewer copies per loop
        iteration); ``{}`` gives XLA's own defaults.
    creation_trace : bool
        Record, for every Apply node, the file and line of the user code
        that built it (the first stack frame outside tessera), named when
        the node fails at run time. Default True; ``TESSERA_CREATION_TRACE=0``
        turns it off.
    """

    def __init__(self) -> None:
        self._floatX = "float64"
        self.creation_trace = os.environ.get("TESSERA_CREATION_TRACE", "1") not in (
            "0",
            "",
            "false",
            "False",
        )
        self._jax_cache_dir, self.jax_cache_dir_chosen = _default_jax_cache_dir()
        self.jax_compiler_options: dict | None = None

    @property
    def jax_cache_dir(self) -> str | None:
        return self._jax_cache_dir

    @jax_cache_dir.setter
    def jax_cache_dir(self, value: str | None) -> None:
        self._jax_cache_dir = value
        self.jax_cache_dir_chosen = True

    @property
    def floatX(self) -> str:
        return self._floatX

    @floatX.setter
    def floatX(self, value: str) -> None:
        if value not in ("float64", "float32"):
            raise ValueError(
                f"config.floatX must be 'float64' or 'float32', got {value!r}"
            )
        self._floatX = value


config = Config()
