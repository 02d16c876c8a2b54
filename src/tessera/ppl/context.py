"""The stack of active models: ``with ppl.Model() as model:`` pushes ``model``.

Named variables (``ppl.Normal("x", ...)``, ``ppl.Data``, ...) register in the
innermost active model. The stack sits below both the distributions and the
model package (it knows nothing of either), so a distribution finds the
active model without importing :mod:`tessera.ppl.model`. Nested models are
not supported: entering a second model while one is active raises.
"""

from __future__ import annotations

import threading
from typing import Any

_LOCAL = threading.local()


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def push(model: Any) -> None:
    """Make ``model`` the active model (``Model.__enter__``).

    Examples
    --------
    >>> m = object()
    >>> push(m); modelcontext_or_none() is m
    True
    >>> pop(m)
    """
    stack = _stack()
    if stack and stack[-1] is not model:
        raise RuntimeError(
            "nested model contexts are not supported: a model is already active "
            "(leave its `with` block first)"
        )
    stack.append(model)


def pop(model: Any) -> None:
    """Leave ``model``'s context (``Model.__exit__``).

    Examples
    --------
    >>> pop(object())
    Traceback (most recent call last):
    ...
    RuntimeError: model context stack is corrupted (exit without enter)
    """
    stack = _stack()
    if not stack or stack[-1] is not model:
        raise RuntimeError("model context stack is corrupted (exit without enter)")
    stack.pop()


def modelcontext_or_none() -> Any:
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
