"""Every VI method against exact answers: a conjugate batched MvNormal, a
correlated Gaussian, a banana and Neal's funnel; backends agree."""

import warnings

import arviz as az
import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.inference.advi import batched_logp
from tessera.ppl.inference.flows import Scale

# method, inf_kwargs, fit keywords: steps, optimizer, obj_n_mc
METHODS = {
    "advi": ("advi", {}, dict(n=3000)),
    "fullrank_advi": ("fullrank_advi", {}, dict(n=3000, obj_n_mc=4)),
    "svgd": (
        "svgd",
        {"n_particles": 60},
        dict(n=800, obj_optimizer=ppl.adam(0.05)),
    ),
    "asvgd": ("asvgd", {}, dict(n=1500, obj_n_mc=100, obj_optimizer=ppl.adam(0.02))),
    "nfvi": ("nfvi", {"flow": "scale-loc"}, dict(n=3000)),
    "nfvi_planar": (
        "nfvi",
        {"flow": "scale-loc-planar*2"},
        dict(n=3000, obj_n_mc=4),
    ),
}


def _conjugate():
    """x_b ~ N(0, 4 I), y_bi ~ N(x_b, S) for two groups b: exact posterior."""
    rng = np.random.default_rng(0)
    S = np.diag([1.0, 0.25])
    Y = rng.normal([[1.0, -1.0], [0.0, 2.0]], [1.0, 0.5], size=(5, 2, 2))
    with ppl.Model() as model:
        x = ppl.MvNormal("x", mu=np.zeros(2), cov=4.0 * np.eye(2), shape=(2, 2))
        ppl.MvNormal("y", mu=x, cov=S, observed=Y)
    prec = np.eye(2) / 4.0 + 5 * np.linalg.inv(S)
    cov = np.linalg.inv(prec)
    mean = (cov @ (np.linalg.inv(S) @ Y.sum(axis=0).T)).T
    return model, mean, cov


@pytest.mark.parametrize("name", list(METHODS))
def test_conjugate_batched_mvnormal(name):
    method, inf_kwargs, kw = METHODS[name]
    model, mean, cov = _conjugate()
    kw = dict(kw)
    approx = ppl.fit(
        kw.pop("n"),
        method=method,
        model=model,
        random_seed=1,
        inf_kwargs=inf_kwargs,
        progressbar=False,
        backend="numpy",
        **kw,
    )
    sd = np.sqrt(np.diag(cov))
    # means within a quarter posterior sd, sds within 25%, correlations ~ 0
    np.testing.assert_allclose(approx.mean["x"], mean, atol=0.25 * sd.max())
    np.testing.assert_allclose(approx.std["x"], np.broadcast_to(sd, (2, 2)), rtol=0.25)
    corr = np.corrcoef(approx.sample_flat(4000, random_seed=0), rowvar=False)
    assert np.abs(corr - np.eye(4)).max() < 0.25
    assert approx.hist.shape[0] > 0 and np.all(np.isfinite(approx.hist))


def _correlated(rho=0.9):
    with ppl.Model() as model:
        ppl.MvNormal("x", mu=np.zeros(2), cov=np.array([[1.0, rho], [rho, 1.0]]))
    return model


@pytest.mark.parametrize(
    "name, covers",
    [
        ("advi", False),
        ("fullrank_advi", True),
        ("svgd", True),
        ("nfvi_planar", True),
    ],
)
def test_correlated_gaussian_marginal_variance(name, covers):
    method, inf_kwargs, kw = METHODS[name]
    kw = dict(kw)
    if name == "nfvi_planar":
        inf_kwargs = {"flow": "scale-loc-planar*4"}
        kw["obj_n_mc"] = 8
    approx = ppl.fit(
        kw.pop("n"),
        method=method,
        model=_correlated(),
        random_seed=0,
        inf_kwargs=inf_kwargs,
        progressbar=False,
        backend="numpy",
        **kw,
    )
    std = approx.std_flat
    if covers:  # marginal sd 1
        np.testing.assert_allclose(std, 1.0, rtol=0.2)
    else:  # mean-field fits the conditional sd sqrt(1 - 0.81) = 0.44
        assert np.all(std < 0.6), std


def _banana():
    with ppl.Model() as model:
        x1 = ppl.Normal("x1", 0.0, 1.0)
        ppl.Normal("x2", 0.5 * (x1**2 - 1.0), 0.5)
    return model


def _funnel():
    with ppl.Model() as model:
        v = ppl.Normal("v", 0.0, 1.5)
        ppl.Normal("x", 0.0, ts.exp(v / 2), shape=2)
    return model


