"""ADVI / FullRankADVI / fit: the ELBO graph, fitting, callbacks, errors."""

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.inference import (
    ADVI,
    CheckParametersConvergence,
    ELBOPlateau,
    FullRankADVI,
    NonFiniteELBOError,
    adagrad_window,
    sgd,
)
from tessera.ppl.inference.advi import flat_logp_graph

LOG_2PI = np.log(2 * np.pi)


def _std_normal_model(n=3):
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0, shape=n)
    return model


def _softplus(x):
    return np.logaddexp(0.0, x)


@pytest.mark.parametrize("obj_n_mc", [1, 3])
def test_meanfield_elbo_and_gradient_exact(obj_n_mc):
    # prior only, x ~ N(0, I): logp(z) = -|z|^2 / 2 - n log(2 pi) / 2
    n = 3
    advi = ADVI(model=_std_normal_model(n), obj_n_mc=obj_n_mc, obj_optimizer=sgd(1.0))
    mu0 = np.array([0.5, -1.0, 2.0])
    rho0 = np.array([0.1, -0.3, 0.7])
    advi.approx.mu.set_value(mu0)
    advi.approx.rho.set_value(rho0)
    eps = np.random.default_rng(0).standard_normal(advi._eps_shape)
    s = _softplus(rho0)
    z = mu0 + s * eps
    logp = -0.5 * (z**2).sum(axis=-1) - 0.5 * n * LOG_2PI
    entropy = np.log(s).sum() + 0.5 * n * (LOG_2PI + 1)
    elbo = float(advi.step_fn(eps))
    np.testing.assert_allclose(elbo, np.mean(logp) + entropy, rtol=1e-12)
    # one SGD step with learning rate 1 moves by the ELBO gradient
    z2 = np.atleast_2d(z)
    e2 = np.atleast_2d(eps)
    dmu = (-z2).mean(axis=0)
    sig = 1 / (1 + np.exp(-rho0))
    drho = (-z2 * e2).mean(axis=0) * sig + sig / s
    np.testing.assert_allclose(advi.approx.mu.get_value(), mu0 + dmu, rtol=1e-12)
    np.testing.assert_allclose(advi.approx.rho.get_value(), rho0 + drho, rtol=1e-12)


@pytest.mark.parametrize("obj_n_mc", [1, 2])
def test_fullrank_elbo_and_gradient_exact(obj_n_mc):
    n = 2
    advi = FullRankADVI(
        model=_std_normal_model(n), obj_n_mc=obj_n_mc, obj_optimizer=sgd(1.0)
    )
    mu0 = np.array([0.3, -0.2])
    rho0 = np.array([1.2, -0.4])
    U0 = np.array([[5.0, 9.0], [0.4, -7.0]])  # only the strict lower part is read
    advi.approx.mu.set_value(mu0)
    advi.approx.rho.set_value(rho0)
    advi.approx.U.set_value(U0)
    eps = np.array([[0.8, -1.1], [0.2, 0.5]])[:obj_n_mc].reshape(advi._eps_shape)
    scale = np.log1p(np.exp(rho0))
    L = scale[:, None] * (np.tril(U0, -1) + np.eye(n))
    np.testing.assert_allclose(advi.approx.cov_flat, L @ L.T)
    e2 = np.atleast_2d(eps)
    z = mu0 + e2 @ L.T
    entropy = np.log(scale).sum() + 0.5 * n * (LOG_2PI + 1)
    logp = -0.5 * (z**2).sum(axis=1) - 0.5 * n * LOG_2PI
    elbo = float(advi.step_fn(eps))
    np.testing.assert_allclose(elbo, logp.mean() + entropy, rtol=1e-12)
    # d ELBO / d L from the log-density, then the chain rule to rho and U
    dL = np.tril(-np.einsum("si,sj->ij", z, e2) / len(z))
    sig = 1.0 / (1.0 + np.exp(-rho0))
    unit = np.tril(U0, -1) + np.eye(n)
    drho = (dL * unit).sum(axis=1) * sig + sig / scale
    dU = np.tril(dL * scale[:, None], -1)
    np.testing.assert_allclose(advi.approx.rho.get_value(), rho0 + drho, rtol=1e-12)
    np.testing.assert_allclose(advi.approx.U.get_value(), U0 + dU, rtol=1e-12)


def test_fit_converges_and_continues():
    model = _std_normal_model(2)
    advi = ADVI(model=model, random_seed=0, start={"x": np.array([3.0, -3.0])})
    approx = advi.fit(3000, progressbar=False)
    assert approx.hist.shape == (3000,) and np.isfinite(approx.hist).all()
    assert approx.hist[-300:].mean() > approx.hist[:100].mean()
    advi.fit(500, progressbar=False)
    assert approx.hist.shape == (3500,)
    np.testing.assert_allclose(approx.mean["x"], 0.0, atol=0.25)
    np.testing.assert_allclose(approx.std["x"], 1.0, atol=0.25)
    # the ELBO of the exact posterior is log Z = 0
    assert abs(approx.hist[-500:].mean()) < 0.1


