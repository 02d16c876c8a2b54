"""Many models at once: ``ppl.sample_many`` and ``ppl.sbc`` against loops.

Eight schools (non-centered), ``D`` datasets simulated from its prior
predictive (fixed seed), 2 chains x 500 tuning + 500 draws each:

- ``ppl.sample_many`` on all ``D`` datasets (one call, compile included;
  imports excluded for every library: tessera's JAX backend and ArviZ are
  imported before the clock starts, as PyMC and nutpie are before theirs);
- sequential ``ppl.sample`` calls with its defaults (each builds its
  model, as a user's loop does; the first compiles the sampler, the
  others, of the same structure, reuse it), PyMC's ``pm.sample`` and
  nutpie (``nutpie.sample`` of ``compile_pymc_model``) looping: each loop
  runs its first ``cap`` datasets (said in the table), timed call by call,
  and is extrapolated to ``D`` as its first call plus ``D - 1`` times the
  mean of the others (a first call's compiling or warming up counted
  once);
- agreement: each dataset's posterior means from ``sample_many`` against
  its own ``ppl.sample`` fit, in posterior sd: with the same seed (the
  seeds policy: dataset ``d`` of ``sample_many`` is
  ``ppl.sample(random_seed=attrs["random_seed"], chain_method="vectorized")``)
  and with an independent seed (Monte Carlo noise of two fits);
- ``ppl.sbc`` of 200 simulations;
- peak RSS of a fresh interpreter running ``sample_many`` on ``D``
  datasets with several ``chunk_size`` values, and the chunk size
  ``chunk_size=None`` picks.

Targets (issue #22): ``sample_many`` >= 10x faster than sequential
``ppl.sample``, >= 50x faster than PyMC (and nutpie) looping; posterior
means within 0.3 posterior sd; SBC of 200 under 60 s on an idle 2-core
machine; peak RSS linear in the chunk size.

Run: ``python benchmarks/many_models.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _util import machine, peak_rss_mb, versions, warm_xarray  # noqa: E402

SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def datasets(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = rng.normal(0.0, 5.0, n)
    tau = np.abs(rng.standard_cauchy(n)) * 5.0
    theta = mu[:, None] + tau[:, None] * rng.normal(size=(n, 8))
    return theta + SIGMA * rng.normal(size=(n, 8))


def build(y):
    from tessera import ppl

    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        z = ppl.Normal("z", 0.0, 1.0, shape=8)
        ppl.Normal("y", mu + tau * z, SIGMA, observed=y)
    return m


def pymc_model(y):
    import pymc as pm

    with pm.Model() as m:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        z = pm.Normal("z", 0.0, 1.0, shape=8)
        pm.Normal("y", mu + tau * z, SIGMA, observed=y)
    return m


KW = dict(draws=500, tune=500, chains=2)


def run_sample_many(ys):
    from tessera import ppl

    t0 = time.perf_counter()
    res = ppl.sample_many(build, ys, random_seed=1, progressbar=False, **KW)
    return time.perf_counter() - t0, res


def timed(calls) -> list[float]:
    """The seconds of each call of ``calls`` (zero-argument callables)."""
    out = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


def extrapolate(times: list[float], d: int) -> float:
    """A loop over ``d`` datasets from its first ``len(times)`` calls: the
    first call (which compiles what later calls reuse) once, the mean of the
    others for the remaining ``d - 1``."""
    rest = times[1:] or times
    return times[0] + (d - 1) * float(np.mean(rest))


def run_sequential(ys, seeds, chain_method=None):
    """``ppl.sample`` on each dataset's model (default chain method unless
    given); the per-call seconds and the results."""
    from tessera import ppl

    out = []
    kw = {} if chain_method is None else {"chain_method": chain_method}

    def call(y, s):
        return lambda: out.append(
            ppl.sample(
                model=build(y),
                random_seed=s,
                progressbar=False,
                quiet=True,
                **kw,
                **KW,
            )
        )

    return timed([call(y, s) for y, s in zip(ys, seeds)]), out


def run_pymc(ys) -> list[float]:
    import pymc as pm

    def call(k, y):
        def run():
            with pymc_model(y):
                pm.sample(cores=1, random_seed=k, progressbar=False, **KW)

        return run

    return timed([call(k, y) for k, y in enumerate(ys)])


def run_nutpie(ys) -> list[float]:
    import nutpie

    def call(k, y):
        def run():
            compiled = nutpie.compile_pymc_model(pymc_model(y))
            nutpie.sample(compiled, seed=k, progress_bar=False, cores=1, **KW)

        return run

    return timed([call(k, y) for k, y in enumerate(ys)])


def agreement(many, single) -> float:
    """Largest |difference of posterior means| / posterior sd."""
    worst = 0.0
    for a, b in zip(many, single):
        for name in ("mu", "tau", "z"):
            x, y = a.posterior[name], b.posterior[name]
            sd = y.std(("chain", "draw")).values
            diff = np.abs(x.mean(("chain", "draw")).values - y.mean(("chain", "draw")))
            worst = max(worst, float(np.max(diff / sd)))
    return worst


def rss_child(n: int, chunk: int | None) -> None:
    warnings.simplefilter("ignore")
    from tessera import ppl
    from tessera.ppl.inference.many import auto_chunk_size

    t0 = time.perf_counter()
    ppl.sample_many(
        build, datasets(n), chunk_size=chunk, random_seed=1, progressbar=False, **KW
    )
    print(
        json.dumps(
            {
                "rss_mb": peak_rss_mb(),
                "time": time.perf_counter() - t0,
                "auto": auto_chunk_size(n, 2, 1000, 10),
            }
        )
    )


def rss(n: int, chunk: int | None) -> dict:
    arg = "auto" if chunk is None else str(chunk)
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(n), arg],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-child", nargs=2)
    args = parser.parse_args()
    if args.rss_child:
        n, chunk = args.rss_child
        rss_child(int(n), None if chunk == "auto" else int(chunk))
        return
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("tessera.ppl").setLevel(logging.WARNING)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    d, cap, sims = (20, 2, 50) if args.quick else (100, 10, 200)
    ys = datasets(d)
    # imports out of the timings (PyMC and nutpie are imported before theirs)
    import arviz  # noqa: F401

    from tessera.compile.backends import get_backend

    get_backend("jax").load()
    warm_xarray()

    t_many, many = run_sample_many(ys)
    seeds = [r.posterior.attrs["random_seed"] for r in many[:cap]]
    # the loop a user writes: ppl.sample's defaults (timed); the seeds
    # policy's chain method for the same-seed agreement
    t_seq, _ = run_sequential(ys[:cap], seeds)
    _, single = run_sequential(ys[:cap], seeds, "vectorized")
    _, other = run_sequential(ys[:cap], [s + 1 for s in seeds], "vectorized")
    same_seed, other_seed = agreement(many[:cap], single), agreement(many[:cap], other)
    pymc_cap = max(2, cap // 2)
    t_pymc = extrapolate(run_pymc(ys[:pymc_cap]), d)
    try:
        t_nutpie = extrapolate(run_nutpie(ys[:pymc_cap]), d)
    except ImportError:
        t_nutpie = float("nan")
    t_seq_all = extrapolate(t_seq, d)

    from tessera import ppl

    t0 = time.perf_counter()
    res = ppl.sbc(build(ys[0]), sims, random_seed=2, **KW)
    t_sbc = time.perf_counter() - t0
    inside = res.within_bands()

    print(f"## Many models at once ({d} eight-schools datasets, 2 x 500+500)\n")
    print(f"{machine()}; {versions('tessera', 'jax', 'blackjax', 'pymc', 'nutpie')}")
    print("(shared machine: numbers indicative)\n")
    print("| what | time | sample_many faster by | target |")
    print("|---|---|---|---|")
    print(f"| `ppl.sample_many`, {d} datasets | {t_many:.1f} s | 1x | |")
    rows = [
        (f"sequential `ppl.sample` ({cap} run)", t_seq_all, 10),
        (f"PyMC `pm.sample` loop ({pymc_cap} run)", t_pymc, 50),
        (f"nutpie loop ({pymc_cap} run)", t_nutpie, 50),
    ]
    for label, t, target in rows:
        ok = "met" if t / t_many >= target else "not met"
        print(f"| {label} | {t:.1f} s | {t / t_many:.1f}x | >= {target}x ({ok}) |")
    ok = "met" if t_sbc < 60 else "not met"
    print(f"| `ppl.sbc`, {sims} simulations | {t_sbc:.1f} s | | < 60 s ({ok}) |")
    print(
        f"\nPosterior means, `sample_many` vs each dataset's own `ppl.sample` "
        f"({cap} datasets), largest |difference| / posterior sd: same seed "
        f"{same_seed:.2g}, independent seed {other_seed:.2g} (target <= 0.3)."
    )
    print(
        f"SBC ranks inside the 95% simultaneous bands: "
        f"{sum(inside.values())} of {len(inside)} parameters.\n"
    )
    per = 8 * 2 * 1000 * (10 + 10) / 1e6
    print(
        f"Peak RSS of a fresh interpreter ({d} datasets; each keeps about "
        f"{per:.1f} MB of draws and statistics on the host; the first row, one "
        "dataset, is the interpreter, JAX and the compiled program):\n"
    )
    print("| chunk_size | peak RSS | time |")
    print("|---|---|---|")
    r = rss(1, 1)
    print(f"| 1 dataset | {r['rss_mb']:.0f} MB | {r['time']:.1f} s |")
    for chunk in ([5, 20] if args.quick else [10, 25, 50, 100]) + [None]:
        r = rss(d, chunk)
        label = f"auto ({min(r['auto'], d)})" if chunk is None else str(chunk)
        print(f"| {label} | {r['rss_mb']:.0f} MB | {r['time']:.1f} s |")


if __name__ == "__main__":
    main()
