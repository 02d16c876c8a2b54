"""Log-density plus gradient of batched multivariate distributions.

Distributions: MvNormal (mu, cov), MvStudentT (nu, mu, scale), Wishart
(nu, V), LKJCholeskyCov (eta, HalfNormal sd) and MatrixNormal (mu, rowcov,
colcov). For each, the summed log-density of a batch of values and its
gradient with respect to every parameter and the value, at two sizes:

- ``many small``: a batch of 4096 problems with n = 8 (MatrixNormal 8 x 6);
- ``few large``: a batch of 4 problems with n = 128 (MatrixNormal 128 x 96).

Columns: tessera (NumPy backend), tessera-jax (the same graphs compiled
with ``backend="jax"``), NumPyro (``jax.jit`` of ``value_and_grad``,
float64) and PyMC (PyTensor, C backend) where installed, in the same run;
medians of several runs and the ratios tessera / NumPyro, tessera / PyMC
and tessera-jax / NumPyro (below 1: tessera is faster). "n/a" marks a
library that is not installed or rejects the batched parameters. The
tessera-jax and reference cases each run in their own process with a time
limit (``--limit``, default 120 s; the first call, which includes JIT
compilation, is reported too); a JAX case that stalls is run again on
one core, and its cell says so (see :func:`reference`). tessera's values
are checked against the others where they run.

Run: python benchmarks/distributions.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

import tessera as ts
from tessera import ppl
from tessera.compile.backends.numpy import tune_malloc

try:
    from benchmarks._util import fmt_time, machine, median_time, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, median_time, versions

SIZES = {"many small": (4096, 8), "few large": (4, 128)}
DISTS = ["MvNormal", "MvStudentT", "Wishart", "LKJCholeskyCov", "MatrixNormal"]


# --- inputs ------------------------------------------------------------------------
def _spd(rng, batch, n):
    a = rng.standard_normal((batch, n, n))
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def make_inputs(name: str, batch: int, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Parameters and a value (key ``"x"``) for one benchmark case."""
    rng = np.random.default_rng(seed)
    if name == "MvNormal":
        return {
            "mu": rng.standard_normal((batch, n)),
            "cov": _spd(rng, batch, n),
            "x": rng.standard_normal((batch, n)),
        }
    if name == "MvStudentT":
        return {
            "nu": rng.uniform(3.0, 10.0, size=batch),
            "mu": rng.standard_normal((batch, n)),
            "scale": _spd(rng, batch, n),
            "x": rng.standard_normal((batch, n)),
        }
    if name == "Wishart":
        return {
            "nu": n + rng.uniform(1.0, 5.0, size=batch),
            "V": _spd(rng, batch, n),
            "x": _spd(rng, batch, n) * n,
        }
    if name == "LKJCholeskyCov":
        c = _spd(rng, batch, n)
        return {
            "eta": rng.uniform(0.5, 4.0, size=batch),
            "sigma": rng.uniform(0.5, 2.0, size=(batch, 1)),
            "x": np.linalg.cholesky(c),
        }
    if name == "MatrixNormal":
        m, k = n, (3 * n) // 4
        return {
            "mu": rng.standard_normal((batch, m, k)),
            "rowcov": _spd(rng, batch, m),
            "colcov": _spd(rng, batch, k),
            "x": rng.standard_normal((batch, m, k)),
        }
    raise ValueError(name)


# --- tessera -----------------------------------------------------------------------
def tessera_logp(name: str, p: dict) -> ts.TensorVariable:
    if name == "MvNormal":
        d = ppl.MvNormal.dist(mu=p["mu"], cov=p["cov"])
    elif name == "MvStudentT":
        d = ppl.MvStudentT.dist(nu=p["nu"], mu=p["mu"], scale=p["scale"])
    elif name == "Wishart":
        d = ppl.Wishart.dist(nu=p["nu"], V=p["V"])
    elif name == "LKJCholeskyCov":
        n = p["x"].type.shape[-1]
        sd = ppl.HalfNormal.dist(sigma=p["sigma"])
        d = ppl.LKJCholeskyCov.dist(n=n, eta=p["eta"], sd_dist=sd)
    else:
        d = ppl.MatrixNormal.dist(mu=p["mu"], rowcov=p["rowcov"], colcov=p["colcov"])
    return ppl.logp(d, p["x"]).sum()


