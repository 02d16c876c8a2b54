"""Truncated: log-density, log-CDF, gradients and draws against SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.testing import verify_grad

INF = np.inf


class _HalfT:
    """SciPy has no half Student t: |T| for T ~ t(nu, 0, sigma)."""

    def __init__(self, nu, sigma):
        self.t = st.t(nu, 0.0, sigma)

    def pdf(self, x):
        return np.where(x >= 0, 2 * self.t.pdf(x), 0.0)

    def cdf(self, x):
        return np.clip(2 * self.t.cdf(x) - 1, 0.0, 1.0)


# (id, base builder, reference, lower, upper, discrete); bounds are (3,) batches
# or scalars, None for no bound. HalfStudentT has no scipy_dist: rejection path.
CASES = [
    (
        "normal both",
        lambda: ppl.Normal.dist(0.5, 1.5),
        st.norm(0.5, 1.5),
        [-1.0, 0.0, 1.0],
        2.5,
        False,
    ),
    (
        "normal lower",
        lambda: ppl.Normal.dist(0.0, 1.0),
        st.norm(0.0, 1.0),
        [-1.0, 0.5, 3.0],
        None,
        False,
    ),
    (
        "normal upper",
        lambda: ppl.Normal.dist(0.0, 1.0),
        st.norm(0.0, 1.0),
        None,
        [-2.0, 0.0, 1.0],
        False,
    ),
    (
        "gamma upper",
        lambda: ppl.Gamma.dist(2.0, [1.0, 2.0, 3.0]),
        st.gamma(2.0, 0, 1 / np.array([1.0, 2.0, 3.0])),
        None,
        1.5,
        False,
    ),
    (
        "studentt both",
        lambda: ppl.StudentT.dist(3.0, 0.0, 1.0),
        st.t(3.0),
        -0.5,
        [0.5, 1.0, 4.0],
        False,
    ),
    (
        "beta both",
        lambda: ppl.Beta.dist(2.0, 3.0),
        st.beta(2.0, 3.0),
        0.2,
        [0.5, 0.7, 0.9],
        False,
    ),
    (
        "halft rejection",
        lambda: ppl.HalfStudentT.dist(3.0, 1.0),
        _HalfT(3.0, 1.0),
        [0.5, 1.0, 0.0],
        3.0,
        False,
    ),
    (
        "poisson both",
        lambda: ppl.Poisson.dist(3.0),
        st.poisson(3.0),
        [1, 2, 0],
        [4, 6, 2],
        True,
    ),
    (
        "binomial lower",
        lambda: ppl.Binomial.dist(10, 0.3),
        st.binom(10, 0.3),
        [2, 3, 5],
        None,
        True,
    ),
    (
        "nbinom upper",
        lambda: ppl.NegativeBinomial.dist(n=2.0, p=0.4),
        st.nbinom(2.0, 0.4),
        None,
        [3, 5, 8],
        True,
    ),
]
IDS = [c[0] for c in CASES]


def _bounds(lower, upper):
    lo = np.broadcast_to(-INF if lower is None else np.asarray(lower, float), (3,))
    hi = np.broadcast_to(INF if upper is None else np.asarray(upper, float), (3,))
    return lo, hi


def _reference(ref, lower, upper, discrete, x):
    """log f(x) and log F(x) of the truncated reference, x of shape (n, 3)."""
    lo, hi = _bounds(lower, upper)
    f_lo = ref.cdf(lo - 1) if discrete else ref.cdf(lo)
    mass = ref.cdf(hi) - f_lo
    pdf = ref.pmf(x) if discrete else ref.pdf(x)
    inside = (x >= lo) & (x <= hi)
    with np.errstate(divide="ignore"):
        logp = np.where(inside, np.log(pdf / mass), -INF)
        logcdf = np.log(np.clip((ref.cdf(np.clip(x, lo, hi)) - f_lo) / mass, 0, 1))
    logcdf = np.where(x < lo, -INF, np.where(x >= hi, 0.0, logcdf))
    return logp, logcdf


@pytest.mark.parametrize("name, base, ref, lower, upper, discrete", CASES, ids=IDS)
def test_logp_logcdf_against_scipy(name, base, ref, lower, upper, discrete):
    rv = ppl.Truncated.dist(base(), lower=lower, upper=upper)
    assert rv.type.shape == (3,)
    lo, hi = _bounds(lower, upper)
    grid = np.linspace(
        np.where(np.isfinite(lo), lo, -4) - 1, np.where(np.isfinite(hi), hi, 4) + 1, 9
    )
    x = np.round(grid).astype(np.int64) if discrete else grid
    exp_logp, exp_logcdf = _reference(ref, lower, upper, discrete, x)
    np.testing.assert_allclose(ppl.logp(rv, x).eval(), exp_logp, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        ppl.logcdf(rv, x).eval(), exp_logcdf, rtol=1e-6, atol=1e-10
    )


@pytest.mark.parametrize("name, base, ref, lower, upper, discrete", CASES, ids=IDS)
def test_draws_against_scipy(name, base, ref, lower, upper, discrete):
    n = 3000
    rv = ppl.Truncated.dist(base(), lower=lower, upper=upper, size=(n, 3))
    x = ppl.draw(rv, random_seed=4)
    assert x.shape == (n, 3) and x.dtype == rv.dtype
    lo, hi = _bounds(lower, upper)
    assert np.all((x >= lo) & (x <= hi))
    _, logcdf = _reference(ref, lower, upper, discrete, x)
    if discrete:
        for j in range(3):
            grid = np.arange(x[:, j].min(), x[:, j].max() + 1)
            freq = (x[:, j, None] == grid).mean(0)
            g = np.broadcast_to(grid[:, None], (grid.size, 3)).astype(np.int64)
            lp, _ = _reference(ref, lower, upper, True, g)
            p = np.exp(lp[:, j])
            assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-3)
    else:
        assert st.kstest(np.exp(logcdf).ravel(), "uniform").pvalue > 1e-3


def test_far_tail_truncation_by_inverse_cdf():
    rv = ppl.Truncated.dist(
        ppl.Normal.dist(0.0, 1.0), lower=10.0, upper=11.0, size=(2000,)
    )
    x = ppl.draw(rv, random_seed=0)
    assert np.all((x >= 10) & (x <= 11))
    assert abs(x.mean() - st.truncnorm(10, 11).mean()) < 0.01
    np.testing.assert_allclose(
        ppl.logp(rv, [10.05]).eval(), st.truncnorm(10, 11).logpdf([10.05]), rtol=1e-8
    )


def test_gradient_in_bounds_parameters_and_value():
    def fn(mu, sigma, lower, upper, x):
        return ppl.logp(ppl.Truncated.dist(ppl.Normal.dist(mu, sigma), lower, upper), x)

    args = [
        np.array([0.0, 0.5, -0.5]),
        np.array([1.0, 1.5, 0.7]),
        np.array([-1.0, -0.5, -2.0]),
        np.array([1.0, 2.0, 0.5]),
        np.array([0.2, 0.7, -1.0]),
    ]
    verify_grad(fn, args)

    def fn_gamma(beta, upper, x):
        return ppl.logp(ppl.Truncated.dist(ppl.Gamma.dist(2.0, beta), upper=upper), x)

    verify_grad(
        fn_gamma, [np.array([1.0, 2.0]), np.array([2.0, 3.0]), np.array([0.5, 1.5])]
    )


def test_errors():
    with pytest.raises(ValueError, match="below upper"):
        ppl.Truncated.dist(ppl.Normal.dist(), lower=1.0, upper=0.0)
    with pytest.raises(TypeError, match="already truncated"):
        ppl.Truncated.dist(ppl.Truncated.dist(ppl.Normal.dist(), lower=0.0), upper=1.0)
    with pytest.raises(NotImplementedError, match="scalars"):
        ppl.Truncated.dist(ppl.Categorical.dist([0.5, 0.5]), lower=0)
    with pytest.raises(TypeError, match="not a distribution"):
        ppl.Truncated.dist(ts.scalar("x"), lower=0.0)
    # rejection sampling gives up with a clear error when the mass is tiny
    far = ppl.Truncated.dist(ppl.HalfStudentT.dist(3.0, 1.0), lower=1e6, max_n_steps=3)
    with pytest.raises(RuntimeError, match="rejection sampling"):
        ppl.draw(far, random_seed=0)
    # symbolic bounds in the wrong order give -inf
    lo = ts.scalar("lo")
    rv = ppl.Truncated.dist(ppl.Normal.dist(), lower=lo, upper=1.0)
    assert ts.function([lo], ppl.logp(rv, 0.5))(2.0) == -INF


def test_size_defaults_to_the_base_size_and_moment_is_inside():
    rv = ppl.Truncated.dist(ppl.Normal.dist(5.0, 1.0, size=(2, 3)), upper=1.0)
    assert rv.type.shape == (2, 3)
    m = ppl.moment(rv).eval()
    assert m.shape == (2, 3) and np.all(np.isfinite(ppl.logp(rv, m).eval()))
