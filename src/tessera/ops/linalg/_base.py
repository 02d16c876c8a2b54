"""Shared pieces of the linalg core ops: base class, input checks, helpers.

Every linalg op is a *core* op: ``make_node`` takes inputs with exactly the
core dims of its gufunc ``signature``; the public functions add batch dims
through :func:`tessera.ops.blockwise.apply_core`. ``perform_batched`` is the
natively batched reference kernel Blockwise calls once per evaluation (the
core ``perform`` shares it): plain NumPy/SciPy calls, with the semantics
every backend keeps (dtypes, ``on_error``). Speed tricks live in the
backends (:mod:`tessera.compile.backends.numpy.linalg`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.signature import parse_signature
from tessera.ops.type import TensorType, shape_str


class LinalgOp(Op):
    """Base class of the linalg core ops (shared ``perform``/``infer_shape``)."""

    signature: str

    def perform(self, node, inputs, output_storage):
        self.perform_batched(node, inputs, output_storage)

    def perform_batched(self, node, inputs, output_storage):  # pragma: no cover
        raise NotImplementedError

    def infer_shape(self, node, input_shapes):
        sig = parse_signature(self.signature)
        dims: dict[str, object] = {}
        for names, shp in zip(sig.inputs, input_shapes):
            for d, s in zip(names, shp):
                if d not in dims or isinstance(s, int | np.integer):
                    dims[d] = s
        return [
            tuple(int(d) if d.isdigit() else dims[d] for d in names)
            for names in sig.outputs
        ]


ON_ERROR = ("raise", "nan")


def float_dtype(*dtypes) -> np.dtype:
    """float32 if every input is at most single precision, else float64.

    Examples
    --------
    >>> float_dtype("float32", "int8"), float_dtype("int64")
    (dtype('float32'), dtype('float64'))
    """
    dt = np.result_type(*dtypes, np.float32) if dtypes else np.dtype(np.float64)
    if dt.kind == "c":
        raise TypeError("tessera.linalg supports real inputs only")
    return np.dtype(np.float32) if dt == np.float32 else np.dtype(np.float64)


def as_float(x, dtype: np.dtype) -> np.ndarray:
    """``x`` as an array of ``dtype`` (no copy when it already is one)."""
    x = np.asarray(x)
    return x if x.dtype == dtype else x.astype(dtype)


def batch_shape(*shapes) -> tuple:
    """Broadcast batch shapes (fast when they are all equal)."""
    first = shapes[0]
    if all(s == first for s in shapes[1:]):
        return first
    return np.broadcast_shapes(*shapes)


def broadcast_batch(*arrays_and_core_ndims):
    """Broadcast the batch dims of ``(array, core_ndim)`` pairs.

    Returns the batch shape and the arrays (views where broadcast).
    """
    shapes = [a.shape[: a.ndim - nd] for a, nd in arrays_and_core_ndims]
    batch = batch_shape(*shapes)
    return batch, [
        a if s == batch else np.broadcast_to(a, batch + a.shape[a.ndim - nd :])
        for (a, nd), s in zip(arrays_and_core_ndims, shapes)
    ]


def symmetrize_from(a: np.ndarray, lower: bool) -> np.ndarray:
    """The symmetric matrix defined by one triangle of ``a``."""
    t = np.tril(a) if lower else np.triu(a)
    strict = np.tril(a, -1) if lower else np.triu(a, 1)
    return t + np.swapaxes(strict, -1, -2)


@lru_cache(maxsize=64)
def half_phi_mask(n: int, dtype) -> np.ndarray:
    """(n, n) mask: 1/2 below the diagonal, 1/4 on it, 0 above.

    ``Phi(x) / 2`` of the Cholesky pullback is ``x * half_phi_mask(n)``.
    Read-only and cached: building it costs more than an 8x8 pullback.

    Examples
    --------
    >>> half_phi_mask(2, "float64")
    array([[0.25, 0.  ],
           [0.5 , 0.25]])
    """
    mask = 0.5 * np.tril(np.ones((n, n)), -1) + 0.25 * np.eye(n)
    mask = mask.astype(dtype)
    mask.flags.writeable = False
    return mask


def op_name(op: Op) -> str:
    return type(op).__name__


def core_input(op: Op, x, ndim: int, what: str = "input"):
    """Convert ``x`` and check it has exactly the core ``ndim`` of ``op``."""
    x = as_tensor(x)
    if x.ndim != ndim:
        raise ValueError(
            f"{op_name(op)}: the core op takes a {ndim}-d {what}, got shape "
            f"{shape_str(x.type.shape)} (the tessera.linalg functions add batch dims)"
        )
    if x.dtype.startswith("complex"):
        raise TypeError(f"{op_name(op)}: complex inputs are not supported")
    return x


def check_square(name: str, x) -> None:
    """Build-time error when the trailing two static dims differ."""
    m, n = x.type.shape[-2], x.type.shape[-1]
    if m is not None and n is not None and m != n:
        raise ValueError(
            f"{name}: expected a square matrix in the last two dims, got shape "
            f"{shape_str(x.type.shape)}"
        )


def square_value(name: str, a):
    """Run-time check for dims unknown when the graph was built."""
    shp = getattr(a, "shape", ())
    if len(shp) < 2 or shp[-1] != shp[-2]:
        raise ValueError(
            f"{name}: expected square matrices in the last two dims, got shape {shp}"
        )
    return a


def check_rhs(name: str, a, b, b_ndim: int) -> None:
    """Build-time error when the rows of ``b`` cannot match ``a``."""
    m = a.type.shape[-1]
    rows = b.type.shape[-b_ndim]
    if m is not None and rows is not None and m != rows:
        hint = ""
        if b_ndim == 2 and b.type.shape[-1] == m:
            hint = " (for a batch of vectors (..., m) pass b_ndim=1)"
        raise ValueError(
            f"{name}: a of shape {shape_str(a.type.shape)} needs a right-hand side "
            f"with {m} rows, got b of shape {shape_str(b.type.shape)}{hint}"
        )


def matrix_arg(name: str, x, square: bool = False, min_ndim: int = 2):
    """Convert a public argument: at least ``min_ndim`` dims, real, maybe square."""
    x = as_tensor(x)
    if x.ndim < min_ndim:
        what = "a matrix" if min_ndim == 2 else f"at least {min_ndim} dims"
        raise ValueError(
            f"{name}: expected {what} (..., m, n), got shape {shape_str(x.type.shape)}"
        )
    if x.dtype.startswith("complex"):
        raise TypeError(f"{name}: complex inputs are not supported")
    if square:
        check_square(name, x)
    return x


def rhs_ndim(name: str, b, b_ndim: int | None) -> int:
    """Core ndim of a right-hand side: NumPy 2's rule unless given."""
    if b_ndim is None:
        return 1 if b.ndim == 1 else 2
    if b_ndim not in (1, 2):
        raise ValueError(f"{name}: b_ndim must be 1 or 2, got {b_ndim!r}")
    if b.ndim < b_ndim:
        raise ValueError(
            f"{name}: b_ndim={b_ndim} but b has shape {shape_str(b.type.shape)}"
        )
    return b_ndim


