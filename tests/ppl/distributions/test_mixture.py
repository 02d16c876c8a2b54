"""Mixture: log-density, log-CDF, gradients and draws against SciPy mixtures."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.testing import verify_grad


def _mix(w, refs, x, method):
    """log sum_i w_i ref_i.method(x) with the component axis last in ``w``."""
    vals = np.stack(
        np.broadcast_arrays(*[getattr(r, method)(x) for r in refs]), axis=-1
    )
    return np.log((w * vals).sum(-1))


W2 = np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])  # batched weights (3, 2)

# (name, comp_dists builder, references (from the same params), discrete)
CASES = [
    (
        "normal+studentt",
        lambda: [
            ppl.Normal.dist([-1.0, 0.0, 1.0], 1.5),
            ppl.StudentT.dist(3.0, 2.0, 0.5),
        ],
        [st.norm([-1.0, 0.0, 1.0], 1.5), st.t(3.0, 2.0, 0.5)],
        False,
    ),
    (
        "stacked gamma",
        lambda: ppl.Gamma.dist(alpha=[2.0, 5.0], beta=[[1.0], [2.0], [3.0]]),
        [
            st.gamma(2.0, 0, 1 / np.array([1.0, 2.0, 3.0])),
            st.gamma(5.0, 0, 1 / np.array([1.0, 2.0, 3.0])),
        ],
        False,
    ),
    (
        "beta+uniform",
        lambda: [ppl.Beta.dist(2.0, 5.0), ppl.Uniform.dist(0.0, 1.0)],
        [st.beta(2.0, 5.0), st.uniform(0.0, 1.0)],
        False,
    ),
    (
        "stacked poisson",
        lambda: ppl.Poisson.dist(mu=[1.0, 8.0]),
        [st.poisson(1.0), st.poisson(8.0)],
        True,
    ),
    (
        "binomial+negbinomial",
        lambda: [ppl.Binomial.dist(10, 0.3), ppl.NegativeBinomial.dist(n=2.0, p=0.4)],
        [st.binom(10, 0.3), st.nbinom(2.0, 0.4)],
        True,
    ),
]


def _values(refs, discrete, rng):
    x = np.concatenate(
        [np.ravel(r.rvs(size=(4, 3), random_state=rng))[:6] for r in refs]
    )
    return x.reshape(4, 3).astype(np.int64 if discrete else np.float64)


@pytest.mark.parametrize(
    "name, comps, refs, discrete", CASES, ids=[c[0] for c in CASES]
)
def test_logp_logcdf_against_scipy(name, comps, refs, discrete):
    rng = np.random.default_rng(0)
    mix = ppl.Mixture.dist(W2, comps())
    assert mix.type.shape == (3,)
    assert mix.dtype == ("int64" if discrete else "float64")
    x = _values(refs, discrete, rng)  # (4, 3): values broadcast against the batch
    method = "pmf" if discrete else "pdf"
    np.testing.assert_allclose(ppl.logp(mix, x).eval(), _mix(W2, refs, x, method))
    np.testing.assert_allclose(
        ppl.logcdf(mix, x).eval(), _mix(W2, refs, x, "cdf"), rtol=1e-7
    )


@pytest.mark.parametrize(
    "name, comps, refs, discrete", CASES, ids=[c[0] for c in CASES]
)
def test_draws_against_scipy(name, comps, refs, discrete):
    n = 4000
    x = ppl.draw(ppl.Mixture.dist(W2, comps(), size=(n, 3)), random_seed=1)
    assert x.shape == (n, 3)
    for j in range(3):
        sample = x[:, j]
        elem = [_Element(r, j) for r in refs]
        if discrete:
            grid = np.arange(sample.min(), sample.max() + 1)
            freq = (sample[:, None] == grid).mean(0)
            p = sum(w * r.pmf(grid) for w, r in zip(W2[j], elem))
            assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-3)
        else:
            cdf = sum(w * r.cdf(sample) for w, r in zip(W2[j], elem))
            assert st.kstest(cdf, "uniform").pvalue > 1e-3


class _Element:
    """Batch element ``j`` of a frozen scipy distribution with (3,) parameters."""

    def __init__(self, ref, j):
        self.ref, self.j = ref, j

    def __getattr__(self, method):
        def fn(x):
            out = getattr(self.ref, method)(np.asarray(x)[..., None])
            return np.broadcast_to(out, np.shape(x) + (3,))[..., self.j]

        return fn


def test_gradient_in_weights_parameters_and_value():
    def fn(w, mu, sigma, x):
        w = w / w.sum(axis=-1, keepdims=True)
        comps = [ppl.Normal.dist(mu, sigma), ppl.Laplace.dist(0.5, sigma)]
        return ppl.logp(ppl.Mixture.dist(w, comps), x)

    rng = np.random.default_rng(2)
    verify_grad(
        fn,
        [
            rng.uniform(0.2, 1.0, (3, 2)),
            rng.normal(size=3),
            rng.uniform(0.5, 2, 3),
            rng.normal(size=3),
        ],
    )


def test_shapes_and_sizes():
    comp = ppl.Normal.dist(0.0, 1.0, size=(4, 2))
    assert ppl.Mixture.dist([0.5, 0.5], comp).type.shape == (
        4,
    )  # size from the components
    w = np.full((2, 1, 3), 1 / 3)
    comps = [ppl.Normal.dist(np.zeros(4), 1.0) for _ in range(3)]
    mix = ppl.Mixture.dist(w, comps)
    assert mix.type.shape == (2, 4)
    assert ppl.draw(mix, draws=2, random_seed=0).shape == (2, 2, 4)
    sized = ppl.Mixture.dist(w, comps, size=(5, 2, 4))
    assert ppl.draw(sized, random_seed=0).shape == (5, 2, 4)
    with pytest.raises(ValueError, match="does not broadcast to size"):
        ppl.Mixture.dist(w, comps, size=(3,))


def test_nested_and_truncated_components():
    inner = ppl.Mixture.dist(
        [0.5, 0.5], [ppl.Normal.dist(-1.0, 1.0), ppl.Normal.dist(1.0, 1.0)]
    )
    trunc = ppl.Truncated.dist(ppl.Normal.dist(0.0, 1.0), lower=0.0)
    mix = ppl.Mixture.dist([0.4, 0.6], [inner, trunc])
    x = np.array([-0.5, 0.5, 2.0])
    inner_pdf = 0.5 * st.norm(-1, 1).pdf(x) + 0.5 * st.norm(1, 1).pdf(x)
    expected = np.log(0.4 * inner_pdf + 0.6 * st.truncnorm(0, np.inf).pdf(x))
    np.testing.assert_allclose(ppl.logp(mix, x).eval(), expected)
    assert ppl.draw(mix, draws=10, random_seed=0).shape == (10,)


def test_invalid_weights():
    with pytest.raises(ValueError, match="w >= 0"):
        ppl.Mixture.dist([-0.5, 1.5], [ppl.Normal.dist(), ppl.Normal.dist()])
    with pytest.raises(ValueError, match="sum"):
        ppl.Mixture.dist([0.5, 0.6], [ppl.Normal.dist(), ppl.Normal.dist()])
    with pytest.raises(ValueError, match="3 components but w has 2"):
        ppl.Mixture.dist([0.5, 0.5], [ppl.Normal.dist()] * 3)
    with pytest.raises(TypeError, match="not a distribution"):
        ppl.Mixture.dist([0.5, 0.5], [ts.scalar("x"), ppl.Normal.dist()])
    w = ts.tensor("w", shape=(2,))
    mix = ppl.Mixture.dist(w, [ppl.Normal.dist(), ppl.Normal.dist()])
    assert ts.function([w], ppl.logp(mix, 0.0))([0.5, 0.7]) == -np.inf


# --- NormalMixture ---------------------------------------------------------------
# (id, w, mu, sigma or None, tau or None); component axis last
NORMAL_MIXTURE_CASES = [
    ("scalar batch", [0.3, 0.7], [-1.0, 2.0], [1.0, 0.5], None),
    ("batched w", W2, [-1.0, 2.0], [1.0, 0.5], None),
    ("batched mu, tau", [0.2, 0.5, 0.3], [[0.0, 1.0, 3.0], [2.0, 2.5, 4.0]], None, 4.0),
]


@pytest.mark.parametrize(
    "name, w, mu, sigma, tau",
    NORMAL_MIXTURE_CASES,
    ids=[c[0] for c in NORMAL_MIXTURE_CASES],
)
def test_normal_mixture_against_scipy(name, w, mu, sigma, tau):
    from scipy.special import logsumexp

    x = ppl.NormalMixture.dist(w, mu, sigma=sigma, tau=tau)
    s = np.asarray(sigma if sigma is not None else 1 / np.sqrt(tau), float)
    value = np.array([[-0.5], [0.7], [3.2]])  # broadcast against the batch
    lps = st.norm(np.asarray(mu), s).logpdf(value[..., None])
    want = logsumexp(np.log(w) + lps, axis=-1)
    np.testing.assert_allclose(ppl.logp(x, value).eval(), want)
    batch = np.broadcast_shapes(np.shape(w)[:-1], np.shape(mu)[:-1], s.shape[:-1])
    assert x.type.shape == batch


def test_normal_mixture_draws_and_comp_shape():
    x = ppl.NormalMixture.dist([0.3, 0.7], [-5.0, 5.0], sigma=0.1, comp_shape=(4, 2))
    assert x.type.shape == (4,)
    d = ppl.draw(x, draws=2000, random_seed=3)
    assert d.shape == (2000, 4)
    np.testing.assert_allclose((d > 0).mean(), 0.7, atol=0.03)
    with pytest.raises(ValueError, match="last axis of K components"):
        ppl.NormalMixture.dist([1.0], 0.0, 1.0)


def test_normal_mixture_gradient_and_backend_parity():
    pytest.importorskip("jax")
    from tessera.testing import compare_backends

    def fn(w, mu, sigma, x):
        w = w / w.sum(axis=-1, keepdims=True)
        return ppl.logp(ppl.NormalMixture.dist(w, mu, sigma), x)

    rng = np.random.default_rng(5)
    point = [
        rng.uniform(0.2, 1.0, (3, 2)),
        rng.normal(size=2),
        rng.uniform(0.5, 2, (3, 2)),
        rng.normal(size=3),
    ]
    verify_grad(fn, point)
    compare_backends(fn, point)


# --- observed ndarray data (the op is built per call) ------------------------------
@pytest.mark.parametrize("discrete", [False, True])
def test_observed_ndarray(discrete):
    data = np.array([0, 3, 9, 1])
    with ppl.Model() as model:
        w = ppl.Dirichlet("w", np.ones(2))
        if discrete:
            comps, refs = (
                ppl.Poisson.dist(mu=[1.0, 8.0]),
                [st.poisson(1), st.poisson(8)],
            )
        else:
            comps = [ppl.Normal.dist(0.0, 1.0), ppl.Normal.dist(3.0, 2.0)]
            refs = [st.norm(0, 1), st.norm(3, 2)]
        y = ppl.Mixture("y", w=w, comp_dists=comps, observed=data.astype(float))
    assert (
        y.dtype == model.rvs_to_values[y].dtype == ("int64" if discrete else "float64")
    )
    point = model.initial_point()
    terms = model.compile_logp(sum=False)(point)
    method = "pmf" if discrete else "pdf"
    want = _mix(np.array([0.5, 0.5]), refs, data, method)
    np.testing.assert_allclose(terms[1], want)
    if discrete:
        with pytest.raises(ValueError, match="must be integers"):
            with ppl.Model():
                ppl.Mixture("y", w=[0.5, 0.5], comp_dists=comps, observed=[0.5])