def test_seed_reproducible():
    model = _std_normal_model(2)
    a = ppl.fit(200, model=model, random_seed=5, progressbar=False)
    b = ppl.fit(200, model=model, random_seed=5, progressbar=False)
    c = ppl.fit(200, model=model, random_seed=6, progressbar=False)
    np.testing.assert_array_equal(a.hist, b.hist)
    assert not np.array_equal(a.hist, c.hist)


def test_other_optimizer():
    approx = ppl.fit(
        2000,
        model=_std_normal_model(2),
        obj_optimizer=adagrad_window(0.05),
        random_seed=0,
        progressbar=False,
    )
    np.testing.assert_allclose(approx.mean["x"], 0.0, atol=0.3)


@pytest.mark.parametrize(
    "callback",
    [
        CheckParametersConvergence(every=50, tolerance=10.0),
        ELBOPlateau(window=50, tolerance=10.0),
        lambda approx, hist, i: i == 99,
    ],
    ids=["parameters", "plateau", "returns-true"],
)
def test_callbacks_stop_early(callback):
    advi = ADVI(model=_std_normal_model(1), random_seed=0)
    approx = advi.fit(1000, callbacks=[callback], progressbar=False)
    assert approx.hist.shape == (100,)
    if not callable(getattr(callback, "__name__", None)) and advi.stop_reason:
        assert isinstance(advi.stop_reason, str)


def test_callback_sees_full_history():
    seen = []
    advi = ADVI(model=_std_normal_model(1), random_seed=0)
    advi.fit(5, callbacks=[lambda a, h, i: seen.append((len(h), i))], progressbar=False)
    advi.fit(2, callbacks=[lambda a, h, i: seen.append((len(h), i))], progressbar=False)
    assert seen == [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6)]


def test_progressbar_shows_elbo(capsys):
    ppl.fit(300, model=_std_normal_model(1), random_seed=0, progressbar=True)
    err = capsys.readouterr().err
    assert "ELBO" in err and "300/300" in err


def test_non_finite_elbo_keeps_last_finite_state():
    # a huge SGD step sends the parameters to inf, then the ELBO is nan
    with ppl.Model() as model:
        ppl.Normal("a", 0.0, 1.0, shape=2)
        ppl.HalfNormal("s", 1.0)
    advi = ADVI(model=model, obj_optimizer=sgd(1e200), random_seed=0)
    with pytest.raises(NonFiniteELBOError) as info, np.errstate(all="ignore"):
        advi.fit(10, progressbar=False)
    err = info.value
    msg = str(err)
    assert f"iteration {err.iteration}" in msg
    assert "non-finite parameters" in msg and "mu:" in msg
    assert "s_log__" in msg or "a[" in msg
    approx = err.approx
    assert approx is advi.approx
    assert approx.hist.shape == (err.iteration,)
    for p in approx.params:
        assert np.isfinite(p.get_value()).all()
    # the restored parameters give a finite ELBO again
    eps = np.zeros(advi._eps_shape)
    assert np.isfinite(advi.step_fn(eps))


def test_minibatch_scales_the_likelihood():
    rng = np.random.default_rng(0)
    N, B = 500, 50
    X = rng.normal(size=(N, 2))
    y = X @ np.array([1.0, -2.0]) + rng.normal(size=N)
    Xb, yb = ppl.Minibatch(X, y, batch_size=B, random_seed=0)
    with ppl.Model() as model:
        beta = ppl.Normal("beta", 0.0, 10.0, shape=2)
        ppl.Normal("y", Xb @ beta, 1.0, observed=yb)
    x = ts.tensor("x", shape=(2,))
    lp = ts.function([x], flat_logp_graph(model, x))
    rows = ppl.inference.minibatch.minibatch_info(yb).index.get_value()
    b = np.array([0.3, 0.1])
    resid = y[rows] - X[rows] @ b
    lik = -0.5 * (resid**2).sum() - 0.5 * B * LOG_2PI
    prior = -0.5 * (b**2).sum() / 100 - 2 * np.log(10) - LOG_2PI
    np.testing.assert_allclose(lp(b), prior + lik * N / B)
    # an explicit total_size wins over the data length
    Xc, yc = ppl.Minibatch(X, y, batch_size=B, random_seed=0)
    with ppl.Model() as model2:
        beta = ppl.Normal("beta", 0.0, 10.0, shape=2)
        ppl.Normal("y", Xc @ beta, 1.0, observed=yc, total_size=2 * N)
    lp2 = ts.function([x], flat_logp_graph(model2, x))
    np.testing.assert_allclose(lp2(b), prior + lik * 2 * N / B)

    approx = ppl.fit(4000, model=model, random_seed=0, progressbar=False)
    exact_cov = np.linalg.inv(np.eye(2) / 100 + X.T @ X)
    exact_mean = exact_cov @ X.T @ y
    np.testing.assert_allclose(approx.mean["beta"], exact_mean, atol=0.15)
    # scaled to the full data, the spread is the full-data one (unscaled, it
    # would be sqrt(N / B) ~ 3 times larger)
    ratio = approx.std["beta"] / np.sqrt(np.diag(exact_cov))
    assert np.all((ratio > 0.5) & (ratio < 1.6)), ratio


