"""solve, solve_triangular, cho_solve, lu_solve: values, gradients, errors."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.ops.linalg.solve import Solve, SolveTriangular

from .cases import (
    GRAD_PAIRS,
    PAIRS,
    check_grad,
    evaluate,
    general,
    per_element,
    spd,
    sym,
    triangular,
)

N = 3


def _rhs(rng, batch, b_ndim, k=2):
    return rng.standard_normal(tuple(batch) + ((N,) if b_ndim == 1 else (N, k)))


# name -> (tessera fn, reference per matrix, make a)
SOLVES = {
    "solve-gen": (
        lambda a, b, nd: ts.linalg.solve(a, b, b_ndim=nd),
        lambda a, b: sla.solve(a, b),
        lambda rng, batch: general(rng, batch, N),
    ),
    "solve-sym-lower": (
        lambda a, b, nd: ts.linalg.solve(a, b, assume_a="sym", lower=True, b_ndim=nd),
        lambda a, b: sla.solve(a, b, assume_a="sym", lower=True),
        lambda rng, batch: (
            np.tril(spd(rng, batch, N))
            + np.triu(rng.standard_normal(tuple(batch) + (N, N)), 1)
        ),
    ),
    "solve-pos-upper": (
        lambda a, b, nd: ts.linalg.solve(a, b, assume_a="pos", b_ndim=nd),
        lambda a, b: sla.solve(a, b, assume_a="pos"),
        lambda rng, batch: spd(rng, batch, N),
    ),
    "solve_triangular-lower": (
        lambda a, b, nd: ts.linalg.solve_triangular(a, b, lower=True, b_ndim=nd),
        lambda a, b: sla.solve_triangular(a, b, lower=True),
        lambda rng, batch: triangular(rng, batch, N, lower=True),
    ),
    "solve_triangular-upper-T-unit": (
        lambda a, b, nd: ts.linalg.solve_triangular(
            a, b, trans="T", unit_diagonal=True, b_ndim=nd
        ),
        lambda a, b: sla.solve_triangular(a, b, trans="T", unit_diagonal=True),
        lambda rng, batch: triangular(rng, batch, N, lower=False),
    ),
    "cho_solve-lower": (
        lambda c, b, nd: ts.linalg.cho_solve((c, True), b, b_ndim=nd),
        lambda c, b: sla.cho_solve((c, True), b),
        lambda rng, batch: np.linalg.cholesky(spd(rng, batch, N)),
    ),
    "cho_solve-upper": (
        lambda c, b, nd: ts.linalg.cho_solve((c, False), b, b_ndim=nd),
        lambda c, b: sla.cho_solve((c, False), b),
        lambda rng, batch: np.ascontiguousarray(
            np.swapaxes(np.linalg.cholesky(spd(rng, batch, N)), -1, -2)
        ),
    ),
}


@pytest.mark.parametrize("b_ndim", [1, 2])
@pytest.mark.parametrize("batches", PAIRS)
@pytest.mark.parametrize("name", list(SOLVES))
def test_solves_match_scipy_per_element(name, batches, b_ndim, rng):
    fn, ref, make = SOLVES[name]
    a, b = make(rng, batches[0]), _rhs(rng, batches[1], b_ndim)
    got = evaluate(lambda x, y: fn(x, y, b_ndim), [a, b])
    want = per_element(ref, [a, b], [2, b_ndim])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("batches", PAIRS)
def test_lu_solve_matches_scipy_per_element(batches, trans, rng):
    a = general(rng, batches[0], N)
    b = _rhs(rng, batches[1], 2)
    lu, piv = per_element(sla.lu_factor, [a], [2], n_out=2)
    got = evaluate(
        lambda x, p, y: ts.linalg.lu_solve((x, p), y, trans=trans), [lu, piv, b]
    )
    want = per_element(
        lambda x, p, y: sla.lu_solve((x, p), y, trans=trans), [lu, piv, b], [2, 1, 2]
    )
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_vector_rhs_follows_numpy2_by_default(rng):
    a, b = general(rng, (2,), N), rng.standard_normal((2, N, N))
    got = evaluate(ts.linalg.solve, [a, b])  # b is a batch of matrices
    np.testing.assert_allclose(got, np.linalg.solve(a, b))
    v = rng.standard_normal(N)
    got = evaluate(ts.linalg.solve, [a, v])  # 1-d b: a vector shared by the batch
    np.testing.assert_allclose(got, np.linalg.solve(a, v))


@pytest.mark.parametrize("static", [True, False])
def test_unknown_shapes(static, rng):
    a, b = spd(rng, (2, 3), N), rng.standard_normal((2, 3, N))
    got = evaluate(lambda x, y: ts.linalg.solve(x, y, b_ndim=1), [a, b], static=static)
    np.testing.assert_allclose(got, np.linalg.solve(a, b[..., None])[..., 0])


GRADS = {
    "solve-gen": (lambda a, b, nd: ts.linalg.solve(a, b, b_ndim=nd), "gen"),
    "solve-sym": (
        lambda a, b, nd: ts.linalg.solve(sym(a), b, assume_a="sym", b_ndim=nd),
        "spd",
    ),
    "solve-pos": (
        lambda a, b, nd: ts.linalg.solve(
            sym(a), b, assume_a="pos", lower=True, b_ndim=nd
        ),
        "spd",
    ),
    "solve_triangular-lower": (
        lambda a, b, nd: ts.linalg.solve_triangular(a, b, lower=True, b_ndim=nd),
        "lower",
    ),
    "solve_triangular-upper-T-unit": (
        lambda a, b, nd: ts.linalg.solve_triangular(
            a, b, trans=1, unit_diagonal=True, b_ndim=nd
        ),
        "upper",
    ),
    "cho_solve-lower": (
        lambda c, b, nd: ts.linalg.cho_solve((c, True), b, b_ndim=nd),
        "chol",
    ),
    "cho_solve-upper": (
        lambda c, b, nd: ts.linalg.cho_solve((c, False), b, b_ndim=nd),
        "cholT",
    ),
    "lu_solve": (
        lambda a, b, nd: ts.linalg.lu_solve(ts.linalg.lu_factor(a), b, b_ndim=nd),
        "gen",
    ),
    "lu_solve-T": (
        lambda a, b, nd: ts.linalg.lu_solve(ts.linalg.lu_factor(a), b, 1, b_ndim=nd),
        "gen",
    ),
}


def _grad_input(rng, kind, batch):
    if kind == "gen":
        return general(rng, batch, N)
    if kind == "spd":
        return spd(rng, batch, N)
    if kind in ("lower", "upper"):
        return triangular(rng, batch, N, lower=kind == "lower", junk=False)
    c = np.linalg.cholesky(spd(rng, batch, N))
    return c if kind == "chol" else np.swapaxes(c, -1, -2)


@pytest.mark.parametrize("b_ndim", [1, 2])
@pytest.mark.parametrize("batches", GRAD_PAIRS)
@pytest.mark.parametrize("name", list(GRADS))
def test_solve_gradients(name, batches, b_ndim, rng):
    fn, kind = GRADS[name]
    a = _grad_input(rng, kind, batches[0])
    b = _rhs(rng, batches[1], b_ndim, k=2)
    check_grad(lambda x, y: fn(x, y, b_ndim), [a, b])


def test_triangular_gradient_ignores_other_triangle(rng):
    # the upper triangle is never read: its gradient is exactly zero
    a = triangular(rng, (2,), N, lower=True, junk=True)
    x = ts.tensor("x", shape=a.shape)
    g = ts.grad(
        ts.linalg.solve_triangular(x, np.ones((2, N)), lower=True, b_ndim=1).sum(), x
    )
    gv = ts.function([x], g)(a)
    assert np.all(np.triu(gv, 1) == 0)
    rows, cols = np.tril_indices(N)
    assert np.all(gv[:, rows, cols] != 0)


# --- bad input -------------------------------------------------------------------


def _singular_batch(rng):
    a = general(rng, (2, 2), N)
    a[1, 0] = 0.0
    return a


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b, on_error: ts.linalg.solve(a, b, on_error=on_error),
        lambda a, b, on_error: ts.linalg.solve_triangular(a, b, on_error=on_error),
    ],
    ids=["solve", "solve_triangular"],
)
def test_singular_raises_with_batch_index_or_gives_nan(fn, rng):
    a, b = _singular_batch(rng), rng.standard_normal((2, 2, N, 2))
    with pytest.raises(
        np.linalg.LinAlgError, match=r"batch index \(1, 0\) is singular"
    ):
        evaluate(lambda x, y: fn(x, y, "raise"), [a, b])
    got = evaluate(lambda x, y: fn(x, y, "nan"), [a, b])
    assert np.isnan(got[1, 0]).all()
    good = np.ones((2, 2), bool)
    good[1, 0] = False
    assert np.isfinite(got[good]).all()
    ok = evaluate(lambda x, y: fn(x, y, "raise"), [a[0], b[0]])
    np.testing.assert_allclose(got[0], ok)


def test_pos_solve_reports_not_positive_definite(rng):
    a = spd(rng, (3,), N)
    a[2] = -a[2]
    with pytest.raises(
        np.linalg.LinAlgError, match=r"solve: matrix at batch index \(2,\)"
    ):
        evaluate(lambda x: ts.linalg.solve(x, np.ones(N), assume_a="pos"), [a])
    got = evaluate(
        lambda x: ts.linalg.solve(x, np.ones(N), assume_a="pos", on_error="nan"), [a]
    )
    assert np.isnan(got[2]).all() and np.isfinite(got[:2]).all()


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: ts.linalg.solve(ts.ones((3, 4)), ts.ones(3)),
            r"solve: .*square.*\(3, 4\)",
        ),
        (
            lambda: ts.linalg.solve(ts.ones((3, 3)), ts.ones(4)),
            r"solve: .*3 rows.*\(4,\)",
        ),
        (
            lambda: ts.linalg.solve_triangular(ts.ones((5, 2, 3)), ts.ones(3)),
            r"solve_triangular: .*square.*\(5, 2, 3\)",
        ),
        (
            lambda: ts.linalg.cho_solve((ts.ones((2, 2)), True), ts.ones((3, 1))),
            "2 rows",
        ),
        (lambda: Solve(b_ndim=3), "b_ndim"),
        (
            lambda: ts.linalg.solve(ts.ones((4, 3, 3)), ts.ones((4, 3))),
            "pass b_ndim=1",
        ),
        (
            lambda: ts.linalg.solve(ts.ones((2, 2)), ts.ones(2), on_error="x"),
            "on_error",
        ),
        (
            lambda: ts.linalg.solve(ts.ones((2, 2)), ts.ones(2), assume_a="x"),
            "assume_a",
        ),
        (
            lambda: ts.linalg.solve_triangular(ts.ones((2, 2)), ts.ones(2), trans=5),
            "trans",
        ),
        (lambda: ts.linalg.solve(ts.ones((2, 2)), ts.ones(2), b_ndim=2), "b_ndim"),
        (lambda: ts.linalg.solve(ts.ones(2), ts.ones(2)), "expected a matrix"),
        (lambda: Solve()(ts.ones((4, 2, 2)), ts.ones((2, 1))), "core op takes a 2-d"),
        (lambda: SolveTriangular(b_ndim=1)(ts.ones((2, 2)), ts.ones((2, 1))), "1-d"),
        (lambda: ts.linalg.cho_solve(ts.ones((2, 2)), ts.ones(2)), r"\(c, lower\)"),
    ],
)
def test_build_time_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_batch_mismatch_is_a_build_time_error():
    with pytest.raises(ValueError, match="batch"):
        ts.linalg.solve(ts.ones((4, 2, 2)), ts.ones((3, 2, 1)))


def test_float32_stays_float32(rng):
    a = spd(rng, (2,), N).astype(np.float32)
    b = np.ones((2, N), np.float32)
    got = evaluate(lambda x, y: ts.linalg.solve_triangular(x, y, b_ndim=1), [a, b])
    assert got.dtype == np.float32
    got = evaluate(
        lambda x, y: ts.linalg.solve(x, y, b_ndim=1), [a, b.astype(np.float64)]
    )
    assert got.dtype == np.float64
