"""Reductions (sum, prod, max, min, all, any, argmax, argmin, logsumexp) and
cumulative ops, with ``axis`` and ``keepdims``; mean/var/std are built on them."""

from __future__ import annotations

import builtins

import numpy as np

from tessera.graph.basic import Apply
from tessera.graph.null import NonDifferentiable
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.shape import (
    broadcast_to,
    expand_dims,
    flatten,
    normalize_axes,
    normalize_axis,
    shape,
    shape_i,
)
from tessera.ops.type import TensorType

_KERNELS = {
    "sum": np.sum,
    "prod": np.prod,
    "max": np.max,
    "min": np.min,
    "all": np.all,
    "any": np.any,
}


class Reduce(Op):
    """Reduce ``x`` over ``axis`` with one of sum/prod/max/min/all/any.

    Examples
    --------
    >>> import tessera as ts
    >>> x = ts.tensor("x", shape=(2, 3))
    >>> ts.sum(x, axis=1, keepdims=True).type.shape
    (2, 1)
    """

    __props__ = ("kind", "axis", "keepdims", "dtype")

    def __init__(self, kind: str, axis: tuple[int, ...], keepdims: bool, dtype=None):
        if kind not in _KERNELS:
            raise ValueError(f"unknown reduction {kind!r}")
        self.kind = kind
        self.axis = tuple(axis)
        self.keepdims = bool(keepdims)
        self.dtype = None if dtype is None else np.dtype(dtype).name

    def __str__(self) -> str:
        return f"{self.kind}{{axis={self.axis}{', keepdims' if self.keepdims else ''}}}"

    def make_node(self, x):
        x = as_tensor(x)
        for a in self.axis:
            if a >= x.ndim:
                raise ValueError(
                    f"{self.kind}: axis {a} out of range for {x.ndim} dims"
                )
        if self.kind in ("max", "min"):
            for a in self.axis:
                if x.type.shape[a] == 0:
                    raise ValueError(
                        f"{self.kind}: zero-size axis {a} has no {self.kind}imum"
                    )
        kernel = _KERNELS[self.kind]
        if self.dtype is not None:
            dtype = self.dtype
        else:
            dtype = kernel(np.ones((1,), dtype=x.dtype)).dtype.name
        shp = _reduced_shape(x.type.shape, self.axis, self.keepdims)
        return Apply(self, [x], [TensorType(dtype, shp)])

    def perform(self, node, inputs, out):
        kw = (
            {"dtype": self.dtype} if self.dtype and self.kind in ("sum", "prod") else {}
        )
        out[0][0] = _KERNELS[self.kind](
            inputs[0], axis=self.axis, keepdims=self.keepdims, **kw
        )

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        axis = tuple(a + b for a in self.axis)
        return [Reduce(self.kind, axis, self.keepdims, self.dtype)(x)]

    def infer_shape(self, node, input_shapes):
        shp = input_shapes[0]
        if self.keepdims:
            return [tuple(1 if k in self.axis else s for k, s in enumerate(shp))]
        return [tuple(s for k, s in enumerate(shp) if k not in self.axis)]

    def pullback(self, inputs, outputs, cotangents):
        (x,), (out,), (g,) = inputs, outputs, cotangents
        if self.kind in ("all", "any"):
            return [NonDifferentiable(self, "boolean reduction")]
        from tessera.ops import math as m

        gk = g if self.keepdims else expand_dims(g, self.axis)
        if self.kind == "sum":
            return [broadcast_to(gk, shape(x))]
        outk = out if self.keepdims else expand_dims(out, self.axis)
        if self.kind == "prod":
            # exact where x has zeros: the product of the other factors
            is_zero = m.eq(x, 0)
            nz = Reduce("sum", self.axis, True, "int64")(is_zero)
            prod_nonzero = Reduce("prod", self.axis, True)(m.where(is_zero, 1.0, x))
            others = m.where(
                m.eq(nz, 0),
                outk / m.where(is_zero, 1.0, x),
                m.where(m.and_(m.eq(nz, 1), is_zero), prod_nonzero, 0.0),
            )
            return [gk * others]
        # max / min: share the cotangent evenly between tied maxima
        mask = m.cast(m.eq(x, outk), x.dtype)
        count = Reduce("sum", self.axis, True)(mask)
        return [gk * mask / count]


def _reduced_shape(shp, axis, keepdims):
    if keepdims:
        return tuple(1 if k in axis else s for k, s in enumerate(shp))
    return tuple(s for k, s in enumerate(shp) if k not in axis)


def _reduce(kind, x, axis, keepdims, dtype=None):
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, kind)
    if not axes and dtype is None and kind not in ("all", "any"):
        return x
    return Reduce(kind, axes, keepdims, dtype)(x)


