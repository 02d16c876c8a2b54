"""Variational inference: tessera's methods next to PyMC's and NumPyro's.

Per model (the hierarchical MvNormal and eight schools of
``_inference_models.py``) and method, in a fresh interpreter per run:

- iterations per second after compiling: tessera (the method's
  Inference, backend ``"auto"``: the last ``n - n0`` of ``n`` steps, the
  first ``n0`` compiling), PyMC (steps ``n0..n`` of an ``n``-step
  ``Inference.fit``, timed by a callback) and NumPyro (``SVI.update`` in a jitted
  ``lax.scan`` of ``n`` steps, second call; ``AutoNormal``,
  ``AutoMultivariateNormal``, ``AutoBNAFNormal``), Adam 0.01 everywhere;
- time to a fixed ELBO: the first step whose 100-step running-mean ELBO
  reaches the target, times the seconds per step (compile excluded); the
  target is the running-mean ELBO that tessera's mean-field ADVI reaches
  after ``n`` steps, minus 1% of its magnitude;
- Pathfinder (tessera, BlackJAX on NumPyro's potential): wall time of a
  4-path run after one warm-up run.

Targets: at least 2x PyMC's iterations per second for each method PyMC
has; time to the ELBO at most NumPyro's. Run: ``python benchmarks/vi.py
[--quick] [--repeat 3]``; medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _inference_models import (  # noqa: E402
    eight_schools_data,
    mvnormal_data,
    numpyro_eight_schools,
    numpyro_mvnormal,
    pymc_eight_schools,
    pymc_mvnormal,
    tessera_eight_schools,
    tessera_mvnormal,
)
from _util import machine, versions  # noqa: E402

MODELS = {
    "hierarchical MvNormal": (
        tessera_mvnormal, pymc_mvnormal, numpyro_mvnormal, mvnormal_data
    ),
    "eight schools": (
        tessera_eight_schools, pymc_eight_schools, numpyro_eight_schools,
        eight_schools_data,
    ),
}  # fmt: skip

ROWS = [  # (label, library, method)
    ("ADVI", "tessera", "advi"),
    ("ADVI", "pymc", "advi"),
    ("ADVI", "numpyro", "AutoNormal"),
    ("full-rank ADVI", "tessera", "fullrank_advi"),
    ("full-rank ADVI", "pymc", "fullrank_advi"),
    ("full-rank ADVI", "numpyro", "AutoMultivariateNormal"),
    ("SVGD (100 particles)", "tessera", "svgd"),
    ("SVGD (100 particles)", "pymc", "svgd"),
    ("NFVI scale-loc-planar*4", "tessera", "nfvi"),
    ("flow (BNAF)", "numpyro", "AutoBNAFNormal"),
    ("Pathfinder (4 paths)", "tessera", "pathfinder"),
    ("Pathfinder (4 paths)", "blackjax", "pathfinder"),
]


def _running(x: np.ndarray, w: int = 100) -> np.ndarray:
    c = np.cumsum(np.insert(x, 0, 0.0))
    k = np.arange(1, len(x) + 1)
    lo = np.maximum(0, k - w)
    return (c[k] - c[lo]) / (k - lo)


# --- children ----------------------------------------------------------------
def _tessera_fit(model_name, method, n, n0):
    from tessera.ppl.inference.advi import _methods

    build, _, _, data = MODELS[model_name]
    model = build(**data())
    kw = {"n_particles": 100} if method == "svgd" else {}
    if method == "nfvi":
        kw = {"flow": "scale-loc-planar*4"}
    inference = _methods()[method](model=model, random_seed=0, **kw)
    # compiles: at least one full chunk, so that the timed steps run the
    # program compiled here (shorter fits compile power-of-two chunks)
    from tessera.ppl.inference.engine import CHUNK

    inference.fit(max(n0, CHUNK), progressbar=False)
    t0 = time.perf_counter()
    approx = inference.fit(n - n0, progressbar=False)
    return (time.perf_counter() - t0) / (n - n0), approx.hist


def _pymc_fit(model_name, method, n, n0):
    import pymc as pm

    _, build, _, data = MODELS[model_name]
    model = build(**data())
    with model:
        if method == "svgd":
            inference = pm.SVGD(n_particles=100, random_seed=0)
        else:
            cls = {"advi": pm.ADVI, "fullrank_advi": pm.FullRankADVI}[method]
            inference = cls(random_seed=0)
        opt = pm.adam(learning_rate=0.01)
        # each fit compiles its step first: time the steps by a callback's
        # clock (one Python call per step, about a microsecond)
        stamps: list[float] = []
        approx = inference.fit(
            n, obj_optimizer=opt, progressbar=False,
            callbacks=[lambda *_: stamps.append(time.perf_counter())],
        )  # fmt: skip
    per_step = (stamps[-1] - stamps[n0]) / (len(stamps) - 1 - n0)
    return per_step, -np.asarray(approx.hist)


def _numpyro_fit(model_name, guide_name, n, n0):
    import jax
    import numpyro
    from numpyro.infer import SVI, Trace_ELBO, autoguide

    numpyro.enable_x64()
    _, _, model, data = MODELS[model_name]
    d = {k: jax.numpy.asarray(v) for k, v in data().items()}
    guide = getattr(autoguide, guide_name)(model)
    svi = SVI(model, guide, numpyro.optim.Adam(0.01), Trace_ELBO())
    state = svi.init(jax.random.PRNGKey(0), **d)

    @jax.jit
    def steps(state):
        return jax.lax.scan(lambda s, _: svi.update(s, **d), state, None, length=n)

    steps(state)[1].block_until_ready()  # compiles
    t0 = time.perf_counter()
    _, losses = steps(state)
    losses.block_until_ready()
    return (time.perf_counter() - t0) / n, -np.asarray(losses)


def _pathfinder(model_name, library):
    if library == "tessera":
        from tessera import ppl

        build, _, _, data = MODELS[model_name]
        model = build(**data())

        def run(seed):
            ppl.pathfinder(model, num_paths=4, random_seed=seed, progressbar=False)

    else:
        import blackjax
        import jax
        import numpyro
        from numpyro.infer.util import initialize_model

        numpyro.enable_x64()
        _, _, model, data = MODELS[model_name]
        d = {k: jax.numpy.asarray(v) for k, v in data().items()}
        info = initialize_model(jax.random.PRNGKey(0), model, model_kwargs=d)
        flat0, unravel = jax.flatten_util.ravel_pytree(info.param_info.z)

        def logdensity(x):
            return -info.potential_fn(unravel(x))

        def one(key, x0):
            state, _ = blackjax.vi.pathfinder.approximate(key, logdensity, x0)
            return blackjax.vi.pathfinder.sample(key, state, 1000)[0]

        one = jax.jit(one)

        def run(seed):
            rng = np.random.default_rng(seed)
            for p in range(4):
                x0 = flat0 + rng.uniform(-2, 2, flat0.shape)
                one(jax.random.PRNGKey(seed * 10 + p), x0).block_until_ready()

    run(0)  # warm-up: compiles
    t0 = time.perf_counter()
    run(1)
    return time.perf_counter() - t0


def child(config: dict) -> dict:
    warnings.simplefilter("ignore")
    lib, method, model, n, n0 = (
        config[k] for k in ("lib", "method", "model", "n", "n0")
    )
    if method == "pathfinder":
        return {"seconds": _pathfinder(model, lib)}
    fit = {"tessera": _tessera_fit, "pymc": _pymc_fit, "numpyro": _numpyro_fit}[lib]
    per_step, elbo = fit(model, method, n, n0)
    return {"per_step": per_step, "elbo": _running(elbo).tolist() if len(elbo) else []}


# --- parent --------------------------------------------------------------------
def run_child(config: dict) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, __file__, "--child", json.dumps(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "?")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    n, n0 = (600, 100) if args.quick else (3000, 500)
    repeat = 1 if args.quick else args.repeat
    print("## Variational inference\n")
    print(f"{machine()}; {versions('tessera', 'pymc', 'numpyro', 'blackjax', 'jax')}")
    print(
        f"\n{n}-step fits after compiling (see the module docstring), median of "
        f"{repeat} fresh interpreters; time to ELBO: to tessera ADVI's final "
        "running-mean ELBO minus 1%.\n"
    )
    print("| model | method | library | it/s | ratio vs PyMC | time to ELBO | "
          "ratio vs NumPyro |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for model in MODELS:
        results, target = {}, None
        for label, lib, method in ROWS:
            cfg = dict(lib=lib, method=method, model=model, n=n, n0=n0)
            try:
                runs = [run_child(cfg) for _ in range(repeat)]
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                results[(label, lib)] = {"error": str(error)[:60]}
                continue
            if method == "pathfinder":
                results[(label, lib)] = {
                    "seconds": statistics.median(r["seconds"] for r in runs)
                }
                continue
            per_step = statistics.median(r["per_step"] for r in runs)
            elbo = np.asarray(runs[0]["elbo"])
            if lib == "tessera" and method == "advi":
                target = elbo[-1] - 0.01 * abs(elbo[-1])
            hit = np.flatnonzero(elbo >= target) if target is not None else []
            to_elbo = (hit[0] + 1) * per_step if len(hit) else None
            results[(label, lib)] = {"its": 1.0 / per_step, "to_elbo": to_elbo}
        for (label, lib), r in results.items():
            if "error" in r:
                print(f"| {model} | {label} | {lib} | failed: {r['error']} | | | |")
                continue
            if "seconds" in r:
                ref = results.get((label, "blackjax"), {}).get("seconds")
                ratio = f"{ref / r['seconds']:.2f}x" if ref and lib == "tessera" else ""
                print(f"| {model} | {label} | {lib} | — | — | {r['seconds']:.2f} s "
                      f"(wall) | {ratio} (vs BlackJAX) |")  # fmt: skip
                continue
            pymc = next((v for (lb, lb2), v in results.items()
                         if lb == label and lb2 == "pymc" and "its" in v), None)  # fmt: skip
            ratio = (
                f"{r['its'] / pymc['its']:.2f}x" if pymc and lib == "tessera" else ""
            )
            numpyro = next((v for (lb, lb2), v in results.items()
                            if lb2 == "numpyro" and "to_elbo" in v
                            and (lb == label or (label.startswith("NFVI") and lb.startswith("flow")))),
                           None)  # fmt: skip
            to = r["to_elbo"]
            ratio2 = ""
            if lib == "tessera" and numpyro and numpyro["to_elbo"] and to:
                ratio2 = f"{numpyro['to_elbo'] / to:.2f}x"
            to_s = f"{to * 1e3:.0f} ms" if to else "not reached"
            print(
                f"| {model} | {label} | {lib} | {r['its']:.0f} | {ratio} | {to_s} | {ratio2} |"
            )
    print(
        "\nRatios: tessera's speed over the reference's (> 1: tessera faster); "
        "'not reached': the running-mean ELBO stayed below the target within "
        f"{n} steps."
    )


if __name__ == "__main__":
    main()
