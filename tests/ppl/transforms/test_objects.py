"""Transforms as objects (tessera.ppl.distributions.transforms, PyMC's names)
and the transform=/default_transform= keywords of distributions in a model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from tessera import ppl
from tessera.ppl import transforms as tr
from tessera.ppl.distributions import transforms


@pytest.mark.parametrize(
    "obj, cls",
    [
        (transforms.log, tr.LogTransform),
        (transforms.logodds, tr.LogOddsTransform),
        (transforms.simplex, tr.SimplexTransform),
        (transforms.ordered, tr.OrderedTransform),
        (transforms.sum_to_1, tr.SumTo1Transform),
        (transforms.circular, tr.CircularTransform),
        (transforms.log_exp_m1, tr.LogExpM1Transform),
        (transforms.Interval(0.0, 2.0), tr.IntervalTransform),
        (transforms.LowerBound(1.0), tr.LowerBoundTransform),
        (transforms.UpperBound(1.0), tr.UpperBoundTransform),
        (transforms.ZeroSumTransform(1), tr.ZeroSumTransform),
        (transforms.CholeskyCovPacked(3), tr.CholeskyCovTransform),
        (transforms.Chain(transforms.log, transforms.ordered), tr.Chain),
    ],
)
def test_module_objects(obj, cls):
    assert isinstance(obj, cls) and isinstance(obj, transforms.Transform)
    assert transforms.ChainedTransform is transforms.Chain


def _value_name_and_transform(make):
    with ppl.Model() as m:
        x = make()
    return m.rvs_to_values[x].name, m.rvs_to_transforms[x], m


@pytest.mark.parametrize(
    "make, value_name, kind",
    [
        # a transform on a distribution without a default: used alone
        (
            lambda: ppl.Normal(
                "x", 0, 1, shape=3, transform=transforms.ordered, initval=[-1, 0, 1]
            ),
            "x_ordered__",
            tr.OrderedTransform,
        ),
        # with a default: applied after it, as in PyMC
        (
            lambda: ppl.HalfNormal("x", 1.0, shape=3, transform=transforms.ordered),
            "x_log_ordered__",
            tr.Chain,
        ),
        # of the default's kind: the default again
        (
            lambda: ppl.Exponential("x", 1.0, transform="log"),
            "x_log__",
            tr.LogTransform,
        ),
        # default_transform replaces the default; None disables it
        (
            lambda: ppl.HalfNormal("x", 1.0, default_transform=transforms.log_exp_m1),
            "x_log_exp_m1__",
            tr.LogExpM1Transform,
        ),
        (lambda: ppl.HalfNormal("x", 1.0, default_transform=None), "x", type(None)),
        (lambda: ppl.HalfNormal("x", 1.0, transform=None), "x", type(None)),
        (
            lambda: ppl.Normal(
                "x", 0, 1, default_transform=transforms.Interval(-1.0, 1.0)
            ),
            "x_interval__",
            tr.IntervalTransform,
        ),
        (
            lambda: ppl.HalfNormal(
                "x",
                1.0,
                shape=2,
                default_transform=None,
                transform=transforms.ordered,
            ),
            "x_ordered__",
            tr.OrderedTransform,
        ),
        (
            lambda: ppl.Normal(
                "x", 0, 1, shape=3, default_transform=transforms.sum_to_1
            ),
            "x_sumto1__",
            tr.SumTo1Transform,
        ),
    ],
)
def test_transform_keywords(make, value_name, kind):
    name, t, _ = _value_name_and_transform(make)
    assert name == value_name
    assert isinstance(t, kind)


def test_ordered_positive_values_logp():
    # HalfNormal(1) with log then ordered: logp at y = log-then-ordered of x
    with ppl.Model() as m:
        ppl.HalfNormal("x", 1.0, shape=3, transform=transforms.ordered)
    x = np.array([0.5, 1.0, 3.0])
    logs = np.log(x)
    y = np.concatenate([logs[:1], np.log(np.diff(logs))])
    # log|J| of ordered: sum of y[1:]; of exp: sum of logs
    want = st.halfnorm.logpdf(x).sum() + y[1:].sum() + logs.sum()
    got = m.compile_logp()({"x_log_ordered__": y})
    np.testing.assert_allclose(got, want)
    assert np.all(np.diff(m.initial_point()["x_log_ordered__"][:1]) >= 0)


def test_interval_object_in_a_model_matches_the_key():
    with ppl.Model() as m:
        ppl.Normal("x", 0.0, 1.0, transform=transforms.Interval(-1.0, 2.0))
    y = 0.3
    x = -1.0 + 3.0 / (1.0 + np.exp(-y))
    ljd = np.log(3.0) - y - 2 * np.log1p(np.exp(-y))
    np.testing.assert_allclose(
        m.compile_logp()({"x_interval__": np.array(y)}), st.norm.logpdf(x) + ljd
    )
