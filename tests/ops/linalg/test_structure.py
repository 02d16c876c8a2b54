"""tril/triu, diagonal, diag, diag_embed, trace, kron, block_diag, matrix_power."""

import numpy as np
import pytest
import scipy.linalg as sla

import tessera as ts
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag

from .cases import BATCHES, GRAD_PAIRS, PAIRS, check_grad, evaluate, per_element

UNARY = {
    "tril": (lambda x: ts.linalg.tril(x), np.tril, (3, 4)),
    "tril-1": (lambda x: ts.linalg.tril(x, -1), lambda m: np.tril(m, -1), (3, 4)),
    "triu+1": (lambda x: ts.linalg.triu(x, 1), lambda m: np.triu(m, 1), (4, 3)),
    "diagonal": (ts.linalg.diagonal, np.diagonal, (3, 4)),
    "diagonal+1": (
        lambda x: ts.linalg.diagonal(x, 1),
        lambda m: np.diagonal(m, 1),
        (3, 4),
    ),
    "diagonal-2": (
        lambda x: ts.linalg.diagonal(x, -2),
        lambda m: np.diagonal(m, -2),
        (4, 3),
    ),
    "trace": (ts.linalg.trace, np.trace, (3, 3)),
    "trace+1": (lambda x: ts.linalg.trace(x, 1), lambda m: np.trace(m, 1), (3, 4)),
    "matrix_power3": (
        lambda x: ts.linalg.matrix_power(x, 3),
        lambda m: np.linalg.matrix_power(m, 3),
        (3, 3),
    ),
    "matrix_power0": (
        lambda x: ts.linalg.matrix_power(x, 0),
        lambda m: np.linalg.matrix_power(m, 0),
        (3, 3),
    ),
    "matrix_power-2": (
        lambda x: ts.linalg.matrix_power(x, -2),
        lambda m: np.linalg.matrix_power(m, -2),
        (3, 3),
    ),
}


def _matrix(rng, batch, shape):
    x = rng.standard_normal(tuple(batch) + shape)
    if shape[0] == shape[1]:
        x = x / 2 + 2 * np.eye(shape[0])  # invertible for negative powers
    return x


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_match_numpy_per_element(name, batch, static, rng):
    fn, ref, shape = UNARY[name]
    a = _matrix(rng, batch, shape)
    got = evaluate(fn, [a], static=static)
    np.testing.assert_allclose(got, per_element(ref, [a], [2]), rtol=1e-10)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", [n for n in UNARY if n != "matrix_power0"])
def test_unary_gradients(name, batch, rng):
    fn, _, shape = UNARY[name]
    check_grad(fn, [_matrix(rng, batch, shape)])


@pytest.mark.parametrize("k", [0, 1, -2])
@pytest.mark.parametrize("batch", BATCHES)
def test_diag_embed(batch, k, rng):
    v = rng.standard_normal(tuple(batch) + (3,))
    got = evaluate(lambda x: ts.linalg.diag_embed(x, k), [v])
    np.testing.assert_allclose(got, per_element(lambda u: np.diag(u, k), [v], [1]))
    check_grad(lambda x: ts.linalg.diag_embed(x, k), [v])


@pytest.mark.parametrize("k", [0, 1, -1])
def test_diag_is_numpy_diag(k, rng):
    v, m = rng.standard_normal(3), rng.standard_normal((3, 4))
    np.testing.assert_allclose(
        evaluate(lambda x: ts.linalg.diag(x, k), [v]), np.diag(v, k)
    )
    np.testing.assert_allclose(
        evaluate(lambda x: ts.linalg.diag(x, k), [m]), np.diag(m, k)
    )
    with pytest.raises(ValueError, match="diag_embed"):
        ts.linalg.diag(ts.ones((2, 2, 2)))


def _batched_kron(a, b):
    return per_element(np.kron, [a, b], [2, 2])


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("batches", PAIRS)
def test_kron_and_block_diag_match_per_element(batches, static, rng):
    a = rng.standard_normal(tuple(batches[0]) + (2, 3))
    b = rng.standard_normal(tuple(batches[1]) + (3, 2))
    got = evaluate(ts.linalg.kron, [a, b], static=static)
    np.testing.assert_allclose(got, _batched_kron(a, b))
    got = evaluate(ts.linalg.block_diag, [a, b], static=static)
    np.testing.assert_allclose(got, per_element(sla.block_diag, [a, b], [2, 2]))


@pytest.mark.parametrize("batches", GRAD_PAIRS)
def test_kron_and_block_diag_gradients(batches, rng):
    a = rng.standard_normal(tuple(batches[0]) + (2, 3))
    b = rng.standard_normal(tuple(batches[1]) + (1, 2))
    check_grad(ts.linalg.kron, [a, b])
    check_grad(ts.linalg.block_diag, [a, b])


def test_block_diag_of_three_with_mixed_dtypes(rng):
    a, b, c = np.ones((1, 1), np.float32), np.ones((2, 2)), np.arange(2.0).reshape(1, 2)
    got = evaluate(ts.linalg.block_diag, [a, b, c])
    np.testing.assert_allclose(got, sla.block_diag(a, b, c))
    assert got.dtype == np.float64


def test_triangle_keeps_integer_dtype():
    m = np.arange(9).reshape(3, 3)
    got = evaluate(ts.linalg.tril, [m])
    np.testing.assert_array_equal(got, np.tril(m))
    assert got.dtype == m.dtype


def test_static_shapes_of_diagonals():
    x = ts.tensor("x", shape=(5, 3, 4))
    assert ts.linalg.diagonal(x, 1).type.shape == (5, 3)
    assert ts.linalg.diagonal(x, -2).type.shape == (5, 1)
    assert ts.linalg.diagonal(x, 7).type.shape == (5, 0)
    assert ts.linalg.diag_embed(ts.tensor("v", shape=(2, 3)), 1).type.shape == (2, 4, 4)


def test_vectorize_of_diagonal_ops(rng):
    x = ts.tensor("x", shape=(3, 3))
    xb = ts.tensor("xb", shape=(4, 3, 3))
    y = ts.linalg.diag_embed(ts.linalg.diagonal(x)) + ts.linalg.tril(x)
    yb = ts.vectorize_graph(y, {x: xb})
    a = rng.standard_normal((4, 3, 3))
    want = np.tril(a) + np.eye(3) * np.diagonal(a, axis1=-2, axis2=-1)[..., None, :]
    np.testing.assert_allclose(ts.function([xb], yb)(a), want)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ts.linalg.tril(ts.ones(3)), "expected a matrix"),
        (lambda: ts.linalg.kron(ts.ones(3), ts.ones((2, 2))), "expected a matrix"),
        (lambda: ts.linalg.block_diag(), "at least one"),
        (
            lambda: ts.linalg.block_diag(ts.ones((2, 1, 1)), ts.ones((3, 1, 1))),
            "broadcast",
        ),
        (lambda: ts.linalg.matrix_power(ts.ones((2, 2)), 1.5), "int"),
        (lambda: AllocDiag(0)(ts.ones(3), 2, 2), "does not fit"),
        (lambda: ExtractDiag(0)(ts.ones(3)), "expected a matrix"),
    ],
)
def test_build_time_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
