"""``tessera.scan``: trace a step function into one :class:`~tessera.scan.op.Scan`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tessera.graph.basic import Constant, SharedValue, Variable
from tessera.graph.traversal import clone_replace, graph_inputs, toposort
from tessera.ops.basic import as_tensor, constant
from tessera.ops.elemwise import is_discrete
from tessera.ops.shape import expand_dims, shape_i
from tessera.ops.static import get_static_value
from tessera.ops.type import TensorType, shape_str
from tessera.random.op import RandomVariable
from tessera.random.type import RandomGeneratorType
from tessera.scan.op import Scan, ScanInfo


class _Seq:
    """One sequence: its tensor, taps, and the per-tap slices fed to the loop."""

    def __init__(self, x: Variable, taps: list[int]):
        self.x, self.taps = x, taps
        self.lo = -min(min(taps), 0)
        self.hi = max(max(taps), 0)

    def static_length(self) -> int | None:
        n = self.x.type.shape[0]
        return None if n is None else n - self.lo - self.hi

    def length(self):
        n = self.static_length()
        if n is not None:
            return n
        return shape_i(self.x, 0) - (self.lo + self.hi)


class _Out:
    """One entry of ``outputs_info``: its initial value and taps (or none)."""

    def __init__(self, initial: Variable | None, taps: list[int]):
        self.initial, self.taps = initial, taps

    @property
    def fed_back(self) -> bool:
        return self.initial is not None

    @property
    def lag(self) -> int:
        return max(-k for k in self.taps)

    @property
    def sit_sot(self) -> bool:
        return self.taps == [-1]

    def state_type(self) -> TensorType:
        t = self.initial.type
        return t if self.sit_sot else TensorType(t.dtype, t.shape[1:])


def _as_tensor(label: str, what: str, value: Any) -> Variable:
    try:
        x = as_tensor(value)
        if x.dtype == "object":
            raise TypeError("no numeric dtype")
        return x
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{label}: {what} must be a graph variable or a value convertible to "
            f"a tensor, got {value!r} ({e})"
        ) from None


def _taps(label: str, what: str, taps: Any, sign: str) -> list[int]:
    taps = [taps] if isinstance(taps, int | np.integer) else list(taps)
    if not taps or not all(isinstance(k, int | np.integer) for k in taps):
        raise TypeError(f"{label}: {what} taps must be a list of ints, got {taps}")
    taps = [int(k) for k in taps]
    if len(set(taps)) != len(taps):
        raise ValueError(f"{label}: {what} has repeated taps {taps}")
    if sign == "negative" and any(k >= 0 for k in taps):
        raise ValueError(
            f"{label}: {what} taps must be negative (past values), got {taps}"
        )
    return taps


def _sequences(label: str, sequences) -> list[_Seq]:
    if sequences is None:
        return []
    if isinstance(sequences, Variable | Mapping) or not isinstance(
        sequences, list | tuple
    ):
        sequences = [sequences]
    out = []
    for k, s in enumerate(sequences):
        taps = [0]
        if isinstance(s, Mapping):
            taps = _taps(label, f"sequence {k}", s.get("taps", [0]), "any")
            s = s["input"]
        x = _as_tensor(label, f"sequence {k}", s)
        if x.ndim < 1:
            raise ValueError(
                f"{label}: sequence {k} must have a leading (time) axis, got a "
                f"scalar {x}"
            )
        out.append(_Seq(x, taps))
    return out


def _outputs_info(label: str, outputs_info) -> list[_Out]:
    if outputs_info is None:
        return []
    if isinstance(outputs_info, Variable | Mapping) or not isinstance(
        outputs_info, list | tuple
    ):
        outputs_info = [outputs_info]
    out = []
    for j, o in enumerate(outputs_info):
        taps = [-1]
        if isinstance(o, Mapping):
            if "taps" in o and o["taps"] is not None:
                taps = _taps(label, f"output {j}", o["taps"], "negative")
            o = o.get("initial")
        if o is None:
            out.append(_Out(None, []))
            continue
        init = _as_tensor(label, f"initial value of output {j}", o)
        res = _Out(init, taps)
        if not res.sit_sot:
            rows = init.type.shape[0] if init.ndim else 0
            if init.ndim == 0 or (rows is not None and rows < res.lag):
                raise ValueError(
                    f"{label}: output {j} has taps {taps}, which need {res.lag} "
                    f"initial values along a leading axis; its initial value has "
                    f"shape {shape_str(init.type.shape)}"
                )
        out.append(res)
    return out


def _n_steps(label: str, n_steps, seqs: list[_Seq]) -> Variable:
    if n_steps is not None:
        if isinstance(n_steps, Variable):
            n = n_steps
        elif isinstance(n_steps, int | np.integer) and not isinstance(n_steps, bool):
            n = constant(np.int64(n_steps))
        else:
            raise TypeError(f"{label}: n_steps must be a scalar int, got {n_steps!r}")
        if (
            not isinstance(n.type, TensorType)
            or n.ndim != 0
            or not is_discrete(n)
            or n.dtype == "bool"
        ):
            raise TypeError(
                f"{label}: n_steps must be a scalar int, got {n} of type {n.type}"
            )
        static = get_static_value(n)
        if static is not None and int(static) < 0:
            raise ValueError(f"{label}: n_steps must be >= 0, got {int(static)}")
        n = n if n.dtype == "int64" else n.astype("int64")
        for k, s in enumerate(seqs):
            length = s.static_length()
            if static is not None and length is not None and length < int(static):
                raise ValueError(
                    f"{label}: sequence {k} (shape {shape_str(s.x.type.shape)}, "
                    f"taps {s.taps}) gives {length} steps, fewer than n_steps = "
                    f"{int(static)}"
                )
        return n
    if not seqs:
        raise ValueError(
            f"{label}: n_steps is required when there are no sequences to scan over"
        )
    known = [(k, s.static_length()) for k, s in enumerate(seqs)]
    known = [(k, n) for k, n in known if n is not None]
    if len({n for _, n in known}) > 1:
        desc = ", ".join(
            f"sequence {k} gives {n} (shape {shape_str(seqs[k].x.type.shape)})"
            for k, n in known
        )
        raise ValueError(f"{label}: sequences have different lengths: {desc}")
    if known:
        return constant(np.int64(known[0][1]))
    return as_tensor(seqs[0].length(), dtype="int64")


def _seq_slices(s: _Seq, n: Variable, given: bool) -> list[Variable]:
    """The per-tap sequences: row ``t`` of the one for tap ``k`` is
    ``x[t + lo + k]``."""
    out = []
    for k in s.taps:
        start = s.lo + k
        if s.taps == [0] and not given:
            out.append(s.x)
        else:
            out.append(s.x[start : start + n])
    return out


def _split_result(label: str, result) -> tuple[list, dict, bool]:
    """``fn``'s outputs, its updates and whether it returned one output."""
    if isinstance(result, Mapping):
        return [], dict(result), False
    if isinstance(result, tuple | list) and len(result) == 2:
        a, b = result
        if isinstance(b, Mapping) and not isinstance(a, Mapping):
            single = not isinstance(a, list | tuple)
            return ([a] if single else list(a)), dict(b), single
        if isinstance(a, Mapping):
            single = not isinstance(b, list | tuple)
            return ([b] if single else list(b)), dict(a), single
    if isinstance(result, tuple | list):
        return list(result), {}, False
    return [result], {}, True


