"""Core graph structures: Type, Variable, Constant and Apply.

A graph is a bipartite DAG of :class:`Variable` nodes (values) and
:class:`Apply` nodes (applications of an :class:`~tessera.graph.op.Op`).
A variable produced by an op has ``owner`` set to the Apply node and ``index``
to its position among the node's outputs; a graph input has ``owner=None``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from typing import Any

from tessera.config import config

_ids = itertools.count()
# frames in files under this folder are tessera's own
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def creation_trace(skip: int = 1) -> tuple[str, int, str] | None:
    """``(file, line, function)`` of the first stack frame outside tessera
    (the user code that is building a graph), or None (``config.creation_trace``
    off, or no such frame). Only the frame's location is kept.

    Examples
    --------
    >>> creation_trace()[2]
    '<module>'
    """
    if not config.creation_trace:
        return None
    # ~1-2 us per node (a tenth of building one): a plain loop, no lookups
    f, own = sys._getframe(skip), _PACKAGE_DIR
    try:
        while f.f_code.co_filename.startswith(own):
            f = f.f_back
    except AttributeError:  # the bottom of the stack: built by tessera alone
        return None
    code = f.f_code
    return code.co_filename, f.f_lineno, code.co_name


def node_context(node: Apply, values: Sequence[Any] | None = None) -> str:
    """What an error of ``node`` should say about it: its op, its inputs'
    names with the run-time dtypes and shapes of ``values`` (one per input,
    None where unknown), and where the user built it.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> print(node_context((x + 1).owner, [np.zeros(3), None]).splitlines()[2])
        0: x: float64, shape (3,)
    """
    values = list(values) if values is not None else [None] * len(node.inputs)
    lines = [f"Apply node that caused the error: {node.op}", "  inputs:"]
    for k, (var, value) in enumerate(zip(node.inputs, values)):
        label = var.name if var.name is not None else repr(var)
        if isinstance(var, Constant):
            label = f"constant {label}"
        if value is None:
            lines.append(f"    {k}: {label}")
            continue
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", type(value).__name__)
        shape = tuple(shape) if shape is not None else "?"
        lines.append(f"    {k}: {label}: {dtype}, shape {shape}")
    lines.append(f"  created at: {format_trace(getattr(node, 'trace', None))}")
    return "\n".join(lines)


def with_context(e: BaseException, context: str, first_line: str | None = None):
    """``e`` as an exception of its type whose message ends with ``context``
    (``first_line``, if given, replaces its own message), or ``e`` itself
    with ``context`` as a note where its type takes other arguments.

    Examples
    --------
    >>> str(with_context(ValueError("bad"), "more")).splitlines()
    ['bad', 'more']
    """
    head = str(e) if first_line is None else first_line
    try:
        new = type(e)(f"{head}\n{context}")
    except Exception:  # noqa: BLE001 - a type that takes other arguments
        new = None
    if new is None or type(new) is not type(e):
        e.add_note(context)
        new = e
    new._tessera_node = True
    return new


def format_trace(trace: tuple[str, int, str] | None) -> str:
    """``"file:line (in function)"`` of a :func:`creation_trace`."""
    if trace is None:
        return "unknown (config.creation_trace is off, or built inside tessera)"
    return f"{trace[0]}:{trace[1]} (in {trace[2]})"


class Type:
    """The type of a variable: what values it may hold.

    Subclasses implement :meth:`filter` (validate and convert a value),
    :meth:`make_variable` and equality.

    Examples
    --------
    >>> from tessera.ops.type import TensorType
    >>> TensorType("float64", (None, 3))
    TensorType(float64, shape=(?, 3))
    """

    variable_class: type[Variable]

    def filter(self, value: Any) -> Any:
        """Return ``value`` converted to this type, or raise TypeError."""
        raise NotImplementedError

    def make_variable(self, name: str | None = None) -> Variable:
        """Return a fresh graph input of this type."""
        return self.variable_class(self, name=name)

    def short_str(self) -> str:
        """A compact description for printed graphs (``float64(?, 3)``)."""
        return str(self)

    def __call__(self, name: str | None = None) -> Variable:
        return self.make_variable(name)


class Variable:
    """A value in a graph: a graph input, a constant, or an op output.

    Parameters
    ----------
    type : Type
        What values the variable holds.
    owner : Apply, optional
        The node that computes it (``None`` for inputs).
    index : int, optional
        Position among ``owner.outputs``.
    name : str, optional
        Name used in printing and error messages.
    """

    def __init__(
        self,
        type: Type,
        owner: Apply | None = None,
        index: int | None = None,
        name: str | None = None,
    ):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag: dict[str, Any] = {}
        self.id = next(_ids)

    def clone(self) -> Variable:
        """Return an ownerless copy with the same type and name."""
        v = type(self)(self.type, name=self.name)
        v.tag = dict(self.tag)
        return v

    def __repr__(self) -> str:
        return self.name if self.name is not None else self.auto_name

    @property
    def auto_name(self) -> str:
        if self.owner is not None:
            op = self.owner.op
            suffix = f".{self.index}" if len(self.owner.outputs) > 1 else ""
            return f"{op}{suffix}"
        return f"<{type(self).__name__} {self.id}>"

    # Variables are graph nodes: identity semantics, so that tensor
    # subclasses can overload ``==`` without breaking dict/set membership.
    __hash__ = object.__hash__


class Constant(Variable):
    """A graph input whose value is fixed at graph-build time."""

    def __init__(self, type: Type, data: Any, name: str | None = None):
        super().__init__(type, name=name)
        self.data = data

    def clone(self) -> Constant:
        c = type(self)(self.type, self.data, name=self.name)
        c.tag = dict(self.tag)
        return c

    def __repr__(self) -> str:
        if self.name is not None:
            return self.name
        text = repr(self.data)
        if len(text) > 40:
            text = text[:37] + "..."
        return text.replace("\n", " ")


class SharedValue:
    """Mixin for graph inputs whose value lives with the variable between calls.

    Compiled functions read ``_value`` at each call and may write new values
    through ``updates=``. Tensors (:class:`tessera.ops.variable.SharedVariable`)
    and random generators (:func:`tessera.random.rng`) both use it, so the
    compiler recognises any shared input by ``isinstance(v, SharedValue)``.
    Subclasses implement ``get_value`` and ``set_value``.

    Examples
    --------
    >>> import tessera as ts
    >>> isinstance(ts.shared(1.0), SharedValue)
    True
    """

    _value: Any

    def clone(self):
        return self  # a shared variable is its own clone: the storage is shared


class Apply:
    """One application of an op to input variables, producing outputs.

    Parameters
    ----------
    op : Op
        The operation.
    inputs : sequence of Variable
        Its inputs.
    output_types : sequence of Type
        Types of the outputs; the outputs are created here and owned by this node.

    Attributes
    ----------
    trace : tuple or None
        Where the user's code built the node (:func:`creation_trace`);
        clones keep the original's, so errors of compiled functions can
        name the line that built the failing node.
    """

    def __init__(self, op, inputs: Sequence[Variable], output_types: Sequence[Type]):
        self.op = op
        self.trace = creation_trace(2)
        self.inputs = list(inputs)
        for i in self.inputs:
            if not isinstance(i, Variable):
                raise TypeError(f"{op}: input {i!r} is not a Variable")
        self.outputs = [
            t.variable_class(t, owner=self, index=k) for k, t in enumerate(output_types)
        ]

    @property
    def out(self) -> Variable:
        """The single output (error if the node has several)."""
        if len(self.outputs) != 1:
            raise ValueError(f"{self.op} has {len(self.outputs)} outputs")
        return self.outputs[0]

    def clone_with_new_inputs(self, inputs: Sequence[Variable]) -> Apply:
        """Re-apply the op to new inputs (types are re-inferred)."""
        node = self.op.make_node(*inputs)
        node.trace = self.trace
        return node

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(repr, self.inputs))})"
