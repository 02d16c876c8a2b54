"""Linear-algebra rewrites: each fires and agrees with the unrewritten graph."""

import numpy as np
import pytest

import tessera as ts
from tessera.ops.blockwise import Blockwise
from tessera.rewrite.linalg import core_op

L = ts.linalg


def _core_names(f):
    out = []
    for n in f.fg.apply_nodes:
        op = core_op(n)
        out.append(getattr(getattr(op, "scalar_fn", None), "name", type(op).__name__))
    return out


def _spd(rng, batch, n):
    a = rng.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# name: (graph of (A, B) where A is SPD (..., 3, 3) and B is (..., 3, 2),
#        core ops that must be gone, core ops that must appear)
CASES = {
    "logdet of chol chol^T": (
        lambda a, b: ts.log(L.det(L.cholesky(a) @ L.cholesky(a).mT)),
        ["Det"],
        ["ExtractDiag"],
    ),
    "logdet of cholesky factor": (
        lambda a, b: ts.log(L.det(L.cholesky(a))),
        ["Det"],
        ["ExtractDiag"],
    ),
    "logdet general": (lambda a, b: ts.log(L.det(a)), ["Det"], ["SLogDet"]),
    "det of triangular": (lambda a, b: L.det(L.tril(a)), ["Det"], ["ExtractDiag"]),
    "det of upper (transposed factor)": (
        lambda a, b: L.det(L.cholesky(a).mT),
        ["Det"],
        ["ExtractDiag"],
    ),
    "inv @ b": (lambda a, b: L.inv(a) @ b, ["Inv", "MatMul"], ["Solve"]),
    "solve lower": (
        lambda a, b: L.solve(L.tril(a), b),
        ["Solve"],
        ["SolveTriangular"],
    ),
    "solve upper": (
        lambda a, b: L.solve(L.triu(a), b),
        ["Solve"],
        ["SolveTriangular"],
    ),
    "solve with L L^T": (
        lambda a, b: L.solve(L.cholesky(a) @ L.cholesky(a).mT, b),
        ["Solve"],
        ["CholeskySolve"],
    ),
    "two solves share one LU": (
        lambda a, b: L.solve(a, b) + L.solve(a, 2 * b),
        ["Solve"],
        ["LUFactor", "LUSolve"],
    ),
    "two pos solves share one cholesky": (
        lambda a, b: L.solve(a, b, assume_a="pos") - L.solve(a, b**2, assume_a="pos"),
        ["Solve"],
        ["Cholesky", "CholeskySolve"],
    ),
    "cholesky of diagonal": (
        lambda a, b: L.cholesky(L.diag_embed(L.diagonal(a))),
        ["Cholesky"],
        ["sqrt"],
    ),
    "trace of matmul": (
        lambda a, b: L.trace(a @ (b @ b.mT)),
        ["ExtractDiag"],
        ["mul"],
    ),
    "inv of kron": (
        lambda a, b: L.inv(L.kron(a, a[..., :2, :2])),
        [],
        ["Inv"],
    ),
    "cholesky of kron": (
        lambda a, b: L.cholesky(L.kron(a, a[..., :2, :2])),
        [],
        ["Cholesky"],
    ),
    "outer product as matmul": (
        lambda a, b: a[..., :, :1] @ b[..., :1, :],
        ["MatMul"],
        ["mul"],
    ),
    "det of kron": (
        lambda a, b: L.det(L.kron(a, a[..., :2, :2])),
        [],
        ["Det"],
    ),
    # a vector operand: one MatVec / VecMat node, not expand, matmul, squeeze
    "matrix @ vector": (
        lambda a, b: a @ ts.constant(np.arange(3.0)),
        ["MatMul", "ExpandDims", "Squeeze"],
        ["MatVec"],
    ),
    "vector @ matrix": (
        lambda a, b: ts.constant(np.arange(3.0)) @ b,
        ["MatMul", "ExpandDims", "Squeeze"],
        ["VecMat"],
    ),
    "inv @ vector": (
        lambda a, b: L.inv(a) @ ts.constant(np.arange(3.0)),
        ["Inv", "MatMul", "MatVec"],
        ["Solve"],
    ),
}


@pytest.mark.parametrize("batch", [(), (4,)])
@pytest.mark.parametrize("name", CASES)
def test_linalg_rewrite(name, batch):
    build, gone, present = CASES[name]
    rng = np.random.default_rng(0)
    av, bv = _spd(rng, batch, 3), rng.normal(size=batch + (3, 2))
    a = ts.tensor("a", shape=av.shape)
    b = ts.tensor("b", shape=bv.shape)
    out = build(a, b)
    fast = ts.function([a, b], out)
    plain = ts.function([a, b], out, rewrites="none")
    np.testing.assert_allclose(fast(av, bv), plain(av, bv), rtol=1e-9, atol=1e-12)
    names = _core_names(fast)
    for op in gone:
        assert op not in names, (name, names)
    for op in present:
        assert op in names, (name, names)


@pytest.mark.parametrize("fn", [L.inv, L.cholesky, L.det])
@pytest.mark.parametrize("batch", [(), (4,)])
def test_block_diag_by_parts(fn, batch):
    rng = np.random.default_rng(2)
    av, bv = _spd(rng, batch, 3), _spd(rng, batch, 2)
    a = ts.tensor("a", shape=av.shape)
    b = ts.tensor("b", shape=bv.shape)
    out = fn(L.block_diag(a, b))
    fast = ts.function([a, b], out)
    plain = ts.function([a, b], out, rewrites="none")
    np.testing.assert_allclose(fast(av, bv), plain(av, bv), rtol=1e-9, atol=1e-12)
    sizes = [
        n.inputs[0].type.shape[-1]
        for n in fast.fg.apply_nodes
        if type(core_op(n)).__name__ in ("Inv", "Cholesky", "Det")
    ]
    assert sizes and all(s in (2, 3) for s in sizes)


