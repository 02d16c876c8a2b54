"""Tests for tessera.ppl.model.core: registration, coords and dims, transforms."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ppl

COV = np.array([[1.0, 0.3], [0.3, 2.0]])


# --- registration --------------------------------------------------------------
def test_variables_are_registered_by_kind():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3))
        d = ppl.Deterministic("d", mu * 2)
        p = ppl.Potential("p", -(mu**2))
        x = ppl.Data("x", np.arange(3.0))
    assert m.free_RVs == [mu] and m.observed_RVs == [y]
    assert m.deterministics == [d] and m.potentials == [p] and m.data_vars == [x]
    assert list(m.named_vars) == ["mu", "y", "d", "p", "x"]
    assert m["mu"] is mu and "y" in m and "z" not in m
    assert [m.kind(n) for n in m.named_vars] == [
        "free",
        "observed",
        "deterministic",
        "potential",
        "data",
    ]
    assert m.rvs_to_values[y].data.tolist() == [0.0, 0.0, 0.0]
    assert m.unobserved_RVs == [mu, d]


def test_unknown_name_lookup_lists_the_variables():
    with ppl.Model() as m:
        ppl.Normal("mu", 0.0, 1.0)
    with pytest.raises(KeyError, match=r"no variable named 'nu'.*\['mu'\]"):
        m["nu"]


# --- shapes and dims -----------------------------------------------------------------
def test_dims_give_the_shape_and_are_recorded():
    coords = {"g": ["a", "b", "c"], "t": [0, 1]}
    with ppl.Model(coords=coords) as m:
        x = ppl.Normal("x", 0.0, 1.0, dims=("g", "t"))
        y = ppl.Normal("y", 0.0, 1.0, dims="g")
    assert x.type.shape == (3, 2) and y.type.shape == (3,)
    assert m.named_vars_to_dims == {"x": ("g", "t"), "y": ("g",)}
    assert m.coords == {"g": ("a", "b", "c"), "t": (0, 1)}
    assert m.dim_lengths == {"g": 3, "t": 2}


def test_dims_of_a_multivariate_variable_include_the_event_axes():
    with ppl.Model(coords={"obs": range(4), "d": ["x", "y"]}):
        x = ppl.MvNormal("x", np.zeros(2), COV, dims=("obs", "d"))
    assert x.type.shape == (4, 2)


@pytest.mark.parametrize(
    "kwargs, shape",
    [({"shape": (2, 3)}, (2, 3)), ({"size": 4}, (4,)), ({"shape": 5}, (5,))],
)
def test_shape_and_size(kwargs, shape):
    with ppl.Model():
        x = ppl.Normal("x", 0.0, 1.0, **kwargs)
    assert x.type.shape == shape


def test_observed_gives_the_shape():
    with ppl.Model():
        y = ppl.Normal("y", 0.0, 1.0, observed=np.zeros((2, 3)))
        k = ppl.Poisson("k", 1.0, observed=[1.0, 2.0])
    assert y.type.shape == (2, 3)
    assert k.type.shape == (2,) and k.dtype == "int64"


def test_dims_agreeing_with_shape_are_accepted():
    with ppl.Model(coords={"g": range(3)}):
        x = ppl.Normal("x", 0.0, 1.0, dims="g", shape=(3,))
    assert x.type.shape == (3,)


def test_coords_validation():
    m = ppl.Model(coords={"g": ["a", "b"]})
    with pytest.raises(ValueError, match="duplicate dim 'g'"):
        m.add_coord("g", ["c"])
    with pytest.raises(ValueError, match="dim 'h': repeated coordinate values"):
        m.add_coord("h", ["a", "a"])
    with pytest.raises(ValueError, match="dim 'h': coordinate values must be 1-d"):
        m.add_coord("h", [[1, 2]])
    with pytest.raises(TypeError, match="not str"):
        m.add_coord("h", "abc")
    with pytest.raises(ValueError, match="2 coordinate values but length=3"):
        m.add_coord("h", [1, 2], length=3)
    with pytest.raises(TypeError, match="coords must be a dict"):
        ppl.Model(coords=[("g", [1])])
    m.add_coord("n", length=4)
    assert m.dim_lengths["n"] == 4 and m.coords["n"] is None


# --- bad input -------------------------------------------------------------------------
def test_duplicate_names_are_errors():
    with ppl.Model():
        ppl.Normal("x", 0.0, 1.0)
        with pytest.raises(ValueError, match="duplicate variable name 'x'.*free"):
            ppl.Normal("x", 0.0, 1.0)
        with pytest.raises(ValueError, match="duplicate variable name 'x'"):
            ppl.Data("x", [1.0])
        with pytest.raises(ValueError, match="duplicate variable name 'x'"):
            ppl.Deterministic("x", 1.0)
        with pytest.raises(ValueError, match="duplicate variable name 'x'"):
            ppl.Potential("x", 1.0)
        ppl.HalfNormal("s", 1.0)
        with pytest.raises(ValueError, match="'s_log__' is already the name of a"):
            ppl.Normal("s_log__", 0.0, 1.0)
        ppl.Normal("t_log__", 0.0, 1.0)
        with pytest.raises(ValueError, match="value variable name 't_log__'"):
            ppl.HalfNormal("t", 1.0)


def test_bad_names():
    with ppl.Model():
        with pytest.raises(TypeError, match="non-empty str"):
            ppl.Normal("", 0.0, 1.0)


def test_unknown_dim_is_an_error_listing_the_known_ones():
    with ppl.Model(coords={"g": range(2)}):
        with pytest.raises(ValueError, match=r"'x': unknown dim 'h'.*\['g'\]"):
            ppl.Normal("x", 0.0, 1.0, dims=("g", "h"))
        with pytest.raises(ValueError, match="'d': unknown dim 'h'"):
            ppl.Deterministic("d", np.zeros(2), dims="h")
        with pytest.raises(ValueError, match="'x': repeated dim"):
            ppl.Normal("x", 0.0, 1.0, dims=("g", "g"))
        with pytest.raises(TypeError, match="dims must be str"):
            ppl.Normal("x", 0.0, 1.0, dims=(1,))


def test_dims_disagreeing_with_shapes_name_the_variable_and_both_shapes():
    with ppl.Model(coords={"g": range(3)}):
        with pytest.raises(
            ValueError,
            match=r"'x': dims \('g',\) have shape \(3,\) but its shape is \(4,\)",
        ):
            ppl.Normal("x", 0.0, 1.0, dims="g", shape=(4,))
        with pytest.raises(
            ValueError, match=r"'y': .*shape \(3,\) but its shape is \(2,\)"
        ):
            ppl.Normal("y", 0.0, 1.0, dims="g", size=2)
        with pytest.raises(
            ValueError, match=r"'d': dims .* \(3,\) but its shape is \(5,\)"
        ):
            ppl.Deterministic("d", np.zeros(5), dims="g")
        with pytest.raises(
            ValueError, match=r"'p': dims .* \(3,\) but its shape is \(\)"
        ):
            ppl.Potential("p", 1.0, dims="g")
        with pytest.raises(
            ValueError,
            match=r"'o': the observed data has shape \(2,\) but the variable has shape \(3,\)",
        ):
            ppl.Normal("o", 0.0, 1.0, dims="g", observed=np.zeros(2))
        with pytest.raises(ValueError, match="'q':"):
            ppl.Normal("q", np.zeros(2), 1.0, dims="g")


def test_observed_shape_mismatch_names_both_shapes():
    with ppl.Model():
        with pytest.raises(
            ValueError,
            match=r"'y': the observed data has shape \(4,\) but the variable has shape \(3,\)",
        ):
            ppl.Normal("y", 0.0, 1.0, shape=3, observed=np.zeros(4))


# --- deterministics, potentials -----------------------------------------------------------
def test_deterministic_of_a_named_variable_keeps_its_name():
    with ppl.Model() as m:
        x = ppl.Normal("x", 0.0, 1.0)
        d = ppl.Deterministic("d", x)
    assert x.name == "x" and d.name == "d" and d is not x
    assert m["x"] is x


def test_integer_potentials_are_cast_to_float():
    with ppl.Model() as m:
        p = ppl.Potential("p", np.int64(1))
    assert p.dtype == "float64" and m.potentials == [p]
