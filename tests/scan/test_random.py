"""Random draws inside a loop: generators advance through the steps."""

import numpy as np
import pytest

import tessera as ts
import tessera.random as tr
from tessera.random import RandomVariable


class NormalRV(RandomVariable):
    name, signature, dtype = "test_normal", "(),()->()", "floatX"

    def rng_fn(self, rng, mu, sigma, size):
        return rng.normal(mu, sigma, size=size)


normal = NormalRV()


@pytest.fixture(scope="module", autouse=True)
def jax_sampler():
    jax = pytest.importorskip("jax")
    from tessera.compile.backends.jax import jax_sample

    @jax_sample.register(NormalRV)
    def _(op, node):
        def sample(key, mu, sigma, size):
            return mu + sigma * jax.random.normal(key, size)

        return sample


def random_walk(g, n, mu=1.0, sigma=2.0):
    def step(prev):
        eps = normal(mu, sigma, rng=g)
        return prev + eps, {g: eps.owner.outputs[0]}

    return ts.scan(step, outputs_info=[ts.constant(0.0)], n_steps=n)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_random_walk_is_reproducible_and_advances(backend):
    g = tr.rng(42)
    walk, updates = random_walk(g, 50)
    assert list(updates) == [g]
    f = ts.function([], walk, updates=updates, backend=backend)
    first, second = np.asarray(f()), np.asarray(f())
    assert not np.allclose(first, second)  # the generator advanced
    steps = np.diff(first)
    assert len(np.unique(np.round(steps, 12))) == len(steps)  # fresh draw per step
    g.set_value(np.random.default_rng(42))
    np.testing.assert_array_equal(np.asarray(f()), first)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_draws_have_the_right_distribution(backend):
    g = tr.rng(7)
    walk, updates = random_walk(g, 4000, mu=1.0, sigma=2.0)
    increments = np.diff(
        np.asarray(ts.function([], walk, updates=updates, backend=backend)()),
        prepend=0.0,
    )
    assert abs(increments.mean() - 1.0) < 0.12  # 4 standard errors
    assert abs(increments.std() - 2.0) < 0.12
    # independent steps: no lag-1 correlation
    assert abs(np.corrcoef(increments[:-1], increments[1:])[0, 1]) < 0.07


def test_generator_without_explicit_update_is_threaded():
    walk, updates = ts.scan(
        lambda prev: prev + normal(0.0, 1.0),
        outputs_info=[ts.constant(0.0)],
        n_steps=5,
    )
    (g,) = updates
    f = ts.function([], walk, updates=updates)
    assert not np.allclose(f(), f())


def test_gradient_through_reparameterized_draws():
    # x_t = x_{t-1} + sigma * eps_t: d sum(x) / d sigma = sum_t (n - t) eps_t;
    # the backward loop reads the forward loop's draws, not new ones
    g = tr.rng(3)
    sigma = ts.scalar("sigma")

    def step(prev, s):
        eps = normal(0.0, 1.0, rng=g)
        return prev + s * eps, {g: eps.owner.outputs[0]}

    walk, updates = ts.scan(
        step, outputs_info=[ts.constant(0.0)], non_sequences=[sigma], n_steps=6
    )
    f = ts.function([sigma], [walk, ts.grad(walk.sum(), sigma)])
    x, gs = f(1.0)
    eps = np.diff(x, prepend=0.0)
    np.testing.assert_allclose(gs, sum((6 - t) * e for t, e in enumerate(eps)))
