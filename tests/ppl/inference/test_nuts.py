"""ppl.sample: NUTS on models, InferenceData layout, errors."""

import logging

import numpy as np
import pytest

from tessera import ppl


def _model():
    y = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 1.0]])
    with ppl.Model(coords={"group": ["a", "b"], "obs": [0, 1, 2]}) as model:
        x = ppl.Data("x", np.array([1.0, 2.0]), dims="group")
        mu = ppl.Normal("mu", 0.0, 5.0, dims="group")
        sigma = ppl.HalfNormal("sigma", 2.0)
        ppl.Deterministic("scaled", mu * x, dims="group")
        ppl.Normal("y", mu[:, None], sigma, observed=y, dims=("group", "obs"))
    return model, y


# (backend, sampler): nutpie calling the NumPy graph, BlackJAX over the JAX graph
SAMPLERS = [
    pytest.param({"backend": "numpy"}, id="nutpie"),
    pytest.param({"backend": "jax"}, id="blackjax"),
]


@pytest.mark.parametrize("how", SAMPLERS)
def test_inference_data_layout(how):
    model, y = _model()
    idata = ppl.sample(
        draws=100,
        tune=100,
        chains=2,
        random_seed=0,
        progressbar=False,
        model=model,
        **how,
    )
    assert set(idata.groups()) >= {
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
    }
    post = idata.posterior
    assert post["mu"].dims == ("chain", "draw", "group")
    assert list(post["group"].values) == ["a", "b"]
    assert post["sigma"].shape == (2, 100)
    assert (post["sigma"] > 0).all()  # original space
    assert "sigma_log__" not in post
    np.testing.assert_allclose(
        post["scaled"].values, post["mu"].values * np.array([1.0, 2.0])
    )
    stats = idata.sample_stats
    for name in ("diverging", "step_size", "tree_depth", "n_steps", "lp", "energy"):
        assert stats[name].shape == (2, 100), name
    np.testing.assert_array_equal(idata.observed_data["y"].values, y)
    assert idata.observed_data["y"].dims == ("group", "obs")
    np.testing.assert_array_equal(idata.constant_data["x"].values, [1.0, 2.0])
    attrs = idata.posterior.attrs
    assert attrs["compile_time"] > 0 and attrs["sampling_time"] > 0
    sampler = "blackjax" if how["backend"] == "jax" else "nutpie"
    assert attrs["sampler"] == f"{sampler} NUTS"


@pytest.mark.parametrize("how", SAMPLERS)
def test_seed_reproducible_and_warmup(how):
    model, _ = _model()
    kw = dict(draws=30, tune=40, chains=2, progressbar=False, model=model, **how)
    a = ppl.sample(random_seed=3, discard_tuned_samples=False, **kw)
    b = ppl.sample(random_seed=3, **kw)
    c = ppl.sample(random_seed=4, **kw)
    np.testing.assert_array_equal(a.posterior["mu"].values, b.posterior["mu"].values)
    assert not np.array_equal(a.posterior["mu"].values, c.posterior["mu"].values)
    assert a.warmup_posterior["mu"].shape == (2, 40, 2)


@pytest.mark.parametrize("how", SAMPLERS)
def test_initial_points_differ_between_chains(how):
    model, _ = _model()
    idata = ppl.sample(
        **how,
        draws=3,
        tune=3,
        chains=2,
        random_seed=0,
        progressbar=False,
        model=model,
        discard_tuned_samples=False,
    )
    first = idata.warmup_posterior["mu"].values[:, 0]
    assert not np.allclose(first[0], first[1])


def test_errors():
    with ppl.Model() as discrete:
        ppl.Poisson("k", 3.0)
    with pytest.raises(TypeError, match="discrete"):
        ppl.sample(model=discrete, progressbar=False)
    xb = ppl.Minibatch(np.zeros(10), batch_size=2)
    with ppl.Model() as mb:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=xb)
    with pytest.raises(ValueError, match="Minibatch"):
        ppl.sample(model=mb, progressbar=False)
    with ppl.Model() as bad:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Potential("wall", ppl.logp(ppl.Uniform.dist(5.0, 6.0), mu))
    with pytest.raises(ValueError, match="wall"):
        ppl.sample(model=bad, progressbar=False, chains=1, draws=5, tune=5)
    with pytest.raises(ValueError, match="nuts_sampler must be"):
        ppl.sample(model=bad, nuts_sampler="stan")
    with pytest.raises(ValueError, match="needs backend='jax'"):
        ppl.sample(model=bad, nuts_sampler="blackjax", backend="numpy")
    with pytest.raises(TypeError, match="the blackjax sampler does not take"):
        ppl.sample(
            model=bad,
            backend="jax",
            nuts_sampler_kwargs={"low_rank_modified_mass_matrix": True},
        )


