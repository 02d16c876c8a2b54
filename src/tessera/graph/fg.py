"""FunctionGraph: a graph with fixed inputs and outputs that tracks clients."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tessera.graph.basic import Apply, Variable
from tessera.graph.traversal import clone_get_equiv, toposort

Client = tuple[Apply | str, int]


class ClientList(dict):
    """The clients of one variable: ``(node, input_index)`` pairs in the
    order they were added, with a list's reading interface (iteration,
    ``len``, ``in``, ``append``, ``remove``, equality with a list) and
    constant-time ``in``, ``append`` and ``remove``.

    A plain list made every removal scan the clients of a variable; a
    constant or an input read by thousands of nodes made rewriting a large
    graph quadratic.

    Examples
    --------
    >>> cl = ClientList([("output", 0)])
    >>> cl.append(("output", 1)); cl.remove(("output", 0))
    >>> cl == [("output", 1)], ("output", 1) in cl, len(cl)
    (True, True, 1)
    """

    __slots__ = ()

    def __init__(self, items: Iterable[Client] = ()):
        super().__init__(dict.fromkeys(items))

    def append(self, item: Client) -> None:
        self[item] = None

    def remove(self, item: Client) -> None:
        del self[item]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


def _frontier(var: Variable, known: set) -> list[Variable]:
    """Variables already in the graph at which a walk up from ``var`` stops."""
    stop, seen, stack = [], set(), [var]
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in known and v is not var:
            stop.append(v)
        elif v.owner is not None:
            stack.extend(v.owner.inputs)
    return stop


class FunctionGraph:
    """A mutable graph between ``inputs`` and ``outputs``.

    Keeps, for every variable, its *clients*: the ``(node, input_index)``
    pairs that use it (an output of the graph is a client ``("output", i)``).
    Rewrites use :meth:`replace` to swap a variable for an equivalent one.

    Parameters
    ----------
    inputs, outputs : sequence of Variable
    clone : bool
        Clone the graph first so the user's graph is not modified.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,))
    >>> fg = FunctionGraph([x], [ts.exp(x) * 2])
    >>> len(fg.toposort())
    2
    """

    def __init__(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        clone: bool = True,
    ):
        if clone:
            equiv = clone_get_equiv(list(inputs), list(outputs), clone_nodes=True)
            outputs = [equiv[o] for o in outputs]
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.clients: dict[Variable, ClientList] = {}
        self.apply_nodes: set[Apply] = set()
        self.variables: set[Variable] = set()
        for v in self.inputs:
            self._add_variable(v)
        for i, out in enumerate(self.outputs):
            self._import(out)
            self.clients[out].append(("output", i))

    def _add_variable(self, v: Variable) -> None:
        if v not in self.variables:
            self.variables.add(v)
            self.clients.setdefault(v, ClientList())

    def _import(self, var: Variable) -> None:
        # only the part of the graph not yet in the fgraph is walked
        known = self.variables
        for node in toposort([var], [v for v in _frontier(var, known)]):
            if node in self.apply_nodes:
                continue
            self.apply_nodes.add(node)
            for i, inp in enumerate(node.inputs):
                self._add_variable(inp)
                self.clients[inp].append((node, i))
            for out in node.outputs:
                self._add_variable(out)
        self._add_variable(var)

    def _prune(self, var: Variable) -> None:
        """Remove the node computing ``var`` if none of its outputs is used."""
        node = var.owner
        if node is None or node not in self.apply_nodes:
            return
        if any(self.clients.get(o) for o in node.outputs):
            return
        self.apply_nodes.discard(node)
        for o in node.outputs:
            self.variables.discard(o)
            self.clients.pop(o, None)
        for i, inp in enumerate(node.inputs):
            cl = self.clients.get(inp)
            if cl is not None and (node, i) in cl:
                del cl[(node, i)]
                if not cl and inp.owner is not None:
                    self._prune(inp)

    def replace(self, old: Variable, new: Variable, reason: str = "") -> None:
        """Make every client of ``old`` use ``new`` instead."""
        if old is new:
            return
        if hasattr(old.type, "is_compatible") and not old.type.is_compatible(new.type):
            raise TypeError(
                f"replace ({reason}): {new} of type {new.type} cannot stand for "
                f"{old} of type {old.type}"
            )
        self._import(new)
        for client, i in list(self.clients.get(old, [])):
            if client == "output":
                self.outputs[i] = new
            else:
                client.inputs[i] = new
            self.clients[new].append((client, i))
        self.clients[old] = ClientList()
        self._prune(old)

    def toposort(self) -> list[Apply]:
        """The graph's nodes in a valid execution order."""
        return toposort(self.outputs, [v for v in self.variables if v.owner is None])

    def __repr__(self) -> str:
        return f"FunctionGraph({self.inputs} -> {self.outputs})"
