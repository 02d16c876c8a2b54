"""Tests for tessera.ppl.transforms: round trips, supports, log-det-Jacobians."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.stats as st

import tessera as ts
from tessera import ppl
from tessera.ppl import transforms as tr
from tessera.testing import verify_grad

BATCH_SHAPES = [(), (3,), (2, 4)]


def _dirichlet(rng, batch, k=4):
    return rng.dirichlet(np.ones(k), size=batch)


def _corr_cholesky(rng, batch, n=3):
    a = rng.normal(size=(*batch, n, n + 2))
    cov = a @ np.swapaxes(a, -1, -2)
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    corr = cov / (sd[..., :, None] * sd[..., None, :])
    return np.linalg.cholesky(corr)


def _cov_cholesky(rng, batch, n=3):
    a = rng.normal(size=(*batch, n, n + 2))
    return np.linalg.cholesky(a @ np.swapaxes(a, -1, -2))


def _spd(rng, batch, n=3):
    a = rng.normal(size=(*batch, n, n + 2))
    return a @ np.swapaxes(a, -1, -2)


def _corr(rng, batch, n=3):
    L = _corr_cholesky(rng, batch, n)
    return L @ np.swapaxes(L, -1, -2)


def _zerosum(rng, batch, event):
    x = rng.normal(size=(*batch, *event))
    for axis in range(-len(event), 0):
        x = x - x.mean(axis=axis, keepdims=True)
    return x


def _is_corr_cholesky(L):
    n = L.shape[-1]
    lower = np.allclose(L[..., np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]], 0)
    diag = np.diagonal(L, axis1=-2, axis2=-1)
    return lower and np.all(diag > 0) and np.allclose((L**2).sum(-1), 1.0)


def _is_spd(x):
    symmetric = np.allclose(x, np.swapaxes(x, -1, -2), atol=1e-12)
    return symmetric and np.all(np.linalg.eigvalsh(x) > 0)


def _is_corr(x):
    return _is_spd(x) and np.allclose(np.diagonal(x, axis1=-2, axis2=-1), 1.0)


def _is_cov_cholesky(L):
    n = L.shape[-1]
    upper = np.triu_indices(n, 1)
    return np.allclose(L[..., upper[0], upper[1]], 0) and np.all(
        np.diagonal(L, axis1=-2, axis2=-1) > 0
    )


@dataclass
class Case:
    """A transform with a sampler of its support and a check of membership.

    ``free`` maps one constrained event to the free coordinates in which the
    log-det-Jacobian is measured; when it returns more values than there are
    unconstrained ones, the check uses the volume factor sqrt(det(J^T J)).
    """

    id: str
    transform: Any
    event: tuple  # constrained event shape
    sample: Any  # (rng, batch) -> constrained values
    in_support: Any  # constrained array -> bool
    free: Any = lambda x: x.reshape(-1)
    y_scale: float = 1.0
    constant_ljd: bool = False


TRIL3 = np.tril_indices(3, -1)
TRIL3_DIAG = np.tril_indices(3)
CASES = [
    Case(
        "log",
        tr.LogTransform(),
        (),
        lambda r, b: r.gamma(2.0, size=b),
        lambda x: np.all(x > 0),
    ),
    Case(
        "interval",
        tr.IntervalTransform(-1.0, 3.0),
        (),
        lambda r, b: r.uniform(-1, 3, size=b),
        lambda x: np.all((x > -1) & (x < 3)),
    ),
    Case(
        "interval_tensor_bounds",
        tr.IntervalTransform(ts.as_tensor(-2.0), ts.as_tensor(0.5)),
        (),
        lambda r, b: r.uniform(-2, 0.5, size=b),
        lambda x: np.all((x > -2) & (x < 0.5)),
    ),
    Case(
        "lowerbound",
        tr.LowerBoundTransform(1.5),
        (),
        lambda r, b: 1.5 + r.gamma(2.0, size=b),
        lambda x: np.all(x > 1.5),
    ),
    Case(
        "upperbound",
        tr.UpperBoundTransform(-0.5),
        (),
        lambda r, b: -0.5 - r.gamma(2.0, size=b),
        lambda x: np.all(x < -0.5),
    ),
    Case(
        "logodds",
        tr.LogOddsTransform(),
        (),
        lambda r, b: r.uniform(0, 1, size=b),
        lambda x: np.all((x > 0) & (x < 1)),
    ),
    Case(
        "circular",
        tr.CircularTransform(),
        (),
        lambda r, b: r.uniform(-np.pi, np.pi, size=b),
        lambda x: np.all((x > -np.pi) & (x <= np.pi)),
        constant_ljd=True,
    ),
    Case(
        "simplex",
        tr.SimplexTransform(),
        (4,),
        _dirichlet,
        lambda x: np.all(x > 0) and np.allclose(x.sum(-1), 1.0),
        free=lambda x: x[:-1],
    ),
    Case(
        "sum_to_1",
        tr.SumTo1Transform(),
        (4,),
        lambda r, b: _dirichlet(r, b) * 3.0 - 0.5,  # any sign, summing to 1
        lambda x: np.allclose(x.sum(-1), 1.0),
        free=lambda x: x[:-1],
        constant_ljd=True,
    ),
    Case(
        "log_exp_m1",
        tr.LogExpM1Transform(),
        (),
        lambda r, b: r.gamma(2.0, size=b),
        lambda x: np.all(x > 0),
    ),
    Case(
        "ordered",
        tr.OrderedTransform(),
        (4,),
        lambda r, b: np.sort(r.normal(size=(*b, 4)), axis=-1),
        lambda x: np.all(np.diff(x, axis=-1) > 0),
    ),
    Case(
        "zerosum",
        tr.ZeroSumTransform(),
        (4,),
        lambda r, b: _zerosum(r, b, (4,)),
        lambda x: np.allclose(x.sum(-1), 0.0),
        constant_ljd=True,
    ),
    Case(
        "zerosum_2axes",
        tr.ZeroSumTransform(n_zerosum_axes=2),
        (3, 4),
        lambda r, b: _zerosum(r, b, (3, 4)),
        lambda x: np.allclose(x.sum(-1), 0.0) and np.allclose(x.sum(-2), 0.0),
        constant_ljd=True,
    ),
    Case(
        "cholesky_corr",
        tr.CholeskyCorrTransform(3),
        (3, 3),
        _corr_cholesky,
        _is_corr_cholesky,
        free=lambda x: x[TRIL3],
    ),
    Case(
        "cholesky_corr_inferred_n",
        tr.CholeskyCorrTransform(),
        (3, 3),
        _corr_cholesky,
        _is_corr_cholesky,
        free=lambda x: x[TRIL3],
        y_scale=3.0,  # far into the tails of tanh
    ),
    Case(
        "cholesky_cov",
        tr.CholeskyCovTransform(3),
        (3, 3),
        _cov_cholesky,
        _is_cov_cholesky,
        free=lambda x: x[TRIL3_DIAG],
    ),
    Case(
        "positive_definite",
        tr.PositiveDefiniteTransform(3),
        (3, 3),
        _spd,
        _is_spd,
        free=lambda x: x[TRIL3_DIAG],
    ),
    Case(
        "positive_definite_inferred_n",
        tr.PositiveDefiniteTransform(),
        (3, 3),
        _spd,
        _is_spd,
        free=lambda x: x[TRIL3_DIAG],
    ),
    Case(
        "correlation",
        tr.CorrelationTransform(3),
        (3, 3),
        _corr,
        _is_corr,
        free=lambda x: x[TRIL3],
    ),
    Case(
        "correlation_inferred_n",
        tr.CorrelationTransform(),
        (3, 3),
        _corr,
        _is_corr,
        free=lambda x: x[TRIL3],
        y_scale=2.0,
    ),
    Case(
        "chain_log_ordered",
        tr.Chain(tr.LogTransform(), tr.OrderedTransform()),
        (4,),
        lambda r, b: np.sort(r.gamma(2.0, size=(*b, 4)), axis=-1),
        lambda x: np.all(x > 0) and np.all(np.diff(x, axis=-1) > 0),
    ),
    Case(
        "chain_interval_simplex",
        # a toy chain mixing an elementwise stage with an event stage
        tr.Chain(tr.SimplexTransform(), tr.IntervalTransform(-3.0, 3.0)),
        (4,),
        _dirichlet,
        lambda x: np.all(x > 0) and np.allclose(x.sum(-1), 1.0),
        free=lambda x: x[:-1],
    ),
]
CASE_IDS = [c.id for c in CASES]


def _unconstrained_event(case):
    return tuple(case.transform.unconstrained_shape(case.event))


def _sym(name, batch, event):
    """A tensor with unknown batch dims and a static event shape."""
    return ts.tensor(name, shape=(None,) * len(batch) + tuple(event))


def _draw_y(case, rng, batch):
    event = _unconstrained_event(case)
    if case.id == "circular":
        return rng.uniform(-3.0, 3.0, size=batch)
    return case.y_scale * rng.normal(size=(*batch, *event))


@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_round_trip_support_and_batched_ljd(case, batch, rng):
    t = case.transform
    u_event = _unconstrained_event(case)
    x_sym = _sym("x", batch, case.event)
    y_sym = _sym("y", batch, u_event)
    fwd = ts.function([x_sym], t.forward(x_sym))
    bwd = ts.function([y_sym], t.backward(y_sym))
    ljd = ts.function([y_sym], t.log_jac_det(y_sym))

    x = case.sample(rng, batch)
    y = _draw_y(case, rng, batch)
    assert fwd(x).shape == (*batch, *u_event)
    np.testing.assert_allclose(bwd(fwd(x)), x, rtol=1e-9, atol=1e-10)
    x_back = bwd(y)
    assert x_back.shape == (*batch, *case.event)
    assert case.in_support(x_back)
    np.testing.assert_allclose(fwd(x_back), y, rtol=1e-8, atol=1e-8)

    # batched log-det-Jacobian equals the per-element computation
    values = ljd(y)
    assert values.shape == batch
    y_one = ts.tensor("y1", shape=u_event)
    ljd_one = ts.function([y_one], t.log_jac_det(y_one))
    for idx in np.ndindex(*batch):
        np.testing.assert_allclose(values[idx], ljd_one(y[idx]), rtol=1e-12)
    if case.constant_ljd:
        np.testing.assert_array_equal(values, 0.0)


def _numeric_log_jac_det(bwd, free, y, eps=1e-6):
    """log of the volume factor of ``y -> free(bwd(y))`` by central differences."""
    cols = []
    for j in range(y.size):
        step = np.zeros(y.size)
        step[j] = eps
        plus = free(bwd(y + step.reshape(y.shape)))
        minus = free(bwd(y - step.reshape(y.shape)))
        cols.append((plus - minus) / (2 * eps))
    jac = np.stack(cols, axis=-1)
    if jac.ndim == 1:  # a scalar transform
        jac = jac.reshape(1, -1)
    sign, logdet = np.linalg.slogdet(jac.T @ jac)
    assert sign > 0
    return 0.5 * logdet


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_log_jac_det_matches_numerical_jacobian(case, rng):
    t = case.transform
    u_event = _unconstrained_event(case)
    y_sym = ts.tensor("y", shape=u_event)
    bwd = ts.function([y_sym], t.backward(y_sym))
    ljd = ts.function([y_sym], t.log_jac_det(y_sym))
    for _ in range(3):
        y = _draw_y(case, rng, ())
        expected = _numeric_log_jac_det(bwd, case.free, np.asarray(y, dtype=float))
        np.testing.assert_allclose(ljd(y), expected, rtol=1e-6, atol=1e-6)


V3 = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]])
NU = np.array([5.0, 6.5])


def _lkj_logp(x):
    return ppl.logp(ppl.LKJCorr.dist(n=3, eta=2.0), x).eval()


@pytest.mark.parametrize(
    "make, key, batch, free, reference",
    [
        (
            lambda: ppl.Wishart("x", nu=5.0, V=V3),
            "positive_definite",
            (),
            TRIL3_DIAG,
            lambda x: st.wishart(5.0, V3).logpdf(x),
        ),
        (
            lambda: ppl.InverseWishart("x", nu=NU, V=V3),
            "positive_definite",
            (2,),
            TRIL3_DIAG,
            lambda x: sum(st.invwishart(n, V3).logpdf(xi) for n, xi in zip(NU, x)),
        ),
        (
            lambda: ppl.LKJCorr("x", n=3, eta=2.0),
            "correlation",
            (),
            TRIL3,
            _lkj_logp,
        ),
    ],
    ids=["Wishart", "InverseWishart", "LKJCorr"],
)
def test_model_logp_through_the_matrix_transforms(
    make, key, batch, free, reference, rng
):
    """A model's unconstrained log-density is the density of ``backward(y)``
    plus the log-Jacobian of ``y ->`` the free entries, found numerically."""
    with ppl.Model() as model:
        make()
    (value,) = model.value_vars
    assert value.name == f"x_{key}__"
    t = tr.get_transform(key, n=3)
    y = 0.5 * rng.normal(size=(*batch, t.packed_size(3)))
    got = model.compile_logp()({value.name: y})

    y_one = ts.vector("y1")
    bwd = ts.function([y_one], t.backward(y_one))
    x = np.stack([bwd(y[i]) for i in np.ndindex(*batch)]).reshape(*batch, 3, 3)
    ljd = sum(
        _numeric_log_jac_det(bwd, lambda v: v[free], y[i]) for i in np.ndindex(*batch)
    )
    np.testing.assert_allclose(got, reference(x) + ljd, rtol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradients(case, rng):
    t = case.transform
    y = _draw_y(case, rng, (2,))
    verify_grad(t.backward, [y])
    if not case.constant_ljd:
        verify_grad(t.log_jac_det, [y])


def test_symbolic_bounds_follow_their_values(rng):
    lo, hi = ts.scalar("lo"), ts.scalar("hi")
    y = ts.vector("y")
    t = tr.IntervalTransform(lo, hi)
    f = ts.function([y, lo, hi], [t.backward(y), t.log_jac_det(y)])
    yv = rng.normal(size=5)
    x, ljd = f(yv, 2.0, 7.0)
    s = 1 / (1 + np.exp(-yv))
    np.testing.assert_allclose(x, 2.0 + 5.0 * s)
    np.testing.assert_allclose(ljd, np.log(5.0 * s * (1 - s)))


def test_array_bounds_broadcast_against_the_batch(rng):
    lower = np.array([-1.0, 0.0, 2.0, 5.0])
    t = tr.IntervalTransform(lower, lower + 1.0)
    y = ts.matrix("y")
    yv = rng.normal(size=(2, 4))
    x = t.backward(y).eval({y: yv})
    assert np.all((x > lower) & (x < lower + 1.0))
    np.testing.assert_allclose(t.forward(ts.as_tensor(x)).eval(), yv)


@pytest.mark.parametrize(
    "t",
    [tr.LogTransform(), tr.LogOddsTransform(), tr.IntervalTransform(0.0, 2.0)],
    ids=repr,
)
def test_float32_stays_float32(t):
    y = ts.tensor("y", shape=(3,), dtype="float32")
    assert t.backward(y).dtype == "float32"
    assert t.log_jac_det(y).dtype == "float32"
    assert t.forward(y).dtype == "float32"


def test_simplex_matches_softmax_of_centred_logs():
    y = np.array([0.2, -1.0, 0.7])
    z = np.append(y, -y.sum())
    expected = np.exp(z) / np.exp(z).sum()
    out = tr.SimplexTransform().backward(ts.as_tensor(y)).eval()
    np.testing.assert_allclose(out, expected)


def test_cholesky_corr_gives_correlation_matrices(rng):
    t = tr.CholeskyCorrTransform(4)
    y = rng.normal(size=(5, 6)) * 2.0
    L = t.backward(ts.as_tensor(y)).eval()
    corr = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)
    assert np.all(np.linalg.eigvalsh(corr) > 0)
    # the first column holds tanh of the first free value of each row
    np.testing.assert_allclose(L[:, 1, 0], np.tanh(y[:, 0]))


@pytest.mark.parametrize(
    "t, constrained, unconstrained",
    [
        (tr.LogTransform(), (2, 3), (2, 3)),
        (tr.SimplexTransform(), (2, 5), (2, 4)),
        (tr.ZeroSumTransform(2), (7, 3, 4), (7, 2, 3)),
        (tr.CholeskyCorrTransform(), (2, 4, 4), (2, 6)),
        (tr.CholeskyCovTransform(), (4, 4), (10,)),
        (tr.PositiveDefiniteTransform(3), (5, 3, 3), (5, 6)),
        (tr.CorrelationTransform(), (2, 4, 4), (2, 6)),
        (tr.Chain(tr.CholeskyCorrTransform(), tr.LogTransform()), (3, 3), (3,)),
    ],
    ids=repr,
)
def test_shape_maps(t, constrained, unconstrained):
    assert t.unconstrained_shape(constrained) == unconstrained
    assert t.constrained_shape(unconstrained) == constrained


def test_symbolic_shape_entries():
    n = ts.scalar("n", dtype="int64")
    shape = tr.SimplexTransform().unconstrained_shape((2, n))
    assert shape[0] == 2
    assert int(shape[1].eval({n: 5})) == 4


def test_chain_event_ndims():
    chain = tr.Chain(tr.CholeskyCorrTransform(3), tr.LogTransform())
    assert (chain.ndim_supp, chain.ndim_unconstrained) == (2, 1)
    chain = tr.Chain(tr.LogTransform(), tr.Chain(tr.OrderedTransform()))
    assert (chain.ndim_supp, chain.ndim_unconstrained) == (1, 1)
    assert len(chain.transforms) == 2


@pytest.mark.parametrize(
    "key, params, cls",
    [
        ("log", {}, tr.LogTransform),
        ("interval", {"lower": 0.0, "upper": 2.0}, tr.IntervalTransform),
        ("interval", {"lower": 0.0, "upper": None}, tr.IntervalTransform),
        ("lowerbound", {"lower": 1.0}, tr.LowerBoundTransform),
        ("upperbound", {"upper": 1.0}, tr.UpperBoundTransform),
        ("logodds", {}, tr.LogOddsTransform),
        ("simplex", {}, tr.SimplexTransform),
        ("ordered", {}, tr.OrderedTransform),
        ("zerosum", {"n_zerosum_axes": 2}, tr.ZeroSumTransform),
        ("cholesky_corr", {"n": 3}, tr.CholeskyCorrTransform),
        ("cholesky_cov", {}, tr.CholeskyCovTransform),
        ("positive_definite", {"n": 2}, tr.PositiveDefiniteTransform),
        ("correlation", {}, tr.CorrelationTransform),
        ("circular", {}, tr.CircularTransform),
        (["log", "ordered"], {}, tr.Chain),
    ],
)
def test_get_transform(key, params, cls):
    t = tr.get_transform(key, **params)
    assert type(t) is cls
    assert tr.get_transform(t) is t


def test_get_transform_none_and_unbounded_interval():
    assert tr.get_transform(None) is None
    assert tr.get_transform("interval", lower=None, upper=None) is None
    assert tr.get_transform("interval", lower=-np.inf, upper=np.inf) is None
    one_sided = tr.get_transform("interval", lower=-np.inf, upper=2.0)
    assert one_sided.lower is None and one_sided.upper == 2.0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: tr.get_transform("nope"), ValueError, "unknown transform 'nope'"),
        (lambda: tr.get_transform("log", lower=1.0), TypeError, "get_transform"),
        (lambda: tr.get_transform(tr.LogTransform(), n=2), TypeError, "str key"),
        (lambda: tr.IntervalTransform(2.0, 1.0), ValueError, "below upper"),
        (lambda: tr.IntervalTransform(None, None), ValueError, "no transform"),
        (lambda: tr.ZeroSumTransform(0), ValueError, "positive int"),
        (
            lambda: tr.SimplexTransform().backward(ts.scalar("y")),
            ValueError,
            r"SimplexTransform\.backward.*at least 1 dims",
        ),
        (
            lambda: tr.CholeskyCorrTransform().backward(ts.tensor("y", shape=(4,))),
            ValueError,
            "not n\\(n-1\\)/2",
        ),
        (
            lambda: tr.CholeskyCorrTransform(3).backward(ts.tensor("y", shape=(4,))),
            ValueError,
            "n=3 needs 3",
        ),
        (
            lambda: tr.CholeskyCorrTransform().backward(ts.vector("y")),
            ValueError,
            "pass n",
        ),
        (
            lambda: tr.CholeskyCorrTransform(3).forward(ts.tensor("x", shape=(2, 2))),
            ValueError,
            r"expected \(3, 3\)",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