_PROCESSES = """
import json, warnings
import numpy as np
from tessera import ppl
warnings.simplefilter("error")  # a fork warning (or any other) fails the run
y = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 1.0]])
with ppl.Model() as model:
    mu = ppl.Normal("mu", 0.0, 5.0, shape=2)
    sigma = ppl.HalfNormal("sigma", 2.0)
    ppl.Normal("y", mu[:, None], sigma, observed=y)
kw = dict(draws=30, tune=30, chains=2, progressbar=False, model=model,
          chain_method="processes", compute_convergence_checks=False)
a = ppl.sample(random_seed=2, **kw)
b = ppl.sample(random_seed=2, **kw)
print(json.dumps({"a": a.posterior["mu"].values.tolist(),
                  "b": b.posterior["mu"].values.tolist(),
                  "backend": a.posterior.attrs["backend"],
                  "div": list(a.sample_stats["diverging"].shape)}))
"""


def test_chain_processes():
    # a fresh interpreter: this one may have started JAX's threads already
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PROCESSES], capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    mu = np.array(res["a"])
    assert res["backend"] == "numpy"  # "auto" with processes: the fork-safe one
    assert mu.shape == (2, 30, 2)
    assert not np.array_equal(mu[0], mu[1])
    np.testing.assert_array_equal(mu, np.array(res["b"]))
    assert res["div"] == [2, 30]


def test_chain_processes_never_fork_a_jax_process():
    import jax.numpy as jnp

    from tessera.ppl.inference.nuts_nutpie_processes import jax_runtime_started

    jnp.ones(1).block_until_ready()  # JAX's runtime runs in this process
    assert jax_runtime_started()
    model, _ = _model()
    kw = dict(draws=30, tune=30, chains=2, progressbar=False, model=model)
    with pytest.warns(RuntimeWarning, match="the chains run in threads"):
        a = ppl.sample(random_seed=2, chain_method="processes", **kw)
    assert a.posterior["mu"].shape == (2, 30, 2)
    with pytest.raises(ValueError, match="chain_method must be"):
        ppl.sample(chain_method="mpi", **kw)
    with pytest.raises(ValueError, match="does not survive"):
        ppl.sample(chain_method="processes", backend="jax", **kw)
    with pytest.raises(ValueError, match="needs nuts_sampler='blackjax'"):
        ppl.sample(chain_method="vectorized", backend="numpy", **kw)


def test_default_chains_follow_pymc():
    import os

    model, _ = _model()
    idata = ppl.sample(draws=20, tune=20, progressbar=False, model=model)
    assert idata.posterior.sizes["chain"] == max(2, min(4, os.cpu_count() or 1))
    assert idata.posterior.attrs["backend"] == "jax"


def test_blackjax_chains_vectorized_or_in_threads():
    """Threads run BlackJAX's kernel per chain, "vectorized" tessera's lanes
    NUTS (the same algorithm): the same posterior, reproducible draws."""
    pytest.importorskip("blackjax")
    model, _ = _model()
    kw = dict(draws=500, tune=300, chains=2, progressbar=False, model=model)
    kw.update(backend="jax", random_seed=4, compute_convergence_checks=False)
    threads = ppl.sample(**kw)
    vec = ppl.sample(chain_method="vectorized", **kw)
    again = ppl.sample(chain_method="vectorized", **kw)
    assert threads.posterior.attrs["chain_method"] == "threads"
    assert vec.posterior.attrs["chain_method"] == "vectorized"
    np.testing.assert_array_equal(
        vec.posterior["mu"].values, again.posterior["mu"].values
    )
    a, b = vec.posterior["mu"].values, threads.posterior["mu"].values
    assert not np.array_equal(a[0], a[1])
    sd = b.std(axis=(0, 1))
    assert np.all(np.abs(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))) < 0.3 * sd)
    assert np.all(np.abs(a.std(axis=(0, 1)) / sd - 1) < 0.25)


@pytest.fixture
def lowered(monkeypatch):
    """One entry per JAX program lowered (then compiled) from now on."""
    import jax

    calls = []
    real = jax.stages.Traced.lower

    def spy(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jax.stages.Traced, "lower", spy)
    return calls


@pytest.mark.parametrize("chain_method", ["threads", "vectorized"])
def test_sampler_is_reused_after_set_data(lowered, chain_method):
    """The sampler's program takes the data as inputs: new values of the
    same shape reuse it (nothing lowered or compiled), and the draws follow
    the new data."""
    with ppl.Model() as model:
        y = ppl.Data("y", np.array([0.9, 1.1, 1.0]))
        mu = ppl.Normal("mu", 0.0, 10.0)
        ppl.Normal("obs", mu, 0.5, observed=y)
    kw = dict(draws=300, tune=300, chains=2, progressbar=False, random_seed=2)
    kw.update(chain_method=chain_method, compute_convergence_checks=False)
    first = ppl.sample(**kw, model=model)
    n = len(lowered)
    with model:
        ppl.set_data({"y": np.array([5.9, 6.1, 6.0])})
    second = ppl.sample(**kw, model=model)
    assert n >= 1 and len(lowered) == n
    assert abs(float(first.posterior["mu"].mean()) - 1.0) < 0.3
    assert abs(float(second.posterior["mu"].mean()) - 6.0) < 0.3


