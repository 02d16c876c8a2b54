"""The pullback of Scan: backpropagation through time, as another Scan.

The backward loop runs over the steps in reverse. At step ``t`` it takes
the forward step's inputs and outputs (sequences of the stored values, so
the forward body is not recomputed where the pullbacks only need its
outputs) and the cotangent of the step's outputs, and computes the
step's vector-Jacobian product, built with :func:`tessera.grad.pullback_graph`
on the inner graph. Its carries are

* for each recurrent output with largest lag ``L``, the ``(L, ...)``
  cotangents still owed to the ``L`` previous values (row ``i`` for the
  value ``i + 1`` steps back), whose row 0 joins the next step's cotangent;
* for each non-sequence, its accumulated gradient.

The per-step cotangents of the sequences are its stacked outputs. The
backward loop is an ordinary Scan, so it is differentiable in turn (second
order): its carries become stored states (:func:`_carries_as_states`) to be
backpropagated through.

Random draws inside the loop are not recomputed: when the gradient needs
them, a replay of the forward loop from the same generators also stacks the
draws, which the backward loop reads as sequences.
"""

from __future__ import annotations

from collections.abc import Sequence

from tessera.graph.basic import Constant, Variable
from tessera.graph.null import (
    DisconnectedType,
    NonDifferentiable,
    disconnected,
    is_zero_cotangent,
)
from tessera.graph.traversal import clone_replace, graph_inputs, toposort
from tessera.ops.elemwise import is_discrete
from tessera.ops.type import TensorType
from tessera.random.op import RandomVariable
from tessera.scan.op import Scan, ScanInfo


def scan_pullback(op: Scan, inputs, outputs, cotangents) -> list:
    """Cotangents of a Scan node's inputs (see the module docstring)."""
    info = op.info
    live = [
        not is_zero_cotangent(c) and not is_discrete(o)
        for c, o in zip(cotangents, outputs)
    ]
    if not any(live[: info.n_mit + info.n_nit + info.n_carry]):
        return [disconnected] * len(inputs)
    inner_carries = op.inner_groups()["carries"]
    if any(isinstance(c.type, TensorType) for c in inner_carries):
        return _carries_as_states(op, inputs, cotangents)
    return _bptt(op, list(inputs), list(outputs), list(cotangents))


def _carries_as_states(op: Scan, inputs, cotangents) -> list:
    """Pull back through a replay of the loop whose tensor carries are stored
    states (taps ``[-1]``), so that their values at every step are known."""
    from tessera.ops.creation import zeros_like
    from tessera.ops.shape import expand_dims
    from tessera.ops.subtensor import set_subtensor

    info = op.info
    inner = op.inner_groups()
    outer = Scan.outer_groups(info, inputs)
    tensor = [
        k for k, c in enumerate(inner["carries"]) if isinstance(c.type, TensorType)
    ]
    other = [k for k in range(info.n_carry) if k not in tensor]
    outs = op.inner_outputs
    mit_out = outs[: info.n_mit]
    nit_out = outs[info.n_mit : info.n_mit + info.n_nit]
    carry_out = outs[info.n_mit + info.n_nit :]
    new_in = (
        inner["seqs"]
        + [p for ps in inner["taps"] for p in ps]
        + [inner["carries"][k] for k in tensor]
        + [inner["carries"][k] for k in other]
        + inner["non_seqs"]
    )
    new_out = (
        mit_out
        + [carry_out[k] for k in tensor]
        + nit_out
        + [carry_out[k] for k in other]
    )
    new_info = ScanInfo(
        n_seqs=info.n_seqs,
        mit_taps=info.mit_taps + ((-1,),) * len(tensor),
        n_nit=info.n_nit,
        n_carry=len(other),
        n_non_seqs=info.n_non_seqs,
        truncate_gradient=info.truncate_gradient,
        name=info.name,
    )
    replay = Scan(new_in, new_out, new_info)
    node = replay.make_node(
        outer["n_steps"],
        *outer["seqs"],
        *outer["inits"],
        *[expand_dims(outer["carries"][k], 0) for k in tensor],
        *[outer["carries"][k] for k in other],
        *outer["non_seqs"],
    )
    cots = list(cotangents)
    mit_c = cots[: info.n_mit]
    nit_c = cots[info.n_mit : info.n_mit + info.n_nit]
    carry_c = cots[info.n_mit + info.n_nit :]
    state_c = []
    for pos, k in enumerate(tensor):
        c = carry_c[k]
        traj = node.outputs[info.n_mit + pos]
        if is_zero_cotangent(c) or is_discrete(traj):
            state_c.append(disconnected)
        else:
            state_c.append(set_subtensor(zeros_like(traj)[-1], c))
    new_cots = mit_c + state_c + nit_c + [carry_c[k] for k in other]
    grads = _bptt(replay, list(node.inputs), list(node.outputs), new_cots)
    a = 1 + info.n_seqs + info.n_mit
    head = grads[:a]
    state_g = grads[a : a + len(tensor)]
    other_g = grads[a + len(tensor) : a + len(tensor) + len(other)]
    rest = grads[a + len(tensor) + len(other) :]
    carry_g: list = [disconnected] * info.n_carry
    for k, g in zip(tensor, state_g):
        carry_g[k] = g if is_zero_cotangent(g) else g[0]
    for k, g in zip(other, other_g):
        carry_g[k] = g
    return head + carry_g + rest


