"""Rewrites of Scan nodes, registered with the rewrite database on import.

* :func:`scan_hoist_invariants`: computations of the step that depend only
  on non-sequences and constants run once, before the loop;
* :func:`scan_merge_pass`: two loops over the same number of steps, neither
  using the other's results, become one loop (shared sequences and
  non-sequences are read once);
* :func:`scan_remove_unused`: outputs nobody reads, and the inputs only
  they needed, are dropped from the loop;
* :func:`scan_sum_of_products`: a carry that sums one matrix product per
  step (``acc + u @ v``, as the gradient of ``W @ h`` accumulates in
  backpropagation through time) keeps the factors instead, and their sum
  over the steps becomes one matrix product after the loop;
* :func:`scan_push_out_maps`: outputs not fed back that read only
  sequences (and loop invariants) are computed after the loop, vectorized
  over the whole sequence; an output that is a shape change (a new axis, a
  transpose) of a value the step computes stacks the value, and the shape
  change is made once after the loop.

All run in ``fast_run`` (tags ``canonicalize`` and ``scan``).
"""

from __future__ import annotations

from tessera.graph.basic import Apply, Constant, Variable
from tessera.graph.fg import FunctionGraph
from tessera.graph.traversal import ancestors, clone_replace, graph_inputs, toposort
from tessera.ops.elemwise import is_discrete
from tessera.ops.shape import ExpandDims, Squeeze, Transpose
from tessera.ops.type import TensorType
from tessera.random.type import RandomGeneratorType
from tessera.rewrite.basic import REWRITES, node_rewriter
from tessera.scan.op import Scan, ScanInfo

TAGS = ("canonicalize", "scan")


def _with(info: ScanInfo, **changes) -> ScanInfo:
    fields = {f: getattr(info, f) for f in info.__dataclass_fields__}
    fields.update(changes)
    return ScanInfo(**fields)


# --- hoisting loop invariants -------------------------------------------------------
def _invariant_frontier(op: Scan) -> list[Variable]:
    """Largest invariant values the step computes: depend on non-sequences
    and constants only, are floats (integer values may be shapes a backend
    needs at trace time), and are read by a varying node or are outputs."""
    inner = op.inner_groups()
    invariant: set[Variable] = set(inner["non_seqs"])
    nodes = toposort(op.inner_outputs, op.inner_inputs)
    for node in nodes:
        if any(isinstance(o.type, RandomGeneratorType) for o in node.outputs):
            continue
        if all(isinstance(i, Constant) or i in invariant for i in node.inputs):
            invariant.update(node.outputs)
    needed = []
    for node in nodes:
        if all(o in invariant for o in node.outputs):
            continue
        needed += [i for i in node.inputs if i in invariant]
    needed += [o for o in op.inner_outputs if o in invariant]
    out, seen = [], set()
    for v in needed:
        if v in seen or v.owner is None or v in inner["non_seqs"]:
            continue
        seen.add(v)
        if isinstance(v.type, TensorType) and not is_discrete(v):
            out.append(v)
    return out


@node_rewriter([Scan], tags=TAGS)
def scan_hoist_invariants(fg, node):
    """Compute the step's loop-invariant values once, before the loop."""
    op: Scan = node.op
    hoist = _invariant_frontier(op)
    if not hoist:
        return None
    info = op.info
    inner = op.inner_groups()
    outer = Scan.outer_groups(info, node.inputs)
    outside = clone_replace(hoist, dict(zip(inner["non_seqs"], outer["non_seqs"])))
    new_ph = [v.type(v.name) for v in hoist]
    outs = clone_replace(list(op.inner_outputs), dict(zip(hoist, new_ph)))
    used = set(graph_inputs(outs))
    keep = [k for k, q in enumerate(inner["non_seqs"]) if q in used]
    ns_ph = [inner["non_seqs"][k] for k in keep] + new_ph
    ns_outer = [outer["non_seqs"][k] for k in keep] + list(outside)
    head = op.inner_inputs[: info.n_inner_inputs - info.n_non_seqs]
    new_op = Scan(head + ns_ph, outs, _with(info, n_non_seqs=len(ns_ph)))
    n_head = info.n_outer_inputs - info.n_non_seqs
    return new_op.make_node(*node.inputs[:n_head], *ns_outer).outputs


