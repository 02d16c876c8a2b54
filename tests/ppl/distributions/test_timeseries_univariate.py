"""Univariate time series (GaussianRandomWalk, RandomWalk, AR, GARCH11,
EulerMaruyama) against per-time-step recursions written with scipy.stats.

Each case's reference walks through time in Python, one ``scipy.stats``
density per step, for one batch element; tessera evaluates the whole
batch (every parameter with its own broadcasting batch shape) at once,
without a loop over time. The tables are also run on the JAX backend by
tests/compile/backends/test_jax_random.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp

from tessera import ppl

T = 6  # steps


def _adapter(name: str, build):
    """A stand-in class named like the distribution, whose ``dist`` takes arrays
    (the initial distribution's parameters included)."""
    return type(name, (), {"dist": staticmethod(build)})


def _pos(lo=0.5, hi=1.5):
    return lambda r, b: r.uniform(lo, hi, size=tuple(b))


def _real(scale=0.5):
    return lambda r, b: r.normal(size=tuple(b)) * scale


# --- references: one scipy.stats density per time step -------------------------------
def _ref_grw(x, mu, sigma, init_sigma):
    lp = st.norm(0.0, init_sigma).logpdf(x[0])
    for t in range(1, len(x)):
        lp += st.norm(x[t - 1] + mu, sigma).logpdf(x[t])
    return lp


def _ref_rw(x, nu, mu, sigma, init_mu):
    lp = st.laplace(init_mu, 2.0).logpdf(x[0])
    for t in range(1, len(x)):
        lp += st.t(nu, mu, sigma).logpdf(x[t] - x[t - 1])
    return lp


def _ref_ar(x, rho, sigma, init_sigma, constant):
    c, coefs = (rho[0], rho[1:]) if constant else (0.0, rho)
    p = len(coefs)
    lp = st.norm(0.0, init_sigma).logpdf(x[:p]).sum()
    for t in range(p, len(x)):
        mean = c + sum(coefs[k] * x[t - 1 - k] for k in range(p))
        lp += st.norm(mean, sigma).logpdf(x[t])
    return lp


def _ref_garch(x, omega, alpha_1, beta_1, initial_vol):
    var = initial_vol**2
    lp = st.norm(0.0, initial_vol).logpdf(x[0])
    for t in range(1, len(x)):
        var = omega + alpha_1 * x[t - 1] ** 2 + beta_1 * var
        lp += st.norm(0.0, np.sqrt(var)).logpdf(x[t])
    return lp


DT = 0.1


def _ou(x, lam, s):
    return -lam * x, s * (1.0 + 0.1 * x * x)  # state-dependent diffusion


def _ref_em(x, lam, s, init_sigma):
    lp = st.norm(0.0, init_sigma).logpdf(x[0])
    for t in range(1, len(x)):
        f, g = _ou(x[t - 1], lam, s)
        lp += st.norm(x[t - 1] + f * DT, g * np.sqrt(DT)).logpdf(x[t])
    return lp


# --- the table ---------------------------------------------------------------------
GRW = _adapter(
    "GaussianRandomWalk",
    lambda mu, sigma, init_sigma, **kw: ppl.GaussianRandomWalk.dist(
        mu=mu, sigma=sigma, init_dist=ppl.Normal.dist(0.0, init_sigma), **kw
    ),
)
RW = _adapter(
    "RandomWalk",
    lambda nu, mu, sigma, init_mu, **kw: ppl.RandomWalk.dist(
        init_dist=ppl.Laplace.dist(init_mu, 2.0),
        innovation_dist=ppl.StudentT.dist(nu=nu, mu=mu, sigma=sigma),
        **kw,
    ),
)
AR2C = _adapter(
    "AR",
    # the initial values' last axis is the lags: batch dims go before it
    lambda rho, sigma, init_sigma, **kw: ppl.AR.dist(
        rho,
        sigma=sigma,
        init_dist=ppl.Normal.dist(0.0, init_sigma[..., None]),
        **kw,
    ),
)
EM = _adapter(
    "EulerMaruyama",
    lambda lam, s, init_sigma, **kw: ppl.EulerMaruyama.dist(
        DT, _ou, (lam, s), init_dist=ppl.Normal.dist(0.0, init_sigma), **kw
    ),
)


def _rho(n, scale=0.4):
    return lambda r, b: r.uniform(-scale, scale, size=tuple(b) + (n,))


CASES = [
    MvCase(
        GRW,
        {"mu": _real(), "sigma": _pos(), "init_sigma": _pos(1.0, 3.0)},
        {},
        _ref_grw,
        kwargs={"steps": T},
        rtol=1e-10,
    ),
    MvCase(
        RW,
        {"nu": _pos(2.0, 6.0), "mu": _real(), "sigma": _pos(), "init_mu": _real()},
        {},
        _ref_rw,
        kwargs={"steps": T},
        rtol=1e-10,
    ),
    MvCase(
        AR2C,
        {"rho": _rho(3), "sigma": _pos(), "init_sigma": _pos(1.0, 3.0)},
        {"rho": 1},
        lambda x, **p: _ref_ar(x, **p, constant=True),
        kwargs={"steps": T, "constant": True},
        rtol=1e-10,
        id="AR(2) with constant",
    ),
    MvCase(
        AR2C,
        {"rho": _rho(1, 0.9), "sigma": _pos(), "init_sigma": _pos(1.0, 3.0)},
        {"rho": 1},
        lambda x, **p: _ref_ar(x, **p, constant=False),
        kwargs={"steps": T},
        rtol=1e-10,
        id="AR(1)",
    ),
    MvCase(
        ppl.GARCH11,
        {
            "omega": _pos(0.05, 0.3),
            "alpha_1": _pos(0.05, 0.4),
            "beta_1": _pos(0.2, 0.55),
            "initial_vol": _pos(),
        },
        {},
        _ref_garch,
        kwargs={"steps": 30},  # several blocks of the closed-form recursion
        rtol=1e-10,
    ),
    MvCase(
        EM,
        {"lam": _pos(), "s": _pos(), "init_sigma": _pos(1.0, 3.0)},
        {},
        _ref_em,
        kwargs={"steps": T},
        rtol=1e-10,
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logp_vs_scipy_recursion(case, pattern, rng):
    check_logp(case, pattern, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad(case, rng):
    check_grad(case, rng)


def test_broadcast_pattern_gives_the_documented_batch(rng):
    # mu (3, 1) with sigma (4,): a (3, 4) batch of walks
    x = ppl.GaussianRandomWalk.dist(
        mu=rng.normal(size=(3, 1)), sigma=[1.0, 2.0, 3.0, 4.0], steps=T
    )
    assert x.type.shape == (3, 4, T + 1)
    assert ppl.logp(x, np.zeros(T + 1)).eval().shape == (3, 4)


@pytest.mark.parametrize("n", [1, 2, 5, 17, 64, 101])
def test_garch_closed_form_variance_matches_the_loop(n, rng):
    from tessera.ppl.distributions.timeseries.garch import garch_variance

    x = rng.normal(size=(2, n))
    omega, a, b, v0 = 0.2, np.array([[0.3], [0.1]]), np.array([0.0, 0.6, 0.95]), 0.7
    got = garch_variance(x[:, None], omega, a, b, v0).eval()
    want = np.empty((2, 3, n))
    var = np.full((2, 3), v0**2)
    want[..., 0] = var
    for t in range(1, n):
        var = omega + a * x[:, None, t - 1] ** 2 + b * var
        want[..., t] = var
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_garch_long_series_stays_finite():
    # beta^-t overflows past t ~ 1000 for beta = 0.5; the blocked form never
    # forms a power above 1
    x = ppl.GARCH11.dist(0.1, 0.2, 0.5, 1.0, steps=3000)
    v = ppl.draw(x, random_seed=0)
    lp = ppl.logp(x, v).eval()
    ref = _ref_garch(v, 0.1, 0.2, 0.5, 1.0)
    np.testing.assert_allclose(lp, ref, rtol=1e-10)


def test_ar_without_constant_has_no_intercept():
    x = ppl.AR.dist([0.5], sigma=1.0, steps=2, init_dist=ppl.Normal.dist(0.0, 1.0))
    got = ppl.logp(x, [2.0, 1.0, 0.5]).eval()
    want = st.norm(0, 1).logpdf(2.0) + st.norm(1.0, 1).logpdf(1.0)
    want += st.norm(0.5, 1).logpdf(0.5)
    np.testing.assert_allclose(got, want)


def test_ar_tau_and_vector_init(rng):
    rho = np.array([0.3, -0.2])
    init = ppl.MvNormal.dist(mu=[1.0, -1.0], cov=np.eye(2))
    x = ppl.AR.dist(rho, tau=4.0, init_dist=init, steps=4)
    v = rng.normal(size=7)[:6]
    want = st.multivariate_normal([1.0, -1.0], np.eye(2)).logpdf(v[:2])
    for t in range(2, 6):
        want += st.norm(rho[0] * v[t - 1] + rho[1] * v[t - 2], 0.5).logpdf(v[t])
    np.testing.assert_allclose(ppl.logp(x, v).eval(), want, rtol=1e-10)


def test_ar_ar_order_given_with_scalar_rho():
    x = ppl.AR.dist(0.5, ar_order=1, steps=3, init_dist=ppl.Normal.dist(0.0, 1.0))
    assert x.type.shape == (4,)


@pytest.mark.parametrize(
    "build, err, msg",
    [
        (
            lambda: ppl.GaussianRandomWalk.dist(steps=0),
            ValueError,
            "steps must be >= 1",
        ),
        (lambda: ppl.GaussianRandomWalk.dist(), ValueError, "give steps"),
        (
            lambda: ppl.GaussianRandomWalk.dist(steps=4, shape=(3, 6)),
            ValueError,
            r"GaussianRandomWalk: steps=4 does not match shape \(3, 6\)",
        ),
        (
            lambda: ppl.GaussianRandomWalk.dist(sigma=-1.0, steps=3),
            ValueError,
            "sigma > 0",
        ),
        (
            lambda: ppl.GaussianRandomWalk.dist(steps=3, init_dist=1.0),
            TypeError,
            "init_dist must be a distribution",
        ),
        (
            lambda: ppl.AR.dist([0.5, 0.2, 0.1], ar_order=1, steps=3),
            ValueError,
            r"AR: rho has 3 coefficients .* ar_order=1 with constant=False needs 1",
        ),
        (
            lambda: ppl.AR.dist([0.5], constant=True, steps=3),
            ValueError,
            "ar_order=0",
        ),
        (
            lambda: ppl.AR.dist([0.5, 0.1], steps=3, shape=(4,)),
            ValueError,
            r"AR: steps=3 does not match shape \(4,\).*steps \+ 2",
        ),
        (
            lambda: ppl.AR.dist(
                [0.5, 0.1], steps=3, init_dist=ppl.Normal.dist(0.0, 1.0, size=3)
            ),
            ValueError,
            r"AR: init_dist must have trailing shape \(2,\)",
        ),
        (
            lambda: ppl.GARCH11.dist(-0.1, 0.1, 0.5, 1.0, steps=3),
            ValueError,
            "GARCH11: invalid parameters, omega > 0",
        ),
        (
            lambda: ppl.EulerMaruyama.dist(0.1, lambda x: (x, 1.0), (), steps=0),
            ValueError,
            "EulerMaruyama: steps must be >= 1",
        ),
        (
            lambda: ppl.EulerMaruyama.dist(-0.1, lambda x: (x, 1.0), (), steps=2),
            ValueError,
            "dt > 0",
        ),
        (
            lambda: ppl.EulerMaruyama.dist(0.1, lambda x: x, (), steps=2),
            TypeError,
            r"must return \(drift, diffusion\)",
        ),
        (
            lambda: ppl.RandomWalk.dist(
                ppl.Normal.dist(), ppl.Wishart.dist(nu=3.0, V=np.eye(2)), steps=2
            ),
            ValueError,
            "innovation_dist must be univariate or have a vector event",
        ),
    ],
)
def test_errors_name_the_distribution(build, err, msg):
    with pytest.raises(err, match=msg):
        build()


def test_sde_fn_must_not_close_over_other_variables():
    import tessera as ts

    free = ts.scalar("k")
    with pytest.raises(ValueError, match="pass those in sde_pars"):
        ppl.EulerMaruyama.dist(0.1, lambda x: (-free * x, 1.0), (), steps=3)


def test_init_dist_must_be_unregistered():
    with ppl.Model():
        z = ppl.Normal("z", 0.0, 1.0)
        with pytest.raises(TypeError, match="registered model variable"):
            ppl.GaussianRandomWalk("x", init_dist=z, steps=3)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_moment_has_finite_density(case, rng):
    params, _ = case.make(rng, "vector")
    rv = case.dist.dist(**params, **case.kwargs)
    m = ppl.moment(rv).eval()
    assert m.shape == rv.type.shape
    assert np.all(np.isfinite(ppl.logp(rv, m).eval()))


def test_moments_follow_the_drift():
    x = ppl.GaussianRandomWalk.dist(
        mu=[0.0, 1.0], init_dist=ppl.Normal.dist(2.0, 1.0), steps=3
    )
    np.testing.assert_allclose(
        ppl.moment(x).eval(), [[2.0, 2.0, 2.0, 2.0], [2.0, 3.0, 4.0, 5.0]]
    )
