"""Generate one straight-line Python function for a whole graph.

Each Apply node becomes one statement ``v7 = f3(v2, c0)`` calling the
node's NumPy callable, or, where the node is one Python expression
(:func:`~.dispatch.numpy_inline`), that expression: ``v7 = v2 * k0`` on
0-d floats, ``v8 = i0[1:3]``; inputs are validated at the top, shared
values read once, updates written at the end. No per-node interpreter loop
runs at call time, so overhead is close to hand-written NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tessera.compile.backends.numpy import tuning
from tessera.compile.backends.numpy.dispatch import numpy_funcify, numpy_inline
from tessera.compile.backends.numpy.memory import free_dead_locals
from tessera.graph.basic import (
    Constant,
    SharedValue,
    Variable,
    node_context,
    with_context,
)
from tessera.graph.fg import FunctionGraph
from tessera.ops.shape import BroadcastTo
from tessera.ops.type import TensorType, shape_str


def _input_check(name: str, var: Variable, k: int) -> str:
    t = var.type
    if not isinstance(t, TensorType):
        return f"    {name} = _filter{k}({name})\n"
    conds = [f"{name}.__class__ is not _ndarray", f"{name}.dtype is not _dt{k}"]
    if None not in t.shape:
        # one comparison with a constant tuple: half the cost of dim by dim
        conds.append(f"{name}.shape != {tuple(int(s) for s in t.shape)!r}")
    else:
        conds.append(f"{name}.ndim != {t.ndim}")
        conds += [
            f"{name}.shape[{d}] != {s}" for d, s in enumerate(t.shape) if s is not None
        ]
    return f"    if {' or '.join(conds)}:\n        {name} = _filter{k}({name})\n"


def _view_base(var: Variable) -> Variable:
    """The variable whose memory ``var`` may be a view of."""
    while var.owner is not None and var.owner.op.returns_view:
        var = var.owner.inputs[0]
    return var


def _aliases_input(var: Variable) -> bool:
    """Whether ``var`` may be a view of a graph input, constant or shared value."""
    return _view_base(var).owner is None


def _read_only_view(var: Variable) -> bool:
    """Whether ``var`` may be a read-only broadcast view (stride-0 dims)."""
    while var.owner is not None and var.owner.op.returns_view:
        if isinstance(var.owner.op, BroadcastTo):
            return True
        var = var.owner.inputs[0]
    return False


def _owns_result(fg: FunctionGraph, var: Variable) -> bool:
    """Whether a ufunc's result ``var`` is memory no one else sees: a static
    array (not a NumPy scalar) that only one node reads, and not an output."""
    t = var.type
    if not isinstance(t, TensorType) or t.ndim == 0 or None in t.shape:
        return False
    # small arrays come cheaper from NumPy's allocation cache (see tuning)
    if math.prod(t.shape) < tuning.MIN_REUSE_SIZE:
        return False
    clients = fg.clients.get(var, ())
    return len({id(c) for c, _ in clients}) == 1 and all(
        c != "output" for c, _ in clients
    )


def _reusable_input(fg: FunctionGraph, node, owned: set) -> Variable | None:
    """An input of the elementwise ``node`` whose buffer can take its result
    (``out=``): owned by the graph, read by this node only, of the result's
    exact type (so no broadcasting and no casting)."""
    out = node.outputs[0]
    for x in node.inputs:
        if x in owned and x.type == out.type:
            return x
    return None


def _make_filter(var: Variable, k: int):
    label = var.name or f"#{k}"
    t = var.type

    what = f"{t.dtype}{shape_str(t.shape)}" if isinstance(t, TensorType) else t
    # float16/float32 inputs: a wider value may overflow to inf when cast
    narrow_float = (
        isinstance(t, TensorType)
        and t.numpy_dtype.kind == "f"
        and t.numpy_dtype.itemsize < 8
    )

    def filt(value):
        # the slow path only: the generated code calls this for a value that
        # is not already an ndarray of the input's dtype and shape
        try:
            with np.errstate(over="ignore"):
                out = t.filter(value, name=label)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{e} (input {k} {label!r} of type {what})") from None
        if narrow_float and out is not value:
            _check_float_range(value, out, k, label, what)
        return out

    return filt


def _check_float_range(value, out: np.ndarray, k: int, label: str, what) -> None:
    """Refuse a float input that became inf in a narrower float dtype
    (1e300 into float32) instead of computing with the inf."""
    src = np.asarray(value)
    if src.dtype.kind not in "fiu" or (
        src.dtype.kind == "f" and src.dtype.itemsize <= out.dtype.itemsize
    ):
        return
    overflow = np.isinf(out) & np.isfinite(src)
    if overflow.any():
        where = np.argwhere(overflow)
        at = f" at index {tuple(int(i) for i in where[0])}" if out.ndim else ""
        big = float(src[tuple(where[0])] if out.ndim else src)
        raise ValueError(
            f"input {k} {label!r} of type {what}: the value {big:g}{at} is outside "
            f"the range of {out.dtype} (largest {np.finfo(out.dtype).max:.4g})"
        )


class _Code:
    """The generated function being written: its lines, and the namespace
    holding the callables, constants and checks its lines refer to."""

    def __init__(self) -> None:
        self.ns: dict[str, object] = {
            "_ndarray": np.ndarray,
            "_asarray": np.asarray,
            "_array": np.array,
        }
        self.names: dict[Variable, str] = {}
        # 0-d constants as NumPy scalars, for inlined expressions
        self.scalar_names: dict[Variable, str] = {}
        self.lines: list[str] = []
        self.n_const = 0
        # index in `lines` -> (node, the names of its inputs' values)
        self.node_at: dict[int, tuple] = {}

    def source(self, args: Sequence[str]) -> tuple[str, dict[int, tuple]]:
        """The function's source, its body in one ``try`` (free when nothing
        fails) whose handler names the failing node; and the map from a
        line number of the source to its node."""
        lines, by_line, n = [], {}, 3  # the body starts on line 3
        for k, text in enumerate(self.lines):
            if k in self.node_at:
                by_line[n] = self.node_at[k]
            n += text.count("\n")
            lines.append("".join("    " + t for t in text.splitlines(True)))
        src = (
            f"def compiled_fn({', '.join(args)}):\n    try:\n"
            + "".join(lines)
            + "    except Exception as _e:\n"
            + "        _new = _node_error(_e)\n"
            + "        if _new is _e:\n"
            + "            raise\n"
            + "        raise _new from None\n"
        )
        return src, by_line

    def ref(self, var: Variable) -> str:
        """The name of ``var``'s value in the generated code."""
        if var in self.names:
            return self.names[var]
        if isinstance(var, Constant):
            name = f"c{self.n_const}"
            self.n_const += 1
            self.ns[name] = var.data
            self.names[var] = name
            return name
        raise ValueError(
            f"missing input: {var} of type {var.type} is needed but was not given "
            "as an input of the function"
        )

    def ref_scalar(self, var: Variable) -> str:
        """The name of ``var``'s value, a 0-d constant as a NumPy scalar of
        its dtype (NumPy's scalar math is ~10x cheaper than a ufunc on 0-d
        arrays, for the same result)."""
        if not (
            isinstance(var, Constant)
            and isinstance(var.data, np.ndarray)
            and var.data.ndim == 0
        ):
            return self.ref(var)
        if var not in self.scalar_names:
            name = f"k{len(self.scalar_names)}"
            self.ns[name] = var.data[()]
            self.scalar_names[var] = name
        return self.scalar_names[var]

    def check_inputs(self, inputs: Sequence[Variable], check: bool = True) -> list[str]:
        """Validate every argument (a cheap type test, then the full filter),
        unless ``check`` is False (a caller that passes values of the right
        types already, such as a loop calling an inner graph)."""
        args = []
        for k, var in enumerate(inputs):
            name = f"i{k}"
            self.names[var] = name
            args.append(name)
            if check:
                self.ns[f"_dt{k}"] = getattr(var.type, "numpy_dtype", None)
                self.ns[f"_filter{k}"] = _make_filter(var, k)
                self.lines.append(_input_check(name, var, k))
        return args

    def read_shared(self, fg: FunctionGraph) -> None:
        """Read each shared value once, at the top."""
        shared_vars = [v for v in fg.variables if isinstance(v, SharedValue)]
        for k, var in enumerate(sorted(shared_vars, key=lambda v: v.id)):
            if var in self.names:
                continue
            self.names[var] = f"s{k}"
            self.ns[f"_sh{k}"] = var
            self.lines.append(f"    s{k} = _sh{k}._value\n")
            if isinstance(var.type, TensorType):
                # a JAX-backend function may have left a device array there
                self.lines.append(f"    if s{k}.__class__ is not _ndarray:\n")
                self.lines.append(f"        s{k} = _asarray(s{k})\n")

    def call_nodes(self, fg: FunctionGraph) -> None:
        """One statement per node, in order; ufuncs reuse dead buffers."""
        owned: set[Variable] = set()  # fresh ufunc results, used by one node only
        for j, node in enumerate(fg.toposort()):
            fname = f"f{j}"
            out_names = [f"v{j}_{k}" for k in range(len(node.outputs))]
            fn = numpy_funcify(node.op, node)
            reuse = inline = None
            if len(node.outputs) == 1:
                if isinstance(fn, np.ufunc):
                    reuse = _reusable_input(fg, node, owned)
                    if _owns_result(fg, node.outputs[0]):
                        owned.add(node.outputs[0])
                if reuse is None:
                    inline = numpy_inline(node.op, node)
            if inline is not None:
                # 0-d constants as NumPy scalars where the result is 0-d
                # (against arrays, a 0-d array operand is the cheaper one)
                scalar = node.outputs[0].ndim == 0
                args = [
                    self.ref_scalar(i) if scalar else self.ref(i) for i in node.inputs
                ]
                if inline.fn is not None:
                    self.ns[fname] = inline.fn
                expr = inline.template.format(*args, f=fname)
            else:
                self.ns[fname] = fn
                args = [self.ref(i) for i in node.inputs]
                in_names = ", ".join(args)
                if reuse is not None:
                    in_names += f", out={self.ref(reuse)}"
                expr = f"{fname}({in_names})"
            for out, name in zip(node.outputs, out_names):
                self.names[out] = name
            self.node_at[len(self.lines)] = (node, args)
            self.lines.append(f"    {', '.join(out_names)} = {expr}\n")

    def output_exprs(self, outputs: Sequence[Variable]) -> list[str]:
        """The returned expressions, copying where the caller could otherwise
        see memory it must not: an input's, or an earlier output's."""
        handed: set[Variable] = set()
        exprs = []
        for var in outputs:
            expr = self.ref(var)
            if isinstance(var.type, TensorType):
                base = _view_base(var)
                again = base in handed
                handed.add(base)
                copy = (
                    var.owner is None
                    or again
                    or _aliases_input(var)
                    or _read_only_view(var)
                )
                # a 0-d value may be a NumPy scalar: returned as a 0-d array
                if var.ndim == 0:
                    expr = f"_array({expr})" if copy else f"_asarray({expr})"
                elif copy:
                    expr = f"{expr}.copy()"
            exprs.append(expr)
        return exprs

    def write_updates(self, targets, new_values, returned_vars) -> None:
        """Write the updates' new values into their shared variables."""
        # a new shared value must not share memory with an array handed to
        # the caller, or mutating that result would change the shared variable
        returned = {_view_base(v) for v in returned_vars}
        for k, (target, new) in enumerate(zip(targets, new_values)):
            self.ns[f"_up{k}"] = target
            new_expr = self.ref(new)
            if isinstance(target.type, TensorType):
                if _aliases_input(new) or _view_base(new) in returned:
                    new_expr = f"{new_expr}.copy()"
                new_expr = f"_asarray({new_expr})"
            self.lines.append(f"    _up{k}._value = {new_expr}\n")


