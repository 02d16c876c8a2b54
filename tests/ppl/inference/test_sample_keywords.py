"""ppl.sample with PyMC 5's keywords: meaning, and errors for the others."""

import numpy as np
import pytest
from scipy import stats

from tessera import ppl
from tessera.ppl.inference.trace import MultiTrace

Y = np.array([0.3, -0.5, 1.2, 0.8])

# (backend, sampler): nutpie calling the NumPy graph, BlackJAX over the JAX graph
SAMPLERS = [
    pytest.param({"backend": "numpy"}, id="nutpie"),
    pytest.param({"backend": "jax"}, id="blackjax"),
]


def _model():
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 5.0)
        sigma = ppl.HalfNormal("sigma", 2.0)
        ppl.Deterministic("twice", 2.0 * mu)
        ppl.Normal("y", mu, sigma, observed=Y)
    return model


def _walled():
    """A model whose default start (mu = 0) has a -inf log-density."""
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 10.0)
        ppl.Potential("wall", ppl.logp(ppl.Uniform.dist(4.0, 6.0), mu))
    return model


FAST = dict(draws=40, tune=60, chains=2, random_seed=1, progressbar=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"draw": 10}, TypeError, r"'draw' \(did you mean 'draw' -> 'draws'\?\)"),
        ({"save_warmup": True}, TypeError, "unexpected keyword argument 'save_warmup'"),
        ({"step": object()}, NotImplementedError, "'step' is not supported"),
        ({"mp_ctx": "spawn"}, NotImplementedError, "chain_method"),
        ({"nuts_sampler": "numpyro"}, NotImplementedError, "'numpyro' is not avail"),
        ({"nuts_sampler": "pymc"}, NotImplementedError, "'pymc' is not available"),
        ({"nuts": {"step_scale": 0.1}}, TypeError, "step_scale"),
        ({"init": "adapt_full"}, NotImplementedError, "init='adapt_full'"),
        ({"var_names": ["nope"]}, KeyError, "var_names has 'nope'"),
        ({"var_names": "mu"}, TypeError, "list of names"),
        ({"idata_kwargs": {"coords": {}}}, TypeError, "idata_kwargs has"),
        ({"idata_kwargs": {"log_likelihood": ["mu"]}}, KeyError, "not an observed"),
        ({"initvals": [{"mu": 1.0}]}, ValueError, "1 dicts .* for 2 chains"),
        ({"initvals": {"nope": 1.0}}, KeyError, "'nope' is neither a free"),
        (
            {"backend": "numpy", "nuts_sampler_kwargs": {"foo": 1}},
            TypeError,
            r"has \['foo'\], which the nutpie sampler does not take",
        ),
    ],
)
def test_bad_keywords_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        ppl.sample(model=_model(), **{**FAST, **kwargs})


@pytest.mark.parametrize("how", SAMPLERS)
def test_var_names_log_likelihood_include_transformed(how):
    idata = ppl.sample(
        model=_model(),
        var_names=["mu", "sigma"],
        idata_kwargs={"log_likelihood": True, "include_transformed": True},
        **FAST,
        **how,
    )
    assert sorted(idata.posterior.data_vars) == ["mu", "sigma", "sigma_log__"]
    post = idata.posterior
    np.testing.assert_allclose(post["sigma_log__"], np.log(post["sigma"]), rtol=1e-12)
    ll = idata.log_likelihood["y"].values
    ref = stats.norm.logpdf(
        Y, post["mu"].values[..., None], post["sigma"].values[..., None]
    )
    assert ll.shape == (2, 40, 4)
    np.testing.assert_allclose(ll, ref, rtol=1e-10)


@pytest.mark.parametrize("how", SAMPLERS)
def test_initvals_start_where_the_default_cannot(how):
    with pytest.raises(ValueError, match="wall"):
        ppl.sample(model=_walled(), init="adapt_diag", **FAST, **how)
    idata = ppl.sample(
        model=_walled(), init="adapt_diag", initvals={"mu": 5.0}, **FAST, **how
    )
    mu = idata.posterior["mu"].values
    assert ((mu > 4.0) & (mu < 6.0)).all()
    # one dict per chain
    idata = ppl.sample(
        model=_walled(), initvals=[{"mu": 4.5}, {"mu": 5.5}], **FAST, **how
    )
    assert (idata.posterior["mu"].values > 4.0).all()


@pytest.mark.parametrize("how", SAMPLERS)
def test_advi_init(how):
    idata = ppl.sample(
        model=_model(), init="advi+adapt_diag", n_init=3000, **FAST, **how
    )
    # the posterior of mu is near the data mean
    assert abs(float(idata.posterior["mu"].mean()) - Y.mean()) < 0.6


def test_nuts_step_options_and_return_multitrace():
    model = _model()
    idata = ppl.sample(model=model, nuts={"target_accept": 0.97}, **FAST, backend="jax")
    low = ppl.sample(model=model, target_accept=0.6, **FAST, backend="jax")
    # a higher target gives smaller steps
    assert float(idata.sample_stats["step_size"].mean()) < float(
        low.sample_stats["step_size"].mean()
    )
    trace = ppl.sample(model=model, return_inferencedata=False, **FAST, backend="jax")
    assert isinstance(trace, MultiTrace)
    np.testing.assert_array_equal(
        trace["mu"], idata_values(ppl.sample(model=model, **FAST, backend="jax"))
    )
    assert trace.get_values("twice", chains=1).shape == (40,)
    assert trace.get_sampler_stats("diverging").shape == (80,)


def idata_values(idata):
    return idata.posterior["mu"].values.reshape(-1)


def test_max_treedepth_caps_the_tree():
    idata = ppl.sample(model=_model(), max_treedepth=1, **FAST, backend="jax")
    assert int(idata.sample_stats["tree_depth"].max()) <= 1
    same = ppl.sample(
        model=_model(),
        nuts_sampler_kwargs={"maxdepth": 1},
        **FAST,
        backend="numpy",
    )
    assert int(same.sample_stats["tree_depth"].max()) <= 1


def test_quiet_silences_progress_and_logging(capsys, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="tessera.ppl")
    ppl.sample(model=_model(), **{**FAST, "progressbar": True}, quiet=True)
    assert not [r for r in caplog.records if r.name.startswith("tessera.ppl")]
    assert "NUTS" not in capsys.readouterr().err
    ppl.sample(model=_model(), **{**FAST, "progressbar": True})
    assert any("backend" in r.getMessage() for r in caplog.records)
    assert logging.getLogger("tessera.ppl").level == logging.INFO  # restored
