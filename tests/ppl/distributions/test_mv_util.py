"""Distributions embedded in others (sd_dist of LKJCholeskyCov) inside a model."""

import numpy as np
import pytest

import tessera as ts
from tessera import ppl


def test_registered_lkj_cholesky_cov_has_no_leftover_sd_draw():
    # regression: embedding sd_dist broadcast it to the rv's shape, which kept
    # the sd_dist draw (a random node) in the model's log-density graph
    with ppl.Model() as model:
        chol = ppl.LKJCholeskyCov(
            "chol",
            n=3,
            eta=2.0,
            sd_dist=ppl.Exponential.dist(1.0),
            shape=(4, 3, 3),
            compute_corr=False,
        )
        ppl.MvNormal("y", mu=np.zeros(3), chol=chol, observed=np.zeros((4, 3)))
    f = model.logp_dlogp_function()
    x = model.point_to_array(model.initial_point(0))
    lp, g = f(x)
    assert np.isfinite(lp) and np.all(np.isfinite(g)) and g.shape == x.shape
    from tessera.random.op import RandomVariable

    assert not any(isinstance(n.op, RandomVariable) for n in f.fn.fg.apply_nodes)
    _ = ts


# delta batch dims beyond chol's: (), one (observations), two; static and
# symbolic shapes; the shapes chol broadcasts against
MAHALANOBIS_CASES = [
    ((4, 3), (4, 3, 3)),
    ((5, 4, 3), (4, 3, 3)),
    ((2, 5, 4, 3), (4, 3, 3)),
    ((2, 5, 1, 3), (4, 3, 3)),
    ((6, 3), (3, 3)),
    ((3,), (2, 3, 3)),
]


@pytest.mark.parametrize("static", [True, False], ids=["static", "symbolic"])
@pytest.mark.parametrize("delta_shape, chol_shape", MAHALANOBIS_CASES)
@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_mahalanobis_sq_against_numpy(delta_shape, chol_shape, static, backend):
    from tessera.ppl.distributions.mv_util import mahalanobis_sq

    rng = np.random.default_rng(0)
    a = rng.normal(size=chol_shape)
    chol = np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3))
    delta = rng.normal(size=delta_shape)
    expected = np.einsum(
        "...i,...ij,...j->...",
        delta,
        np.linalg.inv(chol @ np.swapaxes(chol, -1, -2)),
        delta,
    )
    d = ts.tensor("d", shape=delta_shape if static else (None,) * len(delta_shape))
    c = ts.tensor("c", shape=chol_shape if static else (None,) * len(chol_shape))
    out = mahalanobis_sq(d, c)
    assert out.ndim == expected.ndim
    if static:
        assert out.type.shape == expected.shape
    got = ts.function([d, c], out, backend=backend)(delta, chol)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-10)


@pytest.mark.parametrize("delta_shape, chol_shape", MAHALANOBIS_CASES[1:4])
def test_mahalanobis_sq_gradient(delta_shape, chol_shape):
    from tessera.ppl.distributions.mv_util import mahalanobis_sq
    from tessera.testing import verify_grad

    rng = np.random.default_rng(1)
    chol = np.tril(rng.normal(size=chol_shape)) + 3 * np.eye(3)
    verify_grad(mahalanobis_sq, [rng.normal(size=delta_shape), chol])


# --- constant covariance-type parameters must be symmetric (issue #23) ----------------

_BAD = np.array([[1.0, 0.5], [0.3, 1.0]])
_OK = np.array([[1.0, 0.5], [0.5 + 1e-12, 1.0]])  # symmetric to the tolerance
_WALK = {"steps": 3, "init_dist": ppl.Normal.dist(0.0, 1.0, shape=2)}

# (distribution, parameter, builder of the distribution from that matrix)
SYMMETRIC_PARAMS = [
    ("MvNormal", "cov", lambda m: ppl.MvNormal.dist(mu=np.zeros(2), cov=m)),
    ("MvNormal", "tau", lambda m: ppl.MvNormal.dist(mu=np.zeros(2), tau=m)),
    ("MvStudentT", "scale", lambda m: ppl.MvStudentT.dist(nu=3, scale=m, mu=0.0)),
    ("MvStudentT", "tau", lambda m: ppl.MvStudentT.dist(nu=3, tau=m, mu=0.0)),
    ("Wishart", "V", lambda m: ppl.Wishart.dist(nu=4, V=m)),
    ("InverseWishart", "V", lambda m: ppl.InverseWishart.dist(nu=4, V=m)),
    (
        "MatrixNormal",
        "rowcov",
        lambda m: ppl.MatrixNormal.dist(mu=0.0, rowcov=m, colcov=np.eye(3)),
    ),
    (
        "MatrixNormal",
        "colcov",
        lambda m: ppl.MatrixNormal.dist(mu=0.0, rowcov=np.eye(3), colcov=m),
    ),
    (
        "KroneckerNormal",
        r"covs\[1\]",
        lambda m: ppl.KroneckerNormal.dist(
            mu=0.0, covs=[np.eye(3), m], sigma=0.0, shape=(6,)
        ),
    ),
    (
        "MvGaussianRandomWalk",
        "cov",
        lambda m: ppl.MvGaussianRandomWalk.dist(mu=np.zeros(2), cov=m, **_WALK),
    ),
    (
        "MvGaussianRandomWalk",
        "tau",
        lambda m: ppl.MvGaussianRandomWalk.dist(mu=np.zeros(2), tau=m, **_WALK),
    ),
    (
        "MvStudentTRandomWalk",
        "scale",
        lambda m: ppl.MvStudentTRandomWalk.dist(nu=3, mu=np.zeros(2), scale=m, **_WALK),
    ),
    (
        "MvStudentTRandomWalk",
        "cov",
        lambda m: ppl.MvStudentTRandomWalk.dist(nu=3, mu=np.zeros(2), cov=m, **_WALK),
    ),
]


@pytest.mark.parametrize(
    "dist,param,build",
    SYMMETRIC_PARAMS,
    ids=[f"{d}-{p}" for d, p, _ in SYMMETRIC_PARAMS],
)
def test_constant_matrix_parameter_must_be_symmetric(dist, param, build):
    build(_OK)  # symmetric to rounding: accepted
    with pytest.raises(ValueError, match=rf"^{dist}: {param} is not symmetric \("):
        build(_BAD)
    batch = np.stack([_OK, _OK, _BAD])
    with pytest.raises(
        ValueError, match=rf"^{dist}: {param} is not symmetric at batch index \(2,\)"
    ):
        build(batch)


def test_symbolic_matrix_parameter_is_read_from_its_lower_triangle():
    cov = ts.tensor("cov", shape=(2, 2))
    x = ppl.MvNormal.dist(mu=np.zeros(2), cov=cov)
    logp = ts.function([cov], ppl.logp(x, np.array([0.3, -0.2])))
    lower = np.tril(_BAD) + np.tril(_BAD, -1).T
    want = ppl.logp(ppl.MvNormal.dist(mu=np.zeros(2), cov=lower), [0.3, -0.2]).eval()
    np.testing.assert_allclose(logp(_BAD), want, rtol=1e-12)
    with ppl.Model():
        data = ppl.Data("c", _BAD)
        ppl.MvNormal("x", mu=np.zeros(2), cov=data)  # symbolic: accepted
