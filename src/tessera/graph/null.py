"""Sentinels returned by :meth:`Op.pullback` instead of a cotangent.

Never ``None``: a pullback says explicitly why an input gets no gradient.
"""

from __future__ import annotations


class DisconnectedType:
    """The output does not depend on this input (or an output has no cotangent)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "disconnected"

    def __bool__(self) -> bool:
        return False


disconnected = DisconnectedType()


class NonDifferentiable:
    """The output depends on this input, but not differentiably.

    Parameters
    ----------
    op : object
        The op whose input is not differentiable (used in the error message).
    reason : str
        Why, e.g. ``"integer index"``.
    """

    def __init__(self, op, reason: str = ""):
        self.op = op
        self.reason = reason

    def __repr__(self) -> str:
        return f"NonDifferentiable({self.op}, {self.reason!r})"

    def __bool__(self) -> bool:
        return False


def is_zero_cotangent(g) -> bool:
    """True if ``g`` is a sentinel rather than a symbolic cotangent."""
    return isinstance(g, DisconnectedType | NonDifferentiable)
