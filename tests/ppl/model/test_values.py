"""Tests for tessera.ppl.model.values: value variables, transforms, observed data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ppl import transforms as tr
from tessera.ppl.model.values import default_transform_of


@pytest.mark.parametrize(
    "make, value_name, transform_type",
    [
        (lambda: ppl.Normal("x", 0.0, 1.0), "x", type(None)),
        (lambda: ppl.HalfNormal("x", 1.0), "x_log__", tr.LogTransform),
        (lambda: ppl.Beta("x", 2.0, 3.0), "x_logodds__", tr.LogOddsTransform),
        (lambda: ppl.Uniform("x", 1.0, 3.0), "x_interval__", tr.IntervalTransform),
        (lambda: ppl.Dirichlet("x", np.ones(3)), "x_simplex__", tr.SimplexTransform),
        (lambda: ppl.HalfNormal("x", 1.0, transform=None), "x", type(None)),
        (
            lambda: ppl.Normal("x", 0.0, 1.0, shape=3, transform=tr.OrderedTransform()),
            "x_ordered__",
            tr.OrderedTransform,
        ),
        (
            lambda: ppl.Exponential("x", 1.0, transform="log"),
            "x_log__",
            tr.LogTransform,
        ),
        (lambda: ppl.Poisson("x", 2.0), "x", type(None)),
    ],
)
def test_value_variables_and_transforms(make, value_name, transform_type):
    with ppl.Model() as m:
        x = make()
    value = m.rvs_to_values[x]
    assert value.name == value_name
    assert isinstance(m.rvs_to_transforms[x], transform_type)
    assert m.values_to_rvs[value] is x and m.value_vars == [value]
    assert value.dtype == x.dtype


def test_simplex_value_variable_is_one_shorter():
    with ppl.Model() as m:
        w = ppl.Dirichlet("w", np.ones(4), shape=(2, 4))
    assert m.rvs_to_values[w].type.shape == (2, 3)


def test_interval_bounds_come_from_the_parameters():
    with ppl.Model() as m:
        u = ppl.Uniform("u", -2.0, 5.0)
    t = m.rvs_to_transforms[u]
    assert (float(t.lower.data), float(t.upper.data)) == (-2.0, 5.0)


def test_discrete_values_cannot_be_transformed():
    with ppl.Model():
        with pytest.raises(TypeError, match="'k': discrete values cannot be"):
            ppl.Poisson("k", 2.0, transform="log")


@pytest.mark.parametrize(
    "observed, match",
    [
        (np.array([1.0, np.nan, 2.0]), r"observed data of 'y' contains 1 NaN"),
        (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "'y' is a masked array"),
        (np.array(["a", None], dtype=object), "'y': cannot convert"),
        # issue #23: strings name the variable
        (["a", "b"], "observed data of 'y' must be numbers .*, got strings"),
        ("abc", "observed data of 'y' must be numbers .*, got strings"),
    ],
)
def test_bad_observed_data(observed, match):
    with ppl.Model():
        with pytest.raises((ValueError, TypeError), match=match):
            ppl.Normal("y", 0.0, 1.0, observed=observed)


def test_observed_must_be_model_data_or_an_array():

    with ppl.Model():
        with pytest.raises(
            TypeError, match="'y': observed must be an array, .* is the free input v"
        ):
            ppl.Normal("y", 0.0, 1.0, observed=ts.vector("v"))


def test_discrete_observed_must_be_integers():
    with ppl.Model():
        with pytest.raises(ValueError, match="'k' must be integers"):
            ppl.Poisson("k", 1.0, observed=[0.5, 1.0])


def test_distribution_errors_name_the_variable():
    with ppl.Model():
        with pytest.raises(ValueError, match="variable 's': HalfNormal"):
            ppl.HalfNormal("s", -1.0)
        with pytest.raises(
            TypeError, match="variable 'n': Normal got an unexpected parameter 'scale'"
        ):
            ppl.Normal("n", 0.0, 1.0, scale=2.0)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        # PyMC 3 names, misspellings of parameters and of variable keywords
        (ppl.Normal, {"mu": 0.0, "sd": 1.0}, r"'sd' \(did you mean 'sigma'\?\)"),
        (ppl.Normal, {"mu": 0.0, "sigma": 1.0, "testval": 0.5}, "'initval'"),
        (ppl.Normal, {"mu": 0.0, "sigma": 1.0, "shpe": 3}, "'shape'"),
        (ppl.Gamma, {"alpha": 1.0, "bet": 2.0}, "'beta'.*alpha, beta, mu, sigma"),
        (ppl.MvNormal, {"mu": [0.0], "covv": [[1.0]]}, "MvNormal .*'cov'"),
    ],
)
def test_misspelt_arguments_name_the_keyword_and_the_fix(cls, kwargs, match):
    with ppl.Model():
        with pytest.raises(TypeError, match=match):
            cls("v", **kwargs)


def test_initval_is_checked():
    with ppl.Model():
        with pytest.raises(ValueError, match=r"'x': initval of shape \(4,\)"):
            ppl.Normal("x", 0.0, 1.0, shape=3, initval=np.zeros(4))


# issue #23: an initval outside the support or of the wrong shape raises,
# naming the variable (point_logps gave nan)
BAD_INITVALS = [
    (
        lambda: ppl.HalfNormal("s", 1.0, initval=-1.0),
        "outside the support of HalfNormal",
    ),
    (
        lambda: ppl.HalfNormal("s", 1.0, shape=3, initval=[1.0, -1.0, 2.0]),
        r"outside the support of HalfNormal \(first at index \(1,\)\)",
    ),
    (lambda: ppl.Uniform("s", 0.0, 1.0, initval=2.0), "outside the support of Uniform"),
    (lambda: ppl.Beta("s", 1.0, 1.0, initval=1.5), "outside the support of Beta"),
    (lambda: ppl.Exponential("s", 1.0, initval=0.0), "outside the support"),
    (
        lambda: ppl.Dirichlet("s", np.ones(3), initval=[0.5, 0.6, 0.2]),
        "outside the support of Dirichlet",
    ),
    (lambda: ppl.Normal("s", 0.0, 1.0, initval=np.nan), "initval is not finite"),
    (
        lambda: ppl.Normal("s", 0.0, 1.0, shape=3, initval=np.zeros((2, 3))),
        r"initval of shape \(2, 3\) does not broadcast to its shape \(3,\)",
    ),
    (
        lambda: ppl.Normal("s", 0.0, 1.0, observed=[1.0], initval=1.0),
        "initval applies to free variables",
    ),
]


@pytest.mark.parametrize("make, match", BAD_INITVALS)
def test_bad_initval_raises_naming_the_variable(make, match):
    with ppl.Model():
        with pytest.raises(ValueError, match=rf"variable 's': .*{match}"):
            make()


def test_good_initvals_are_used():
    with ppl.Model() as m:
        ppl.HalfNormal("s", 1.0, initval=2.0)
        ppl.Normal("x", 0.0, 1.0, shape=3, initval=0.5)  # broadcast
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, initval=0.3)  # symbolic parameters: not checked
    logps = m.point_logps()
    assert all(np.isfinite(v) for v in logps.values())
    np.testing.assert_allclose(m.initial_point()["x"], [0.5, 0.5, 0.5])


def test_default_transform_bounds_may_be_graphs_of_other_variables():
    s = ppl.HalfNormal.dist(1.0)
    t = default_transform_of(ppl.Uniform.dist(0.0, s))
    assert isinstance(t, tr.IntervalTransform) and t.upper is s
    assert default_transform_of(ppl.Normal.dist(0.0, 1.0)) is None


def test_distribution_transform_parameters_hook(monkeypatch):
    monkeypatch.setattr(ppl.Dirichlet, "default_transform", "zerosum", raising=False)
    monkeypatch.setattr(
        ppl.Dirichlet,
        "_default_transform_params",
        classmethod(lambda cls, a: {"n_zerosum_axes": 1}),
        raising=False,
    )
    t = default_transform_of(ppl.Dirichlet.dist(np.ones(3)))
    assert isinstance(t, tr.ZeroSumTransform) and t.n_zerosum_axes == 1


def test_observed_expression_of_shared_data():
    from tessera.ppl.model.idata import observed_data_dict

    data = ts.shared(np.array([1.0, 2.0, 3.0, 4.0]))
    index = ts.shared(np.array([0, 2]), shape=(2,))
    with ppl.Model() as m:
        y = ppl.Normal("y", 0.0, 1.0, observed=data[index], total_size=4)
    assert y.type.shape == (2,)
    assert m.rvs_to_total_sizes == {y: 4}
    lp = m.compile_logp()
    np.testing.assert_allclose(lp({}), st.norm.logpdf([1.0, 3.0]).sum())
    index.set_value(np.array([1, 3]))
    np.testing.assert_allclose(lp({}), st.norm.logpdf([2.0, 4.0]).sum())
    assert observed_data_dict(m) == {}  # no fixed value to record


def test_observed_data_expression_with_nan_is_refused():
    data = ts.shared(np.array([1.0, np.nan]))
    with ppl.Model():
        with pytest.raises(ValueError, match="observed data of 'y' contains 1 NaN"):
            ppl.Normal("y", 0.0, 1.0, observed=data * 2)


def test_observed_must_not_depend_on_free_inputs_or_random_variables():
    with ppl.Model():
        x = ppl.Normal("x", 0.0, 1.0)
        with pytest.raises(TypeError, match="observed is the model variable 'x'"):
            ppl.Normal("y", 0.0, 1.0, observed=x)
        with pytest.raises(TypeError, match="observed depends on the random variable"):
            ppl.Normal("z", 0.0, 1.0, observed=x + 1)
        with pytest.raises(TypeError, match="depends on the free input v"):
            ppl.Normal("w", 0.0, 1.0, observed=ts.vector("v") * 2)


def test_total_size_errors():
    with ppl.Model():
        with pytest.raises(ValueError, match="'x': total_size applies to observed"):
            ppl.Normal("x", 0.0, 1.0, total_size=10)
        with pytest.raises(TypeError, match="'y': total_size must be an int"):
            ppl.Normal("y", 0.0, 1.0, observed=[1.0], total_size=2.5)
