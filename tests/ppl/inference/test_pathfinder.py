"""Pathfinder: the L-BFGS Gaussians, exactness on Gaussians, multi-path
resampling and Pareto k, eight schools against NUTS, init="pathfinder"."""

import warnings

import numpy as np
import pytest
from scipy import stats

from tessera import ppl
from tessera.ppl.inference.pathfinder import (
    _diag_update,
    _Gaussians,
    _lbfgs_path,
    lbfgs_gaussians,
    pathfinder_draws,
)

COV = np.array([[2.0, 0.9, 0.2], [0.9, 1.0, -0.3], [0.2, -0.3, 0.5]])
MEAN = np.array([1.0, -1.0, 2.0])


def _gaussian():
    with ppl.Model(coords={"d": ["a", "b", "c"]}) as model:
        ppl.MvNormal("x", mu=MEAN, cov=COV, dims="d")
    return model


def test_final_lbfgs_gaussian_is_exact_on_a_gaussian():
    model = _gaussian()
    f = model.logp_dlogp_function()
    xs, gs, _ = _lbfgs_path(f, np.zeros(3), 5, 1000, 1e-12, 1e-12, 1000)
    mu, alpha, Q, Lc, logdet = lbfgs_gaussians(xs, gs, 5)[-1]
    np.testing.assert_allclose(mu, MEAN, atol=1e-5)
    # the covariance the draws have (from the factors) and its log-det agree
    H = _covariance_of_draws(alpha, Q, Lc, logdet)
    np.testing.assert_allclose(np.linalg.slogdet(H)[1], logdet, rtol=1e-10)
    # L-BFGS explored every direction of a 3-d quadratic: H is close to the
    # covariance (not equal: the line search is inexact)
    assert np.linalg.norm(H - COV) / np.linalg.norm(COV) < 0.2


def _covariance_of_draws(alpha, Q, Lc, logdet):
    """``H`` as the draws give it: the draws from the columns of I are the
    columns of a square root of H."""
    n = alpha.size
    one = _Gaussians(np.array([0]), np.zeros((1, n)), alpha[None], Q[None],
                     Lc[None], np.array([logdet]))  # fmt: skip
    z, _ = one.draw(np.eye(n)[None])
    return z[0].T @ z[0]


def _dense_inverse_hessian(alpha, S, Y):
    """The compact L-BFGS form written out densely, one iterate at a time
    (the reference for the stacked computation)."""
    Sm, Ym = np.array(S).T, np.array(Y).T
    m = Sm.shape[1]
    SY = Sm.T @ Ym
    Rinv = np.linalg.inv(np.triu(SY))
    beta = np.hstack([alpha[:, None] * Ym, Sm])
    gamma = np.block([
        [np.zeros((m, m)), -Rinv],
        [-Rinv.T, Rinv.T @ (np.diag(np.diag(SY)) + Ym.T @ (alpha[:, None] * Ym)) @ Rinv],
    ])  # fmt: skip
    return np.diag(alpha) + beta @ gamma @ beta.T


def test_every_iterates_gaussian_matches_the_dense_compact_form():
    # a 6-d quadratic with a wide spectrum, maxcor 3: the path's iterates
    # have 0, 1, 2 and 3 pairs (stacked by that number), so every group of
    # the batched computation is checked against the one-at-a-time formula
    rng = np.random.default_rng(3)
    A = rng.standard_normal((6, 6))
    P = A @ A.T + np.diag(np.geomspace(0.1, 10, 6))
    xs, gs = [rng.standard_normal(6)], []
    for _ in range(8):  # steepest-ascent steps of logp = -x'Px/2
        gs.append(-P @ xs[-1])
        xs.append(xs[-1] + 0.05 * gs[-1])
    gs.append(-P @ xs[-1])
    xs, gs = np.array(xs), np.array(gs)
    qs = lbfgs_gaussians(xs, gs, 3)
    alpha, S, Y = np.ones(6), [], []
    for k in range(1, len(xs)):
        s, y = xs[k] - xs[k - 1], gs[k - 1] - gs[k]
        S, Y = (S + [s])[-3:], (Y + [y])[-3:]
        alpha = _diag_update(alpha, s, y)
        mu, a, Q, Lc, logdet = qs[k - 1]
        H = _dense_inverse_hessian(alpha, S, Y)
        np.testing.assert_allclose(a, alpha, rtol=1e-12)
        np.testing.assert_allclose(
            _covariance_of_draws(a, Q, Lc, logdet), H, rtol=1e-8, atol=1e-12
        )
        np.testing.assert_allclose(logdet, np.linalg.slogdet(H)[1], rtol=1e-8)
        np.testing.assert_allclose(mu, xs[k] + H @ gs[k], rtol=1e-8, atol=1e-12)


def test_lbfgs_gaussians_skip_pairs_without_curvature():
    xs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    gs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, -1.0]])  # first pair: s.y < 0
    qs = lbfgs_gaussians(xs, gs, 5)
    np.testing.assert_allclose(qs[0][1], 1.0)  # no accepted pair: diag stays 1
    assert qs[0][2].shape == (2, 0)
    assert qs[1][2].shape[1] == 2  # one pair: a rank-2 correction


