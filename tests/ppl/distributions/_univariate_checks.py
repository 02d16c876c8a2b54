"""The checks every univariate distribution table runs (continuous, discrete).

A test module lists its :class:`~tessera.ppl.testing.DistCase` entries and
subclasses :class:`UnivariateTableChecks`::

    class TestTable(UnivariateTableChecks):
        cases = CASES

Each test method below then runs once per entry (and per batch pattern for
the log-density), with the ``rng`` fixture of that module.
"""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ppl
from tessera.ppl.testing import (
    PATTERNS,
    DistCase,
    check_draws,
    check_grad,
    check_logp,
    check_out_of_support,
)


class UnivariateTableChecks:
    """Table-driven tests over ``cases`` (set by the subclass)."""

    cases: list[DistCase] = []

    def pytest_generate_tests(self, metafunc):
        metafunc.parametrize("case", self.cases, ids=lambda c: c.id)

    @pytest.mark.parametrize("pattern", PATTERNS)
    def test_logp_logcdf_against_scipy(self, case, pattern, rng):
        check_logp(case, pattern, rng)

    def test_logp_gradient(self, case, rng):
        check_grad(case, rng)

    def test_draws_match_scipy(self, case, rng):
        check_draws(case, rng)

    def test_out_of_support(self, case, rng):
        check_out_of_support(case, rng)

    def test_moment_lies_in_the_support(self, case):
        rng = np.random.default_rng(0)
        rv = case.dist.dist(**{k: p.sample(rng, (3,)) for k, p in case.params.items()})
        m = ppl.moment(rv).eval()
        assert m.shape == (3,) and m.dtype == rv.dtype
        assert np.all(np.isfinite(ppl.logp(rv, m).eval()))
