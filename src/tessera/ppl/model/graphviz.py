"""A model's graph drawn with Graphviz: variables, their parents and plates.

:func:`model_to_graphviz` (also ``model.to_graphviz()``) returns a
``graphviz.Digraph`` with

* one node per named variable, labelled ``name ~ Distribution`` (or
  ``Deterministic``, ``Potential``, ``Data``) over three lines; free
  variables are ellipses, observed ones filled grey ellipses,
  deterministics boxes, data rounded grey boxes, potentials octagons;
* an edge ``a -> b`` when the graph of ``b`` uses ``a`` directly (walking
  back from ``b`` stops at the nearest named variables; a random variable's
  generator and size are not parents), and ``y -> d`` from an observed
  variable to the ``Data`` it is observed at;
* plates (``cluster`` subgraphs) grouping variables of the same dims,
  labelled ``g (8)``, or of the same shape (``3 x 2``) when they have no
  dims; scalars sit outside any plate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tessera.graph.basic import Variable
from tessera.ppl.model.context import modelcontext

if TYPE_CHECKING:
    import graphviz

    from tessera.ppl.model.core import Model

FORMATTINGS = ("plain",)
_RASTER = ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp")

_NODE_STYLES = {
    "free": {"shape": "ellipse"},
    "observed": {"shape": "ellipse", "style": "filled", "fillcolor": "gray"},
    "deterministic": {"shape": "box"},
    "potential": {"shape": "octagon", "style": "filled", "fillcolor": "white"},
    "data": {"shape": "box", "style": "rounded, filled", "fillcolor": "gray"},
}


def _graph_inputs_of(model: Model, var: Variable) -> list[Variable]:
    """The inputs of ``var``'s own node that count as parents."""
    node = var.owner
    if node is None:
        return []
    if model._kinds[var.name] in ("free", "observed"):
        return list(node.inputs[2:])  # the parameters, not the rng and size
    return list(node.inputs)


def parent_names(model: Model, name: str) -> list[str]:
    """Names of the model variables ``name``'s graph uses directly.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     s = ppl.HalfNormal("s", 1.0)
    ...     y = ppl.Normal("y", mu + 1.0, s)
    >>> parent_names(m, "y")
    ['mu', 's']
    """
    var = model[name]
    named = {id(v): n for n, v in model.named_vars.items()}
    found: list[str] = []
    seen: set[int] = set()
    stack = list(reversed(_graph_inputs_of(model, var)))
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        n = named.get(id(v))
        if n is not None and n != name:
            if n not in found:
                found.append(n)
            continue
        if v.owner is not None:
            stack.extend(reversed(v.owner.inputs))
    return found


def _observed_data_name(model: Model, name: str) -> str | None:
    """The Data variable an observed variable is observed at, if any."""
    value = model.rvs_to_values[model[name]]
    for v in model.data_vars:
        if v is value:
            return v.name
    return None


def _selected(model: Model, var_names: Iterable[str] | None) -> list[str]:
    """The variables to draw: ``var_names`` and their ancestors, in model order."""
    if var_names is None:
        return list(model.named_vars)
    wanted = [var_names] if isinstance(var_names, str) else list(var_names)
    for n in wanted:
        if n not in model.named_vars:
            raise ValueError(
                f"model_to_graphviz: var_names has {n!r}, which is not a variable "
                f"of the model; its variables are {list(model.named_vars)}"
            )
    keep: set[str] = set()
    stack = list(wanted)
    while stack:
        n = stack.pop()
        if n in keep:
            continue
        keep.add(n)
        stack.extend(parent_names(model, n))
        if model.kind(n) == "observed":
            d = _observed_data_name(model, n)
            if d is not None:
                stack.append(d)
    return [n for n in model.named_vars if n in keep]


def _edges(model: Model, names: Sequence[str]) -> list[tuple[str, str]]:
    chosen = set(names)
    edges = []
    for n in names:
        data = _observed_data_name(model, n) if model.kind(n) == "observed" else None
        for p in parent_names(model, n):
            if p in chosen and p != data:
                edges.append((p, n))
        if data is not None and data in chosen:
            edges.append((n, data))
    return edges


def _plate_label(model: Model, name: str, shapes: dict) -> str:
    """``"g (8)"``/``"g (8) x k (2)"`` from dims, ``"3 x 2"`` from a shape;
    ``""`` for a scalar."""
    dims = model.named_vars_to_dims.get(name)
    lengths = model.dim_lengths
    if dims:
        return " x ".join(f"{d} ({lengths[d]})" for d in dims)
    shape = shapes[name]
    return " x ".join(str(s) for s in shape)


