"""tessera quickstart: 200 groups, each with its own 3x3 covariance, fit end to end.

Synthetic data: ``G`` groups, each with a mean vector ``mu[g]`` and a
covariance ``Sigma[g] = diag(sd[g]) C[g] diag(sd[g])`` of its own, and ``N``
observations per group. The model puts a *batched* LKJ prior on all ``G``
Cholesky factors at once and an MvNormal likelihood on the ``(N, G, 3)``
data, whose batch dims broadcast against the ``(G, 3)`` means and the
``(G, 3, 3)`` factors -- no loop over groups anywhere:

.. code-block:: text

    mu[g]   ~ Normal(0, 5)                                     (G, 3)
    chol[g] ~ LKJCholeskyCov(n=3, eta=2, sd_dist=Exponential(1)) (G, 3, 3)
    y[i, g] ~ MvNormal(mu[g], chol[g] chol[g]^T)                (N, G, 3)

It runs ADVI (with a progress bar), then NUTS on the default path (the
model and BlackJAX's NUTS compiled into one JAX program, chains in
parallel), prints an ArviZ summary of a few parameters
next to their true values and the coverage of the true values by the
posterior intervals, and saves ``quickstart_posteriors.png``.

Run: ``python examples/quickstart.py`` (``--small`` or
``TESSERA_EXAMPLE_SMALL=1`` for a fast check: fewer groups, shorter runs;
``--out DIR`` for the plot's folder).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import arviz as az
import numpy as np

from tessera import ppl

D = 3
DIM_NAMES = ["x0", "x1", "x2"]


def simulate(groups: int, n_obs: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Means, standard deviations, correlations and data of every group."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0.0, 2.0, size=(groups, D))
    sd = rng.gamma(4.0, 0.25, size=(groups, D))
    a = rng.normal(size=(groups, D, D))
    c = a @ a.transpose(0, 2, 1) + D * np.eye(D)
    inv_s = 1.0 / np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    corr = c * inv_s[:, :, None] * inv_s[:, None, :]
    chol = np.linalg.cholesky(corr * sd[:, :, None] * sd[:, None, :])
    z = rng.normal(size=(n_obs, groups, D))
    y = mu + np.einsum("gij,ngj->ngi", chol, z)
    return {"mu": mu, "sd": sd, "corr": corr, "y": y}


def build_model(y: np.ndarray) -> ppl.Model:
    n_obs, groups, _ = y.shape
    coords = {
        "obs": np.arange(n_obs),
        "group": np.arange(groups),
        "dim": DIM_NAMES,
        "dim_": DIM_NAMES,
    }
    with ppl.Model(coords=coords) as model:
        # start the sampler and ADVI at the group means (like initval= in PyMC)
        mu = ppl.Normal("mu", 0.0, 5.0, dims=("group", "dim"), initval=y.mean(axis=0))
        # one LKJ prior per group: eta is shared, sd_dist has shape (G, 3)
        sd_dist = ppl.Exponential.dist(1.0, size=(groups, D))
        # as in PyMC: the correlations and standard deviations are kept as
        # the deterministics "chol_corr" and "chol_stds"
        chol, corr, sd = ppl.LKJCholeskyCov(
            "chol", n=D, eta=2.0, sd_dist=sd_dist, dims=("group", "dim", "dim_")
        )
        # (N, G, 3) data against (G, 3) means and (G, 3, 3) factors
        ppl.MvNormal("y", mu=mu, chol=chol, observed=y, dims=("obs", "group", "dim"))
    return model


def key_parameters(truth: dict, n_show: int) -> list[tuple[str, dict, float]]:
    """(variable, ArviZ selection, true value) of a few parameters."""
    rows = []
    for g in range(n_show):
        rows.append(("mu", {"group": g, "dim": "x0"}, truth["mu"][g, 0]))
        rows.append(("chol_stds", {"group": g, "dim": "x1"}, truth["sd"][g, 1]))
        rows.append(
            (
                "chol_corr",
                {"group": g, "dim": "x0", "dim_": "x1"},
                truth["corr"][g, 0, 1],
            )
        )
    return rows


def coverage(idata, truth: dict) -> dict[str, float]:
    """Share of the true values inside the 94% highest-density intervals."""
    hdi = az.hdi(idata, var_names=["mu", "chol_stds", "chol_corr"], hdi_prob=0.94)
    out = {}
    for name, true in (("mu", truth["mu"]), ("sd", truth["sd"])):
        var = "chol_stds" if name == "sd" else name
        lo = hdi[var].sel(hdi="lower").values
        hi = hdi[var].sel(hdi="higher").values
        out[name] = float(np.mean((lo <= true) & (true <= hi)))
    iu = np.triu_indices(D, 1)
    lo = hdi["chol_corr"].sel(hdi="lower").values[:, iu[0], iu[1]]
    hi = hdi["chol_corr"].sel(hdi="higher").values[:, iu[0], iu[1]]
    t = truth["corr"][:, iu[0], iu[1]]
    out["corr"] = float(np.mean((lo <= t) & (t <= hi)))
    return out


def plot(idata, approx_draws, truth: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = key_parameters(truth, 2)
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5))
    for ax, (name, sel, true) in zip(axes.ravel(), rows):
        nuts = idata.posterior[name].sel(sel).values.ravel()
        vi = approx_draws.posterior[name].sel(sel).values.ravel()
        ax.hist(nuts, bins=30, density=True, alpha=0.6, label="NUTS")
        ax.hist(vi, bins=30, density=True, histtype="step", lw=1.5, label="ADVI")
        ax.axvline(true, color="k", ls="--", label="true value")
        ax.set_title(f"{name}[{', '.join(str(v) for v in sel.values())}]")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Posteriors of a few parameters; dashed: the true values")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fast check (CI)")
    parser.add_argument("--out", default=".", help="folder of the PNG plot")
    args = parser.parse_args(argv)
    small = args.small or os.environ.get("TESSERA_EXAMPLE_SMALL") == "1"
    groups, n_obs = (10, 20) if small else (200, 20)
    n_advi, tune, draws = (1500, 100, 100) if small else (2000, 200, 200)

    t_start = time.perf_counter()
    truth = simulate(groups, n_obs)
    model = build_model(truth["y"])
    print(model, "\n")

    t0 = time.perf_counter()
    approx = ppl.fit(
        n_advi, method="advi", model=model, obj_optimizer=ppl.adam(0.1), random_seed=1
    )
    t_advi = time.perf_counter() - t0
    advi_mu = approx.mean["mu"]
    advi_err = float(np.sqrt(np.mean((advi_mu - truth["mu"]) ** 2)))
    print(f"ADVI: {n_advi} iterations in {t_advi:.1f} s; RMSE of mu: {advi_err:.3f}")

    t0 = time.perf_counter()
    # max_treedepth=7 (default 10) caps the long trajectories of the first tuning
    # steps, before the step size and mass matrix adapt; the draws after
    # tuning stay far below it (checked below)
    idata = ppl.sample(
        draws=draws, tune=tune, model=model, random_seed=2, max_treedepth=7
    )
    t_nuts = time.perf_counter() - t0
    chains = idata.posterior.sizes["chain"]
    backend = idata.posterior.attrs["backend"]
    stats = idata.sample_stats
    n_div = int(stats["diverging"].sum())
    n_max = int(stats["reached_max_treedepth"].sum())
    print(
        f"NUTS ({idata.posterior.attrs['sampler']}, {backend} backend): {chains} "
        f"chains x ({tune} tune + {draws} draws) in {t_nuts:.1f} s"
    )
    print(f"      {n_div} divergences, {n_max} draws at the maximum tree depth\n")

    # the summary of a few scalar parameters, named like ArviZ names them
    rows = key_parameters(truth, 3)
    picked = {
        f"{name}[{', '.join(str(v) for v in sel.values())}]": idata.posterior[name]
        .sel(sel)
        .values
        for name, sel, _ in rows
    }
    summary = az.summary(picked, kind="all", round_to=3)
    table = summary[["mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "r_hat"]]
    table.insert(0, "true", [round(float(t), 3) for _, _, t in rows])
    print(table.to_string(), "\n")

    cov = coverage(idata, truth)
    print(
        "true values inside the 94% HDIs: "
        + ", ".join(f"{k} {100 * v:.0f}%" for k, v in cov.items())
    )
    path = Path(args.out) / "quickstart_posteriors.png"
    plot(idata, approx.sample(1000, random_seed=3), truth, path)
    print(f"plot saved to {path}")

    wall = time.perf_counter() - t_start
    # a correct fit covers most true values and ADVI's means land near them
    ok = min(cov.values()) >= 0.75 and advi_err < 0.5 and n_div == 0
    print(f"total time {wall:.1f} s")
    print(f"CHECK {'PASSED' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)
    return cov


if __name__ == "__main__":
    main()
