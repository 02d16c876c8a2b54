"""Empirical approximations from posterior draws; sample, sample_node,
mean/std in the original space for every approximation."""

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.inference.empirical import flat_from_posterior


def _model():
    with ppl.Model(coords={"g": ["a", "b"]}) as model:
        mu = ppl.Normal("mu", 0.0, 1.0, dims="g")
        s = ppl.HalfNormal("s", 1.0)
        ppl.Deterministic("total", mu.sum() + s)
    return model


def _draws(rng, n=400):
    return {
        "mu": rng.normal([1.0, -1.0], 0.5, size=(n, 2)),
        "s": rng.gamma(4.0, 0.5, n),
    }


def test_from_inference_data_maps_to_unconstrained_and_back():
    model = _model()
    draws = _draws(np.random.default_rng(0))
    with model:
        from tessera.ppl.model.idata import to_inference_data

        idata = to_inference_data(
            model,
            posterior={k: v.reshape(2, 200, *v.shape[1:]) for k, v in draws.items()},
        )
    flat = flat_from_posterior(model, idata)
    np.testing.assert_allclose(flat[:, 2], np.log(draws["s"]))
    q = ppl.Empirical(idata, model=model)
    assert q.n_particles == 400
    np.testing.assert_allclose(q.mean["mu"], draws["mu"].mean(0))
    np.testing.assert_allclose(q.std["s"], draws["s"].std())
    np.testing.assert_allclose(
        q.mean["total"], (draws["mu"].sum(1) + draws["s"]).mean()
    )
    post = q.sample(50, random_seed=0).posterior
    assert post["mu"].dims == ("chain", "draw", "g") and post["mu"].shape == (1, 50, 2)
    # every draw is one of the particles
    gap = np.abs(post["s"].values.reshape(-1, 1) - draws["s"][None]).min(axis=1)
    assert gap.max() < 1e-12


def test_empirical_from_dict_and_size():
    model = _model()
    draws = _draws(np.random.default_rng(1), 10)
    q = ppl.Empirical(draws, model=model)
    assert q.histogram.get_value().shape == (10, 3)
    with pytest.raises(KeyError, match="'s'"):
        ppl.Empirical({"mu": draws["mu"]}, model=model)
    with pytest.raises(ValueError, match="trace or a size"):
        ppl.Empirical(model=model)


APPROXIMATIONS = {
    "advi": lambda m: ppl.fit(500, model=m, random_seed=0, progressbar=False),
    "fullrank": lambda m: ppl.fit(
        500, method="fullrank_advi", model=m, random_seed=0, progressbar=False
    ),
    "nfvi": lambda m: ppl.fit(
        300,
        method="nfvi",
        model=m,
        random_seed=0,
        progressbar=False,
        inf_kwargs={"flow": "scale-loc-planar"},
    ),  # fmt: skip
    "svgd": lambda m: ppl.fit(
        100,
        method="svgd",
        model=m,
        random_seed=0,
        progressbar=False,
        inf_kwargs={"n_particles": 20},
    ),  # fmt: skip
    "empirical": lambda m: ppl.Empirical(_draws(np.random.default_rng(2)), model=m),
}


@pytest.mark.parametrize("name", list(APPROXIMATIONS))
def test_sample_node_mean_std_hist(name):
    model = _model()
    with model:
        approx = APPROXIMATIONS[name](model)
    node = approx.sample_node(model["total"], size=3000)
    assert node.type.shape == (3000,)
    # compiled with its generator's updates: fresh draws at each call
    draw = ts.function([], node, updates=ts.random.rng_updates(node))
    a, b = draw(), draw()
    assert not np.array_equal(a, b)
    # the node's draws have the approximation's moments
    tol = 4 * approx.std["total"] / np.sqrt(300)
    assert abs(a.mean() - approx.mean["total"]) < tol
    one = approx.sample_node("s")
    assert one.type.shape == () and float(one.eval()) > 0
    mu_s = approx.sample_node([model["mu"], "s"], size=5)
    assert [v.type.shape for v in mu_s] == [(5, 2), (5,)]
    assert set(approx.mean) == {"mu", "s", "total"}
    assert approx.std["mu"].shape == (2,) and np.all(approx.std["mu"] > 0)
    idata = approx.sample(20, random_seed=1)
    assert idata.posterior["total"].shape == (1, 20)
    assert isinstance(approx.hist, np.ndarray)