def numpy_link(
    fg: FunctionGraph,
    inputs: Sequence[Variable],
    n_outputs: int,
    update_targets: Sequence[SharedValue],
    single: bool = False,
    check_inputs: bool = True,
):
    """Compile ``fg`` to a Python function.

    ``fg.outputs[:n_outputs]`` are returned (the value itself if ``single``,
    else a list);
    ``fg.outputs[n_outputs:]`` are the new values of ``update_targets``.
    ``check_inputs=False`` leaves out the arguments' type checks, for
    callers whose arguments have the inputs' types by construction.
    Returns ``(callable, source)``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera.graph.fg import FunctionGraph
    >>> x = ts.vector("x")
    >>> fn, src = numpy_link(FunctionGraph([x], [ts.exp(x)]), [x], 1, [], single=True)
    >>> fn(np.zeros(2))
    array([1., 1.])
    """
    code = _Code()
    args = code.check_inputs(inputs, check_inputs)
    code.read_shared(fg)
    code.call_nodes(fg)
    # each temporary is dropped after its last reader (see memory.py)
    free_dead_locals(code.lines, code.node_at, code.names, fg.outputs)
    outs = code.output_exprs(fg.outputs[:n_outputs])
    code.write_updates(update_targets, fg.outputs[n_outputs:], fg.outputs[:n_outputs])
    result = outs[0] if single else f"[{', '.join(outs)}]"
    code.lines.append(f"    return {result}\n")
    src, by_line = code.source(args)
    code.ns["_node_error"] = lambda e: node_error(e, by_line)
    exec(compile(src, "<tessera-compiled>", "exec"), code.ns)
    return code.ns["compiled_fn"], src


def node_error(e: BaseException, by_line: dict[int, tuple]) -> BaseException:
    """``e`` raised by a generated function, as the same exception type with
    the failing node described: its op, its inputs' names and run-time
    shapes, and where the user built it; ``e`` itself when no node failed
    (an input check) or a compiled function inside already said it."""
    tb = e.__traceback__
    if tb is None or getattr(e, "_tessera_node", False):
        return e
    entry = by_line.get(tb.tb_lineno)
    if entry is None:
        return e
    node, in_names = entry
    frame = tb.tb_frame
    values = [frame.f_locals.get(n, frame.f_globals.get(n)) for n in in_names]
    new = with_context(e, node_context(node, values))
    return new if new is e else new.with_traceback(tb)