def _kl_and_pareto_k(model, approx, draws=20_000):
    """KL(q || p) (both targets are normalized densities: log Z = 0) and the
    Pareto k of the importance weights p / q, from ``draws`` draws of q."""
    n = model.flat_layout().size
    xs = ts.tensor("xs", shape=(None, n))
    logp = ts.function([xs], batched_logp(model, xs))
    z, logq = approx.sample_flat_logq(draws, random_seed=1)
    logw = logp(z) - logq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, k = az.psislw(logw.copy())
    return float(-np.mean(logw)), float(k)


@pytest.mark.parametrize(
    "make, flow, steps, obj_n_mc, k_margin, k_max",
    [
        (_banana, "loc-planar*4", 4000, 8, 0.0, 1.0),
        # the funnel's scale depends on v (log sd of x = v/2): one IAF layer
        # in the order (v, x) represents it exactly, planar and radial flows
        # cannot. Its fit is limited by the gradient's noise, not by the
        # steps: on fit seeds 0, 4, 7, 9, 10, 6,000 steps of 32 draws left k
        # at 0.43-0.73, 2,000 steps of 256 draws (faster: the draws are one
        # batched graph) at 0.29-0.47
        (_funnel, "loc-iaf*2", 2000, 256, 0.1, 0.6),
    ],
)
def test_flows_closer_than_fullrank(make, flow, steps, obj_n_mc, k_margin, k_max):
    # both targets have unit scale: the flows start there (Scale's default,
    # 0.1 like ADVI's, suits tight posteriors)
    flow = [Scale(init_std=1.0), flow]
    model = make()
    full = ppl.fit(
        4000, method="fullrank_advi", model=model, random_seed=0,
        progressbar=False, backend="numpy",
    )  # fmt: skip
    nf = ppl.fit(
        steps, method="nfvi", model=model, random_seed=0, obj_n_mc=obj_n_mc,
        inf_kwargs={"flow": flow}, progressbar=False, backend="numpy",
    )  # fmt: skip
    (kl_full, k_full), (kl_nf, k_nf) = (
        _kl_and_pareto_k(model, full),
        _kl_and_pareto_k(model, nf),
    )
    # closer in KL(q || p), by a margin far above the estimate's noise
    # (over fit seeds 0-5: banana 0.07-0.11 vs 0.28-0.36; funnel, IAF
    # 0.003-0.015 vs full-rank's 0.63-0.68, over seeds 0-11 0.003-0.05 vs
    # 0.62-0.70; planar/radial flows had 0.35-0.40)
    assert kl_nf < kl_full - 0.1, (kl_nf, kl_full)
    # a smaller Pareto k: lighter-tailed weights, so q also covers p
    # better (20,000 draws). Banana: over fit seeds 0-5 the flow's k is
    # 0.37-0.67, full-rank's 0.61-0.78, lower in every seed. Funnel: over
    # fit seeds 0-11 the IAF's k is 0.20-0.52, full-rank's 0.62-0.74, lower
    # by 0.20 or more in every seed (planar/radial flows stayed at 0.7-0.8,
    # as full-rank: they do not reach the funnel's mouth and neck)
    assert k_nf < k_full - k_margin, (k_nf, k_full)
    assert k_nf < k_max, k_nf  # funnel: usable importance weights (k < 0.7)


@pytest.mark.parametrize(
    "method, inf_kwargs, kw",
    [
        ("advi", {}, {}),
        ("fullrank_advi", {}, {}),
        ("svgd", {"n_particles": 10}, {}),
        ("asvgd", {}, {"obj_n_mc": 10}),
        ("nfvi", {"flow": "scale-loc-planar-radial"}, {"obj_n_mc": 2}),
        ("nfvi", {"flow": "scale-loc-iaf*2"}, {"obj_n_mc": 2}),
    ],
)
def test_backends_agree(method, inf_kwargs, kw):
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 10.0)
        s = ppl.HalfNormal("s", 2.0)
        ppl.Normal("y", mu, s, observed=np.array([0.3, 1.2, 2.0, 0.7]))
    hists = []
    for backend in ("numpy", "jax"):
        approx = ppl.fit(
            300, method=method, model=model, random_seed=3, inf_kwargs=inf_kwargs,
            progressbar=False, backend=backend, **kw,
        )  # fmt: skip
        hists.append(approx.hist)
    np.testing.assert_allclose(hists[0], hists[1], rtol=1e-7, atol=1e-8)
