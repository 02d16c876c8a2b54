"""Basic indexing (:class:`~tessera.ops.subtensor.Subtensor`) written into
the generated source as ``x[1:3, ::-1]``: the same view NumPy's indexing
gives ``perform``, without its call and its index rebuilt on every call.
"""

from __future__ import annotations

import numpy as np

from tessera.compile.backends.numpy.dispatch import Inline, numpy_inline
from tessera.ops.indexing import Slice, Sym
from tessera.ops.subtensor import Subtensor


class _NotLiteral(Exception):
    pass


def _literal(entry, names) -> str:
    """One entry of an index as source: an int, ``None`` or an input's
    placeholder (``{1}``, taken from ``names`` in order)."""
    if isinstance(entry, Sym):
        return next(names)
    if entry is None:
        return "None"
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, (bool, np.bool_)):
        return repr(int(entry))
    raise _NotLiteral(entry)


def index_source(idx_list, n_inputs: int) -> str | None:
    """The index ``idx_list`` as Python source, its symbolic entries taken
    from the placeholders ``{1}``, ``{2}``, ... in order (``{0}`` is the
    indexed value); ``None`` for an entry it cannot write.

    Examples
    --------
    >>> from tessera.ops.indexing import SYM, Slice
    >>> index_source((0, Slice(1, SYM, -1), None, Ellipsis), 2)
    '0, 1:{1}:-1, None, ...'
    >>> index_source((Slice(),), 1)
    ':'
    """
    names = iter(f"{{{k}}}" for k in range(1, n_inputs))
    parts = []
    try:
        for e in idx_list:
            if e is Ellipsis:
                parts.append("...")
            elif isinstance(e, Slice):
                fields = [
                    "" if f is None else _literal(f, names)
                    for f in (e.start, e.stop, e.step)
                ]
                parts.append(":".join(fields if e.step is not None else fields[:2]))
            else:
                parts.append(_literal(e, names))
    except _NotLiteral:
        return None
    return ", ".join(parts) if parts else "()"


@numpy_inline.register(Subtensor)
def _inline_subtensor(op: Subtensor, node) -> Inline | None:
    """``{0}[idx]``. A full integer index gives a NumPy scalar (``perform``
    a 0-d array): the linker makes returned 0-d values arrays anyway."""
    idx = index_source(op.idx_list, len(node.inputs))
    if idx is None:
        return None
    return Inline(f"{{0}}[{idx}]")