def _rng_chain_end(label: str, g: Variable, outs: list[Variable]) -> Variable:
    """The generator after the last draw of ``g``'s chain in the step."""
    users: dict[Variable, list] = {}
    for node in toposort(outs):
        if isinstance(node.op, RandomVariable):
            users.setdefault(node.inputs[0], []).append(node)
    cur = g
    while cur in users:
        if len(users[cur]) > 1:
            raise ValueError(
                f"{label}: generator {cur} feeds {len(users[cur])} random draws in "
                "the step; they would repeat one stream. Thread each draw's "
                "next_rng (draw.owner.outputs[0]) into the next one"
            )
        cur = users[cur][0].outputs[0]
    return cur


def scan(
    fn: Callable,
    sequences=None,
    outputs_info=None,
    non_sequences=None,
    n_steps=None,
    truncate_gradient: int = -1,
    name: str | None = None,
) -> tuple[Variable | list[Variable] | None, dict]:
    """Loop ``fn`` over sequences and fed-back outputs, as one graph node.

    ``fn`` is called once, on symbolic placeholders, with (in this order)
    one slice per tap of each sequence, one previous value per tap of each
    fed-back output, then the non-sequences. It returns one output or a
    list of them, optionally with an updates dict (``return out, {rng:
    next_rng}``) for shared variables it advances, random generators in
    particular. The outputs are stacked along a new leading axis of length
    ``n_steps``.

    Parameters
    ----------
    fn : callable
        The step function.
    sequences : tensor, dict or list of them, optional
        Tensors scanned along their first axis. ``{"input": x, "taps": [-1,
        0]}`` passes ``x[t - 1]`` and ``x[t]`` at step ``t`` (the loop
        starts where every tap is in range).
    outputs_info : initial value, dict, None or list of them, optional
        One entry per output of ``fn``: ``None`` for an output not fed
        back; an initial value for an output whose previous value ``fn``
        receives (taps ``[-1]``); ``{"initial": x0, "taps": [-1, -2]}`` to
        receive several past values, where ``x0`` stacks at least
        ``max(|taps|)`` of them along its first axis (``x0[0]`` is the
        oldest).
    non_sequences : list, optional
        Values passed unchanged to every step. Variables the step uses
        without being given them are passed the same way.
    n_steps : int or int scalar variable, optional
        Number of steps; required without sequences. With sequences, their
        first ``n_steps`` rows are used.
    truncate_gradient : int
        Backpropagate through at most this many steps (the last ones);
        ``-1`` for all of them.
    name : str, optional
        Names the loop in errors and printed graphs.

    Returns
    -------
    outputs : tensor or list of tensors
        The stacked outputs (one tensor when ``fn`` returns one output).
    updates : dict
        New values of the shared variables the loop advances (its random
        generators among them), for ``tessera.function(..., updates=)``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> prods, _ = ts.scan(lambda xt, acc: acc * xt, sequences=[x],
    ...                    outputs_info=[ts.constant(1.0)])
    >>> ts.function([x], prods)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([ 1.,  2.,  6., 24.])
    """
    label = "scan" if name is None else f"scan {name!r}"
    seqs = _sequences(label, sequences)
    outs_info = _outputs_info(label, outputs_info)
    if non_sequences is None:
        non_sequences = []
    elif isinstance(non_sequences, Variable) or not isinstance(
        non_sequences, list | tuple
    ):
        non_sequences = [non_sequences]
    non_seqs = [
        _as_tensor(label, f"non_sequences[{k}]", q)
        if not isinstance(q, Variable)
        else q
        for k, q in enumerate(non_sequences)
    ]
    n = _n_steps(label, n_steps, seqs)

    seq_inputs: list[Variable] = []  # outer, one per tap
    seq_ph: list[Variable] = []
    for k, s in enumerate(seqs):
        seq_inputs += _seq_slices(s, n, n_steps is not None)
        base = s.x.name or f"seq{k}"
        for tap in s.taps:
            t = TensorType(s.x.dtype, s.x.type.shape[1:])
            seq_ph.append(t(f"{base}[t{tap:+d}]" if tap else f"{base}[t]"))
    tap_ph: list[list[Variable]] = []
    for j, o in enumerate(outs_info):
        if o.fed_back:
            st = o.state_type()
            tap_ph.append([st(f"out{j}[t{k:+d}]") for k in o.taps])
    args = list(seq_ph) + [p for ps in tap_ph for p in ps] + non_seqs
    result = fn(*args)
    outs, updates, single = _split_result(label, result)
    outs = [
        _as_tensor(label, f"output {j} of the step function", o)
        for j, o in enumerate(outs)
    ]
    if outs_info and len(outs) != len(outs_info):
        raise ValueError(
            f"{label}: the step function returned {len(outs)} outputs, but "
            f"outputs_info has {len(outs_info)} entries (one per output)"
        )
    if not outs_info:
        outs_info = [_Out(None, []) for _ in outs]
    _check_outputs(label, outs, outs_info)

    mit = [j for j, o in enumerate(outs_info) if o.fed_back]
    nit = [j for j, o in enumerate(outs_info) if not o.fed_back]
    carries, carry_next, non_seq_vars = _free_variables(
        label, outs, updates, set(seq_ph).union(*tap_ph), non_seqs
    )
    carry_ph = [c.type(f"{c.name or 'carry'}[t-1]") for c in carries]
    ns_ph = [q.type(q.name) for q in non_seq_vars]
    replace = dict(zip(carries, carry_ph))
    replace.update(zip(non_seq_vars, ns_ph))
    inner_out = [outs[j] for j in mit] + [outs[j] for j in nit] + carry_next
    if replace:
        inner_out = clone_replace(inner_out, replace)
    inner_in = seq_ph + [p for ps in tap_ph for p in ps] + carry_ph + ns_ph
    info = ScanInfo(
        n_seqs=len(seq_ph),
        mit_taps=tuple(tuple(outs_info[j].taps) for j in mit),
        n_nit=len(nit),
        n_carry=len(carries),
        n_non_seqs=len(ns_ph),
        truncate_gradient=int(truncate_gradient),
        name=name or "scan",
    )
    inits = []
    for j in mit:
        o = outs_info[j]
        inits.append(expand_dims(o.initial, 0) if o.sit_sot else o.initial[: o.lag])
    op = Scan(inner_in, inner_out, info)
    node = op.make_node(n, *seq_inputs, *inits, *carries, *non_seq_vars)
    stacked = [None] * len(outs_info)
    for pos, j in enumerate(mit + nit):
        stacked[j] = node.outputs[pos]
        stacked[j].name = f"{info.name}.out{j}" if name else None
    finals = node.outputs[info.n_mit + info.n_nit :]
    new_updates = {c: f for c, f in zip(carries, finals) if isinstance(c, SharedValue)}
    if len(stacked) == 1:
        return stacked[0], new_updates
    return stacked, new_updates


