"""A hierarchical model with dims and coords: varying intercepts and slopes.

Houses in ``J`` counties; the outcome depends on the county and on a
house-level predictor (``floor``: 0 or 1) with a county-specific intercept
and slope. The county effects are correlated (a 2x2 LKJ covariance) and
non-centered:

.. code-block:: text

    mu     ~ Normal(0, 5)                                (effect,)
    chol   ~ LKJCholeskyCov(n=2, eta=2, sd_dist=HalfNormal(1))
    z[j]   ~ Normal(0, 1)                                (county, effect)
    ab[j]  = mu + chol @ z[j]                           (county, effect)
    y[i]   ~ Normal(ab[county[i], 0] + ab[county[i], 1] floor[i], sigma)

Every variable is named by dims (``county``, ``effect``, ``obs``) with the
county names and effect labels as coords, so the results come back as
labelled ArviZ data. ``floor`` and ``county`` are ``ppl.Data``: after
sampling, ``ppl.set_data`` swaps in new houses and
``sample_posterior_predictive(..., predictions=True)`` predicts them.

Run: ``python examples/hierarchical.py`` (``--small`` or
``TESSERA_EXAMPLE_SMALL=1`` for a fast check).
"""

from __future__ import annotations

import argparse
import os

import arviz as az
import numpy as np

import tessera as ts
from tessera import ppl

EFFECTS = ["intercept", "floor"]


def simulate(counties: int, houses: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    mu = np.array([1.5, -0.7])
    sd = np.array([0.6, 0.3])
    rho = -0.5
    cov = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(sd, sd)
    ab = rng.multivariate_normal(mu, cov, size=counties)
    county = rng.integers(0, counties, size=houses)
    floor = rng.integers(0, 2, size=houses).astype(float)
    sigma = 0.5
    y = ab[county, 0] + ab[county, 1] * floor + rng.normal(0.0, sigma, size=houses)
    names = [f"county_{j:02d}" for j in range(counties)]
    return dict(mu=mu, sd=sd, ab=ab, county=county, floor=floor, y=y, names=names)


def build_model(data: dict) -> ppl.Model:
    coords = {"county": data["names"], "effect": EFFECTS, "effect_": EFFECTS}
    with ppl.Model(coords=coords) as model:
        floor = ppl.Data("floor", data["floor"], dims="obs")
        county = ppl.Data("county_idx", data["county"], dims="obs")
        mu = ppl.Normal("mu", 0.0, 5.0, dims="effect")
        chol, _, _ = ppl.LKJCholeskyCov(
            "chol",
            n=2,
            eta=2.0,
            sd_dist=ppl.HalfNormal.dist(1.0, size=2),
            dims=("effect", "effect_"),
        )
        z = ppl.Normal("z", 0.0, 1.0, dims=("county", "effect"))
        ab = ppl.Deterministic("ab", mu + z @ chol.mT, dims=("county", "effect"))
        ppl.Deterministic("sd", ts.sqrt((chol**2).sum(axis=-1)), dims="effect")
        sigma = ppl.HalfNormal("sigma", 1.0)
        theta = ab[county, 0] + ab[county, 1] * floor
        ppl.Normal("y", theta, sigma, observed=data["y"], dims="obs")
    return model


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fast check (CI)")
    args = parser.parse_args(argv)
    small = args.small or os.environ.get("TESSERA_EXAMPLE_SMALL") == "1"
    counties, houses = (8, 200) if small else (40, 1200)
    tune, draws = (200, 200) if small else (600, 600)

    data = simulate(counties, houses)
    model = build_model(data)
    print(model, "\n")
    idata = ppl.sample(
        draws=draws, tune=tune, model=model, random_seed=5, progressbar=False
    )
    print(
        f"NUTS ({idata.posterior.attrs['backend']} backend): "
        f"{int(idata.sample_stats['diverging'].sum())} divergences, "
        f"sampling took {idata.posterior.attrs['sampling_time']:.1f} s\n"
    )
    # labelled results: select by coordinate names, not positions
    print(az.summary(idata, var_names=["mu", "sd", "sigma"], round_to=3))
    first = data["names"][:3]
    print(
        az.summary(idata, var_names=["ab"], coords={"county": first}, round_to=3)[
            ["mean", "sd", "hdi_3%", "hdi_97%"]
        ].assign(true=data["ab"][:3].ravel().round(3)),
        "\n",
    )

    hdi = az.hdi(idata, var_names=["ab", "mu"], hdi_prob=0.94)
    cover = {}
    for name, true in (("ab", data["ab"]), ("mu", data["mu"])):
        lo = hdi[name].sel(hdi="lower").values
        hi = hdi[name].sel(hdi="higher").values
        cover[name] = float(np.mean((lo <= true) & (true <= hi)))
    print(
        "true values inside the 94% HDIs: "
        + ", ".join(f"{k} {100 * v:.0f}%" for k, v in cover.items())
    )

    # out-of-sample: one new house per floor level in each of the first 3 counties
    new_county = np.repeat(np.arange(3), 2)
    new_floor = np.tile([0.0, 1.0], 3)
    ppl.set_data({"county_idx": new_county, "floor": new_floor}, model=model)
    pred = ppl.sample_posterior_predictive(
        idata, model=model, predictions=True, random_seed=6
    )
    y_pred = pred.predictions["y"].mean(("chain", "draw")).values
    expected = data["ab"][new_county, 0] + data["ab"][new_county, 1] * new_floor
    print("predicted means of new houses:", np.round(y_pred, 2))
    print("their true means:             ", np.round(expected, 2))
    pred_err = float(np.max(np.abs(y_pred - expected)))

    ok = min(cover.values()) >= 0.7 and pred_err < 0.5
    print(f"CHECK {'PASSED' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)
    return cover


if __name__ == "__main__":
    main()
