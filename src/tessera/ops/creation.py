"""Array creation: zeros, ones, full, *_like, eye, arange, linspace, tri."""

from __future__ import annotations

import numpy as np

from tessera.config import config
from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor, constant
from tessera.ops.shape import _int_vector, broadcast_to, shape
from tessera.ops.static import get_static_value, static_vector_entries
from tessera.ops.type import TensorType


class Alloc(Op):
    """A tensor of run-time ``shape`` filled with the scalar ``value``."""

    __props__ = ()

    def make_node(self, value, shp):
        value = as_tensor(value)
        if value.ndim != 0:
            raise ValueError(
                f"alloc: fill value must be a scalar, got {value.ndim} dims"
            )
        shp = _int_vector(shp)
        return Apply(
            self, [value, shp], [TensorType(value.dtype, static_vector_entries(shp))]
        )

    def perform(self, node, inputs, out):
        out[0][0] = np.full(tuple(inputs[1]), inputs[0], dtype=node.outputs[0].dtype)

    def vectorize_node(self, node, value, shp):
        from tessera.ops.shape import concatenate, expand_dims, make_vector
        from tessera.ops.vectorize import batch_shape

        if shp.ndim != 1:
            raise NotImplementedError("alloc with a shape that varies over the batch")
        b = value.ndim
        n = node.outputs[0].ndim
        v = expand_dims(value, tuple(range(b, b + n))) if n else value
        full = concatenate([make_vector(*batch_shape(value, b)), shp])
        return [broadcast_to(v, full)]

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        return [
            tuple(
                s if s is not None else getitem(node.inputs[1], k)
                for k, s in enumerate(node.outputs[0].type.shape)
            )
        ]

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0].sum(), disconnected]

    def do_constant_folding(self, node) -> bool:
        # folding would embed a possibly large array in the compiled function
        return False


def full(shape, fill_value, dtype=None) -> Variable:
    """A tensor of ``shape`` filled with ``fill_value``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.full((2,), 7.0).eval()
    array([7., 7.])
    """
    value = as_tensor(fill_value, dtype=dtype)
    return Alloc()(value, shape)


def zeros(shape, dtype=None) -> Variable:
    """A tensor of zeros (``config.floatX`` by default).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.zeros((2, 2)).type.shape
    (2, 2)
    """
    return full(shape, np.zeros((), dtype=dtype or config.floatX))


def ones(shape, dtype=None) -> Variable:
    """A tensor of ones (``config.floatX`` by default).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.ones(3).eval()
    array([1., 1., 1.])
    """
    return full(shape, np.ones((), dtype=dtype or config.floatX))


def full_like(x, fill_value, dtype=None) -> Variable:
    """A tensor shaped like ``x`` filled with ``fill_value``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.full_like(ts.zeros(2), 3.0).eval()
    array([3., 3.])
    """
    x = as_tensor(x)
    dt = dtype or x.dtype
    shp = x.type.shape if None not in x.type.shape else shape(x)
    return full(shp, np.asarray(fill_value, dtype=dt))


def zeros_like(x, dtype=None) -> Variable:
    """Zeros shaped like ``x``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.zeros_like(ts.ones(2)).eval()
    array([0., 0.])
    """
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None) -> Variable:
    """Ones shaped like ``x``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.ones_like(ts.zeros(2)).eval()
    array([1., 1.])
    """
    return full_like(x, 1, dtype)


class Eye(Op):
    """The ``(n, m)`` matrix with ones on diagonal ``k``."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = np.dtype(dtype).name

    def make_node(self, n, m, k):
        n, m, k = (as_tensor(v, dtype="int64") for v in (n, m, k))
        shp = []
        for v in (n, m):
            s = get_static_value(v)
            shp.append(None if s is None else int(s))
        return Apply(self, [n, m, k], [TensorType(self.dtype, shp)])

    def perform(self, node, inputs, out):
        n, m, k = (int(v) for v in inputs)
        out[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        return [(node.inputs[0], node.inputs[1])]

    def pullback(self, inputs, outputs, cotangents):
        return [disconnected] * 3


def eye(n, m=None, k: int = 0, dtype=None) -> Variable:
    """Identity-like matrix, like ``np.eye``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.eye(2).eval()
    array([[1., 0.],
           [0., 1.]])
    """
    return Eye(dtype or config.floatX)(n, n if m is None else m, k)


class ARange(Op):
    """``np.arange(start, stop, step)`` with run-time bounds."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = np.dtype(dtype).name

    def make_node(self, start, stop, step):
        start, stop, step = (as_tensor(v) for v in (start, stop, step))
        vals = [get_static_value(v) for v in (start, stop, step)]
        n = None
        if all(v is not None for v in vals):
            n = len(np.arange(*[v.item() for v in vals]))
        return Apply(self, [start, stop, step], [TensorType(self.dtype, (n,))])

    def perform(self, node, inputs, out):
        out[0][0] = np.arange(*[v.item() for v in inputs], dtype=self.dtype)

    def infer_shape(self, node, input_shapes):
        from tessera.ops.math import cast, ceil, maximum

        start, stop, step = node.inputs
        n = node.outputs[0].type.shape[0]
        if n is not None:
            return [(n,)]
        return [(cast(maximum(ceil((stop - start) / step), 0), "int64"),)]

    def pullback(self, inputs, outputs, cotangents):
        return [disconnected] * 3


def arange(start, stop=None, step=1, dtype=None) -> Variable:
    """Evenly spaced values in ``[start, stop)``, like ``np.arange``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.arange(1, 7, 2).eval()
    array([1, 3, 5])
    """
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = np.result_type(
            *[
                v.dtype if isinstance(v, Variable) else np.asarray(v).dtype
                for v in (start, stop, step)
            ]
        )
    return ARange(dtype)(start, stop, step)


def linspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None) -> Variable:
    """``num`` evenly spaced values from ``start`` to ``stop``, like ``np.linspace``.

    Differentiable with respect to ``start`` and ``stop``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linspace(0.0, 1.0, 3).eval()
    array([0. , 0.5, 1. ])
    """
    start = as_tensor(start, dtype=dtype or config.floatX)
    stop = as_tensor(stop, dtype=dtype or config.floatX)
    num = int(num)
    div = (num - 1) if endpoint else num
    steps = constant(np.arange(num, dtype=start.dtype) / max(div, 1))
    out = start + (stop - start) * steps
    if endpoint and num > 1:
        from tessera.ops.subtensor import set_subtensor

        out = set_subtensor(out[-1], stop)
    return out


def tri(n, m=None, k: int = 0, dtype=None) -> Variable:
    """Ones at and below diagonal ``k``, like ``np.tri``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.tri(2).eval()
    array([[1., 0.],
           [1., 1.]])
    """
    from tessera.ops.math import cast, ge

    m = n if m is None else m
    rows = arange(n, dtype="int64")
    cols = arange(m, dtype="int64")
    from tessera.ops.shape import expand_dims

    mask = ge(expand_dims(rows, 1) + k, expand_dims(cols, 0))
    return cast(mask, dtype or config.floatX)


__all__ = [
    "Alloc",
    "arange",
    "broadcast_to",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "tri",
    "zeros",
    "zeros_like",
]
