"""Helpers for compiling random graphs: which generators to advance."""

from __future__ import annotations

from collections.abc import Sequence

from tessera.graph.basic import Apply, SharedValue, Variable
from tessera.graph.traversal import toposort
from tessera.random.op import RandomVariable


def random_nodes(outputs: Variable | Sequence[Variable]) -> list[Apply]:
    """The random-variable nodes ``outputs`` depend on, in execution order.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, 1.0)
    >>> len(random_nodes(x + ppl.Normal.dist(x, 1.0)))
    2
    """
    return [n for n in toposort(outputs) if isinstance(n.op, RandomVariable)]


def rng_updates(outputs: Variable | Sequence[Variable]) -> dict[Variable, Variable]:
    """Updates that advance every shared generator ``outputs`` draw from.

    Each shared generator is mapped to the ``next_rng`` of the last draw in
    its chain (a draw whose generator is the ``next_rng`` of an earlier draw
    continues the chain). Pass the result as ``updates=`` to
    :func:`tessera.function` so that successive calls give fresh draws.

    Raises
    ------
    ValueError
        If one generator variable feeds two draws: both would see the same
        stream (identical or correlated values). Give each draw its own
        generator, or thread ``next_rng`` from one draw into the next.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, 1.0, size=(3,))
    >>> f = ts.function([], x, updates=rng_updates(x))
    >>> bool((f() != f()).all())
    True
    """
    nodes = random_nodes(outputs)
    users: dict[Variable, list[Apply]] = {}
    for n in nodes:
        users.setdefault(n.inputs[0], []).append(n)
    for g, us in users.items():
        if len(us) > 1:
            names = ", ".join(str(u.outputs[1]) for u in us)
            raise ValueError(
                f"generator {g} feeds {len(us)} random variables ({names}); they "
                "would repeat one stream. Use one generator per random variable "
                "or pass each draw's next_rng (draw.owner.outputs[0]) to the next"
            )
    updates: dict[Variable, Variable] = {}
    for g in users:
        if not isinstance(g, SharedValue):
            continue
        cur = g
        while cur in users:
            cur = users[cur][0].outputs[0]
        updates[g] = cur
    return updates
