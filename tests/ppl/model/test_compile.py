"""Tests for tessera.ppl.model.compile: log-density, gradients, flat vectors,
initial point, constrained draws.

Each model of ``CASES`` comes with a NumPy/SciPy reference: the inverse
transforms written out in NumPy, the log-densities from ``scipy.stats`` and
the log-det-Jacobians by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.stats as st
from scipy.special import expit, logsumexp, softmax

import tessera as ts
from tessera import ppl
from tessera.random.op import RandomVariable

COV = np.array([[1.0, 0.3], [0.3, 2.0]])
Y_OBS = np.array([0.3, -1.2, 0.8])


# --- NumPy inverse transforms: (constrained value, log|J|) ------------------------
def _log(y):
    return np.exp(y), np.sum(y)


def _interval(y, lo, hi):
    return lo + (hi - lo) * expit(y), np.sum(
        np.log(hi - lo) + np.log(expit(y)) + np.log(expit(-y))
    )


def _simplex(y):
    z = np.append(y, -np.sum(y))
    k = z.size
    return softmax(z), np.log(k) - k * logsumexp(z)


@dataclass
class Case:
    id: str
    build: Callable[[], ppl.Model]
    point: dict
    reference: Callable[[dict, bool], float]


def _hierarchical():
    with ppl.Model(coords={"g": ["a", "b", "c"]}) as m:
        mu = ppl.Normal("mu", 1.0, 2.0)
        tau = ppl.HalfNormal("tau", 1.5)
        theta = ppl.Normal("theta", mu, tau, dims="g")
        ppl.Normal("y", theta, 1.0, observed=Y_OBS, dims="g")
    return m


def _hierarchical_ref(p, jac):
    tau, j = _log(p["tau_log__"])
    return (
        st.norm(1, 2).logpdf(p["mu"])
        + st.halfnorm(scale=1.5).logpdf(tau)
        + st.norm(p["mu"], tau).logpdf(p["theta"]).sum()
        + st.norm(p["theta"], 1.0).logpdf(Y_OBS).sum()
        + jac * j
    )


def _bounded():
    with ppl.Model() as m:
        s = ppl.Gamma("s", 2.0, 3.0)
        u = ppl.Uniform("u", -1.0, s)  # bounds depend on another RV
        b = ppl.Beta("b", 2.0, 5.0, shape=2)
        ppl.Potential("pot", -(u**2) + b.sum())
    return m


def _bounded_ref(p, jac):
    s, j1 = _log(p["s_log__"])
    u, j2 = _interval(p["u_interval__"], -1.0, s)
    b, j3 = _interval(p["b_logodds__"], 0.0, 1.0)
    return (
        st.gamma(2.0, scale=1 / 3.0).logpdf(s)
        + st.uniform(-1.0, s + 1.0).logpdf(u)
        + st.beta(2, 5).logpdf(b).sum()
        - u**2
        + b.sum()
        + jac * (j1 + j2 + j3)
    )


def _multivariate():
    with ppl.Model(coords={"k": range(3), "d": ["x", "y"], "obs": range(4)}) as m:
        w = ppl.Dirichlet("w", np.array([1.0, 2.0, 3.0]), dims="k")
        mu = ppl.MvNormal("mu", np.zeros(2), COV, dims="d")
        ppl.MvNormal("y", mu, COV, observed=_MV_OBS, dims=("obs", "d"))
        ppl.Multinomial("c", 10, w, observed=np.array([2, 3, 5]))
    return m


_MV_OBS = np.random.default_rng(1).normal(size=(4, 2))


def _multivariate_ref(p, jac):
    w, j = _simplex(p["w_simplex__"])
    return (
        st.dirichlet([1.0, 2.0, 3.0]).logpdf(w)
        + st.multivariate_normal(np.zeros(2), COV).logpdf(p["mu"])
        + st.multivariate_normal(p["mu"], COV).logpdf(_MV_OBS).sum()
        + st.multinomial(10, w).logpmf([2, 3, 5])
        + jac * j
    )


CASES = [
    Case(
        "hierarchical",
        _hierarchical,
        {"mu": 0.4, "tau_log__": -0.3, "theta": np.array([0.1, -0.5, 1.2])},
        _hierarchical_ref,
    ),
    Case(
        "bounded",
        _bounded,
        {"s_log__": 0.2, "u_interval__": -0.7, "b_logodds__": np.array([0.3, -1.1])},
        _bounded_ref,
    ),
    Case(
        "multivariate",
        _multivariate,
        {"w_simplex__": np.array([0.2, -0.4]), "mu": np.array([0.5, -0.2])},
        _multivariate_ref,
    ),
]
IDS = [c.id for c in CASES]


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def case(request):
    c = request.param
    return c, c.build()


def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


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


# --- gradients and flat vectors --------------------------------------------------------
def test_flat_logp_dlogp_matches_logp_and_finite_differences(case):
    c, m = case
    f = m.logp_dlogp_function()
    x = m.point_to_array(c.point)
    lp, g = f(x)
    assert isinstance(lp, float) and g.dtype == np.float64 and g.shape == x.shape
    np.testing.assert_allclose(lp, c.reference(c.point, True), rtol=1e-10)
    numeric = _numeric_grad(lambda v: f(v)[0], x)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


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


def test_flat_layout_round_trips(case):
    c, m = case
    lay = m.flat_layout()
    assert lay.names == tuple(v.name for v in m.value_vars)
    x = np.arange(lay.size, dtype=float)
    point = m.array_to_point(x)
    assert [point[n].shape for n in lay.names] == list(lay.shapes)
    np.testing.assert_array_equal(m.point_to_array(point), x)
    back = m.array_to_point(m.point_to_array(c.point))
    for k, v in c.point.items():
        np.testing.assert_array_equal(back[k], v)
    assert sum(lay.sizes) == lay.size and lay.slices[-1].stop == lay.size


def test_flat_layout_errors():
    m = _hierarchical()
    with pytest.raises(ValueError, match=r"expected a vector of shape \(5,\)"):
        m.array_to_point(np.zeros(4))
    with pytest.raises(ValueError, match=r"value of 'theta' has shape \(2,\)"):
        m.point_to_array({"mu": 0.0, "tau_log__": 0.0, "theta": np.zeros(2)})
    with pytest.raises(KeyError, match="no value for 'mu'"):
        m.point_to_array({})


def test_flat_function_is_compiled_once_and_reusable():
    m = _hierarchical()
    f = m.logp_dlogp_function()
    x = np.linspace(-1, 1, f.size)
    (lp1, g1), (lp2, g2) = f(x), f(x)
    assert lp1 == lp2 and np.array_equal(g1, g2)
    assert f.fn.inputs[0].type.shape == (5,)


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


def test_layout_follows_data_sized_free_variables():
    with ppl.Model() as m:
        x = ppl.Data("x", np.zeros(3), dims="obs")
        ppl.Normal("z", 0.0, 1.0, dims="obs")
        ppl.Normal("lik", x, 1.0, observed=x)
    assert m.flat_layout().shapes == ((3,),)
    ppl.set_data({"x": np.zeros(6)}, model=m)
    assert m.flat_layout().shapes == ((6,),)
    f = m.logp_dlogp_function()
    lp, g = f(np.ones(6))
    np.testing.assert_allclose(lp, 12 * st.norm.logpdf(0) - 3.0)


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


# --- constrained draws --------------------------------------------------------------------
def test_constrained_draws_map_flat_samples_to_the_posterior(case):
    c, m = case
    to_values = m.compile_constrained_draws()
    x = m.point_to_array(c.point)
    xs = np.stack([x, x + 0.1, x - 0.2]).reshape(3, 1, -1)
    out = to_values(xs)
    assert list(out) == [v.name for v in m.unobserved_RVs]
    single = m.compile_fn(m.unobserved_RVs)
    for k, xi in enumerate(xs[:, 0]):
        want = single(m.array_to_point(xi))
        for name, w in zip(out, want):
            assert out[name].shape == (3, 1, *np.shape(w))
            np.testing.assert_allclose(out[name][k, 0], w, rtol=1e-12)


def test_constrained_draws_of_a_constant_deterministic_and_bad_shapes():
    with ppl.Model() as m:
        ppl.Normal("x", 0.0, 1.0)
        ppl.Deterministic("c", ts.constant([1.0, 2.0]))
    f = m.compile_constrained_draws()
    out = f(np.zeros((2, 4, 1)))
    assert out["c"].shape == (2, 4, 2)
    with pytest.raises(ValueError, match=r"expected draws of shape \(\.\.\., 1\)"):
        f(np.zeros((2, 3)))
