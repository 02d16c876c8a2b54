"""ppl.sample_many / ppl.fit_many: many datasets, one compiled program."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from _background import result
from tessera import ppl
from tessera.ppl.inference.convergence import SamplingWarning
from tessera.ppl.inference.many_data import StructureError

PRIOR_SD, SIGMA = 10.0, 1.0


def build_normal(y):
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, PRIOR_SD)
        ppl.Normal("y", mu, SIGMA, observed=y)
    return m


def exact(y):
    """Posterior mean and sd of the normal mean with known sigma."""
    prec = 1 / PRIOR_SD**2 + len(y) / SIGMA**2
    return (np.sum(y) / SIGMA**2) / prec, prec**-0.5


YS = np.random.default_rng(0).normal(size=(4, 12)) + 3.0 * np.arange(4)[:, None]
KW = dict(draws=400, tune=400, chains=2, random_seed=3, progressbar=False)


@pytest.fixture(scope="module")
def fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return ppl.sample_many(build_normal, YS, **KW)


def test_posteriors_match_the_exact_ones(fits):
    assert len(fits) == len(YS)
    for idata, y in zip(fits, YS):
        mean, sd = exact(y)
        draws = idata.posterior["mu"].values
        assert draws.shape == (2, 400)
        assert abs(draws.mean() - mean) < 0.25 * sd
        assert abs(draws.std() - sd) < 0.2 * sd


def test_each_dataset_equals_its_single_fit(fits):
    """The seeds policy: dataset d is ppl.sample(random_seed=seeds[d],
    chain_method="vectorized") of its own model."""
    d = 2
    seed = fits[d].posterior.attrs["random_seed"]
    single = ppl.sample(
        model=build_normal(YS[d]),
        chain_method="vectorized",
        compute_convergence_checks=False,
        **{**KW, "random_seed": seed},
    )
    np.testing.assert_array_equal(
        fits[d].posterior["mu"].values, single.posterior["mu"].values
    )


def test_a_second_call_reuses_the_compiled_program(fits, monkeypatch):
    """Models of the first call's structure (the same build run again, as a
    notebook cell) run the program compiled then: nothing is compiled, and
    the draws are the first call's."""
    from tessera.compile.backends.jax import options

    compiled, real = [], options.jit
    monkeypatch.setattr(
        options, "jit", lambda fun, **kw: compiled.append(fun) or real(fun, **kw)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        again = ppl.sample_many(build_normal, YS, **KW)
    assert compiled == []
    for first, second in zip(fits, again):
        np.testing.assert_array_equal(first.posterior["mu"], second.posterior["mu"])


SEEDS = """
import warnings
import numpy as np
from tessera import ppl

SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])

def build(y):  # eight schools, non-centered
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 5.0)
        tau = ppl.HalfCauchy("tau", 5.0)
        z = ppl.Normal("z", 0.0, 1.0, shape=8)
        ppl.Normal("y", mu + tau * z, SIGMA, observed=y)
    return m

rng = np.random.default_rng(0)
mu, tau = rng.normal(0.0, 5.0, 40), np.abs(rng.standard_cauchy(40)) * 5.0
ys = mu[:, None] + tau[:, None] * rng.normal(size=(40, 8))
ys = ys + SIGMA * rng.normal(size=(40, 8))
kw = dict(draws=100, tune=100, chains=2, progressbar=False)
warnings.simplefilter("ignore")
many = ppl.sample_many(build, ys, random_seed=1, **kw)
for d in (0, 39):
    single = ppl.sample(model=build(ys[d]), chain_method="vectorized",
                        random_seed=many[d].posterior.attrs["random_seed"],
                        compute_convergence_checks=False, **kw)
    for name in ("mu", "tau", "z"):
        diff = np.abs(many[d].posterior[name].values - single.posterior[name].values)
        print("dataset", d, name, "max abs difference", diff.max())
"""


def seeds_run() -> subprocess.CompletedProcess:
    """The seeds script in the user's XLA environment, not the test
    process's (its XLA flags compile the two programs of the old code
    alike); a background job (``tests/_background.py``)."""
    return subprocess.run(
        [sys.executable, "-c", SEEDS], capture_output=True, text=True, timeout=300
    )


@pytest.mark.background(job=seeds_run)
def test_seeds_policy_is_bitwise_on_eight_schools():
    """Every chain of two datasets run among the slots of a chunk equals its own
    ``ppl.sample(chain_method="vectorized")`` bit for bit (one program,
    the data its inputs in both: with the data as constants, chain 0 of
    dataset 0 rounded differently and was O(1) away after 100 steps)."""
    proc = result(seeds_run)
    lines = [ln for ln in proc.stdout.splitlines() if "max abs difference" in ln]
    assert len(lines) == 6, proc.stderr[-3000:]
    assert all(ln.endswith(" 0.0") for ln in lines), lines


@pytest.mark.parametrize(
    "datasets, cores",
    [(list(YS[:3]), 1), ({"y": YS[:3]}, 2)],
    ids=["list-one-thread", "dict-with-dataset-axis-chunks-in-threads"],
)
def test_dataset_forms_chunks_and_threads_give_the_same_draws(
    fits, datasets, cores, monkeypatch
):
    def build(data):
        return build_normal(data["y"] if isinstance(data, dict) else data)

    # chunks starting in threads at once share one compiled program
    from tessera.ppl.inference.nuts_lanes_run import LanesProgram

    lowered = []
    compile_ = LanesProgram.compile

    def counting_compile(self, args):
        lowered.append(1)
        return compile_(self, args)

    monkeypatch.setattr(LanesProgram, "compile", counting_compile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        res = ppl.sample_many(build, datasets, chunk_size=2, cores=cores, **KW)
    assert len(lowered) == 1
    for a, b in zip(res, fits[:3]):
        np.testing.assert_allclose(
            a.posterior["mu"].values, b.posterior["mu"].values, atol=1e-8
        )


def test_cores_must_be_positive():
    with pytest.raises(ValueError, match="cores must be at least 1, got 0"):
        ppl.sample_many(build_normal, YS[:2], cores=0, **KW)


def test_combine_layout():
    coords = {"obs": range(5)}

    def build(y):
        with ppl.Model(coords=coords) as m:
            mu = ppl.Normal("mu", 0.0, 10.0, shape=2)
            obs = ppl.Normal("y", mu[0], 1.0, observed=y, dims="obs")
            ppl.Deterministic("total", mu.sum() + obs.sum())
        return m

    ys = np.arange(15.0).reshape(3, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        idata = ppl.sample_many(build, ys, combine=True, **{**KW, "draws": 50})
    post = idata.posterior
    assert post["mu"].dims == ("dataset", "chain", "draw", "mu_dim_0")
    assert post["mu"].shape == (3, 2, 50, 2)
    assert list(post["dataset"].values) == [0, 1, 2]
    assert idata.sample_stats["diverging"].dims == ("dataset", "chain", "draw")
    # the deterministic reads each dataset's own data
    got = post["total"] - post["mu"].sum("mu_dim_0")
    np.testing.assert_allclose(got.mean(("chain", "draw")), ys.sum(axis=1))
    assert idata.attrs["failed_datasets"] == []


def test_data_variables_are_per_dataset():
    def build(data):
        with ppl.Model() as m:
            x = ppl.Data("x", data["x"])
            b = ppl.Normal("b", 0.0, 10.0)
            ppl.Normal("y", b * x, 0.1, observed=data["y"])
        return m

    x = np.linspace(1, 2, 8)
    datasets = [{"x": x * (k + 1), "y": 2.0 * k * x * (k + 1)} for k in range(3)]
    res = ppl.sample_many(build, datasets, **{**KW, "draws": 200})
    means = [float(r.posterior["b"].mean()) for r in res]
    np.testing.assert_allclose(means, [0.0, 2.0, 4.0], atol=0.05)
    np.testing.assert_allclose(res[2].constant_data["x"].values, x * 3)


def _bad_shape(data):
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 1.0, shape=len(data))
        ppl.Normal("y", mu, 1.0, observed=data)
    return m


def _bad_deterministic(data):
    m = build_normal(data)
    with m:
        ppl.Deterministic("d", m["mu"] + ppl.math.sum(data))
    return m


def _bad_constant(data):
    with ppl.Model() as m:
        mu = ppl.Normal("mu", float(data[0]), 1.0)
        ppl.Normal("y", mu, 1.0, observed=data)
    return m


@pytest.mark.parametrize(
    ("build", "datasets", "match"),
    [
        (build_normal, [np.zeros(3), np.zeros(3), np.zeros(4)], r"dataset 2: data 'y'"),
        (_bad_shape, [np.zeros(3), np.zeros(2)], r"dataset 1: free variable 'mu'"),
        (_bad_constant, [np.zeros(3), np.ones(3)], r"dataset 1: .*constants"),
        (_bad_deterministic, [np.zeros(3), np.ones(3)], r"dataset 1: .*constants"),
    ],
    ids=["observed-shape", "free-shape", "hidden-constant", "deterministic"],
)
def test_structure_mismatch_is_rejected_before_compiling(
    build, datasets, match, monkeypatch
):
    from tessera.ppl.inference import many_data

    def no_compile(*a, **k):
        raise AssertionError("compiled before checking the structure")

    monkeypatch.setattr(many_data.ManyLogp, "__init__", no_compile)
    with pytest.raises(StructureError, match=match):
        ppl.sample_many(build, datasets, **KW)


def test_non_finite_start_is_reported_by_index():
    def build(y):
        with ppl.Model() as m:
            s = ppl.HalfNormal("s", 1.0)
            ppl.HalfNormal("y", s, observed=y)
        return m

    ys = np.array([[1.0, 2.0], [1.0, -1.0], [0.5, 0.2]])  # dataset 1: y < 0
    with pytest.warns(SamplingWarning, match=r"datasets \[1\] have no start"):
        res = ppl.sample_many(build, ys, **{**KW, "draws": 100})
    assert res[1] is None
    assert res[0] is not None and res[2] is not None
    assert np.isfinite(res[2].posterior["s"].values).all()
    with pytest.warns(SamplingWarning, match=r"datasets \[1\]"):
        combined = ppl.sample_many(build, ys, combine=True, **{**KW, "draws": 100})
    assert combined.attrs["failed_datasets"] == [1]
    assert np.isnan(combined.posterior["s"].sel(dataset=1)).all()
    assert np.isfinite(combined.posterior["s"].sel(dataset=2)).all()


def test_convergence_warning_names_the_datasets():
    """A funnel with few tuning steps diverges; the warning names datasets."""

    def build(y):
        with ppl.Model() as m:
            tau = ppl.HalfCauchy("tau", 5.0)
            theta = ppl.Normal("theta", 0.0, tau, shape=8)
            ppl.Normal("y", theta, 15.0, observed=y)
        return m

    ys = np.zeros((2, 8))
    with pytest.warns(SamplingWarning, match=r"datasets \[0, 1\] had divergences"):
        ppl.sample_many(build, ys, **{**KW, "draws": 200, "tune": 30})


def test_fit_many_matches_the_exact_posteriors_and_ppl_fit():
    res = ppl.fit_many(build_normal, YS, n=4000, random_seed=0)
    assert res.mean_flat.shape == (len(YS), 1) and res.hist.shape == (len(YS), 4000)
    d = 1
    with build_normal(YS[d]):
        single = ppl.fit(4000, random_seed=0, progressbar=False)
    for k, y in enumerate(YS):
        mean, sd = exact(y)
        assert abs(res.mean_flat[k, 0] - mean) < 0.1 * sd
        assert abs(res.std_flat[k, 0] - sd) < 0.15 * sd
    assert abs(res.mean_flat[d, 0] - single.mean_flat[0]) < 0.15 * exact(YS[d])[1]
    draws = res.sample(200, random_seed=1)
    assert draws[3].posterior["mu"].shape == (1, 200)
    assert abs(float(draws[3].posterior["mu"].mean()) - exact(YS[3])[0]) < 0.5
    with pytest.raises(ValueError, match="only 'advi'"):
        ppl.fit_many(build_normal, YS, method="fullrank_advi")


SHARDED = """
import numpy as np, jax
from tessera import ppl
from tessera.ppl.inference.nuts_lanes_run import LanesProgram

assert len(jax.devices()) == 4, jax.devices()
seen = []
call = LanesProgram.__call__

def spy(self, *args):
    out = call(self, *args)
    seen.append(len(out[0].chain.x.sharding.device_set))
    return out

def build(y):
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 10.0)
        s = ppl.HalfNormal("s", 2.0)
        ppl.Normal("y", mu, s, observed=y)
    return m

ys = np.random.default_rng(0).normal(size=(6, 10)) + np.arange(6)[:, None]
kw = dict(draws=100, tune=100, random_seed=7, progressbar=False, combine=True,
          compute_convergence_checks=False)
a = ppl.sample_many(build, ys, **kw)
LanesProgram.__call__ = spy
b = ppl.sample_many(build, ys, devices=jax.devices(), **kw)
assert set(seen) == {4}, seen
np.testing.assert_allclose(a.posterior["mu"].values, b.posterior["mu"].values,
                           rtol=1e-9, atol=1e-9)
print("SHARDED-OK")
"""


def sharded_run() -> subprocess.CompletedProcess:
    """The sharded script on 4 CPU devices (a background job:
    ``tests/_background.py``)."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    return subprocess.run(
        [sys.executable, "-c", SHARDED],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.background(job=sharded_run)
def test_devices_shard_the_datasets_and_give_the_same_draws():
    proc = result(sharded_run)
    assert "SHARDED-OK" in proc.stdout, proc.stderr[-3000:]


DASK = """
import os, sys, warnings
import numpy as np
from distributed import Client, LocalCluster, get_worker
from tessera import ppl
from tessera.ppl.inference.many_dask import ChunkFailedError, ChunkFailedWarning

MARK = sys.argv[1]  # exists once the chunk with dataset 3 has failed

def build(y):
    try:
        get_worker()
        in_worker = True
    except ValueError:
        in_worker = False
    # dataset 3 fails once on a worker, dataset 4 (y[0] == -99) always
    if in_worker and y[0] == 99.0 and not os.path.exists(MARK):
        open(MARK, "w").close()
        raise RuntimeError("worker hiccup")
    if in_worker and y[0] == -99.0:
        raise RuntimeError("broken dataset")
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, 10.0)
        ppl.Normal("y", mu, 1.0, observed=y)
    return m

if __name__ == "__main__":
    ys = np.random.default_rng(0).normal(size=(5, 4))
    ys[3, 0] = 99.0
    kw = dict(draws=100, tune=100, random_seed=3, progressbar=False,
              compute_convergence_checks=False, combine=True)
    local = ppl.sample_many(build, ys, **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            got = ppl.sample_many(build, ys, executor=client, chunk_size=2, **kw)
        retried = [str(x.message) for x in w if x.category is ChunkFailedWarning]
        assert len(retried) == 1 and "datasets [2, 3]" in retried[0], retried
        np.testing.assert_allclose(local.posterior["mu"].values,
                                   got.posterior["mu"].values, atol=1e-9)
        ys[4, 0] = -99.0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ppl.sample_many(build, ys, executor=client, chunk_size=2, **kw)
        except ChunkFailedError as e:
            assert e.datasets == [4], e.datasets
            print("DASK-OK")
"""


def dask_run() -> subprocess.CompletedProcess | None:
    """The Dask script on a local cluster (a background job:
    ``tests/_background.py``); None without dask.distributed."""
    if find_spec("distributed") is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="dask-many-"))
    script = folder / "dask_many.py"
    script.write_text(DASK)
    try:
        return subprocess.run(
            [sys.executable, str(script), str(folder / "failed-once")],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.background(job=dask_run)
def test_dask_executor_retries_a_failed_chunk_once_and_never_drops_one():
    pytest.importorskip(
        "distributed", reason="needs dask.distributed (the 'distributed' extra)"
    )
    proc = result(dask_run)
    assert "DASK-OK" in proc.stdout, proc.stderr[-3000:]


def test_rhat_check_of_all_datasets_at_once_equals_one_by_one():
    """_convergence computes r_hat with the datasets as a parameter axis:
    the same datasets as r_hat of each one (a failed dataset skipped)."""
    from tessera.ppl.inference.convergence import RHAT_MAX
    from tessera.ppl.inference.diagnostics import rhat
    from tessera.ppl.inference.many import _convergence

    rng = np.random.default_rng(0)
    posts = []
    for d in range(12):
        shift = 0.8 if d % 3 == 0 else 0.0  # chains apart: r_hat well above 1.01
        posts.append(
            {
                "mu": rng.normal(size=(2, 200)) + np.array([[0.0], [shift]]),
                "z": rng.normal(size=(2, 200, 3)),
            }
        )
    posts[4] = None
    stats = [
        None if p is None else {"diverging": np.array([[d == 5]])}
        for d, p in enumerate(posts)
    ]
    found = _convergence(["mu", "z"], posts, stats)

    def high(p):
        return any(np.any(np.nan_to_num(np.asarray(rhat(p[n]))) > RHAT_MAX) for n in p)

    assert found["rhat"] == [
        d for d, p in enumerate(posts) if p is not None and high(p)
    ]
    assert {0, 3, 6, 9} <= set(found["rhat"])
    assert found["divergences"] == [5]
