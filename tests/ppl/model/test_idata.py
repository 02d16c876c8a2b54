"""Tests for tessera.ppl.model.idata: InferenceData with coords and dims."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tessera import ppl
from tessera.ppl.model.idata import (
    constant_data_dict,
    dict_to_dataset,
    model_coords,
    observed_data_dict,
    posterior_from_flat,
    to_inference_data,
)


def _model():
    with ppl.Model(coords={"g": ["a", "b", "c"], "d": [0, 1]}) as m:
        x = ppl.Data("x", np.arange(3.0), dims="g")
        mu = ppl.Normal("mu", 0.0, 1.0, dims="d")
        s = ppl.HalfNormal("s", 1.0)
        ppl.Deterministic("scaled", x * s, dims="g")
        ppl.Normal("y", mu.sum() * x, s, observed=np.ones(3), dims="g")
        ppl.Normal("free", 0.0, 1.0, shape=(2, 2))
    return m


def test_model_coords_fill_unlabelled_dims():
    m = _model()
    m.add_coord("n", length=3)
    c = model_coords(m)
    assert c["g"].tolist() == ["a", "b", "c"] and c["n"].tolist() == [0, 1, 2]


def test_to_inference_data_groups_coords_and_dims():
    m = _model()
    post = {
        "mu": np.zeros((2, 5, 2)),
        "s": np.ones((2, 5)),
        "scaled": np.zeros((2, 5, 3)),
        "free": np.zeros((2, 5, 2, 2)),
    }
    stats = {"diverging": np.zeros((2, 5), bool), "lp": np.zeros((2, 5))}
    idata = to_inference_data(m, posterior=post, sample_stats=stats)
    assert set(idata.groups()) == {
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
    }
    assert idata.posterior["mu"].dims == ("chain", "draw", "d")
    assert idata.posterior["scaled"].dims == ("chain", "draw", "g")
    assert idata.posterior["free"].dims == ("chain", "draw", "free_dim_0", "free_dim_1")
    assert idata.posterior.coords["g"].values.tolist() == ["a", "b", "c"]
    assert idata.posterior.coords["chain"].values.tolist() == [0, 1]
    assert idata.sample_stats["diverging"].dims == ("chain", "draw")
    assert idata.observed_data["y"].dims == ("g",)
    np.testing.assert_array_equal(idata.constant_data["x"], [0.0, 1.0, 2.0])
    assert idata.posterior.attrs["inference_library"] == "tessera"


def test_observed_and_constant_data_dicts():
    m = _model()
    assert list(observed_data_dict(m)) == ["y"]
    assert list(constant_data_dict(m)) == ["x"]
    with ppl.Model() as m2:
        yd = ppl.Data("yd", [1.0, 2.0])
        ppl.Normal("y", 0.0, 1.0, observed=yd)
    assert constant_data_dict(m2) == {}  # used as observed data
    np.testing.assert_array_equal(observed_data_dict(m2)["y"], [1.0, 2.0])


def test_data_groups_can_be_omitted_or_given():
    m = _model()
    idata = to_inference_data(
        m, posterior={"s": np.ones((1, 3))}, observed_data=False, constant_data=False
    )
    assert list(idata.groups()) == ["posterior"]
    idata = to_inference_data(None, posterior={"s": np.ones((1, 3))})
    assert list(idata.groups()) == ["posterior"]
    given = to_inference_data(m, observed_data={"y": np.zeros(3)}, constant_data=False)
    np.testing.assert_array_equal(given.observed_data["y"], np.zeros(3))


def test_datasets_pass_through_and_unknown_groups_are_errors():
    ds = dict_to_dataset({"s": np.ones((1, 3))})
    idata = to_inference_data(posterior=ds)
    assert idata.posterior["s"].shape == (1, 3)
    with pytest.raises(ValueError, match="unknown group 'posterior_samples'"):
        to_inference_data(posterior_samples={"s": np.ones((1, 3))})


def test_dict_to_dataset_options_and_errors():
    m = _model()
    ds = dict_to_dataset(
        {"w": np.zeros((4, 3))},
        coords={"k": ["u", "v", "w"]},
        dims={"w": ["k"]},
        sample_dims=("draw",),
    )
    assert isinstance(ds, xr.Dataset) and ds["w"].dims == ("draw", "k")
    with pytest.raises(ValueError, match=r"'mu': dims \('d',\) name 1 axes but"):
        dict_to_dataset({"mu": np.zeros((1, 2, 2, 2))}, m)
    with pytest.raises(
        ValueError, match="'mu': dim 'd' has 2 coordinates but the values have length 3"
    ):
        dict_to_dataset({"mu": np.zeros((1, 2, 3))}, m)
    with pytest.raises(ValueError, match="expected leading sample dims"):
        dict_to_dataset({"s": np.zeros(3)})


def test_posterior_from_flat_maps_unconstrained_draws():
    m = _model()
    layout = m.flat_layout()
    rng = np.random.default_rng(0)
    flat = rng.normal(size=(2, 6, layout.size))
    warm = rng.normal(size=(2, 3, layout.size))
    idata = posterior_from_flat(
        m,
        flat,
        sample_stats={"lp": np.zeros((2, 6))},
        warmup_samples=warm,
        warmup_sample_stats={"lp": np.zeros((2, 3))},
    )
    s_log = flat[..., layout.slices[layout.names.index("s_log__")]][..., 0]
    np.testing.assert_allclose(idata.posterior["s"].values, np.exp(s_log))
    np.testing.assert_allclose(
        idata.posterior["scaled"].values, np.exp(s_log)[..., None] * np.arange(3.0)
    )
    assert idata.warmup_posterior["mu"].shape == (2, 3, 2)
    assert "warmup_sample_stats" in idata.groups()
    with pytest.raises(ValueError, match=r"shape \(chain, draw, n\)"):
        posterior_from_flat(m, flat[0])
