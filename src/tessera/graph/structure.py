"""A graph's structure as a key: equal for graphs that compute alike.

A compiled program depends on the graph it was compiled from only through
that graph's structure: which ops (compared by type and properties, as the
merge rewrite compares them) apply to which variables, in which order, the
types of the inputs, and the values of the constants and of the shared
values (which tracing into JAX bakes into the program). Two graphs with
equal keys, such as the log-densities of one model built twice (a notebook
cell run again), can share a compiled program.

Examples
--------
>>> import numpy as np
>>> import tessera as ts
>>> def build():
...     x = ts.tensor("x", shape=(3,))
...     return [x], [ts.exp(x).sum() + np.arange(3.0)]
>>> structure_key(*build()) == structure_key(*build())
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.graph.traversal import toposort

__all__ = ["structure_key"]

#: arrays up to this many bytes enter a key as their bytes, larger ones as
#: a 128-bit BLAKE2b digest of them
_INLINE_BYTES = 256


class _Same:
    """Equal only to itself: a value (kept alive) that no other graph's
    value may match."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


def _value_key(value: Any) -> Hashable:
    """A key of a constant's or shared value's data."""
    if isinstance(value, np.ndarray | np.generic):
        arr = np.ascontiguousarray(value)
        raw = arr.tobytes()
        if len(raw) > _INLINE_BYTES:
            raw = hashlib.blake2b(raw, digest_size=16).digest()
        return ("array", arr.dtype.str, arr.shape, raw)
    try:
        hash(value)
    except TypeError:
        return _Same(value)
    return ("value", type(value), value)


def structure_key(
    inputs: Sequence[Variable], outputs: Sequence[Variable]
) -> Hashable | None:
    """A hashable key of the graph from ``inputs`` to ``outputs``, or None
    when one of its ops is not hashable.

    Two graphs have equal keys when their nodes, in topological order, apply
    equal ops to corresponding variables: inputs at the same positions and
    of the same types, constants and shared values holding equal values now
    (large arrays compared by a 128-bit digest), outputs of corresponding
    nodes. A variable that is none of these (an input not listed) is equal
    only to itself.

    Parameters
    ----------
    inputs : sequence of Variable
        The graph's inputs, in order.
    outputs : sequence of Variable

    Returns
    -------
    hashable or None

    Examples
    --------
    >>> import tessera as ts
    >>> x, y = ts.tensor("x", shape=(2,)), ts.tensor("y", shape=(2,))
    >>> structure_key([x], [x * 2.0]) == structure_key([y], [y * 2.0])
    True
    >>> structure_key([x], [x * 2.0]) == structure_key([x], [x * 3.0])
    False
    """
    refs: dict[Variable, Hashable] = {
        v: ("input", i, v.type) for i, v in enumerate(inputs)
    }

    def ref(v: Variable) -> Hashable:
        r = refs.get(v)
        if r is None:
            if isinstance(v, Constant):
                r = ("constant", v.type, _value_key(v.data))
            elif isinstance(v, SharedValue):
                r = ("shared", v.type, _value_key(v.get_value(borrow=True)))
            else:
                r = _Same(v)
            refs[v] = r
        return r

    nodes = []
    for k, node in enumerate(toposort(outputs, inputs)):
        nodes.append((node.op, tuple(ref(v) for v in node.inputs)))
        for j, out in enumerate(node.outputs):
            refs[out] = ("node", k, j, out.type)
    key = (tuple(nodes), tuple(ref(o) for o in outputs))
    try:
        hash(key)
    except TypeError:  # an op whose properties are not hashable
        return None
    return key
