"""The Scan op: a loop whose body is an inner graph.

One Scan node runs its inner graph ``n_steps`` times. Its inputs and
outputs come in groups, always in this order (:class:`ScanInfo` says how
many of each):

outer inputs
    ``n_steps`` (an int64 scalar), the *sequences* (each with ``n_steps``
    rows; step ``t`` reads row ``t``), the *initial buffers* of the
    recurrent outputs (``L`` rows each, ``L`` the largest lag of the
    output's taps: row ``i`` is the value at time ``i - L``), the initial
    values of the *carries* (states of which only the final value is kept:
    random generators, gradient accumulators) and the *non-sequences*
    (the same value at every step).
inner inputs
    one slice per sequence, one value per tap of each recurrent output (in
    the order of its taps), one per carry, one per non-sequence.
inner outputs and outer outputs
    the recurrent outputs (outer: the ``n_steps`` new values, stacked), the
    outputs not fed back (``nit``, stacked), then the carries (outer: the
    value after the last step).

The inner graph is closed: it depends on its inputs and constants only
(:func:`tessera.scan` turns free variables into non-sequences).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tessera.graph.basic import Apply, Constant, Variable
from tessera.graph.evaluate import perform_node
from tessera.graph.fg import FunctionGraph
from tessera.graph.op import Op
from tessera.graph.traversal import graph_inputs
from tessera.ops.basic import as_tensor
from tessera.ops.elemwise import is_discrete
from tessera.ops.static import get_static_value
from tessera.ops.type import TensorType, shape_str


@dataclass(frozen=True)
class ScanInfo:
    """The static description of a Scan's groups of inputs and outputs.

    Examples
    --------
    >>> info = ScanInfo(n_seqs=1, mit_taps=((-1, -2),), n_nit=0, n_carry=0,
    ...                 n_non_seqs=1)
    >>> info.n_mit, info.max_lags
    (1, (2,))
    """

    n_seqs: int
    mit_taps: tuple[tuple[int, ...], ...]
    n_nit: int
    n_carry: int
    n_non_seqs: int
    truncate_gradient: int = -1
    name: str = "scan"

    @property
    def n_mit(self) -> int:
        """Number of recurrent (fed back, stacked) outputs."""
        return len(self.mit_taps)

    @property
    def max_lags(self) -> tuple[int, ...]:
        """Rows of each recurrent output's initial buffer (largest lag)."""
        return tuple(max(-k for k in taps) for taps in self.mit_taps)

    @property
    def n_taps(self) -> int:
        return sum(len(t) for t in self.mit_taps)

    @property
    def n_outer_inputs(self) -> int:
        return 1 + self.n_seqs + self.n_mit + self.n_carry + self.n_non_seqs

    @property
    def n_inner_inputs(self) -> int:
        return self.n_seqs + self.n_taps + self.n_carry + self.n_non_seqs

    @property
    def n_outputs(self) -> int:
        return self.n_mit + self.n_nit + self.n_carry

    def label(self) -> str:
        """How errors name the scan."""
        return "scan" if self.name == "scan" else f"scan {self.name!r}"


