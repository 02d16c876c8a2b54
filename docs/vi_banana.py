"""Draw docs/vi_banana.png: the VI methods on a banana-shaped 2-d posterior.

``x1 ~ N(0, 1)``, ``x2 | x1 ~ N((x1^2 - 1) / 2, 0.5)``: the exact density's
contours under draws of mean-field ADVI, full-rank ADVI, SVGD, a
normalizing flow (NFVI, ``scale-loc-planar*4``) and multi-path Pathfinder,
each panel titled with the Pareto k of its importance weights (smaller:
closer to the posterior). Run: ``python docs/vi_banana.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import ppl  # noqa: E402
from tessera.ppl.inference.advi import batched_logp  # noqa: E402
from tessera.ppl.inference.flows import Scale  # noqa: E402

OUT = Path(__file__).resolve().parent / "vi_banana.png"


def banana() -> ppl.Model:
    with ppl.Model() as model:
        x1 = ppl.Normal("x1", 0.0, 1.0)
        ppl.Normal("x2", 0.5 * (x1**2 - 1.0), 0.5)
    return model


def main() -> None:
    warnings.simplefilter("ignore")
    model = banana()
    xs = ts.tensor("xs", shape=(None, 2))
    logp = ts.function([xs], batched_logp(model, xs))
    fits = {
        "mean-field ADVI": ppl.fit(4000, model=model, random_seed=0, progressbar=False),
        "full-rank ADVI": ppl.fit(
            4000, method="fullrank_advi", model=model, random_seed=0, progressbar=False
        ),
        "SVGD (200 particles)": ppl.fit(
            1500,
            method="svgd",
            model=model,
            random_seed=0,
            progressbar=False,
            inf_kwargs={"n_particles": 200},
            obj_optimizer=ppl.adam(0.05),
        ),  # fmt: skip
        "NFVI scale-loc-planar*4": ppl.fit(
            4000,
            method="nfvi",
            model=model,
            random_seed=0,
            progressbar=False,
            # a unit-scale target: the scale flow starts at 1, not its 0.1
            obj_n_mc=8,
            inf_kwargs={"flow": [Scale(init_std=1.0), "loc-planar*4"]},
        ),  # fmt: skip
    }
    g1, g2 = np.meshgrid(np.linspace(-3.5, 3.5, 200), np.linspace(-2.5, 5.0, 200))
    dens = np.exp(logp(np.stack([g1.ravel(), g2.ravel()], 1))).reshape(g1.shape)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.6), sharex=True, sharey=True)
    panels = []
    for name, approx in fits.items():
        if hasattr(approx, "sample_flat_logq"):
            try:
                z, lq = approx.sample_flat_logq(4000, random_seed=1)
                _, k = az.psislw(logp(z) - lq)
                name = f"{name}\nPareto k = {float(k):.2f}"
            except NotImplementedError:
                z = approx.sample_flat(4000, random_seed=1)
        panels.append((name, approx.sample_flat(1000, random_seed=1)))
    pf = ppl.pathfinder(
        model, num_paths=8, num_draws=1000, random_seed=0, progressbar=False
    )
    draws = np.stack([pf.posterior["x1"].values[0], pf.posterior["x2"].values[0]], 1)
    panels.append(
        (
            f"Pathfinder (8 paths)\nPareto k = {pf.posterior.attrs['pareto_k']:.2f}",
            draws,
        )
    )
    for ax, (name, z) in zip(axes, panels):
        ax.contour(g1, g2, dens, levels=6, colors="0.4", linewidths=0.8)
        ax.scatter(z[:, 0], z[:, 1], s=2, alpha=0.35, color="C0")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    fig.tight_layout()
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
