"""Matrix structure: tril/triu, diagonals, trace, kron, block_diag, matrix_power.

:class:`Triangle` is a core op with signature ``"(m,n)->(m,n)"``.
:class:`ExtractDiag` and :class:`AllocDiag` act on the trailing two dims
and take any number of leading batch dims natively (the length of a
diagonal with an offset cannot be written as a gufunc signature); their
batching rule just passes the batched input through. The remaining
functions are compositions of ops, so their gradients and batching come
from those ops.
"""

from __future__ import annotations

import functools

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg._base import LinalgOp, core_input, matrix_arg
from tessera.ops.static import get_static_value
from tessera.ops.type import TensorType, shape_str


class Triangle(LinalgOp):
    """Lower (``lower=True``, like ``np.tril``) or upper triangle, offset ``k``.

    Examples
    --------
    >>> import tessera as ts
    >>> Triangle(lower=True, k=0)(ts.ones((2, 2))).eval()
    array([[1., 0.],
           [1., 1.]])
    """

    __props__ = ("lower", "k")
    signature = "(m,n)->(m,n)"

    def __init__(self, lower: bool, k: int = 0):
        self.lower = bool(lower)
        self.k = int(k)

    def make_node(self, x) -> Apply:
        x = core_input(self, x, 2)
        return Apply(self, [x], [x.type])

    def perform_batched(self, node, inputs, output_storage):
        x = inputs[0]
        # np.where with a cached mask: 7x faster than np.tril on small
        # matrices, and unlike multiplying by the mask it keeps inf/NaN
        # outside the triangle out of the result
        mask = _tri_mask(x.shape[-2], x.shape[-1], self.k, self.lower)
        output_storage[0][0] = np.where(mask, x, np.zeros((), x.dtype))

    def pullback(self, inputs, outputs, cotangents):
        return [self(cotangents[0])]


@functools.lru_cache(maxsize=256)
def _tri_mask(m: int, n: int, k: int, lower: bool) -> np.ndarray:
    mask = np.tri(m, n, k, dtype=bool) if lower else ~np.tri(m, n, k - 1, dtype=bool)
    mask.flags.writeable = False
    return mask


def tril(x, k: int = 0) -> Variable:
    """Lower triangle of the last two dims (zero above diagonal ``k``).

    Parameters
    ----------
    x : tensor_like, shape (..., m, n)
    k : int
        Diagonal above which to zero (0 is the main diagonal, negative below).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.tril(ts.ones((2, 3)), k=-1).eval()
    array([[0., 0., 0.],
           [1., 0., 0.]])
    """
    return apply_core(Triangle(True, k), matrix_arg("tril", x))


def triu(x, k: int = 0) -> Variable:
    """Upper triangle of the last two dims (zero below diagonal ``k``).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.triu(ts.ones((2, 3)), k=1).eval()
    array([[0., 1., 1.],
           [0., 0., 1.]])
    """
    return apply_core(Triangle(False, k), matrix_arg("triu", x))


def _diag_len(m, n, offset: int):
    """Length of diagonal ``offset`` of an (m, n) matrix (ints or symbolic)."""
    from tessera.ops.math import maximum, minimum

    rows = m if offset >= 0 else m + offset
    cols = n - offset if offset >= 0 else n
    if isinstance(rows, int) and isinstance(cols, int):
        return max(0, min(rows, cols))
    return maximum(minimum(rows, cols), 0)


class ExtractDiag(Op):
    """Diagonal ``offset`` of the last two dims: (..., m, n) -> (..., k).

    Examples
    --------
    >>> import tessera as ts
    >>> ExtractDiag(0)(ts.constant([[1.0, 2.0], [3.0, 4.0]])).eval()
    array([1., 4.])
    """

    __props__ = ("offset",)
    # the NumPy backend's fast path returns a strided view of the input
    returns_view = True

    def __init__(self, offset: int = 0):
        self.offset = int(offset)

    def make_node(self, x) -> Apply:
        x = matrix_arg("diagonal", x)
        m, n = x.type.shape[-2:]
        k = None if m is None or n is None else _diag_len(m, n, self.offset)
        return Apply(self, [x], [TensorType(x.dtype, x.type.shape[:-2] + (k,))])

    def perform(self, node, inputs, output_storage):
        d = np.diagonal(inputs[0], self.offset, axis1=-2, axis2=-1)
        output_storage[0][0] = d.copy()

    def vectorize_node(self, node, x):
        return [self(x)]

    def infer_shape(self, node, input_shapes):
        shp = input_shapes[0]
        out = node.outputs[0].type.shape[-1]
        k = out if out is not None else _diag_len(shp[-2], shp[-1], self.offset)
        return [tuple(shp[:-2]) + (k,)]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.shape import shape_i

        (x,) = inputs
        return [AllocDiag(self.offset)(cotangents[0], shape_i(x, -2), shape_i(x, -1))]


