"""Batching across the linalg family: random batch shapes (hypothesis), one
kernel call per evaluation, and vectorize over a graph mixing linalg with
elementwise ops, reductions and indexing."""

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

import tessera as ts
from tessera.ops.blockwise import Blockwise

from .cases import check_grad, evaluate, per_element, spd


@st.composite
def broadcasting_batches(draw):
    """Two batch shapes that broadcast (with size-1 dims and missing dims)."""
    ndim = draw(st.integers(0, 3))
    full = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(2):
        drop = draw(st.integers(0, ndim))
        dims = [1 if draw(st.booleans()) else d for d in full[drop:]]
        shapes.append(tuple(dims))
    return shapes


@settings(max_examples=25, deadline=None)
@given(
    batches=broadcasting_batches(), n=st.integers(1, 4), b_ndim=st.sampled_from([1, 2])
)
def test_solves_over_random_batch_shapes(batches, n, b_ndim):
    rng = np.random.default_rng(0)
    a = spd(rng, batches[0], n)
    b = rng.standard_normal(batches[1] + ((n,) if b_ndim == 1 else (n, 2)))
    chol, x, y = evaluate(
        lambda p, q: (
            ts.linalg.cholesky(p),
            ts.linalg.solve(p, q, assume_a="pos", b_ndim=b_ndim),
            ts.linalg.solve_triangular(
                ts.linalg.cholesky(p), q, lower=True, b_ndim=b_ndim
            ),
        ),
        [a, b],
    )
    if batches[0]:
        np.testing.assert_allclose(
            chol, per_element(np.linalg.cholesky, [a], [2]), atol=1e-12
        )
    want_x = per_element(
        lambda p, q: sla.solve(p, q, assume_a="pos"), [a, b], [2, b_ndim]
    )
    np.testing.assert_allclose(x, want_x, rtol=1e-9, atol=1e-12)
    want_y = per_element(
        lambda p, q: sla.solve_triangular(np.linalg.cholesky(p), q, lower=True),
        [a, b],
        [2, b_ndim],
    )
    np.testing.assert_allclose(y, want_y, rtol=1e-9, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(batches=broadcasting_batches())
def test_mvnormal_gradient_over_random_batch_shapes(batches):
    rng = np.random.default_rng(1)
    check_grad(
        _mvnormal_logp,
        [rng.standard_normal(batches[0] + (2,)), spd(rng, batches[1], 2)],
    )


def _mvnormal_logp(x, cov):
    L = ts.linalg.cholesky(0.5 * (cov + cov.mT))
    z = ts.linalg.solve_triangular(L, x, lower=True, b_ndim=1)
    logdet = ts.log(ts.linalg.diagonal(L)).sum(axis=-1)
    return -0.5 * (z * z).sum(axis=-1) - logdet


def test_vectorize_a_graph_mixing_linalg_elementwise_reductions_indexing(rng):
    def core(x, a):
        w, v = ts.linalg.eigh(a)
        top = v[:, -1]  # indexing: the leading eigenvector
        return ts.exp(-((x * top).sum() ** 2)) + ts.linalg.slogdet(a)[1] + w[0]

    batched = ts.vectorize(core, signature="(n),(n,n)->()")
    x, a = rng.standard_normal((4, 1, 3)), spd(rng, (5,), 3)
    got = evaluate(batched, [x, a])

    def ref(xv, av):
        w, v = np.linalg.eigh(av)
        return np.exp(-((xv @ v[:, -1]) ** 2)) + np.linalg.slogdet(av)[1] + w[0]

    np.testing.assert_allclose(got, per_element(ref, [x, a], [1, 2]))


OPS = {
    "cholesky": lambda a: ts.linalg.cholesky(a),
    "solve": lambda a: ts.linalg.solve(a, a),
    "solve_triangular": lambda a: ts.linalg.solve_triangular(a, a, lower=True),
    "cho_solve": lambda a: ts.linalg.cho_solve((ts.linalg.cholesky(a), True), a),
    "lu": lambda a: ts.linalg.lu_solve(ts.linalg.lu_factor(a), a),
    "inv": ts.linalg.inv,
    "pinv": ts.linalg.pinv,
    "cholesky_inverse": lambda a: ts.linalg.cholesky_inverse(ts.linalg.cholesky(a)),
    "det": ts.linalg.det,
    "slogdet": lambda a: ts.linalg.slogdet(a)[1],
    "eigh": lambda a: ts.linalg.eigh(a)[0],
    "eigvalsh": ts.linalg.eigvalsh,
    "qr": lambda a: ts.linalg.qr(a)[1],
    "svd": lambda a: ts.linalg.svd(a, full_matrices=False)[1],
    "expm": ts.linalg.expm,
    "tril": ts.linalg.tril,
    "matrix_power": lambda a: ts.linalg.matrix_power(a, 2),
}


@pytest.mark.parametrize("name", list(OPS))
def test_every_op_and_its_gradient_use_batched_kernels(name, rng, monkeypatch):
    def no_loop(*args, **kwargs):
        raise AssertionError("Blockwise fell back to a Python loop over the batch")

    monkeypatch.setattr(Blockwise, "_perform_loop", no_loop)
    a = spd(rng, (3, 2), 3)
    x = ts.tensor("x", shape=a.shape)
    y = OPS[name](x)
    f = ts.function([x], [y, ts.grad(y.sum(), x)])
    out, g = f(a)
    assert np.isfinite(out).all() and g.shape == a.shape


SHAPE_CASES = {
    "cholesky": (lambda a, b: [ts.linalg.cholesky(a)]),
    "solve": (lambda a, b: [ts.linalg.solve(a, b)]),
    "solve-vec": (lambda a, b: [ts.linalg.solve_triangular(a, b[..., 0], b_ndim=1)]),
    "lu": (lambda a, b: list(ts.linalg.lu_factor(a))),
    "lu_solve": (lambda a, b: [ts.linalg.lu_solve(ts.linalg.lu_factor(a), b)]),
    "eigh": (lambda a, b: list(ts.linalg.eigh(a))),
    "qr": (lambda a, b: list(ts.linalg.qr(b))),
    "svd": (lambda a, b: list(ts.linalg.svd(b, full_matrices=False))),
    "svd-full": (lambda a, b: list(ts.linalg.svd(b))),
    "pinv": (lambda a, b: [ts.linalg.pinv(b)]),
    "cholesky_inverse": (lambda a, b: [ts.linalg.cholesky_inverse(a, lower=False)]),
    "slogdet": (lambda a, b: list(ts.linalg.slogdet(a))),
    "diagonal": (lambda a, b: [ts.linalg.diagonal(b, 1), ts.linalg.diagonal(b, -1)]),
    "diag_embed": (lambda a, b: [ts.linalg.diag_embed(b[..., 0], 1)]),
    "kron": (lambda a, b: [ts.linalg.kron(a, b)]),
}


@pytest.mark.parametrize("name", list(SHAPE_CASES))
def test_output_shapes_are_known_without_computing_the_op(name, rng):
    from tessera.ops.linalg._base import LinalgOp

    a, b = spd(rng, (2, 1), 3), rng.standard_normal((3, 3, 2))
    x = ts.tensor("x", shape=(None,) * 4)
    y = ts.tensor("y", shape=(None,) * 3)
    outs = SHAPE_CASES[name](x, y)
    shapes = ts.function([x, y], [o.shape for o in outs])
    ops = [n.op for n in shapes.fg.toposort()]
    assert not any(
        isinstance(op, LinalgOp) or isinstance(getattr(op, "core_op", None), LinalgOp)
        for op in ops
    ), ops
    values = ts.function([x, y], outs)(a, b)
    for got, v in zip(shapes(a, b), values):
        assert tuple(got) == v.shape


SECOND_ORDER = {
    "mvnormal": lambda c: ts.grad(_mvnormal_logp(np.ones((2, 3)), c).sum(), c),
    "eigh": lambda a: ts.grad((ts.linalg.eigh(0.5 * (a + a.mT))[0] ** 2).sum(), a),
    "slogdet": lambda a: ts.grad(ts.linalg.slogdet(a)[1].sum(), a),
    "expm": lambda a: ts.grad((ts.linalg.expm(0.3 * a) ** 2).sum(), a),
    "qr": lambda a: ts.grad((ts.linalg.qr(a)[1] ** 2).sum(), a),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_order_gradients(name, rng):
    # pullbacks are graphs of differentiable ops: gradients of gradients work
    check_grad(SECOND_ORDER[name], [spd(rng, (2,), 3)])
