"""Graph traversal and rewriting helpers: toposort, ancestors, clone, replace."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tessera.graph.basic import Apply, Constant, Variable


def _as_list(outputs) -> list[Variable]:
    if isinstance(outputs, Variable):
        return [outputs]
    return list(outputs)


def ancestors(
    outputs: Variable | Iterable[Variable], blockers: Iterable[Variable] = ()
) -> list[Variable]:
    """All variables that ``outputs`` depend on (outputs included), stopping at
    ``blockers``.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=())
    >>> x in ancestors(ts.exp(x) + 1)
    True
    """
    blocked = set(blockers)
    seen: set[Variable] = set()
    order: list[Variable] = []
    stack = list(reversed(_as_list(outputs)))
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        order.append(v)
        if v.owner is not None and v not in blocked:
            stack.extend(reversed(v.owner.inputs))
    return order


def graph_inputs(
    outputs: Variable | Iterable[Variable], blockers: Iterable[Variable] = ()
) -> list[Variable]:
    """The ownerless variables (inputs and constants) ``outputs`` depend on."""
    blocked = set(blockers)
    return [v for v in ancestors(outputs, blocked) if v.owner is None or v in blocked]


def toposort(
    outputs: Variable | Iterable[Variable], inputs: Iterable[Variable] = ()
) -> list[Apply]:
    """Apply nodes needed to compute ``outputs`` from ``inputs``, in an order
    where every node comes after the nodes computing its inputs."""
    blocked = set(inputs)
    done: set[Apply] = set()
    order: list[Apply] = []
    for out in _as_list(outputs):
        if out.owner is None or out in blocked or out.owner in done:
            continue
        # iterative DFS with an explicit "children visited" marker
        stack: list[tuple[Apply, bool]] = [(out.owner, False)]
        while stack:
            node, expanded = stack.pop()
            if node in done:
                continue
            if expanded:
                done.add(node)
                order.append(node)
                continue
            stack.append((node, True))
            for i in reversed(node.inputs):
                if i.owner is not None and i not in blocked and i.owner not in done:
                    stack.append((i.owner, False))
    return order


def clone_get_equiv(
    inputs: Sequence[Variable],
    outputs: Sequence[Variable],
    copy_inputs: bool = False,
    replace: Mapping[Variable, Variable] | None = None,
    clone_nodes: bool = False,
) -> dict[Variable, Variable]:
    """Clone the graph between ``inputs`` and ``outputs``.

    Returns a map from every original variable to its clone. Variables in
    ``replace`` are mapped to their replacement (which is not cloned); ops are
    re-applied with ``make_node`` so that types are re-inferred.
    """
    equiv: dict[Variable, Variable] = dict(replace or {})
    for v in inputs:
        if v not in equiv:
            equiv[v] = v.clone() if copy_inputs else v
    for node in toposort(outputs, list(equiv)):
        new_inputs = []
        for i in node.inputs:
            if i not in equiv:
                equiv[i] = (
                    i.clone() if (copy_inputs and not isinstance(i, Constant)) else i
                )
            new_inputs.append(equiv[i])
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            if clone_nodes:
                new_node = Apply(node.op, new_inputs, [o.type for o in node.outputs])
                new_node.trace = node.trace  # where the user built it
            else:
                new_node = node
        else:
            new_node = node.clone_with_new_inputs(new_inputs)
        for old, new in zip(node.outputs, new_node.outputs):
            if new is not old and new.name is None:
                new.name = old.name
            equiv[old] = new
    for v in outputs:
        equiv.setdefault(v, v)
    return equiv


def clone_replace(
    outputs: Variable | Sequence[Variable],
    replace: Mapping[Variable, Variable] | None = None,
):
    """Rebuild ``outputs`` with some variables replaced by others.

    Examples
    --------
    >>> import tessera as ts
    >>> x, y = ts.tensor("x", shape=()), ts.tensor("y", shape=())
    >>> z = clone_replace(x * 2, {x: y})
    >>> z.eval({y: 3.0})
    array(6.)
    """
    single = isinstance(outputs, Variable)
    outs = _as_list(outputs)
    replace = dict(replace or {})
    for k, v in replace.items():
        if k.type != v.type and hasattr(k.type, "is_compatible"):
            if not k.type.is_compatible(v.type):
                raise TypeError(
                    f"clone_replace: cannot replace {k} of type {k.type} "
                    f"with {v} of type {v.type}"
                )
    equiv = clone_get_equiv(list(replace), outs, replace=replace)
    new = [equiv[o] for o in outs]
    return new[0] if single else new
