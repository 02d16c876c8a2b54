"""Many models at once: SBC of eight schools, and 500 regressions in one call.

1. Simulation-based calibration of the non-centered eight schools model:

   .. code-block:: text

       mu       ~ Normal(0, 5)
       tau      ~ HalfCauchy(5)
       z[j]     ~ Normal(0, 1)                       j = 1..8
       y[j]     ~ Normal(mu + tau z[j], sigma[j])

   ``ppl.sbc`` draws 200 parameter sets and datasets from the prior
   predictive, fits every dataset with NUTS in one compiled program and
   ranks each true value among its posterior draws; the ECDF-difference
   plot (``many_models_sbc.png``) shows whether the ranks are uniform
   within simultaneous 95% bands.

2. A per-group fit: 500 groups, each a small linear regression
   ``y = a + b x + noise`` with its own data, fitted by one
   ``ppl.sample_many`` call (the model compiled once; every chain of
   every group runs in the program's slots at its own pace), checked
   against each group's true coefficients.

Run: ``python examples/many_models.py`` (``--small`` or
``TESSERA_EXAMPLE_SMALL=1`` for a fast check).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from tessera import ppl

SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def eight_schools() -> ppl.Model:
    with ppl.Model(coords={"school": range(8)}) as model:
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        z = ppl.Normal("z", 0.0, 1.0, dims="school")
        ppl.Normal("y", mu + tau * z, SIGMA, observed=np.zeros(8), dims="school")
    return model


def regression(data: dict) -> ppl.Model:
    with ppl.Model() as model:
        x = ppl.Data("x", data["x"])
        a = ppl.Normal("a", 0.0, 5.0)
        b = ppl.Normal("b", 0.0, 5.0)
        sigma = ppl.HalfNormal("sigma", 2.0)
        ppl.Normal("y", a + b * x, sigma, observed=data["y"])
    return model


def simulate_groups(groups: int, n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 1.0, groups)
    b = rng.normal(-0.5, 0.5, groups)
    x = rng.normal(size=(groups, n))
    y = a[:, None] + b[:, None] * x + 0.5 * rng.normal(size=(groups, n))
    return {"x": x, "y": y, "a": a, "b": b}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fast check (CI)")
    args = parser.parse_args(argv)
    small = args.small or os.environ.get("TESSERA_EXAMPLE_SMALL") == "1"
    sims, groups = (40, 40) if small else (200, 500)
    tune, draws = (200, 200) if small else (500, 500)

    # 1. simulation-based calibration
    t0 = time.perf_counter()
    res = ppl.sbc(
        eight_schools(), sims, draws=draws, tune=tune, chains=2, random_seed=1
    )
    print(f"SBC of {sims} eight-schools simulations: {time.perf_counter() - t0:.1f} s")
    res.plot("many_models_sbc.png")
    inside = res.within_bands()
    print("ECDF of the ranks inside the 95% bands:", inside)

    # 2. one regression per group, one call
    data = simulate_groups(groups, 20)
    datasets = [{"x": data["x"][g], "y": data["y"][g]} for g in range(groups)]
    t0 = time.perf_counter()
    fits = ppl.sample_many(
        regression,
        datasets,
        draws=draws,
        tune=tune,
        chains=2,
        random_seed=2,
        combine=True,
        progressbar=False,
        compute_convergence_checks=False,
    )
    print(f"{groups} regressions with sample_many: {time.perf_counter() - t0:.1f} s")
    post = fits.posterior
    b_mean = post["b"].mean(("chain", "draw")).values
    b_sd = post["b"].std(("chain", "draw")).values
    z = (b_mean - data["b"]) / b_sd
    covered = float(np.mean(np.abs(z) < 2.0))
    print(f"true slopes within 2 posterior sd: {100 * covered:.0f}% of groups")

    # a well-calibrated model: most parameters inside their bands (each band
    # is 95%, so one of ten may fall outside by chance)
    ok = sum(inside.values()) >= len(inside) - 2 and covered > 0.85
    print(f"CHECK {'PASSED' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)
    return {"covered": covered}


if __name__ == "__main__":
    main()