# --- removing unused outputs ----------------------------------------------------------
@node_rewriter([Scan], tags=TAGS)
def scan_remove_unused(fg, node):
    """Drop outputs no one reads (and what only they needed)."""
    op: Scan = node.op
    info = op.info
    used_out = [bool(fg.clients.get(o)) for o in node.outputs]
    if all(used_out):
        return None
    inner = op.inner_groups()
    outs = op.inner_outputs
    keep = list(used_out)
    # a recurrent output or carry that a kept output reads must stay
    changed = True
    while changed:
        changed = False
        live = ancestors([o for o, k in zip(outs, keep) if k])
        for j in range(info.n_mit):
            if not keep[j] and any(p in live for p in inner["taps"][j]):
                keep[j] = changed = True
        for c, ph in enumerate(inner["carries"]):
            pos = info.n_mit + info.n_nit + c
            if not keep[pos] and ph in live:
                keep[pos] = changed = True
    if all(keep):
        return None
    if not any(keep):
        return None  # nothing is read: the node is pruned anyway
    mit = [j for j in range(info.n_mit) if keep[j]]
    nit = [k for k in range(info.n_nit) if keep[info.n_mit + k]]
    car = [c for c in range(info.n_carry) if keep[info.n_mit + info.n_nit + c]]
    new_outs = (
        [outs[j] for j in mit]
        + [outs[info.n_mit + k] for k in nit]
        + [outs[info.n_mit + info.n_nit + c] for c in car]
    )
    live = set(ancestors(new_outs))
    seqs = [k for k, s in enumerate(inner["seqs"]) if s in live]
    nss = [k for k, q in enumerate(inner["non_seqs"]) if q in live]
    new_in = (
        [inner["seqs"][k] for k in seqs]
        + [p for j in mit for p in inner["taps"][j]]
        + [inner["carries"][c] for c in car]
        + [inner["non_seqs"][k] for k in nss]
    )
    new_info = _with(
        info,
        n_seqs=len(seqs),
        mit_taps=tuple(info.mit_taps[j] for j in mit),
        n_nit=len(nit),
        n_carry=len(car),
        n_non_seqs=len(nss),
    )
    outer = Scan.outer_groups(info, node.inputs)
    new_node = Scan(new_in, new_outs, new_info).make_node(
        outer["n_steps"],
        *[outer["seqs"][k] for k in seqs],
        *[outer["inits"][j] for j in mit],
        *[outer["carries"][c] for c in car],
        *[outer["non_seqs"][k] for k in nss],
    )
    old = (
        [node.outputs[j] for j in mit]
        + [node.outputs[info.n_mit + k] for k in nit]
        + [node.outputs[info.n_mit + info.n_nit + c] for c in car]
    )
    return dict(zip(old, new_node.outputs))


# --- sums of products over the steps -----------------------------------------------
def _product_factors(g: Variable):
    """``(u, v)`` with ``g == u @ v`` for 2-d ``u`` and ``v``: a MatMul, or
    the broadcast product of a column ``(m, 1)`` and a row ``(1, n)`` (what
    ``outer_product_matmul`` makes of a matmul over a length of 1)."""
    from tessera.ops.elemwise import Elemwise
    from tessera.ops.products import MatMul

    node = g.owner
    if node is None or g.type.ndim != 2:
        return None
    if isinstance(node.op, MatMul):
        u, v = node.inputs
        if u.type.ndim == 2 and v.type.ndim == 2:
            return u, v
        return None
    if (
        isinstance(node.op, Elemwise)
        and node.op.scalar_fn.name == "mul"
        and len(node.inputs) == 2
    ):
        for u, v in (node.inputs, node.inputs[::-1]):
            if (
                u.type.ndim == 2
                and v.type.ndim == 2
                and u.type.shape[1] == 1
                and v.type.shape[0] == 1
            ):
                return u, v
    return None


