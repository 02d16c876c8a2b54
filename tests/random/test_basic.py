"""RandomVariable op and RNG state: shapes, reproducibility, graph semantics."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tessera as ts
import tessera.random as tr
from tessera import ppl
from tessera.ops.vectorize import vectorize_graph
from tessera.random.op import RandomVariable


class UniformRV(RandomVariable):
    name, signature, dtype = "uniform", "(),()->()", "floatX"

    def rng_fn(self, rng, low, high, size):
        return rng.uniform(low, high, size=size)


class DotRV(RandomVariable):
    """A test op with core dims: the dot product of a normal vector with ``w``."""

    name, signature, dtype = "dotnormal", "(k),(k)->()", "floatX"

    def rng_fn(self, rng, mu, w, size):
        mu, w = tr.broadcast_params([mu, w], [1, 1], size)
        return (rng.normal(mu) * w).sum(-1)


uniform = UniformRV()


def test_same_seed_same_values_and_updates_advance():
    def make():
        g = tr.rng(7)
        x = uniform(0.0, 1.0, size=(4,), rng=g)
        return ts.function([], x, updates=tr.rng_updates(x))

    f1, f2 = make(), make()
    a, b = f1(), f1()
    np.testing.assert_array_equal(a, f2())
    np.testing.assert_array_equal(b, f2())
    assert not np.any(a == b)


def test_perform_never_mutates_the_input_generator():
    g = tr.rng(3)
    before = g.get_value().bit_generator.state
    x = uniform(0.0, 1.0, size=(3,), rng=g)
    f = ts.function([], x)  # no updates: every call starts from the same state
    np.testing.assert_array_equal(f(), f())
    assert g.get_value().bit_generator.state == before


def test_next_rng_threads_a_chain_of_draws():
    g = tr.rng(0)
    x = uniform(0.0, 1.0, size=(3,), rng=g)
    y = uniform(0.0, 1.0, size=(3,), rng=x.owner.outputs[0])
    updates = tr.rng_updates([x, y])
    assert updates == {g: y.owner.outputs[0]}
    xs, ys = ts.function([], [x, y])()
    assert not np.any(xs == ys)


def test_one_generator_feeding_two_draws_is_reported():
    g = tr.rng(0)
    x = uniform(0.0, 1.0, rng=g)
    y = uniform(0.0, 2.0, rng=g)
    with pytest.raises(ValueError, match="feeds 2 random variables"):
        tr.rng_updates([x, y])


def test_draws_from_different_generators_are_not_merged():
    x = uniform(0.0, 1.0, size=(5,), rng=tr.rng(1))
    y = uniform(0.0, 1.0, size=(5,), rng=tr.rng(2))
    a, b = ts.function([], [x, y])()
    assert not np.any(a == b)


def test_constant_parameters_are_not_folded():
    g = tr.rng(5)
    x = uniform(ts.constant(0.0), ts.constant(1.0), rng=g)
    f = ts.function([], x * 2.0, updates=tr.rng_updates(x))
    assert f() != f()
    assert any(isinstance(n.op, RandomVariable) for n in f.fg.toposort())


@pytest.mark.parametrize(
    "shapes, size, expected",
    [
        ([(), ()], None, ()),
        ([(3,), ()], None, (3,)),
        ([(2, 1), (1, 4)], None, (2, 4)),
        ([(2, 1), (1, 4)], (3, 2, 4), (3, 2, 4)),
        ([(), ()], (5,), (5,)),
        ([(4,), (1,)], (2, 4), (2, 4)),
    ],
)
def test_batch_shape_from_parameters_or_size(shapes, size, expected):
    low = np.zeros(shapes[0])
    high = np.ones(shapes[1])
    x = uniform(low, high, size=size, rng=tr.rng(0))
    assert x.type.shape == expected
    assert x.eval().shape == expected
    # symbolic parameters: static shape from the static parts, value at run time
    lo = ts.tensor("lo", shape=(None,) * len(shapes[0]))
    y = uniform(lo, high, size=size, rng=tr.rng(0))
    assert ts.function([lo], y)(low).shape == expected


def test_core_dims_and_event_shape():
    d = DotRV()
    x = d(np.zeros((2, 1, 3)), np.ones((4, 3)), rng=tr.rng(0))
    assert x.type.shape == (2, 4)
    assert x.eval().shape == (2, 4)
    assert d.ndims_params == (1, 1) and d.ndim_supp == 0


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: uniform(np.zeros(3), 1.0, size=(4,)),
            r"parameter 0 has batch shape \(3,\)",
        ),
        (lambda: uniform(np.zeros(3), np.ones(4)), r"cannot be broadcast"),
        (lambda: uniform(0.0), r"takes 2 parameters"),
        (lambda: DotRV()(np.zeros(3), np.zeros(4)), r"dim 'k' is 3 in input 0 but 4"),
        (lambda: DotRV()(0.0, np.zeros(4)), r"needs at least 1 dims"),
        (lambda: uniform(0.0, 1.0, size=(2, None)), r"size entries"),
        (lambda: uniform(0.0, 1.0, rng=3), r"rng must be"),
    ],
)
def test_build_time_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_run_time_size_mismatch_names_the_op():
    lo = ts.tensor("lo", shape=(None,))
    x = uniform(lo, 1.0, size=(3,), rng=tr.rng(0))
    with pytest.raises(
        ValueError, match=r"uniform: parameter 'low'|uniform: parameter 0"
    ):
        ts.function([lo], x)(np.zeros(4))


def test_shape_is_inferred_without_drawing():
    lo = ts.tensor("lo", shape=(None, 1))
    n = ts.scalar("n", dtype="int64")
    for x in (uniform(lo, np.ones(3), rng=tr.rng(0)), uniform(lo, 1.0, size=(n, 5, 1))):
        f = ts.function([lo, n], [x.shape, n * 0])
        assert not any(isinstance(node.op, RandomVariable) for node in f.fg.toposort())
        shp = f(np.zeros((5, 1)), 4)[0]
        expected = (5, 3) if x.ndim == 2 else (4, 5, 1)
        assert tuple(shp) == expected


def test_draws_are_not_differentiable():
    mu = ts.scalar("mu")
    x = uniform(mu, mu + 1.0, rng=tr.rng(0))
    with pytest.raises(ValueError, match="not differentiable"):
        ts.grad(x, mu)


@pytest.mark.parametrize("size", [None, (3,)])
def test_vectorize_graph_batches_parameters(size):
    low = ts.tensor("low", shape=(3,))
    x = uniform(low, 100.0, size=size, rng=tr.rng(0))
    low_b = ts.tensor("low_b", shape=(4, 3))
    xb = vectorize_graph(x, {low: low_b})
    assert xb.type.shape == (4, 3)
    vals = ts.function([low_b], xb)(np.arange(12.0).reshape(4, 3))
    assert vals.shape == (4, 3)
    assert np.all(vals >= np.arange(12.0).reshape(4, 3))


def test_vectorize_graph_aligns_batch_dims_of_parameters():
    # low has its own batch dim (2,); the new batch (5,) of high goes in front
    low = ts.tensor("low", shape=(2,))
    high = ts.tensor("high", shape=())
    x = uniform(low, high, rng=tr.rng(0))
    high_b = ts.tensor("high_b", shape=(5,))
    xb = vectorize_graph(x, {high: high_b})
    assert xb.type.shape == (5, 2)
    v = ts.function([low, high_b], xb)(np.zeros(2), np.arange(1.0, 6.0))
    assert np.all(v < np.arange(1.0, 6.0)[:, None])


def test_generator_as_explicit_input():
    g = tr.RandomGeneratorType()("g")
    x = uniform(0.0, 1.0, size=(2,), rng=g)
    f = ts.function([g], [x, x.owner.outputs[0]])
    a, g2 = f(np.random.default_rng(1))
    np.testing.assert_array_equal(a, np.random.default_rng(1).uniform(size=2))
    assert isinstance(g2, np.random.Generator)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        f(3)


def test_shared_generator_get_set_and_seed():
    g = tr.rng(1)
    x = uniform(0.0, 1.0, rng=g)
    f = ts.function([], x, updates=tr.rng_updates(x))
    first = f()
    g.seed(1)
    assert f() == first
    g.set_value(np.random.default_rng(1))
    assert f() == first
    copy = g.get_value()
    copy.random()  # a copy: the shared state is unaffected
    g.set_value(2)
    assert f() == np.random.default_rng(2).uniform()


def test_generator_is_made_at_the_first_read_with_its_seed():
    # rng(seed) keeps the seed until a draw needs the generator
    g = tr.rng(5)
    assert not isinstance(g.__dict__["_gen"], np.random.Generator)
    assert g.get_value().random() == np.random.default_rng(5).random()
    x = uniform(0.0, 1.0, rng=tr.rng(5))
    assert ts.function([], x)() == np.random.default_rng(5).uniform()
    # seeds NumPy refuses are refused when the generator is made
    with pytest.raises(ValueError):
        tr.rng(-1)
    with pytest.raises(TypeError):
        tr.rng("seed")


def test_ppl_draw_is_reproducible_and_leaves_the_variable_alone():
    x = ppl.Normal.dist(0.0, 1.0, size=(3,), rng=tr.rng(11))
    state = x.owner.inputs[0].get_value().bit_generator.state
    a = ppl.draw(x, draws=4, random_seed=123)
    b = ppl.draw(x, draws=4, random_seed=123)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 3) and len(np.unique(a)) == 12
    assert x.owner.inputs[0].get_value().bit_generator.state == state
    y = ppl.Normal.dist(x, 1.0)  # draws of a graph of random variables
    xs, ys = ppl.draw([x, y], draws=2000, random_seed=0)
    assert abs(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1] - np.sqrt(0.5)) < 0.05


def test_dprint_shows_the_generator():
    x = uniform(0.0, 1.0, rng=tr.rng(0, name="g"))
    text = ts.dprint(x, file=io.StringIO())
    assert "uniform_rv.1" in text and "g [id" in text and "rng" in text
