"""Censored: log-density at and between the bounds against SciPy, log-CDF,
gradients, draws, observed data in a model, and backend parity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.testing import compare_backends, verify_grad

# (id, base builder, scipy reference, lower, upper, discrete); bounds broadcast
# against a (3,) batch of base parameters, None for no bound
CASES = [
    (
        "normal both",
        lambda: ppl.Normal.dist([0.0, 0.5, -1.0], 1.5),
        st.norm([0.0, 0.5, -1.0], 1.5),
        -1.0,
        [1.0, 2.0, 0.5],
        False,
    ),
    (
        "normal lower",
        lambda: ppl.Normal.dist(0.5, [1.0, 2.0, 3.0]),
        st.norm(0.5, [1.0, 2.0, 3.0]),
        [-1.0, 0.0, 0.5],
        None,
        False,
    ),
    (
        "gamma upper",
        lambda: ppl.Gamma.dist([2.0, 3.0, 0.5], 1.5),
        st.gamma([2.0, 3.0, 0.5], scale=1 / 1.5),
        None,
        2.0,
        False,
    ),
    (
        "poisson both",
        lambda: ppl.Poisson.dist([1.0, 4.0, 9.0]),
        st.poisson([1.0, 4.0, 9.0]),
        1,
        [3, 6, 12],
        True,
    ),
]


def _reference(ref, value, lower, upper, discrete):
    lo = -np.inf if lower is None else np.asarray(lower, float)
    hi = np.inf if upper is None else np.asarray(upper, float)
    inside = ref.logpmf(value) if discrete else ref.logpdf(value)
    upper_mass = ref.logsf(hi - 1 if discrete else hi)
    out = np.where(value == hi, upper_mass, inside)
    out = np.where(value == lo, ref.logcdf(lo), out)
    return np.where((value < lo) | (value > hi), -np.inf, out)


@pytest.mark.parametrize(
    "name, base, ref, lower, upper, discrete", CASES, ids=[c[0] for c in CASES]
)
def test_logp_against_scipy(name, base, ref, lower, upper, discrete):
    x = ppl.Censored.dist(base(), lower=lower, upper=upper)
    lo = np.broadcast_to(-5.0 if lower is None else lower, (3,))
    hi = np.broadcast_to(15.0 if upper is None else upper, (3,))
    # below, at lower, inside, at upper, above (rows) for each batch element
    values = np.stack([lo - 1, lo, 0.5 * (lo + hi), hi, hi + 1])
    if discrete:
        values = np.round(values)
    got = ppl.logp(x, values).eval()
    want = _reference(ref, values, lower, upper, discrete)
    if name.startswith("gamma"):  # the gamma has no mass below 0
        want = np.where(values < 0, -np.inf, want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name, base, ref, lower, upper, discrete", CASES, ids=[c[0] for c in CASES]
)
def test_draws_clip_the_base(name, base, ref, lower, upper, discrete):
    x = ppl.Censored.dist(base(), lower=lower, upper=upper)
    d = ppl.draw(x, draws=4000, random_seed=1)
    assert d.shape == (4000, 3)
    assert d.dtype == (np.int64 if discrete else np.float64)
    lo = -np.inf if lower is None else np.asarray(lower, float)
    hi = np.inf if upper is None else np.asarray(upper, float)
    assert np.all((d >= lo) & (d <= hi))
    # the point masses at the bounds have the base's tail probabilities
    if lower is not None:
        np.testing.assert_allclose(
            (d == lo).mean(axis=0), np.broadcast_to(ref.cdf(lo), (3,)), atol=0.03
        )
    if upper is not None:
        tail = ref.sf(hi - 1) if discrete else ref.sf(hi)
        np.testing.assert_allclose(
            (d == hi).mean(axis=0), np.broadcast_to(tail, (3,)), atol=0.03
        )


def test_logcdf_and_moment():
    x = ppl.Censored.dist(ppl.Normal.dist(0.0, 1.0), lower=-1.0, upper=1.0)
    got = ppl.logcdf(x, np.array([-2.0, -1.0, 0.3, 1.0, 2.0])).eval()
    ref = st.norm.logcdf([-2.0, -1.0, 0.3, 1.0, 2.0])
    np.testing.assert_allclose(got, [-np.inf, ref[1], ref[2], 0.0, 0.0])
    y = ppl.Censored.dist(ppl.Normal.dist(5.0, 1.0), lower=None, upper=2.0)
    assert float(ppl.moment(y).eval()) == 2.0


def test_gradient_in_parameters_at_bounds_and_inside():
    def fn(mu, sigma, lo, hi):
        x = ppl.Censored.dist(ppl.Normal.dist(mu, sigma), lower=lo, upper=hi)
        return ppl.logp(x, np.array([-1.0, 0.2, 1.5]))

    # the bounds are points of the value's support: moving them moves the
    # values off the point masses, so only the base parameters are checked
    point = [np.array(0.3), np.array(1.2), np.array(-1.0), np.array(1.5)]
    verify_grad(fn, point, wrt=[0, 1])


def test_jax_parity_of_logp():
    def fn(mu, sigma, value):
        x = ppl.Censored.dist(ppl.Normal.dist(mu, sigma), lower=-1.0, upper=1.5)
        return ppl.logp(x, value)

    pytest.importorskip("jax")
    compare_backends(
        fn, [np.array([0.3, -0.2]), np.array([1.2, 0.7]), np.array([-1.0, 1.5])]
    )


def test_observed_ndarray_in_a_model_and_both_backends():
    pytest.importorskip("jax")
    data = np.array([-1.0, 0.3, 2.0, 2.0, 1.1])
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Censored(
            "y", ppl.Normal.dist(mu, 1.0), lower=-1.0, upper=2.0, observed=data
        )
        counts = ppl.Censored(
            "c", ppl.Poisson.dist(3.0), lower=None, upper=4, observed=[0.0, 4.0, 2.0]
        )
    assert counts.dtype == "int64" and model.rvs_to_values[counts].dtype == "int64"
    want = (
        st.norm(0, 1).logpdf(0.4)
        + st.norm(0.4, 1).logcdf(-1.0)
        + st.norm(0.4, 1).logpdf([0.3, 1.1]).sum()
        + 2 * st.norm(0.4, 1).logsf(2.0)
        + st.poisson(3.0).logpmf([0, 2]).sum()
        + st.poisson(3.0).logsf(3)
    )
    point = {"mu": np.array(0.4)}
    assert np.isclose(model.compile_logp()(point), want)
    (mu_v,) = [model.rvs_to_values[v] for v in model.free_RVs]
    f_jax = ts.function([mu_v], model.logp(), backend="jax")
    assert np.isclose(float(f_jax(0.4)), want)
    with pytest.raises(ValueError, match="must be integers"):
        with ppl.Model():
            ppl.Censored("c", ppl.Poisson.dist(3.0), upper=4, observed=[0.5])


def test_errors_name_the_problem():
    with pytest.raises(TypeError, match="not a distribution"):
        ppl.Censored.dist(np.zeros(3), lower=0.0)
    with pytest.raises(ValueError, match="must not be above"):
        ppl.Censored.dist(ppl.Normal.dist(), lower=2.0, upper=1.0)
    with pytest.raises(NotImplementedError, match="univariate"):
        ppl.Censored.dist(ppl.MvNormal.dist(np.zeros(2), np.eye(2)), lower=0.0)
    with ppl.Model():
        x = ppl.Normal("x")
        with pytest.raises(TypeError, match="registered model variable"):
            ppl.Censored.dist(x, lower=0.0)
