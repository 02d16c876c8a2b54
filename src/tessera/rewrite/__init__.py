"""Graph rewrites: the framework and the passes run by ``tessera.function``.

Importing this package registers every pass: merge and constant folding,
shapes from ``infer_shape``, canonicalize and stabilize.
"""

from tessera.rewrite import (  # noqa: F401  (modules register their rewrites)
    blockwise,
    canonicalize,
    constant_folding,
    linalg,
    linalg_pullback,
    merge,
    shape,
    stabilize,
)
from tessera.rewrite.basic import MODES, REWRITES, node_rewriter, rewrite_graph
from tessera.rewrite.pattern import register_pattern

__all__ = ["MODES", "REWRITES", "node_rewriter", "register_pattern", "rewrite_graph"]
