"""OrderedLogistic and OrderedProbit with batched cutpoints."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from _mv_checks import PATTERNS, MvCase, check_grad, check_logp
from scipy.special import expit, log_expit, ndtr

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment

K = 3


def _cuts(rng, batch):
    return np.sort(rng.normal(size=tuple(batch) + (K,)) * 2, axis=-1)


def _probs(cdf):
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def _logistic_ref(y, eta, cutpoints):
    return np.log(_probs(expit(cutpoints - eta))[y])


def _probit_ref(y, eta, cutpoints, sigma):
    return np.log(_probs(ndtr((cutpoints - eta) / sigma))[y])


CASES = [
    MvCase(
        ppl.OrderedLogistic,
        {"eta": lambda r, b: r.normal(size=b), "cutpoints": _cuts},
        {"eta": 0, "cutpoints": 1},
        _logistic_ref,
        rtol=1e-9,
    ),
    MvCase(
        ppl.OrderedProbit,
        {
            "eta": lambda r, b: r.normal(size=b),
            "cutpoints": _cuts,
            "sigma": lambda r, b: r.uniform(0.5, 2.0, size=b),
        },
        {"eta": 0, "cutpoints": 1, "sigma": 0},
        _probit_ref,
        rtol=1e-9,
    ),
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logp_vs_reference(case, pattern, rng):
    check_logp(case, pattern, rng)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_grad(case, rng):
    check_grad(case, rng)


@pytest.mark.parametrize("dist", [ppl.OrderedLogistic, ppl.OrderedProbit])
def test_every_category_and_logcdf(dist, rng):
    cuts = np.array([[-1.0, 0.5, 2.0], [-3.0, -2.0, 0.0]])
    y = dist.dist(eta=0.3, cutpoints=cuts)
    vals = np.arange(K + 1)[:, None]
    lp = ppl.logp(y, vals).eval()
    np.testing.assert_allclose(np.exp(lp).sum(0), 1.0)
    lc = ppl.logcdf(y, vals).eval()
    np.testing.assert_allclose(np.exp(lc), np.cumsum(np.exp(lp), 0), rtol=1e-12)
    assert np.all(np.isneginf(ppl.logcdf(y, -1).eval()))


def test_tails_are_stable():
    # P(y = 1) with both cutpoints far below eta: ~ exp(-40) - exp(-41)
    y = ppl.OrderedLogistic.dist(eta=40.0, cutpoints=[-1.0, 0.0, 1.0])
    got = ppl.logp(y, [0, 1, 3]).eval()
    want = [
        log_expit(-41.0),
        np.log(expit(-40.0) - expit(-41.0)),
        log_expit(39.0),
    ]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    p = ppl.OrderedProbit.dist(eta=[12.0, -12.0, 12.0], cutpoints=[-1.0, 0.0])
    got = ppl.logp(p, [0, 2, 1]).eval()
    mid = st.norm.logcdf(-12.0) + np.log1p(
        -np.exp(st.norm.logcdf(-13.0) - st.norm.logcdf(-12.0))
    )
    want = [st.norm.logcdf(-13.0), st.norm.logsf(12.0), mid]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_grad_at_edge_categories_is_finite():
    eta = ts.scalar("eta")
    c = ts.vector("c")
    for dist in (ppl.OrderedLogistic, ppl.OrderedProbit):
        lp = ppl.logp(dist.dist(eta=eta, cutpoints=c), [0, 3]).sum()
        g = ts.function([eta, c], ts.grad(lp, [eta, c]))(
            0.5, np.array([-1.0, 0.0, 1.0])
        )
        assert all(np.all(np.isfinite(v)) for v in g)


@pytest.mark.parametrize(
    "make, msg",
    [
        (
            lambda: ppl.OrderedLogistic.dist(0.0, [[0.0, 1.0], [1.0, 0.5]]),
            r"increasing.*\(1,\)",
        ),
        (lambda: ppl.OrderedProbit.dist(0.0, [0.0, 1.0], sigma=-1.0), "sigma > 0"),
    ],
)
def test_invalid_params(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_out_of_support():
    y = ppl.OrderedLogistic.dist(0.0, [0.0, 1.0])
    assert np.all(np.isneginf(ppl.logp(y, [-1, 3]).eval()))


@pytest.mark.parametrize("dist", [ppl.OrderedLogistic, ppl.OrderedProbit])
def test_draw_frequencies_and_shapes(dist, rng):
    cuts = np.array([[-1.0, 0.5, 2.0], [-3.0, -2.0, 0.0]])
    eta = np.array([[0.0], [1.0], [-1.0]])
    y = dist.dist(eta=eta, cutpoints=cuts, size=(20_000, 3, 2))
    d = ppl.draw(y, random_seed=8)
    assert d.shape == (20_000, 3, 2) and d.dtype == np.int64
    probs = np.exp(
        ppl.logp(
            dist.dist(eta=eta, cutpoints=cuts), np.arange(K + 1)[:, None, None]
        ).eval()
    )
    freq = (d[None] == np.arange(K + 1)[:, None, None, None]).mean(1)
    se = np.sqrt(probs * (1 - probs) / 20_000)
    assert np.all(np.abs(freq - probs) < 5 * se + 1e-12)
    assert dist.dist(eta=eta, cutpoints=cuts).type.shape == (3, 2)


def test_moment_is_the_mode():
    y = ppl.OrderedLogistic.dist(eta=[-5.0, 0.0, 5.0], cutpoints=[-1.0, 1.0])
    np.testing.assert_array_equal(moment(y).eval(), [0, 1, 2])
