"""Same-family scalar variables as one vectorized term (#23 item 8).

Deterministic checks of the compile-time and call-time scaling: the compiled
graph of a model of many scalar variables has a number of nodes that does
not grow with the number of variables, and its log-density and gradient
equal per-variable references.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from tessera import ppl
from tessera.graph.basic import Constant
from tessera.ops.basic import as_tensor
from tessera.ops.type import TensorType
from tessera.ppl.model import grouping
from tessera.ppl.model.grouping import batch_scalars, scalar_groups


def independent(n, mus=None, sigmas=None):
    mus = np.zeros(n) if mus is None else mus
    sigmas = np.ones(n) if sigmas is None else sigmas
    with ppl.Model() as m:
        for i in range(n):
            ppl.Normal(f"x{i}", mu=mus[i], sigma=sigmas[i])
    return m


def chain(n, obs):
    with ppl.Model() as m:
        prev = None
        for i in range(n):
            prev = ppl.Normal(f"x{i}", mu=0.0 if prev is None else prev, sigma=1.5)
            ppl.Normal(f"y{i}", mu=prev, sigma=0.5, observed=obs[i])
    return m


def mixed():
    with ppl.Model() as m:
        ss = [ppl.HalfNormal(f"s{i}", 1.0 + i) for i in range(4)]
        us = [ppl.Uniform(f"u{i}", 0.0, 2.0) for i in range(3)]
        xs = []
        for i in range(6):  # interleaved with another family
            xs.append(ppl.Normal(f"x{i}", mu=us[i % 3], sigma=ss[i % 4]))
            ppl.Exponential(f"e{i}", 1.0 + i)
        ppl.Normal("v", 0.0, 1.0, shape=3)
        ppl.Normal("obs", xs[0], ss[1], observed=[0.1, 0.2])
        for i in range(3):
            ppl.Normal(f"z{i}", 2.0 * xs[i], 1.0)
            ppl.Uniform(f"b{i}", 0.0, ss[i])  # bounds that are other variables
        ppl.Potential("pot", -(xs[1] ** 2))
    return m


def per_variable(m, x):
    """logp as the sum of the per-variable terms (never grouped)."""
    terms = m.compile_logp(sum=False)(m.array_to_point(x))
    return float(sum(np.sum(t) for t in terms))


def test_200_independent_scalars_compile_to_a_few_nodes():
    n = 200
    rng = np.random.default_rng(0)
    mus, sigmas = rng.normal(size=n), rng.uniform(0.5, 2.0, size=n)
    m = independent(n, mus, sigmas)
    f = m.logp_dlogp_function()
    assert len(f.fn.fg.apply_nodes) <= 12
    x = rng.normal(size=n)
    lp, g = f(x)
    np.testing.assert_allclose(lp, st.norm.logpdf(x, mus, sigmas).sum(), rtol=1e-13)
    np.testing.assert_allclose(g, -(x - mus) / sigmas**2, rtol=1e-13)


def test_chain_graph_size_does_not_grow_with_the_number_of_variables():
    obs = np.random.default_rng(1).normal(size=200)
    sizes = {}
    for n in (20, 200):
        f = chain(n, obs).logp_dlogp_function()
        sizes[n] = len(f.fn.fg.apply_nodes)
    assert sizes[200] == sizes[20] <= 40


def test_chain_matches_per_variable_terms_and_analytic_gradient():
    n = 50
    obs = np.random.default_rng(2).normal(size=n)
    m = chain(n, obs)
    f = m.logp_dlogp_function()
    x = np.random.default_rng(3).normal(size=n)
    lp, g = f(x)
    mu = np.r_[0.0, x[:-1]]
    ref = st.norm.logpdf(x, mu, 1.5).sum() + st.norm.logpdf(obs, x, 0.5).sum()
    np.testing.assert_allclose(lp, ref, rtol=1e-13)
    np.testing.assert_allclose(lp, per_variable(m, x), rtol=1e-13)
    gref = -(x - mu) / 1.5**2 + (obs - x) / 0.5**2
    gref[:-1] += (x[1:] - x[:-1]) / 1.5**2
    np.testing.assert_allclose(g, gref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("jacobian", [True, False])
def test_mixed_model_equals_the_ungrouped_model(monkeypatch, jacobian):
    m = mixed()
    groups, others = scalar_groups(m)
    assert len(groups) >= 4
    grouped = [m.logp_dlogp_function(jacobian=jacobian)]
    monkeypatch.setattr(grouping, "MIN_GROUP_SIZE", 10**9)
    m2 = mixed()
    assert scalar_groups(m2)[0] == []
    plain = [m2.logp_dlogp_function(jacobian=jacobian)]
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.normal(size=grouped[0].size) * 0.5
        (lp1, g1), (lp2, g2) = grouped[0](x), plain[0](x)
        np.testing.assert_allclose(lp1, lp2, rtol=1e-13)
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-13)
    assert len(grouped[0].fn.fg.apply_nodes) < len(plain[0].fn.fg.apply_nodes)


def test_point_functions_use_the_grouped_sum():
    m = mixed()
    x = np.random.default_rng(6).normal(size=m.flat_layout().size) * 0.5
    point = m.array_to_point(x)
    lp, g = m.logp_dlogp_function()(x)
    np.testing.assert_allclose(m.compile_logp()(point), lp, rtol=1e-13)
    np.testing.assert_allclose(per_variable(m, x), lp, rtol=1e-13)
    np.testing.assert_allclose(m.compile_dlogp()(point), g, rtol=1e-12, atol=1e-13)


def test_jax_backend_matches_numpy():
    pytest.importorskip("jax")
    m = mixed()
    x = np.random.default_rng(7).normal(size=m.flat_layout().size) * 0.5
    lp1, g1 = m.logp_dlogp_function()(x)
    lp2, g2 = m.logp_dlogp_function(backend="jax")(x)
    np.testing.assert_allclose(lp2, lp1, rtol=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-12)


def test_groups_by_distribution_transform_and_observation():
    with ppl.Model() as m:
        a = [ppl.Normal(f"a{i}", 0.0, 1.0 + i) for i in range(3)]
        u1 = [ppl.Uniform(f"u{i}", 0.0, 1.0) for i in range(2)]
        u2 = [ppl.Uniform(f"w{i}", 0.0, 2.0) for i in range(2)]
        y = [ppl.Normal(f"y{i}", a[i], 1.0, observed=0.5) for i in range(2)]
        one = ppl.Exponential("one", 1.0)
        vec = [ppl.Normal(f"v{i}", 0.0, 1.0, shape=2) for i in range(2)]
    groups, others = scalar_groups(m)
    assert [g.rvs for g in groups] == [a, u1, u2, y]
    assert [g.free for g in groups] == [True, True, True, False]
    assert others == [one, *vec]


def test_batch_scalars_slices_runs_and_folds_constants():
    vec = TensorType("float64", (5,))(name="vec")
    entries = [vec[j] for j in range(5)]
    slices = {e: (vec, j) for j, e in enumerate(entries)}
    c = [as_tensor(np.float64(v)) for v in (1.0, 2.0)]
    assert batch_scalars(entries, slices) is vec
    assert isinstance(batch_scalars(c, {}), Constant)
    same = batch_scalars([c[0], as_tensor(np.float64(1.0))], {})
    assert same is c[0]
    mixed_items = [c[0], c[1], entries[1], entries[2], entries[3], entries[0]]
    out = batch_scalars(mixed_items, slices)
    assert out.type.shape == (6,)
    value = np.arange(5.0) + 10
    np.testing.assert_array_equal(out.eval({vec: value}), [1, 2, 11, 12, 13, 10])
