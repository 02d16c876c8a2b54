"""Global configuration.

Examples
--------
>>> import tessera as ts
>>> ts.config.floatX
'float64'
"""

from __future__ import annotations


class Config:
    """Library-wide settings.

    Attributes
    ----------
    floatX : str
        Default float dtype for symbolic inputs and Python-float constants
        (``"float64"`` or ``"float32"``).
    tune_malloc : bool
        Let the NumPy backend raise glibc's mmap and trim thresholds when it
        compiles its first function, so that large temporaries are reused
        instead of page-faulted in on every call (see
        :mod:`tessera.compile.backends.numpy.memory`). Default True.
    """

    def __init__(self) -> None:
        self._floatX = "float64"
        self.tune_malloc = True

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
