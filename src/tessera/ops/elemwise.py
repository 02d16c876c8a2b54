"""Elementwise ops built from a table of scalar functions.

Each :class:`ScalarFn` wraps a NumPy/SciPy ufunc (or ufunc-like function)
and a one-line derivative rule. :class:`Elemwise` applies it with NumPy
broadcasting; the public functions live in :mod:`tessera.ops.math`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import NonDifferentiable, disconnected, is_zero_cotangent
from tessera.graph.op import Op
from tessera.ops.basic import as_tensors_weak
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.type import TensorType

DISCRETE_KINDS = "biu"
# NumPy compares integers with out-of-range Python ints exactly
_COMPARISONS = frozenset({"eq", "neq", "lt", "le", "gt", "ge"})


def is_discrete(var_or_dtype) -> bool:
    """True for bool and integer dtypes (no gradient flows through them)."""
    dt = getattr(var_or_dtype, "dtype", var_or_dtype)
    return np.dtype(dt).kind in DISCRETE_KINDS


@dataclass(frozen=True)
class ScalarFn:
    """A scalar function applied elementwise.

    Parameters
    ----------
    name : str
    impl : callable
        NumPy-broadcasting implementation (usually a ufunc).
    nin : int
        Number of inputs.
    grad : callable or None
        ``grad(inputs, output, g) -> list`` of cotangents, one per input,
        built from tessera ops. ``None`` means the output is piecewise
        constant (zero gradient); ``"nondiff"`` means no gradient at all.
    out_dtype : str or None
        Fixed output dtype (e.g. ``"bool"``); otherwise NumPy decides.
    """

    name: str
    impl: Callable = field(compare=False, hash=False)
    nin: int = 1
    grad: Callable | str | None = field(default="nondiff", compare=False, hash=False)
    out_dtype: str | None = field(default=None, compare=False, hash=False)

    def __repr__(self) -> str:
        return self.name

    def output_dtype(self, dtypes: Sequence[str]) -> str:
        if self.out_dtype is not None:
            return self.out_dtype
        return _numpy_result_dtype(self.impl, tuple(dtypes))


@functools.lru_cache(maxsize=4096)
def _numpy_result_dtype(impl: Callable, dtypes: tuple[str, ...]) -> str:
    # Ask NumPy itself, so promotion is exactly NumPy's.
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        args = [np.zeros((1,), dtype=d) + (1 if d != "bool" else 0) for d in dtypes]
        if any(d == "bool" for d in dtypes):
            args = [a.astype(d) for a, d in zip(args, dtypes)]
        return np.asarray(impl(*args)).dtype.name


class Elemwise(Op):
    """Apply a :class:`ScalarFn` elementwise with NumPy broadcasting.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2, 1, 4))
    >>> y = ts.tensor("y", shape=(5, 4))
    >>> (x + y).type.shape
    (2, 5, 4)
    """

    __props__ = ("scalar_fn",)

    def __init__(self, scalar_fn: ScalarFn):
        self.scalar_fn = scalar_fn

    def __str__(self) -> str:
        return self.scalar_fn.name

    def make_node(self, *inputs) -> Apply:
        fn = self.scalar_fn
        if len(inputs) != fn.nin:
            raise TypeError(f"{fn.name} takes {fn.nin} inputs, got {len(inputs)}")
        inputs = as_tensors_weak(*inputs, exact_ints=fn.name in _COMPARISONS)
        shape = broadcast_static_shapes([i.type.shape for i in inputs], fn.name)
        dtype = fn.output_dtype([i.dtype for i in inputs])
        return Apply(self, inputs, [TensorType(dtype, shape)])

    def perform(self, node, inputs, output_storage):
        out = self.scalar_fn.impl(*inputs)
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].dtype)

    def vectorize_node(self, node, *batched):
        from tessera.ops.vectorize import pad_core

        nd = node.outputs[0].ndim
        padded = [
            pad_core(new, new.ndim - old.ndim, nd)
            for old, new in zip(node.inputs, batched)
        ]
        return self.make_node(*padded).outputs

    def infer_shape(self, node, input_shapes):
        return [broadcast_symbolic_shapes(node.inputs, input_shapes, node.outputs[0])]

    def pullback(self, inputs, outputs, cotangents):
        (g,) = cotangents
        fn = self.scalar_fn
        (out,) = outputs
        if fn.grad == "nondiff" or is_discrete(out):
            return [NonDifferentiable(self, f"{fn.name} is not differentiable")] * len(
                inputs
            )
        if fn.grad is None:
            from tessera.ops.creation import zeros_like

            grads = [zeros_like(x) for x in inputs]
        else:
            grads = fn.grad(inputs, out, g)
        result = []
        for x, gx in zip(inputs, grads):
            if is_zero_cotangent(gx):
                result.append(gx)
            elif is_discrete(x):
                result.append(NonDifferentiable(self, f"integer input {x}"))
            else:
                result.append(sum_to(gx, x))
        return result


def broadcast_symbolic_shapes(inputs, input_shapes, out: Variable) -> tuple:
    """Symbolic shape of an elementwise output from its inputs' shapes."""
    from tessera.ops.math import eq as _eq
    from tessera.ops.math import switch

    ndim = out.ndim
    result = []
    for axis in range(ndim):
        static = out.type.shape[axis]
        if static is not None:
            result.append(static)
            continue
        dims = []
        for x, shp in zip(inputs, input_shapes):
            k = axis - (ndim - x.ndim)
            if k >= 0 and x.type.shape[k] != 1:
                dims.append(shp[k])
        d = dims[0]
        for other in dims[1:]:
            d = switch(_eq(d, 1), other, d)
        result.append(d)
    return tuple(result)