def _node_label(model: Model, name: str) -> str:
    kind = model.kind(name)
    if kind in ("free", "observed"):
        from tessera.ppl.distributions.base import dist_of

        what = dist_of(model[name]).__name__
    else:
        what = {"deterministic": "Deterministic", "potential": "Potential"}.get(
            kind, "Data"
        )
    return f"{name}\n~\n{what}"


def _shapes(model: Model) -> dict[str, tuple]:
    """Current shape of every variable (data-sized ones evaluated)."""
    from tessera.ppl.model.printing import _current_shapes

    current = _current_shapes(model)
    out = {}
    for n, v in model.named_vars.items():
        dims = model.named_vars_to_dims.get(n)
        if dims is not None:
            out[n] = tuple(model.dim_lengths[d] for d in dims)
        elif n in current:
            out[n] = current[n]
        else:
            out[n] = tuple("?" if s is None else s for s in v.type.shape)
    return out


def model_to_graphviz(
    model: Model | None = None,
    *,
    var_names: Iterable[str] | None = None,
    formatting: str = "plain",
    save: str | os.PathLike | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 300,
) -> graphviz.Digraph:
    """Draw the model's variables, their dependencies and plates with Graphviz.

    Parameters
    ----------
    model : Model, optional
        Default: the active model.
    var_names : list of str, optional
        Draw only these variables and the variables they depend on (an
        observed variable's Data included).
    formatting : {"plain"}
        How nodes are labelled (only ``"plain"`` is supported).
    save : str or path, optional
        Also render to this file; its extension (``.svg``, ``.png``,
        ``.pdf``, ...) gives the format. Needs the Graphviz ``dot`` program.
    figsize : (float, float), optional
        Largest size of the drawing, in inches.
    dpi : int
        Resolution of raster output (``.png``).

    Returns
    -------
    graphviz.Digraph
        Its ``.source`` is the DOT text; in a notebook it displays as SVG.

    Raises
    ------
    ValueError
        Unknown ``formatting``, or a ``var_names`` entry that is not a
        variable of the model.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> from tessera.ppl.model.graphviz import model_to_graphviz
    >>> with ppl.Model(coords={"obs": range(3)}) as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0)
    ...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3), dims="obs")
    >>> g = model_to_graphviz(m)
    >>> "mu -> y" in g.source, 'label="obs (3)"' in g.source
    (True, True)
    """
    import graphviz

    model = modelcontext(model)
    if formatting not in FORMATTINGS:
        raise ValueError(
            f"model_to_graphviz: formatting={formatting!r} is not supported; "
            f"use one of {FORMATTINGS}"
        )
    names = _selected(model, var_names)
    shapes = _shapes(model)
    graph = graphviz.Digraph("model")
    if figsize is not None:
        w, h = figsize
        graph.attr(size=f"{w:g},{h:g}")
    plates: dict[str, list[str]] = {}
    for n in names:
        plates.setdefault(_plate_label(model, n, shapes), []).append(n)
    for label, members in plates.items():
        if label == "":
            for n in members:
                _add_node(graph, model, n)
            continue
        with graph.subgraph(name=f"cluster{label}") as sub:
            sub.attr(label=label, labeljust="r", labelloc="b", style="rounded")
            for n in members:
                _add_node(sub, model, n)
    for a, b in _edges(model, names):
        graph.edge(a.replace(":", "&"), b.replace(":", "&"))
    if save is not None:
        _render(graph, save, dpi)
    return graph


def _add_node(graph, model: Model, name: str) -> None:
    # ':' separates a node from its port in DOT
    graph.node(
        name.replace(":", "&"),
        label=_node_label(model, name),
        **_NODE_STYLES[model.kind(name)],
    )


def _render(graph, save, dpi: int) -> None:
    import shutil

    path = os.fspath(save)
    base, ext = os.path.splitext(path)
    if not ext:
        raise ValueError(
            f"model_to_graphviz: save={path!r} has no extension; give one such as "
            "'.svg' or '.png' (it sets the format)"
        )
    if ext[1:].lower() in _RASTER:
        graph.attr(dpi=str(dpi))
    if shutil.which("dot") is None:
        raise RuntimeError(
            f"model_to_graphviz: saving to {path!r} needs the Graphviz 'dot' program, "
            "which is not on the PATH (install Graphviz, e.g. `apt install graphviz` "
            "or `conda install graphviz`)"
        )
    graph.render(filename=base, format=ext[1:], cleanup=True)
