"""Batching a Scan: one loop over batched states, not a loop of loops.

Given inputs with extra leading batch dims, the rule builds ONE Scan whose
inner graph is the original one vectorized with
:func:`~tessera.ops.vectorize.vectorize_graph`. Inside the loop the time
axis comes first, so each sequence's batch dims move behind its time axis
(and back for the stacked outputs). A state must keep its shape from step
to step, so the initial values of recurrent outputs and carries are
broadcast to the batch shape of all the inputs together; sequences and
non-sequences keep theirs and broadcast inside the step.
"""

from __future__ import annotations

from collections.abc import Sequence

from tessera.graph.basic import Variable
from tessera.ops.rearrange import moveaxis
from tessera.ops.shape import broadcast_to, expand_dims, shape_tuple
from tessera.ops.type import TensorType
from tessera.ops.vectorize import broadcast_batch, vectorize_graph
from tessera.scan.op import Scan


def _pad(x: Variable, b: int, nb: int) -> Variable:
    """``x`` with ``nb`` batch dims (size-1 dims put in front)."""
    return expand_dims(x, tuple(range(nb - b))) if b < nb else x


def vectorize_scan(op: Scan, node, batched: Sequence[Variable]) -> list[Variable]:
    """Outputs of ``node`` over inputs with extra leading batch dims.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(None,))
    >>> ys, _ = ts.scan(lambda xt, acc: acc + xt, sequences=[x],
    ...                 outputs_info=[ts.constant(0.0)])
    >>> xb = ts.tensor("xb", shape=(2, None))
    >>> yb = ts.vectorize_graph(ys, {x: xb})
    >>> ts.function([xb], yb)(np.ones((2, 3)))
    array([[1., 2., 3.],
           [1., 2., 3.]])
    """
    info = op.info
    batched = list(batched)
    bs = [new.ndim - old.ndim for old, new in zip(node.inputs, batched)]
    if bs[0]:
        raise NotImplementedError(
            f"vectorize_graph: {info.label()} cannot batch n_steps (a batch of "
            "loops of different lengths)"
        )
    nb = max(bs)
    if nb == 0:
        return op.make_node(*batched).outputs
    tensor = [isinstance(v.type, TensorType) for v in node.inputs]
    padded = [batched[0]] + [
        _pad(x, b, nb) if t else x for x, b, t in zip(batched[1:], bs[1:], tensor[1:])
    ]
    g = Scan.outer_groups(info, padded)
    inner = op.inner_groups()
    # the batch shape of everything together sets the states' batch shape
    pos = [k for k in range(1, len(padded)) if tensor[k]]
    full, _ = broadcast_batch([padded[k] for k in pos], [nb] * len(pos))
    full_of = dict(zip(pos, full))
    a = 1 + info.n_seqs
    b = a + info.n_mit
    c = b + info.n_carry
    seqs = [moveaxis(x, nb, 0) for x in g["seqs"]]
    inits = [moveaxis(full_of[k], nb, 0) for k in range(a, b)]
    carries = [full_of.get(k, padded[k]) for k in range(b, c)]
    non_seqs = list(g["non_seqs"])

    replace: dict[Variable, Variable] = {}
    new_in: list[Variable] = []

    def placeholder(old: Variable, batch_shape: tuple) -> Variable:
        if not isinstance(old.type, TensorType):
            new_in.append(old)
            return old
        new = TensorType(old.dtype, (*batch_shape, *old.type.shape))(old.name)
        replace[old] = new
        new_in.append(new)
        return new

    for old, x in zip(inner["seqs"], seqs):
        placeholder(old, x.type.shape[1 : 1 + nb])
    for ps, x in zip(inner["taps"], inits):
        for p in ps:
            placeholder(p, x.type.shape[1 : 1 + nb])
    for old, x in zip(inner["carries"], carries):
        placeholder(old, x.type.shape[:nb] if isinstance(x.type, TensorType) else ())
    for old, x in zip(inner["non_seqs"], non_seqs):
        placeholder(old, x.type.shape[:nb])
    outs = vectorize_graph(list(op.inner_outputs), replace)
    outs = [
        _pad(o, o.ndim - old.ndim, nb) if isinstance(o.type, TensorType) else o
        for o, old in zip(outs, op.inner_outputs)
    ]
    # states keep their batch shape: broadcast the new values to it
    first_tap = [replace[ps[0]] for ps in inner["taps"]]
    for j, ph in enumerate(first_tap):
        outs[j] = _broadcast_like(outs[j], ph)
    for k, old in enumerate(inner["carries"]):
        if old in replace:
            pos_out = info.n_mit + info.n_nit + k
            outs[pos_out] = _broadcast_like(outs[pos_out], replace[old])
    new_op = Scan(new_in, outs, info)
    res = new_op.make_node(padded[0], *seqs, *inits, *carries, *non_seqs).outputs
    stacked = info.n_mit + info.n_nit
    return [moveaxis(o, 0, nb) for o in res[:stacked]] + list(res[stacked:])


def _broadcast_like(x: Variable, like: Variable) -> Variable:
    if x.type.shape == like.type.shape and None not in x.type.shape:
        return x
    if x.dtype != like.dtype:
        x = x.astype(like.dtype)
    return broadcast_to(x, shape_tuple(like))