class AllocDiag(Op):
    """An (..., m, n) zero matrix with ``v`` (..., k) on diagonal ``offset``.

    Examples
    --------
    >>> import tessera as ts
    >>> AllocDiag(1)(ts.constant([1.0, 2.0]), 2, 3).eval()
    array([[0., 1., 0.],
           [0., 0., 2.]])
    """

    __props__ = ("offset",)

    def __init__(self, offset: int = 0):
        self.offset = int(offset)

    def make_node(self, v, m, n) -> Apply:
        v = as_tensor(v)
        if v.ndim < 1:
            raise ValueError(
                f"diag: expected a vector (..., k), got a {v.ndim}-d input"
            )
        m, n = as_tensor(m, dtype="int64"), as_tensor(n, dtype="int64")
        sizes = []
        for s in (m, n):
            val = get_static_value(s)
            sizes.append(None if val is None else int(val))
        if None not in sizes and v.type.shape[-1] is not None:
            k = _diag_len(sizes[0], sizes[1], self.offset)
            if k != v.type.shape[-1]:
                raise ValueError(
                    f"diag: a vector of length {v.type.shape[-1]} does not fit "
                    f"diagonal {self.offset} of a {sizes[0]}x{sizes[1]} matrix"
                )
        out = TensorType(v.dtype, v.type.shape[:-1] + tuple(sizes))
        return Apply(self, [v, m, n], [out])

    def perform(self, node, inputs, output_storage):
        v, m, n = inputs
        m, n = int(m), int(n)
        k = _diag_len(m, n, self.offset)
        if v.shape[-1] != k:
            raise ValueError(
                f"diag: a vector of length {v.shape[-1]} does not fit diagonal "
                f"{self.offset} of a {m}x{n} matrix"
            )
        flat = np.zeros(v.shape[:-1] + (m * n,), dtype=node.outputs[0].dtype)
        if k:
            # diagonal `offset` is every (n + 1)-th entry of the flat matrix
            start = self.offset if self.offset >= 0 else -self.offset * n
            flat[..., start : start + (k - 1) * (n + 1) + 1 : n + 1] = v
        output_storage[0][0] = flat.reshape(v.shape[:-1] + (m, n))

    def vectorize_node(self, node, v, m, n):
        if m.ndim or n.ndim:
            raise NotImplementedError(
                "diag with a matrix size that varies over a batch"
            )
        return [self(v, m, n)]

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0][:-1]) + (node.inputs[1], node.inputs[2])]

    def pullback(self, inputs, outputs, cotangents):
        return [ExtractDiag(self.offset)(cotangents[0]), disconnected, disconnected]


def diagonal(x, offset: int = 0) -> Variable:
    """Diagonal ``offset`` of the last two dims, (..., m, n) -> (..., k).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.diagonal(ts.ones((4, 2, 3)), offset=1).type.shape
    (4, 2)
    """
    return ExtractDiag(offset)(matrix_arg("diagonal", x))


def diag_embed(v, k: int = 0) -> Variable:
    """Square matrices with the vectors ``v`` (..., n) on diagonal ``k``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.diag_embed(ts.ones((5, 3))).type.shape
    (5, 3, 3)
    """
    from tessera.ops.shape import shape_i

    v = as_tensor(v)
    if v.ndim < 1:
        raise ValueError("diag_embed: expected a vector (..., n), got a scalar")
    size = shape_i(v, -1) + abs(int(k))
    return AllocDiag(k)(v, size, size)


