"""A MatrixNormal model with batched parameters: panels of correlated time series.

``P`` panels each record ``K`` series over ``T`` time points: a ``(T, K)``
matrix per panel. Within a panel, rows (time points) are correlated by a
known AR(1) kernel ``U`` shared by all panels, and columns (series) by a
covariance ``V[p]`` of the panel's own, with an LKJ prior:

.. code-block:: text

    level[p]  ~ Normal(0, 3)                                      (P, K)
    chol[p]   ~ LKJCholeskyCov(n=K, eta=2, sd_dist=HalfNormal(2))  (P, K, K)
    Y[p]      ~ MatrixNormal(mu=level[p] (every row), rowcov=U,
                             colchol=chol[p])                     (P, T, K)

that is, ``vec(Y[p]) ~ N(vec(M[p]), V[p] (x) U)``. The ``P`` matrix-normal
densities are one batched log-density (the row covariance is broadcast, the
column factors are batched); NUTS samples all panels at once. The script
prints the posterior of each panel's series scales and first correlation
next to their true values.

Run: ``python examples/matrix_normal.py`` (``--small`` or
``TESSERA_EXAMPLE_SMALL=1`` for a fast check).
"""

from __future__ import annotations

import argparse
import os

import arviz as az
import numpy as np

from tessera import ppl

K = 3  # series per panel


def ar1_cov(t: int, rho: float) -> np.ndarray:
    idx = np.arange(t)
    return rho ** np.abs(idx[:, None] - idx[None, :])


def simulate(panels: int, t: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    level = rng.normal(0.0, 2.0, size=(panels, K))
    sd = rng.uniform(0.5, 2.0, size=(panels, K))
    a = rng.normal(size=(panels, K, K))
    c = a @ a.transpose(0, 2, 1) + K * np.eye(K)
    s = 1.0 / np.sqrt(np.diagonal(c, axis1=1, axis2=2))
    corr = c * s[:, :, None] * s[:, None, :]
    colchol = np.linalg.cholesky(corr * sd[:, :, None] * sd[:, None, :])
    rowchol = np.linalg.cholesky(ar1_cov(t, 0.6))
    z = rng.normal(size=(panels, t, K))
    # Y = M + A Z B^T with A A^T = U, B B^T = V
    y = level[:, None, :] + rowchol @ z @ colchol.transpose(0, 2, 1)
    return {"level": level, "sd": sd, "corr": corr, "y": y}


def build_model(y: np.ndarray) -> ppl.Model:
    panels, t, _ = y.shape
    coords = {
        "panel": np.arange(panels),
        "time": np.arange(t),
        "series": ["s0", "s1", "s2"],
        "series_": ["s0", "s1", "s2"],
    }
    with ppl.Model(coords=coords) as model:
        level = ppl.Normal("level", 0.0, 3.0, dims=("panel", "series"))
        chol, _, _ = ppl.LKJCholeskyCov(
            "chol",
            n=K,
            eta=2.0,
            sd_dist=ppl.HalfNormal.dist(2.0, size=(panels, K)),
            dims=("panel", "series", "series_"),
        )
        sd = ppl.Deterministic(
            "sd", (chol**2).sum(axis=-1) ** 0.5, dims=("panel", "series")
        )
        unit = chol / sd[..., None]
        ppl.Deterministic("corr", unit @ unit.mT, dims=("panel", "series", "series_"))
        ppl.MatrixNormal(
            "y",
            mu=level[:, None, :],  # (P, 1, K): the level repeats over time
            rowcov=ar1_cov(t, 0.6),  # (T, T), shared by every panel
            colchol=chol,  # (P, K, K), one per panel
            observed=y,
            dims=("panel", "time", "series"),
        )
    return model


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fast check (CI)")
    args = parser.parse_args(argv)
    small = args.small or os.environ.get("TESSERA_EXAMPLE_SMALL") == "1"
    panels, t = (4, 30) if small else (12, 40)
    tune, draws = (150, 150) if small else (500, 500)

    truth = simulate(panels, t)
    model = build_model(truth["y"])
    print(model, "\n")
    idata = ppl.sample(
        draws=draws, tune=tune, model=model, random_seed=3, progressbar=False
    )
    print(
        f"NUTS ({idata.posterior.attrs['backend']} backend): "
        f"{int(idata.sample_stats['diverging'].sum())} divergences, "
        f"sampling took {idata.posterior.attrs['sampling_time']:.1f} s\n"
    )

    post = idata.posterior
    picked, true = {}, []
    for p in range(min(panels, 3)):
        for k, name in enumerate(["s0", "s1", "s2"]):
            picked[f"sd[{p}, {name}]"] = post["sd"].sel(panel=p, series=name).values
            true.append(truth["sd"][p, k])
        picked[f"corr[{p}, s0, s1]"] = (
            post["corr"].sel(panel=p, series="s0", series_="s1").values
        )
        true.append(truth["corr"][p, 0, 1])
    table = az.summary(picked, kind="all", round_to=3)
    table = table[["mean", "sd", "hdi_3%", "hdi_97%", "r_hat"]]
    table.insert(0, "true", np.round(true, 3))
    print(table.to_string(), "\n")

    hdi = az.hdi(idata, var_names=["level", "sd"], hdi_prob=0.94)
    cover = {}
    for name in ("level", "sd"):
        lo = hdi[name].sel(hdi="lower").values
        hi = hdi[name].sel(hdi="higher").values
        cover[name] = float(np.mean((lo <= truth[name]) & (truth[name] <= hi)))
    print(
        "true values inside the 94% HDIs: "
        + ", ".join(f"{k} {100 * v:.0f}%" for k, v in cover.items())
    )
    ok = min(cover.values()) >= 0.75 and float(post["chol"].isnull().sum()) == 0
    print(f"CHECK {'PASSED' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)
    return cover


if __name__ == "__main__":
    main()
