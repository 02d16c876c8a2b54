"""compute_deterministics against NumPy computations from the posterior arrays."""

import numpy as np
import pytest
from scipy.special import expit

import tessera as ts
from tessera import ppl
from tessera.ppl.model.deterministics import compute_deterministics
from tessera.ppl.model.idata import dict_to_dataset, to_inference_data

COORDS = {"g": ["a", "b", "c"]}
X = np.array([0.5, -1.0, 2.0])


@pytest.fixture(scope="module")
def model():
    with ppl.Model(coords=COORDS) as m:
        x = ppl.Data("x", X, dims="g")
        a = ppl.Normal("a", 0.0, 1.0)
        b = ppl.Normal("b", 0.0, 1.0, dims="g")
        s = ppl.HalfNormal("s", 1.0)
        ppl.Deterministic("eta", a + b * x, dims="g")
        z = ppl.Deterministic("z", s * 2.0)
        ppl.Deterministic("p", z * 0.0 + ts.sigmoid(a))  # needs both s and a
        ppl.Normal("y", a + b * x, s, observed=np.array([0.1, 0.2, 0.3]), dims="g")
        ppl.Deterministic("resid", m["y"] - (a + b * x), dims="g")
    return m


@pytest.fixture(scope="module")
def posterior(model):
    rng = np.random.default_rng(0)
    draws = {
        "a": rng.normal(size=(2, 50)),
        "b": rng.normal(size=(2, 50, 3)),
        "s": rng.gamma(2.0, size=(2, 50)),
    }
    idata = to_inference_data(model, posterior=draws)
    return idata.posterior.assign_coords(draw=np.arange(100, 150)), draws


def test_matches_numpy(model, posterior):
    post, d = posterior
    out = compute_deterministics(post, model=model, progressbar=False)
    assert set(out.data_vars) == {"eta", "z", "p", "resid"}
    eta = d["a"][..., None] + d["b"] * X
    np.testing.assert_allclose(out["eta"].values, eta)
    np.testing.assert_allclose(out["z"].values, 2.0 * d["s"])
    np.testing.assert_allclose(out["p"].values, expit(d["a"]))
    np.testing.assert_allclose(out["resid"].values, np.array([0.1, 0.2, 0.3]) - eta)
    assert out["eta"].dims == ("chain", "draw", "g")
    assert out["eta"].coords["g"].values.tolist() == COORDS["g"]
    assert out["eta"].coords["draw"].values.tolist() == list(range(100, 150))


def test_var_names_needs_only_their_parents(model, posterior):
    post, d = posterior
    out = compute_deterministics(post[["s"]], var_names=["z"], model=model)
    assert list(out.data_vars) == ["z"]
    np.testing.assert_allclose(out["z"].values, 2.0 * d["s"])


def test_merge_and_context(model, posterior):
    post, d = posterior
    with model:
        merged = compute_deterministics(post, var_names=["z"], merge_dataset=True)
    assert {"a", "b", "s", "z"} <= set(merged.data_vars)
    np.testing.assert_allclose(merged["a"].values, d["a"])
    np.testing.assert_allclose(merged["z"].values, 2.0 * d["s"])


def test_transposed_dataset(model, posterior):
    post, d = posterior
    out = compute_deterministics(post.transpose("draw", "chain", ...), model=model)
    np.testing.assert_allclose(out["z"].values, 2.0 * d["s"])


def test_errors(model, posterior):
    post, _ = posterior
    with pytest.raises(ValueError, match="'a' is a free variable"):
        compute_deterministics(post, var_names=["a"], model=model)
    with pytest.raises(ValueError, match="'nope'"):
        compute_deterministics(post, var_names=["nope"], model=model)
    with pytest.raises(ValueError, match=r"no draws of \['a'\]"):
        compute_deterministics(post[["s"]], var_names=["p"], model=model)
    bad = dict_to_dataset({"a": np.zeros((2, 5, 2)), "b": np.zeros((2, 5, 3))})
    with pytest.raises(ValueError, match="'a' in the dataset has shape"):
        compute_deterministics(bad, var_names=["eta"], model=model)
    with pytest.raises(TypeError, match="xarray Dataset"):
        compute_deterministics({"a": np.zeros((2, 5))}, model=model)
