"""vectorize_graph and vectorize: rebuild a graph over batched inputs.

Each node asks its op for a batching rule (:meth:`Op.vectorize_node`):
elementwise ops broadcast, ops with gufunc signatures become
:class:`~tessera.ops.blockwise.Blockwise`, reductions, shape ops and
indexing shift their axes past the batch dims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tessera.graph.basic import Apply, Variable
from tessera.graph.traversal import toposort
from tessera.ops.basic import as_tensor
from tessera.ops.blockwise import Blockwise
from tessera.ops.signature import parse_signature
from tessera.ops.type import TensorType, shape_str


def vectorize_graph(
    outputs: Variable | Sequence[Variable],
    replace: Mapping[Variable, Variable],
):
    """Rebuild ``outputs`` with core variables replaced by batched ones.

    Each replacement ``core_var -> batched_var`` must have the core var's
    dims as its trailing dims; its extra leading dims are batch dims, which
    broadcast between replacements with NumPy rules.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(3,))
    >>> y = (ts.exp(x) / ts.exp(x).sum())  # a softmax of one vector
    >>> xb = ts.tensor("xb", shape=(5, 3))
    >>> vectorize_graph(y, {x: xb}).type.shape
    (5, 3)
    """
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    equiv: dict[Variable, Variable] = {}
    for core, batched in replace.items():
        batched = as_tensor(batched)
        if batched.ndim < core.ndim:
            raise ValueError(
                f"vectorize_graph: replacement for {core} (shape "
                f"{shape_str(core.type.shape)}) has fewer dims: "
                f"{shape_str(batched.type.shape)}"
            )
        core_part = batched.type.shape[batched.ndim - core.ndim :]
        for a, b in zip(core.type.shape, core_part):
            if a is not None and b is not None and a != b:
                raise ValueError(
                    f"vectorize_graph: replacement for {core} has core shape "
                    f"{shape_str(core_part)}, expected {shape_str(core.type.shape)}"
                )
        equiv[core] = batched
    for node in toposort(outs, list(equiv)):
        new_inputs = [equiv.get(i, i) for i in node.inputs]
        if all(n is o for n, o in zip(new_inputs, node.inputs)):
            continue
        if all(n.ndim == o.ndim for n, o in zip(new_inputs, node.inputs)):
            new_outs = node.op.make_node(*new_inputs).outputs
        else:
            new_outs = vectorize_node(node, *new_inputs)
        for old, new in zip(node.outputs, new_outs):
            if new.ndim < old.ndim:
                raise AssertionError(f"batching rule of {node.op} lost dims")
            equiv[old] = new
    result = [equiv.get(o, o) for o in outs]
    return result[0] if single else result


def vectorize_node(node: Apply, *batched_inputs: Variable) -> list[Variable]:
    """Outputs of ``node`` recomputed from inputs with extra leading batch dims.

    The op's own rule (:meth:`Op.vectorize_node`) when it has one; else ops
    with a gufunc signature are wrapped in :class:`Blockwise`.

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(3, 3))
    >>> node = ts.linalg.cholesky(a).owner
    >>> vectorize_node(node, ts.tensor("b", shape=(5, 3, 3)))[0].type.shape
    (5, 3, 3)
    """
    outs = node.op.vectorize_node(node, *batched_inputs)
    if outs is not NotImplemented:
        return outs
    if node.op.signature is not None:
        return Blockwise(node.op).make_node(*batched_inputs).outputs
    raise NotImplementedError(
        f"vectorize_graph: {node.op} has no batching rule (define vectorize_node "
        "or a gufunc signature)"
    )


def vectorize(fn: Callable, signature: str | None = None) -> Callable:
    """Turn a function of core tensors into one over batched tensors.

    Like ``numpy.vectorize(..., signature=...)`` or ``jax.vmap``: ``fn`` is
    traced once on placeholder core inputs and the resulting graph is
    rebuilt over the batched inputs with :func:`vectorize_graph`. Without a
    signature, every input and output is a scalar at the core. Vectorizing a
    vectorized function composes (a batch of batches).

    Examples
    --------
    >>> import tessera as ts
    >>> def quad(x, A):
    ...     return x @ A @ x
    >>> batched = ts.vectorize(quad, signature="(n),(n,n)->()")
    >>> x = ts.ones((4, 3))
    >>> A = ts.eye(3)
    >>> batched(x, A).eval()
    array([3., 3., 3., 3.])
    """
    sig = parse_signature(signature) if signature else None

    def wrapped(*args):
        args = [as_tensor(a) for a in args]
        ndims = sig.input_ndims if sig else (0,) * len(args)
        if len(ndims) != len(args):
            raise TypeError(
                f"vectorize: signature {signature!r} takes {len(ndims)} inputs, "
                f"got {len(args)}"
            )
        dummies = []
        for k, (a, nd) in enumerate(zip(args, ndims)):
            if a.ndim < nd:
                raise ValueError(
                    f"vectorize: input {k} needs at least {nd} dims for signature "
                    f"{signature!r}, got shape {shape_str(a.type.shape)}"
                )
            dummies.append(TensorType(a.dtype, a.type.shape[a.ndim - nd :])())
        if sig:
            sig.bind_static([d.type.shape for d in dummies], "vectorize")
        outs = fn(*dummies)
        single = not isinstance(outs, list | tuple)
        outs = [as_tensor(outs)] if single else [as_tensor(o) for o in outs]
        out_ndims = sig.output_ndims if sig else (0,) * len(outs)
        if len(out_ndims) != len(outs) or any(
            o.ndim != nd for o, nd in zip(outs, out_ndims)
        ):
            raise ValueError(
                f"vectorize: function returned core shapes "
                f"{[shape_str(o.type.shape) for o in outs]}, but signature "
                f"{signature!r} says {out_ndims} dims"
            )
        result = vectorize_graph(outs, dict(zip(dummies, args)))
        return result[0] if single else result

    wrapped.__name__ = getattr(fn, "__name__", "vectorized")
    wrapped.__doc__ = getattr(fn, "__doc__", None)
    return wrapped


# --- helpers used by the batching rules of individual ops -------------------


def batch_ndim(old: Variable, new: Variable) -> int:
    """Number of batch dims ``new`` has over ``old``."""
    return new.ndim - old.ndim


def batch_shape(x: Variable, b: int) -> list:
    """The first ``b`` dims of ``x`` (ints where static, else symbolic)."""
    from tessera.ops.shape import shape_i

    return [shape_i(x, k) for k in range(b)]


def pad_core(x: Variable, b: int, core_ndim: int) -> Variable:
    """Insert size-1 dims after the ``b`` batch dims so that the core part of
    ``x`` has ``core_ndim`` dims (aligning it with other operands)."""
    from tessera.ops.shape import expand_dims

    missing = core_ndim - (x.ndim - b)
    if b == 0 or missing <= 0:
        return x
    return expand_dims(x, tuple(range(b, b + missing)))


def broadcast_batch(xs: Sequence[Variable], bs: Sequence[int]) -> tuple[list, int]:
    """Broadcast the batch dims of several inputs against each other, keeping
    each one's core dims. Returns the new inputs and the common batch ndim."""
    from tessera.ops.elemwise import broadcast_symbolic_shapes
    from tessera.ops.shape import broadcast_to, expand_dims, shape_tuple

    nb = max(bs)
    padded = [
        expand_dims(x, tuple(range(nb - b))) if b < nb else x for x, b in zip(xs, bs)
    ]
    fakes = [TensorType(x.dtype, x.type.shape[:nb])() for x in padded]
    probe = TensorType(
        "float64",
        tuple(
            next((d for d in dims if d not in (None, 1)), None if None in dims else 1)
            for dims in zip(*[f.type.shape for f in fakes])
        ),
    )()
    shapes = [shape_tuple(x)[:nb] for x in padded]
    batch = broadcast_symbolic_shapes(fakes, shapes, probe)
    out = [broadcast_to(x, list(batch) + list(shape_tuple(x)[nb:])) for x in padded]
    return out, nb
