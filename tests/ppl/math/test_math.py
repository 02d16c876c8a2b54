"""ppl.math: each helper against NumPy/SciPy, and verify_grad on the smooth ones."""

from functools import reduce

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.special as sp

import tessera as ts
from tessera.ppl import math as pmath
from tessera.testing import verify_grad

RNG = np.random.default_rng(0)
V = np.array([-1.3, -0.2, 0.4, 2.1])
P = np.array([0.05, 0.3, 0.6, 0.97])
NEG = np.array([-3.0, -0.9, -0.5, -1e-3])  # log1mexp on both sides of -log 2
POS = np.array([0.3, 1.2, 2.5, 4.0])
BIG = np.array([1.1, 1.5, 3.0, 10.0])
UNIT = np.array([-0.8, -0.1, 0.3, 0.9])
M = RNG.normal(size=(2, 3, 4))
A = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
L1 = np.array([[1.5, 0.0], [0.4, 2.0]])
L2 = np.array([[1.0, 0.0, 0.0], [0.3, 0.7, 0.0], [-0.2, 0.5, 1.2]])


def _kron_np(ms):
    return reduce(np.kron, ms)


def _logsm(x, axis):
    return x - sp.logsumexp(x, axis=axis, keepdims=True)


# name, tessera function, NumPy/SciPy reference, inputs, check gradient
CASES = [
    ("exp", pmath.exp, np.exp, [V], True),
    ("log", pmath.log, np.log, [POS], True),
    ("sqrt", pmath.sqrt, np.sqrt, [POS], True),
    ("sqr", pmath.sqr, np.square, [V], True),
    ("abs", pmath.abs, np.abs, [V], True),
    ("sgn", pmath.sgn, np.sign, [V], False),
    ("floor", pmath.floor, np.floor, [V], False),
    ("ceil", pmath.ceil, np.ceil, [V], False),
    (
        "clip",
        lambda x: pmath.clip(x, -0.5, 1.0),
        lambda x: np.clip(x, -0.5, 1),
        [V],
        False,
    ),
    ("maximum", pmath.maximum, np.maximum, [V, V[::-1].copy()], False),
    ("minimum", pmath.minimum, np.minimum, [V, V[::-1].copy()], False),
    ("sum", lambda x: pmath.sum(x, axis=1), lambda x: x.sum(1), [M], True),
    ("prod", lambda x: pmath.prod(x, axis=-1), lambda x: x.prod(-1), [M], True),
    ("mean", lambda x: pmath.mean(x, axis=0), lambda x: x.mean(0), [M], True),
    ("std", lambda x: pmath.std(x, axis=2), lambda x: x.std(2), [M], True),
    ("var", pmath.var, np.var, [M], True),
    ("max", lambda x: pmath.max(x, axis=1), lambda x: x.max(1), [M], False),
    ("cumsum", lambda x: pmath.cumsum(x, axis=1), lambda x: x.cumsum(1), [M], True),
    ("cumprod", lambda x: pmath.cumprod(x, axis=2), lambda x: x.cumprod(2), [M], True),
    ("dot", pmath.dot, np.dot, [A, A[:, :2].copy()], True),
    ("matmul", pmath.matmul, np.matmul, [M[:, :2, :3].copy(), A], True),
    (
        "concatenate",
        lambda a, b: pmath.concatenate([a, b], axis=0),
        lambda a, b: np.concatenate([a, b]),
        [V, POS],
        True,
    ),
    (
        "stack",
        lambda a, b: pmath.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], 1),
        [V, POS],
        True,
    ),
    ("switch", lambda x: pmath.switch(pmath.gt(x, 0), x, -x), np.abs, [V], True),
    (
        "where",
        lambda x: pmath.where(pmath.lt(x, 0), 0.0, x),
        lambda x: np.where(x < 0, 0, x),
        [V],
        True,
    ),
    ("eq", lambda x: pmath.eq(x, 0.4), lambda x: x == 0.4, [V], False),
    ("neq", lambda x: pmath.neq(x, 0.4), lambda x: x != 0.4, [V], False),
    ("ge", lambda x: pmath.ge(x, 0.4), lambda x: x >= 0.4, [V], False),
    ("le", lambda x: pmath.le(x, 0.4), lambda x: x <= 0.4, [V], False),
    (
        "and_or",
        lambda x: pmath.or_(
            pmath.and_(pmath.gt(x, -1), pmath.lt(x, 1)), pmath.gt(x, 2)
        ),
        lambda x: ((x > -1) & (x < 1)) | (x > 2),
        [V],
        False,
    ),
    ("sigmoid", pmath.sigmoid, sp.expit, [V], True),
    ("invlogit", pmath.invlogit, sp.expit, [V], True),
    ("logit", pmath.logit, sp.logit, [P], True),
    ("log1pexp", pmath.log1pexp, lambda x: np.logaddexp(0, x), [V * 20], True),
    ("softplus", pmath.softplus, lambda x: np.logaddexp(0, x), [V], True),
    ("log1mexp", pmath.log1mexp, lambda x: np.log(-np.expm1(x)), [NEG], True),
    ("logaddexp", pmath.logaddexp, np.logaddexp, [V, POS], True),
    (
        "logdiffexp",
        pmath.logdiffexp,
        lambda a, b: np.log(np.exp(a) - np.exp(b)),
        [POS, V - 0.5],
        True,
    ),
    (
        "logsumexp",
        lambda x: pmath.logsumexp(x, axis=-1),
        lambda x: sp.logsumexp(x, -1),
        [M],
        True,
    ),
    (
        "log_softmax",
        lambda x: pmath.log_softmax(x, axis=-1),
        lambda x: _logsm(x, -1),
        [M],
        True,
    ),
    ("log_softmax_all", pmath.log_softmax, lambda x: _logsm(x, None), [M], True),
    (
        "softmax",
        lambda x: pmath.softmax(x, axis=1),
        lambda x: sp.softmax(x, 1),
        [M],
        True,
    ),
    ("erf", pmath.erf, sp.erf, [V], True),
    ("erfc", pmath.erfc, sp.erfc, [V], True),
    ("erfinv", pmath.erfinv, sp.erfinv, [UNIT], True),
    ("erfcinv", pmath.erfcinv, sp.erfcinv, [P * 1.9], True),
    ("probit", pmath.probit, sp.ndtri, [P], True),
    ("invprobit", pmath.invprobit, sp.ndtr, [V], True),
    ("arcsinh", pmath.arcsinh, np.arcsinh, [V * 3], True),
    ("arccosh", pmath.arccosh, np.arccosh, [BIG], True),
    ("arctanh", pmath.arctanh, np.arctanh, [UNIT], True),
    ("gamma", pmath.gamma, sp.gamma, [np.array([0.5, 2.5, -0.5, -1.5])], True),
    ("diff", pmath.diff, np.diff, [M], True),
    (
        "diff2",
        lambda x: pmath.diff(x, n=2, axis=1),
        lambda x: np.diff(x, 2, axis=1),
        [M],
        True,
    ),
    (
        "take",
        lambda x: pmath.take(x, [2, 0, 2], axis=1),
        lambda x: np.take(x, [2, 0, 2], 1),
        [M],
        True,
    ),
    (
        "take_flat",
        lambda x: pmath.take(x, [5, 1]),
        lambda x: np.take(x, [5, 1]),
        [M],
        True,
    ),
    (
        "norm",
        lambda x: pmath.norm(x, axis=-1),
        lambda x: np.linalg.norm(x, axis=-1),
        [M],
        True,
    ),
    (
        "norm_1",
        lambda x: pmath.norm(x, ord=1),
        lambda x: np.linalg.norm(x, 1),
        [V],
        True,
    ),
    (
        "norm_inf",
        lambda x: pmath.norm(x, ord=np.inf),
        lambda x: np.linalg.norm(x, np.inf),
        [V],
        False,
    ),
    ("det", pmath.det, np.linalg.det, [A], True),
    (
        "logdet",
        pmath.logdet,
        lambda a: np.linalg.slogdet(a)[1],
        [A - 1.2 * np.eye(3)],
        True,
    ),
    ("matrix_inverse", pmath.matrix_inverse, np.linalg.inv, [A], True),
    # symmetrized: the factor reads one triangle, finite differences touch both
    (
        "cholesky",
        lambda a: pmath.cholesky(0.5 * (a + a.T)),
        np.linalg.cholesky,
        [A],
        True,
    ),
    ("kronecker", lambda a, b: pmath.kronecker(a, b), np.kron, [L1, L2], True),
    (
        "kron3",
        lambda a, b: pmath.kronecker(a, b, a),
        lambda a, b: _kron_np([a, b, a]),
        [L1, L2],
        True,
    ),
    (
        "kron_dot",
        lambda a, b, m: pmath.kron_dot([a, b], m),
        lambda a, b, m: np.kron(a, b) @ m,
        [L1, L2, RNG.normal(size=(6, 2))],
        True,
    ),
    (
        "kron_dot_vector",
        lambda a, b, v: pmath.kron_dot([a, b, a], v),
        lambda a, b, v: (_kron_np([a, b, a]) @ v)[:, None],
        [L1, L2, RNG.normal(size=12)],
        True,
    ),
    (
        "kron_solve_lower",
        lambda a, b, m: pmath.kron_solve_lower([a, b], m),
        lambda a, b, m: sl.solve_triangular(np.kron(a, b), m, lower=True),
        [L1, L2, RNG.normal(size=(6, 2))],
        True,
    ),
    (
        "kron_solve_upper",
        lambda a, b, m: pmath.kron_solve_upper([a, b], m),
        lambda a, b, m: sl.solve_triangular(np.kron(a, b), m, lower=False),
        [L1.T.copy(), L2.T.copy(), RNG.normal(size=(6, 2))],
        True,
    ),
    ("kron_diag", pmath.kron_diag, lambda a, b: np.kron(a, b), [V, POS], True),
    (
        "flat_outer",
        pmath.flat_outer,
        lambda a, b: np.outer(a, b).ravel(),
        [V, POS],
        True,
    ),
    (
        "flatten_list",
        lambda a, b: pmath.flatten_list([a, b]),
        lambda a, b: np.concatenate([a.ravel(), b.ravel()]),
        [M, V],
        True,
    ),
    (
        "batched_diag_embed",
        pmath.batched_diag,
        lambda c: np.stack([np.diag(r) for r in c]),
        [M[0]],
        True,
    ),
    (
        "batched_diag_take",
        pmath.batched_diag,
        lambda c: np.diagonal(c, axis1=1, axis2=2),
        [M[:, :3, :3].copy()],
        True,
    ),
]


