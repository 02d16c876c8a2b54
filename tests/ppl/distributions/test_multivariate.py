"""MvNormal, MvStudentT, LowRankMvNormal against scipy.stats over batch shapes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import (
    PATTERNS,
    MvCase,
    check_grad,
    check_logp,
    check_mean_cov,
    chol_of,
    spd,
)

import tessera as ts
from tessera import ppl

N = 3


def _mu(rng, batch):
    return rng.normal(size=tuple(batch) + (N,))


def _nu(rng, batch):
    return rng.uniform(2.0, 8.0, size=batch)


def _mvn_ref(x, mu, cov):
    return st.multivariate_normal(mu, cov).logpdf(x)


def _mvt_ref(x, nu, mu, scale):
    return st.multivariate_t(mu, scale, df=nu).logpdf(x)


def _lowrank_ref(x, mu, cov_factor, cov_diag):
    cov = cov_factor @ cov_factor.T + np.diag(cov_diag)
    return st.multivariate_normal(mu, cov).logpdf(x)


CASES = [
    MvCase(
        ppl.MvNormal,
        {"mu": _mu, "cov": lambda r, b: spd(r, b, N)},
        {"mu": 1, "cov": 2},
        _mvn_ref,
        id="MvNormal-cov",
    ),
    MvCase(
        ppl.MvNormal,
        {"mu": _mu, "chol": lambda r, b: chol_of(r, b, N)},
        {"mu": 1, "chol": 2},
        lambda x, mu, chol: _mvn_ref(x, mu, chol @ chol.T),
        id="MvNormal-chol",
    ),
    MvCase(
        ppl.MvNormal,
        {"mu": _mu, "tau": lambda r, b: spd(r, b, N)},
        {"mu": 1, "tau": 2},
        lambda x, mu, tau: _mvn_ref(x, mu, np.linalg.inv(tau)),
        id="MvNormal-tau",
    ),
    MvCase(
        ppl.MvStudentT,
        {"nu": _nu, "mu": _mu, "scale": lambda r, b: spd(r, b, N)},
        {"nu": 0, "mu": 1, "scale": 2},
        _mvt_ref,
        id="MvStudentT-scale",
    ),
    MvCase(
        ppl.MvStudentT,
        {"nu": _nu, "mu": _mu, "chol": lambda r, b: chol_of(r, b, N)},
        {"nu": 0, "mu": 1, "chol": 2},
        lambda x, nu, mu, chol: _mvt_ref(x, nu, mu, chol @ chol.T),
        id="MvStudentT-chol",
    ),
    MvCase(
        ppl.LowRankMvNormal,
        {
            "mu": _mu,
            "cov_factor": lambda r, b: r.normal(size=tuple(b) + (N, 2)),
            "cov_diag": lambda r, b: r.uniform(0.5, 2.0, size=tuple(b) + (N,)),
        },
        {"mu": 1, "cov_factor": 2, "cov_diag": 1},
        _lowrank_ref,
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logp_vs_scipy(case, pattern, rng):
    check_logp(case, pattern, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad(case, rng):
    check_grad(case, rng)


def test_broadcast_mu_5_1_with_cov_4(rng):
    mu = rng.normal(size=(5, 1, N))
    cov = spd(rng, (4,), N)
    x = ppl.MvNormal.dist(mu=mu, cov=cov)
    assert x.type.shape == (5, 4, N)
    value = rng.normal(size=(N,))
    got = ppl.logp(x, value).eval()
    want = [[_mvn_ref(value, mu[i, 0], cov[j]) for j in range(4)] for i in range(5)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_value_batch_broadcasts_with_params(rng):
    cov = spd(rng, (), N)
    x = ppl.MvNormal.dist(mu=np.zeros(N), cov=cov)
    values = rng.normal(size=(6, 2, N))
    got = ppl.logp(x, values).eval()
    assert got.shape == (6, 2)
    np.testing.assert_allclose(got, _mvn_ref(values, np.zeros(N), cov), rtol=1e-10)


def test_scalar_mu_broadcasts_to_event():
    x = ppl.MvNormal.dist(mu=1.0, cov=np.eye(2))
    assert x.type.shape == (2,)
    np.testing.assert_allclose(
        ppl.logp(x, [1.0, 1.0]).eval(), -np.log(2 * np.pi), rtol=1e-12
    )


def test_symbolic_params_batched(rng):
    mu = ts.tensor("mu", shape=(None, N))
    cov = ts.tensor("cov", shape=(None, N, N))
    value = ts.tensor("v", shape=(None, N))
    lp = ppl.logp(ppl.MvNormal.dist(mu=mu, cov=cov), value)
    f = ts.function([mu, cov, value], lp)
    m, c, v = rng.normal(size=(7, N)), spd(rng, (7,), N), rng.normal(size=(7, N))
    want = [_mvn_ref(v[i], m[i], c[i]) for i in range(7)]
    np.testing.assert_allclose(f(m, c, v), want, rtol=1e-10)


def test_not_positive_definite_gives_minus_inf(rng):
    cov = ts.tensor("cov", shape=(3, N, N))
    x = ppl.MvNormal.dist(mu=np.zeros(N), cov=cov)
    covs = spd(rng, (3,), N)
    covs[1] = -np.eye(N)
    got = ppl.logp(x, np.zeros(N)).eval({cov: covs})
    assert np.isneginf(got[1])
    assert np.all(np.isfinite(got[[0, 2]]))


def test_not_positive_definite_constant_names_batch_index(rng):
    covs = spd(rng, (2, 3), N)
    covs[1, 2] = np.diag([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"positive definite.*batch index \(1, 2\)"):
        ppl.MvNormal.dist(mu=np.zeros(N), cov=covs)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({}, "exactly one of cov, chol, tau"),
        ({"cov": np.eye(2), "tau": np.eye(2)}, "exactly one"),
        ({"cov": np.ones(2)}, "square matrices"),
    ],
)
def test_bad_parametrization(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        ppl.MvNormal.dist(mu=np.zeros(2), **kwargs)


def test_mismatched_event_sizes_raise_at_build_time():
    with pytest.raises(ValueError, match="mv_normal"):
        ppl.MvNormal.dist(mu=np.zeros(3), cov=np.eye(2))


def test_upper_chol_with_lower_false(rng):
    L = chol_of(rng, (), N)
    a = ppl.MvNormal.dist(mu=np.zeros(N), chol=L.T, lower=False)
    b = ppl.MvNormal.dist(mu=np.zeros(N), chol=L)
    v = rng.normal(size=N)
    np.testing.assert_allclose(ppl.logp(a, v).eval(), ppl.logp(b, v).eval())


def test_studentt_nu_nonpositive_is_minus_inf():
    nu = ts.scalar("nu")
    x = ppl.MvStudentT.dist(nu=nu, mu=np.zeros(2), scale=np.eye(2))
    assert np.isneginf(ppl.logp(x, np.zeros(2)).eval({nu: -1.0}))


# --- draws --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mu_batch, cov_batch, size, expected",
    [
        ((), (), None, (N,)),
        ((3,), (), None, (3, N)),
        ((5, 1), (4,), None, (5, 4, N)),
        ((), (), (2, 3), (2, 3, N)),
        ((4,), (1,), (6, 4), (6, 4, N)),
    ],
)
def test_draw_shapes(mu_batch, cov_batch, size, expected, rng):
    mu = rng.normal(size=mu_batch + (N,))
    cov = spd(rng, cov_batch, N)
    for dist, kw in [
        (ppl.MvNormal, {"mu": mu, "cov": cov}),
        (ppl.MvStudentT, {"nu": 5.0, "mu": mu, "scale": cov}),
        (
            ppl.LowRankMvNormal,
            {"mu": mu, "cov_factor": np.ones(cov_batch + (N, 2)), "cov_diag": 1.0},
        ),
    ]:
        x = dist.dist(**kw, size=size)
        assert x.type.shape == expected
        assert ppl.draw(x, random_seed=0).shape == expected


def test_draw_size_that_does_not_broadcast_raises():
    with pytest.raises(ValueError, match="does not broadcast"):
        ppl.MvNormal.dist(mu=np.zeros((3, 2)), cov=np.eye(2), size=(4,))


@pytest.mark.parametrize("dist", ["MvNormal", "MvStudentT", "LowRankMvNormal"])
def test_draw_mean_and_cov(dist, rng):
    S = 40_000
    mu = rng.normal(size=(2, N))
    cov = spd(rng, (2,), N)
    if dist == "MvNormal":
        x = ppl.MvNormal.dist(mu=mu, cov=cov, size=(S, 2))
        want_cov = cov
    elif dist == "MvStudentT":
        nu = 7.0
        x = ppl.MvStudentT.dist(nu=nu, mu=mu, scale=cov, size=(S, 2))
        want_cov = cov * nu / (nu - 2.0)
    else:
        W = rng.normal(size=(2, N, 2))
        d = rng.uniform(0.5, 1.5, size=(2, N))
        x = ppl.LowRankMvNormal.dist(mu=mu, cov_factor=W, cov_diag=d, size=(S, 2))
        want_cov = W @ np.swapaxes(W, -1, -2) + d[..., None] * np.eye(N)
    samples = ppl.draw(x, random_seed=3)
    assert samples.shape == (S, 2, N)
    check_mean_cov(samples, mu, want_cov, heavy=dist == "MvStudentT")


def test_draws_reproducible_and_independent_of_batch_loop(rng):
    x = ppl.MvNormal.dist(mu=np.zeros((3, N)), cov=spd(rng, (3,), N))
    a = ppl.draw(x, random_seed=7)
    b = ppl.draw(x, random_seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])


def test_moment_is_mu(rng):
    from tessera.ppl.distributions.logprob import moment

    mu = rng.normal(size=(2, N))
    x = ppl.MvStudentT.dist(nu=4.0, mu=mu, scale=np.eye(N))
    np.testing.assert_array_equal(moment(x).eval(), mu)


@pytest.mark.parametrize("dist", ["MvNormal", "MvStudentT", "LowRankMvNormal"])
def test_numpy_and_jax_backends_agree(dist, rng):
    pytest.importorskip("jax")
    from tessera.testing import compare_backends

    mu, cov, v = rng.normal(size=(2, 1, N)), spd(rng, (3,), N), rng.normal(size=N)

    def fn(mu, cov, value):
        sym = 0.5 * (cov + cov.swapaxes(-1, -2))
        if dist == "MvNormal":
            d = ppl.MvNormal.dist(mu=mu, cov=sym)
        elif dist == "MvStudentT":
            d = ppl.MvStudentT.dist(nu=5.0, mu=mu, scale=sym)
        else:
            d = ppl.LowRankMvNormal.dist(mu=mu, cov_factor=cov[..., :2], cov_diag=1.0)
        return ppl.logp(d, value)

    compare_backends(fn, [mu, cov, v], rtol=1e-8, atol=1e-10)
