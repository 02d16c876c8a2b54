"""The models of ``benchmarks/inference.py``, written the same way in
tessera, PyMC and NumPyro, and their data (fixed seeds).

A helper module (its name starts with ``_``, so ``benchmarks/run.py`` does
not run it as a benchmark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# --- data -----------------------------------------------------------------------
G, N, D = 50, 20, 3
SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
COUNTIES, HOUSES = 85, 919


def mvnormal_data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    mu0 = np.array([1.0, -1.0, 0.5])
    corr = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, -0.3], [0.2, -0.3, 1.0]])
    chol = np.diag([1.0, 0.7, 1.3]) @ np.linalg.cholesky(corr)
    mus = mu0 + rng.normal(size=(G, D)) @ chol.T
    return {"y": mus[:, None, :] + 0.5 * rng.normal(size=(G, N, D))}


def eight_schools_data() -> dict:
    return {"y": SCHOOLS_Y, "sigma": SCHOOLS_SIGMA}


def radon_data(seed: int = 0) -> dict:
    """Simulated radon: uneven county sizes (every county at least one house),
    about one house in six measured on the ground floor (``floor == 1``)."""
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.0, COUNTIES)
    county = np.concatenate(
        [
            np.arange(COUNTIES),
            rng.choice(COUNTIES, HOUSES - COUNTIES, p=weights / weights.sum()),
        ]
    )
    floor = rng.binomial(1, 0.17, HOUSES).astype(float)
    a = 1.5 + 0.35 * rng.normal(size=COUNTIES)
    y = a[county] - 0.6 * floor + 0.75 * rng.normal(size=HOUSES)
    return {"county": county, "floor": floor, "y": y}


# --- the models in tessera ------------------------------------------------------
def tessera_mvnormal(y):
    from tessera import ppl

    coords = {"group": range(G), "obs": range(N), "dim": ["a", "b", "c"]}
    with ppl.Model(coords=coords) as model:
        mu0 = ppl.Normal("mu0", 0.0, 5.0, dims="dim")
        chol, _, _ = ppl.LKJCholeskyCov(
            "chol", n=D, eta=2.0, sd_dist=ppl.Exponential.dist(1.0)
        )
        mu = ppl.MvNormal("mu", mu0, chol=chol, dims=("group", "dim"))
        sigma = ppl.HalfNormal("sigma", 1.0)
        ppl.Normal("y", mu[:, None, :], sigma, observed=y, dims=("group", "obs", "dim"))
    return model


def tessera_eight_schools(y, sigma):
    from tessera import ppl

    with ppl.Model(coords={"school": range(len(y))}) as model:
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        theta_tilde = ppl.Normal("theta_tilde", 0.0, 1.0, dims="school")
        ppl.Normal("y", mu + tau * theta_tilde, sigma, observed=y, dims="school")
    return model


def tessera_radon(county, floor, y):
    from tessera import ppl

    with ppl.Model(coords={"county": range(COUNTIES)}) as model:
        mu_a = ppl.Normal("mu_a", 0.0, 10.0)
        sigma_a = ppl.HalfNormal("sigma_a", 5.0)
        a = ppl.Normal("a", mu_a, sigma_a, dims="county")
        b = ppl.Normal("b", 0.0, 10.0)
        sigma_y = ppl.HalfNormal("sigma_y", 5.0)
        ppl.Normal("y", a[county] + b * floor, sigma_y, observed=y)
    return model


# --- the models in PyMC ---------------------------------------------------------
def pymc_mvnormal(y):
    import pymc as pm

    coords = {"group": range(G), "obs": range(N), "dim": ["a", "b", "c"]}
    with pm.Model(coords=coords) as model:
        mu0 = pm.Normal("mu0", 0.0, 5.0, dims="dim")
        chol, _, _ = pm.LKJCholeskyCov(
            "chol", n=D, eta=2.0, sd_dist=pm.Exponential.dist(1.0, shape=D)
        )
        mu = pm.MvNormal("mu", mu0, chol=chol, dims=("group", "dim"))
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", mu[:, None, :], sigma, observed=y, dims=("group", "obs", "dim"))
    return model


def pymc_eight_schools(y, sigma):
    import pymc as pm

    with pm.Model(coords={"school": range(len(y))}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, dims="school")
        pm.Normal("y", mu + tau * theta_tilde, sigma, observed=y, dims="school")
    return model


def pymc_radon(county, floor, y):
    import pymc as pm

    with pm.Model(coords={"county": range(COUNTIES)}) as model:
        mu_a = pm.Normal("mu_a", 0.0, 10.0)
        sigma_a = pm.HalfNormal("sigma_a", 5.0)
        a = pm.Normal("a", mu_a, sigma_a, dims="county")
        b = pm.Normal("b", 0.0, 10.0)
        sigma_y = pm.HalfNormal("sigma_y", 5.0)
        pm.Normal("y", a[county] + b * floor, sigma_y, observed=y)
    return model


# --- the models in NumPyro (functions of the data) ------------------------------
def numpyro_mvnormal(y):
    import numpyro
    import numpyro.distributions as dist

    mu0 = numpyro.sample("mu0", dist.Normal(0.0, 5.0).expand([D]))
    sd = numpyro.sample("sd", dist.Exponential(1.0).expand([D]))
    corr_chol = numpyro.sample("corr_chol", dist.LKJCholesky(D, 2.0))
    chol = numpyro.deterministic("chol", sd[:, None] * corr_chol)
    with numpyro.plate("group", G):
        mu = numpyro.sample("mu", dist.MultivariateNormal(mu0, scale_tril=chol))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    numpyro.sample("y", dist.Normal(mu[:, None, :], sigma), obs=y)


def numpyro_eight_schools(y, sigma):
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = numpyro.sample("tau", dist.HalfCauchy(5.0))
    with numpyro.plate("school", len(y)):
        theta_tilde = numpyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(mu + tau * theta_tilde, sigma), obs=y)


def numpyro_radon(county, floor, y):
    import numpyro
    import numpyro.distributions as dist

    mu_a = numpyro.sample("mu_a", dist.Normal(0.0, 10.0))
    sigma_a = numpyro.sample("sigma_a", dist.HalfNormal(5.0))
    with numpyro.plate("county", COUNTIES):
        a = numpyro.sample("a", dist.Normal(mu_a, sigma_a))
    b = numpyro.sample("b", dist.Normal(0.0, 10.0))
    sigma_y = numpyro.sample("sigma_y", dist.HalfNormal(5.0))
    with numpyro.plate("house", len(y)):
        numpyro.sample("y", dist.Normal(a[county] + b * floor, sigma_y), obs=y)


@dataclass(frozen=True)
class Spec:
    title: str
    data: Callable[[], dict]
    #: posterior entries whose ESS is taken (the free parameters; ``chol`` is
    #: PyMC's packed factor, tessera's and NumPyro's lower triangle)
    free: tuple[str, ...]
    tessera: Callable
    pymc: Callable
    numpyro: Callable


MODELS = {
    "mvnormal": Spec(
        "hierarchical MvNormal (50 groups x 20 obs x 3 dims)",
        mvnormal_data,
        ("mu0", "chol", "mu", "sigma"),
        tessera_mvnormal,
        pymc_mvnormal,
        numpyro_mvnormal,
    ),
    "eight_schools": Spec(
        "eight schools, non-centered",
        eight_schools_data,
        ("mu", "tau", "theta_tilde"),
        tessera_eight_schools,
        pymc_eight_schools,
        numpyro_eight_schools,
    ),
    "radon": Spec(
        f"radon varying intercept (simulated: {COUNTIES} counties, {HOUSES} houses)",
        radon_data,
        ("mu_a", "sigma_a", "a", "b", "sigma_y"),
        tessera_radon,
        pymc_radon,
        numpyro_radon,
    ),
}
