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
    """

    def __init__(self) -> None:
        self._floatX = "float64"

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
