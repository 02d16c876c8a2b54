"""Wishart, InverseWishart, MatrixNormal, KroneckerNormal vs scipy.stats / MvNormal."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp, chol_of, spd

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment
from tessera.testing import verify_grad

N = 3
M = 2


def _nu(rng, batch):
    return rng.uniform(N + 0.5, N + 4.0, size=batch)


CASES = [
    MvCase(
        ppl.Wishart,
        {"nu": _nu, "V": lambda r, b: spd(r, b, N)},
        {"nu": 0, "V": 2},
        lambda x, nu, V: st.wishart(nu, V).logpdf(x),
        id="Wishart-V",
    ),
    MvCase(
        ppl.Wishart,
        {"nu": _nu, "chol": lambda r, b: chol_of(r, b, N)},
        {"nu": 0, "chol": 2},
        lambda x, nu, chol: st.wishart(nu, chol @ chol.T).logpdf(x),
        id="Wishart-chol",
    ),
    MvCase(
        ppl.InverseWishart,
        {"nu": _nu, "V": lambda r, b: spd(r, b, N)},
        {"nu": 0, "V": 2},
        lambda x, nu, V: st.invwishart(nu, V).logpdf(x),
        rtol=1e-6,
    ),
    MvCase(
        ppl.MatrixNormal,
        {
            "mu": lambda r, b: r.normal(size=tuple(b) + (M, N)),
            "rowcov": lambda r, b: spd(r, b, M),
            "colcov": lambda r, b: spd(r, b, N),
        },
        {"mu": 2, "rowcov": 2, "colcov": 2},
        lambda x, mu, rowcov, colcov: st.matrix_normal(mu, rowcov, colcov).logpdf(x),
        id="MatrixNormal-cov",
    ),
    MvCase(
        ppl.MatrixNormal,
        {
            "mu": lambda r, b: r.normal(size=tuple(b) + (M, N)),
            "rowchol": lambda r, b: chol_of(r, b, M),
            "colchol": lambda r, b: chol_of(r, b, N),
        },
        {"mu": 2, "rowchol": 2, "colchol": 2},
        lambda x, mu, rowchol, colchol: st.matrix_normal(
            mu, rowchol @ rowchol.T, colchol @ colchol.T
        ).logpdf(x),
        id="MatrixNormal-chol",
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logp_vs_scipy(case, pattern, rng):
    check_logp(case, pattern, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad_in_params(case, rng):
    check_grad(case, rng, value_too=False)


@pytest.mark.parametrize("dist", [ppl.Wishart, ppl.InverseWishart])
def test_grad_in_symmetric_value(dist, rng):
    V = spd(rng, (2,), N)

    def fn(nu, x):
        return ppl.logp(dist.dist(nu=nu, V=V), 0.5 * (x + x.swapaxes(-1, -2)))

    verify_grad(fn, [np.array([4.5, 6.0]), spd(rng, (2,), N)])


def test_matrix_normal_grad_in_value(rng):
    def fn(x):
        return ppl.logp(
            ppl.MatrixNormal.dist(mu=0.0, rowcov=spd(rng, (), M), colcov=np.eye(N)), x
        )

    verify_grad(fn, [rng.normal(size=(2, M, N))])


def test_matrix_normal_is_mvnormal_of_vec(rng):
    # vec(X) (column-stacked) ~ N(vec(M), V kron U)
    mu = rng.normal(size=(M, N))
    U, V = spd(rng, (), M), spd(rng, (), N)
    x = rng.normal(size=(4, M, N))
    got = ppl.logp(ppl.MatrixNormal.dist(mu=mu, rowcov=U, colcov=V), x).eval()
    vec = np.swapaxes(x, -1, -2).reshape(4, -1)
    want = st.multivariate_normal(mu.T.reshape(-1), np.kron(V, U)).logpdf(vec)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_matrix_normal_mu_broadcasts():
    x = ppl.MatrixNormal.dist(mu=np.zeros(N), rowcov=np.eye(M), colcov=np.eye(N))
    assert x.type.shape == (M, N)
    x = ppl.MatrixNormal.dist(
        mu=np.zeros((5, 1, 1, 1)), rowcov=np.eye(M), colcov=np.stack([np.eye(N)] * 4)
    )
    assert x.type.shape == (5, 4, M, N)


@pytest.mark.parametrize("dist", [ppl.Wishart, ppl.InverseWishart])
def test_not_positive_definite_value_is_minus_inf(dist):
    x = dist.dist(nu=5.0, V=np.eye(2))
    bad = np.array([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    got = ppl.logp(x, bad).eval()
    assert np.isneginf(got[0]) and np.isfinite(got[1])


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda: ppl.Wishart.dist(nu=1.5, V=np.eye(3)), "nu > n - 1"),
        (
            lambda: ppl.Wishart.dist(nu=5.0, V=np.stack([np.eye(2), -np.eye(2)])),
            r"V is positive definite.*index \(1,\)",
        ),
        (lambda: ppl.InverseWishart.dist(nu=[4.0, 0.5], V=np.eye(2)), "nu > n - 1"),
        (
            lambda: ppl.MatrixNormal.dist(mu=0.0, rowcov=-np.eye(2), colcov=np.eye(2)),
            "rowcov is positive definite",
        ),
        (
            lambda: ppl.KroneckerNormal.dist(mu=0.0, covs=[np.eye(2), -np.eye(2)]),
            r"covs\[1\] is positive definite",
        ),
        (
            lambda: ppl.KroneckerNormal.dist(mu=0.0, covs=[np.eye(2)], sigma=-1.0),
            "sigma >= 0",
        ),
    ],
)
def test_invalid_constant_params_raise(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_invalid_symbolic_params_give_minus_inf():
    nu = ts.vector("nu")
    lp = ppl.logp(ppl.Wishart.dist(nu=nu, V=np.eye(2)), np.eye(2))
    got = lp.eval({nu: np.array([3.0, 0.5])})
    assert np.isfinite(got[0]) and np.isneginf(got[1])


# --- KroneckerNormal ----------------------------------------------------------------
def _kron_ref(x, mu, covs, sigma):
    cov = covs[0]
    for c in covs[1:]:
        cov = np.kron(cov, c)
    cov = cov + sigma**2 * np.eye(cov.shape[0])
    return st.multivariate_normal(mu, cov).logpdf(x)


def _spread_spd(rng, batch, n):
    """SPD matrices with well-separated eigenvalues (for eigh gradients)."""
    q, _ = np.linalg.qr(rng.normal(size=tuple(batch) + (n, n)))
    lam = np.linspace(0.5, 2.5, n) * rng.uniform(0.8, 1.2, size=tuple(batch) + (1,))
    return (q * lam[..., None, :]) @ np.swapaxes(q, -1, -2)


@pytest.mark.parametrize("sigma", [0.0, 0.7])
@pytest.mark.parametrize(
    "mu_batch, cov_batches",
    [
        ((), [(), ()]),
        ((3,), [(3,), ()]),
        ((2, 1), [(4,), (2, 4)]),
        ((), [(), (), ()]),
    ],
)
def test_kronecker_vs_mvnormal(mu_batch, cov_batches, sigma, rng):
    sizes = [2, 3, 2][: len(cov_batches)]
    covs = [spd(rng, b, n) for b, n in zip(cov_batches, sizes)]
    big_n = int(np.prod(sizes))
    mu = rng.normal(size=mu_batch + (big_n,))
    x = ppl.KroneckerNormal.dist(mu=mu, covs=covs, sigma=sigma)
    full = np.broadcast_shapes(mu_batch, *cov_batches)
    assert x.type.shape == full + (big_n,)
    value = rng.normal(size=full + (big_n,))
    got = ppl.logp(x, value).eval()
    want = np.empty(full)
    for idx in np.ndindex(*full):
        cs = [np.broadcast_to(c, full + c.shape[-2:])[idx] for c in covs]
        m = np.broadcast_to(mu, full + (big_n,))[idx]
        want[idx] = _kron_ref(value[idx], m, cs, sigma)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_kronecker_parametrizations_agree(rng):
    covs = [_spread_spd(rng, (), 2), _spread_spd(rng, (2,), 3)]
    chols = [np.linalg.cholesky(c) for c in covs]
    evds = [np.linalg.eigh(c) for c in covs]
    v = rng.normal(size=6)
    lps = [
        ppl.logp(ppl.KroneckerNormal.dist(mu=0.0, sigma=0.3, **kw), v).eval()
        for kw in ({"covs": covs}, {"chols": chols}, {"evds": evds})
    ]
    np.testing.assert_allclose(lps[1], lps[0], rtol=1e-10)
    np.testing.assert_allclose(lps[2], lps[0], rtol=1e-10)


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_kronecker_grad(sigma, rng):
    c1, c2 = _spread_spd(rng, (2,), 2), _spread_spd(rng, (), 3)
    v = rng.normal(size=(2, 6))

    def fn(mu, a, b, value):
        sym = [0.5 * (m + m.swapaxes(-1, -2)) for m in (a, b)]
        return ppl.logp(ppl.KroneckerNormal.dist(mu=mu, covs=sym, sigma=sigma), value)

    verify_grad(fn, [rng.normal(size=6), c1, c2, v])


def test_kronecker_grad_in_sigma(rng):
    c1, c2 = _spread_spd(rng, (), 2), _spread_spd(rng, (), 2)
    v = rng.normal(size=4)
    verify_grad(
        lambda s: ppl.logp(ppl.KroneckerNormal.dist(mu=0.0, covs=[c1, c2], sigma=s), v),
        [np.array(0.8)],
    )


def test_kronecker_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of covs, chols, evds"):
        ppl.KroneckerNormal.dist(mu=0.0)
    with pytest.raises(ValueError, match="square matrices"):
        ppl.KroneckerNormal.dist(mu=0.0, covs=[np.ones(3)])


# --- draws -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ppl.Wishart.dist(nu=5.0, V=np.eye(N)), (N, N)),
        (
            lambda: ppl.Wishart.dist(nu=[[5.0], [6.0]], V=np.eye(N), size=(2, 3)),
            (2, 3, N, N),
        ),
        (lambda: ppl.InverseWishart.dist(nu=[5.0, 6.0], V=np.eye(N)), (2, N, N)),
        (
            lambda: ppl.MatrixNormal.dist(
                mu=np.zeros((5, 1, M, N)),
                rowcov=np.eye(M),
                colcov=np.ones((4, 1, 1)) * np.eye(N),
            ),
            (5, 4, M, N),
        ),
        (
            lambda: ppl.MatrixNormal.dist(
                mu=0.0, rowcov=np.eye(M), colcov=np.eye(N), size=(7,)
            ),
            (7, M, N),
        ),
        (
            lambda: ppl.KroneckerNormal.dist(
                mu=0.0, covs=[np.eye(2), np.eye(3)], size=(4,)
            ),
            (4, 6),
        ),
        (
            lambda: ppl.KroneckerNormal.dist(
                mu=np.zeros((3, 6)), covs=[np.eye(2), np.eye(3)], sigma=[[1.0], [2.0]]
            ),
            (2, 3, 6),
        ),
    ],
)
def test_draw_shapes(make, expected):
    x = make()
    assert x.type.shape == expected
    assert ppl.draw(x, random_seed=0).shape == expected


S = 20_000


def _flat_moments(samples):
    """Mean and covariance of the flattened event, per batch element."""
    flat = samples.reshape(samples.shape[0], -1)
    c = flat - flat.mean(0)
    return flat.mean(0), c.T @ c / (S - 1)


def _check_entries(samples, mean, cov_of_entries):
    m_hat, c_hat = _flat_moments(samples)
    var = np.diag(cov_of_entries)
    assert np.all(np.abs(m_hat - mean.reshape(-1)) < 5 * np.sqrt(var / S))
    se = np.sqrt((np.outer(var, var) + cov_of_entries**2) / S)
    assert np.all(np.abs(c_hat - cov_of_entries) < 6 * 2 * se)


def test_wishart_mean_and_variance(rng):
    nu, V = 6.0, spd(rng, (), N)
    d = ppl.draw(ppl.Wishart.dist(nu=nu, V=V, size=(S,)), random_seed=4)
    np.testing.assert_allclose(d, np.swapaxes(d, -1, -2))
    var = nu * (V**2 + np.outer(np.diag(V), np.diag(V)))
    se = np.sqrt(var / S)
    assert np.all(np.abs(d.mean(0) - nu * V) < 5 * se)
    assert np.all(np.abs(d.var(0) - var) < 0.1 * var)


def test_inverse_wishart_mean(rng):
    nu, V = 9.0, spd(rng, (2,), N)
    d = ppl.draw(ppl.InverseWishart.dist(nu=nu, V=V, size=(S, 2)), random_seed=4)
    want = V / (nu - N - 1)
    se = d.std(0) / np.sqrt(S)
    assert np.all(np.abs(d.mean(0) - want) < 5 * se)


def test_matrix_normal_moments(rng):
    mu = rng.normal(size=(M, N))
    U, V = spd(rng, (), M), spd(rng, (), N)
    d = ppl.draw(
        ppl.MatrixNormal.dist(mu=mu, rowcov=U, colcov=V, size=(S,)), random_seed=4
    )
    # row-major flattening of X: cov = U kron V
    _check_entries(d, mu, np.kron(U, V))


def test_kronecker_moments(rng):
    c1, c2 = spd(rng, (), 2), spd(rng, (), 3)
    mu = rng.normal(size=6)
    d = ppl.draw(
        ppl.KroneckerNormal.dist(mu=mu, covs=[c1, c2], sigma=0.5, size=(S,)),
        random_seed=4,
    )
    _check_entries(d, mu, np.kron(c1, c2) + 0.25 * np.eye(6))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ppl.Wishart.dist(nu=[4.0, 7.0], V=np.eye(N)),
        lambda: ppl.InverseWishart.dist(nu=[3.0, 7.0], V=np.eye(N)),
        lambda: ppl.MatrixNormal.dist(
            mu=np.ones((M, N)), rowcov=np.eye(M), colcov=np.eye(N)
        ),
        lambda: ppl.KroneckerNormal.dist(mu=np.ones(6), covs=[np.eye(2), np.eye(3)]),
    ],
)
def test_moment_has_finite_logp(make):
    x = make()
    m = moment(x).eval()
    assert m.shape == x.type.shape
    assert np.all(np.isfinite(ppl.logp(x, m).eval()))


@pytest.mark.parametrize("dist", ["Wishart", "MatrixNormal", "KroneckerNormal"])
def test_numpy_and_jax_backends_agree(dist, rng):
    pytest.importorskip("jax")
    from tessera.testing import compare_backends

    a, b = spd(rng, (2,), N), _spread_spd(rng, (), M)

    def fn(a, b):
        sa, sb = (0.5 * (m + m.swapaxes(-1, -2)) for m in (a, b))
        if dist == "Wishart":
            return ppl.logp(ppl.Wishart.dist(nu=5.0, V=sa), a + np.eye(N))
        if dist == "MatrixNormal":
            d = ppl.MatrixNormal.dist(mu=0.0, rowcov=sb, colcov=sa)
            return ppl.logp(d, np.ones((M, N)))
        d = ppl.KroneckerNormal.dist(mu=0.0, covs=[sb, sa], sigma=0.5)
        return ppl.logp(d, np.linspace(-1, 1, M * N))

    compare_backends(fn, [a, b], rtol=1e-8, atol=1e-10)
