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
    from tessera.ops import math as tm
    from tessera.ops.creation import zeros_like
    from tessera.ops.join import concatenate, stack
    from tessera.ops.rearrange import flip
    from tessera.ops.shape import expand_dims

    info = op.info
    inner = op.inner_groups()
    outer = Scan.outer_groups(info, inputs)
    n = outer["n_steps"]
    outs = op.inner_outputs
    mit_out = outs[: info.n_mit]
    nit_out = outs[info.n_mit : info.n_mit + info.n_nit]
    mit_c = cotangents[: info.n_mit]
    nit_c = cotangents[info.n_mit : info.n_mit + info.n_nit]

    # placeholders of the backward step
    float_mit = [j for j in range(info.n_mit) if not is_discrete(mit_out[j])]
    live_nit = [
        k
        for k in range(info.n_nit)
        if not is_zero_cotangent(nit_c[k]) and not is_discrete(nit_out[k])
    ]
    gm = {j: op.state_type(j)(f"g_out{j}") for j in float_mit}
    pend = {}
    for j in float_mit:
        st = op.state_type(j)
        pend[j] = TensorType(st.dtype, (info.max_lags[j], *st.shape))(f"pending{j}")
    gn = {k: nit_out[k].type(f"g_nit{k}") for k in live_nit}
    total = [gm[j] + pend[j][0] for j in float_mit]

    def diff(vs):
        return [v for v in vs if isinstance(v.type, TensorType) and not is_discrete(v)]

    wrt_seq = diff(inner["seqs"])
    wrt_tap = diff([p for ps in inner["taps"] for p in ps])
    wrt_ns = diff(inner["non_seqs"])
    wrt = wrt_seq + wrt_tap + wrt_ns
    vjp = _inner_vjp(
        [mit_out[j] for j in float_mit] + [nit_out[k] for k in live_nit],
        total + [gn[k] for k in live_nit],
        wrt,
    )
    grad_of = dict(zip(wrt, vjp))

    # the forward values the backward step reads instead of recomputing them
    values: dict[Variable, Variable] = {}
    stored: dict[Variable, Variable] = {}  # placeholder -> outer stacked value
    for j in range(info.n_mit):
        o = mit_out[j]
        if o.owner is not None and o not in values:
            values[o] = o.type(f"out{j}[t]")
            stored[values[o]] = outputs[j]
    for k in range(info.n_nit):
        o = nit_out[k]
        if o.owner is not None and o not in values:
            values[o] = o.type(f"nit{k}[t]")
            stored[values[o]] = outputs[info.n_mit + k]
    grad_vars = [g for g in vjp if isinstance(g, Variable)]
    replaced = clone_replace(grad_vars, values) if values else grad_vars
    draws = _random_draws(replaced)
    if draws:
        # store the draws in a replay of the loop, read them back as sequences
        first = info.n_mit + info.n_nit
        replay = Scan(
            op.inner_inputs,
            list(outs[:first]) + draws + list(outs[first:]),
            _with_nits(info, len(draws)),
        )
        rnode = replay.make_node(*inputs)
        draw_ph = {}
        for r, d in enumerate(draws):
            draw_ph[d] = d.type(f"draw{r}[t]")
            stored[draw_ph[d]] = rnode.outputs[first + r]
        replaced = clone_replace(replaced, draw_ph)
    new_grad = dict(zip([id(g) for g in grad_vars], replaced))

    def inner_grad(w):
        g = grad_of.get(w, disconnected)
        return g if is_zero_cotangent(g) else new_grad[id(g)]

    # the backward step's outputs
    seq_g = [inner_grad(s) for s in inner["seqs"]]
    nit_outs = [g for g in seq_g if isinstance(g, Variable)]
    new_pend = []
    for j in float_mit:
        L, taps = info.max_lags[j], info.mit_taps[j]
        rows = []
        for i in range(L):
            terms = [pend[j][i + 1]] if i + 1 < L else []
            for k, p in zip(taps, inner["taps"][j]):
                g = inner_grad(p) if p in grad_of else disconnected
                if k == -(i + 1) and not is_zero_cotangent(g):
                    terms.append(g)
            row = terms[0] if terms else zeros_like(pend[j][0])
            for t in terms[1:]:
                row = row + t
            rows.append(row)
        new_pend.append(stack(rows) if L > 1 else expand_dims(rows[0], 0))
    ns_g = [inner_grad(q) for q in inner["non_seqs"]]
    acc = {
        k: q.type(f"grad_{q.name or k}")
        for k, (q, g) in enumerate(zip(inner["non_seqs"], ns_g))
        if isinstance(g, Variable)
    }
    new_acc = [acc[k] + ns_g[k] for k in acc]

    # outer values of the backward step's sequences
    truncate = info.truncate_gradient
    if truncate >= 0:
        n_b = tm.minimum(n, truncate)
        start = n - n_b
    else:
        n_b, start = n, None

    def reverse(x):
        return flip(x if start is None else x[start:], 0)

    for s, x in zip(inner["seqs"], outer["seqs"]):
        stored[s] = x
    for j, (taps, L) in enumerate(zip(info.mit_taps, info.max_lags)):
        full = concatenate([outer["inits"][j], outputs[j]])
        for k, p in zip(taps, inner["taps"][j]):
            stored[p] = full[L + k : L + k + n]
    for j in float_mit:
        c = mit_c[j]
        stored[gm[j]] = zeros_like(outputs[j]) if is_zero_cotangent(c) else c
    for k in live_nit:
        stored[gn[k]] = nit_c[k]

    b_out = nit_outs + new_pend + new_acc
    used = set(graph_inputs(b_out))
    b_seq_ph = [p for p in stored if p in used]
    b_ns_ph = [q for q in inner["non_seqs"] if q in used]
    b_ns = [outer["non_seqs"][k] for k, q in enumerate(inner["non_seqs"]) if q in used]
    carries_ph = [pend[j] for j in float_mit] + [acc[k] for k in acc]
    for v in used:
        known = v in stored or v in acc.values() or v in pend.values() or v in b_ns_ph
        if not known and not isinstance(v, Constant):
            raise NotImplementedError(
                f"{info.label()}: cannot differentiate the loop: its gradient step "
                f"depends on {v} ({v.type})"
            )
    b_info = ScanInfo(
        n_seqs=len(b_seq_ph),
        mit_taps=(),
        n_nit=len(nit_outs),
        n_carry=len(carries_ph),
        n_non_seqs=len(b_ns_ph),
        name=f"grad_of_{info.name}",
    )
    back = Scan(b_seq_ph + carries_ph + b_ns_ph, b_out, b_info)
    carry_inits = [zeros_like(outer["inits"][j]) for j in float_mit]
    carry_inits += [zeros_like(outer["non_seqs"][k]) for k in acc]
    bnode = back.make_node(
        n_b, *[reverse(stored[p]) for p in b_seq_ph], *carry_inits, *b_ns
    )
    b_results = list(bnode.outputs)

    # cotangents of the outer inputs
    result: list = [disconnected]
    it = iter(b_results[: len(nit_outs)])
    for x, g in zip(outer["seqs"], seq_g):
        if not isinstance(g, Variable):
            result.append(_sentinel(g))
            continue
        gx = flip(next(it), 0)
        if start is not None:
            gx = concatenate([zeros_like(x[:start]), gx])
        result.append(_cast(gx, x))
    finals = iter(b_results[len(nit_outs) : len(nit_outs) + len(float_mit)])
    for j, b in enumerate(outer["inits"]):
        if j not in float_mit:
            result.append(disconnected)
            continue
        tap_g = [grad_of.get(p, disconnected) for p in inner["taps"][j]]
        gb = flip(next(finals), 0)
        if all(is_zero_cotangent(g) for g in tap_g):
            result.append(disconnected)
            continue
        if start is not None:
            gb = tm.switch(tm.eq(n_b, n), gb, zeros_like(gb))
        result.append(_cast(gb, b))
    result += [disconnected] * info.n_carry
    acc_final = dict(zip(acc, b_results[len(nit_outs) + len(float_mit) :]))
    for k, (q, g) in enumerate(zip(outer["non_seqs"], ns_g)):
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
