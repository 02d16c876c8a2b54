"""Conjugate models with known posteriors, shared by the accuracy tests.

Each case returns ``(model, exact)`` with ``exact[name] = (mean, sd)`` of
the posterior marginals (arrays shaped like the variable).
"""

import numpy as np
from scipy import stats

from tessera import ppl


def normal_mean():
    rng = np.random.default_rng(0)
    y = rng.normal(1.5, 2.0, size=30)
    m0, s0, sigma = 0.0, 3.0, 2.0
    prec = 1 / s0**2 + y.size / sigma**2
    mean = (m0 / s0**2 + y.sum() / sigma**2) / prec
    with ppl.Model() as model:
        mu = ppl.Normal("mu", m0, s0)
        ppl.Normal("y", mu, sigma, observed=y)
    return model, {"mu": (np.asarray(mean), np.asarray(prec**-0.5))}


def beta_binomial():
    n = np.array([20, 50, 10])
    k = np.array([3, 30, 9])
    a, b = 2.0, 3.0
    post = stats.beta(a + k, b + n - k)
    with ppl.Model(coords={"group": ["a", "b", "c"]}) as model:
        p = ppl.Beta("p", a, b, dims="group")
        ppl.Binomial("k", n=n, p=p, observed=k, dims="group")
    return model, {"p": (post.mean(), post.std())}


def gamma_poisson():
    rng = np.random.default_rng(1)
    y = rng.poisson(4.0, size=(2, 15))
    a, b = 2.0, 0.5
    post = stats.gamma(a + y.sum(axis=1), scale=1 / (b + y.shape[1]))
    with ppl.Model() as model:
        lam = ppl.Gamma("lam", alpha=a, beta=b, shape=(2, 1))
        ppl.Poisson("y", lam, observed=y)
    mean, sd = post.mean()[:, None], post.std()[:, None]
    return model, {"lam": (mean, sd)}


def mvnormal_groups():
    rng = np.random.default_rng(2)
    groups, d, n_obs = 3, 2, 8
    m0 = np.array([0.0, 1.0])
    S0 = np.array([[4.0, 1.0], [1.0, 2.0]])
    Sigma = np.array([[1.0, 0.6], [0.6, 1.5]])
    true = rng.multivariate_normal(m0, S0, size=groups)
    y = true[:, None, :] + rng.multivariate_normal(np.zeros(d), Sigma, (groups, n_obs))
    P0, P = np.linalg.inv(S0), np.linalg.inv(Sigma)
    cov = np.linalg.inv(P0 + n_obs * P)
    mean = (cov @ (P0 @ m0 + P @ y.sum(axis=1)[..., None])[..., 0:1])[..., 0]
    mean = np.einsum("ij,gj->gi", cov, P0 @ m0 + y.sum(axis=1) @ P.T)
    sd = np.broadcast_to(np.sqrt(np.diag(cov)), (groups, d))
    with ppl.Model(coords={"group": range(groups), "dim": ["x", "y"]}) as model:
        mu = ppl.MvNormal("mu", m0, S0, dims=("group", "dim"))
        ppl.MvNormal("y", mu[:, None, :], Sigma, observed=y)
    return model, {"mu": (mean, sd)}


def dirichlet_multinomial():
    alpha = np.array([1.0, 2.0, 3.0, 1.5])
    counts = np.array([[10, 3, 5, 2], [0, 7, 1, 12]])
    post = alpha + counts
    total = post.sum(axis=-1, keepdims=True)
    mean = post / total
    sd = np.sqrt(mean * (1 - mean) / (total + 1))
    with ppl.Model() as model:
        p = ppl.Dirichlet("p", alpha, shape=(2, 4))
        ppl.Multinomial("counts", n=counts.sum(axis=-1), p=p, observed=counts)
    return model, {"p": (mean, sd)}


CASES = {
    "normal_mean": normal_mean,
    "beta_binomial": beta_binomial,
    "gamma_poisson": gamma_poisson,
    "mvnormal_groups": mvnormal_groups,
    "dirichlet_multinomial": dirichlet_multinomial,
}