def sum_to(g: Variable, x: Variable) -> Variable:
    """Sum cotangent ``g`` back to the run-time shape of ``x``.

    Leading dims that ``x`` lacks are summed away; dims where ``x`` is
    statically 1 are summed with keepdims. Dims whose size is unknown
    statically may still be 1 at run time: those are reduced by a
    :class:`SumTo` node that decides at run time.
    """
    from tessera.ops.reduction import sum as _sum

    if g.type.shape == x.type.shape and None not in x.type.shape:
        out = g
    else:
        lead = g.ndim - x.ndim
        axes = tuple(range(lead)) + tuple(
            lead + k
            for k, s in enumerate(x.type.shape)
            if s == 1 and g.type.shape[lead + k] != 1
        )
        out = _sum(g, axis=axes, keepdims=True) if axes else g
        if lead:
            from tessera.ops.shape import squeeze

            out = squeeze(out, axis=tuple(range(lead)))
        unknown = [
            k
            for k, (s, gs) in enumerate(zip(x.type.shape, out.type.shape))
            if s is None and gs != 1
        ]
        if unknown:
            out = SumTo()(out, x.shape)
    if out.dtype != x.dtype and not is_discrete(x):
        from tessera.ops.math import cast

        out = cast(out, x.dtype)
    return out


class SumTo(Op):
    """Sum ``g`` over the dims where the run-time ``shape`` has size 1.

    ``g`` and ``shape`` have the same length; this is what a gradient
    through broadcasting needs when static shapes cannot decide.
    """

    __props__ = ()

    def make_node(self, g, shape) -> Apply:
        from tessera.ops.basic import as_tensor

        g, shape = as_tensor(g), as_tensor(shape)
        return Apply(self, [g, shape], [g.type.clone(shape=(None,) * g.ndim)])

    def perform(self, node, inputs, output_storage):
        g, shape = inputs
        axes = tuple(k for k, (s, gs) in enumerate(zip(shape, g.shape)) if s == 1 != gs)
        output_storage[0][0] = g.sum(axis=axes, keepdims=True) if axes else g

    def vectorize_node(self, node, g, shp):
        from tessera.ops.shape import concatenate, make_vector
        from tessera.ops.vectorize import batch_shape

        if shp.ndim != 1:
            raise NotImplementedError("SumTo with a batched target shape")
        b = g.ndim - node.inputs[0].ndim
        full = concatenate([make_vector(*batch_shape(g, b)), shp]) if b else shp
        return [SumTo()(g, full)]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        return [tuple(getitem(node.inputs[1], k) for k in range(node.inputs[0].ndim))]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.shape import broadcast_to

        return [broadcast_to(cotangents[0], inputs[0].shape), disconnected]