def tessera_function(
    name: str, arrays: dict, backend: str = "numpy"
) -> tuple[Callable, float]:
    """The compiled ``(logp, *grads)`` and the seconds it took to build and compile.

    (On the JAX backend, XLA compiles at the first call, not here.)
    """
    start = time.perf_counter()
    sym = {k: ts.tensor(k, shape=v.shape) for k, v in arrays.items()}
    lp = tessera_logp(name, sym)
    grads = ts.grad(lp, list(sym.values()))
    f = ts.function(list(sym.values()), [lp, *grads], backend=backend)
    return f, time.perf_counter() - start


def tessera_jax_function(name: str, arrays: dict):
    """The same tessera graph on the JAX backend; None if JAX is not installed."""
    try:
        import jax
    except ImportError:
        return None
    f, _ = tessera_function(name, arrays, backend="jax")
    return _jax_runner(jax, f, arrays)


def _jax_runner(jax, f, arrays: dict):
    """``run()`` calling ``f`` on the arrays already on the device, blocking."""
    values = [jax.numpy.asarray(v) for v in arrays.values()]

    def run():
        return jax.block_until_ready(f(*values))

    return run


# --- NumPyro -------------------------------------------------------------------------
def numpyro_function(name: str, arrays: dict):
    try:
        import jax
        import numpyro.distributions as nd
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def logp(*values):
        p = dict(zip(arrays, values))
        x = p["x"]
        if name == "MvNormal":
            return nd.MultivariateNormal(p["mu"], covariance_matrix=p["cov"]).log_prob(
                x
            )
        if name == "MvStudentT":
            tril = jnp.linalg.cholesky(p["scale"])
            return nd.MultivariateStudentT(p["nu"], p["mu"], tril).log_prob(x)
        if name == "Wishart":
            return nd.Wishart(p["nu"], scale_matrix=p["V"]).log_prob(x)
        if name == "LKJCholeskyCov":
            n = x.shape[-1]
            sd = jnp.sqrt(jnp.sum(x * x, axis=-1))
            lc = x / sd[..., None]
            diag = jnp.diagonal(lc, axis1=-2, axis2=-1)
            jac = jnp.sum(jnp.arange(n) * jnp.log(sd), -1) - jnp.sum(jnp.log(diag), -1)
            lp_sd = nd.HalfNormal(p["sigma"]).log_prob(sd).sum(-1)
            return lp_sd + nd.LKJCholesky(n, p["eta"]).log_prob(lc) - jac
        tril_r = jnp.linalg.cholesky(p["rowcov"])
        tril_c = jnp.linalg.cholesky(p["colcov"])
        return nd.MatrixNormal(p["mu"], tril_r, tril_c).log_prob(x)

    fn = jax.jit(
        jax.value_and_grad(lambda *v: logp(*v).sum(), argnums=tuple(range(len(arrays))))
    )
    return _jax_runner(jax, fn, arrays)


# --- PyMC --------------------------------------------------------------------------
def pymc_function(name: str, arrays: dict):
    """PyMC's logp + grad; None if not installed, "n/a" if it rejects the case."""
    try:
        import pymc as pm
        import pytensor
        import pytensor.tensor as pt
    except ImportError:
        return None
    try:
        sym = {
            k: pt.tensor(k, shape=v.shape, dtype="float64") for k, v in arrays.items()
        }
        p = sym
        if name == "MvNormal":
            d = pm.MvNormal.dist(mu=p["mu"], cov=p["cov"])
        elif name == "MvStudentT":
            d = pm.MvStudentT.dist(nu=p["nu"], mu=p["mu"], scale=p["scale"])
        elif name == "Wishart":
            d = pm.Wishart.dist(nu=p["nu"], V=p["V"])
        elif name == "MatrixNormal":
            d = pm.MatrixNormal.dist(mu=p["mu"], rowcov=p["rowcov"], colcov=p["colcov"])
        else:
            return "n/a"  # LKJCholeskyCov takes no batched eta / sd_dist in PyMC
        lp = pm.logp(d, p["x"]).sum()
        fn = pytensor.function(
            list(sym.values()), [lp, *pt.grad(lp, list(sym.values()))]
        )
        values = list(arrays.values())
        fn(*values)
    except Exception:  # noqa: BLE001 - any rejection of batched parameters
        return "n/a"
    return lambda: fn(*values)


# --- driver --------------------------------------------------------------------------
# "tessera-jax" runs in a subprocess too: JAX's CPU runtime may stall (below)
JAX_LIBS = ("tessera-jax", "numpyro")
REFERENCES = {
    "tessera-jax": tessera_jax_function,
    "numpyro": numpyro_function,
    "pymc": pymc_function,
}


