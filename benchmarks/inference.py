"""Inference benchmark: NUTS and ADVI on three models, tessera against PyMC,
PyMC sampled by nutpie, and NumPyro.

Models, written the same way in every library (float64 everywhere: NumPyro
runs with ``enable_x64``):

- ``mvnormal``: hierarchical multivariate normal, 50 groups x 20 obs x 3
  dims: ``mu0 ~ Normal(0, 5)`` (3,), ``chol ~ LKJCholeskyCov(n=3, eta=2,
  sd_dist=Exponential(1))``, ``mu_g ~ MvNormal(mu0, chol)`` (50, 3),
  ``sigma ~ HalfNormal(1)``, ``y ~ Normal(mu_g, sigma)`` (50, 20, 3);
- ``eight_schools``: non-centered, ``mu ~ Normal(0, 5)``, ``tau ~
  HalfCauchy(5)``, ``theta_tilde ~ Normal(0, 1)`` (8,), ``y ~ Normal(mu +
  tau * theta_tilde, sigma)``;
- ``radon``: varying intercept on simulated data (85 counties, 919 houses,
  fixed seed), ``mu_a ~ Normal(0, 10)``, ``sigma_a ~ HalfNormal(5)``, ``a ~
  Normal(mu_a, sigma_a)`` (85,), ``b ~ Normal(0, 10)``, ``sigma_y ~
  HalfNormal(5)``, ``y ~ Normal(a[county] + b * floor, sigma_y)``.

Rows of each model's table (NUTS: 2 chains x (1000 tune + 1000 draws),
``--quick`` 100 + 100; ``chains=2`` passed to every library):

- tessera default (cold): ``ppl.sample`` with no backend argument
  (``backend="auto"``: the JAX backend and BlackJAX's NUTS), each repeat in a
  fresh interpreter (JAX caches traces in-process; its persistent compile
  cache is turned off there, ``TESSERA_JAX_CACHE_DIR=""``);
- tessera default (warm): a second ``ppl.sample`` in that process on the same
  model (in-process caches warm);
- tessera numpy + nutpie: ``backend="numpy"`` (nutpie calling the compiled
  log-density and gradient), in a fresh interpreter;
- PyMC (default sampler), PyMC + nutpie (``pm.sample(nuts_sampler="nutpie")``)
  and NumPyro (NUTS, jitted, ``chain_method="parallel"`` over 2 host
  devices), each in a fresh interpreter.

Columns (each row runs ``--repeat`` times, default 3; each column is the
median over the runs):

- compile: tessera, the model's log-density and gradient plus the sampler
  (``idata.posterior.attrs["compile_time"]``); PyMC, the ``pm.sample`` call
  less its ``sampling_time`` (compile, initialization, output); NumPyro,
  JAX's lowering and XLA compilation during ``mcmc.run`` (``jax.monitoring``
  events; its tracing stays in NUTS wall);
- ADVI: 10k iterations (``--quick`` 200), compiling the step function
  included, run after NUTS in the same process: tessera ``ppl.fit(method=
  "advi")`` (default backend and optimizer, Adam(0.01)), PyMC ``pm.fit``,
  NumPyro SVI with an ``AutoNormal`` guide and Adam(0.01);
- NUTS wall: sampling alone, warm-up included (tessera's and PyMC's own
  ``sampling_time``; NumPyro's ``mcmc.run`` less its compile);
- min ESS: bulk (``arviz.ess``), the minimum over every entry of the free
  parameters (a Cholesky factor's constant entries left out); min ESS/s:
  min ESS / NUTS wall;
- end to end: building the model plus the sampling call, compilation
  included; imports (also those a first sampling call makes: BlackJAX,
  ArviZ, nutpie, tqdm, tessera's own backend and inference modules, which
  ``from tessera import ppl`` leaves to first use as ``import pymc`` and
  ``numpyro.infer`` do not, and those xarray makes at its first Dataset,
  such as ``dask.array``) and JAX's device start-up excluded (the warm
  row: the second ``ppl.sample`` call alone);
- notes: the sampler, divergences per run, the number of runs.

PyMC's compiled C code is cached on disk by PyTensor across processes (a
first run on a new machine is much slower than these).

After each table, ratio lines from the medians against the targets: min
ESS/s of tessera default / PyMC + nutpie (>= 1.5), end to end of tessera
default (cold) / NumPyro (<= 0.5) and / PyMC + nutpie (<= 0.25), ADVI
tessera / NumPyro SVI (<= 0.5). A reference not installed is reported and
its rows and ratios are skipped.

Run: python benchmarks/inference.py [--models mvnormal,eight_schools,radon]
     [--repeat 3] [--quick] [--skip-references]

``--models``: comma-separated subset (default all); ``--repeat N``: runs per
row; ``--quick``: 100 tune + 100 draws and 200 ADVI iterations (a smoke
run); ``--skip-references``: tessera's rows only. The models and their data
are in ``_inference_models.py``. Each run of a library is this script
started again with ``--child`` (an internal option), printing its rows as
one JSON line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from importlib.util import find_spec

import numpy as np

try:
    from benchmarks._inference_models import MODELS, Spec
    from benchmarks._util import fmt_time, machine, versions, warm_xarray
except ImportError:  # run as a script from the benchmarks folder
    from _inference_models import MODELS, Spec
    from _util import fmt_time, machine, versions, warm_xarray

COLUMNS = ("compile", "advi", "nuts", "ess", "ess_s", "end_to_end")
NAN = float("nan")

# --- measurements, each library in its own interpreter (a "child") --------------


def min_ess(idata, free) -> float:
    import arviz as az

    post = idata.posterior[list(free)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess = az.ess(post, method="bulk")
    # constant entries (the upper triangle of a Cholesky factor) have no
    # ESS: ArviZ reports the number of draws or NaN
    return float(
        np.nanmin(
            [
                np.nanmin(np.where(post[v].std(("chain", "draw")) > 0, ess[v], np.nan))
                for v in free
            ]
        )
    )


def _row(label, idata, free, *, compile_s, nuts_s, end_to_end, note="") -> dict:
    ess = min_ess(idata, free)
    return {
        "row": label,
        "compile": compile_s,
        "advi": NAN,
        "nuts": nuts_s,
        "ess": ess,
        "ess_s": ess / nuts_s,
        "end_to_end": end_to_end,
        "divergences": int(idata.sample_stats["diverging"].sum()),
        "note": note,
    }


def _preimport(*names: str) -> None:
    """Import the libraries a sampling call would import on first use (and
    start JAX's devices), so that the timings leave imports out in every
    library alike (``import pymc`` brings ArviZ, ``import numpyro`` JAX)."""
    for name in names:
        if find_spec(name) is not None:
            importlib.import_module(name)
    if "jax" in names and find_spec("jax") is not None:
        import jax

        jax.devices()
    # xarray's own imports at its first Dataset (Dask's where installed)
    warm_xarray()


#: tessera's modules that a first ``ppl.sample`` imports (on the JAX path
#: also the JAX backend and ``tessera.ppl.jax``, the distributions' JAX
#: lowerings); imported before the clock starts, as ``import pymc`` and
#: ``from numpyro.infer import ...`` are for those libraries
_TESSERA_LAZY = (
    "tqdm.auto",
    "tessera.compile.backends.numpy",
    "tessera.ppl.inference.nuts_blackjax",
    "tessera.ppl.inference.nuts_nutpie",
)
_TESSERA_JAX = ("tessera.compile.backends.jax", "tessera.ppl.jax")


def child_tessera(spec: Spec, data: dict, cfg: dict) -> list[dict]:
    from tessera import ppl

    _preimport("jax", "blackjax", "arviz", *_TESSERA_LAZY, *_TESSERA_JAX)
    kw = dict(
        draws=cfg["draws"],
        tune=cfg["tune"],
        chains=cfg["chains"],
        random_seed=1,
        progressbar=False,
    )
    rows = []
    t0 = time.perf_counter()
    model = spec.tessera(**data)
    idata = ppl.sample(model=model, **kw)
    end_to_end = time.perf_counter() - t0
    attrs = idata.posterior.attrs
    note = f"{attrs['backend']} backend, {attrs['sampler']}"
    rows.append(
        _row(
            "tessera default (cold)",
            idata,
            spec.free,
            compile_s=attrs["compile_time"],
            nuts_s=attrs["sampling_time"],
            end_to_end=end_to_end,
            note=note,
        )
    )
    t0 = time.perf_counter()
    idata = ppl.sample(model=model, **kw)
    end_to_end = time.perf_counter() - t0
    attrs = idata.posterior.attrs
    rows.append(
        _row(
            "tessera default (warm)",
            idata,
            spec.free,
            compile_s=attrs["compile_time"],
            nuts_s=attrs["sampling_time"],
            end_to_end=end_to_end,
            note=note + "; second ppl.sample, same model",
        )
    )
    t0 = time.perf_counter()
    ppl.fit(cfg["advi"], method="advi", model=model, random_seed=0, progressbar=False)
    rows[0]["advi"] = time.perf_counter() - t0
    return rows


def child_tessera_numpy(spec: Spec, data: dict, cfg: dict) -> list[dict]:
    from tessera import ppl

    _preimport("nutpie", "arviz", *_TESSERA_LAZY)
    t0 = time.perf_counter()
    model = spec.tessera(**data)
    idata = ppl.sample(
        model=model,
        draws=cfg["draws"],
        tune=cfg["tune"],
        chains=cfg["chains"],
        random_seed=1,
        progressbar=False,
        backend="numpy",
    )
    end_to_end = time.perf_counter() - t0
    attrs = idata.posterior.attrs
    return [
        _row(
            "tessera numpy + nutpie",
            idata,
            spec.free,
            compile_s=attrs["compile_time"],
            nuts_s=attrs["sampling_time"],
            end_to_end=end_to_end,
            note=f"chains in {attrs['chain_method']}",
        )
    ]


def _child_pymc(spec, data, cfg, label, sampler_kw, note) -> tuple[list[dict], object]:
    import pymc as pm

    t0 = time.perf_counter()
    model = spec.pymc(**data)
    with model:
        t1 = time.perf_counter()
        idata = pm.sample(
            draws=cfg["draws"],
            tune=cfg["tune"],
            chains=cfg["chains"],
            random_seed=1,
            progressbar=False,
            **sampler_kw,
        )
        t2 = time.perf_counter()
    nuts_s = idata.posterior.attrs["sampling_time"]
    return [
        _row(
            label,
            idata,
            spec.free,
            compile_s=(t2 - t1) - nuts_s,
            nuts_s=nuts_s,
            end_to_end=t2 - t0,
            note=note,
        )
    ], model


def child_pymc(spec: Spec, data: dict, cfg: dict) -> list[dict]:
    import pymc as pm

    _preimport("pymc")
    rows, model = _child_pymc(
        spec, data, cfg, "PyMC (default sampler)", {}, "chains in processes"
    )
    with model:
        t0 = time.perf_counter()
        pm.fit(cfg["advi"], method="advi", random_seed=0, progressbar=False)
        rows[0]["advi"] = time.perf_counter() - t0
    return rows


def child_pymc_nutpie(spec: Spec, data: dict, cfg: dict) -> list[dict]:
    _preimport("pymc", "nutpie")
    rows, _ = _child_pymc(
        spec, data, cfg, "PyMC + nutpie", {"nuts_sampler": "nutpie"}, "numba backend"
    )
    return rows


#: JAX's events for lowering a traced program and compiling it with XLA (one
#: each per program, not nested; tracing is left out: its events nest)
_JAX_COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


def _jax_compile_clock() -> dict[str, float]:
    """Seconds JAX spends lowering and compiling from now on, in ``["s"]``."""
    import jax.monitoring

    total = {"s": 0.0}

    def listen(event: str, duration: float, **_) -> None:
        if event in _JAX_COMPILE_EVENTS:
            total["s"] += duration

    jax.monitoring.register_event_duration_secs_listener(listen)
    return total


def child_numpyro(spec: Spec, data: dict, cfg: dict) -> list[dict]:
    import numpyro

    # before JAX starts its devices: one CPU device per chain
    numpyro.set_host_device_count(cfg["chains"])
    numpyro.enable_x64()
    import arviz as az
    import jax
    from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    _preimport("jax")
    compiling = _jax_compile_clock()
    method = "parallel" if jax.local_device_count() >= cfg["chains"] else "sequential"
    t0 = time.perf_counter()
    mcmc = MCMC(
        NUTS(spec.numpyro),
        num_warmup=cfg["tune"],
        num_samples=cfg["draws"],
        num_chains=cfg["chains"],
        chain_method=method,
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(1), **data)
    jax.block_until_ready(mcmc.get_samples())
    wall = time.perf_counter() - t0
    compile_s = compiling["s"]
    rows = [
        _row(
            "NumPyro",
            az.from_numpyro(mcmc),
            spec.free,
            compile_s=compile_s,
            nuts_s=wall - compile_s,
            end_to_end=wall,
            note=f"chain_method={method!r}; compile: XLA lowering and compilation",
        )
    ]
    t0 = time.perf_counter()
    svi = SVI(
        spec.numpyro, AutoNormal(spec.numpyro), numpyro.optim.Adam(0.01), Trace_ELBO()
    )
    result = svi.run(jax.random.PRNGKey(0), cfg["advi"], progress_bar=False, **data)
    jax.block_until_ready(result.params)
    rows[0]["advi"] = time.perf_counter() - t0
    return rows


#: the children, in the order they run and their rows appear: (rows, what
#: they need installed)
CHILDREN = {
    "tessera": (child_tessera, ()),
    "tessera_numpy": (child_tessera_numpy, ("nutpie",)),
    "pymc": (child_pymc, ("pymc",)),
    "pymc_nutpie": (child_pymc_nutpie, ("pymc", "nutpie")),
    "numpyro": (child_numpyro, ("numpyro",)),
}
ROWS = (
    "tessera default (cold)",
    "tessera default (warm)",
    "tessera numpy + nutpie",
    "PyMC (default sampler)",
    "PyMC + nutpie",
    "NumPyro",
)
MARK = "@@inference-rows "


def run_child(name: str, model: str, cfg: dict) -> list[dict]:
    """One repeat of a child's rows, in a fresh interpreter."""
    env = dict(os.environ)
    # no persistent JAX compile cache: every tessera / NumPyro run is cold
    env["TESSERA_JAX_CACHE_DIR"] = ""
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name]
    cmd += ["--models", model, "--config", json.dumps(cfg)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    raise RuntimeError(f"{name} on {model} failed (exit {proc.returncode}):\n{tail}")


# --- the report -----------------------------------------------------------------
def _median(values: list[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else NAN


def _fmt(v: float) -> str:
    return "n/a" if v != v else fmt_time(v)


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per row: the median of each column, and the notes."""
    out = {}
    for label in ROWS:
        if not runs.get(label):
            continue
        rs = runs[label]
        med = {c: _median([r[c] for r in rs]) for c in COLUMNS}
        divs = "/".join(str(r["divergences"]) for r in rs)
        notes = [f"divergences {divs}", f"median of {len(rs)} runs"]
        med["note"] = "; ".join([n for n in [rs[-1]["note"]] if n] + notes)
        out[label] = med
    return out


def print_table(title: str, summary: dict[str, dict]) -> None:
    print(f"### {title}\n")
    print(
        "| library | compile | ADVI | NUTS wall | min ESS | min ESS/s | "
        "end to end | notes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, r in summary.items():
        print(
            f"| {label} | {_fmt(r['compile'])} | {_fmt(r['advi'])} | "
            f"{_fmt(r['nuts'])} | {r['ess']:.0f} | {r['ess_s']:.1f} | "
            f"{_fmt(r['end_to_end'])} | {r['note']} |"
        )


def print_ratios(summary: dict[str, dict], absent: dict[str, str], n_advi: int) -> None:
    """``absent``: reference (``"NumPyro"``, ``"PyMC+nutpie"``) -> why it has
    no row (``"not installed"``, ``"skipped"``)."""

    def line(what, num, den, col, ref, op, target):
        if ref in absent:
            print(f"- {what}: {ref} {absent[ref]}")
            return
        if num not in summary or den not in summary:
            print(f"- {what}: n/a (row missing)")
            return
        x = summary[num][col] / summary[den][col]
        print(f"- {what} = {x:.2f} (target {op} {target})")

    cold, nutpie, numpyro = "tessera default (cold)", "PyMC + nutpie", "NumPyro"
    print()
    line(
        "min ESS/s: tessera default (cold) / PyMC+nutpie",
        cold,
        nutpie,
        "ess_s",
        "PyMC+nutpie",
        ">=",
        1.5,
    )
    line(
        "end to end (cold): tessera default / NumPyro",
        cold,
        numpyro,
        "end_to_end",
        "NumPyro",
        "<=",
        0.5,
    )
    line(
        "end to end (cold): tessera default / PyMC+nutpie",
        cold,
        nutpie,
        "end_to_end",
        "PyMC+nutpie",
        "<=",
        0.25,
    )
    steps = f"{n_advi // 1000}k" if n_advi % 1000 == 0 else str(n_advi)
    line(
        f"ADVI {steps}: tessera / NumPyro SVI",
        cold,
        numpyro,
        "advi",
        "NumPyro",
        "<=",
        0.5,
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated, of {', '.join(MODELS)} (default: all)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per row; medians reported"
    )
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument("--skip-references", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    from tessera.compile.backends.numpy import tune_malloc

    tune_malloc()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")

    if args.child:  # one library, one model, one repeat: rows as a JSON line
        warnings.simplefilter("ignore")
        spec = MODELS[models[0]]
        rows = CHILDREN[args.child][0](spec, spec.data(), json.loads(args.config))
        print(MARK + json.dumps(rows), flush=True)
        return

    n_advi, draws, tune = (200, 100, 100) if args.quick else (10000, 1000, 1000)
    cfg = {"advi": n_advi, "draws": draws, "tune": tune, "chains": 2}
    installed = {p for p in ("pymc", "nutpie", "numpyro") if find_spec(p)}
    missing = sorted({"pymc", "nutpie", "numpyro"} - installed)
    absent = {}
    for ref, needs in (("PyMC+nutpie", ("pymc", "nutpie")), ("NumPyro", ("numpyro",))):
        if args.skip_references:
            absent[ref] = "skipped (--skip-references)"
        elif not set(needs) <= installed:
            absent[ref] = "not installed"
    children = [
        name
        for name, (_, needs) in CHILDREN.items()
        if set(needs) <= installed
        and not (args.skip_references and name in ("pymc", "pymc_nutpie", "numpyro"))
    ]

    print("## Inference: NUTS and ADVI, tessera against PyMC, nutpie, NumPyro\n")
    print(
        f"{versions('tessera', 'numpy', 'jax', 'blackjax', 'nutpie', 'pymc')}, "
        f"{versions('numpyro', 'arviz')}; {machine()}\n"
    )
    print(
        f"NUTS: {cfg['chains']} chains x ({tune} tune + {draws} draws); ADVI: "
        f"{n_advi} iterations; each row run {args.repeat} times in fresh "
        "processes, medians shown\n"
    )
    if missing:
        print(f"Not installed (rows skipped): {', '.join(missing)}.\n")
    for name in models:
        spec = MODELS[name]
        runs: dict[str, list[dict]] = {}
        for k in range(args.repeat):
            for child in children:
                print(
                    f"[inference] {name}: {child}, run {k + 1}/{args.repeat}",
                    file=sys.stderr,
                    flush=True,
                )
                try:
                    rows = run_child(child, name, cfg)
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    print(f"[inference] {error}", file=sys.stderr, flush=True)
                    continue
                for r in rows:
                    runs.setdefault(r["row"], []).append(r)
        summary = summarize(runs)
        print_table(spec.title, summary)
        print_ratios(summary, absent, n_advi)


if __name__ == "__main__":
    main()
