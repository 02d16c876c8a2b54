"""The model context stack: ``with ppl.Model() as model:`` makes it current.

Named variables (``ppl.Normal("x", ...)``, ``ppl.Data``, ...) register in the
innermost active model. Nested models are not supported: entering a second
model while one is active raises.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model

_LOCAL = threading.local()


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def push(model: Model) -> None:
    stack = _stack()
    if stack and stack[-1] is not model:
        raise RuntimeError(
            "nested model contexts are not supported: a model is already active "
            "(leave its `with` block first)"
        )
    stack.append(model)


def pop(model: Model) -> None:
    stack = _stack()
    if not stack or stack[-1] is not model:
        raise RuntimeError("model context stack is corrupted (exit without enter)")
    stack.pop()


def modelcontext_or_none() -> Model | None:
    """The active model (innermost ``with ppl.Model():``), or None.

    Examples
    --------
    >>> from tessera import ppl
    >>> modelcontext_or_none() is None
    True
    >>> with ppl.Model() as m:
    ...     modelcontext_or_none() is m
    True
    """
    stack = _stack()
    return stack[-1] if stack else None


def modelcontext(model: Model | None = None) -> Model:
    """``model`` if given, else the active model.

    Raises
    ------
    TypeError
        If ``model`` is None and no model is active.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     modelcontext() is m
    True
    """
    if model is not None:
        from tessera.ppl.model.core import Model

        if not isinstance(model, Model):
            raise TypeError(f"expected a ppl.Model, got {type(model).__name__}")
        return model
    current = modelcontext_or_none()
    if current is None:
        raise TypeError(
            "no model on the context stack: call this inside `with ppl.Model():` "
            "or pass model="
        )
    return current
