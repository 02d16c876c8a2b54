"""Inference benchmark: a hierarchical multivariate normal model.

50 groups x 20 observations x 3 dims::

    mu0   ~ Normal(0, 5)                               (3,)
    chol  ~ LKJCholeskyCov(n=3, eta=2, sd_dist=Exponential(1))
    mu_g  ~ MvNormal(mu0, chol=chol)                   (50, 3)
    sigma ~ HalfNormal(1)
    y_gi  ~ Normal(mu_g, sigma)                        (50, 20, 3) observed

For tessera (each backend asked for), PyMC, PyMC sampled by nutpie and
NumPyro (each where installed) it prints a Markdown table of: model compile
time (tessera: building the model plus compiling its log-density and
gradient, median of 3), ADVI time for 10k iterations (compiling the step
function, then the iterations), NUTS wall time for 2 chains x (1000 tune +
1000 draws), minimum bulk ESS over every posterior entry and min ESS per
second of sampling, and end to end (compile plus NUTS).

Run: python benchmarks/inference.py [--backend numpy,jax] [--quick]
     [--skip-references]

tessera's NUTS: on the NumPy backend, nutpie's sampler calling the compiled
log-density and gradient through Python (one call per gradient); on the JAX
backend, BlackJAX's NUTS traced into one XLA program with the graph (cold
and warm persistent compile cache), and nutpie for comparison. "NUTS wall"
is the whole ``ppl.sample`` call (sampler compilation included); min ESS/s
divides by the sampling time alone for tessera, by the wall time for the
references (their compile is not separable: PyMC's and NumPyro's include
it). Constant posterior entries (a Cholesky factor's upper triangle) are
left out of the minimum ESS.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import numpy as np

try:
    from benchmarks._util import fmt_time, machine, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, versions

G, N, D = 50, 20, 3

# reference figures on a 2-core machine (issue #8)
REFERENCE = """Reference (issue #8, 2 cores): PyMC 5.28 compile 4.5 s warm (41 s cold),
ADVI 10k 9.2 s warm (31 s cold), NUTS 16-20 s at 78-97 min-ESS/s; NumPyro 0.22
SVI 10k 22 s, NUTS 9.4 s at 367 min-ESS/s (with jit); PyMC model sampled by
nutpie: compile 16 s warm (72 s cold), NUTS 2.6-3.0 s at 676-767 min-ESS/s."""


def make_data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu0 = np.array([1.0, -1.0, 0.5])
    corr = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, -0.3], [0.2, -0.3, 1.0]])
    chol = np.diag([1.0, 0.7, 1.3]) @ np.linalg.cholesky(corr)
    mus = mu0 + rng.normal(size=(G, D)) @ chol.T
    return mus[:, None, :] + 0.5 * rng.normal(size=(G, N, D))


def min_ess(idata) -> float:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = az.ess(idata, method="bulk")
    post = idata.posterior
    # constant entries (the upper triangle of a Cholesky factor, a unit
    # diagonal) have no ESS: ArviZ reports the number of draws or NaN
    return float(
        np.nanmin(
            [
                np.nanmin(np.where(post[v].std(("chain", "draw")) > 0, ess[v], np.nan))
                for v in ess.data_vars
            ]
        )
    )


# --- tessera --------------------------------------------------------------------
def tessera_model(y):
    from tessera import ppl

    coords = {"group": range(G), "obs": range(N), "dim": ["a", "b", "c"]}
    with ppl.Model(coords=coords) as model:
        mu0 = ppl.Normal("mu0", 0.0, 5.0, dims="dim")
        chol = ppl.LKJCholeskyCov(
            "chol", n=D, eta=2.0, sd_dist=ppl.Exponential.dist(1.0)
        )
        mu = ppl.MvNormal("mu", mu0, chol=chol, dims=("group", "dim"))
        sigma = ppl.HalfNormal("sigma", 1.0)
        ppl.Normal("y", mu[:, None, :], sigma, observed=y, dims=("group", "obs", "dim"))
    return model


def bench_tessera(y, backend, n_advi, draws, tune, chains) -> list[dict]:
    import tessera as ts
    from tessera import ppl

    if backend == "jax":
        # an empty persistent compile cache: the first runs below are cold
        # (tracing and XLA compilation), later ones load from the cache
        ts.config.jax_cache_dir = tempfile.mkdtemp(prefix="tessera-bench-jax-")
        from tessera.compile.backends.jax import cache

        cache._state["done"] = False
        cache.enable_persistent_cache()

    def build_and_compile():
        t0 = time.perf_counter()
        model = tessera_model(y)
        f = model.logp_dlogp_function(backend=backend)
        f(f.point_to_array(model.initial_point()))  # JAX compiles on first call
        return time.perf_counter() - t0, model

    runs = [build_and_compile() for _ in range(3)]
    compile_s = statistics.median(r[0] for r in runs)
    compile_first = runs[0][0]  # the process's first compile (JAX: tracing, XLA)
    model = runs[-1][1]

    t0 = time.perf_counter()
    advi = ppl.ADVI(model=model, random_seed=0, backend=backend)
    advi.fit(1, progressbar=False)  # first call (JAX compiles here)
    advi_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    advi.fit(n_advi, progressbar=False)
    advi_s = time.perf_counter() - t0

    rows = []
    if backend == "numpy":
        # nutpie calling the compiled graph: chains in its threads, and in
        # forked processes (the GIL serializes a Python log-density across
        # threads)
        runs = [
            ("nutpie, chains in threads", {"chain_method": "threads"}),
            ("nutpie, chains in processes", {"chain_method": "processes"}),
        ]
    else:
        # BlackJAX's NUTS compiled with the graph into one program; the
        # first run compiles into the empty persistent cache, the second
        # loads the program from it (like PyMC's warm compile cache)
        runs = [
            ("BlackJAX NUTS, cold cache", {}),
            ("BlackJAX NUTS, warm cache", {}),
            ("nutpie, chains in threads", {"nuts_sampler": "nutpie"}),
        ]
    for k, (label, how) in enumerate(runs):
        t0 = time.perf_counter()
        idata = ppl.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=1,
            progressbar=False,
            model=model,
            backend=backend,
            **how,
        )
        nuts_s = time.perf_counter() - t0
        sampling_s = idata.posterior.attrs["sampling_time"]
        ess = min_ess(idata)
        divergences = int(idata.sample_stats["diverging"].sum())
        note = f"{divergences} divergences"
        if sampling_s < nuts_s - 0.5:
            note += f"; sampler compile {fmt_time(nuts_s - sampling_s)}"
        first = k == 0
        if first:
            note += f"; first model compile {fmt_time(compile_first)}"
        rows.append(
            {
                "library": f"tessera ({backend}, {label})",
                "compile": compile_s,
                "advi": advi_s if first else float("nan"),
                "nuts": nuts_s,
                "ess": ess,
                "ess_s": ess / sampling_s,
                "end_to_end": (compile_first if first else compile_s) + nuts_s,
                "note": note
                + (f"; ADVI step compile {fmt_time(advi_compile)}" if first else ""),
            }
        )
    return rows


# --- references (only where installed) ----------------------------------------
def bench_pymc(y, n_advi, draws, tune, chains) -> list[dict]:
    import pymc as pm

    def build():
        coords = {"group": range(G), "obs": range(N), "dim": ["a", "b", "c"]}
        with pm.Model(coords=coords) as model:
            mu0 = pm.Normal("mu0", 0.0, 5.0, dims="dim")
            chol, _, _ = pm.LKJCholeskyCov(
                "chol", n=D, eta=2.0, sd_dist=pm.Exponential.dist(1.0, shape=D)
            )
            mu = pm.MvNormal("mu", mu0, chol=chol, dims=("group", "dim"))
            sigma = pm.HalfNormal("sigma", 1.0)
            pm.Normal(
                "y", mu[:, None, :], sigma, observed=y, dims=("group", "obs", "dim")
            )
        return model

    rows = []
    t0 = time.perf_counter()
    model = build()
    model.compile_logp()
    model.compile_dlogp()
    compile_s = time.perf_counter() - t0
    with model:
        t0 = time.perf_counter()
        pm.fit(n_advi, method="advi", random_seed=0, progressbar=False)
        advi_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        idata = pm.sample(
            draws=draws, tune=tune, chains=chains, random_seed=1, progressbar=False
        )
        nuts_s = time.perf_counter() - t0
    ess = min_ess(idata)
    rows.append(
        {
            "library": "PyMC",
            "compile": compile_s,
            "advi": advi_s,
            "nuts": nuts_s,
            "ess": ess,
            "ess_s": ess / nuts_s,
            "end_to_end": compile_s + nuts_s,
            "note": "NUTS time includes PyMC's own compile",
        }
    )
    try:
        import nutpie
    except ImportError:
        return rows
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(build())
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    idata = nutpie.sample(
        compiled, draws=draws, tune=tune, chains=chains, seed=1, progress_bar=False
    )
    nuts_s = time.perf_counter() - t0
    ess = min_ess(idata)
    rows.append(
        {
            "library": "PyMC + nutpie",
            "compile": compile_s,
            "advi": float("nan"),
            "nuts": nuts_s,
            "ess": ess,
            "ess_s": ess / nuts_s,
            "end_to_end": compile_s + nuts_s,
            "note": "numba backend",
        }
    )
    return rows


def bench_numpyro(y, n_advi, draws, tune, chains) -> list[dict]:
    import arviz as az
    import jax
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    numpyro.set_host_device_count(chains)

    def model(y):
        mu0 = numpyro.sample("mu0", dist.Normal(0.0, 5.0).expand([D]))
        sd = numpyro.sample("sd", dist.Exponential(1.0).expand([D]))
        corr_chol = numpyro.sample("corr_chol", dist.LKJCholesky(D, 2.0))
        chol = sd[:, None] * corr_chol
        with numpyro.plate("group", G):
            mu = numpyro.sample("mu", dist.MultivariateNormal(mu0, scale_tril=chol))
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        numpyro.sample("y", dist.Normal(mu[:, None, :], sigma), obs=y)

    t0 = time.perf_counter()
    svi = SVI(model, AutoNormal(model), numpyro.optim.Adam(0.01), Trace_ELBO())
    svi.run(jax.random.PRNGKey(0), n_advi, y, progress_bar=False)
    advi_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mcmc = MCMC(
        NUTS(model),
        num_warmup=tune,
        num_samples=draws,
        num_chains=chains,
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(1), y)
    nuts_s = time.perf_counter() - t0
    ess = min_ess(az.from_numpyro(mcmc))
    return [
        {
            "library": "NumPyro",
            "compile": float("nan"),
            "advi": advi_s,
            "nuts": nuts_s,
            "ess": ess,
            "ess_s": ess / nuts_s,
            "end_to_end": nuts_s,
            "note": "times include jit",
        }
    ]


def _fmt(v: float) -> str:
    return "n/a" if v != v else fmt_time(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", default=None, help="comma-separated (default: numpy,jax)"
    )
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument("--skip-references", action="store_true")
    args = parser.parse_args()
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    from tessera.compile.backends.numpy import tune_malloc

    tune_malloc()
    n_advi, draws, tune, chains = (
        (200, 100, 100, 2) if args.quick else (10000, 1000, 1000, 2)
    )
    backends = args.backend
    if backends is None:
        try:
            import jax  # noqa: F401

            backends = "numpy,jax"
        except ImportError:
            backends = "numpy"
    y = make_data()
    rows = []
    for backend in backends.split(","):
        rows.extend(bench_tessera(y, backend.strip(), n_advi, draws, tune, chains))
    missing = []
    if not args.skip_references:
        for name, bench in (("pymc", bench_pymc), ("numpyro", bench_numpyro)):
            try:
                rows.extend(bench(y, n_advi, draws, tune, chains))
            except ImportError:
                missing.append(name)
    print("## Inference: hierarchical MvNormal (50 groups x 20 obs x 3 dims)\n")
    print(
        f"{versions('tessera', 'numpy', 'scipy', 'nutpie', 'jax', 'pymc', 'numpyro')}"
        f"; {machine()}\n"
    )
    print(
        f"ADVI: {n_advi} iterations; NUTS: {chains} chains x ({tune} tune + "
        f"{draws} draws)\n"
    )
    print(
        "| library | compile | ADVI | NUTS wall | min ESS | min ESS/s | "
        "end to end | notes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['library']} | {_fmt(r['compile'])} | {_fmt(r['advi'])} | "
            f"{_fmt(r['nuts'])} | {r['ess']:.0f} | {r['ess_s']:.1f} | "
            f"{_fmt(r['end_to_end'])} | {r['note']} |"
        )
    if missing:
        print(f"\nNot installed (skipped): {', '.join(missing)}.")
    print(f"\n{REFERENCE}")


if __name__ == "__main__":
    main()
