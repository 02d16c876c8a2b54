"""The model context: ``with ppl.Model() as model:`` makes it current.

The stack itself is :mod:`tessera.ppl.context` (the distributions read it
too); this module adds :func:`modelcontext`, which checks its argument is a
:class:`~tessera.ppl.model.core.Model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.ppl.context import modelcontext_or_none, pop, push

if TYPE_CHECKING:
    from tessera.ppl.model.core import Model

__all__ = ["modelcontext", "modelcontext_or_none", "pop", "push"]


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
