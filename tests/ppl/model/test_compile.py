"""Tests for tessera.ppl.model.compile: log-density, gradients, point
functions, initial point (references in :mod:`.cases`)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.random.op import RandomVariable

from .cases import CASES, IDS, Y_OBS, _hierarchical


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def case(request):
    c = request.param
    return c, c.build()


# --- log-density --------------------------------------------------------------------
@pytest.mark.parametrize("jacobian", [True, False])
def test_logp_matches_scipy_plus_jacobian(case, jacobian):
    c, m = case
    got = m.compile_logp(jacobian=jacobian)(c.point)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, c.reference(c.point, jacobian), rtol=1e-10)


def test_logp_terms_sum_to_the_total(case):
    c, m = case
    terms = m.compile_logp(sum=False)(c.point)
    assert len(terms) == len(m.basic_RVs) + len(m.potentials)
    np.testing.assert_allclose(
        sum(np.sum(t) for t in terms), c.reference(c.point, True), rtol=1e-10
    )


def test_logp_of_selected_variables():
    m = _hierarchical()
    point = CASES[0].point
    got = m.compile_logp(vars=["y"])(point)
    np.testing.assert_allclose(
        got, st.norm(point["theta"], 1.0).logpdf(Y_OBS).sum(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="not a random variable or potential"):
        m.logp(vars=[m["mu"] * 2])


def test_symbolic_logp_is_a_float64_scalar_over_value_variables():
    m = _hierarchical()
    lp = m.logp()
    assert lp.ndim == 0 and lp.dtype == "float64"
    inputs = set(ts.graph_inputs([lp]))
    assert set(m.value_vars) <= inputs
    assert not set(m.free_RVs) & inputs


def test_missing_point_entry_is_named():
    m = _hierarchical()
    with pytest.raises(KeyError, match="no value for 'tau_log__'"):
        m.compile_logp()({"mu": 0.0, "theta": np.zeros(3)})


def test_unregistered_random_variable_is_an_error():
    with ppl.Model() as m:
        ppl.Normal("x", ppl.Normal.dist(0.0, 1.0), 1.0)
    with pytest.raises(ValueError, match="not registered in the model"):
        m.logp()


# --- gradients ---------------------------------------------------------------------------
def test_dlogp_point_function_flat_and_dict(case):
    c, m = case
    flat = m.compile_dlogp()(c.point)
    f = m.logp_dlogp_function(jacobian=False)
    x = m.point_to_array(c.point)
    np.testing.assert_allclose(
        m.compile_dlogp(jacobian=False)(c.point), f(x)[1], rtol=1e-12
    )
    as_dict = m.compile_dlogp(as_dict=True)(c.point)
    assert list(as_dict) == list(m.flat_layout().names)
    np.testing.assert_allclose(m.point_to_array(as_dict), flat, rtol=1e-12)


def test_discrete_free_variables():
    with ppl.Model() as m:
        k = ppl.Poisson("k", 3.0)
        ppl.Normal("y", k, 1.0, observed=[2.5])
    lp = m.compile_logp()({"k": 2})
    np.testing.assert_allclose(
        lp, st.poisson(3.0).logpmf(2) + st.norm(2, 1).logpdf(2.5), rtol=1e-12
    )
    assert m.flat_layout().names == ()
    with pytest.raises(TypeError, match=r"discrete free variables \['k'\]"):
        m.logp_dlogp_function()


# --- initial point ------------------------------------------------------------------------
def test_initial_point_is_finite_in_the_unconstrained_space(case):
    c, m = case
    ip = m.initial_point()
    assert list(ip) == [v.name for v in m.value_vars]
    assert all(np.all(np.isfinite(v)) for v in ip.values())
    assert np.isfinite(m.compile_logp()(ip))


def test_initial_point_values():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 3.0, 1.0)
        ppl.Exponential("s", 2.0)
        ppl.Normal("x", mu, 1.0, shape=2)  # moment follows the parent's start
        ppl.Uniform("u", 0.0, 4.0, initval=1.0)
        ppl.Dirichlet("w", np.ones(3))
    ip = m.initial_point()
    assert float(ip["mu"]) == 3.0
    assert np.isclose(float(ip["s_log__"]), np.log(0.5))
    np.testing.assert_array_equal(ip["x"], [3.0, 3.0])
    assert np.isclose(float(ip["u_interval__"]), np.log(1.0 / 3.0))
    np.testing.assert_allclose(ip["w_simplex__"], [0.0, 0.0], atol=1e-12)


def test_initial_point_jitter_is_seeded():
    m = _hierarchical()
    a = m.initial_point(random_seed=1, jitter=True)
    b = m.initial_point(random_seed=1, jitter=True)
    c = m.initial_point(random_seed=2, jitter=True)
    base = m.initial_point()
    np.testing.assert_array_equal(a["theta"], b["theta"])
    assert not np.allclose(a["theta"], c["theta"])
    assert np.all(np.abs(a["theta"] - base["theta"]) <= 1.0)


class _NoMomentRV(RandomVariable):
    name, signature, dtype = "no_moment", "()->()", "floatX"

    def rng_fn(self, rng, loc, size):
        return loc + rng.normal(size=size)


class _NoMoment(ppl.Continuous):
    rv_op = _NoMomentRV()
    params = ("loc",)

    @classmethod
    def _logp(cls, value, loc):
        return -0.5 * (value - loc) ** 2


def test_initial_point_draws_from_the_prior_without_a_moment():
    with ppl.Model() as m:
        _NoMoment("z", 100.0, shape=3)
    a = m.initial_point(random_seed=3)["z"]
    assert a.shape == (3,) and np.all(np.abs(a - 100.0) < 6)
    np.testing.assert_array_equal(a, m.initial_point(random_seed=3)["z"])
    assert not np.array_equal(a, m.initial_point(random_seed=4)["z"])


# --- checking points ----------------------------------------------------------------------
def test_point_logps_per_variable(case):
    c, m = case
    logps = m.point_logps(c.point)
    assert list(logps) == [v.name for v in m.basic_RVs + m.potentials]
    np.testing.assert_allclose(sum(logps.values()), c.reference(c.point, True))
    assert all(np.isfinite(v) for v in m.point_logps().values())


def test_check_start_vals():
    m = _hierarchical()
    m.check_start_vals(m.initial_point())
    with pytest.raises(KeyError, match="no value for 'tau_log__'"):
        m.check_start_vals({"mu": 0.0, "theta": np.zeros(3)})
    with pytest.raises(ValueError, match="starting value of 'mu' is not finite"):
        m.check_start_vals({"mu": np.nan, "tau_log__": 0.0, "theta": np.zeros(3)})
    with ppl.Model() as m2:
        ppl.Uniform("u", 0.0, 1.0, transform=None)
        ppl.Normal("x", 0.0, 1.0)
    with pytest.raises(
        ValueError,
        match=r"not finite at the starting point: u: -inf \(starting values: u=2.0, x=0.0\)",
    ):
        m2.check_start_vals({"u": 2.0, "x": 0.0})