def test_a_changed_shared_value_outside_the_data_recompiles(lowered):
    """A shared variable that is not model data is baked into the program:
    a new value gives a new program, never the stale one."""
    import tessera as ts

    loc = ts.shared(np.array(1.0), name="loc")
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 10.0)
        ppl.Normal("obs", mu + loc, 0.5, observed=np.array([1.0, 1.0, 1.0]))
    kw = dict(draws=300, tune=300, chains=2, progressbar=False, random_seed=2)
    kw.update(model=model, compute_convergence_checks=False)
    first = ppl.sample(**kw)
    n = len(lowered)
    loc.set_value(np.array(-4.0))
    second = ppl.sample(**kw)
    assert len(lowered) > n
    assert abs(float(first.posterior["mu"].mean()) - 0.0) < 0.3
    assert abs(float(second.posterior["mu"].mean()) - 5.0) < 0.3


@pytest.fixture
def compiled(monkeypatch):
    """One entry per program tessera compiles through its XLA options from
    now on (the samplers' programs among them)."""
    from tessera.compile.backends.jax import options

    calls = []
    real = options.jit

    def spy(fun, **kwargs):
        calls.append(getattr(fun, "__name__", fun))
        return real(fun, **kwargs)

    monkeypatch.setattr(options, "jit", spy)
    return calls


def _scaled_model(scale):
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, scale)
        ppl.Normal("obs", mu, 0.5, observed=np.array([0.9, 1.1, 1.0]))
    return model


@pytest.mark.parametrize("chain_method", ["threads", "vectorized"])
def test_a_rebuilt_model_reuses_the_compiled_sampler(compiled, chain_method):
    """A model built again by the same code (a notebook cell run again) has
    the first one's structure: its sampler is the first one's program (not
    compiled again), and so are its draws; another prior scale is a
    constant of another program."""
    kw = dict(draws=200, tune=200, chains=2, progressbar=False, random_seed=4)
    kw.update(chain_method=chain_method, compute_convergence_checks=False)
    first = ppl.sample(model=_scaled_model(10.0), **kw)
    n = len(compiled)
    assert n >= 1
    again = ppl.sample(model=_scaled_model(10.0), **kw)
    assert len(compiled) == n
    np.testing.assert_array_equal(again.posterior["mu"], first.posterior["mu"])
    other = ppl.sample(model=_scaled_model(0.01), **kw)
    assert len(compiled) > n
    # the tight prior holds mu near 0, where the first posterior is near 1
    assert abs(float(other.posterior["mu"].mean())) < 0.05
    assert abs(float(first.posterior["mu"].mean()) - 1.0) < 0.3


def _records(caplog):
    """The backend lines (INFO; the convergence warnings are WARNING)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "tessera.ppl" and r.levelno == logging.INFO
    ]


def test_second_sample_reuses_the_compiled_programs(caplog):
    from tessera.ppl.inference import nuts_blackjax

    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=np.array([0.3, 0.9]))
    kw = dict(draws=50, tune=50, chains=2, random_seed=5, progressbar=False, model=m)
    with caplog.at_level(logging.INFO, logger="tessera.ppl"):
        a = ppl.sample(**kw)
        programs = sum(len(v) for v in nuts_blackjax._COMPILED.values())
        b = ppl.sample(**kw)
    assert _records(caplog) == [
        "ppl.sample: JAX backend (one compiled program)",
        "ppl.sample: JAX backend (compiled earlier)",
    ]
    assert sum(len(v) for v in nuts_blackjax._COMPILED.values()) == programs
    np.testing.assert_array_equal(a.posterior["mu"], b.posterior["mu"])


def test_new_data_and_new_variables_are_not_served_stale(caplog):
    with ppl.Model() as m:
        x = ppl.Data("x", np.array([0.0, 0.0, 0.0]))
        mu = ppl.Normal("mu", 0.0, 10.0)
        ppl.Normal("y", mu, 0.1, observed=x)
    kw = dict(draws=100, tune=100, chains=2, random_seed=5, progressbar=False, model=m)
    before = float(ppl.sample(**kw).posterior["mu"].mean())
    with m:
        ppl.set_data({"x": np.array([5.0, 5.0, 5.0])})
    after = float(ppl.sample(**kw).posterior["mu"].mean())
    assert abs(before) < 0.5 and abs(after - 5.0) < 0.5
    with m:
        ppl.Normal("z", 0.0, 1.0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tessera.ppl"):
        idata = ppl.sample(**kw)
    assert "z" in idata.posterior
    assert _records(caplog) == ["ppl.sample: JAX backend (one compiled program)"]
