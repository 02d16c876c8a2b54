"""JAX lowerings of linear algebra: the choices made for small problems."""

from __future__ import annotations

import math

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tessera as ts  # noqa: E402
from tessera.compile.backends.jax.linalg.decomposition import (  # noqa: E402
    TINY_PULLBACK_ENTRIES,
)
from tessera.ops.linalg.structure import AllocDiag  # noqa: E402
from tessera.testing import compare_backends  # noqa: E402


def _spd(rng, batch, n):
    a = rng.standard_normal((*batch, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _diag_len(m, n, offset):
    rows, cols = (m, n - offset) if offset >= 0 else (m + offset, n)
    return max(0, min(rows, cols))


@pytest.mark.parametrize("offset", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize("m, n", [(3, 3), (3, 5), (5, 3)])
def test_alloc_diag_matches_numpy(offset, m, n):
    k = _diag_len(m, n, offset)
    v = np.arange(1.0, 2 * k + 1).reshape(2, k)
    out = compare_backends(lambda v: AllocDiag(offset)(v, m, n), [v])
    expected = np.zeros((2, m, n))
    for i in range(k):
        r, c = (i, i + offset) if offset >= 0 else (i - offset, i)
        expected[:, r, c] = v[:, i]
    np.testing.assert_array_equal(out[0], expected)


def _chol_cost(a, w):
    return (ts.linalg.cholesky(a) * w).sum()


@pytest.mark.parametrize(
    "batch, n", [((), 1), ((), 8), ((4,), 4), ((1,), 9), ((2, 3), 5), ((), 12)]
)
def test_cholesky_pullback_small_and_large_agree_with_numpy(rng, batch, n):
    # at most TINY_PULLBACK_ENTRIES entries: c^T g by two triangular solves
    a = _spd(rng, batch, n)
    w = rng.standard_normal(a.shape)
    compare_backends(_chol_cost, [a, w], wrt=[0], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("batch, n", [((1,), 8), ((4,), 4), ((2,), 8), ((), 16)])
def test_cholesky_pullback_uses_a_product_only_above_the_tiny_size(batch, n):
    a = ts.tensor("a", shape=(*batch, n, n))
    w = np.ones((*batch, n, n))
    g = ts.grad(_chol_cost(a, w), a)
    f = ts.function([a], g, backend="jax")
    text = jax.jit(f.traceable).lower(np.eye(n) * np.ones(a.type.shape)).as_text()
    tiny = math.prod(batch) * n * n <= TINY_PULLBACK_ENTRIES
    assert ("dot_general" in text) != tiny
    # the cholesky, the two solves of the pullback, and two more when tiny
    assert text.count("lapack_dtrsm") == (4 if tiny else 2)


def _mvnormal(batch, n):
    x = ts.tensor("x", shape=(batch, n))
    mu = ts.tensor("mu", shape=(batch, n))
    cov = ts.tensor("cov", shape=(batch, n, n))
    c = ts.linalg.cholesky(cov)
    z = ts.linalg.solve_triangular(c, x - mu, lower=True, b_ndim=1)
    logp = -(ts.log(ts.linalg.diagonal(c)).sum() + 0.5 * (z * z).sum())
    return [x, mu, cov], [logp, *ts.grad(logp, [mu, cov])]


@pytest.mark.parametrize("batch, n", [(1, 8), (3, 8)])
def test_mvnormal_logp_and_grad_raise_on_a_non_pd_matrix(rng, batch, n):
    # the checks of the solves with the factor are covered by the cholesky's:
    # the error names the cholesky, on the inline (tiny) and queued paths
    inputs, outputs = _mvnormal(batch, n)
    f = ts.function(inputs, outputs, backend="jax")
    fn = ts.function(inputs, outputs)
    x, mu = rng.standard_normal((2, batch, n))
    cov = _spd(rng, (batch,), n)
    for got, want in zip(f(x, mu, cov), fn(x, mu, cov)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-12)
    bad = cov.copy()
    bad[-1] = -bad[-1]
    for _ in range(2):
        with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
            f(x, mu, bad)
        f(x, mu, cov)  # and a good call after a failed one


def test_solve_with_a_failed_factor_is_nan_without_raising():
    # a factor that failed with on_error="nan" is NaN throughout, and a NaN
    # is not a zero pivot: both backends return NaN for that matrix
    spd = np.broadcast_to(np.eye(3) * 4.0, (2, 3, 3)).copy()
    spd[1, 2, 2] = -1.0
    out = compare_backends(
        lambda t, b: ts.linalg.solve_triangular(
            ts.linalg.cholesky(t, on_error="nan"), b, lower=True, b_ndim=1
        ),
        [spd, np.ones((2, 3))],
        grad=False,
    )
    np.testing.assert_allclose(out[0][0], 0.5)
    assert np.isnan(out[0][1]).all()
