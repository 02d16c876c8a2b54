"""Draws of the time series against theory (both backends), shapes in a
model (steps, shape, dims, observed) and a short NUTS fit of an AR(1)."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
import tessera.random as tr
from tessera import ppl


def _draw(rv, backend):
    return np.asarray(ts.function([], rv, backend=backend)())


def _backends():
    try:
        import jax  # noqa: F401
    except ImportError:
        return ["numpy"]
    return ["numpy", "jax"]


BACKENDS = _backends()


@pytest.mark.parametrize("backend", BACKENDS)
def test_grw_variance_grows_linearly(backend):
    S, T = 20_000, 8
    sigma, s0, mu = np.array([0.5, 2.0]), 1.5, 0.3
    x = ppl.GaussianRandomWalk.dist(
        mu=mu,
        sigma=sigma,
        init_dist=ppl.Normal.dist(0.0, s0),
        steps=T,
        size=(S, 2),
        rng=tr.rng(1),
    )
    d = _draw(x, backend)
    assert d.shape == (S, 2, T + 1)
    t = np.arange(T + 1)
    var = s0**2 + t * sigma[:, None] ** 2  # (2, T + 1)
    np.testing.assert_array_less(np.abs(d.var(axis=0) - var), 5 * var * np.sqrt(2 / S))
    np.testing.assert_array_less(np.abs(d.mean(axis=0) - mu * t), 5 * np.sqrt(var / S))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ar1_stationary_variance(backend):
    S, T = 20_000, 30
    rho, sigma = np.array([[0.7], [-0.5]]), np.array([1.0, 0.5])
    var = sigma**2 / (1 - rho[:, 0] ** 2)
    init = ppl.Normal.dist(0.0, np.sqrt(var)[:, None])  # start stationary
    x = ppl.AR.dist(
        rho, sigma=sigma, init_dist=init, steps=T, size=(S, 2), rng=tr.rng(2)
    )
    d = _draw(x, backend)
    assert d.shape == (S, 2, T + 1)
    for t in (1, T // 2, T):
        np.testing.assert_array_less(
            np.abs(d[..., t].var(axis=0) - var), 5 * var * np.sqrt(2 / S)
        )
    lag1 = (d[..., 1:] * d[..., :-1]).mean(axis=(0, 2)) / var
    np.testing.assert_allclose(lag1, rho[:, 0], atol=0.02)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ar2_with_constant_mean(backend):
    S, T = 4000, 60
    c, r1, r2 = 1.0, 0.5, 0.2
    x = ppl.AR.dist(
        [c, r1, r2],
        sigma=1.0,
        constant=True,
        steps=T,
        init_dist=ppl.Normal.dist(c / (1 - r1 - r2), 1.0),
        size=(S,),
        rng=tr.rng(3),
    )
    d = _draw(x, backend)
    assert d.shape == (S, T + 2)
    np.testing.assert_allclose(d[:, -1].mean(), c / (1 - r1 - r2), atol=0.15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_garch_unconditional_variance(backend):
    S, T = 20_000, 60
    omega, alpha, beta = np.array([0.1, 0.3]), 0.1, 0.8
    var = omega / (1 - alpha - beta)
    x = ppl.GARCH11.dist(
        omega,
        alpha,
        beta,
        initial_vol=np.sqrt(var),
        steps=T,
        size=(S, 2),
        rng=tr.rng(4),
    )
    d = _draw(x, backend)
    assert d.shape == (S, 2, T + 1)
    ab = alpha + beta
    kurt = 3 * (1 - ab**2) / (1 - ab**2 - 2 * alpha**2)
    se = var * np.sqrt((kurt - 1) / S)
    np.testing.assert_array_less(np.abs(d[..., -1].var(axis=0) - var), 5 * se)
    np.testing.assert_array_less(np.abs(d[..., -1].mean(axis=0)), 5 * np.sqrt(var / S))


@pytest.mark.parametrize("backend", BACKENDS)
def test_euler_maruyama_ou_stationary_variance(backend):
    # x_{t+1} = (1 - lam dt) x_t + s sqrt(dt) z: variance s^2 dt / (1 - (1 - lam dt)^2)
    S, T, dt = 20_000, 80, 0.1
    lam, s = np.array([1.0, 3.0]), 0.8
    var = s**2 * dt / (1 - (1 - lam * dt) ** 2)
    x = ppl.EulerMaruyama.dist(
        dt,
        lambda x, k, g: (-k * x, g),
        (lam, s),
        init_dist=ppl.Normal.dist(0.0, np.sqrt(var)),
        steps=T,
        size=(S, 2),
        rng=tr.rng(5),
    )
    d = _draw(x, backend)
    assert d.shape == (S, 2, T + 1)
    np.testing.assert_array_less(
        np.abs(d[..., -1].var(axis=0) - var), 5 * var * np.sqrt(2 / S)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_walk_student_t_steps(backend):
    S, T, nu = 20_000, 5, 5.0
    x = ppl.RandomWalk.dist(
        ppl.Normal.dist(0.0, 1.0),
        ppl.StudentT.dist(nu, 0.5, 2.0),
        steps=T,
        size=(S,),
        rng=tr.rng(6),
    )
    d = _draw(x, backend)
    var = 1.0 + T * 4.0 * nu / (nu - 2)
    assert abs(d[:, -1].mean() - T * 0.5) < 5 * np.sqrt(var / S)
    assert abs(d[:, -1].var() - var) < 0.1 * var


# --- in a model -----------------------------------------------------------------------
def test_dims_give_steps_and_batch():
    coords = {"series": ["a", "b", "c"], "time": range(11)}
    with ppl.Model(coords=coords) as m:
        s = ppl.Exponential("s", 1.0)
        x = ppl.GaussianRandomWalk(
            "x", sigma=s, init_dist=ppl.Normal.dist(0.0, 1.0), dims=("series", "time")
        )
        y = ppl.AR("y", [0.5, 0.2], init_dist=ppl.Normal.dist(0.0, 1.0), dims="time")
        g = ppl.GARCH11("g", 0.1, 0.2, 0.5, 1.0, dims=("series", "time"))
        e = ppl.EulerMaruyama(
            "e",
            0.1,
            lambda x, k: (-k * x, 1.0),
            (s,),
            dims=("series", "time"),
            init_dist=ppl.Normal.dist(0.0, 1.0),
        )
    assert x.type.shape == g.type.shape == e.type.shape == (3, 11)
    assert x.owner.op.steps == 10 and y.owner.op.steps == 9
    point = m.initial_point()
    assert all(np.isfinite(v) for v in m.point_logps(point).values())


def test_steps_checked_against_dims():
    with ppl.Model(coords={"time": range(11)}):
        ppl.GaussianRandomWalk("ok", steps=10, dims="time")
        with pytest.raises(ValueError, match=r"variable 'x'.*steps=9 does not match"):
            ppl.GaussianRandomWalk("x", steps=9, dims="time")


def test_observed_gives_steps():
    data = np.cumsum(np.random.default_rng(0).normal(size=(2, 8)), axis=-1)
    with ppl.Model() as m:
        sigma = ppl.HalfNormal("sigma", 1.0)
        y = ppl.GaussianRandomWalk(
            "y", sigma=sigma, init_dist=ppl.Normal.dist(0.0, 5.0), observed=data
        )
        z = ppl.AR("z", [0.3], init_dist=ppl.Normal.dist(0.0, 5.0), observed=data[0])
    assert y.type.shape == (2, 8) and y.owner.op.steps == 7
    assert z.owner.op.steps == 7
    lp = m.point_logps({"sigma_log__": 0.0})
    assert np.isfinite(lp["y"]) and np.isfinite(lp["z"])


def test_shape_and_size():
    x = ppl.GaussianRandomWalk.dist(shape=(4, 3, 6))
    assert x.type.shape == (4, 3, 6) and x.owner.op.steps == 5
    y = ppl.AR.dist([0.5, 0.1], steps=5, size=(4,))
    assert y.type.shape == (4, 7)
    z = ppl.GARCH11.dist(0.1, 0.1, 0.5, [1.0, 2.0], shape=(3, 2, 5))
    assert z.type.shape == (3, 2, 5)
    assert ppl.draw(z, random_seed=0).shape == (3, 2, 5)


def test_prior_predictive():
    with ppl.Model(coords={"time": range(20)}):
        s = ppl.HalfNormal("s", 1.0)
        ppl.GaussianRandomWalk(
            "x", sigma=s, init_dist=ppl.Normal.dist(0.0, 1.0), dims="time"
        )
        idata = ppl.sample_prior_predictive(draws=50, random_seed=1)
    assert idata.prior["x"].shape == (1, 50, 20)


@pytest.mark.slow
def test_nuts_recovers_ar1_rho():
    rng = np.random.default_rng(7)
    rho, sigma, n = 0.6, 0.5, 300
    y = np.empty(n)
    y[0] = rng.normal(0.0, sigma / np.sqrt(1 - rho**2))
    for t in range(1, n):
        y[t] = rho * y[t - 1] + sigma * rng.normal()
    with ppl.Model():
        r = ppl.Normal("rho", 0.0, 1.0)
        s = ppl.HalfNormal("sigma", 1.0)
        ppl.AR("y", [r], sigma=s, init_dist=ppl.Normal.dist(0.0, 2.0), observed=y)
        idata = ppl.sample(
            draws=300, tune=300, chains=2, random_seed=3, progressbar=False
        )
    post = idata.posterior["rho"].values
    assert abs(post.mean() - rho) < 3 * post.std()
    assert post.std() < 0.1