def _check_outputs(label: str, outs: list[Variable], outs_info: list[_Out]) -> None:
    """Fed-back outputs have the dtype and shape of their initial values."""
    for j, (o, info) in enumerate(zip(outs, outs_info)):
        if not info.fed_back:
            continue
        st = info.state_type()
        if o.dtype != st.dtype or not st.is_compatible(
            TensorType(st.dtype, o.type.shape)
        ):
            raise TypeError(
                f"{label}: output {j} of the step function has type "
                f"{o.dtype}{shape_str(o.type.shape)}, but its initial value gives "
                f"{st.dtype}{shape_str(st.shape)} (initial value "
                f"{info.initial.dtype}{shape_str(info.initial.type.shape)}, taps "
                f"{info.taps}); a fed-back output must keep its dtype and shape"
            )


def _free_variables(label, outs, updates, placeholders, non_seqs):
    """Split what the step uses from outside into carries (shared variables it
    updates, random generators) and non-sequences."""
    for target in updates:
        if not isinstance(target, SharedValue):
            raise TypeError(
                f"{label}: updates key {target} is not a shared variable or generator"
            )
    update_values = []
    for target, value in updates.items():
        if not isinstance(value, Variable):
            value = _as_tensor(label, f"update of {target}", value)
        if isinstance(target.type, TensorType) and value.dtype != target.dtype:
            value = value.astype(target.dtype)
        update_values.append(value)
    free = [
        v
        for v in graph_inputs(outs + update_values)
        if v not in placeholders and not isinstance(v, Constant)
    ]
    carries = list(updates)
    carry_next = list(update_values)
    for v in free:
        if v in updates:
            continue
        if isinstance(v.type, RandomGeneratorType):
            carries.append(v)
            carry_next.append(_rng_chain_end(label, v, outs + update_values))
    free_set = set(free)
    ordered = [q for q in non_seqs if q in free_set and not isinstance(q, Constant)]
    ordered += [v for v in free if v not in set(ordered)]
    non_seq_vars = [v for v in ordered if v not in set(carries)]
    return carries, carry_next, non_seq_vars
