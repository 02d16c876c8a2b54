"""Vectorized r_hat and bulk/tail ESS against ArviZ's one-scalar-at-a-time ones."""

import warnings

import arviz as az
import numpy as np
import pytest

from tessera.ppl.inference.diagnostics import (
    average_ranks,
    convergence_stats,
    ess_bulk,
    ess_tail,
    rhat,
)


def _ar1(rng, chains, draws, k, phi):
    x = np.zeros((chains, draws, k))
    e = rng.normal(size=(chains, draws, k))
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


CASES = {
    "iid 4 chains": lambda r: r.normal(size=(4, 500, 5)),
    "AR(1) 0.9, odd draws": lambda r: _ar1(r, 2, 301, 6, 0.9),
    "AR(1) 0.99 (poor mixing)": lambda r: _ar1(r, 3, 200, 4, 0.99),
    "anticorrelated": lambda r: _ar1(r, 4, 50, 20, -0.6),
    "shifted chains": lambda r: (
        r.normal(size=(2, 100, 3)) + np.array([0.0, 3.0])[:, None, None]
    ),
    "discrete with ties": lambda r: r.poisson(0.3, size=(2, 400, 3)).astype(float),
    "short": lambda r: _ar1(r, 2, 10, 3, 0.2),
    "one chain": lambda r: _ar1(r, 1, 100, 3, 0.5),
    "matrix parameter": lambda r: r.normal(size=(2, 120, 2, 3)),
    "constant": lambda r: np.ones((2, 50, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_arviz(name):
    x = CASES[name](np.random.default_rng(0))
    ds = az.convert_to_dataset({"x": x})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "rhat": az.rhat(ds)["x"].values,
            "bulk": az.ess(ds, method="bulk")["x"].values,
            "tail": az.ess(ds, method="tail")["x"].values,
        }
        got = {"rhat": rhat(x), "bulk": ess_bulk(x), "tail": ess_tail(x)}
    for stat in expected:
        assert got[stat].shape == x.shape[2:], stat
        np.testing.assert_allclose(
            got[stat], expected[stat], rtol=1e-10, equal_nan=True, err_msg=stat
        )


@pytest.mark.parametrize("name", list(CASES))
def test_the_three_at_once_are_the_three(name):
    x = CASES[name](np.random.default_rng(1))
    for got, one in zip(convergence_stats(x), (rhat(x), ess_bulk(x), ess_tail(x))):
        assert got.shape == one.shape
        np.testing.assert_array_equal(got, one)


RANK_CASES = {
    "distinct": lambda r: r.normal(size=(20, 300)),
    "many ties": lambda r: r.poisson(0.5, size=(30, 200)).astype(float),
    "constant rows": lambda r: np.ones((3, 7)),
    "infinities": lambda r: np.array([[np.inf, -np.inf, np.inf, 0.0, -np.inf]]),
    "a NaN row": lambda r: np.array([[1.0, np.nan, 2.0], [2.0, 2.0, 1.0]]),
    "one value": lambda r: np.array([[4.0], [np.nan]]),
}


@pytest.mark.parametrize("name", list(RANK_CASES))
def test_average_ranks_are_scipys(name):
    from scipy import stats

    rows = RANK_CASES[name](np.random.default_rng(2))
    np.testing.assert_array_equal(
        average_ranks(rows), stats.rankdata(rows, axis=-1), strict=True
    )


def test_rejects_a_flat_array():
    with pytest.raises(ValueError, match=r"\(chains, draws, \.\.\.\)"):
        rhat(np.zeros(10))
