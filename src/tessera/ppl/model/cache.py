"""What is built from a model (compiled functions), kept on it while its
variables stay the same ones.

Examples
--------
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     x = ppl.Normal("x")
>>> kept_on_model(m, "_example", "k", lambda: object())[1]
False
>>> kept_on_model(m, "_example", "k", lambda: object())[1]
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["kept_on_model"]


def kept_on_model(model: Any, slot: str, key: Any, make: Callable[[], Any]) -> tuple:
    """``(make(), False)`` the first time, kept in ``model.__dict__[slot]``
    under ``key``; ``(kept, True)`` after, while the model's named variables
    are the same objects (a model given new variables since builds again;
    new data does not: compiled functions read shared data when called).
    """
    cache = model.__dict__.setdefault(slot, {})
    variables = tuple(model.named_vars.values())
    hit = cache.get(key)
    if hit is not None and len(hit[0]) == len(variables):
        if all(a is b for a, b in zip(hit[0], variables)):
            return hit[1], True
    built = make()
    cache[key] = (variables, built)
    return built, False
