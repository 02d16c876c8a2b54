"""Stochastic volatility: a latent Gaussian random walk of log volatility.

Daily returns whose volatility drifts over time, as in PyMC's gallery
model: the log volatility ``s`` is a Gaussian random walk with an unknown
step size, and the returns are Student t with precision ``exp(-2 s)``
(scale ``exp(s)``):

.. code-block:: text

    step_size ~ Exponential(10)
    nu        ~ Exponential(0.1)
    s         ~ GaussianRandomWalk(sigma=step_size, init_dist=Normal(0, 2))  (time,)
    r[t]      ~ StudentT(nu, 0, lam=exp(-2 s[t]))                        (time,)

The returns are simulated (seeded) from a known volatility path; NUTS runs
on the default path (the model and the sampler compiled together), then
the script compares the posterior volatility path (median and 94% band)
with the true one and saves the plot ``stochastic_volatility.png``.

Run: ``python examples/stochastic_volatility.py`` (``--small`` or
``TESSERA_EXAMPLE_SMALL=1`` for a fast check; ``--out DIR`` for the plot's
folder).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from tessera import ppl


def simulate(steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A log-volatility walk and Student t returns scaled by its exponential."""
    rng = np.random.default_rng(seed)
    step_size, nu = 0.12, 8.0
    s = -1.0 + np.concatenate([[0.0], np.cumsum(rng.normal(0.0, step_size, steps))])
    returns = np.exp(s) * rng.standard_t(nu, size=steps + 1)
    return {"s": s, "returns": returns, "step_size": step_size, "nu": nu}


def build_model(returns: np.ndarray) -> ppl.Model:
    with ppl.Model(coords={"time": np.arange(len(returns))}) as model:
        step_size = ppl.Exponential("step_size", 10.0)
        nu = ppl.Exponential("nu", 0.1)
        s = ppl.GaussianRandomWalk(
            "s", sigma=step_size, init_dist=ppl.Normal.dist(0.0, 2.0), dims="time"
        )
        ppl.Deterministic("volatility", ppl.math.exp(s), dims="time")
        ppl.StudentT(
            "r", nu=nu, lam=ppl.math.exp(-2.0 * s), observed=returns, dims="time"
        )
    return model


def band(idata, prob: float = 0.94) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior median and central ``prob`` interval of the volatility path."""
    vol = idata.posterior["volatility"].values.reshape(
        -1, idata.posterior.sizes["time"]
    )
    lo, med, hi = np.quantile(vol, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    return med, lo, hi


def plot(truth: dict, med, lo, hi, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(med))
    fig, (ax_r, ax_v) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    ax_r.plot(t, truth["returns"], lw=0.7, color="0.3")
    ax_r.set_ylabel("return")
    ax_r.set_title("Simulated returns")
    ax_v.fill_between(t, lo, hi, color="C0", alpha=0.3, label="94% posterior band")
    ax_v.plot(t, med, color="C0", label="posterior median")
    ax_v.plot(t, np.exp(truth["s"]), color="k", ls="--", label="true volatility")
    ax_v.set_ylabel("volatility exp(s)")
    ax_v.set_xlabel("time")
    ax_v.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="fast check (CI)")
    parser.add_argument("--out", default=".", help="folder of the PNG plot")
    args = parser.parse_args(argv)
    small = args.small or os.environ.get("TESSERA_EXAMPLE_SMALL") == "1"
    steps = 399  # 400 returns
    tune, draws = (300, 300) if small else (1000, 1000)

    t_start = time.perf_counter()
    truth = simulate(steps)
    model = build_model(truth["returns"])
    print(model, "\n")

    t0 = time.perf_counter()
    idata = ppl.sample(draws=draws, tune=tune, model=model, random_seed=1)
    t_nuts = time.perf_counter() - t0
    post = idata.posterior
    n_div = int(idata.sample_stats["diverging"].sum())
    n_draws = post.sizes["chain"] * post.sizes["draw"]
    print(
        f"NUTS ({post.attrs['sampler']}, {post.attrs['backend']} backend): "
        f"{post.sizes['chain']} chains x ({tune} tune + {draws} draws) in "
        f"{t_nuts:.1f} s; {n_div} divergences"
    )

    med, lo, hi = band(idata)
    true_vol = np.exp(truth["s"])
    covered = float(np.mean((lo <= true_vol) & (true_vol <= hi)))
    corr = float(np.corrcoef(np.log(med), truth["s"])[0, 1])
    step = post["step_size"].values.ravel()
    print(f"true volatility inside the 94% band: {covered:.0%} of {len(med)} days")
    print(f"correlation of log median and true log volatility: {corr:.3f}")
    print(
        f"step_size: posterior mean {step.mean():.3f} (sd {step.std():.3f}), "
        f"true {truth['step_size']}"
    )

    path = Path(args.out) / "stochastic_volatility.png"
    plot(truth, med, lo, hi, path)
    print(f"saved {path}")

    wall = time.perf_counter() - t_start
    ok = covered >= 0.8 and corr > 0.7 and n_div <= 0.05 * n_draws
    print(f"total time {wall:.1f} s")
    print(f"CHECK {'PASSED' if ok else 'FAILED'}")
    if not ok:
        raise SystemExit(1)
    return {"covered": covered, "corr": corr}


if __name__ == "__main__":
    main()