def _tri(n, packed, lower):
    out = np.zeros(packed.shape[:-1] + (n, n))
    r, c = np.tril_indices(n) if lower else np.triu_indices(n)
    out[..., r, c] = packed
    return out


CASES += [
    (
        "expand_packed_lower",
        lambda p: pmath.expand_packed_triangular(3, p),
        lambda p: _tri(3, p, True),
        [np.arange(1.0, 7.0)],
        True,
    ),
    (
        "expand_packed_upper",
        lambda p: pmath.expand_packed_triangular(3, p, lower=False),
        lambda p: _tri(3, p, False),
        [np.arange(1.0, 7.0)],
        True,
    ),
    (
        "expand_packed_batched",
        lambda p: pmath.expand_packed_triangular(3, p),
        lambda p: _tri(3, p, True),
        [RNG.normal(size=(2, 6))],
        True,
    ),
    (
        "expand_packed_diag_lower",
        lambda p: pmath.expand_packed_triangular(3, p, diagonal_only=True),
        lambda p: np.diagonal(_tri(3, p, True)),
        [np.arange(1.0, 7.0)],
        False,
    ),
    (
        "expand_packed_diag_upper",
        lambda p: pmath.expand_packed_triangular(3, p, lower=False, diagonal_only=True),
        lambda p: np.diagonal(_tri(3, p, False)),
        [np.arange(1.0, 7.0)],
        False,
    ),
]

