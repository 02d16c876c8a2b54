"""Graph core: types, variables, apply nodes, ops, traversal, structure keys,
printing."""

from tessera.graph.basic import Apply, Constant, Type, Variable
from tessera.graph.fg import FunctionGraph
from tessera.graph.null import NonDifferentiable, disconnected
from tessera.graph.op import Op
from tessera.graph.printing import dprint
from tessera.graph.structure import structure_key
from tessera.graph.traversal import (
    ancestors,
    clone_get_equiv,
    clone_replace,
    graph_inputs,
    toposort,
)

__all__ = [
    "Apply",
    "Constant",
    "FunctionGraph",
    "NonDifferentiable",
    "Op",
    "Type",
    "Variable",
    "ancestors",
    "clone_get_equiv",
    "clone_replace",
    "disconnected",
    "dprint",
    "graph_inputs",
    "structure_key",
    "toposort",
]