class Scan(Op):
    """A loop over an inner graph (see the module docstring for the layout).

    Build one with :func:`tessera.scan`; this class is the node's op.

    Parameters
    ----------
    inputs, outputs : sequence of Variable
        The inner graph's inputs and outputs, in the order of ``info``.
    info : ScanInfo

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> ys, _ = ts.scan(lambda xt, acc: acc + xt, sequences=[x],
    ...                 outputs_info=[ts.constant(0.0)])
    >>> isinstance(ys.owner.op, Scan)
    True
    """

    __props__ = ("fgraph", "info")

    def __init__(
        self, inputs: Sequence[Variable], outputs: Sequence[Variable], info: ScanInfo
    ):
        inputs, outputs = list(inputs), list(outputs)
        if len(inputs) != info.n_inner_inputs or len(outputs) != info.n_outputs:
            raise ValueError(
                f"{info.label()}: inner graph has {len(inputs)} inputs and "
                f"{len(outputs)} outputs; its description needs "
                f"{info.n_inner_inputs} and {info.n_outputs}"
            )
        known = set(inputs)
        for v in graph_inputs(outputs):
            if v not in known and not isinstance(v, Constant):
                raise ValueError(
                    f"{info.label()}: the inner graph depends on {v} (type "
                    f"{v.type}), which is not one of its inputs"
                )
        self.fgraph = FunctionGraph(inputs, outputs, clone=True)
        self.info = info
        self._order: list[Apply] | None = None
        #: compiled forms of the inner graph, by backend (filled by the backends)
        self.cache: dict = {}

    def __str__(self) -> str:
        return f"Scan{{{self.info.name}}}"

    __repr__ = __str__

    # --- the groups --------------------------------------------------------------
    @property
    def inner_inputs(self) -> list[Variable]:
        return self.fgraph.inputs

    @property
    def inner_outputs(self) -> list[Variable]:
        return self.fgraph.outputs

    def inner_groups(self) -> dict[str, list]:
        """Inner inputs by group: ``seqs``, ``taps`` (a list per recurrent
        output), ``carries``, ``non_seqs``."""
        info, ins = self.info, self.inner_inputs
        seqs = ins[: info.n_seqs]
        pos = info.n_seqs
        taps = []
        for t in info.mit_taps:
            taps.append(ins[pos : pos + len(t)])
            pos += len(t)
        carries = ins[pos : pos + info.n_carry]
        non_seqs = ins[pos + info.n_carry :]
        return {"seqs": seqs, "taps": taps, "carries": carries, "non_seqs": non_seqs}

    @staticmethod
    def outer_groups(info: ScanInfo, inputs: Sequence) -> dict[str, list]:
        """Outer inputs by group: ``n_steps``, ``seqs``, ``inits``, ``carries``,
        ``non_seqs``."""
        inputs = list(inputs)
        a = 1 + info.n_seqs
        b = a + info.n_mit
        c = b + info.n_carry
        return {
            "n_steps": inputs[0],
            "seqs": inputs[1:a],
            "inits": inputs[a:b],
            "carries": inputs[b:c],
            "non_seqs": inputs[c:],
        }

    def state_type(self, j: int) -> TensorType:
        """The type of one value of recurrent output ``j``."""
        return self.inner_groups()["taps"][j][0].type

    # --- Op contract ---------------------------------------------------------------
    def make_node(self, n_steps, *inputs) -> Apply:
        info, label = self.info, self.info.label()
        n_steps = as_tensor(n_steps)
        if n_steps.ndim != 0 or not is_discrete(n_steps) or n_steps.dtype == "bool":
            raise TypeError(
                f"{label}: n_steps must be a scalar int, got {n_steps} of type "
                f"{n_steps.type}"
            )
        if n_steps.dtype != "int64":
            n_steps = n_steps.astype("int64")
        if len(inputs) + 1 != info.n_outer_inputs:
            raise TypeError(
                f"{label}: takes {info.n_outer_inputs} inputs, got {len(inputs) + 1}"
            )
        groups = self.outer_groups(info, [n_steps, *inputs])
        inner = self.inner_groups()
        n_static = get_static_value(n_steps)
        n_static = None if n_static is None else int(n_static)
        if n_static is not None and n_static < 0:
            raise ValueError(f"{label}: n_steps must be >= 0, got {n_static}")
        seqs = [as_tensor(s) for s in groups["seqs"]]
        for k, (s, ph) in enumerate(zip(seqs, inner["seqs"])):
            _check_stacked(label, f"sequence {k}", s, ph.type, n_static)
        inits = [as_tensor(b) for b in groups["inits"]]
        for j, (b, L) in enumerate(zip(inits, info.max_lags)):
            _check_stacked(label, f"initial buffer of output {j}", b, None, L)
            st = self.state_type(j)
            _check_stacked(label, f"initial buffer of output {j}", b, st, None)
        carries = list(groups["carries"])
        for c, ph in zip(carries, inner["carries"]):
            _check_same(label, "carry", c, ph.type)
        non_seqs = list(groups["non_seqs"])
        for q, ph in zip(non_seqs, inner["non_seqs"]):
            _check_same(label, "non-sequence", q, ph.type)
        outs = self.inner_outputs
        types = []
        for j in range(info.n_mit):
            st, o = self.state_type(j), outs[j]
            shape = tuple(
                a if a is not None else b for a, b in zip(st.shape, o.type.shape)
            )
            types.append(TensorType(st.dtype, (n_static, *shape)))
        for o in outs[info.n_mit : info.n_mit + info.n_nit]:
            types.append(TensorType(o.dtype, (n_static, *o.type.shape)))
        types += [ph.type for ph in inner["carries"]]
        return Apply(self, [n_steps, *seqs, *inits, *carries, *non_seqs], types)

    def perform(self, node, inputs, output_storage):
        info, label = self.info, self.info.label()
        g = self.outer_groups(info, inputs)
        n = int(g["n_steps"])
        check_lengths(info, n, g["seqs"], g["inits"])
        if self._order is None:
            self._order = self.fgraph.toposort()
        hist = [list(np.asarray(b)) for b in g["inits"]]
        lags = info.max_lags
        carries = list(g["carries"])
        mit_vals: list[list] = [[] for _ in range(info.n_mit)]
        nit_vals: list[list] = [[] for _ in range(info.n_nit)]
        for t in range(n):
            args = [np.asarray(s)[t] for s in g["seqs"]]
            for j, taps in enumerate(info.mit_taps):
                args += [hist[j][t + lags[j] + k] for k in taps]
            args += carries + list(g["non_seqs"])
            outs = self._evaluate(args)
            for j in range(info.n_mit):
                val = np.asarray(outs[j], dtype=node.outputs[j].type.numpy_dtype)
                check_step_shape(label, j, val.shape, np.shape(hist[j][0]))
                hist[j].append(val)
                mit_vals[j].append(val)
            for k in range(info.n_nit):
                nit_vals[k].append(outs[info.n_mit + k])
            carries = list(outs[info.n_mit + info.n_nit :])
        for j in range(info.n_mit):
            out = node.outputs[j]
            output_storage[j][0] = _stack(mit_vals[j], out, np.shape(hist[j][0]))
        for k in range(info.n_nit):
            out = node.outputs[info.n_mit + k]
            output_storage[info.n_mit + k][0] = _stack(nit_vals[k], out, None)
        for c, val in enumerate(carries):
            output_storage[info.n_mit + info.n_nit + c][0] = val

    def _evaluate(self, args: list) -> list:
        """The inner graph's outputs for one step (the ops' ``perform``)."""
        values = dict(zip(self.fgraph.inputs, args))
        for nd in self._order:
            ins = [i.data if isinstance(i, Constant) else values[i] for i in nd.inputs]
            values.update(zip(nd.outputs, perform_node(nd, ins)))
        return [
            o.data if isinstance(o, Constant) else values[o] for o in self.inner_outputs
        ]

    def do_constant_folding(self, node: Apply) -> bool:
        # a loop is not worth running at compile time, and may draw numbers
        return False

    def infer_shape(self, node, input_shapes):
        info = self.info
        n = node.inputs[0]
        g = self.outer_groups(info, input_shapes)
        shapes = [(n, *tuple(b)[1:]) for b in g["inits"]]
        for o in node.outputs[info.n_mit : info.n_mit + info.n_nit]:
            if None in o.type.shape[1:]:
                raise NotImplementedError(
                    f"{self}: the shape of an output that is not fed back is known "
                    "only by running the loop"
                )
            shapes.append((n, *o.type.shape[1:]))
        shapes += [tuple(c) for c in g["carries"]]
        return shapes

    def pullback(self, inputs, outputs, cotangents):
        from tessera.scan.grad import scan_pullback

        return scan_pullback(self, inputs, outputs, cotangents)

    def vectorize_node(self, node, *batched_inputs):
        from tessera.scan.vectorize import vectorize_scan

        return vectorize_scan(self, node, batched_inputs)


