"""ppl.do and ppl.observe: new models, the original unchanged."""

import numpy as np
import pytest
import scipy.stats as st

from tessera import ppl
from tessera.ppl.model.interventions import do, observe

N = 4000


def _chain():
    with ppl.Model() as m:
        x = ppl.Normal("x", 0.0, 1.0)
        y = ppl.Normal("y", x, 1.0)
        ppl.Normal("z", y, 1.0)
    return m


def _moments(model, name, seed=0):
    draws = ppl.sample_prior_predictive(N, model=model, random_seed=seed)
    v = np.asarray(draws.prior[name]).ravel()
    return v.mean(), v.var()


def _close_mean(mean, mu, var):
    # five standard errors of the sample mean
    assert abs(mean - mu) < 5 * np.sqrt(var / N), (mean, mu)


def test_do_constant_fixes_root():
    m = _chain()
    m_do = do(m, {"x": 3.0})
    assert m_do.kind("x") == "data"
    assert [v.name for v in m_do.free_RVs] == ["y", "z"]
    assert [v.name for v in m_do.value_vars] == ["y", "z"]
    mean, var = _moments(m_do, "z")
    _close_mean(mean, 3.0, 2.0)  # z = x + e_y + e_z: N(3, 2)
    assert var == pytest.approx(2.0, rel=0.1)
    # the original is unchanged: x still free, z ~ N(0, 3)
    assert m.kind("x") == "free" and len(m.free_RVs) == 3
    mean0, var0 = _moments(m, "z")
    _close_mean(mean0, 0.0, 3.0)
    assert var0 == pytest.approx(3.0, rel=0.1)


def test_do_logp_drops_intervened_term():
    m_do = do(_chain(), {"x": 3.0})
    lp = m_do.compile_logp()({"y": 2.5, "z": 1.0})
    want = st.norm(3.0, 1.0).logpdf(2.5) + st.norm(2.5, 1.0).logpdf(1.0)
    assert lp == pytest.approx(want)


def test_do_with_graph_of_model_variables():
    m = _chain()
    m_do = do(m, {m["y"]: 2.0 * m["x"]})
    assert m_do.kind("y") == "deterministic"
    mean, var = _moments(m_do, "z")
    _close_mean(mean, 0.0, 5.0)  # z = 2x + e_z: N(0, 5)
    assert var == pytest.approx(5.0, rel=0.1)
    prior = ppl.sample_prior_predictive(20, model=m_do, random_seed=1).prior
    np.testing.assert_allclose(prior["y"], 2.0 * prior["x"])


def test_do_data_intervention_follows_set_data():
    m_do = do(_chain(), {"x": 1.0})
    ppl.set_data({"x": -4.0}, model=m_do)
    mean, _ = _moments(m_do, "y")
    _close_mean(mean, -4.0, 1.0)


def test_do_keeps_dims_transforms_and_observed():
    coords = {"g": ["a", "b", "c"]}
    with ppl.Model(coords=coords) as m:
        s = ppl.HalfNormal("s", 1.0)
        u = ppl.Uniform("u", 0.0, s, dims="g")
        mu = ppl.Normal("mu", 0.0, 1.0, dims="g")
        ppl.Deterministic("d", mu + u, dims="g")
        ppl.Normal("y", mu, s, observed=np.array([0.1, 0.2, 0.3]), dims="g")
    m_do = do(m, {"mu": np.array([1.0, 2.0, 3.0])})
    assert m_do.named_vars_to_dims["d"] == ("g",)
    assert [v.name for v in m_do.value_vars] == ["s_log__", "u_interval__"]
    point = {"s_log__": np.log(2.0), "u_interval__": np.zeros(3)}
    lp = m_do.compile_logp()(point)
    # u ~ Uniform(0, s) on the interval transform: at y = 0, u = s / 2
    want = (
        st.halfnorm.logpdf(2.0)
        + np.log(2.0)
        + 3 * (st.uniform(0, 2.0).logpdf(1.0) + np.log(2.0 / 4.0))
        + st.norm([1.0, 2.0, 3.0], 2.0).logpdf([0.1, 0.2, 0.3]).sum()
    )
    assert lp == pytest.approx(want)
    d = m_do.compile_fn(m_do["d"])(point)
    np.testing.assert_allclose(d, [2.0, 3.0, 4.0])


def test_do_prune_vars():
    with ppl.Model() as m:
        a = ppl.Normal("a", 0.0, 1.0)
        b = ppl.Normal("b", a, 1.0)
        ppl.Normal("y", b, 1.0, observed=0.5)
    assert set(do(m, {"b": 0.0}).named_vars) == {"a", "b", "y"}
    assert set(do(m, {"b": 0.0}, prune_vars=True).named_vars) == {"b", "y"}


def test_do_errors():
    m = _chain()
    with ppl.Model() as other:
        ppl.Normal("x", 0.0, 1.0)
    with pytest.raises(ValueError, match="'nope' is not a variable"):
        do(m, {"nope": 1.0})
    with pytest.raises(ValueError, match="is not a variable of the model"):
        do(m, {other["x"]: 1.0})
    with pytest.raises(ValueError, match="depends on 'y' itself"):
        do(m, {"y": m["z"] + 1.0})
    with pytest.raises(ValueError, match="shape"):
        do(m, {"x": np.zeros(3)})
    with ppl.Model() as md:
        ppl.Data("d", np.zeros(2))
    with pytest.raises(ValueError, match="set_data"):
        do(md, {"d": np.ones(2)})


def _observed_directly():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        s = ppl.HalfNormal("s", 1.0)
        ppl.Normal("y", mu, s, observed=np.array([0.5, 1.5, -0.2]))
    return m


def test_observe_equals_observed_model():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        s = ppl.HalfNormal("s", 1.0)
        ppl.Normal("y", mu, s, shape=3)
    m_obs = observe(m, {"y": np.array([0.5, 1.5, -0.2])})
    ref = _observed_directly()
    assert [v.name for v in m_obs.value_vars] == ["mu", "s_log__"]
    assert [v.name for v in m_obs.observed_RVs] == ["y"]
    for point in ({"mu": 0.3, "s_log__": -0.2}, {"mu": -1.0, "s_log__": 0.7}):
        assert m_obs.compile_logp()(point) == pytest.approx(ref.compile_logp()(point))
        np.testing.assert_allclose(
            m_obs.compile_dlogp()(point), ref.compile_dlogp()(point)
        )
    # the original is unchanged
    assert [v.name for v in m.free_RVs] == ["mu", "s", "y"] and not m.observed_RVs


def test_observe_with_data_and_errors():
    with ppl.Model() as m:
        d = ppl.Data("d", np.array([1.0, 2.0]))
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, shape=2)
        ppl.Deterministic("twice", 2 * mu)
    m_obs = observe(m, {"y": d})
    ppl.set_data({"d": np.array([3.0, 4.0])}, model=m_obs)
    lp = m_obs.compile_logp()({"mu": 0.0})
    assert lp == pytest.approx(st.norm.logpdf(0.0) + st.norm.logpdf([3.0, 4.0]).sum())
    assert m["d"].get_value().tolist() == [1.0, 2.0]  # the original's data
    with pytest.raises(ValueError, match="'twice' is a deterministic"):
        observe(m, {"twice": 1.0})
    with pytest.raises(ValueError, match="shape"):
        observe(m, {"y": np.zeros(3)})
    with pytest.raises(ValueError, match="NaN"):
        observe(m, {"y": np.array([np.nan, 1.0])})
