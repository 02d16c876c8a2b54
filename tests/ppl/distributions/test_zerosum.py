"""ZeroSumNormal: density on the zero-sum subspace, batching, draws."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment
from tessera.ppl.transforms import ZeroSumTransform
from tessera.testing import verify_grad


def _basis(n):
    """Orthonormal basis (n, n-1) of the vectors summing to zero."""
    q, _ = np.linalg.qr(np.eye(n) - 1.0 / n)
    return q[:, : n - 1]


def _ref(x, sigma, support):
    """Coordinates in an orthonormal basis of the subspace are iid N(0, sigma^2)."""
    b = _basis(support[0])
    for n in support[1:]:
        b = np.kron(b, _basis(n))
    z = x.reshape(-1) @ b
    return st.norm(0.0, sigma).logpdf(z).sum()


@pytest.mark.parametrize("support", [(4,), (3, 2)])
@pytest.mark.parametrize("sigma_batch", [(), (3,), (2, 4)])
def test_logp_vs_subspace_coordinates(support, sigma_batch, rng):
    k = len(support)
    sigma = rng.uniform(0.5, 2.0, size=sigma_batch)
    x = ppl.ZeroSumNormal.dist(
        sigma=sigma.reshape(sigma_batch + (1,) * k),
        n_zerosum_axes=k,
        shape=sigma_batch + support,
    )
    assert x.type.shape == sigma_batch + support
    v = ppl.draw(x, random_seed=2)
    got = ppl.logp(x, v).eval()
    want = np.empty(sigma_batch)
    for idx in np.ndindex(*sigma_batch):
        want[idx] = _ref(v[idx], sigma[idx], support)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_scalar_sigma_and_size_broadcast(rng):
    x = ppl.ZeroSumNormal.dist(sigma=1.5, support_shape=(5,), size=(2, 3))
    assert x.type.shape == (2, 3, 5)
    v = ppl.draw(x, random_seed=1)
    got = ppl.logp(x, v).eval()
    np.testing.assert_allclose(got[1, 2], _ref(v[1, 2], 1.5, (5,)), rtol=1e-10)


@pytest.mark.parametrize("k, shape", [(1, (2, 5)), (2, (3, 4))])
def test_transform_is_an_isometry(k, shape, rng):
    """logp(backward(y)) is the N(0, sigma) density of the free coordinates y."""
    t = ZeroSumTransform(k)
    sigma = 1.3
    x = ppl.ZeroSumNormal.dist(sigma=sigma, n_zerosum_axes=k, shape=shape)
    y = rng.normal(size=t.unconstrained_shape(shape))
    got = ppl.logp(x, t.backward(ts.constant(y))).eval()
    want = st.norm(0, sigma).logpdf(y).sum(axis=tuple(range(-k, 0)))
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_grad_through_transform(rng):
    t = ZeroSumTransform(2)

    def fn(sigma, y):
        x = ppl.ZeroSumNormal.dist(sigma=sigma, n_zerosum_axes=2, shape=(2, 3, 3))
        return ppl.logp(x, t.backward(y))

    verify_grad(fn, [np.array([[[0.7]], [[1.9]]]), rng.normal(size=(2, 2, 2))])


def test_not_summing_to_zero_is_minus_inf():
    x = ppl.ZeroSumNormal.dist(shape=(2, 3))
    got = ppl.logp(x, [[1.0, -1.0, 0.0], [1.0, 0.0, 0.0]]).eval()
    assert np.isfinite(got[0]) and np.isneginf(got[1])


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"sigma": [1.0, 2.0, 3.0], "shape": (3,)}, "size 1 along the 1 zero-sum"),
        ({"sigma": [[1.0], [-2.0]], "shape": (2, 3)}, r"sigma > 0.*\(1,\)"),
        ({"sigma": 1.0}, "support shape is unknown"),
        ({"n_zerosum_axes": 2, "shape": (3,)}, "fewer dims"),
        ({"n_zerosum_axes": 0, "shape": (3,)}, "positive int"),
        ({"support_shape": (4,), "shape": (3,)}, "does not match"),
    ],
)
def test_bad_arguments(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        ppl.ZeroSumNormal.dist(**kwargs)


def test_symbolic_sigma_nonpositive_is_minus_inf():
    s = ts.tensor("s", shape=(2, 1))
    x = ppl.ZeroSumNormal.dist(sigma=s, shape=(2, 3))
    got = ppl.logp(x, np.zeros(3)).eval({s: np.array([[1.0], [-1.0]])})
    assert np.isfinite(got[0]) and np.isneginf(got[1])


def test_draws_sum_to_zero_with_the_right_covariance():
    S, n, sigma = 40_000, 4, np.array([[0.5], [2.0]])
    d = ppl.draw(ppl.ZeroSumNormal.dist(sigma=sigma, shape=(S, 2, n)), random_seed=5)
    np.testing.assert_allclose(d.sum(-1), 0.0, atol=1e-12)
    d2 = ppl.draw(
        ppl.ZeroSumNormal.dist(n_zerosum_axes=2, shape=(S, 3, 4)), random_seed=5
    )
    np.testing.assert_allclose(d2.sum(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(d2.sum(-2), 0.0, atol=1e-12)
    c = np.einsum("sbi,sbj->bij", d, d) / S
    want = sigma[:, :, None] ** 2 * (np.eye(n) - 1.0 / n)
    se = np.sqrt(2.0 / S) * sigma[:, :, None] ** 2
    assert np.all(np.abs(c - want) < 5 * se)


def test_moment_and_transform_kwargs():
    x = ppl.ZeroSumNormal.dist(sigma=[[1.0], [2.0]], shape=(2, 3))
    np.testing.assert_array_equal(moment(x).eval(), np.zeros((2, 3)))
    op = x.owner.op
    assert ppl.ZeroSumNormal.node_transform_kwargs(op, []) == {"n_zerosum_axes": 1}


def test_model_uses_the_zerosum_transform_over_every_axis():
    from tessera.ppl.model.values import default_transform_of

    x = ppl.ZeroSumNormal.dist(n_zerosum_axes=2, shape=(2, 3, 4))
    t = default_transform_of(x)
    assert isinstance(t, ZeroSumTransform) and t.n_zerosum_axes == 2
    with ppl.Model() as m:
        ppl.ZeroSumNormal("z", sigma=1.5, n_zerosum_axes=2, shape=(3, 4))
    f = m.logp_dlogp_function()
    x0 = m.point_to_array(m.initial_point(0))
    assert x0.shape == (6,)
    lp, g = f(x0 + 0.1)
    assert np.isfinite(lp) and np.all(np.isfinite(g))
