"""Shared parameter handling of the univariate distributions (params.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.params import params_or_moments, positive, sigma_from


def test_sigma_from():
    assert sigma_from(2.0, None) == 2.0
    assert sigma_from(None, None, default=3.0) == 3.0
    np.testing.assert_allclose(sigma_from(None, np.array([4.0, 0.25])).eval(), [0.5, 2])
    with pytest.raises(ValueError, match="give sigma or tau, not both"):
        sigma_from(1.0, 1.0)


def test_positive_conditions():
    a, b = ts.scalar("a"), ts.scalar("b")
    conds = positive(a=a, b=b)
    assert [text for _, text in conds] == ["a > 0", "b > 0"]
    f = ts.function([a, b], [c for c, _ in conds])
    assert [bool(v) for v in f(1.0, -1.0)] == [True, False]


def _from_moments(mu, sigma):
    return [mu + sigma, mu - sigma]


@pytest.mark.parametrize(
    "params, moments, defaults, expected",
    [
        ({"a": 1.0, "b": 2.0}, {"mu": None, "sd": None}, None, [1.0, 2.0]),
        ({"a": 1.0, "b": None}, {"mu": None, "sd": None}, {"b": 5.0}, [1.0, 5.0]),
        ({"a": None, "b": None}, {"mu": 3.0, "sd": 1.0}, None, [4.0, 2.0]),
        ({"a": None, "b": None}, {"mu": 3.0, "sd": 1.0}, {"b": 5.0}, [4.0, 2.0]),
    ],
)
def test_params_or_moments(params, moments, defaults, expected):
    got = params_or_moments("D", params, moments, _from_moments, defaults)
    np.testing.assert_allclose([ts.as_tensor(v).eval() for v in got], expected)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ppl.Beta.dist(alpha=1.0, mu=0.5), "Beta: give either alpha and beta"),
        (lambda: ppl.Gamma.dist(alpha=1.0), "Gamma: give either alpha and beta, or"),
        (lambda: ppl.Gamma.dist(mu=1.0), "or mu and sigma"),
        (
            lambda: ppl.InverseGamma.dist(beta=1.0),
            r"InverseGamma: give either alpha \(and beta\), or mu and sigma",
        ),
        (lambda: ppl.InverseGamma.dist(2.0, mu=1.0, sigma=1.0), "InverseGamma"),
    ],
)
def test_mixed_parametrizations_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_inverse_gamma_beta_defaults_to_one():
    x = ppl.InverseGamma.dist(3.0)
    assert float(x.owner.inputs[3].eval()) == 1.0