def _summable_carry(op: Scan, c: int):
    """``(u, v)`` when carry ``c``'s step is ``acc + u @ v``, with ``acc``
    read nowhere else, static shapes, and factors no larger per step than
    the product (so keeping them for every step costs at most what one
    stacked product would)."""
    from tessera.ops.elemwise import Elemwise

    info = op.info
    ph = op.inner_groups()["carries"][c]
    out = op.inner_outputs[info.n_mit + info.n_nit + c]
    node = out.owner
    if (
        node is None
        or not isinstance(node.op, Elemwise)
        or node.op.scalar_fn.name != "add"
        or len(node.inputs) != 2
        or not isinstance(ph.type, TensorType)
        or is_discrete(ph)
        or out.type != ph.type
    ):
        return None
    if node.inputs[0] is ph:
        g = node.inputs[1]
    elif node.inputs[1] is ph:
        g = node.inputs[0]
    else:
        return None
    if g.type != ph.type:
        return None
    readers = [n for n in toposort(op.inner_outputs, op.inner_inputs) if ph in n.inputs]
    if readers != [node] or ph in op.inner_outputs:
        return None
    factors = _product_factors(g)
    if factors is None:
        return None
    u, v = factors
    (m, k), (k2, n) = u.type.shape, v.type.shape
    if None in (m, k, n) or k != k2 or k * (m + n) > m * n:
        return None
    if u.type.dtype != ph.type.dtype or v.type.dtype != ph.type.dtype:
        return None
    return u, v


@node_rewriter([Scan], tags=TAGS)
def scan_sum_of_products(fg, node):
    """``acc_t = acc_{t-1} + u_t @ v_t`` -> ``acc_0 + U @ V`` after the loop,
    ``U`` the steps' ``u`` side by side and ``V`` the ``v`` stacked: one
    large product instead of one small product and one add per step."""
    from tessera.ops.products import matmul
    from tessera.ops.shape import transpose

    op: Scan = node.op
    info = op.info
    found = {c: _summable_carry(op, c) for c in range(info.n_carry)}
    found = {c: f for c, f in found.items() if f is not None}
    if not found:
        return None
    inner, outs = op.inner_groups(), op.inner_outputs
    outer = Scan.outer_groups(info, node.inputs)
    keep = [c for c in range(info.n_carry) if c not in found]
    first_carry = info.n_mit + info.n_nit
    factors = [x for c in found for x in found[c]]
    new_outs = (
        list(outs[:first_carry]) + factors + [outs[first_carry + c] for c in keep]
    )
    new_in = (
        list(inner["seqs"])
        + [p for ps in inner["taps"] for p in ps]
        + [inner["carries"][c] for c in keep]
        + list(inner["non_seqs"])
    )
    new_info = _with(info, n_nit=info.n_nit + len(factors), n_carry=len(keep))
    new = Scan(new_in, new_outs, new_info).make_node(
        outer["n_steps"],
        *outer["seqs"],
        *outer["inits"],
        *[outer["carries"][c] for c in keep],
        *outer["non_seqs"],
    )
    o = new.outputs
    replace = dict(zip(node.outputs[:first_carry], o[:first_carry]))
    stacked = iter(o[first_carry : first_carry + len(factors)])
    for c in found:
        us, vs = next(stacked), next(stacked)  # (T, m, k) and (T, k, n)
        m, k = found[c][0].type.shape
        n = found[c][1].type.shape[1]
        wide = transpose(us, (1, 0, 2)).reshape((m, -1))  # (m, T k)
        tall = vs.reshape((-1, n))  # (T k, n)
        total = outer["carries"][c] + matmul(wide, tall)
        replace[node.outputs[first_carry + c]] = total
    rest = o[first_carry + len(factors) :]
    for c, new_out in zip(keep, rest):
        replace[node.outputs[first_carry + c]] = new_out
    return replace


# --- merging loops ----------------------------------------------------------------------
def _mergeable(fg, a, b) -> bool:
    if a.inputs[0] is not b.inputs[0]:
        return False
    ia, ib = a.op.info, b.op.info
    if ia.truncate_gradient != ib.truncate_gradient:
        return False
    before_a = set(ancestors(a.inputs))
    before_b = set(ancestors(b.inputs))
    return not any(o in before_b for o in a.outputs) and not any(
        o in before_a for o in b.outputs
    )


