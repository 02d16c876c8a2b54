"""model.debug: non-finite terms of the log-density and their causes."""

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ppl.model.debug import debug_model

Y = np.array([0.5, -0.3, 1.2])


@pytest.fixture(scope="module")
def model():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        sigma = ppl.Normal("sigma", 1.0, 1.0)  # a scale that may go negative
        ppl.Normal("y", mu, sigma, observed=Y)
    return m


def _by_name(reports):
    return {r.name: r for r in reports}


def test_negative_scale_names_term_and_condition(model, capsys):
    reports = _by_name(model.debug({"mu": 0.3, "sigma": -0.5}))
    out = capsys.readouterr().out
    bad = reports["y"]
    assert not bad.finite and bad.value == -np.inf and bad.kind == "observed"
    assert [c.condition for c in bad.failed_conditions] == ["sigma > 0"]
    assert bad.failed_conditions[0].params["sigma"] == pytest.approx(-0.5)
    assert bad.outside_support == []
    assert "y: logp = -inf" in out
    assert "'sigma > 0'" in out and "sigma = -0.5" in out
    # the other terms are finite and equal scipy's densities
    assert reports["mu"].finite and reports["sigma"].finite
    assert reports["sigma"].value == pytest.approx(st.norm(1.0, 1.0).logpdf(-0.5))
    assert "mu: logp" not in out  # finite terms are shown only with verbose


def test_verbose_lists_finite_terms(model, capsys):
    reports = _by_name(model.debug({"mu": 0.3, "sigma": 2.0}, verbose=True))
    out = capsys.readouterr().out
    assert all(r.finite for r in reports.values())
    want = st.norm(0.3, 2.0).logpdf(Y).sum()
    assert reports["y"].value == pytest.approx(want)
    assert "mu: logp" in out and "no problems found" in out


def test_default_point_is_initial_point(model):
    reports = debug_model(model)
    assert all(r.finite for r in reports)  # sigma starts at its moment 1.0
    assert [r.name for r in reports] == ["mu", "sigma", "y"]


def test_value_outside_support_and_condition_indices(capsys):
    with ppl.Model() as m:
        lam = ppl.Normal("lam", 1.0, 1.0, shape=3)
        ppl.Poisson("counts", lam, observed=np.array([1, 2, 3]))
        ppl.Uniform("u", 0.0, 1.0, transform=None)
    reports = _by_name(m.debug({"lam": np.array([1.0, -2.0, 3.0]), "u": 1.5}))
    counts = reports["counts"]
    assert not counts.finite
    cond = counts.failed_conditions[0]
    assert cond.condition == "mu >= 0"
    assert cond.where == [(1,)]
    np.testing.assert_allclose(cond.params["mu"], [1.0, -2.0, 3.0])
    u = reports["u"]
    assert not u.finite and u.failed_conditions == [] and u.outside_support == [()]
    assert "outside the support of Uniform" in capsys.readouterr().out


def test_potential(capsys):
    with ppl.Model() as m:
        x = ppl.Normal("x", 0.0, 1.0)
        ppl.Potential("p", ts.log(x))
    rep = _by_name(m.debug({"x": -1.0}))
    assert rep["x"].finite and rep["x"].value == pytest.approx(st.norm.logpdf(-1.0))
    assert not rep["p"].finite and rep["p"].kind == "potential"
    assert "potential is not finite" in capsys.readouterr().out


def test_dlogp(capsys):
    with ppl.Model() as m:
        x = ppl.Normal("x", 0.0, 1.0)
        ppl.Normal("z", 0.0, 1.0)
        ppl.Potential("p", ts.sqrt(x))
    rep = _by_name(m.debug({"x": 0.0, "z": 2.0}, fn="dlogp"))
    assert not rep["x"].finite and rep["x"].kind == "gradient"
    assert rep["z"].finite and rep["z"].value == pytest.approx(2.0)
    assert "gradient w.r.t. x is not finite" in capsys.readouterr().out


def test_errors(model):
    with pytest.raises(NotImplementedError, match="fn='random'"):
        model.debug(fn="random")
    with pytest.raises(ValueError, match="fn must be one of"):
        model.debug(fn="nope")
    with pytest.raises(KeyError, match="'sigma'"):
        model.debug({"mu": 0.0})
