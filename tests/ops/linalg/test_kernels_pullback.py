"""The fused Cholesky pullback: kernel paths, op, gradients, both backends."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.ops.blockwise import apply_core
from tessera.ops.linalg import _kernels_pullback as KP
from tessera.ops.linalg.decomposition import CholeskyPullback
from tessera.testing import compare_backends

from .cases import check_grad, evaluate, per_element, spd, sym, triangular

F64 = np.dtype(np.float64)


def _reference(c, g):
    """abar = S + S^T, S = c^-T Phi(c^T g) c^-1 / 2, per matrix with SciPy."""

    def one(c, g):
        c = np.tril(c)
        p = np.tril(c.T @ np.tril(g)) * (
            0.5 * np.tril(np.ones(c.shape), -1) + 0.25 * np.eye(len(c))
        )
        y = sla.solve_triangular(c, p, lower=True, trans=1)
        s = sla.solve_triangular(c, y.T, lower=True, trans=1).T
        return s + s.T

    return per_element(one, [c, g], [2, 2])


def _factor_and_cotangent(rng, batch_c, batch_g, n):
    # junk above the diagonal of both: the kernel must read lower triangles only
    c = triangular(rng, batch_c, n, lower=True, junk=True)
    g = rng.standard_normal(tuple(batch_g) + (n, n))
    return c, g


@pytest.mark.parametrize("path", ["batched", "loop"])
@pytest.mark.parametrize(
    "batch_c, batch_g, n",
    [((), (), 5), ((7,), (7,), 4), ((2, 3), (2, 3), 6), ((2, 1), (1, 3), 3)],
)
def test_kernel_paths_match_scipy(path, batch_c, batch_g, n, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, n)
    want = _reference(c, g)
    if path == "batched":
        got = KP._cholesky_pullback_batched(*np.broadcast_arrays(c, g), F64)
    else:
        got = KP._cholesky_pullback_loop(c, g, F64)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch, n", [((256,), 4), ((3,), 40), ((), 1), ((2,), 0)])
def test_kernel_choice_and_edge_sizes(batch, n, rng):
    c, g = _factor_and_cotangent(rng, batch, batch, n)
    got = KP.cholesky_pullback(c, g, F64)
    assert got.shape == batch + (n, n)
    if n:
        np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)


def test_float32_and_non_contiguous_inputs(rng):
    c, g = _factor_and_cotangent(rng, (5,), (5,), 30)
    want = _reference(c, g)
    got = KP.cholesky_pullback(
        np.asfortranarray(c.astype(np.float32)),
        np.ascontiguousarray(g.swapaxes(-1, -2)).swapaxes(-1, -2),
        np.float32,
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "batch_c, batch_g, n", [((), (), 112), ((2,), (2,), 150), ((2, 1), (1, 2), 129)]
)
def test_blocked_pullback_matches_scipy(batch_c, batch_g, n, rng):
    # from BLOCKED_MIN_N on, every matrix goes the blocked reverse-mode way
    assert n >= KP.BLOCKED_MIN_N
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, n)
    got = KP.cholesky_pullback(c, g, F64)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-9, atol=1e-11)
    one = KP.cholesky_pullback_one(c[(0,) * len(batch_c)], g[(0,) * len(batch_g)], F64)
    np.testing.assert_allclose(one, got[(0,) * len(got.shape[:-2])], rtol=1e-12)
    # float32, a Fortran-ordered factor and a transposed cotangent
    got32 = KP.cholesky_pullback(
        np.asfortranarray(c.astype(np.float32)),
        np.ascontiguousarray(g.swapaxes(-1, -2)).swapaxes(-1, -2).astype(np.float32),
        np.float32,
    )
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, got, rtol=2e-3, atol=2e-3 * abs(got).max())


@pytest.fixture
def small_blocks(monkeypatch):
    # blocks of at most 4 from n = 5 on: uneven splits and many block steps
    monkeypatch.setattr(KP, "BLOCK", 4)
    monkeypatch.setattr(KP, "BLOCKED_MIN_N", 5)


@pytest.mark.parametrize("n", [5, 9, 13])
def test_blocked_pullback_with_small_blocks(small_blocks, n, rng):
    c, g = _factor_and_cotangent(rng, (3,), (3,), n)
    got = KP._cholesky_pullback_loop(c, g, F64)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)


def test_blocked_pullback_gradient(small_blocks, rng):
    # the op's own pullback (second order) over the blocked kernel
    c, g = _factor_and_cotangent(rng, (2,), (2,), 7)
    check_grad(_pullback, [c, g])


@pytest.mark.parametrize("batch", [(6,), (2, 3)])
def test_triangular_inverse(batch, rng):
    c = triangular(rng, batch, 5, lower=True, junk=True)
    got = KP.tri_inv_lower(c)
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, np.linalg.inv(np.tril(c)), rtol=1e-12, atol=1e-12)


def _pullback(c, g):
    return apply_core(CholeskyPullback(), c, g)


@pytest.mark.parametrize(
    "batch_c, batch_g", [((), ()), ((4,), (4,)), ((2, 3), (2, 3)), ((2, 1), (1, 3))]
)
def test_op_values_and_gradient(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 3)
    got = evaluate(_pullback, [c, g])
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)
    check_grad(_pullback, [c, g])


def test_op_with_unknown_shapes_and_errors(rng):
    c, g = _factor_and_cotangent(rng, (3,), (3,), 4)
    got = evaluate(_pullback, [c, g], static=False)
    np.testing.assert_allclose(got, _reference(c, g), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="cholesky pullback"):
        CholeskyPullback()(ts.tensor("c", shape=(3, 3)), ts.tensor("g", shape=(4, 4)))
    with pytest.raises(ValueError, match="cholesky pullback"):
        evaluate(_pullback, [c, g[..., :3, :3]], static=False)


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_is_one_fused_op(lower):
    x = ts.tensor("x", shape=(4, 3, 3))
    g = ts.grad((ts.linalg.cholesky(x, lower=lower) ** 2).sum(), x)
    f = ts.function([x], g)
    names = [type(getattr(n.op, "core_op", n.op)).__name__ for n in f.fg.toposort()]
    assert names.count("CholeskyPullback") == 1
    assert "SolveTriangular" not in names


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_second_order(lower, rng):
    # the pullback of CholeskyPullback, through a hessian-vector product
    a = spd(rng, (2,), 4)
    w = rng.standard_normal(a.shape)

    def fn(x):
        x = sym(x)
        gx = ts.grad((ts.linalg.cholesky(x, lower=lower) * w).sum() ** 2, x)
        return (gx * w).sum()

    check_grad(fn, [a])


@pytest.mark.parametrize("batch, n", [((), 3), ((4096,), 3), ((3,), 30), ((2, 1), 4)])
def test_backends_agree(batch, n, rng):
    # both NumPy kernel paths (batched, per matrix) against the JAX lowering
    c, g = _factor_and_cotangent(rng, batch, batch, n)
    compare_backends(_pullback, [c, g], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_backends_agree(lower, rng):
    a = spd(rng, (3,), 5)
    compare_backends(
        lambda x: ts.linalg.cholesky(sym(x), lower=lower), [a], rtol=1e-8, atol=1e-10
    )


@pytest.mark.parametrize(
    "batch_c, batch_g", [((), (3,)), ((3,), ()), ((1,), (1, 1)), ((1, 1), ())]
)
def test_single_matrix_broadcast_against_a_batch(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 4)
    got = KP.cholesky_pullback(c, g, F64)
    want = _reference(c, g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_c, batch_g", [((), ()), ((1,), (1, 1)), ((1, 1), ())])
def test_single_matrix_path(batch_c, batch_g, rng):
    c, g = _factor_and_cotangent(rng, batch_c, batch_g, 5)
    got = KP.cholesky_pullback_one(c, g, F64)
    want = _reference(c, g)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # anything else goes the general way
    assert KP.cholesky_pullback_one(c.astype(np.float32), g, F64) is None
    assert KP.cholesky_pullback_one(np.stack([c, c]), g, F64) is None
    assert KP.cholesky_pullback_one(c, g[..., :4, :4], F64) is None
