"""SVGD and ASVGD: the Stein direction against NumPy, the median bandwidth,
fits, keywords and errors."""

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.inference.svgd import lower_median, rbf_kernel, stein_direction


def _np_direction(X, G, T=1.0):
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    flat = np.sort(D.ravel())
    med = flat[(flat.size - 1) // 2]
    h = med / np.log(len(X) + 1)
    K = np.exp(-D / h)
    # grad_{x_j} k(x_j, x_i) = -2 (x_j - x_i) / h k
    rep = np.einsum("ij,ijk->ik", K, 2 * (X[:, None, :] - X[None, :, :]) / h)
    return (K @ G / T + rep) / len(X)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_stein_direction_matches_numpy(temperature):
    rng = np.random.default_rng(0)
    X, G = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    Xs, Gs = ts.tensor("X", shape=(7, 3)), ts.tensor("G", shape=(7, 3))
    f = ts.function([Xs, Gs], stein_direction(Xs, Gs, temperature))
    np.testing.assert_allclose(f(X, G), _np_direction(X, G, temperature), rtol=1e-8)


def test_lower_median_by_bisection():
    rng = np.random.default_rng(1)
    for shape in [(5,), (6,), (4, 4)]:
        v = rng.exponential(size=shape)
        x = ts.tensor("v", shape=shape)
        expected = np.sort(v.ravel())[(v.size - 1) // 2]
        np.testing.assert_allclose(lower_median(x).eval({x: v}), expected, rtol=1e-9)


def test_rbf_kernel_is_symmetric_with_unit_diagonal():
    X = ts.constant(np.random.default_rng(2).normal(size=(5, 2)))
    K, h = rbf_kernel(X)
    K = K.eval()
    np.testing.assert_allclose(K, K.T)
    np.testing.assert_allclose(np.diag(K), 1.0)
    assert float(h.eval()) > 0


def test_svgd_fits_transformed_variable_and_records_mean_logp():
    with ppl.Model() as model:
        ppl.HalfNormal("s", 1.0)
    svgd = ppl.SVGD(n_particles=80, model=model, random_seed=0, backend="numpy")
    approx = svgd.fit(800, progressbar=False, obj_optimizer=ppl.adam(0.05))
    assert isinstance(approx, ppl.Empirical)
    # HalfNormal(1): mean sqrt(2/pi), sd sqrt(1 - 2/pi)
    assert abs(approx.mean["s"] - np.sqrt(2 / np.pi)) < 0.08
    assert abs(approx.std["s"] - np.sqrt(1 - 2 / np.pi)) < 0.08
    # hist: the particles' mean log-density, rising from the jittered start
    assert approx.hist[-50:].mean() > approx.hist[:5].mean()


def test_temperature_broadens():
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0)
    stds = []
    for t in (1.0, 4.0):
        approx = ppl.fit(
            600, method="svgd", model=model, random_seed=0, progressbar=False,
            inf_kwargs={"n_particles": 50, "temperature": t},
            obj_optimizer=ppl.adam(0.05), backend="numpy",
        )  # fmt: skip
        stds.append(float(approx.std["x"]))
    assert stds[1] > 1.4 * stds[0], stds


def test_asvgd_moves_a_parametric_approximation():
    with ppl.Model() as model:
        ppl.Normal("x", 1.0, 0.5, shape=2)
    asvgd = ppl.ASVGD(model=model, random_seed=0, obj_n_mc=100, backend="numpy")
    approx = asvgd.fit(1000, progressbar=False, obj_optimizer=ppl.adam(0.02))
    assert isinstance(approx, ppl.FullRank)
    np.testing.assert_allclose(approx.mean["x"], 1.0, atol=0.1)
    np.testing.assert_allclose(approx.std["x"], 0.5, rtol=0.25)
    mf = ppl.ASVGD(approx="meanfield", model=model, obj_n_mc=10).approx
    assert isinstance(mf, ppl.MeanField)


def test_keywords_and_errors():
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0)
    with pytest.raises(ValueError, match="n_particles >= 2"):
        ppl.SVGD(n_particles=1, model=model)
    with pytest.raises(ValueError, match="temperature"):
        ppl.SVGD(temperature=0.0, model=model)
    with pytest.raises(TypeError, match="takes no 'start_sigma'"):
        ppl.fit(5, method="svgd", model=model, start_sigma={"x": 1.0})
    with pytest.raises(TypeError, match="inf_kwargs has 'flow'"):
        ppl.fit(5, method="svgd", model=model, inf_kwargs={"flow": "planar"})
    with pytest.raises(ValueError, match="approx must be"):
        ppl.ASVGD(approx="planar", model=model)
    # jitter 0: every particle at start
    q = ppl.SVGD(n_particles=4, jitter=0.0, start={"x": 2.0}, model=model).approx
    np.testing.assert_array_equal(q.histogram.get_value(), np.full((4, 1), 2.0))


def test_fit_takes_an_inference_object():
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0)
    svgd = ppl.SVGD(n_particles=5, model=model, random_seed=0)
    approx = ppl.fit(20, method=svgd, progressbar=False)
    assert approx is svgd.approx and approx.hist.shape == (20,)
