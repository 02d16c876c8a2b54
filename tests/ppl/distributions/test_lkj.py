"""LKJCorr, LKJCholesky, LKJCholeskyCov: normalizing constants, batching, draws."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from scipy import integrate
from scipy.special import betaln

import tessera as ts
from tessera import ppl
from tessera.ppl.distributions.logprob import moment
from tessera.ppl.distributions.matrix.lkj import corr_and_sd, lkj_log_normalizer
from tessera.ppl.transforms import CholeskyCorrTransform, CholeskyCovTransform
from tessera.ppl.transforms.matrix import CorrelationTransform
from tessera.testing import verify_grad


def _corr2(r):
    r = np.asarray(r, dtype=float)
    out = np.empty(r.shape + (2, 2))
    out[..., 0, 0] = out[..., 1, 1] = 1.0
    out[..., 0, 1] = out[..., 1, 0] = r
    return out


# --- normalizing constants, checked numerically -------------------------------------
def test_n2_density_integrates_to_one_for_batched_eta():
    etas = np.array([0.5, 1.0, 2.5, 7.0])
    r = ts.vector("r")
    c = ts.stack(
        [ts.stack([ts.ones_like(r), r], -1), ts.stack([r, ts.ones_like(r)], -1)], -2
    )
    eta = ts.vector("eta")
    lp = ppl.logp(ppl.LKJCorr.dist(n=2, eta=eta), c)
    f = ts.function([r, eta], ts.exp(lp))
    for e in etas:
        total, _ = integrate.quad(
            lambda x, e=e: f(np.array([x]), np.array([e]))[0], -1, 1
        )
        np.testing.assert_allclose(total, 1.0, rtol=1e-7)
    # and the normalizer is the Beta integral 2^(2 eta - 1) B(eta, eta)
    np.testing.assert_allclose(
        lkj_log_normalizer(etas, 2).eval(),
        (2 * etas - 1) * np.log(2) + betaln(etas, etas),
    )


@pytest.mark.parametrize("eta", [2.0, 3.5])
def test_n3_normalizer_by_quadrature(eta):
    def det(r23, r13, r12):
        return 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23

    def half_width(r12, r13):
        return np.sqrt((1 - r12**2) * (1 - r13**2))

    total, _ = integrate.tplquad(
        lambda r23, r13, r12: max(det(r23, r13, r12), 0.0) ** (eta - 1),
        -1,
        1,
        -1,
        1,
        lambda r12, r13: r12 * r13 - half_width(r12, r13),
        lambda r12, r13: r12 * r13 + half_width(r12, r13),
        epsrel=1e-6,
    )
    np.testing.assert_allclose(
        np.exp(lkj_log_normalizer(eta, 3).eval()), total, rtol=1e-5
    )


def test_n3_uniform_normalizer_is_the_elliptope_volume():
    np.testing.assert_allclose(np.exp(lkj_log_normalizer(1.0, 3).eval()), np.pi**2 / 2)


def test_n4_normalizer_by_monte_carlo():
    """Uniform points in the cube [-1, 1]^6 of off-diagonal entries."""
    eta, n, S = 1.7, 4, 400_000
    rng = np.random.default_rng(5)
    rows, cols = np.tril_indices(n, -1)
    c = np.broadcast_to(np.eye(n), (S, n, n)).copy()
    r = rng.uniform(-1, 1, size=(S, rows.size))
    c[:, rows, cols] = r
    c[:, cols, rows] = r
    lam = np.linalg.eigvalsh(c)
    w = np.where(
        lam.min(-1) > 0, np.prod(np.clip(lam, 1e-300, None), -1) ** (eta - 1), 0.0
    )
    est, se = 2.0**6 * w.mean(), 2.0**6 * w.std() / np.sqrt(S)
    got = np.exp(lkj_log_normalizer(eta, n).eval())
    assert abs(got - est) < 4 * se, (got, est, se)


# --- logp over batch shapes ----------------------------------------------------------
def _ref_corr(c, eta, n):
    k = np.arange(1, n)
    a = eta + (n - k - 1) / 2
    logz = np.sum((n - k) * ((2 * eta - 2 + n - k) * np.log(2) + betaln(a, a)))
    return (eta - 1) * np.linalg.slogdet(c)[1] - logz


@pytest.mark.parametrize("batch", [(), (3,), (2, 4)])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_lkj_corr_and_cholesky_batched(batch, n, rng):
    eta = rng.uniform(0.5, 4.0, size=batch)
    corr = ppl.LKJCorr.dist(n=n, eta=eta)
    chol = ppl.LKJCholesky.dist(n=n, eta=eta)
    assert corr.type.shape == batch + (n, n)
    c = ppl.draw(corr, random_seed=1)
    L = np.linalg.cholesky(c)
    got_c = ppl.logp(corr, c).eval()
    got_l = ppl.logp(chol, L).eval()
    want = np.empty(batch)
    for idx in np.ndindex(*batch):
        want[idx] = _ref_corr(c[idx], eta[idx], n)
    np.testing.assert_allclose(got_c, want, rtol=1e-9)
    # pushforward to the factor: log|d C / d L| = sum_i (n - 1 - i) log L_ii
    i = np.arange(n)
    jac = ((n - 1 - i) * np.log(np.diagonal(L, axis1=-2, axis2=-1))).sum(-1)
    np.testing.assert_allclose(got_l, want + jac, rtol=1e-9)


def test_eta_broadcasts_with_value_batch(rng):
    eta = np.array([1.0, 2.0, 3.0])
    c = ppl.draw(ppl.LKJCorr.dist(n=3, eta=2.0, size=(4, 1)), random_seed=2)
    got = ppl.logp(ppl.LKJCorr.dist(n=3, eta=eta), c).eval()
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got[2, 1], _ref_corr(c[2, 0], 2.0, 3), rtol=1e-10)


# --- LKJCholeskyCov ----------------------------------------------------------------
def _free(L):
    n = L.shape[-1]
    return L[np.tril_indices(n)]


def _cov_ref(L, eta, lam):
    """Density of (sd, L_c) minus the log-Jacobian of (sd, L_c) -> L, by FD."""
    n = L.shape[-1]
    sd = np.linalg.norm(L, axis=-1)
    lc = L / sd[:, None]
    rows, cols = np.tril_indices(n, -1)

    def to_l(theta):
        s, off = theta[:n], theta[n:]
        m = np.zeros((n, n))
        m[rows, cols] = off
        m[np.arange(n), np.arange(n)] = np.sqrt(1 - (m**2).sum(-1))
        return _free(s[:, None] * m)

    theta = np.concatenate([sd, lc[rows, cols]])
    eps = 1e-6
    jac = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        d = np.zeros(theta.size)
        d[j] = eps
        jac[:, j] = (to_l(theta + d) - to_l(theta - d)) / (2 * eps)
    lkj = (
        _ref_corr(lc @ lc.T, eta, n)
        + ((n - 1 - np.arange(n)) * np.log(np.diag(lc))).sum()
    )
    return (
        st.expon(scale=1 / lam).logpdf(sd).sum() + lkj - np.log(abs(np.linalg.det(jac)))
    )


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize(
    "eta_batch, lam_batch", [((), ()), ((3,), (3,)), ((2, 1), (4,))]
)
def test_lkj_cholesky_cov_vs_jacobian_reference(n, eta_batch, lam_batch, rng):
    eta = rng.uniform(0.7, 3.0, size=eta_batch)
    lam = rng.uniform(0.5, 2.0, size=lam_batch)
    sd = ppl.Exponential.dist(lam=lam[..., None], size=lam_batch + (n,))
    x = ppl.LKJCholeskyCov.dist(n=n, eta=eta, sd_dist=sd)
    full = np.broadcast_shapes(eta_batch, lam_batch)
    assert x.type.shape == full + (n, n)
    L = ppl.draw(x, random_seed=3)
    got = ppl.logp(x, L).eval()
    want = np.empty(full)
    for idx in np.ndindex(*full):
        e = np.broadcast_to(eta, full)[idx]
        lm = np.broadcast_to(lam, full)[idx]
        want[idx] = _cov_ref(L[idx], e, lm)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_scalar_sd_dist_is_repeated():
    x = ppl.LKJCholeskyCov.dist(n=3, eta=2.0, sd_dist=ppl.HalfNormal.dist(1.5))
    y = ppl.LKJCholeskyCov.dist(n=3, eta=2.0, sd_dist=ppl.HalfNormal.dist(1.5, size=3))
    L = np.array([[1.0, 0, 0], [0.3, 0.8, 0], [-0.2, 0.1, 2.0]])
    np.testing.assert_allclose(ppl.logp(x, L).eval(), ppl.logp(y, L).eval())


def test_sd_dist_of_wrong_shape_raises():
    with pytest.raises(ValueError, match="trailing shape"):
        ppl.LKJCholeskyCov.dist(n=3, eta=2.0, sd_dist=ppl.HalfNormal.dist(1.0, size=4))
    with pytest.raises(TypeError, match="sd_dist must be a distribution"):
        ppl.LKJCholeskyCov.dist(n=3, eta=2.0, sd_dist=1.0)


# --- gradients through the default transforms -------------------------------------
def test_grad_lkj_cholesky(rng):
    t = CholeskyCorrTransform(3)
    verify_grad(
        lambda eta, y: ppl.logp(ppl.LKJCholesky.dist(n=3, eta=eta), t.backward(y)),
        [np.array([0.8, 2.5]), rng.normal(size=(2, 3)) * 0.5],
    )


def test_grad_lkj_corr(rng):
    t = CorrelationTransform(3)
    verify_grad(
        lambda eta, y: ppl.logp(ppl.LKJCorr.dist(n=3, eta=eta), t.backward(y)),
        [np.array([0.8, 2.5]), rng.normal(size=(2, 3)) * 0.5],
    )


def test_grad_lkj_cholesky_cov(rng):
    t = CholeskyCovTransform(3)

    def fn(eta, sigma, y):
        sd = ppl.HalfNormal.dist(sigma=sigma)
        x = ppl.LKJCholeskyCov.dist(n=3, eta=eta, sd_dist=sd)
        return ppl.logp(x, t.backward(y))

    verify_grad(
        fn,
        [np.array([0.8, 2.5]), np.array([[0.5], [1.0]]), rng.normal(size=(2, 6)) * 0.5],
    )


# --- support and parameter checks -----------------------------------------------------
@pytest.mark.parametrize(
    "make, value",
    [
        (lambda: ppl.LKJCorr.dist(2, 2.0), _corr2(1.5)),  # not PD
        (lambda: ppl.LKJCorr.dist(2, 2.0), np.diag([1.0, 2.0])),  # not unit diagonal
        (lambda: ppl.LKJCholesky.dist(2, 2.0), np.array([[1.0, 0.0], [0.6, 0.6]])),
        (lambda: ppl.LKJCholesky.dist(2, 2.0), np.array([[1.0, 0.1], [0.6, 0.8]])),
        (
            lambda: ppl.LKJCholeskyCov.dist(2, 2.0, ppl.Exponential.dist(1.0)),
            np.array([[1.0, 0.0], [0.6, -0.8]]),
        ),
    ],
)
def test_out_of_support_is_minus_inf(make, value):
    assert np.isneginf(ppl.logp(make(), value).eval())


@pytest.mark.parametrize(
    "make, err, msg",
    [
        (lambda: ppl.LKJCorr.dist(3, [1.0, 0.0]), ValueError, r"eta > 0.*index \(1,\)"),
        (lambda: ppl.LKJCholesky.dist(0, 1.0), ValueError, "positive int"),
        (lambda: ppl.LKJCholesky.dist(2.5, 1.0), ValueError, "positive int"),
        (
            lambda: ppl.LKJCorr.dist(3, 1.0, shape=(2, 2, 2)),
            ValueError,
            "must end with",
        ),
        (
            lambda: ppl.LKJCholeskyCov.dist(2, 1.0, ppl.Exponential.dist(-1.0)),
            ValueError,
            "lam > 0",
        ),
    ],
)
def test_invalid_arguments(make, err, msg):
    with pytest.raises(err, match=msg):
        make()


def test_symbolic_invalid_sd_params_give_minus_inf():
    lam = ts.vector("lam")
    x = ppl.LKJCholeskyCov.dist(2, 1.0, ppl.Exponential.dist(lam))
    lp = ppl.logp(x, np.eye(2))
    assert np.isneginf(lp.eval({lam: np.array([1.0, -1.0])}))
    assert np.isfinite(lp.eval({lam: np.array([1.0, 1.0])}))


def test_symbolic_invalid_eta_gives_minus_inf():
    eta = ts.vector("eta")
    lp = ppl.logp(ppl.LKJCorr.dist(2, eta), _corr2(0.3))
    got = lp.eval({eta: np.array([1.0, -1.0])})
    assert np.isfinite(got[0]) and np.isneginf(got[1])


# --- draws -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ppl.LKJCorr.dist(3, 2.0), (3, 3)),
        (lambda: ppl.LKJCorr.dist(3, [[1.0], [2.0]], size=(2, 5)), (2, 5, 3, 3)),
        (lambda: ppl.LKJCholesky.dist(4, [1.0, 2.0]), (2, 4, 4)),
        (lambda: ppl.LKJCholesky.dist(1, 1.0, shape=(3, 1, 1)), (3, 1, 1)),
        (
            lambda: ppl.LKJCholeskyCov.dist(
                3,
                [1.0, 2.0],
                ppl.Exponential.dist([[[1.0]], [[2.0]], [[3.0]]], size=(3, 1, 3)),
            ),
            (3, 2, 3, 3),
        ),
        (
            lambda: ppl.LKJCholeskyCov.dist(
                2, 1.0, ppl.Exponential.dist(1.0), size=(4,)
            ),
            (4, 2, 2),
        ),
    ],
)
def test_draw_shapes(make, expected):
    x = make()
    assert x.type.shape == expected
    d = ppl.draw(x, random_seed=0)
    assert d.shape == expected
    assert np.all(np.isfinite(ppl.logp(x, d).eval()))


def test_corr_draws_are_correlation_matrices():
    c = ppl.draw(ppl.LKJCorr.dist(4, [0.5, 3.0], size=(50, 2)), random_seed=1)
    np.testing.assert_array_equal(c, np.swapaxes(c, -1, -2))
    np.testing.assert_array_equal(np.diagonal(c, axis1=-2, axis2=-1), 1.0)
    assert np.all(np.linalg.eigvalsh(c) > 0)


def test_marginal_correlation_distribution():
    """Each off-diagonal entry of LKJ(eta) is 2 Beta(b, b) - 1, b = eta - 1 + n/2."""
    n, etas, S = 4, np.array([0.7, 1.0, 3.0]), 4000
    L = ppl.draw(ppl.LKJCholesky.dist(n, etas, size=(S, 3)), random_seed=6)
    c = L @ np.swapaxes(L, -1, -2)
    for j, eta in enumerate(etas):
        b = eta - 1 + n / 2
        for r, col in [(1, 0), (3, 0), (3, 2)]:
            p = st.kstest((c[:, j, r, col] + 1) / 2, st.beta(b, b).cdf).pvalue
            assert p > 1e-3, (eta, r, col, p)


def test_cholesky_cov_draws_have_sd_dist_row_norms():
    S = 20_000
    sd = ppl.Exponential.dist(lam=[1.0, 2.0, 4.0])
    L = ppl.draw(ppl.LKJCholeskyCov.dist(3, 2.0, sd, size=(S,)), random_seed=7)
    corr, s = (v.eval() for v in corr_and_sd(L))
    se = s.std(0) / np.sqrt(S)
    assert np.all(np.abs(s.mean(0) - [1.0, 0.5, 0.25]) < 5 * se)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)


@pytest.mark.parametrize(
    "make, want",
    [
        (lambda: ppl.LKJCorr.dist(3, [1.0, 2.0]), np.eye(3)),
        (lambda: ppl.LKJCholesky.dist(3, 2.0), np.eye(3)),
        (
            lambda: ppl.LKJCholeskyCov.dist(2, 2.0, ppl.Exponential.dist([1.0, 0.5])),
            np.diag([1.0, 2.0]),
        ),
    ],
)
def test_moment(make, want):
    x = make()
    m = moment(x).eval()
    assert m.shape == x.type.shape
    np.testing.assert_allclose(m, np.broadcast_to(want, m.shape))
    assert np.all(np.isfinite(ppl.logp(x, m).eval()))


def test_numpy_and_jax_backends_agree(rng):
    pytest.importorskip("jax")
    from tessera.testing import compare_backends

    t = CholeskyCovTransform(3)

    def fn(eta, sigma, y):
        sd = ppl.HalfNormal.dist(sigma=sigma)
        return ppl.logp(ppl.LKJCholeskyCov.dist(3, eta, sd), t.backward(y))

    compare_backends(
        fn,
        [np.array([0.8, 2.5]), np.array([[0.5], [1.0]]), rng.normal(size=(2, 6))],
        rtol=1e-8,
        atol=1e-10,
    )


@pytest.mark.parametrize(
    "sd",
    [
        lambda: ppl.Exponential.dist(1.0),
        lambda: ppl.Exponential.dist([[1.0], [2.0]]),
        lambda: ppl.Exponential.dist(1.0, size=(2, 3)),
    ],
)
def test_logp_graph_has_no_random_node(sd):
    # the sd_dist draw must not stay an ancestor of the log-density
    from tessera.graph.traversal import toposort
    from tessera.random.op import RandomVariable

    x = ppl.LKJCholeskyCov.dist(3, 2.0, sd())
    lp = ppl.logp(x, np.eye(3))
    assert not any(isinstance(n.op, RandomVariable) for n in toposort([lp]))


# --- LKJCholeskyCov in a model: (chol, corr, stds) as in PyMC ----------------------
def test_model_form_returns_chol_corr_stds_as_deterministics():
    coords = {"group": range(2), "effect": ["a", "b", "c"], "effect_": ["a", "b", "c"]}
    with ppl.Model(coords=coords) as m:
        chol, corr, stds = ppl.LKJCholeskyCov(
            "chol",
            eta=[1.0, 3.0],
            n=3,
            sd_dist=ppl.HalfNormal.dist(1.5, size=(2, 3)),
            dims=("group", "effect", "effect_"),
        )
    assert chol.type.shape == (2, 3, 3)
    assert m.named_vars["chol_corr"] is corr and m.named_vars["chol_stds"] is stds
    assert corr in m.deterministics and stds in m.deterministics
    assert m.named_vars_to_dims["chol_corr"] == ("group", "effect", "effect_")
    assert m.named_vars_to_dims["chol_stds"] == ("group", "effect")
    # the deterministics of a chol value: its correlations and row norms
    L = np.array([[2.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-1.0, 0.5, 1.5]])
    from tessera.graph.traversal import clone_replace

    x = ts.tensor("x", shape=(2, 3, 3))
    c, s = ts.function([x], clone_replace([corr, stds], {chol: x}))(
        np.broadcast_to(L, (2, 3, 3))
    )
    cov = L @ L.T
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(s, np.broadcast_to(sd, (2, 3)))
    np.testing.assert_allclose(c, np.broadcast_to(cov / np.outer(sd, sd), (2, 3, 3)))


def test_model_form_compute_corr_false_and_not_stored():
    with ppl.Model() as m:
        chol = ppl.LKJCholeskyCov(
            "chol", 2.0, 3, ppl.Exponential.dist(1.0), compute_corr=False
        )
    assert chol.type.shape == (3, 3) and list(m.named_vars) == ["chol"]
    with ppl.Model() as m:
        chol, corr, stds = ppl.LKJCholeskyCov(
            "chol",
            eta=2.0,
            n=3,
            sd_dist=ppl.Exponential.dist(1.0),
            store_in_trace=False,
        )
    assert list(m.named_vars) == ["chol"]
    assert corr.type.shape == (3, 3) and stds.type.shape == (3,)
    with ppl.Model(), pytest.raises(TypeError, match="needs sd_dist"):
        ppl.LKJCholeskyCov("chol", eta=2.0, n=3)


def test_model_form_posterior_predictive_shapes_of_the_deterministics():
    with ppl.Model():
        chol, _, _ = ppl.LKJCholeskyCov(
            "chol", eta=2.0, n=2, sd_dist=ppl.Exponential.dist(1.0, size=(4, 2))
        )
        ppl.MvNormal("y", mu=np.zeros(2), chol=chol, observed=np.zeros((4, 2)))
        idata = ppl.sample_prior_predictive(draws=20, random_seed=0)
    corr = idata.prior["chol_corr"].values
    assert corr.shape == (1, 20, 4, 2, 2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0)
    assert idata.prior["chol_stds"].shape == (1, 20, 4, 2)