def _merge(a, b):
    """One Scan node computing both ``a``'s and ``b``'s outputs."""
    oa, ob = a.op, b.op
    ia, ib = oa.info, ob.info
    ga, gb = oa.inner_groups(), ob.inner_groups()
    xa, xb = Scan.outer_groups(ia, a.inputs), Scan.outer_groups(ib, b.inputs)
    # b's placeholders of inputs a reads too become a's
    share: dict[Variable, Variable] = {}
    seq_b = []
    for ph, x in zip(gb["seqs"], xb["seqs"]):
        k = next((k for k, y in enumerate(xa["seqs"]) if y is x), None)
        if k is None:
            seq_b.append((ph, x))
        else:
            share[ph] = ga["seqs"][k]
    ns_b = []
    for ph, x in zip(gb["non_seqs"], xb["non_seqs"]):
        k = next((k for k, y in enumerate(xa["non_seqs"]) if y is x), None)
        if k is None:
            ns_b.append((ph, x))
        else:
            share[ph] = ga["non_seqs"][k]
    outs_b = list(ob.inner_outputs)
    if share:
        outs_b = clone_replace(outs_b, share)
    na, nb_ = oa.inner_outputs, outs_b
    ma, mb = ia.n_mit, ib.n_mit
    ta, tb = ma + ia.n_nit, mb + ib.n_nit
    new_in = (
        ga["seqs"]
        + [p for p, _ in seq_b]
        + [p for ps in ga["taps"] for p in ps]
        + [p for ps in gb["taps"] for p in ps]
        + ga["carries"]
        + gb["carries"]
        + ga["non_seqs"]
        + [p for p, _ in ns_b]
    )
    new_out = na[:ma] + nb_[:mb] + na[ma:ta] + nb_[mb:tb] + na[ta:] + nb_[tb:]
    info = ScanInfo(
        n_seqs=ia.n_seqs + len(seq_b),
        mit_taps=ia.mit_taps + ib.mit_taps,
        n_nit=ia.n_nit + ib.n_nit,
        n_carry=ia.n_carry + ib.n_carry,
        n_non_seqs=ia.n_non_seqs + len(ns_b),
        truncate_gradient=ia.truncate_gradient,
        name=f"{ia.name}+{ib.name}",
    )
    node = Scan(new_in, new_out, info).make_node(
        xa["n_steps"],
        *xa["seqs"],
        *[x for _, x in seq_b],
        *xa["inits"],
        *xb["inits"],
        *xa["carries"],
        *xb["carries"],
        *xa["non_seqs"],
        *[x for _, x in ns_b],
    )
    o = node.outputs
    nma, nmb = ia.n_mit, ib.n_mit
    new_a = o[:nma] + o[nma + nmb : nma + nmb + ia.n_nit]
    new_b = (
        o[nma : nma + nmb] + o[nma + nmb + ia.n_nit : nma + nmb + ia.n_nit + ib.n_nit]
    )
    c0 = nma + nmb + ia.n_nit + ib.n_nit
    new_a += o[c0 : c0 + ia.n_carry]
    new_b += o[c0 + ia.n_carry :]
    return new_a, new_b


def scan_merge_pass(fg: FunctionGraph) -> bool:
    """Merge pairs of Scan nodes with the same ``n_steps`` input."""
    scans = [n for n in fg.toposort() if isinstance(n.op, Scan)]
    for i, a in enumerate(scans):
        for b in scans[i + 1 :]:
            if a in fg.apply_nodes and b in fg.apply_nodes and _mergeable(fg, a, b):
                new_a, new_b = _merge(a, b)
                for old, new in zip(a.outputs + b.outputs, new_a + new_b):
                    fg.replace(old, new, reason="scan_merge")
                return True
    return False


REWRITES.register_pass("scan_merge", scan_merge_pass, TAGS)


# --- pushing per-step maps out of the loop --------------------------------------------


def _static_int(v: Variable):
    from tessera.ops.static import get_static_value

    value = get_static_value(v)
    return None if value is None else int(value)