IDS = [c[0] for c in CASES]


def _symbolic(inputs):
    return [
        ts.tensor(f"x{i}", shape=(None,) * a.ndim, dtype=a.dtype)
        for i, a in enumerate(inputs)
    ]


@pytest.mark.parametrize(("name", "fn", "ref", "inputs", "smooth"), CASES, ids=IDS)
def test_against_reference(name, fn, ref, inputs, smooth):
    xs = _symbolic(inputs)
    got = ts.function(xs, fn(*xs))(*inputs)
    np.testing.assert_allclose(got, ref(*inputs), rtol=1e-9, atol=1e-12)


GRAD_CASES = [c for c in CASES if c[4]]


@pytest.mark.parametrize(
    ("name", "fn", "ref", "inputs", "smooth"),
    GRAD_CASES,
    ids=[c[0] for c in GRAD_CASES],
)
def test_gradient(name, fn, ref, inputs, smooth):
    verify_grad(fn, inputs)


def test_log1mexp_is_stable_at_both_ends():
    x = ts.vector("x")
    f = ts.function([x], pmath.log1mexp(x))
    tiny, large = np.array([-1e-20]), np.array([-50.0])
    np.testing.assert_allclose(f(tiny), np.log(1e-20), rtol=1e-12)
    np.testing.assert_allclose(f(large), -np.exp(-50.0), rtol=1e-12)


def test_logdiffexp_with_minus_inf():
    assert float(pmath.logdiffexp(1.5, -np.inf).eval()) == 1.5


def test_cartesian_and_logbern():
    got = pmath.cartesian([1, 2], np.array([[3, 4], [5, 6]]))
    np.testing.assert_array_equal(got, [[1, 3, 4], [1, 5, 6], [2, 3, 4], [2, 5, 6]])
    draws = [
        pmath.logbern(np.log(0.3), rng=np.random.default_rng(s)) for s in range(2000)
    ]
    assert abs(np.mean(draws) - 0.3) < 0.04  # 4 standard errors
    with pytest.raises(FloatingPointError, match="NaN"):
        pmath.logbern(np.nan)


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="n must be a positive int"):
        pmath.expand_packed_triangular(2.5, np.ones(3))
    with pytest.raises(ValueError, match="packed has 4 entries but an 2 x 2"):
        pmath.expand_packed_triangular(2, ts.tensor("p", shape=(4,)))
    with pytest.raises(ValueError, match="m must be a vector or a matrix"):
        pmath.kron_dot([L1], np.ones((2, 2, 2)))
    with pytest.raises(NotImplementedError, match="matrix norm"):
        pmath.norm(A, ord=1)
    with pytest.raises(ValueError, match="n must be a non-negative int"):
        pmath.diff(V, n=-1)


def test_pymc_names_are_present():
    for name in (
        "invlogit",
        "logit",
        "probit",
        "invprobit",
        "logsumexp",
        "kron_dot",
        "expand_packed_triangular",
        "matrix_inverse",
        "log1pexp",
        "logdet",
    ):
        assert name in pmath.__all__ and callable(getattr(pmath, name))
