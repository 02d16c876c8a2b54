"""backend="auto": JAX when the model lowers to it, NumPy otherwise, one log line."""

import logging

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.compile.backends import get_backend
from tessera.compile.backends.registry import KnownBug, installed_version
from tessera.graph.basic import Apply
from tessera.graph.op import Op
from tessera.ppl.backend import BackendUnavailableError, compile_logp_dlogp


class Twice(Op):
    """``2 x``, with no JAX lowering (a user's op)."""

    __props__ = ()

    def make_node(self, x):
        x = ts.as_tensor(x)
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs, out):
        out[0][0] = 2 * np.asarray(inputs[0])

    def pullback(self, inputs, outputs, cotangents):
        return [2 * cotangents[0]]

    def infer_shape(self, fgraph, node, shapes):
        return shapes


def _plain_model():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
    return m


def _model_with_twice():
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Potential("pull", -0.5 * Twice()(mu) ** 2)
    return m


def _records(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tessera.ppl"]


def test_auto_compiles_for_jax_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="tessera.ppl"):
        f, backend = compile_logp_dlogp(_plain_model(), "auto", "ppl.sample")
    assert backend.name == "jax" and f.fn.backend is backend
    assert _records(caplog) == ["ppl.sample: JAX backend (one compiled program)"]


def test_auto_falls_back_naming_the_op(caplog):
    model = _model_with_twice()
    with caplog.at_level(logging.INFO, logger="tessera.ppl"):
        f, backend = compile_logp_dlogp(model, "auto", "ppl.find_MAP")
    assert backend.name == "numpy"
    (line,) = _records(caplog)
    assert line.startswith("ppl.find_MAP: NumPy backend")
    assert "no lowering for op Twice" in line
    lp, g = f(np.array([1.0]))
    np.testing.assert_allclose([lp, g[0]], [-0.5 - 0.5 * np.log(2 * np.pi) - 2, -5])


def test_forced_jax_names_the_op():
    from tessera.compile.backends.jax import JaxLoweringError

    with pytest.raises(JaxLoweringError, match="Twice"):
        ppl.find_MAP(model=_model_with_twice(), backend="jax", progressbar=False)


def test_auto_on_every_entry_point(caplog):
    model = _plain_model()
    with caplog.at_level(logging.INFO, logger="tessera.ppl"), model:
        est = ppl.find_MAP(progressbar=False)
        approx = ppl.fit(200, random_seed=0, progressbar=False)
        prior = ppl.sample_prior_predictive(draws=50, random_seed=0)
        ppl.sample_posterior_predictive(prior.prior, random_seed=0)
    np.testing.assert_allclose(est["mu"], 2.0 / 3.0, rtol=1e-6)
    assert approx.hist.shape == (200,)
    assert prior.prior["mu"].shape == (1, 50)
    steps = [line.split(":")[0] for line in _records(caplog)]
    assert steps == [
        "ppl.find_MAP",
        "ppl.fit",
        "ppl.sample_prior_predictive",
        "ppl.sample_posterior_predictive",
    ]
    assert all("JAX backend" in line for line in _records(caplog))


def test_fallback_on_every_entry_point():
    model = _model_with_twice()
    with model:
        est = ppl.find_MAP(progressbar=False)
        approx = ppl.fit(50, random_seed=0, progressbar=False)
    np.testing.assert_allclose(est["mu"], 0.0, atol=1e-6)
    assert approx.hist.shape == (50,)


def test_broken_release_falls_back_or_raises(monkeypatch, caplog):
    jax = get_backend("jax")
    release = installed_version("jaxlib")
    bug = KnownBug("jaxlib", release, (*release, 1), "it hangs", "pip install x")
    monkeypatch.setattr(jax, "broken", (bug,))
    assert "jaxlib" in jax.problem() and "it hangs" in jax.problem()
    with caplog.at_level(logging.INFO, logger="tessera.ppl"):
        _, backend = compile_logp_dlogp(_plain_model(), "auto", "ppl.sample")
    assert backend.name == "numpy"
    assert "it hangs (pip install x)" in _records(caplog)[0]
    with pytest.raises(BackendUnavailableError, match="ppl.sample: jaxlib .* it hangs"):
        compile_logp_dlogp(_plain_model(), "jax", "ppl.sample")


def test_missing_distribution_is_a_problem(monkeypatch):
    jax = get_backend("jax")
    monkeypatch.setattr(jax, "requires", ("no-such-distribution",))
    assert "pip install no-such-distribution" in jax.problem()


def test_allowed_jax_releases_are_not_known_broken():
    # the dependency range (pyproject) and the known-bug list agree
    assert get_backend("jax").problem() is None
    assert installed_version("jaxlib") < (0, 10)


@pytest.mark.parametrize("dist", ["numpy", "scipy", "jax", "jaxlib", "arviz"])
def test_installed_version_reads_the_metadata_version(dist):
    from importlib import metadata

    text = metadata.version(dist)
    found = installed_version(dist)
    assert found and ".".join(map(str, found)) == text[: len(".".join(map(str, found)))]