def check_on_error(name: str, on_error: str) -> str:
    if on_error not in ON_ERROR:
        raise ValueError(f"{name}: on_error must be 'raise' or 'nan', not {on_error!r}")
    return on_error


def out_type(dtype, shape) -> TensorType:
    return TensorType(np.dtype(dtype).name, shape)


def result_dtype(*xs) -> np.dtype:
    return float_dtype(*[x.dtype for x in xs])


def store(node, output_storage, *values) -> None:
    """Write kernel results, cast to the node's output dtypes."""
    for cell, var, value in zip(output_storage, node.outputs, values):
        dt = var.type.numpy_dtype
        cell[0] = value if value.dtype == dt else value.astype(dt)


# --- small graph helpers used by pullbacks (core, 2-d forms) -------------------


def mT(x):
    """Transpose of the last two dims."""
    from tessera.ops.shape import swapaxes

    return swapaxes(x, -1, -2)


def sym(x):
    """Symmetric part ``(x + x^T) / 2``."""
    return 0.5 * (x + mT(x))


def outer_or_matmul(p, q):
    """``p q^T`` for matrices (n, k), or the outer product for vectors."""
    from tessera.ops.shape import expand_dims

    if p.ndim == 1:
        return expand_dims(p, 1) * expand_dims(q, 0)
    return p @ mT(q)
