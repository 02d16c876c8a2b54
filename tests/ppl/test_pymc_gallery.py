"""PyMC gallery models, ported by changing ``pm.`` to ``ppl.`` only.

Each model below is written as a PyMC 5 user writes it (keyword arguments,
``with ppl.Model(coords=...)``, ``dims=``, ``ppl.Data``, ``ppl.sample``,
``ppl.set_data``, ``ppl.sample_posterior_predictive(..., predictions=True)``)
and its posterior is checked against an *independent* reference computed
here with NumPy/SciPy: a closed form, a numerical integral on a grid, or
self-normalized importance sampling. Tolerances come from the Monte-Carlo
standard error (MCSE) of the NUTS estimate, as ArviZ computes it, plus the
reference's own error where it has one.

The models also exercise the PyMC keywords and tools a new user reaches for
in the first hour: ``idata_kwargs={"log_likelihood": True}`` (then
``az.loo``), ``var_names=``, ``initvals=``, ``target_accept=``,
``ppl.compute_log_likelihood``, ``ppl.model_to_graphviz``,
``model.debug()``, ``ppl.find_MAP`` and ``ppl.sample_prior_predictive``.
"""

from __future__ import annotations

import contextlib
import io

import arviz as az
import numpy as np
from scipy import optimize, special, stats

from tessera import ppl

# 4 MCSE: a correct sampler fails one comparison in ~16,000 by chance.
N_MCSE = 4.0


def _mcse_mean(idata, name):
    """Monte-Carlo standard error of the posterior mean of ``name``."""
    return np.asarray(az.mcse(idata, var_names=[name], method="mean")[name])


def _mcse_sd(idata, name):
    """Monte-Carlo standard error of the posterior sd of ``name``.

    ArviZ's own formula (``az.mcse(method="sd")``), written out here because
    that call fails with Numba installed (arviz 0.23: ``float()`` of a
    1-element array): the ESS of the squared deviations, then the delta
    method from the variance to the sd.
    """
    x = idata.posterior[name].values  # (chain, draw, ...)
    x = x.reshape(x.shape[:2] + (-1,))
    out = []
    for k in range(x.shape[-1]):
        c2 = (x[..., k] - x[..., k].mean()) ** 2
        ess = float(az.ess(c2, method="mean"))
        evar = c2.mean()
        varvar = ((c2**2).mean() - evar**2) / ess
        out.append(np.sqrt(varvar / evar / 4))
    return np.array(out).reshape(idata.posterior[name].shape[2:])


def _post(idata, name):
    """Draws of ``name`` with chains and draws stacked: (chains * draws, ...)."""
    v = idata.posterior[name].values
    return v.reshape((-1,) + v.shape[2:])