def _check_same(label: str, what: str, outer: Variable, t) -> None:
    if not isinstance(outer, Variable):
        raise TypeError(f"{label}: {what} {outer!r} is not a variable")
    ok = t.is_compatible(outer.type) if hasattr(t, "is_compatible") else t == outer.type
    if not ok:
        raise TypeError(
            f"{label}: {what} {outer} has type {outer.type}, the loop body expects {t}"
        )


def _check_stacked(label: str, what: str, x: Variable, inner, rows) -> None:
    """``x`` is a stack of values of type ``inner`` with ``rows`` rows."""
    if x.ndim < 1:
        raise ValueError(f"{label}: {what} must have a leading axis, got a scalar")
    if inner is not None:
        core = TensorType(x.dtype, x.type.shape[1:])
        if not inner.is_compatible(core):
            raise TypeError(
                f"{label}: {what} has rows of type {x.dtype}"
                f"{shape_str(core.shape)}, the loop body expects "
                f"{inner.dtype}{shape_str(inner.shape)}"
            )
    if rows is not None and x.type.shape[0] not in (None, rows):
        raise ValueError(
            f"{label}: {what} has {x.type.shape[0]} rows (shape "
            f"{shape_str(x.type.shape)}), expected {rows}"
        )


def check_lengths(info: ScanInfo, n: int, seqs: Sequence, inits: Sequence) -> None:
    """Run-time check: sequences have ``n`` rows, buffers their lags' rows."""
    label = info.label()
    for k, s in enumerate(seqs):
        if np.shape(s)[0] != n:
            raise ValueError(
                f"{label}: sequence {k} has {np.shape(s)[0]} rows (shape "
                f"{np.shape(s)}), but n_steps is {n}"
            )
    for j, (b, L) in enumerate(zip(inits, info.max_lags)):
        if np.shape(b)[0] != L:
            raise ValueError(
                f"{label}: output {j} has taps {list(info.mit_taps[j])}, which need "
                f"{L} initial values; its initial value has {np.shape(b)[0]} "
                f"(shape {np.shape(b)})"
            )


def check_step_shape(label: str, j: int, got: tuple, expected: tuple) -> None:
    """Run-time check: a step's new value has the shape of the state."""
    if tuple(got) != tuple(expected):
        raise ValueError(
            f"{label}: output {j} has shape {tuple(got)} at a step, but its "
            f"initial value has shape {tuple(expected)}"
        )


def _stack(values: list, out: Variable, state_shape) -> np.ndarray:
    dtype = out.type.numpy_dtype
    if values:
        return np.stack([np.asarray(v, dtype=dtype) for v in values])
    shape = state_shape if state_shape is not None else out.type.shape[1:]
    return np.empty((0, *[0 if s is None else s for s in shape]), dtype=dtype)