def _map_of_sequences(op: Scan, out: Variable, n: int | None, outer_seqs) -> bool:
    """Whether stacked output ``out`` reads sequences (each ``n`` rows, known
    statically, so that the loop's length check is not lost) and
    otherwise only loop invariants and constants, through tensors only."""
    inner = op.inner_groups()
    seqs = {ph: x for ph, x in zip(inner["seqs"], outer_seqs)}
    allowed = set(seqs) | set(inner["non_seqs"])
    nodes = toposort([out], op.inner_inputs)
    if any(
        not isinstance(v.type, TensorType)
        for nd in nodes
        for v in nd.inputs + nd.outputs
    ):
        return False
    leaves = graph_inputs([out])
    if any(v not in allowed and not isinstance(v, Constant) for v in leaves):
        return False
    used = [seqs[v] for v in leaves if v in seqs]
    return bool(used) and n is not None and all(x.type.shape[0] == n for x in used)


@node_rewriter([Scan], tags=TAGS)
def scan_push_out_maps(fg, node):
    """Outputs not fed back whose step is a map of the sequences, or a
    shape change of a computed value, leave the loop (see the module
    docstring): a step does less work and writes fewer buffers."""
    from tessera.ops.vectorize import vectorize_graph

    op: Scan = node.op
    info = op.info
    if not info.n_nit:
        return None
    inner, outs = op.inner_groups(), list(op.inner_outputs)
    outer = Scan.outer_groups(info, node.inputs)
    n = _static_int(outer["n_steps"])
    first = info.n_mit
    mapped: dict[int, Variable] = {}  # nit index -> its value after the loop
    sunk: dict[int, Apply] = {}  # nit index -> the shape change left out
    for k in range(info.n_nit):
        out = outs[first + k]
        if out in op.inner_inputs or not fg.clients.get(node.outputs[first + k]):
            continue
        if _map_of_sequences(op, out, n, outer["seqs"]):
            replace = dict(zip(inner["seqs"], outer["seqs"]))
            replace.update(zip(inner["non_seqs"], outer["non_seqs"]))
            try:
                new = vectorize_graph(out, replace)
            except NotImplementedError:  # an op without a batching rule
                continue
            if new.type.shape[1:] == out.type.shape and new.dtype == out.dtype:
                mapped[k] = new
            continue
        owner = out.owner
        if (
            owner is not None
            and isinstance(owner.op, ExpandDims | Squeeze | Transpose)
            and owner.inputs[0].owner is not None
            and isinstance(owner.inputs[0].type, TensorType)
        ):
            sunk[k] = owner
    if not mapped and not sunk:
        return None
    nit = [k for k in range(info.n_nit) if k not in mapped]
    new_outs = (
        outs[:first]
        + [sunk[k].inputs[0] if k in sunk else outs[first + k] for k in nit]
        + outs[first + info.n_nit :]
    )
    # sequences only the mapped outputs read leave the loop with them
    live = set(graph_inputs(new_outs))
    drop = {
        j
        for j, ph in enumerate(inner["seqs"])
        if ph not in live and any(ph in graph_inputs([outs[first + k]]) for k in mapped)
    }
    seqs = [j for j in range(info.n_seqs) if j not in drop]
    new_in = [inner["seqs"][j] for j in seqs] + op.inner_inputs[info.n_seqs :]
    new_node = Scan(
        new_in, new_outs, _with(info, n_seqs=len(seqs), n_nit=len(nit))
    ).make_node(
        outer["n_steps"],
        *[outer["seqs"][j] for j in seqs],
        *node.inputs[1 + info.n_seqs :],
    )
    o = new_node.outputs
    replace = dict(zip(node.outputs[:first], o[:first]))
    for pos, k in enumerate(nit):
        stacked = o[first + pos]
        if k in sunk:
            stacked = vectorize_graph(outs[first + k], {sunk[k].inputs[0]: stacked})
        replace[node.outputs[first + k]] = stacked
    for k, new in mapped.items():
        replace[node.outputs[first + k]] = new
    tail = first + info.n_nit
    replace.update(zip(node.outputs[tail:], o[first + len(nit) :]))
    return replace
