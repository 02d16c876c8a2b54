"""Keyword checks shared by the ppl's entry points (``sample``, ``fit``, ...).

PyMC code ports to tessera by renaming ``pm`` to ``ppl``, so an entry point
takes PyMC's keywords; a keyword it does not know is an error naming it and
the valid ones (nothing is forwarded raw to a sampler or optimizer), and a
PyMC keyword tessera does not support says so and what to use instead.

Examples
--------
>>> def f(a, b=1, **kwargs):
...     check_keywords("f", kwargs, f, {"c": "use b"})
>>> f(1, d=2)
Traceback (most recent call last):
...
TypeError: f got an unexpected keyword argument 'd'; valid keywords: a, b
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["check_keywords"]


def check_keywords(
    where: str,
    given: Mapping[str, Any],
    signature_of: Callable | Iterable[str],
    unsupported: Mapping[str, str] | None = None,
) -> None:
    """Raise for the keywords in ``given`` (a ``**kwargs``) nobody takes.

    Parameters
    ----------
    where : str
        The entry point, as the user wrote it (``"ppl.sample"``).
    given : mapping
        The extra keywords received.
    signature_of : callable or iterable of str
        The function whose named parameters are the valid keywords, or
        those names.
    unsupported : mapping, optional
        PyMC keywords tessera does not take, with what to do instead.

    Raises
    ------
    NotImplementedError
        For a keyword in ``unsupported``, with its message.
    TypeError
        For any other keyword, listing the valid ones.

    Examples
    --------
    >>> check_keywords("g", {}, ["a"])  # nothing extra: fine
    >>> check_keywords("g", {"step": 1}, ["a"], {"step": "NUTS only"})
    Traceback (most recent call last):
    ...
    NotImplementedError: g: PyMC's keyword 'step' is not supported: NUTS only
    """
    if not given:
        return
    for key in given:
        if unsupported and key in unsupported:
            raise NotImplementedError(
                f"{where}: PyMC's keyword {key!r} is not supported: {unsupported[key]}"
            )
    if callable(signature_of):
        params = inspect.signature(signature_of).parameters.values()
        valid = [
            p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
    else:
        valid = list(signature_of)
    unknown = sorted(given)
    s = "s" if len(unknown) > 1 else ""
    names = ", ".join(repr(k) for k in unknown)
    close = _close_matches(unknown, valid)
    raise TypeError(
        f"{where} got an unexpected keyword argument{s} {names}{close}; "
        f"valid keywords: {', '.join(valid)}"
    )


def _close_matches(unknown: list[str], valid: list[str]) -> str:
    import difflib

    hints = []
    for k in unknown:
        m = difflib.get_close_matches(k, valid, n=1)
        if m:
            hints.append(f"{k!r} -> {m[0]!r}")
    return f" (did you mean {', '.join(hints)}?)" if hints else ""