def sum(x, axis=None, keepdims: bool = False, dtype=None):
    """Sum over ``axis`` (all axes by default).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.sum(ts.constant([[1.0, 2.0], [3.0, 4.0]]), axis=0).eval()
    array([4., 6.])
    """
    return _reduce("sum", x, axis, keepdims, dtype)


def prod(x, axis=None, keepdims: bool = False, dtype=None):
    """Product over ``axis``; the gradient is exact where x has zeros.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.prod(ts.constant([2.0, 3.0])).eval()
    array(6.)
    """
    return _reduce("prod", x, axis, keepdims, dtype)


def max(x, axis=None, keepdims: bool = False):
    """Maximum over ``axis``; ties share the gradient evenly.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.max(ts.constant([1.0, 3.0, 2.0])).eval()
    array(3.)
    """
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False):
    """Minimum over ``axis``; ties share the gradient evenly.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.min(ts.constant([1.0, 3.0, 2.0])).eval()
    array(1.)
    """
    return _reduce("min", x, axis, keepdims)


def all(x, axis=None, keepdims: bool = False):
    """Whether all elements along ``axis`` are true.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.all(ts.constant([True, False])).eval()
    array(False)
    """
    return _reduce("all", x, axis, keepdims)


def any(x, axis=None, keepdims: bool = False):
    """Whether any element along ``axis`` is true.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.any(ts.constant([True, False])).eval()
    array(True)
    """
    return _reduce("any", x, axis, keepdims)


def _count(x, axes):
    n = 1
    for a in axes:
        n = n * shape_i(x, a)
    return n


