"""Rewrite framework: node rewriters keyed by Op class, tags, a fixed-point driver.

A node rewriter is a function ``rewrite(fg, node) -> list | dict | None``
returning replacements for the node's outputs (``None`` when it does not
apply). It is registered with tags; a compile mode selects tags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tessera.graph.fg import FunctionGraph

# tag sets run by the named modes
MODES: dict[str, tuple[str, ...]] = {
    "fast_run": (
        "merge",
        "constant_folding",
        "canonicalize",
        "stabilize",
        "specialize",
    ),
    "fast_compile": ("merge",),
    "none": (),
}


@dataclass
class NodeRewriter:
    fn: Callable
    tracks: tuple[type, ...]
    tags: frozenset[str]
    name: str


@dataclass
class RewriteDB:
    """Registered node rewriters and whole-graph passes."""

    node_rewriters: list[NodeRewriter] = field(default_factory=list)
    graph_passes: dict[str, tuple[Callable, frozenset[str]]] = field(
        default_factory=dict
    )

    def register_node(self, fn, tracks, tags) -> None:
        self.node_rewriters.append(
            NodeRewriter(fn, tuple(tracks), frozenset(tags), fn.__name__)
        )

    def register_pass(self, name: str, fn: Callable, tags: Iterable[str]) -> None:
        self.graph_passes[name] = (fn, frozenset(tags))

    def select(self, tags: Iterable[str], exclude: Iterable[str] = ()):
        tags, exclude = set(tags), set(exclude)
        by_class: dict[type, list[NodeRewriter]] = defaultdict(list)
        for r in self.node_rewriters:
            if r.tags & tags and not r.tags & exclude:
                for cls in r.tracks:
                    by_class[cls].append(r)
        passes = [fn for fn, t in self.graph_passes.values() if t & tags]
        return by_class, passes


REWRITES = RewriteDB()


def node_rewriter(tracks: Iterable[type], tags: Iterable[str] = ("canonicalize",)):
    """Register a node rewriter for nodes whose op is an instance of ``tracks``.

    Examples
    --------
    >>> from tessera.ops.elemwise import Elemwise
    >>> @node_rewriter([Elemwise], tags=["example_only"])
    ... def noop(fg, node):
    ...     return None
    """

    def deco(fn):
        REWRITES.register_node(fn, tracks, tags)
        return fn

    return deco


def _lookup(by_class, op, cache) -> list[NodeRewriter]:
    # Elemwise rewriters that declare a root scalar function (patterns) only
    # run on nodes of that function.
    key = (type(op), getattr(getattr(op, "scalar_fn", None), "name", None))
    found = cache.get(key)
    if found is None:
        found = []
        for cls in type(op).__mro__:
            for r in by_class.get(cls, ()):
                root = getattr(r.fn, "root", None)
                if root is None or root == key[1]:
                    found.append(r)
        cache[key] = found
    return found


def rewrite_graph(
    fg: FunctionGraph,
    mode="fast_run",
    max_iterations: int = 50,
    exclude: Iterable[str] = (),
):
    """Rewrite ``fg`` in place until no rewrite applies (or ``max_iterations``).

    ``mode`` is a name from :data:`MODES` or an explicit list of tags;
    node rewriters with a tag in ``exclude`` do not run (the tags a backend
    excludes, ``Backend.exclude``).
    """
    tags = MODES[mode] if isinstance(mode, str) else tuple(mode)
    by_class, passes = REWRITES.select(tags, exclude)
    lookup_cache: dict = {}
    for _ in range(max_iterations):
        changed = False
        for p in passes:
            changed |= bool(p(fg))
        for node in fg.toposort():
            if node not in fg.apply_nodes:
                continue
            for r in _lookup(by_class, node.op, lookup_cache):
                repl = r.fn(fg, node)
                if repl is None or repl is False:
                    continue
                if isinstance(repl, dict):
                    pairs = list(repl.items())
                else:
                    pairs = list(zip(node.outputs, repl))
                for old, new in pairs:
                    if new is not old:
                        fg.replace(old, new, reason=r.name)
                        changed = True
                break
        if not changed:
            break
    return fg
