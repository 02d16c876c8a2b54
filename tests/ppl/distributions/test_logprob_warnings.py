"""Log-densities outside the support (or at invalid parameters) are -inf
without NumPy RuntimeWarnings reaching the user (issue #23 item 7); a graph
without such a mask still warns."""

import warnings

import numpy as np
import pytest

import tessera as ts
from tessera import ppl

# (distribution, value outside the support or invalid parameter values)
OUTSIDE = [
    (lambda s: ppl.HalfNormal.dist(s), -1.0, 1.0),
    (lambda s: ppl.HalfNormal.dist(s), 0.5, -1.0),
    (lambda s: ppl.LogNormal.dist(0.0, s), 0.0, 1.0),
    (lambda s: ppl.Gamma.dist(2.0, s), -1.0, 1.0),
    (lambda s: ppl.Beta.dist(s, 2.0), 1.5, 1.0),
    (lambda s: ppl.Exponential.dist(s), 1.0, -2.0),
    (lambda s: ppl.StudentT.dist(s, 0.0, 1.0), 1.0, -1.0),
    (lambda s: ppl.Laplace.dist(0.0, s), 1.0, 0.0),
    (lambda s: ppl.Poisson.dist(s), -1, 2.0),
    (lambda s: ppl.Binomial.dist(5, s), 7, 0.5),
]


@pytest.mark.parametrize("make, value, param", OUTSIDE)
def test_logp_outside_the_support_is_minus_inf_without_warnings(make, value, param):
    s = ts.scalar("s")
    f = ts.function([s], ppl.logp(make(s), value))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(param) == -np.inf


def test_check_raise_mode_raises_without_warnings():
    s = ts.scalar("s")
    f = ts.function([s], ppl.logp(ppl.Normal.dist(0.0, s), 1.0, check="raise"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ppl.ParameterValueError, match="sigma > 0"):
            f(-1.0)


def test_unmasked_graphs_still_warn_and_the_state_is_restored():
    x = ts.scalar("x")
    masked = ts.function([x], ppl.logp(ppl.HalfNormal.dist(1.0), x))
    plain = ts.function([x], ts.log(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert masked(-1.0) == -np.inf
        with pytest.raises(RuntimeWarning):
            plain(-1.0)
        with pytest.raises(RuntimeWarning):  # NumPy's own state is unchanged
            np.log(np.float64(-1.0))