def _debug_is_clean(model):
    """``model.debug()`` at the initial point reports every term finite."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        reports = model.debug()
    assert reports and all(r.finite for r in reports), out.getvalue()
    assert "no problems found" in out.getvalue()


# --------------------------------------------------------------------------
# 1. Eight schools, non-centered
# --------------------------------------------------------------------------

EIGHT_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
SCHOOLS = ["Choate", "Deerfield", "Phillips Andover", "Phillips Exeter",
           "Hotchkiss", "Lawrenceville", "St. Paul's", "Mt. Hermon"]  # fmt: skip


def eight_schools_reference():
    """Posterior means and sds of ``mu`` and ``tau`` on a 2-D grid.

    With ``theta`` integrated out, ``y_j ~ N(mu, sigma_j^2 + tau^2)``; the
    posterior of ``(mu, tau)`` is that likelihood times the priors
    ``N(mu; 0, 5) * HalfCauchy(tau; 5)``. ``tau``'s grid is uniform in
    ``sqrt(tau)`` (dense near 0, where the density is largest) and reaches
    tau = 400 (the posterior tail decays like tau^-10 there); trapezoid
    weights in both directions.
    """
    mu = np.linspace(-35.0, 45.0, 1601)
    s = np.linspace(0.0, 20.0, 2001)  # sqrt(tau)
    tau = s**2
    # summed school by school: (tau, mu) temporaries of 26 MB, not the
    # (school, tau, mu) ones of 205 MB
    loglik = np.zeros((tau.size, mu.size))
    for y_j, sigma_j in zip(EIGHT_Y, EIGHT_SIGMA):
        var = (sigma_j**2 + tau**2)[:, None]
        loglik -= 0.5 * (np.log(var) + (y_j - mu[None, :]) ** 2 / var)
    logp = (
        loglik
        + stats.norm.logpdf(mu, 0.0, 5.0)[None, :]
        + stats.halfcauchy.logpdf(tau, scale=5.0)[:, None]
        + np.log(2.0 * s + 1e-300)[:, None]  # d tau = 2 s ds
    )
    p = np.exp(logp - logp.max())
    w_mu = np.gradient(mu)  # trapezoid-like weights on uniform grids
    w_s = np.gradient(s)
    p = p * w_s[:, None] * w_mu[None, :]
    p /= p.sum()
    m_mu, m_tau = (p.sum(0) * mu).sum(), (p.sum(1) * tau).sum()
    sd_mu = np.sqrt((p.sum(0) * (mu - m_mu) ** 2).sum())
    sd_tau = np.sqrt((p.sum(1) * (tau - m_tau) ** 2).sum())
    return {"mu": (m_mu, sd_mu), "tau": (m_tau, sd_tau)}


def test_eight_schools_noncentered():
    coords = {"school": SCHOOLS}
    with ppl.Model(coords=coords) as model:
        mu = ppl.Normal("mu", mu=0.0, sigma=5.0)
        tau = ppl.HalfCauchy("tau", beta=5.0)
        theta_tilde = ppl.Normal("theta_tilde", mu=0.0, sigma=1.0, dims="school")
        theta = ppl.Deterministic("theta", mu + tau * theta_tilde, dims="school")
        ppl.Normal("obs", mu=theta, sigma=EIGHT_SIGMA, observed=EIGHT_Y, dims="school")

        idata = ppl.sample(
            draws=1000,
            tune=1000,
            chains=2,
            target_accept=0.95,
            random_seed=8,
            progressbar=False,
            idata_kwargs={"log_likelihood": True},
        )

    _debug_is_clean(model)
    # PyMC's InferenceData layout: coords and dims, the deterministic, the
    # pointwise log-likelihood that az.loo reads
    assert idata.posterior["theta"].dims == ("chain", "draw", "school")
    assert list(idata.posterior["school"].values) == SCHOOLS
    assert idata.log_likelihood["obs"].shape == (2, 1000, 8)
    loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo) and loo.n_data_points == 8
    theta_draws = _post(idata, "theta")
    np.testing.assert_allclose(
        theta_draws,
        _post(idata, "mu")[:, None]
        + _post(idata, "tau")[:, None] * _post(idata, "theta_tilde"),
        rtol=1e-10,
        atol=1e-10,
    )

    ref = eight_schools_reference()
    for name in ("mu", "tau"):
        m_ref, sd_ref = ref[name]
        draws = _post(idata, name)
        # the grid's error (<1e-3 here) is negligible next to the MCSE
        assert abs(draws.mean() - m_ref) < N_MCSE * _mcse_mean(idata, name), name
        assert abs(draws.std() - sd_ref) < N_MCSE * _mcse_sd(idata, name), name
    assert idata.sample_stats["diverging"].sum() < 20


# --------------------------------------------------------------------------
# 2. Radon, varying intercept, with out-of-sample predictions
# --------------------------------------------------------------------------

N_COUNTIES = 8
N_HOUSES = 100


def radon_data():
    """Simulated radon data: log-radon by county with a floor effect."""
    rng = np.random.default_rng(1234)
    county = np.concatenate(
        [np.arange(N_COUNTIES), rng.integers(0, N_COUNTIES, N_HOUSES - N_COUNTIES)]
    )
    floor = rng.integers(0, 2, N_HOUSES).astype(float)
    alpha_true = rng.normal(1.5, 0.5, N_COUNTIES)
    log_radon = alpha_true[county] - 0.7 * floor + rng.normal(0.0, 0.7, N_HOUSES)
    return county, floor, log_radon


def radon_reference(county, floor, y):
    """Posterior mean and sd of the county intercepts ``alpha``.

    Given the two scales ``(sigma_a, sigma_y)`` the model is a Gaussian
    linear model in ``theta = (mu_a, beta, eta_1..eta_K)`` with
    ``alpha_k = mu_a + eta_k``, ``eta_k ~ N(0, sigma_a^2)``: its posterior
    and its marginal likelihood are closed forms. The two scales are
    integrated on a grid uniform in their logs (Jacobian included).
    """
    n, K = len(y), N_COUNTIES
    A = np.zeros((n, K + 2))
    A[:, 0] = 1.0
    A[:, 1] = floor
    A[np.arange(n), 2 + county] = 1.0
    la = np.linspace(np.log(1e-3), np.log(6.0), 160)
    ly = np.linspace(np.log(0.3), np.log(1.5), 120)
    sa, sy = np.meshgrid(np.exp(la), np.exp(ly), indexing="ij")
    sa, sy = sa.ravel(), sy.ravel()
    G = len(sa)
    prior_var = np.empty((G, K + 2))
    prior_var[:, :2] = 100.0  # mu_a ~ N(0, 10), beta ~ N(0, 10)
    prior_var[:, 2:] = sa[:, None] ** 2
    AtA, Aty, yty = A.T @ A, A.T @ y, y @ y
    P = AtA[None] / sy[:, None, None] ** 2 + np.eye(K + 2)[None] / prior_var[:, :, None]
    L = np.linalg.cholesky(P)
    b = Aty[None] / sy[:, None] ** 2
    m = np.linalg.solve(P, b[..., None])[..., 0]
    logdetP = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
    loglik = (
        -0.5 * n * np.log(sy**2)
        - 0.5 * np.log(prior_var).sum(1)
        - 0.5 * logdetP
        - 0.5 * (yty / sy**2 - (m * b).sum(1))
    )
    logw = (
        loglik
        + stats.expon.logpdf(sa)
        + stats.expon.logpdf(sy)
        + np.log(sa)
        + np.log(sy)  # grid uniform in log scale
    )
    w = np.exp(logw - logw.max())
    w /= w.sum()
    # alpha = C theta with C = [1, 0, I]
    C = np.zeros((K, K + 2))
    C[:, 0] = 1.0
    C[:, 2:] = np.eye(K)
    alpha_m = m @ C.T  # (G, K)
    Pinv = np.linalg.inv(P)
    alpha_v = np.einsum("kj,gjl,kl->gk", C, Pinv, C)
    mean = w @ alpha_m
    var = w @ (alpha_v + alpha_m**2) - mean**2  # law of total variance
    return mean, np.sqrt(var)


def test_radon_varying_intercept_with_predictions():
    county, floor, log_radon = radon_data()
    coords = {
        "county": [f"county_{k}" for k in range(N_COUNTIES)],
        "obs_id": np.arange(N_HOUSES),
    }
    with ppl.Model(coords=coords) as model:
        floor_idx = ppl.Data("floor_idx", floor, dims="obs_id")
        county_idx = ppl.Data("county_idx", county, dims="obs_id")
        mu_a = ppl.Normal("mu_a", mu=0.0, sigma=10.0)
        sigma_a = ppl.Exponential("sigma_a", 1.0)
        alpha = ppl.Normal("alpha", mu=mu_a, sigma=sigma_a, dims="county")
        beta = ppl.Normal("beta", mu=0.0, sigma=10.0)
        sigma_y = ppl.Exponential("sigma_y", 1.0)
        y_hat = alpha[county_idx] + beta * floor_idx
        ppl.Normal("y_like", mu=y_hat, sigma=sigma_y, observed=log_radon, dims="obs_id")

    _debug_is_clean(model)
    graph = ppl.model_to_graphviz(model)
    for node in (
        "mu_a",
        "sigma_a",
        "alpha",
        "beta",
        "sigma_y",
        "y_like",
        "floor_idx",
        "county_idx",
    ):
        assert node in graph.source, node

    with model:
        idata = ppl.sample(
            draws=1000,
            tune=1000,
            chains=2,
            target_accept=0.9,
            random_seed=11,
            progressbar=False,
        )
    assert idata.posterior["alpha"].dims == ("chain", "draw", "county")
    assert "floor_idx" in idata.constant_data

    # the posterior of the intercepts against the grid-and-closed-form reference
    ref_mean, ref_sd = radon_reference(county, floor, log_radon)
    draws = _post(idata, "alpha")
    tol_m = N_MCSE * _mcse_mean(idata, "alpha")
    tol_s = N_MCSE * _mcse_sd(idata, "alpha")
    assert np.all(np.abs(draws.mean(0) - ref_mean) < tol_m), (draws.mean(0), ref_mean)
    assert np.all(np.abs(draws.std(0) - ref_sd) < tol_s), (draws.std(0), ref_sd)

    # new houses: PyMC's set_data with new coords, then predictions=True
    new_county = np.array([0, 3, 5, 7, 7])
    new_floor = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    with model:
        ppl.set_data(
            {"county_idx": new_county, "floor_idx": new_floor},
            coords={"obs_id": np.arange(100, 105)},
        )
        pred = ppl.sample_posterior_predictive(
            idata, predictions=True, random_seed=12, progressbar=False
        )
    yp = pred.predictions["y_like"]
    assert yp.dims == ("chain", "draw", "obs_id")
    assert yp.shape == (2, 1000, 5)
    assert list(pred.predictions["obs_id"].values) == list(range(100, 105))
    # the predictive draws are the linear predictor plus N(0, sigma_y) noise,
    # draw by draw: their mean over draws matches the mean linear predictor
    # within 5 sds of a mean of 2000 independent noise terms
    lin = (
        _post(idata, "alpha")[:, new_county] + _post(idata, "beta")[:, None] * new_floor
    )
    noise_se = np.sqrt((_post(idata, "sigma_y") ** 2).mean() / lin.shape[0])
    got = yp.values.reshape(-1, 5).mean(0)
    assert np.all(np.abs(got - lin.mean(0)) < 5 * noise_se), (got, lin.mean(0))
    # and their spread is the posterior of the predictor plus sigma_y
    expected_sd = np.sqrt(lin.var(0) + (_post(idata, "sigma_y") ** 2).mean())
    np.testing.assert_allclose(yp.values.reshape(-1, 5).std(0), expected_sd, rtol=0.1)


# --------------------------------------------------------------------------
# 3. Logistic regression
# --------------------------------------------------------------------------


def logistic_data():
    rng = np.random.default_rng(77)
    n = 250
    X = rng.normal(size=(n, 2))
    eta = -0.5 + X @ np.array([1.2, -0.8])
    y = rng.binomial(1, special.expit(eta))
    return X, y


def logistic_reference(X, y, n_draws=200_000, seed=0):
    """Posterior means and sds by self-normalized importance sampling.

    The proposal is a multivariate t (5 degrees of freedom) centered at the
    MAP that ``scipy.optimize`` finds, with the inverse Hessian (computed
    in closed form at the MAP) as its scale. Returns (MAP, mean, sd,
    effective sample size of the weights).
    """
    Z = np.column_stack([np.ones(len(y)), X])
    prior_sd = np.array([2.5, 1.0, 1.0])

    def neg_logp(b):
        eta = Z @ b
        return (
            -(y * eta - np.logaddexp(0.0, eta)).sum()
            + 0.5 * ((b / prior_sd) ** 2).sum()
        )

    def grad(b):
        return -Z.T @ (y - special.expit(Z @ b)) + b / prior_sd**2

    res = optimize.minimize(
        neg_logp, np.zeros(3), jac=grad, method="BFGS", options={"gtol": 1e-10}
    )
    p = special.expit(Z @ res.x)
    H = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(1.0 / prior_sd**2)
    prop = stats.multivariate_t(loc=res.x, shape=np.linalg.inv(H), df=5)
    draws = prop.rvs(size=n_draws, random_state=np.random.default_rng(seed))
    # the log-likelihood in chunks of draws: the whole (n_draws, n) matrix
    # and its temporaries took 1.2 GB, the suite's peak memory (#23 item 9)
    loglik = np.concatenate(
        [
            (y * eta - np.logaddexp(0.0, eta)).sum(1)
            for eta in (d @ Z.T for d in np.array_split(draws, 20))
        ]
    )
    logp = loglik - 0.5 * ((draws / prior_sd) ** 2).sum(1)
    logw = logp - prop.logpdf(draws)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = w @ draws
    sd = np.sqrt(w @ (draws - mean) ** 2)
    ess = 1.0 / (w**2).sum()
    return res.x, mean, sd, ess


def test_logistic_regression():
    X, y = logistic_data()
    coords = {"coef": ["x1", "x2"], "obs_id": np.arange(len(y))}
    with ppl.Model(coords=coords) as model:
        X_data = ppl.Data("X", X, dims=("obs_id", "coef"))
        intercept = ppl.Normal("intercept", mu=0.0, sigma=2.5)
        beta = ppl.Normal("beta", mu=0.0, sigma=1.0, dims="coef")
        p = ppl.Deterministic(
            "p",
            ppl.math.invlogit(intercept + ppl.math.dot(X_data, beta)),
            dims="obs_id",
        )
        ppl.Bernoulli("y", p=p, observed=y, dims="obs_id")

        map_est = ppl.find_MAP(progressbar=False)
        idata = ppl.sample(
            draws=1000,
            tune=1000,
            chains=2,
            random_seed=5,
            progressbar=False,
            var_names=["intercept", "beta"],
        )
        ppl.compute_log_likelihood(idata)
    _debug_is_clean(model)

    b_map, ref_mean, ref_sd, ess = logistic_reference(X, y)
    assert ess > 50_000  # the proposal is good: the reference is precise
    # find_MAP is the same optimum scipy finds (priors without transforms:
    # the MAP in the original space and on the value space coincide)
    np.testing.assert_allclose(map_est["intercept"], b_map[0], atol=1e-4)
    np.testing.assert_allclose(map_est["beta"], b_map[1:], atol=1e-4)

    # var_names keeps only the named variables (no deterministic p)
    assert set(idata.posterior.data_vars) == {"intercept", "beta"}
    # compute_log_likelihood adds the pointwise log-likelihood group
    ll = idata.log_likelihood["y"]
    assert ll.dims == ("chain", "draw", "obs_id") and ll.shape == (2, 1000, len(y))
    b0, b = _post(idata, "intercept"), _post(idata, "beta")
    eta = b0[:, None] + b @ X.T
    np.testing.assert_allclose(
        ll.values.reshape(-1, len(y)),
        y * eta - np.logaddexp(0.0, eta),
        rtol=1e-8,
        atol=1e-10,
    )
    assert np.isfinite(az.loo(idata).elpd_loo)

    draws = np.column_stack([b0, b])
    mcse_m = np.concatenate(
        [[_mcse_mean(idata, "intercept")], _mcse_mean(idata, "beta")]
    )
    mcse_s = np.concatenate([[_mcse_sd(idata, "intercept")], _mcse_sd(idata, "beta")])
    # the reference's own standard error, sd / sqrt(ESS), is added
    tol_m = N_MCSE * np.sqrt(mcse_m**2 + ref_sd**2 / ess)
    tol_s = N_MCSE * np.sqrt(mcse_s**2 + ref_sd**2 / (2 * ess))
    assert np.all(np.abs(draws.mean(0) - ref_mean) < tol_m), (draws.mean(0), ref_mean)
    assert np.all(np.abs(draws.std(0) - ref_sd) < tol_s), (draws.std(0), ref_sd)


# --------------------------------------------------------------------------
# 4. Gaussian mixture with ordered means
# --------------------------------------------------------------------------

MIX_W = np.array([0.3, 0.45, 0.25])
MIX_MU = np.array([-4.0, 0.0, 5.0])
MIX_SIGMA = 1.0
MIX_N = 600


def test_gaussian_mixture_ordered_means():
    rng = np.random.default_rng(2024)
    z = rng.choice(3, size=MIX_N, p=MIX_W)
    data = rng.normal(MIX_MU[z], MIX_SIGMA)

    with ppl.Model(coords={"cluster": ["low", "mid", "high"]}) as model:
        w = ppl.Dirichlet("w", a=np.ones(3), dims="cluster")
        mu = ppl.Normal(
            "mu",
            mu=0.0,
            sigma=10.0,
            dims="cluster",
            transform=ppl.distributions.transforms.ordered,
            initval=[-1.0, 0.0, 1.0],
        )
        sigma = ppl.HalfNormal("sigma", sigma=2.0)
        ppl.NormalMixture("x", w=w, mu=mu, sigma=sigma, observed=data)

        prior = ppl.sample_prior_predictive(draws=500, random_seed=3)
        idata = ppl.sample(
            draws=800,
            tune=800,
            chains=2,
            random_seed=21,
            progressbar=False,
            initvals={"mu": [-3.0, 0.5, 4.0], "sigma": 1.5},
        )

    # the initial point is the initval, ordered, and every term is finite
    _debug_is_clean(model)
    # PyMC's ordered transform: y_0 = x_0, y_i = log(x_i - x_{i-1})
    np.testing.assert_allclose(model.initial_point()["mu_ordered__"], [-1.0, 0.0, 0.0])
    assert prior.prior["mu"].shape == (1, 500, 3)
    assert prior.prior_predictive["x"].shape == (1, 500, MIX_N)
    np.testing.assert_allclose(prior.prior["w"].values.sum(-1), 1.0, atol=1e-12)

    mu_d, w_d, sigma_d = _post(idata, "mu"), _post(idata, "w"), _post(idata, "sigma")
    assert np.all(np.diff(mu_d, axis=1) > 0), "ordering broken in some draw"

    # Recovery of the truth, with tolerances from the data size: the sd of
    # mu_k is at least sigma / sqrt(n_k) (<= 0.08 here; more where clusters
    # overlap), that of w_k at least sqrt(w_k (1 - w_k) / n) (<= 0.021)
    n_k = np.bincount(z, minlength=3)
    assert np.all(np.abs(mu_d.mean(0) - MIX_MU) < 4 * mu_d.std(0)), mu_d.mean(0)
    assert np.all(mu_d.std(0) > 0.9 * MIX_SIGMA / np.sqrt(n_k)), mu_d.std(0)
    assert np.all(np.abs(w_d.mean(0) - MIX_W) < 4 * w_d.std(0)), w_d.mean(0)
    assert np.all(w_d.std(0) > 0.9 * np.sqrt(MIX_W * (1 - MIX_W) / MIX_N)), w_d.std(0)
    assert abs(sigma_d.mean() - MIX_SIGMA) < 4 * sigma_d.std()

    # The posterior against its Laplace approximation (SciPy's mode and the
    # inverse Hessian there): with n = 600 the posterior is close to
    # Gaussian; its mean differs from the mode by O(1/sqrt(n)) posterior
    # sds (skewness), hence 4 MCSE + 0.25 sd on the means and 20% on the sds
    mode, sd = mixture_laplace(data)
    for name, draws, m_ref, s_ref in [
        ("mu", mu_d, mode["mu"], sd["mu"]),
        ("w", w_d, mode["w"], sd["w"]),
        ("sigma", sigma_d, mode["sigma"], sd["sigma"]),
    ]:
        np.testing.assert_allclose(draws.std(0), s_ref, rtol=0.2, err_msg=name)
        tol = N_MCSE * _mcse_mean(idata, name) + 0.25 * s_ref
        assert np.all(np.abs(draws.mean(0) - m_ref) < tol), (name, draws.mean(0), m_ref)


def mixture_laplace(data):
    """Mode and Laplace-approximation sds of the mixture's posterior.

    Parameters ``theta = (mu_1..3, log sigma, a_1, a_2)`` with
    ``w = softmax(a_1, a_2, 0)``; the log-density includes the priors
    (Dirichlet(1, 1, 1), Normal(0, 10), HalfNormal(2)) and the Jacobians of
    the two reparametrizations, so the Gaussian approximation is of the
    posterior of ``theta``; the sds of ``w`` and ``sigma`` follow by the
    delta method. The Hessian is by central differences (step 1e-4: its
    relative error, ~1e-7, is negligible).
    """

    def unpack(t):
        a = np.array([t[4], t[5], 0.0])
        return t[:3], np.exp(t[3]), special.softmax(a)

    def logp(t):
        mu, sig, w = unpack(t)
        comp = np.log(w) + stats.norm.logpdf(data[:, None], mu, sig)
        lp = special.logsumexp(comp, axis=1).sum()
        lp += stats.norm.logpdf(mu, 0.0, 10.0).sum() + stats.halfnorm.logpdf(
            sig, scale=2.0
        )
        return lp + t[3] + np.log(w).sum()  # Jacobians: d sigma, d w (softmax)

    t0 = np.array([*np.quantile(data, [0.15, 0.5, 0.9]), 0.0, 0.0, 0.0])
    res = optimize.minimize(
        lambda t: -logp(t), t0, method="BFGS", options={"gtol": 1e-8}
    )
    t, h = res.x, 1e-4
    k = len(t)
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(k):
            H[i, j] = -(
                logp(t + E[i] + E[j]) - logp(t + E[i] - E[j]) - logp(t - E[i] + E[j])
                + logp(t - E[i] - E[j])
            ) / (4 * h * h)  # fmt: skip
    cov = np.linalg.inv(H)
    mu, sig, w = unpack(t)
    # delta method: dw/da (softmax Jacobian, last logit fixed), dsigma/dlog sigma
    Jw = (np.diag(w) - np.outer(w, w))[:, :2]
    w_cov = Jw @ cov[4:, 4:] @ Jw.T
    return (
        {"mu": mu, "w": w, "sigma": sig},
        {
            "mu": np.sqrt(np.diag(cov)[:3]),
            "w": np.sqrt(np.diag(w_cov)),
            "sigma": sig * np.sqrt(cov[3, 3]),
        },
    )


# --------------------------------------------------------------------------
# 5. LKJ multivariate normal
# --------------------------------------------------------------------------


def test_lkj_mvnormal():
    rng = np.random.default_rng(99)
    n = 500
    true_sd = np.array([1.0, 2.0, 0.5])
    true_corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    cov = true_corr * np.outer(true_sd, true_sd)
    data = rng.multivariate_normal([1.0, -2.0, 0.5], cov, size=n)

    coords = {
        "axis": ["a", "b", "c"],
        "axis_bis": ["a", "b", "c"],
        "obs_id": np.arange(n),
    }
    with ppl.Model(coords=coords) as model:
        chol, corr, stds = ppl.LKJCholeskyCov(
            "chol",
            n=3,
            eta=2.0,
            sd_dist=ppl.Exponential.dist(1.0, shape=3),
            compute_corr=True,
        )
        mu = ppl.Normal("mu", mu=0.0, sigma=1.5, dims="axis")
        ppl.MvNormal("obs", mu=mu, chol=chol, observed=data, dims=("obs_id", "axis"))

        idata = ppl.sample(
            draws=1000, tune=1000, chains=2, random_seed=31, progressbar=False
        )

    assert {"chol_corr", "chol_stds"} <= set(idata.posterior.data_vars)
    corr_d, sd_d, mu_d = (
        _post(idata, "chol_corr"),
        _post(idata, "chol_stds"),
        _post(idata, "mu"),
    )
    np.testing.assert_allclose(np.diagonal(corr_d, axis1=1, axis2=2), 1.0, atol=1e-10)

    # Large-data limit: the posterior concentrates at the sample statistics,
    # with posterior sds s / sqrt(n) (means), s / sqrt(2n) (sds) and
    # (1 - r^2) / sqrt(n) (correlations). The posterior mean differs from
    # the sample statistic by O(1/n), i.e. O(1/sqrt(n)) ~ 0.05 posterior
    # sds, plus the Monte-Carlo error: 4 MCSE + 0.2 posterior sd.
    s = data.std(0, ddof=1)
    r = np.corrcoef(data, rowvar=False)
    iu = np.triu_indices(3, 1)
    checks = [
        ("mu", mu_d, data.mean(0), s / np.sqrt(n), _mcse_mean(idata, "mu")),
        ("chol_stds", sd_d, s, s / np.sqrt(2 * n), _mcse_mean(idata, "chol_stds")),
        (
            "chol_corr",
            corr_d[:, iu[0], iu[1]],
            r[iu],
            (1 - r[iu] ** 2) / np.sqrt(n),
            _mcse_mean(idata, "chol_corr")[iu],
        ),
    ]
    for name, draws, target, post_sd, mcse in checks:
        np.testing.assert_allclose(draws.std(0), post_sd, rtol=0.2, err_msg=name)
        tol = N_MCSE * mcse + 0.2 * post_sd
        assert np.all(np.abs(draws.mean(0) - target) < tol), (
            name,
            draws.mean(0),
            target,
        )
    # the Cholesky factor is consistent with the deterministics in every draw
    L = _post(idata, "chol")
    C = L @ np.swapaxes(L, -1, -2)
    np.testing.assert_allclose(
        np.sqrt(np.diagonal(C, axis1=1, axis2=2)), sd_d, rtol=1e-8
    )
    _debug_is_clean(model)
