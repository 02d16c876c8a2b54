"""JAX lowerings of :mod:`tessera.ops.linalg`.

Every kernel here handles leading batch dims, so each lowering serves both
the core op and ``Blockwise(core_op)`` (registered with
:func:`~tessera.compile.backends.jax.blockwise.jax_batched`): a batch of
matrices is one call to a batched XLA / LAPACK kernel.

Semantics follow the NumPy backend: factorizations read only the triangle
they are told to (no symmetrization); ``on_error="raise"`` raises
``numpy.linalg.LinAlgError`` after the call when a matrix of the batch fails
(JAX kernels return NaN or inf instead of raising; see
:func:`~tessera.compile.backends.jax.dispatch.runtime_check`), and
``on_error="nan"`` fills the failed matrices with NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from numpy.linalg import LinAlgError

from tessera.compile.backends.jax.blockwise import jax_batched
from tessera.compile.backends.jax.dispatch import (
    jax_funcify,
    runtime_check,
    static_inputs,
)
from tessera.ops.linalg._kernels_pullback import half_phi_mask
from tessera.ops.linalg.decomposition import (
    QR,
    Cholesky,
    CholeskyPullback,
    LUFactor,
    PermutationMatrix,
    is_cholesky_factor,
)
from tessera.ops.linalg.determinant import Det, SLogDet
from tessera.ops.linalg.expm import Expm
from tessera.ops.linalg.inverse import CholeskyInverse, Inv, Pinv
from tessera.ops.linalg.solve import CholeskySolve, LUSolve, Solve, SolveTriangular
from tessera.ops.linalg.spectral import SVD, Eigh, Eigvalsh
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag, Triangle

_lax = jax.lax.linalg


def _register(*op_classes):
    """Register a batched lowering for the core ops and their Blockwise."""

    def deco(fn):
        for cls in op_classes:
            jax_funcify.register(cls)(fn)
            jax_batched.register(cls)(fn)
        return fn

    return deco


def _mT(x):
    return jnp.swapaxes(x, -1, -2)


def _broadcast_batch(*pairs):
    """Broadcast the batch dims of ``(array, core_ndim)`` pairs."""
    arrays = [jnp.asarray(a) for a, _ in pairs]
    batch = jnp.broadcast_shapes(
        *[a.shape[: a.ndim - nd] for a, (_, nd) in zip(arrays, pairs)]
    )
    return [
        jnp.broadcast_to(a, batch + a.shape[a.ndim - nd :])
        for a, (_, nd) in zip(arrays, pairs)
    ]


def _failures(out, op: str, what: str, on_error: str, bad=None):
    """Apply ``on_error`` to the matrices of ``out`` (..., m, n) that are not
    finite, or to those flagged in ``bad`` (batch shape) when given."""
    if bad is None:
        bad = ~jnp.all(jnp.isfinite(out), axis=(-2, -1))
    if on_error == "raise":
        runtime_check(~bad, LinAlgError(f"{op}: a matrix of the batch is {what}"))
        return out
    return jnp.where(bad[..., None, None], jnp.nan, out)


def _as_matrix_rhs(op, kernel: Callable) -> Callable:
    """Call ``kernel(..., b2)`` with ``b`` as a matrix, like ``_RHSOp._run``."""
    if op.b_ndim == 2:
        return kernel

    def run(*args):
        *mats, b = args
        return kernel(*mats, jnp.asarray(b)[..., None])[..., 0]

    return run


def _trsolve(a, b, lower: bool, trans: int = 0, unit: bool = False):
    a, b = _broadcast_batch((a, 2), (b, 2))
    return _lax.triangular_solve(
        a,
        b,
        left_side=True,
        lower=lower,
        transpose_a=bool(trans),
        unit_diagonal=unit,
    )


def _cholesky(a, lower: bool):
    # lax reads the lower triangle; the upper factor is the transposed lower
    # factor of the transposed matrix
    if lower:
        return _lax.cholesky(a, symmetrize_input=False)
    return _mT(_lax.cholesky(_mT(a), symmetrize_input=False))


def _cho_solve(c, b, lower: bool):
    if lower:
        return _trsolve(c, _trsolve(c, b, True), True, trans=1)
    return _trsolve(c, _trsolve(c, b, False, trans=1), False)


def _symmetrize_from(a, lower: bool):
    t = jnp.tril(a) if lower else jnp.triu(a)
    strict = jnp.tril(a, -1) if lower else jnp.triu(a, 1)
    return t + _mT(strict)


def _dtype(node):
    return node.outputs[0].type.numpy_dtype


@_register(Cholesky)
def _funcify_cholesky(op: Cholesky, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        out = _cholesky(jnp.asarray(a, dt), op.lower)
        # a failed factorization is NaN throughout: its diagonal tells, at a
        # 1/n of the cost of checking every entry
        finite = jnp.isfinite(jnp.diagonal(out, axis1=-2, axis2=-1))
        if op.on_error == "raise":
            # one reduction over the whole batch: per-matrix flags, reduced
            # again by the linker, cost XLA several more small kernels
            runtime_check(
                jnp.all(finite),
                LinAlgError("cholesky: a matrix of the batch is not positive definite"),
            )
            return out
        bad = ~jnp.all(finite, axis=-1)
        return _failures(out, "cholesky", "not positive definite", op.on_error, bad)

    return run


#: Pullbacks of at most this many matrix entries (batch included) form
#: ``c^T g`` by two triangular solves instead of a matrix product, on CPU.
#: XLA:CPU runs a program of under 1000 flops (by its cost model, which
#: counts a LAPACK call as none) inline on the calling thread instead of
#: handing it to a worker: 25-30 us saved per call, when a product of two
#: 8x8 matrices alone counts 1024. Two 8x8 solves cost a microsecond or two
#: more than the product, and are as accurate: both agree with an
#: extended-precision reference to ~1e-15 up to cond(a) = 1e14. Elsewhere
#: (GPUs) the product stays: each solve is a kernel launch there.
TINY_PULLBACK_ENTRIES = 64


def _ct_times(c, g, m: int, dt):
    """``tril(c)^T @ g`` for lower triangular ``c`` (..., m, m)."""
    if math.prod(c.shape[:-2]) * m * m > TINY_PULLBACK_ENTRIES:
        return _mT(jnp.tril(c)) @ g

    def solves(c, g):
        # (c^-1)^T x = g  <=>  x = c^T g
        eye = jnp.broadcast_to(jnp.eye(m, dtype=dt), c.shape)
        inv = _lax.triangular_solve(c, eye, left_side=True, lower=True)
        return _lax.triangular_solve(
            inv, g, left_side=True, lower=True, transpose_a=True
        )

    return jax.lax.platform_dependent(
        c, g, cpu=solves, default=lambda c, g: _mT(jnp.tril(c)) @ g
    )


@_register(CholeskyPullback)
def _funcify_cholesky_pullback(op: CholeskyPullback, node) -> Callable:
    dt = _dtype(node)

    def run(c, g):
        c, g = _broadcast_batch((jnp.asarray(c, dt), 2), (jnp.asarray(g, dt), 2))
        m = c.shape[-1]
        p = _ct_times(c, g, m, dt) * half_phi_mask(m, dt)
        # c^{-T} P, then (..) c^{-1} as a right-side solve: no transposes
        y = _lax.triangular_solve(c, p, left_side=True, lower=True, transpose_a=True)
        s = _lax.triangular_solve(c, y, left_side=False, lower=True)
        return s + _mT(s)

    return run


@_register(Solve)
def _funcify_solve(op: Solve, node) -> Callable:
    dt = _dtype(node)

    def kernel(a, b):
        a, b = jnp.asarray(a, dt), jnp.asarray(b, dt)
        if op.assume_a == "pos":
            c = _failures(
                _cholesky(a, op.lower), "solve", "not positive definite", op.on_error
            )
            return _cho_solve(c, b, op.lower)
        if op.assume_a == "sym":
            a = _symmetrize_from(a, op.lower)
        a, b = _broadcast_batch((a, 2), (b, 2))
        return _failures(jnp.linalg.solve(a, b), "solve", "singular", op.on_error)

    return _as_matrix_rhs(op, kernel)


@_register(SolveTriangular)
def _funcify_solve_triangular(op: SolveTriangular, node) -> Callable:
    dt = _dtype(node)

    # nothing to check on a unit diagonal, nor on a Cholesky factor's
    unchecked = op.unit_diagonal or is_cholesky_factor(node.inputs[0])

    def kernel(a, b):
        a = jnp.asarray(a, dt)
        x = _trsolve(a, jnp.asarray(b, dt), op.lower, op.trans, op.unit_diagonal)
        if unchecked:
            return x
        # singular means a zero on the diagonal, as in the NumPy kernel: a
        # check on the n diagonal entries, shared by every solve with `a`
        zero = jnp.any(jnp.diagonal(a, axis1=-2, axis2=-1) == 0, axis=-1)
        bad = jnp.broadcast_to(zero, x.shape[:-2])
        return _failures(x, "solve_triangular", "singular", op.on_error, bad)

    return _as_matrix_rhs(op, kernel)


@_register(CholeskySolve)
def _funcify_cho_solve(op: CholeskySolve, node) -> Callable:
    dt = _dtype(node)

    def kernel(c, b):
        return _cho_solve(jnp.asarray(c, dt), jnp.asarray(b, dt), op.lower)

    return _as_matrix_rhs(op, kernel)


@_register(LUFactor)
def _funcify_lu_factor(op: LUFactor, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        lu, piv, _ = _lax.lu(jnp.asarray(a, dt))
        return lu, piv.astype(jnp.int32)

    return run


def _permutation(piv):
    return _lax.lu_pivots_to_permutation(
        jnp.asarray(piv, jnp.int32), jnp.shape(piv)[-1]
    )


@_register(LUSolve)
def _funcify_lu_solve(op: LUSolve, node) -> Callable:
    dt = _dtype(node)

    def kernel(lu, piv, b):
        lu, b = jnp.asarray(lu, dt), jnp.asarray(b, dt)
        lu, piv, b = _broadcast_batch((lu, 2), (piv, 1), (b, 2))
        perm = _permutation(piv)
        if op.trans == 0:
            # a[perm] = L U
            bp = jnp.take_along_axis(b, perm[..., None], axis=-2)
            y = _trsolve(lu, bp, True, unit=True)
            return _trsolve(lu, y, False)
        z = _trsolve(lu, b, False, trans=1)
        w = _trsolve(lu, z, True, trans=1, unit=True)
        return jnp.take_along_axis(w, jnp.argsort(perm, axis=-1)[..., None], axis=-2)

    return _as_matrix_rhs(op, kernel)


@_register(PermutationMatrix)
def _funcify_permutation_matrix(op: PermutationMatrix, node) -> Callable:
    dt = _dtype(node)

    def run(piv):
        perm = _permutation(piv)
        n = perm.shape[-1]
        return (perm[..., None, :] == jnp.arange(n)[:, None]).astype(dt)

    return run


def _check_tall(a, wide: bool, name: str):
    m, n = jnp.shape(a)[-2:]
    if m < n and not wide:
        raise ValueError(
            f"{name}: the graph was built for matrices with m >= n (the shape was "
            f"unknown), got {m}x{n}; give the input a static shape"
        )


@_register(QR)
def _funcify_qr(op: QR, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        if op.mode != "complete":
            _check_tall(a, op.wide, "qr")
        return jnp.linalg.qr(jnp.asarray(a, dt), mode=op.mode)

    if op.mode == "r":
        return run
    return lambda a: tuple(run(a))


@_register(Det)
def _funcify_det(op: Det, node) -> Callable:
    dt = _dtype(node)
    return lambda a: jnp.linalg.det(jnp.asarray(a, dt))


@_register(SLogDet)
def _funcify_slogdet(op: SLogDet, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        sign, logabsdet = jnp.linalg.slogdet(jnp.asarray(a, dt))
        return sign, logabsdet

    return run


@_register(Expm)
def _funcify_expm(op: Expm, node) -> Callable:
    dt = _dtype(node)
    return lambda a: jsl.expm(jnp.asarray(a, dt))


@_register(Inv)
def _funcify_inv(op: Inv, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        out = jnp.linalg.inv(jnp.asarray(a, dt))
        return _failures(out, "inv", "singular", op.on_error)

    return run


@_register(CholeskyInverse)
def _funcify_cholesky_inverse(op: CholeskyInverse, node) -> Callable:
    dt = _dtype(node)
    # a Cholesky factor has no zero on its diagonal: nothing to check
    unchecked = is_cholesky_factor(node.inputs[0])

    def run(c):
        c = jnp.asarray(c, dt)
        t = c if op.lower else _mT(c)
        eye = jnp.broadcast_to(jnp.eye(t.shape[-1], dtype=dt), t.shape)
        k = _lax.triangular_solve(t, eye, left_side=True, lower=True)  # t^{-1}
        out = _mT(k) @ k
        if unchecked:
            return out
        zero = jnp.any(jnp.diagonal(t, axis1=-2, axis2=-1) == 0, axis=-1)
        return _failures(out, "cholesky_inverse", "singular", op.on_error, zero)

    return run


@_register(Pinv)
def _funcify_pinv(op: Pinv, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        # through the SVD with NumPy's cutoff, so both backends zero the same
        # singular values
        a = jnp.asarray(a, dt)
        m, n = a.shape[-2:]
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        rtol = op.rtol if op.rtol is not None else max(m, n) * np.finfo(dt).eps
        cutoff = rtol * jnp.max(s, axis=-1, keepdims=True, initial=0.0)
        s_inv = jnp.where(s > cutoff, 1.0 / jnp.where(s > cutoff, s, 1.0), 0.0)
        return jnp.matmul(_mT(vh) * s_inv[..., None, :], _mT(u), precision="highest")

    return run


@_register(Eigh)
def _funcify_eigh(op: Eigh, node) -> Callable:
    dt = _dtype(node)
    uplo = "L" if op.lower else "U"

    def run(a):
        w, v = jnp.linalg.eigh(jnp.asarray(a, dt), UPLO=uplo, symmetrize_input=False)
        return w, v

    return run


@_register(Eigvalsh)
def _funcify_eigvalsh(op: Eigvalsh, node) -> Callable:
    dt = _dtype(node)
    uplo = "L" if op.lower else "U"

    def run(a):
        return jnp.linalg.eigh(jnp.asarray(a, dt), UPLO=uplo, symmetrize_input=False)[0]

    return run


@_register(SVD)
def _funcify_svd(op: SVD, node) -> Callable:
    dt = _dtype(node)

    def run(a):
        _check_tall(a, op.wide, "svd")
        res = jnp.linalg.svd(
            jnp.asarray(a, dt),
            full_matrices=op.full_matrices,
            compute_uv=op.compute_uv,
        )
        return tuple(res) if op.compute_uv else res

    return run


@_register(Triangle)
def _funcify_triangle(op: Triangle, node) -> Callable:
    fn = jnp.tril if op.lower else jnp.triu
    k = op.k
    return lambda x: fn(x, k)


@jax_funcify.register(ExtractDiag)
def _funcify_extract_diag(op: ExtractDiag, node) -> Callable:
    offset = op.offset
    return lambda x: jnp.diagonal(x, offset, axis1=-2, axis2=-1)


@jax_funcify.register(AllocDiag)
def _funcify_alloc_diag(op: AllocDiag, node) -> Callable:
    offset = op.offset
    dt = _dtype(node)

    def run(v, m, n):
        # a select against a static mask rather than a scatter into zeros:
        # XLA fuses it into the consumer, where the scatter wrote (and the
        # consumer read back) a whole batch of matrices
        v = jnp.asarray(v, dt)
        m, n = int(m), int(n)
        k = v.shape[-1]
        rows, cols = np.arange(m)[:, None], np.arange(n)[None, :]
        mask = cols - rows == offset
        # entry (r, c) of the diagonal holds v[r] (offset >= 0) or v[c]
        length = m if offset >= 0 else n
        if k < length:
            v = jnp.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, length - k)])
        vv = v[..., :, None] if offset >= 0 else v[..., None, :]
        return jnp.where(mask, vv, jnp.zeros((), dt))

    return static_inputs(run, 1, 2)