@pytest.mark.parametrize("fn", [L.inv, L.cholesky, L.det])
def test_kron_rewrites_work_on_the_factors(fn):
    # e.g. inv(kron(A, B)) inverts the 3x3 and 2x2 factors, never the 6x6
    a = ts.tensor("a", shape=(3, 3))
    f = ts.function([a], fn(L.kron(a, a[:2, :2])))
    sizes = [
        n.inputs[0].type.shape[-1]
        for n in f.fg.apply_nodes
        if type(core_op(n)).__name__ in ("Inv", "Cholesky", "Det")
    ]
    assert sizes and all(s in (2, 3) for s in sizes)


def test_matrix_vector_product_read_twice_is_not_fused():
    # fusing would compute the product twice: once fused, once for the reader
    a = ts.tensor("a", shape=(3, 3))
    v = ts.tensor("v", shape=(3,))
    col = a @ ts.expand_dims(v, 1)
    f = ts.function([a, v], [ts.squeeze(col, 1), col.sum()])
    assert "MatVec" not in _core_names(f)
    av, vv = np.arange(9.0).reshape(3, 3), np.arange(3.0)
    np.testing.assert_allclose(f(a=av, v=vv)[0], av @ vv)


def test_log_det_of_non_positive_det_keeps_semantics():
    a = ts.tensor("a", shape=(2, 2))
    f = ts.function([a], ts.log(L.det(a)))
    with np.errstate(all="ignore"):
        assert np.isnan(f(np.array([[0.0, 1.0], [1.0, 0.0]])))  # det = -1
    np.testing.assert_allclose(f(np.diag([2.0, 3.0])), np.log(6.0))


def test_blockwise_sees_through_wrapper():
    a = ts.tensor("a", shape=(5, 3, 3))
    f = ts.function([a], ts.log(L.det(a)))
    assert not any(
        isinstance(n.op, Blockwise) and type(n.op.core_op).__name__ == "Det"
        for n in f.fg.apply_nodes
    )


def test_gradient_reuses_the_forward_factorization():
    # d/dcov of log det(cov) asks for inv(cov) with on_error="nan"; the forward
    # pass already computes inv(cov) (raising), so only one inverse remains
    x = ts.tensor("x", shape=(4, 3))
    cov = ts.tensor("cov", shape=(4, 3, 3))
    quad = (x * (L.inv(cov) @ x[..., None])[..., 0]).sum()
    cost = ts.log(L.det(cov)).sum() + quad
    f = ts.function([x, cov], [cost, ts.grad(cost, cov)])
    names = _core_names(f)
    assert names.count("Inv") == 1 and "Det" not in names
    rng = np.random.default_rng(1)
    xv, cv = rng.normal(size=(4, 3)), _spd(rng, (4,), 3)
    plain = ts.function([x, cov], [cost, ts.grad(cost, cov)], rewrites="none")
    for a, b in zip(f(xv, cv), plain(xv, cv)):
        np.testing.assert_allclose(a, b, rtol=1e-9)


def test_log_det_of_large_factor_does_not_overflow():
    a = ts.tensor("a", shape=(200, 200))
    chol = L.cholesky(a)
    f = ts.function([a], ts.log(L.det(chol @ chol.mT)))
    np.testing.assert_allclose(f(100 * np.eye(200)), 200 * np.log(100.0))


def _pullback_of(build):
    from tessera.ops.blockwise import apply_core
    from tessera.ops.linalg.decomposition import CholeskyPullback

    def fn(a, b):
        c = L.cholesky(a)
        return apply_core(CholeskyPullback(), c, build(a, b))

    return fn


# cotangent of the factor -> whether its lower Triangle is dropped
TRIL_CASES = {
    "tril": (lambda a, b: L.tril(a * 2.0), True),
    "tril + diag": (lambda a, b: L.tril(a @ a) + L.diag(L.diagonal(a)), True),
    "nested sum": (lambda a, b: (L.tril(a) + a) + L.tril(a, 1), True),
    "strict tril kept": (lambda a, b: L.tril(a, -1), False),
    "upper kept": (lambda a, b: L.triu(a), False),
}


@pytest.mark.parametrize("batch", [(), (4,)])
@pytest.mark.parametrize("name", TRIL_CASES)
def test_cholesky_pullback_reads_lower(name, batch):
    build, dropped = TRIL_CASES[name]
    rng = np.random.default_rng(0)
    av = _spd(rng, batch, 3)
    a = ts.tensor("a", shape=av.shape)
    out = _pullback_of(build)(a, None)
    fast = ts.function([a], out)
    plain = ts.function([a], out, rewrites="none")
    np.testing.assert_allclose(fast(av), plain(av), rtol=1e-9, atol=1e-12)
    assert ("Triangle" not in _core_names(fast)) == dropped


def test_cholesky_pullback_keeps_a_tril_used_elsewhere():
    a = ts.tensor("a", shape=(3, 3))
    t = L.tril(a * 2.0)
    out = _pullback_of(lambda a, b: t)(a, None)
    f = ts.function([a], [out, t])
    assert "Triangle" in _core_names(f)
    av = _spd(np.random.default_rng(1), (), 3)
    g = ts.function([a], [out, t], rewrites="none")
    for x, y in zip(f(av), g(av)):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)
