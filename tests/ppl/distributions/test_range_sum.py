"""RangeReduce: reductions over ``k = lower .. max(floor(value))`` (NumPy backend).

The JAX backend's chunked loop is compared with these in
tests/compile/backends/test_jax_random.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ops.creation import arange
from tessera.ops.reduction import logsumexp
from tessera.ops.shape import expand_dims
from tessera.ppl.distributions.discrete.counts import _masked_logp
from tessera.ppl.distributions.dist_math import logcdf_by_summation
from tessera.ppl.distributions.range_sum import RangeReduce
from tessera.testing import verify_grad


def _arange_logcdf(logpmf, value, *params, lower=0):
    """The plain-graph formulation RangeReduce replaced (NumPy backend only)."""
    value = ts.as_tensor(value)
    top = ts.maximum(ts.floor(value).max(), lower).astype("int64")
    k = arange(ts.as_tensor(lower, dtype="int64"), top + 1)
    vk = expand_dims(value, -1)
    pk = [expand_dims(ts.as_tensor(p), -1) for p in params]
    lp = ts.where(k <= vk, logpmf(k, *pk), -np.inf)
    return logsumexp(lp, axis=-1)


CASES = [
    # distribution, params (batched), values, scipy reference
    (
        ppl.BetaBinomial,
        (np.array([[0.5], [2.0], [7.0]]), np.array([3.0, 0.8]), np.array(25)),
        np.array([[0], [3], [12], [24]])[:, None],
        lambda a, b, n: st.betabinom(n, a, b),
    ),
    (
        ppl.HyperGeometric,
        (np.array(60), np.array([[5], [30]]), np.array([10, 45])),
        np.array([[0], [2], [8], [40]])[:, None],
        lambda N, k, n: st.hypergeom(N, k, n),
    ),
]


@pytest.mark.parametrize("dist, params, x, ref", CASES, ids=lambda c: str(c)[:14])
def test_summed_logcdf_matches_scipy_and_the_plain_graph(dist, params, x, ref):
    rv = dist.dist(*params)
    hi = {ppl.BetaBinomial: params[2], ppl.HyperGeometric: np.minimum(*params[1:])}
    xc = np.minimum(x, hi[dist])  # where the summation runs (as _logcdf does)
    got = logcdf_by_summation(_masked_logp(dist), xc, *params).eval()
    old = _arange_logcdf(_masked_logp(dist), xc, *params).eval()
    np.testing.assert_array_equal(got, old)  # NumPy results are unchanged
    want = ref(*params).logcdf(x)
    np.testing.assert_allclose(ppl.logcdf(rv, x).eval(), want, rtol=1e-10)


def test_gradients_first_and_second_order():
    def fn(a, b):
        return ppl.logcdf(ppl.BetaBinomial.dist(a, b, 12), np.array([[1], [6], [11]]))

    a, b = np.array([0.7, 3.0]), np.array(1.8)
    verify_grad(fn, [a, b])
    # a second derivative goes through the gradient's own RangeReduce
    verify_grad(lambda a, b: ts.grad(fn(a, b).sum(), a), [a, b])


def test_reductions_shapes_and_batching():
    def terms(k, n, w):  # sum_{k=1}^n w k and log of it
        kf = ts.maximum(k, 1).astype("float64")
        return [ts.where(k <= n, w * kf, 0.0)]

    op = RangeReduce(terms, "sum", lower=1)
    n = ts.tensor("n", shape=(None,), dtype="int64")
    w = ts.tensor("w", shape=(2, 1))
    y = op(n, w)
    assert y.type.shape == (2, None)
    f = ts.function([n, w], [y, y.shape])
    out, shape = f(np.array([0, 3, 4]), np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(out, [[0, 6, 10], [0, 12, 20]])
    np.testing.assert_array_equal(shape, [2, 3])
    nb = ts.tensor("nb", shape=(None, None), dtype="int64")
    yb = ts.vectorize_graph(y, {n: nb})
    got = yb.eval({nb: np.array([[1, 2, 3], [4, 5, 6]]), w: np.ones((2, 1))})
    np.testing.assert_array_equal(got[:, 0], [[1, 3, 6], [10, 15, 21]])


def test_empty_ranges_and_bad_modes():
    def terms(k, n):
        return [ts.where(k <= n, ts.zeros_like(k * 1.0), -np.inf)]

    op = RangeReduce(terms, "logsumexp", lower=0)
    np.testing.assert_array_equal(op(np.array([-3, -1])).eval(), [-np.inf, -np.inf])
    with pytest.raises(ValueError, match="mode must be one of"):
        RangeReduce(terms, "max")