def mean(x, axis=None, keepdims: bool = False):
    """Arithmetic mean over ``axis``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.mean(ts.constant([1.0, 2.0, 6.0])).eval()
    array(3.)
    """
    x = as_tensor(x)
    from tessera.ops.math import cast, true_div

    axes = normalize_axes(axis, x.ndim, "mean")
    s = sum(x, axes, keepdims)
    n = _count(x, axes)
    if not isinstance(n, int):
        n = cast(n, s.dtype if s.dtype.startswith("float") else "float64")
    return true_div(s, n)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Variance over ``axis`` (``ddof`` as in NumPy).

    Examples
    --------
    >>> import tessera as ts
    >>> float(ts.var(ts.constant([1.0, 2.0, 3.0])).eval().round(4))
    0.6667
    """
    x = as_tensor(x)
    from tessera.ops.math import cast, true_div

    axes = normalize_axes(axis, x.ndim, "var")
    centered = x - mean(x, axes, keepdims=True)
    if x.dtype.startswith("complex"):
        raise TypeError("var: complex inputs are not supported")
    ss = sum(centered * centered, axes, keepdims)
    n = _count(x, axes)
    denom = n - ddof
    if not isinstance(denom, int):
        denom = cast(denom, ss.dtype)
    return true_div(ss, denom)


def std(x, axis=None, keepdims: bool = False, ddof: int = 0):
    """Standard deviation over ``axis``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.std(ts.constant([1.0, 3.0])).eval()
    array(1.)
    """
    from tessera.ops.math import sqrt

    return sqrt(var(x, axis, keepdims, ddof))


class LogSumExp(Op):
    """``log(sum(exp(x), axis))`` computed stably; its pullback is a softmax."""

    __props__ = ("axis", "keepdims")

    def __init__(self, axis: tuple[int, ...], keepdims: bool):
        self.axis = tuple(axis)
        self.keepdims = bool(keepdims)

    def make_node(self, x):
        x = as_tensor(x)
        # like scipy.special.logsumexp: floats keep their dtype, ints and
        # bools give float64
        dtype = x.dtype if np.dtype(x.dtype).kind in "fc" else "float64"
        shp = _reduced_shape(x.type.shape, self.axis, self.keepdims)
        return Apply(self, [x], [TensorType(dtype, shp)])

    def perform(self, node, inputs, out):
        x = inputs[0]
        if x.size == 0 or x.dtype.kind == "c":
            from scipy.special import logsumexp as lse

            res = lse(x, axis=self.axis, keepdims=self.keepdims)
        else:
            # plain NumPy: scipy's array-API logsumexp costs ~0.2 ms a call
            m = np.max(x, axis=self.axis, keepdims=True)
            m = np.where(np.isfinite(m), m, 0.0)
            with np.errstate(divide="ignore"):
                res = np.log(np.sum(np.exp(x - m), self.axis, keepdims=True)) + m
            if not self.keepdims:
                res = np.squeeze(res, axis=self.axis)
        out[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [LogSumExp(tuple(a + b for a in self.axis), self.keepdims)(x)]

    def infer_shape(self, node, input_shapes):
        return Reduce("sum", self.axis, self.keepdims).infer_shape(node, input_shapes)

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.math import exp, isinf, where

        (x,), (out,), (g,) = inputs, outputs, cotangents
        gk = g if self.keepdims else expand_dims(g, self.axis)
        outk = out if self.keepdims else expand_dims(out, self.axis)
        # all -inf along the axis: exp(-inf - -inf) would be nan; gradient is 0
        safe = where(isinf(outk), 0.0, x - outk)
        return [gk * where(isinf(outk), 0.0, exp(safe))]


def logsumexp(x, axis=None, keepdims: bool = False):
    """``log(sum(exp(x)))`` over ``axis``, without overflow.

    Examples
    --------
    >>> import tessera as ts
    >>> float(ts.logsumexp(ts.constant([1000.0, 1000.0])).eval().round(4))
    1000.6931
    """
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim, "logsumexp")
    return LogSumExp(axes, keepdims)(x)


class ArgReduce(Op):
    """Index of the maximum (``kind="max"``) or minimum along one axis."""

    __props__ = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: int, keepdims: bool):
        self.kind = kind
        self.axis = int(axis)
        self.keepdims = bool(keepdims)

    def make_node(self, x):
        x = as_tensor(x)
        if x.type.shape[self.axis] == 0:
            raise ValueError(f"arg{self.kind}: axis {self.axis} has size zero")
        shp = _reduced_shape(x.type.shape, (self.axis,), self.keepdims)
        return Apply(self, [x], [TensorType("int64", shp)])

    def perform(self, node, inputs, out):
        fn = np.argmax if self.kind == "max" else np.argmin
        out[0][0] = np.asarray(
            fn(inputs[0], axis=self.axis, keepdims=self.keepdims), dtype=np.int64
        )

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [ArgReduce(self.kind, self.axis + b, self.keepdims)(x)]

    def infer_shape(self, node, input_shapes):
        return Reduce("sum", (self.axis,), self.keepdims).infer_shape(
            node, input_shapes
        )

    def pullback(self, inputs, outputs, cotangents):
        return [NonDifferentiable(self, "integer output")]


def _arg(kind, x, axis, keepdims):
    x = as_tensor(x)
    if axis is None:
        ndim = x.ndim
        x = flatten(x) if x.ndim != 1 else x
        out = ArgReduce(kind, 0, False)(x)
        # like NumPy: keepdims without an axis keeps every dim, with size 1
        return expand_dims(out, tuple(range(ndim))) if keepdims else out
    return ArgReduce(kind, normalize_axis(axis, x.ndim, f"arg{kind}"), keepdims)(x)


def argmax(x, axis=None, keepdims: bool = False):
    """Index of the maximum (over the flattened array when ``axis`` is None).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.argmax(ts.constant([1.0, 3.0, 2.0])).eval()
    array(1)
    """
    return _arg("max", x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False):
    """Index of the minimum (over the flattened array when ``axis`` is None).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.argmin(ts.constant([1.0, 3.0, 2.0])).eval()
    array(0)
    """
    return _arg("min", x, axis, keepdims)


class CumOp(Op):
    """Cumulative sum or product along one axis."""

    __props__ = ("kind", "axis")

    def __init__(self, kind: str, axis: int):
        self.kind = kind
        self.axis = int(axis)

    def make_node(self, x):
        x = as_tensor(x)
        fn = np.cumsum if self.kind == "sum" else np.cumprod
        dtype = fn(np.ones((1,), dtype=x.dtype)).dtype.name
        return Apply(self, [x], [TensorType(dtype, x.type.shape)])

    def perform(self, node, inputs, out):
        fn = np.cumsum if self.kind == "sum" else np.cumprod
        out[0][0] = fn(inputs[0], axis=self.axis)

    def vectorize_node(self, node, x):
        b = x.ndim - node.inputs[0].ndim
        return [CumOp(self.kind, self.axis + b)(x)]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.shape import flip

        (x,), (out,), (g,) = inputs, outputs, cotangents

        def rev_cumsum(v):
            return flip(CumOp("sum", self.axis)(flip(v, self.axis)), self.axis)

        if self.kind == "sum":
            return [rev_cumsum(g)]
        # d out_i / d x_j = out_i / x_j for j <= i (NaN where x has zeros)
        return [rev_cumsum(g * out) / x]


def _cum(kind, x, axis):
    x = as_tensor(x)
    if axis is None:
        x = flatten(x) if x.ndim != 1 else x
        axis = 0
    return CumOp(kind, normalize_axis(axis, x.ndim, f"cum{kind}"))(x)


def cumsum(x, axis=None):
    """Cumulative sum (over the flattened array when ``axis`` is None).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.cumsum(ts.constant([1.0, 2.0, 3.0])).eval()
    array([1., 3., 6.])
    """
    return _cum("sum", x, axis)


def cumprod(x, axis=None):
    """Cumulative product. Its gradient divides by ``x``: NaN where x has zeros.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.cumprod(ts.constant([1.0, 2.0, 3.0])).eval()
    array([1., 2., 6.])
    """
    return _cum("prod", x, axis)


_ = builtins