def _inner_vjp(outs, cots, wrt) -> list:
    """``pullback_graph`` on the inner graph; inputs the gradient cannot go
    through get a NonDifferentiable (raised only if the outer gradient
    needs them)."""
    from tessera.grad import pullback_graph

    try:
        return pullback_graph(outs, cots, wrt)
    except ValueError:
        pass
    res = []
    for w in wrt:
        try:
            res.append(pullback_graph(outs, cots, [w])[0])
        except ValueError as e:
            res.append(NonDifferentiable("scan", str(e)))
    return res


def _random_draws(outs: Sequence[Variable]) -> list[Variable]:
    return [n.outputs[1] for n in toposort(outs) if isinstance(n.op, RandomVariable)]


def _bptt(op: Scan, inputs: list, outputs: list, cotangents: list) -> list:
    """Backpropagation through time for a Scan without tensor carries."""
    b = _Backward(op, inputs, outputs, cotangents)
    b.step()
    node = b.loop()
    return b.results(node)


def _diff(vs) -> list[Variable]:
    return [v for v in vs if isinstance(v.type, TensorType) and not is_discrete(v)]


class _Backward:
    """The backward loop of one Scan node, built in three stages: its step
    (:meth:`step`), the loop over the reversed steps (:meth:`loop`), and the
    cotangents of the node's inputs read from the loop (:meth:`results`)."""

    def __init__(self, op: Scan, inputs: list, outputs: list, cotangents: list):
        self.op, self.info = op, op.info
        self.inputs, self.outputs = inputs, outputs
        self.inner = op.inner_groups()
        self.outer = Scan.outer_groups(op.info, inputs)
        info = self.info
        outs = op.inner_outputs
        self.mit_out = outs[: info.n_mit]
        self.nit_out = outs[info.n_mit : info.n_mit + info.n_nit]
        self.mit_c = cotangents[: info.n_mit]
        self.nit_c = cotangents[info.n_mit : info.n_mit + info.n_nit]
        self.float_mit = [
            j for j in range(info.n_mit) if not is_discrete(self.mit_out[j])
        ]
        self.live_nit = [
            k
            for k in range(info.n_nit)
            if not is_zero_cotangent(self.nit_c[k]) and not is_discrete(self.nit_out[k])
        ]
        #: backward-step placeholder -> the outer stacked values it reads
        self.stored: dict[Variable, Variable] = {}

    # --- the backward step ---------------------------------------------------------------
    def step(self) -> None:
        """The step's graph: cotangents owed to previous values (``pend``),
        per-step sequence cotangents, accumulated non-sequence gradients."""
        op, info, inner = self.op, self.info, self.inner
        self.gm = {j: op.state_type(j)(f"g_out{j}") for j in self.float_mit}
        self.pend = {}
        for j in self.float_mit:
            st, L = op.state_type(j), info.max_lags[j]
            # a single lag keeps the state's shape (no leading axis to index)
            shape = st.shape if L == 1 else (L, *st.shape)
            self.pend[j] = TensorType(st.dtype, shape)(f"pending{j}")
        self.gn = {k: self.nit_out[k].type(f"g_nit{k}") for k in self.live_nit}
        total = [
            self.gm[j] + (self.pend[j] if info.max_lags[j] == 1 else self.pend[j][0])
            for j in self.float_mit
        ]
        wrt = (
            _diff(inner["seqs"])
            + _diff([p for ps in inner["taps"] for p in ps])
            + _diff(inner["non_seqs"])
        )
        vjp = _inner_vjp(
            [self.mit_out[j] for j in self.float_mit]
            + [self.nit_out[k] for k in self.live_nit],
            total + [self.gn[k] for k in self.live_nit],
            wrt,
        )
        self.grad_of = dict(zip(wrt, vjp))
        grad_vars = [g for g in vjp if isinstance(g, Variable)]
        replaced = self._read_stored(grad_vars)
        self.new_grad = dict(zip([id(g) for g in grad_vars], replaced))
        self.seq_g = [self.inner_grad(s) for s in inner["seqs"]]
        self.nit_outs = [g for g in self.seq_g if isinstance(g, Variable)]
        self.new_pend = [self._pending(j) for j in self.float_mit]
        self.ns_g = [self.inner_grad(q) for q in inner["non_seqs"]]
        self.acc = {
            k: q.type(f"grad_{q.name or k}")
            for k, (q, g) in enumerate(zip(inner["non_seqs"], self.ns_g))
            if isinstance(g, Variable)
        }
        self.new_acc = [self.acc[k] + self.ns_g[k] for k in self.acc]

    def inner_grad(self, w):
        g = self.grad_of.get(w, disconnected)
        return g if is_zero_cotangent(g) else self.new_grad[id(g)]

    def _read_stored(self, grad_vars: list[Variable]) -> list[Variable]:
        """``grad_vars`` reading the forward outputs (and random draws) from
        stored values instead of recomputing them."""
        info, outputs = self.info, self.outputs
        values: dict[Variable, Variable] = {}
        named = [(o, f"out{j}[t]", j) for j, o in enumerate(self.mit_out)]
        named += [(o, f"nit{k}[t]", info.n_mit + k) for k, o in enumerate(self.nit_out)]
        for o, name, pos in named:
            if o.owner is not None and o not in values:
                values[o] = o.type(name)
                self.stored[values[o]] = outputs[pos]
        replaced = clone_replace(grad_vars, values) if values else grad_vars
        draws = _random_draws(replaced)
        if not draws:
            return replaced
        # store the draws in a replay of the loop, read them back as sequences
        outs = self.op.inner_outputs
        first = info.n_mit + info.n_nit
        replay = Scan(
            self.op.inner_inputs,
            list(outs[:first]) + draws + list(outs[first:]),
            _with_nits(info, len(draws)),
        )
        rnode = replay.make_node(*self.inputs)
        draw_ph = {}
        for r, d in enumerate(draws):
            draw_ph[d] = d.type(f"draw{r}[t]")
            self.stored[draw_ph[d]] = rnode.outputs[first + r]
        return clone_replace(replaced, draw_ph)

    def _pending(self, j: int) -> Variable:
        """Row ``i``: the cotangent owed to the value ``i + 1`` steps before
        the previous step (shifted pending rows plus this step's taps)."""
        from tessera.ops.creation import zeros_like
        from tessera.ops.join import stack

        L, taps = self.info.max_lags[j], self.info.mit_taps[j]
        pend = self.pend[j]
        rows = []
        for i in range(L):
            terms = [pend[i + 1]] if i + 1 < L else []
            for k, p in zip(taps, self.inner["taps"][j]):
                g = self.inner_grad(p) if p in self.grad_of else disconnected
                if k == -(i + 1) and not is_zero_cotangent(g):
                    terms.append(g)
            row = terms[0] if terms else zeros_like(pend if L == 1 else pend[0])
            for t in terms[1:]:
                row = row + t
            rows.append(row)
        return rows[0] if L == 1 else stack(rows)

    # --- the loop ----------------------------------------------------------------------
    def loop(self):
        """The backward Scan node over the reversed (possibly truncated) steps."""
        from tessera.ops import math as tm
        from tessera.ops.creation import zeros_like
        from tessera.ops.join import concatenate
        from tessera.ops.rearrange import flip
        from tessera.ops.shape import expand_dims

        info, inner, outer, stored = self.info, self.inner, self.outer, self.stored
        n = outer["n_steps"]
        if info.truncate_gradient >= 0:
            self.n_b = tm.minimum(n, info.truncate_gradient)
            self.start = n - self.n_b
        else:
            self.n_b, self.start = n, None
        for s, x in zip(inner["seqs"], outer["seqs"]):
            stored[s] = x
        for j, (taps, L) in enumerate(zip(info.mit_taps, info.max_lags)):
            full = concatenate([outer["inits"][j], self.outputs[j]])
            for k, p in zip(taps, inner["taps"][j]):
                stored[p] = full[L + k : L + k + n]
        for j in self.float_mit:
            c = self.mit_c[j]
            stored[self.gm[j]] = (
                zeros_like(self.outputs[j]) if is_zero_cotangent(c) else c
            )
        for k in self.live_nit:
            stored[self.gn[k]] = self.nit_c[k]
        b_out = self.nit_outs + self.new_pend + self.new_acc
        used = set(graph_inputs(b_out))
        seq_ph = [p for p in stored if p in used]
        ns_ph = [q for q in inner["non_seqs"] if q in used]
        ns = [
            outer["non_seqs"][k] for k, q in enumerate(inner["non_seqs"]) if q in used
        ]
        carries = [self.pend[j] for j in self.float_mit] + list(self.acc.values())
        known = set(stored) | set(carries) | set(ns_ph)
        for v in used:
            if v not in known and not isinstance(v, Constant):
                raise NotImplementedError(
                    f"{info.label()}: cannot differentiate the loop: its gradient "
                    f"step depends on {v} ({v.type})"
                )
        b_info = ScanInfo(
            n_seqs=len(seq_ph),
            mit_taps=(),
            n_nit=len(self.nit_outs),
            n_carry=len(carries),
            n_non_seqs=len(ns_ph),
            name=f"grad_of_{info.name}",
        )
        inits = [
            zeros_like(
                outer["inits"][j][0] if info.max_lags[j] == 1 else outer["inits"][j]
            )
            for j in self.float_mit
        ]
        inits += [zeros_like(outer["non_seqs"][k]) for k in self.acc]

        def reverse(x):
            return flip(x if self.start is None else x[self.start :], 0)

        self._expand = expand_dims
        back = Scan(seq_ph + carries + ns_ph, b_out, b_info)
        return back.make_node(
            self.n_b, *[reverse(stored[p]) for p in seq_ph], *inits, *ns
        )

    # --- cotangents of the node's inputs ---------------------------------------------------
    def results(self, bnode) -> list:
        from tessera.ops import math as tm
        from tessera.ops.creation import zeros_like
        from tessera.ops.join import concatenate
        from tessera.ops.rearrange import flip

        info, inner, outer = self.info, self.inner, self.outer
        b_results = list(bnode.outputs)
        n_nit = len(self.nit_outs)
        result: list = [disconnected]
        it = iter(b_results[:n_nit])
        for x, g in zip(outer["seqs"], self.seq_g):
            if not isinstance(g, Variable):
                result.append(_sentinel(g))
                continue
            gx = flip(next(it), 0)
            if self.start is not None:
                gx = concatenate([zeros_like(x[: self.start]), gx])
            result.append(_cast(gx, x))
        finals = iter(b_results[n_nit : n_nit + len(self.float_mit)])
        for j, b in enumerate(outer["inits"]):
            if j not in self.float_mit:
                result.append(disconnected)
                continue
            final = next(finals)
            tap_g = [self.grad_of.get(p, disconnected) for p in inner["taps"][j]]
            if all(is_zero_cotangent(g) for g in tap_g):
                result.append(disconnected)
                continue
            gb = self._expand(final, 0) if info.max_lags[j] == 1 else flip(final, 0)
            if self.start is not None:
                gb = tm.switch(tm.eq(self.n_b, outer["n_steps"]), gb, zeros_like(gb))
            result.append(_cast(gb, b))
        result += [disconnected] * info.n_carry
        acc_final = dict(zip(self.acc, b_results[n_nit + len(self.float_mit) :]))
        for k, (q, g) in enumerate(zip(outer["non_seqs"], self.ns_g)):
            result.append(_cast(acc_final[k], q) if k in acc_final else _sentinel(g))
        return result


def _sentinel(g):
    return g if isinstance(g, NonDifferentiable | DisconnectedType) else disconnected


def _cast(g: Variable, like: Variable) -> Variable:
    return g if g.dtype == like.dtype else g.astype(like.dtype)


def _with_nits(info: ScanInfo, extra: int) -> ScanInfo:
    """``info`` with ``extra`` more outputs not fed back (after its own)."""
    return ScanInfo(
        n_seqs=info.n_seqs,
        mit_taps=info.mit_taps,
        n_nit=info.n_nit + extra,
        n_carry=info.n_carry,
        n_non_seqs=info.n_non_seqs,
        truncate_gradient=info.truncate_gradient,
        name=info.name,
    )
