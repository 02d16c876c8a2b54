"""run_blackjax / jax_logdensity: NUTS compiled whole with JAX."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("blackjax")
import jax.numpy as jnp  # noqa: E402

from tessera.ppl.inference.nuts_blackjax import jax_logdensity, run_blackjax  # noqa: E402

SCALES = np.array([0.5, 2.0, 10.0])


def gaussian(x):
    return -0.5 * jnp.sum((x / SCALES) ** 2)


def test_gaussian_moments_and_stats():
    res = run_blackjax(gaussian, np.zeros((2, 3)), draws=600, tune=400, seed=0)
    assert res.draws.shape == (2, 600, 3)
    # a diagonal mass matrix adapts to very different scales
    np.testing.assert_allclose(res.draws.std(axis=(0, 1)), SCALES, rtol=0.15)
    assert np.abs(res.draws.mean(axis=(0, 1)) / SCALES).max() < 0.2
    for name in ("diverging", "tree_depth", "n_steps", "step_size", "lp", "energy"):
        assert res.stats[name].shape == (2, 600), name
    assert not res.stats["diverging"].any()
    # the step size is fixed after tuning, one per chain
    assert np.all(res.stats["step_size"] == res.stats["step_size"][:, :1])
    lp = np.array([float(gaussian(x)) for x in res.draws[0, :5]])
    np.testing.assert_allclose(res.stats["lp"][0, :5], lp)
    assert set(res.timings) == {"compile", "run"}


def test_seed_and_warmup():
    kw = dict(draws=20, tune=30)
    a = run_blackjax(gaussian, np.zeros((2, 3)), seed=5, save_warmup=True, **kw)
    b = run_blackjax(gaussian, np.zeros((2, 3)), seed=5, **kw)
    c = run_blackjax(gaussian, np.zeros((2, 3)), seed=6, **kw)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert not np.array_equal(a.draws, c.draws)
    assert not np.array_equal(a.draws[0], a.draws[1])
    assert a.warmup_draws.shape == (2, 30, 3)
    assert a.warmup_stats["step_size"].shape == (2, 30)
    assert b.warmup_draws is None


@pytest.mark.parametrize("vectorized", [False, True])
def test_draws_that_do_not_fill_the_last_chunk(vectorized):
    # 23 + 29 = 52 steps in 20 chunks of 3: the last 8 steps are dropped
    res = run_blackjax(
        gaussian,
        np.zeros((2, 3)),
        draws=29,
        tune=23,
        seed=2,
        save_warmup=True,
        vectorized=vectorized,
    )
    assert res.draws.shape == (2, 29, 3)
    assert res.warmup_draws.shape == (2, 23, 3)
    assert all(v.shape == (2, 29) for v in res.stats.values())


def test_invalid_region_is_a_divergence_not_an_error():
    # a half-normal through a run-time check: x < 0 fails the check
    def traceable(x):
        return [-0.5 * jnp.sum(x * x), -x], jnp.all(x >= 0)

    res = run_blackjax(
        jax_logdensity(traceable), np.full((1, 2), 0.5), draws=300, tune=300, seed=1
    )
    assert (res.draws >= 0).all()
    np.testing.assert_allclose(res.draws.mean(), np.sqrt(2 / np.pi), rtol=0.2)


def test_logdensity_uses_the_given_gradient_and_masks_nonfinite():
    # a deliberately different "gradient" shows which one JAX differentiates with
    f = jax_logdensity(lambda x: ([jnp.sum(x), 3.0 * x], jnp.asarray(True)))
    lp, g = jax.value_and_grad(f)(jnp.array([1.0, 2.0]))
    assert float(lp) == 3.0 and g.tolist() == [3.0, 6.0]
    f = jax_logdensity(lambda x: ([jnp.log(x[0]), 1 / x], jnp.asarray(True)))
    lp, g = jax.value_and_grad(f)(jnp.array([-1.0, 2.0]))
    assert float(lp) == -np.inf and g.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "x0, kw, match",
    [
        (np.zeros(3), {}, "chains, ndim"),
        (np.zeros((2, 0)), {}, "chains, ndim"),
        (np.zeros((2, 3)), {"draws": 0}, "draws must be positive"),
        (np.zeros((2, 3)), {"tune": 0}, "tune must be positive"),
    ],
)
def test_errors(x0, kw, match):
    with pytest.raises(ValueError, match=match):
        run_blackjax(gaussian, x0, **kw)


def test_progress_bar_counts_every_step(capsys):
    run_blackjax(
        gaussian, np.zeros((1, 3)), draws=40, tune=20, seed=0, progressbar=True
    )
    err = capsys.readouterr().err
    assert "NUTS (BlackJAX)" in err and "60/60" in err