def child(lib: str, name: str, batch: int, n: int, repeat: int) -> None:
    """Measure one reference case and print a JSON line (run in a subprocess)."""
    fn = REFERENCES[lib](name, make_inputs(name, batch, n))
    if fn is None or isinstance(fn, str):
        print(json.dumps({"status": "not installed" if fn is None else fn}))
        return
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    value = float(out[0])
    t = median_time(fn, repeat=repeat)
    print(json.dumps({"status": "ok", "time": t, "first": first, "value": value}))


def reference(lib: str, name: str, batch: int, n: int, repeat: int, limit: float):
    """Run :func:`child` in a fresh process (its own threads and memory), with
    a time limit: a case that takes minutes to compile or run is reported as
    such instead of stalling the table.

    On a small machine JAX's CPU runtime can deadlock when two batched LAPACK
    calls (e.g. the Cholesky factors of Wishart's value and scale, or of
    MatrixNormal's two covariances) run at once: each waits for helper tasks
    on the same intra-op thread pool, which has no free thread. A JAX case
    that times out is run again pinned to one core (a pool of one thread
    cannot deadlock), and its cell says so.
    """
    r = _run_child(lib, name, batch, n, repeat, limit)
    if r["status"].startswith(">") and lib in JAX_LIBS:
        pinned = _run_child(lib, name, batch, n, repeat, limit, pin=True)
        if pinned["status"] == "ok":
            pinned["pinned"] = True
            return pinned
    return r


def _run_child(lib, name, batch, n, repeat, limit, pin=False):
    cmd = [sys.executable, __file__, "--child", lib, name, str(batch), str(n)]
    cmd += ["--repeat", str(repeat)] + (["--pin"] if pin else [])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": f"> {limit:.0f} s"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        err = (res.stderr.strip().splitlines() or ["failed"])[-1]
        return {"status": f"error: {err[:60]}"}
    return json.loads(lines[-1])


def run_case(name, label, batch, n, repeat, limit):
    arrays = make_inputs(name, batch, n)
    f, t_compile = tessera_function(name, arrays)
    args = list(arrays.values())
    out = f(*args)
    assert np.isfinite(out[0]), f"{name}: tessera logp is not finite"
    t_ts = median_time(lambda: f(*args), repeat=repeat)
    row = {"name": name, "size": label, "batch": batch, "n": n, "tessera": t_ts}
    row["compile"] = t_compile
    for lib in REFERENCES:
        r = reference(lib, name, batch, n, repeat, limit)
        if r["status"] == "ok":
            np.testing.assert_allclose(out[0], r["value"], rtol=1e-6)
            row[lib] = r["time"]
            row[lib + "_first"] = r["first"]
            row[lib + "_pinned"] = r.get("pinned", False)
        else:
            row[lib] = r["status"]
    return row


def _cell(row, key):
    v = row[key]
    if isinstance(v, str):
        return v
    note = ", one core" if row.get(key + "_pinned") else ""
    return f"{fmt_time(v)} (first call {fmt_time(row[key + '_first'])}{note})"


def _ratio(row, key, num="tessera"):
    v, t = row.get(key), row.get(num)
    ok = isinstance(v, float) and isinstance(t, float)
    return f"{t / v:.2f}" if ok else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--limit", type=float, default=120.0, help="seconds per reference case"
    )
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 7)
    if args.pin:  # before JAX sizes its thread pools
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.child:
        lib, name, batch, n = args.child
        child(lib, name, int(batch), int(n), repeat)
        return
    # glibc keeps large temporaries for reuse (an opt-in; see its docstring)
    tune_malloc()
    rows = [
        run_case(name, label, batch, n, repeat, args.limit)
        for name in DISTS
        for label, (batch, n) in SIZES.items()
    ]
    print("## Multivariate log-density + gradient (all parameters and the value)\n")
    print(
        f"{versions('numpy', 'scipy', 'tessera', 'jax', 'numpyro', 'pymc')}; "
        f"{machine()}; OPENBLAS_NUM_THREADS="
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n"
    )
    print(
        "| distribution | size | tessera | tessera-jax | NumPyro (jit) | PyMC | "
        "tessera / NumPyro | tessera / PyMC | tessera-jax / NumPyro | "
        "tessera compile |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        size = f"{r['size']} ({r['batch']} x n={r['n']})"
        print(
            f"| {r['name']} | {size} | {fmt_time(r['tessera'])} | "
            f"{_cell(r, 'tessera-jax')} | {_cell(r, 'numpyro')} | "
            f"{_cell(r, 'pymc')} | {_ratio(r, 'numpyro')} | {_ratio(r, 'pymc')} | "
            f"{_ratio(r, 'numpyro', 'tessera-jax')} | {fmt_time(r['compile'])} |"
        )


if __name__ == "__main__":
    main()
