"""Graph rewrites: the framework and the passes run by ``tessera.function``."""

from tessera.rewrite.basic import (
    REWRITES,
    node_rewriter,
    rewrite_graph,
)
from tessera.rewrite import constant_folding, merge, shape  # noqa: F401  (registers)

__all__ = ["REWRITES", "node_rewriter", "rewrite_graph"]
