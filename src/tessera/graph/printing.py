"""Readable printing of graphs and compiled functions."""

from __future__ import annotations

import sys
from typing import TextIO

from tessera.graph.basic import Constant, Variable


def _type_str(v: Variable) -> str:
    return v.type.short_str()


def dprint(obj, file: TextIO | None = None, depth: int | None = None) -> str:
    """Print a graph as an indented tree with dtypes and static shapes.

    ``obj`` may be a variable, a list of variables, a FunctionGraph, or a
    compiled function (its rewritten graph is printed). Shared sub-graphs are
    printed once and referred to by an id afterwards. Returns the text.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,))
    >>> _ = ts.dprint(ts.exp(x) + 1)
    add [id A] float64(3,)
     ├─ exp [id B] float64(3,)
     │   └─ x [id C] float64(3,)
     └─ 1.0 [id D] float64()
    """
    from tessera.graph.fg import FunctionGraph

    if hasattr(obj, "fg") and isinstance(obj.fg, FunctionGraph):
        outputs = obj.fg.outputs
    elif isinstance(obj, FunctionGraph):
        outputs = obj.outputs
    elif isinstance(obj, Variable):
        outputs = [obj]
    else:
        outputs = list(obj)
    ids: dict[object, str] = {}

    def ident(key) -> str:
        if key not in ids:
            n = len(ids)
            label = ""
            while True:
                label = chr(ord("A") + n % 26) + label
                n = n // 26 - 1
                if n < 0:
                    break
            ids[key] = label
        return ids[key]

    lines: list[str] = []

    def visit(v: Variable, prefix: str, child_prefix: str, level: int) -> None:
        key = v.owner if v.owner is not None else v
        seen = key in ids
        if v.owner is None:
            label = repr(v)
        else:
            label = str(v.owner.op)
            if len(v.owner.outputs) > 1:
                label += f".{v.index}"
        if v.name and v.owner is not None:
            label += f" '{v.name}'"
        lines.append(f"{prefix}{label} [id {ident(key)}] {_type_str(v)}")
        if v.owner is None or seen or (depth is not None and level >= depth):
            return
        inputs = v.owner.inputs
        for k, i in enumerate(inputs):
            last = k == len(inputs) - 1
            visit(
                i,
                child_prefix + (" └─ " if last else " ├─ "),
                child_prefix + ("    " if last else " │  "),
                level + 1,
            )

    for out in outputs:
        visit(out, "", "", 0)
    text = "\n".join(lines)
    print(text, file=file or sys.stdout)
    return text


_ = Constant