@pytest.mark.parametrize("num_paths", [1, 4])
def test_gaussian_posterior_moments_and_idata(num_paths):
    idata = ppl.pathfinder(
        _gaussian(), num_paths=num_paths, num_draws=3000, random_seed=0,
        num_draws_per_path=1000, progressbar=False, backend="numpy",
    )  # fmt: skip
    x = idata.posterior["x"]
    assert x.dims == ("chain", "draw", "d") and x.shape == (1, 3000, 3)
    assert list(x.coords["d"].values) == ["a", "b", "c"]
    draws = x.values[0]
    np.testing.assert_allclose(draws.mean(0), MEAN, atol=0.1)
    np.testing.assert_allclose(np.cov(draws.T), COV, atol=0.15)
    attrs = idata.posterior.attrs
    assert attrs["pareto_k"] < 0.5 and len(attrs["elbo"]) == num_paths
    assert idata.sample_stats["lp"].shape == (1, 3000)


def _eight_schools():
    y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
    sigma = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        theta_t = ppl.Normal("theta_t", 0.0, 1.0, shape=8)
        ppl.Normal("y", mu + tau * theta_t, sigma, observed=y)
    return model


def _normal_unknown_scale():
    y = np.random.default_rng(4).normal(1.0, 2.0, size=30)
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 10.0)
        sigma = ppl.HalfNormal("sigma", 5.0)
        ppl.Normal("y", mu, sigma, observed=y)
    return model


def _nuts(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ppl.sample(
            1000, tune=1000, chains=2, model=model, random_seed=1,
            progressbar=False, target_accept=0.9,
        )  # fmt: skip


def test_matches_nuts_by_two_sample_test():
    model = _normal_unknown_scale()
    nuts = _nuts(model)
    pf = ppl.pathfinder(
        model, num_paths=4, num_draws=1000, num_draws_per_path=1000,
        random_seed=0, progressbar=False,
    )  # fmt: skip
    for name in ("mu", "sigma"):
        a = pf.posterior[name].values.ravel()
        b = nuts.posterior[name].values.ravel()[::2]  # about independent draws
        assert stats.ks_2samp(a, b).pvalue > 0.01, name


def test_eight_schools_against_nuts_and_pareto_k():
    # non-centred eight schools: the L-BFGS paths head for large tau and
    # the Gaussians along them are narrower in mu than the posterior (as
    # BlackJAX's Pathfinder's are); the Pareto k of the importance weights
    # must say so, and tau's draws must still be in the posterior's range
    model = _eight_schools()
    nuts = _nuts(model)
    with pytest.warns(UserWarning, match="Pareto k"):
        pf = ppl.pathfinder(
            model, num_paths=16, num_draws=1000, num_draws_per_path=500,
            random_seed=0, progressbar=False,
        )  # fmt: skip
    assert pf.posterior.attrs["pareto_k"] > 0.7
    tau_pf = pf.posterior["tau"].values.ravel()
    tau_nuts = nuts.posterior["tau"].values.ravel()[::2]
    assert stats.ks_2samp(tau_pf, tau_nuts).statistic < 0.35
    mu_pf = pf.posterior["mu"].values.ravel()
    mu_nuts = nuts.posterior["mu"].values.ravel()
    assert abs(mu_pf.mean() - mu_nuts.mean()) < 1.2 * mu_nuts.std()


def test_init_pathfinder_starts_nuts():
    from tessera.ppl.inference.start import pathfinder_start

    model = _gaussian()
    x0, inv_mass = pathfinder_start(model, 3, 0, 1000, False, "numpy")
    assert x0.shape == (3, 3) and len({tuple(r) for r in x0}) == 3
    np.testing.assert_allclose(inv_mass, np.diag(COV), rtol=0.2)
    idata = ppl.sample(
        200, tune=200, chains=2, init="pathfinder", model=model, random_seed=0,
        progressbar=False, backend="numpy",
    )  # fmt: skip
    np.testing.assert_allclose(
        idata.posterior["x"].mean(("chain", "draw")), MEAN, atol=0.3
    )


def test_errors():
    with pytest.raises(ValueError, match="importance_sampling"):
        pathfinder_draws(_gaussian(), importance_sampling="is", progressbar=False)
    with pytest.raises(ValueError, match="num_paths"):
        pathfinder_draws(_gaussian(), num_paths=0, progressbar=False)


def test_batch_logdensity_compiled_once_per_model(monkeypatch):
    # JAX compiles once per input shape: the batch log-density is kept on
    # the model and fed padded buckets of rows, so that a second call
    # compiles nothing (the number of ELBO draws varies along each path)
    from tessera.compile.function import Function

    model = _normal_unknown_scale()
    ppl.pathfinder(model, num_paths=2, num_draws=100, random_seed=0, progressbar=False)
    (entry,) = model.__dict__["_compiled_batch_logp"].values()
    fn = entry[1][0]
    shapes = []
    real_call = Function.__call__

    def spy(self, *args, **kw):
        if self is fn:
            shapes.append(np.shape(args[0]))
        return real_call(self, *args, **kw)

    monkeypatch.setattr(Function, "__call__", spy)
    ppl.pathfinder(model, num_paths=3, num_draws=100, random_seed=1, progressbar=False)
    (again,) = model.__dict__["_compiled_batch_logp"].values()
    assert again[1][0] is fn
    assert shapes and all(r in (16, 32, 64, 128, 256, 512, 1024) for r, _ in shapes)