def diag(v, k: int = 0) -> Variable:
    """Like ``np.diag``: a diagonal matrix from a vector, the diagonal of a matrix.

    Batched inputs are ambiguous; use :func:`diag_embed` (vectors to
    matrices) or :func:`diagonal` (matrices to vectors) for them.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.diag(ts.constant([1.0, 2.0])).eval()
    array([[1., 0.],
           [0., 2.]])
    >>> ts.linalg.diag(ts.constant([[1.0, 2.0], [3.0, 4.0]])).eval()
    array([1., 4.])
    """
    v = as_tensor(v)
    if v.ndim == 1:
        return diag_embed(v, k)
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(
        f"diag: expected a 1-d or 2-d input, got shape {shape_str(v.type.shape)}; "
        "use tessera.linalg.diag_embed or tessera.linalg.diagonal for batches"
    )


def trace(x, offset: int = 0) -> Variable:
    """Sum of diagonal ``offset`` of the last two dims.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.trace(ts.ones((3, 2, 2))).eval()
    array([2., 2., 2.])
    """
    return diagonal(x, offset).sum(axis=-1)


def _batch_dims(x: Variable, nb: int) -> list:
    from tessera.ops.shape import shape_i

    return [shape_i(x, i) for i in range(nb)]


def kron(a, b) -> Variable:
    """Kronecker product of the last two dims; leading batch dims broadcast.

    ``kron(a, b)[..., i*p + k, j*q + l] = a[..., i, j] * b[..., k, l]`` for
    ``a`` (..., m, n) and ``b`` (..., p, q). (``np.kron`` would also take the
    product over the batch dims.)

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.kron(ts.eye(2), ts.constant([[1.0, 2.0]])).eval()
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    from tessera.ops.shape import expand_dims, reshape, shape_i

    a, b = matrix_arg("kron", a), matrix_arg("kron", b)
    prod = expand_dims(a, (-3, -1)) * expand_dims(b, (-4, -2))
    rows = shape_i(a, -2) * shape_i(b, -2)
    cols = shape_i(a, -1) * shape_i(b, -1)
    return reshape(prod, _batch_dims(prod, prod.ndim - 4) + [rows, cols])


def block_diag(*arrs) -> Variable:
    """Block-diagonal matrix of the last two dims of each input.

    Inputs (..., m_i, n_i) broadcast their batch dims; the result is
    (..., sum m_i, sum n_i).

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.block_diag(ts.ones((1, 1)), 2 * ts.ones((1, 2))).eval()
    array([[1., 0., 0.],
           [0., 2., 2.]])
    """
    from tessera.ops.creation import zeros
    from tessera.ops.shape import concatenate, shape_i
    from tessera.ops.vectorize import broadcast_batch

    if not arrs:
        raise ValueError("block_diag: need at least one matrix")
    xs = [matrix_arg("block_diag", x) for x in arrs]
    dtype = np.result_type(*[x.dtype for x in xs]).name
    bs = [x.ndim - 2 for x in xs]
    nb = max(bs)
    if nb:
        xs, nb = broadcast_batch(xs, bs)
    batch = _batch_dims(xs[0], nb)
    rows = []
    for i, x in enumerate(xs):
        row = []
        for j, y in enumerate(xs):
            if i == j:
                row.append(x if x.dtype == dtype else x.astype(dtype))
            else:
                row.append(zeros(batch + [shape_i(x, -2), shape_i(y, -1)], dtype))
        rows.append(concatenate(row, axis=-1))
    return concatenate(rows, axis=-2)


def matrix_power(a, n: int) -> Variable:
    """``a`` raised to the integer power ``n`` (by repeated squaring).

    ``n = 0`` gives identity matrices; a negative ``n`` inverts first.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.linalg.matrix_power(ts.constant([[1.0, 1.0], [0.0, 1.0]]), 3).eval()
    array([[1., 3.],
           [0., 1.]])
    """
    from tessera.ops.creation import ones_like

    a = matrix_arg("matrix_power", a, square=True)
    if not isinstance(n, int | np.integer):
        raise TypeError(f"matrix_power: n must be an int, got {n!r}")
    n = int(n)
    if n == 0:
        return diag_embed(ones_like(diagonal(a)))
    if n < 0:
        from tessera.ops.linalg.inverse import inv

        a, n = inv(a), -n
    result = None
    base = a
    while True:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if not n:
            return result
        base = base @ base


__all__ = [
    "AllocDiag",
    "ExtractDiag",
    "Triangle",
    "block_diag",
    "diag",
    "diag_embed",
    "diagonal",
    "kron",
    "matrix_power",
    "trace",
    "tril",
    "triu",
]
