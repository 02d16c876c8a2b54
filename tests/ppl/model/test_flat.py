"""Tests for tessera.ppl.model.flat: flat layout, flat log-density and
gradient, constrained draws (references in :mod:`.cases`)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ppl import transforms as tr

from .cases import CASES, IDS, _hierarchical, numeric_grad


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def case(request):
    c = request.param
    return c, c.build()


def test_flat_logp_dlogp_matches_logp_and_finite_differences(case):
    c, m = case
    f = m.logp_dlogp_function()
    x = m.point_to_array(c.point)
    lp, g = f(x)
    assert isinstance(lp, float) and g.dtype == np.float64 and g.shape == x.shape
    np.testing.assert_allclose(lp, c.reference(c.point, True), rtol=1e-10)
    numeric = numeric_grad(lambda v: f(v)[0], x)
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-6)


def test_flat_layout_round_trips(case):
    c, m = case
    lay = m.flat_layout()
    assert lay.names == tuple(v.name for v in m.value_vars)
    x = np.arange(lay.size, dtype=float)
    point = m.array_to_point(x)
    assert [point[n].shape for n in lay.names] == list(lay.shapes)
    np.testing.assert_array_equal(m.point_to_array(point), x)
    back = m.array_to_point(m.point_to_array(c.point))
    for k, v in c.point.items():
        np.testing.assert_array_equal(back[k], v)
    assert sum(lay.sizes) == lay.size and lay.slices[-1].stop == lay.size


def test_flat_layout_errors():
    m = _hierarchical()
    with pytest.raises(ValueError, match=r"expected a vector of shape \(5,\)"):
        m.array_to_point(np.zeros(4))
    with pytest.raises(ValueError, match=r"value of 'theta' has shape \(2,\)"):
        m.point_to_array({"mu": 0.0, "tau_log__": 0.0, "theta": np.zeros(2)})
    with pytest.raises(KeyError, match="no value for 'mu'"):
        m.point_to_array({})


def test_flat_function_is_compiled_once_and_reusable():
    m = _hierarchical()
    f = m.logp_dlogp_function()
    x = np.linspace(-1, 1, f.size)
    (lp1, g1), (lp2, g2) = f(x), f(x)
    assert lp1 == lp2 and np.array_equal(g1, g2)
    assert f.fn.inputs[0].type.shape == (5,)


def test_layout_follows_data_sized_free_variables():
    with ppl.Model() as m:
        x = ppl.Data("x", np.zeros(3), dims="obs")
        ppl.Normal("z", 0.0, 1.0, dims="obs")
        ppl.Normal("lik", x, 1.0, observed=x)
    assert m.flat_layout().shapes == ((3,),)
    ppl.set_data({"x": np.zeros(6)}, model=m)
    assert m.flat_layout().shapes == ((6,),)
    f = m.logp_dlogp_function()
    lp, g = f(np.ones(6))
    np.testing.assert_allclose(lp, 12 * st.norm.logpdf(0) - 3.0)


def test_data_sized_matrix_needs_a_sized_transform():
    with ppl.Model() as m:
        V = ppl.Data("V", np.eye(3))
        ppl.Wishart("W", nu=5.0, V=V)
    with pytest.raises(ValueError, match=r"'W'.*PositiveDefiniteTransform\(n=\.\.\.\)"):
        m.logp_dlogp_function()
    with ppl.Model() as m:
        V = ppl.Data("V", np.eye(3))
        ppl.Wishart("W", nu=5.0, V=V, transform=tr.PositiveDefiniteTransform(n=3))
    lp, _ = m.logp_dlogp_function()(np.zeros(6))  # the identity matrix
    np.testing.assert_allclose(
        lp, st.wishart(5, np.eye(3)).logpdf(np.eye(3)) + np.log(8)
    )


# --- constrained draws --------------------------------------------------------------------
def test_constrained_draws_map_flat_samples_to_the_posterior(case):
    c, m = case
    to_values = m.compile_constrained_draws()
    x = m.point_to_array(c.point)
    xs = np.stack([x, x + 0.1, x - 0.2]).reshape(3, 1, -1)
    out = to_values(xs)
    assert list(out) == [v.name for v in m.unobserved_RVs]
    single = m.compile_fn(m.unobserved_RVs)
    for k, xi in enumerate(xs[:, 0]):
        want = single(m.array_to_point(xi))
        for name, w in zip(out, want):
            assert out[name].shape == (3, 1, *np.shape(w))
            np.testing.assert_allclose(out[name][k, 0], w, rtol=1e-12)


def test_constrained_draws_of_a_constant_deterministic_and_bad_shapes():
    with ppl.Model() as m:
        ppl.Normal("x", 0.0, 1.0)
        ppl.Deterministic("c", ts.constant([1.0, 2.0]))
    f = m.compile_constrained_draws()
    out = f(np.zeros((2, 4, 1)))
    assert out["c"].shape == (2, 4, 2)
    with pytest.raises(ValueError, match=r"expected draws of shape \(\.\.\., 1\)"):
        f(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "make, value_shape, draw_shape",
    [
        (
            lambda: ppl.Normal("v", 0.0, 1.0, shape=4, transform=tr.ZeroSumTransform()),
            (3,),
            (4,),
        ),
        (
            lambda: ppl.Flat(
                "v",
                shape=(3, 3),
                transform=tr.CholeskyCorrTransform(n=3),
                initval=np.eye(3),
            ),
            (3,),
            (3, 3),
        ),
    ],
)
def test_transforms_that_change_the_event_size(make, value_shape, draw_shape):
    with ppl.Model() as m:
        v = make()
    t = m.rvs_to_transforms[v]
    assert m.flat_layout().shapes == (value_shape,)
    ip = m.initial_point()
    assert ip[m.value_vars[0].name].shape == value_shape
    x = np.array([0.3, -0.2, 0.5])
    y = ts.vector("y")
    value = t.backward(y).eval({y: x})
    jac = float(t.log_jac_det(y).eval({y: x}))
    f = m.logp_dlogp_function()
    lp, g = f(x)
    want = float(ppl.logp(v, value).sum().eval()) + jac
    np.testing.assert_allclose(lp, want, rtol=1e-12)
    np.testing.assert_allclose(g, numeric_grad(lambda z: f(z)[0], x), atol=1e-6)
    out = m.compile_constrained_draws()(np.stack([x, x]))
    assert out["v"].shape == (2, *draw_shape)
    np.testing.assert_allclose(out["v"][1], value, rtol=1e-12)


def test_flat_api_is_importable_from_the_package_and_flat_module():
    from tessera.ppl import model as pm
    from tessera.ppl.model import flat

    assert flat.FlatLogpDlogp is pm.FlatLogpDlogp
    assert flat.ConstrainedDraws is pm.ConstrainedDraws
    assert flat.FlatLayout is pm.FlatLayout
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        flat.nope


def test_flat_function_on_the_jax_backend_matches_numpy(case):
    pytest.importorskip("jax")
    c, m = case
    x = m.point_to_array(c.point)
    lp, g = m.logp_dlogp_function()(x)
    lp_j, g_j = m.logp_dlogp_function(backend="jax")(x)
    assert isinstance(lp_j, float) and type(g_j) is np.ndarray
    np.testing.assert_allclose(lp_j, lp, rtol=1e-10)
    np.testing.assert_allclose(g_j, g, rtol=1e-8, atol=1e-10)


def test_constrained_draws_compiled_once_until_variables_change():
    with ppl.Model() as m:
        s = ppl.HalfNormal("s", 1.0)
    first = m.compile_constrained_draws()
    assert m.compile_constrained_draws() is first
    with m:
        ppl.Deterministic("s2", s * 2)
    second = m.compile_constrained_draws()
    assert second is not first  # a new variable: a new map, which has it
    out = second(np.zeros((1, 2, 1)))
    np.testing.assert_allclose(out["s2"], 2.0)
    assert m.compile_constrained_draws(["s"]) is not second  # other names
