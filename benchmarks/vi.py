"""Variational inference: tessera's methods next to PyMC's and NumPyro's.

Per model (the hierarchical MvNormal and eight schools of
``_inference_models.py``) and method, in a fresh interpreter per run,
Adam 0.01 everywhere:

- iterations per second after compiling, each fit running up to ``n`` steps
  (3000; ``--quick``: 750) or until ``--max-seconds`` of stepping (10;
  quick: 5), whichever comes first. tessera (the method's Inference,
  backend ``"auto"``): a 250-step fit compiles, one timed 250-step chunk
  gives the rate, then whole chunks up to the limits. PyMC: one
  ``Inference.fit`` timed by a callback's clock from its second step (its
  first tenth, at most 250 steps, excluded), the callback ending
  the fit at the time limit. NumPyro: ``SVI.update`` in a ``lax.scan`` of
  250 steps compiled ahead of time (``jit(...).lower(...).compile()``),
  called until the limits (``AutoNormal``, ``AutoMultivariateNormal``,
  ``AutoBNAFNormal``). it/s is a rate: a row slower than ``n / max-seconds``
  (on the hierarchical MvNormal: PyMC's SVGD and ASVGD, NumPyro's BNAF,
  tessera's ASVGD) is timed on fewer steps; the table's "steps" column
  says how many;
- time to a fixed ELBO: the first step whose 100-step running-mean ELBO
  reaches the target, times the seconds per step (compile excluded); the
  target is the running-mean ELBO that tessera's mean-field ADVI reaches
  at its last step, minus 1% of its magnitude. A fit that ends below it
  reads ``> t (not reached)``, ``t`` its stepping time, and a ratio
  against it is a bound. SVGD has no ELBO (its particles have no density;
  tessera records their mean log-density, PyMC nothing), nor has PyMC's
  ASVGD (its KSD operator returns no loss);
- Pathfinder (tessera, BlackJAX on NumPyro's potential): wall time of a
  4-path run after one warm-up run.

The same settings on both sides: SVGD moves 100 particles (``n_particles``
in both). ASVGD draws 500 particles per step from a full-rank Gaussian
(PyMC: ``pm.ASVGD(temperature=1)``, whose default approximation is
``FullRank`` starting at standard deviation softplus(1) = 1.3, fitted with
``obj_n_mc=500``, its default; tessera: ``ppl.ASVGD(obj_n_mc=500,
temperature=1.0)``, starting at 1.0); both use the RBF kernel
``exp(-|x - y|^2 / h)`` with the median heuristic ``h = med / log(N +
1)``. Full-rank ADVI is compared with NumPyro's
``AutoMultivariateNormal``, NFVI with ``AutoBNAFNormal``; ASVGD has no
counterpart among NumPyro's SVI guides (it fits a full-rank Gaussian, but
by the Stein direction of 500 particles, ~100x the cost of a full-rank
ADVI step): its time to the ELBO is shown without a ratio.

Each row: the median it/s of up to ``--repeat`` fresh interpreters (one
when the first takes over ``LONG_RUN``, 20 seconds) and the first one's
trajectory. An interpreter that runs past ``--child-timeout`` (240 s)
makes its row read "timed out"; rows left when the script's ``--budget``
(1080 s; ``benchmarks/run.py`` allows 1800 s per script) is spent read
"skipped". Progress goes to stderr.

Targets: at least 2x PyMC's iterations per second for each method PyMC
has; time to the ELBO at most NumPyro's. Run: ``python benchmarks/vi.py
[--quick] [--repeat 3] [--only asvgd,svgd]`` (``--only``: these methods,
plus tessera's ADVI for the target).
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
    ("ASVGD (500 particles)", "tessera", "asvgd"),
    ("ASVGD (500 particles)", "pymc", "asvgd"),
    ("NFVI scale-loc-planar*4", "tessera", "nfvi"),
    ("flow (BNAF)", "numpyro", "AutoBNAFNormal"),
    ("Pathfinder (4 paths)", "tessera", "pathfinder"),
    ("Pathfinder (4 paths)", "blackjax", "pathfinder"),
]
#: the NumPyro row each method's time to ELBO is compared with
NUMPYRO_REF = {
    "ADVI": "ADVI",
    "full-rank ADVI": "full-rank ADVI",
    "NFVI scale-loc-planar*4": "flow (BNAF)",
}
#: methods whose trajectory is no ELBO (SVGD's particles have no density:
#: tessera records their mean log-density, PyMC nothing)
NO_ELBO = {"svgd"}
#: the settings on each side (module docstring)
TESSERA_KW: dict[str, dict] = {
    "svgd": {"n_particles": 100},
    "asvgd": {"obj_n_mc": 500, "temperature": 1.0},
    "nfvi": {"flow": "scale-loc-planar*4"},
}
PYMC_KW: dict[str, dict] = {"svgd": {"n_particles": 100}, "asvgd": {"temperature": 1.0}}
PYMC_FIT_KW: dict[str, dict] = {"asvgd": {"obj_n_mc": 500}}
#: steps per call of NumPyro's compiled ``lax.scan``
NUMPYRO_CHUNK = 250
#: seconds: a row whose first run takes longer runs once
LONG_RUN = 20


def _running(x: np.ndarray, w: int = 100) -> np.ndarray:
    c = np.cumsum(np.insert(x, 0, 0.0))
    k = np.arange(1, len(x) + 1)
    lo = np.maximum(0, k - w)
    return (c[k] - c[lo]) / (k - lo)


# --- children ----------------------------------------------------------------
def _tessera_fit(model_name, method, n, n0, max_seconds):
    from tessera.ppl.inference.advi import _methods
    from tessera.ppl.inference.engine import CHUNK

    build, _, _, data = MODELS[model_name]
    model = build(**data())
    inference = _methods()[method](
        model=model, random_seed=0, **TESSERA_KW.get(method, {})
    )
    # compiles: at least one full chunk, so that the timed steps run the
    # program compiled here (shorter fits compile power-of-two chunks)
    n0 = max(n0, CHUNK)
    inference.fit(n0, progressbar=False)
    # one timed chunk gives the rate, then whole chunks up to n steps or
    # max_seconds of stepping
    t0 = time.perf_counter()
    inference.fit(CHUNK, progressbar=False)
    rate = CHUNK / (time.perf_counter() - t0)
    more = min(n - n0 - CHUNK, int(rate * max_seconds) - CHUNK)
    more = max(0, more // CHUNK * CHUNK)
    if more:
        approx = inference.fit(more, progressbar=False)
    else:
        approx = inference.approx
    seconds = time.perf_counter() - t0
    return seconds / (CHUNK + more), n0 + CHUNK + more, np.asarray(approx.hist)


def _pymc_fit(model_name, method, n, n0, max_seconds):
    import pymc as pm

    _, build, _, data = MODELS[model_name]
    model = build(**data())
    with model:
        if method == "svgd":
            inference = pm.SVGD(random_seed=0, **PYMC_KW[method])
        else:
            cls = {"advi": pm.ADVI, "fullrank_advi": pm.FullRankADVI, "asvgd": pm.ASVGD}
            inference = cls[method](random_seed=0, **PYMC_KW.get(method, {}))
        opt = pm.adam(learning_rate=0.01)
        # each fit compiles its step first: time the steps by a callback's
        # clock (one Python call per step, about a microsecond); the
        # callback ends the fit after max_seconds of stepping
        stamps: list[float] = []

        def clock(*_):
            stamps.append(time.perf_counter())
            if stamps[-1] - stamps[0] > max_seconds and len(stamps) > 2:
                raise StopIteration("time's up")

        approx = inference.fit(
            n, obj_optimizer=opt, progressbar=False, callbacks=[clock],
            **PYMC_FIT_KW.get(method, {}),
        )  # fmt: skip
    n0 = min(n0, len(stamps) // 10)
    per_step = (stamps[-1] - stamps[n0]) / (len(stamps) - 1 - n0)
    # KSD (SVGD, ASVGD) records no loss: an empty trajectory
    return per_step, len(stamps), -np.asarray(approx.hist)[: len(stamps)]


def _numpyro_fit(model_name, guide_name, n, n0, max_seconds):
    import jax
    import numpyro
    from numpyro.infer import SVI, Trace_ELBO, autoguide

    numpyro.enable_x64()
    _, _, model, data = MODELS[model_name]
    d = {k: jax.numpy.asarray(v) for k, v in data().items()}
    guide = getattr(autoguide, guide_name)(model)
    svi = SVI(model, guide, numpyro.optim.Adam(0.01), Trace_ELBO())
    # setup, not timed: svi.init runs op by op, compiling each op (20 s for
    # AutoNormal on the loaded reference machine); jitted it takes 7 s, but
    # for BNAF its one compile takes longer than the op-by-op run
    init = svi.init if guide_name == "AutoBNAFNormal" else jax.jit(svi.init)
    state = init(jax.random.PRNGKey(0), **d)
    chunk = NUMPYRO_CHUNK

    def steps(state):
        return jax.lax.scan(lambda s, _: svi.update(s, **d), state, None, length=chunk)

    # compiled ahead of time: every timed chunk runs, none compiles
    steps = jax.jit(steps).lower(state).compile()
    losses = []
    t0 = time.perf_counter()
    while len(losses) * chunk < n:
        state, loss = steps(state)
        losses.append(loss)
        loss.block_until_ready()
        if time.perf_counter() - t0 > max_seconds:
            break
    seconds = time.perf_counter() - t0
    elbo = -np.concatenate([np.asarray(x) for x in losses])
    return seconds / elbo.size, elbo.size, elbo


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
    lib, method, model = (config[k] for k in ("lib", "method", "model"))
    if method == "pathfinder":
        return {"seconds": _pathfinder(model, lib)}
    fit = {"tessera": _tessera_fit, "pymc": _pymc_fit, "numpyro": _numpyro_fit}[lib]
    per_step, steps, elbo = fit(
        model, method, config["n"], config["n0"], config["max_seconds"]
    )
    return {
        "per_step": per_step,
        "steps": steps,
        "elbo": _running(elbo).tolist() if len(elbo) else [],
    }


# --- parent --------------------------------------------------------------------
def run_child(config: dict, timeout: float) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [sys.executable, __file__, "--child", json.dumps(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "?")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(config: dict, repeat: int, timeout: float, deadline: float) -> dict:
    """One row: up to ``repeat`` fresh interpreters (one when the first run
    takes over ``LONG_RUN`` seconds), each stopped after ``timeout``
    seconds or at the ``deadline`` (``time.monotonic``)."""
    runs = []
    for _ in range(repeat):
        left = deadline - time.monotonic()
        if left < 10:
            if runs:
                break
            return {"error": "skipped (the script's time budget is spent)"}
        t0 = time.monotonic()
        try:
            runs.append(run_child(config, min(timeout, left)))
        except subprocess.TimeoutExpired:
            if runs:
                break
            return {"error": f"timed out after {min(timeout, left):.0f} s"}
        except RuntimeError as error:
            return {"error": f"failed: {str(error)[:60]}"}
        if time.monotonic() - t0 > LONG_RUN:
            break
    if "seconds" in runs[0]:
        return {"seconds": statistics.median(r["seconds"] for r in runs)}
    per_step = statistics.median(r["per_step"] for r in runs)
    # the trajectory of the first run; the rate is the median's
    first = runs[0]
    return {
        "its": 1.0 / per_step, "per_step": per_step, "runs": len(runs),
        "steps": first["steps"], "elbo": np.asarray(first["elbo"]),
    }  # fmt: skip


def _time_to(r: dict, target: float | None) -> tuple[float | None, float | None]:
    """``(seconds to the target, lower bound when not reached)``."""
    if target is None or not len(r["elbo"]):
        return None, None
    hit = np.flatnonzero(r["elbo"] >= target)
    if len(hit):
        return (hit[0] + 1) * r["per_step"], None
    return None, len(r["elbo"]) * r["per_step"]


def _ratio(x: float) -> str:
    return f"{x:.2f}x" if x >= 0.1 else f"{x:.2g}x"


def _seconds(t: float) -> str:
    return f"{t * 1e3:.0f} ms" if t < 10 else f"{t:.0f} s"


def table_rows(model: str, results: dict, target: float | None) -> list[str]:
    """The Markdown rows of one model."""
    lines = []
    for (label, lib, method), r in results.items():
        head = f"| {model} | {label} | {lib} |"
        if "error" in r:
            lines.append(f"{head} {r['error']} | | | | |")
            continue
        if "seconds" in r:
            ref = results.get((label, "blackjax", "pathfinder"), {}).get("seconds")
            ratio = (
                f"{_ratio(ref / r['seconds'])} (vs BlackJAX)"
                if ref and lib == "tessera"
                else ""
            )
            lines.append(f"{head} — | — | — | {r['seconds']:.2f} s (wall) | {ratio} |")
            continue
        pymc = results.get((label, "pymc", method), {})
        ratio = (
            _ratio(r["its"] / pymc["its"]) if "its" in pymc and lib == "tessera" else ""
        )
        to, bound = _time_to(r, target)
        if method in NO_ELBO or not len(r["elbo"]):
            to_s = "n/a (no ELBO)"
        else:
            to_s = _seconds(to) if to else f"> {_seconds(bound)} (not reached)"
        ratio2 = ""
        ref_label = NUMPYRO_REF.get(label)
        ref = next((v for (lb, lib2, _), v in results.items()
                    if lb == ref_label and lib2 == "numpyro" and "its" in v), None)  # fmt: skip
        if lib == "tessera" and ref is not None and method not in NO_ELBO:
            ref_to, ref_bound = _time_to(ref, target)
            if to and ref_to:
                ratio2 = _ratio(ref_to / to)
            elif to and ref_bound:
                ratio2 = f"> {_ratio(ref_bound / to)}"
            elif bound and ref_to:
                ratio2 = f"< {_ratio(ref_to / bound)}"
        steps = f"{r['steps']} ({r['runs']})"
        lines.append(f"{head} {steps} | {r['its']:.0f} | {ratio} | {to_s} | {ratio2} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--max-seconds", type=float, default=None,
        help="seconds of stepping per fit (default 10, quick 5)",
    )  # fmt: skip
    parser.add_argument(
        "--child-timeout", type=float, default=240.0,
        help="seconds per fresh interpreter before its row says 'timed out'",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=float, default=1080.0,
        help="seconds for the whole script (benchmarks/run.py allows 1800): "
        "rows left when it is spent say 'skipped'",
    )  # fmt: skip
    parser.add_argument("--only", default=None, help="comma-separated row methods")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    deadline = time.monotonic() + args.budget
    n, n0 = (750, 250) if args.quick else (3000, 250)
    max_seconds = args.max_seconds or (5.0 if args.quick else 10.0)
    repeat = 1 if args.quick else args.repeat
    only = set(args.only.split(",")) if args.only else None
    print("## Variational inference\n")
    print(f"{machine()}; {versions('tessera', 'pymc', 'numpyro', 'blackjax', 'jax')}")
    print(
        f"\nFits of up to {n} steps or {max_seconds:.0f} s of stepping after "
        f"compiling (see the module docstring); 'steps (runs)': the steps of "
        f"the first run and the fresh interpreters whose median it/s is shown "
        f"(up to {repeat}; one where a run takes over {LONG_RUN} s). Time to "
        "ELBO: to tessera ADVI's final running-mean ELBO minus 1%.\n",
        flush=True,
    )
    print("| model | method | library | steps (runs) | it/s | ratio vs PyMC | "
          "time to ELBO | ratio vs NumPyro |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for model in MODELS:
        results, target = {}, None
        for label, lib, method in ROWS:
            if only and method not in only and (lib, method) != ("tessera", "advi"):
                continue
            cfg = dict(
                lib=lib, method=method, model=model, n=n, n0=n0, max_seconds=max_seconds
            )
            t0 = time.monotonic()
            r = measure(cfg, repeat, args.child_timeout, deadline)
            print(f"{model} / {label} / {lib}: {time.monotonic() - t0:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            results[(label, lib, method)] = r
            if lib == "tessera" and method == "advi" and "elbo" in r:
                final = r["elbo"][-1]
                target = final - 0.01 * abs(final)
        print("\n".join(table_rows(model, results, target)), flush=True)
    print(
        "\nRatios: tessera's speed over the reference's (> 1: tessera faster). "
        "'> t (not reached)': the running-mean ELBO stayed below the target for "
        "the whole fit, which took t; a ratio against such a row is a bound. "
        "'n/a (no ELBO)': SVGD's particles have no density (tessera records "
        "their mean log-density, PyMC nothing) and PyMC's KSD-based ASVGD "
        "records no loss."
    )


if __name__ == "__main__":
    main()
