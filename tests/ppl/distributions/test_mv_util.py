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
