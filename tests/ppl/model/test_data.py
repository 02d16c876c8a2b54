"""Tests for tessera.ppl.model.data: Data, set_data, Deterministic, Potential."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from tessera import ppl


def _regression(n=5, coords=True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = 1.0 + 2.0 * x + rng.normal(size=n)
    with ppl.Model(coords={"obs": range(n)} if coords else None) as m:
        xd = ppl.Data("x", x, dims="obs")
        yd = ppl.Data("y", y, dims="obs")
        a = ppl.Normal("a", 0.0, 10.0)
        b = ppl.Normal("b", 0.0, 10.0)
        mu = ppl.Deterministic("mu", a + b * xd, dims="obs")
        ppl.Normal("lik", mu, 1.0, observed=yd, dims="obs")
    return m, x, y


def _regression_logp(a, b, x, y):
    return (
        st.norm(0, 10).logpdf(a)
        + st.norm(0, 10).logpdf(b)
        + st.norm(a + b * x, 1.0).logpdf(y).sum()
    )


def test_data_is_shared_with_its_dtype():
    with ppl.Model() as m:
        x = ppl.Data("x", [1, 2, 3])
        f = ppl.Data("f", np.float32([1.0]))
        b = ppl.Data("b", [True, False])
    assert x.dtype == "int64" and f.dtype == "float64" and b.dtype == "bool"
    assert x.type.shape == (None,)
    assert m.data_vars == [x, f, b]
    with pytest.raises(TypeError, match="Data 's': expected numeric data"):
        with m:
            ppl.Data("s", ["a", "b"])


def test_data_declares_unknown_dims_and_checks_known_ones():
    with ppl.Model(coords={"g": ["a", "b"]}) as m:
        ppl.Data("x", np.zeros((2, 4)), dims=("g", "t"))
        with pytest.raises(
            ValueError,
            match=r"Data 'y': dims \('g',\) have shape \(2,\) but the data has shape \(3,\)",
        ):
            ppl.Data("y", np.zeros(3), dims="g")
        with pytest.raises(
            ValueError,
            match=r"Data 'z': dims \('g',\) name 1 axes but the data has shape \(2, 2\)",
        ):
            ppl.Data("z", np.zeros((2, 2)), dims="g")
    assert m.dim_lengths == {"g": 2, "t": 4}
    assert m.coords["t"] is None


def test_set_data_changes_the_log_density():
    m, x, y = _regression()
    logp = m.compile_logp()
    point = {"a": 0.5, "b": 1.5}
    assert np.isclose(logp(point), _regression_logp(0.5, 1.5, x, y))
    x2, y2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 4.0])
    ppl.set_data({"x": x2, "y": y2}, model=m, coords={"obs": ["u", "v", "w"]})
    assert np.isclose(logp(point), _regression_logp(0.5, 1.5, x2, y2))
    assert m.dim_lengths["obs"] == 3 and m.coords["obs"] == ("u", "v", "w")
    np.testing.assert_array_equal(m["x"].get_value(), x2)


def test_set_data_inside_the_model_context_and_int_casts():
    with ppl.Model():
        k = ppl.Data("k", [1, 2])
        ppl.set_data({"k": np.array([3.0, 4.0])})
    assert k.get_value().tolist() == [3, 4] and k.get_value().dtype == np.int64


def test_dims_without_labels_follow_the_data():
    m, _, _ = _regression(coords=False)
    ppl.set_data({"x": np.zeros(7), "y": np.zeros(7)}, model=m)
    assert m.dim_lengths["obs"] == 7 and m.coords["obs"] is None


@pytest.mark.parametrize(
    "new, coords, match",
    [
        ({"nope": [1.0]}, None, "'nope' is not a Data variable"),
        ({"a": [1.0]}, None, "'a' is not a Data variable"),
        (
            {"x": np.zeros((5, 1))},
            None,
            r"'x' has 1 dims \(shape \(5,\)\), the new value has shape \(5, 1\)",
        ),
        (
            {"y": np.array([1.0, np.nan, 0, 0, 0])},
            None,
            "observed data of 'lik' contains 1 NaN",
        ),
        (
            {"x": np.zeros(3)},
            {"obs": range(3)},
            r"the new 'x' gives dim 'obs' length 3, but Data 'y' \(not updated\) has length 5",
        ),
        (
            {"x": np.zeros(3), "y": np.zeros(4)},
            None,
            "'x' and 'y' give dim 'obs' different lengths",
        ),
        (
            {"x": np.zeros(3), "y": np.zeros(3)},
            None,
            r"dim 'obs' changes length from 5 to 3; pass its new coordinate values",
        ),
        (
            {"x": np.zeros(3), "y": np.zeros(3)},
            {"obs": range(4)},
            "4 coordinate values for dim 'obs', whose length is 3",
        ),
        ({"x": np.zeros(5)}, {"zzz": range(4)}, "unknown dim 'zzz'"),
    ],
)
def test_set_data_errors(new, coords, match):
    m, x, _ = _regression()
    with pytest.raises(ValueError, match=match):
        ppl.set_data(new, model=m, coords=coords)
    np.testing.assert_array_equal(m["x"].get_value(), x)  # nothing changed
    assert m.dim_lengths["obs"] == 5


def test_set_data_needs_a_dict():
    m, _, _ = _regression()
    with pytest.raises(TypeError, match="expected a dict"):
        ppl.set_data([("x", 1.0)], model=m)


def test_dims_fixed_before_the_data_cannot_change():
    with ppl.Model(coords={"obs": range(3)}) as m:
        ppl.Normal("early", 0.0, 1.0, dims="obs")
        ppl.Data("x", np.zeros(3), dims="obs")
        late = ppl.Normal("late", 0.0, 1.0, dims="obs")
    assert late.type.shape == (None,)  # follows the data
    with pytest.raises(
        ValueError, match=r"variables \['early'\] were created with its fixed length"
    ):
        ppl.set_data({"x": np.zeros(4)}, model=m, coords={"obs": range(4)})


def test_observed_data_variable_takes_its_shape_from_the_data():
    with ppl.Model() as m:
        yd = ppl.Data("y", np.zeros(3))
        y = ppl.Normal("lik", 0.0, 1.0, observed=yd)
    assert y.type.shape == (None,)
    logp = m.compile_logp()
    assert np.isclose(logp({}), 3 * st.norm.logpdf(0.0))
    ppl.set_data({"y": np.ones(5)}, model=m)
    assert np.isclose(logp({}), 5 * st.norm.logpdf(1.0))


def test_nan_in_observed_data_variable_is_refused_at_creation():
    with ppl.Model():
        yd = ppl.Data("y", [1.0, np.nan])
        with pytest.raises(ValueError, match="observed data of 'lik' contains 1 NaN"):
            ppl.Normal("lik", 0.0, 1.0, observed=yd)


def test_data_variable_cannot_be_given_a_variable():
    import tessera as ts

    with ppl.Model():
        with pytest.raises(TypeError, match="Data 'x': expected an array"):
            ppl.Data("x", ts.vector("v"))


def test_deterministic_and_potential_with_dims():
    with ppl.Model(coords={"g": ["a", "b"]}) as m:
        x = ppl.Normal("x", 0.0, 1.0, dims="g")
        d = ppl.Deterministic("d", 2 * x, dims="g")
        ppl.Potential("p", -x, dims="g")
    assert m.named_vars_to_dims["d"] == ("g",) and m.named_vars_to_dims["p"] == ("g",)
    f = m.compile_fn(d)
    np.testing.assert_allclose(f({"x": [1.0, 2.0]}), [2.0, 4.0])
    # the potential adds -x (summed) to the log-density
    lp = m.compile_logp()({"x": [1.0, 2.0]})
    assert np.isclose(lp, st.norm.logpdf([1.0, 2.0]).sum() - 3.0)


def test_data_takes_pymc_coords_and_labelled_values():
    import pandas as pd
    import xarray as xr

    df = pd.DataFrame(
        np.arange(6.0).reshape(3, 2),
        index=pd.Index(["a", "b", "c"], name="obs"),
        columns=pd.Index(["x", "y"], name="feat"),
    )
    unnamed = pd.Series([1.0, 2.0])
    with ppl.Model() as m:
        ppl.Data("g", np.zeros(2), dims="grp", coords={"grp": ["u", "v"]})
        d = ppl.Data("d", df, infer_dims_and_coords=True)
        ppl.Data("s", unnamed, infer_dims_and_coords=True)
        arr = xr.DataArray(np.zeros(4), dims="t", coords={"t": [1, 2, 3, 4]})
        ppl.Data("e", arr, infer_dims_and_coords=True)
    assert m.coords["grp"] == ("u", "v")
    assert m.named_vars_to_dims["d"] == ("obs", "feat")
    assert m.coords["obs"] == ("a", "b", "c") and m.coords["feat"] == ("x", "y")
    assert m.named_vars_to_dims["s"] == ("s_dim_0",)
    assert m.coords["t"] == (1, 2, 3, 4)
    np.testing.assert_array_equal(d.get_value(), df.to_numpy())


def test_data_keyword_errors_and_mutable():
    with ppl.Model():
        with pytest.warns(UserWarning, match="`mutable` has no effect"):
            ppl.Data("a", np.zeros(2), mutable=True)
        with pytest.raises(TypeError, match="unexpected keyword argument 'shape'"):
            ppl.Data("b", np.zeros(2), shape=(2,))
        with pytest.raises(TypeError, match="needs a pandas or xarray value"):
            ppl.Data("c", np.zeros(2), infer_dims_and_coords=True)


def test_set_data_with_nan_raises_for_any_data():
    # issue #23: NaN in data that is not observed (a covariate) made the
    # log-density NaN silently
    with ppl.Model() as m:
        x = ppl.Data("x", np.arange(3.0))
        y = ppl.Data("y", np.arange(3.0))
        b = ppl.Normal("b", 0.0, 1.0)
        ppl.Normal("lik", b * x, 1.0, observed=y)
    with pytest.raises(ValueError, match=r"set_data: Data 'x' contains 1 NaN values"):
        ppl.set_data({"x": [1.0, np.nan, 2.0]}, model=m)
    with pytest.raises(ValueError, match="observed data of 'lik' contains 1 NaN"):
        ppl.set_data({"y": [1.0, np.nan, 2.0]}, model=m)
    np.testing.assert_array_equal(x.get_value(), np.arange(3.0))  # unchanged