def test_errors():
    model = _std_normal_model(1)
    with pytest.raises(ValueError, match="unknown method"):
        ppl.fit(10, method="svgdd", model=model)
    with pytest.raises(ValueError, match="obj_n_mc"):
        ppl.fit(10, obj_n_mc=0, model=model)
    with pytest.raises(KeyError, match="'y' is neither a free variable"):
        ppl.fit(10, start={"y": 1.0}, model=model)
    with pytest.raises(TypeError, match="'optimizer' -> 'obj_optimizer'"):
        ppl.fit(10, model=model, optimizer=ppl.adam(0.1))
    with pytest.raises(NotImplementedError, match="total_grad_norm_constraint"):
        ppl.fit(10, model=model, total_grad_norm_constraint=10.0)
    with pytest.raises(
        TypeError, match=r"'obj_nmc' \(did you mean 'obj_nmc' -> 'obj_n_mc'"
    ):
        ppl.fit(10, model=model, obj_nmc=2)
    with pytest.raises(TypeError, match="inf_kwargs has 'learning_rate'"):
        ppl.fit(10, model=model, inf_kwargs={"learning_rate": 0.1})
    with pytest.raises(ValueError, match="start_sigma is for mean-field"):
        ppl.fit(10, method="fullrank_advi", model=model, start_sigma={"x": [1.0]})
    with ppl.Model() as discrete:
        ppl.Poisson("k", 3.0)
    with pytest.raises(TypeError, match="discrete"):
        ppl.fit(10, model=discrete)


def test_pymc_keywords_start_start_sigma_inf_kwargs():
    with ppl.Model() as model:
        ppl.Normal("mu", 0.0, 1.0)
        ppl.HalfNormal("s", 1.0)
    # start in the original space, start_sigma on the unconstrained one; zero
    # steps leave the approximation where it started
    approx = ppl.fit(
        0,
        model=model,
        start={"s": 2.0, "mu": 0.5},
        start_sigma={"s": 0.5},
        progressbar=False,
    )
    np.testing.assert_allclose(approx.mu.get_value(), [0.5, np.log(2.0)])
    # the others start at init_std (0.1 by default, as NumPyro's autoguides)
    np.testing.assert_allclose(approx.std_flat, [0.1, 0.5])
    same = ppl.fit(
        0,
        model=model,
        inf_kwargs={"start": {"s_log__": np.log(2.0), "mu": 0.5}},
        progressbar=False,
    )
    np.testing.assert_allclose(same.mu.get_value(), approx.mu.get_value())


def test_fit_takes_obj_optimizer_again():
    model = _std_normal_model(2)
    advi = ADVI(
        model=model, random_seed=0, start={"x": [3.0, 3.0]}, obj_optimizer=sgd(1e-12)
    )
    advi.fit(5, progressbar=False)
    np.testing.assert_allclose(advi.approx.mu.get_value(), [3.0, 3.0], atol=1e-9)
    # PyMC passes the optimizer to Inference.fit: a new one takes over
    approx = advi.fit(2000, obj_optimizer=ppl.adam(0.05), progressbar=False)
    assert np.abs(approx.mu.get_value()).max() < 0.3


def test_fullrank_stays_stable_in_many_dimensions():
    # a free Cholesky factor let Adam (steps of the learning rate's size,
    # whatever the gradient) grow all n (n - 1) / 2 off-diagonal entries at
    # once: with log-transformed scales the ELBO ran off to -1e12. With
    # L = diag(softplus(rho)) (I + U) full rank tracks mean field.
    rng = np.random.default_rng(0)
    y = rng.normal(1.0, 0.5, size=(40, 5))
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 5.0, shape=40)
        sd = ppl.Exponential("sd", 1.0, shape=40)
        ppl.Normal("y", mu[:, None], sd[:, None], observed=y)
    last = {}
    for method in ("advi", "fullrank_advi"):
        approx = ppl.fit(2000, method=method, model=model, random_seed=1,
                         progressbar=False)  # fmt: skip
        last[method] = approx.hist[-200:].mean()
    assert np.isfinite(last["fullrank_advi"])
    assert abs(last["fullrank_advi"] - last["advi"]) < 0.05 * abs(last["advi"])
