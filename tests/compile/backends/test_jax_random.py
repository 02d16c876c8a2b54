"""The JAX backend's random variables and distributions against NumPy's.

Draws are compared in distribution (two-sample Kolmogorov-Smirnov tests on
fixed seeds; the samplers of multivariate and composite distributions are in
tests/ppl/jax/test_jax_samplers.py). Log-densities and log-CDFs of every
distribution (the case tables of tests/ppl/distributions, and a table here
for the others) are compared value by value.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tessera as ts  # noqa: E402
import tessera.random as tr  # noqa: E402
from tessera.compile.backends.jax import JaxLoweringError  # noqa: E402
from tessera.testing import compare_backends  # noqa: E402

# --- random variables ---------------------------------------------------------------


class _NormalRV(tr.RandomVariable):
    name, signature, dtype = "normal_test", "(),()->()", "floatX"

    def rng_fn(self, rng, mu, sigma, size):
        return rng.normal(mu, sigma, size=size)


@pytest.fixture(scope="module")
def normal_rv():
    from tessera.compile.backends.jax import jax_sample

    @jax_sample.register(_NormalRV)
    def _(op, node):
        def sample(key, mu, sigma, size):
            return mu + sigma * jax.random.normal(key, size)

        return sample

    return _NormalRV()


def test_random_variables(normal_rv):
    g = tr.rng(123)
    mu = ts.tensor("mu", shape=(None,))
    x = normal_rv(mu, 2.0, size=(500, 3), rng=g)
    y = normal_rv(x.mean(axis=0), 1e-3, rng=x.owner.outputs[0])  # a chain of draws
    f = ts.function([mu], [x, y], updates=tr.rng_updates(y), backend="jax")
    a, ya = f(np.array([0.0, 10.0, -10.0]))
    b, _ = f(np.array([0.0, 10.0, -10.0]))
    assert a.shape == (500, 3) and a.dtype == np.float64
    np.testing.assert_allclose(np.mean(a, axis=0), [0.0, 10.0, -10.0], atol=0.4)
    np.testing.assert_allclose(np.std(a, axis=0), 2.0, rtol=0.15)
    np.testing.assert_allclose(ya, np.mean(a, axis=0), atol=0.01)
    assert not np.allclose(a, b)  # the generator advanced
    assert isinstance(g.get_value(), np.random.Generator)
    # reproducible from the seed
    g.set_value(123)
    c, _ = f(np.array([0.0, 10.0, -10.0]))
    np.testing.assert_array_equal(a, c)
    # without updates every call repeats the same draw
    h = ts.function([mu], x, backend="jax")
    np.testing.assert_array_equal(h(np.zeros(3)), h(np.zeros(3)))


def test_random_variable_without_sampler():
    class _Other(tr.RandomVariable):
        name, signature, dtype = "other", "()->()", "floatX"

    x = _Other()(1.0, rng=tr.rng(0))
    with pytest.raises(JaxLoweringError, match="random variable"):
        ts.function([], x, backend="jax")


# --- distributions ----------------------------------------------------------------


def _distribution_cases():
    """The case tables of tests/ppl/distributions: DistCase and MvCase lists."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "ppl" / "distributions"
    cases = []
    sys.path.insert(0, str(folder))  # the test modules import their helpers
    try:
        for path in sorted(folder.glob("test_*.py")):
            spec = importlib.util.spec_from_file_location(f"_jax_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for value in vars(module).values():
                if (
                    isinstance(value, list)
                    and value
                    and type(value[0]).__name__
                    in (
                        "DistCase",
                        "MvCase",
                    )
                ):
                    cases += value
    finally:
        sys.path.remove(str(folder))
    return cases


def _case_inputs(case, rng):
    """``(param arrays, fixed kwargs, value, whether it has a logcdf)``."""
    from tessera import ppl
    from tessera.ppl.testing import _ref_values, batch_of, sample_params

    if type(case).__name__ == "DistCase":
        pvals = sample_params(case, "broadcast", rng)
        value = _ref_values(case, pvals, rng, batch_of(case, pvals))
        return pvals, {}, value, case.logcdf
    params, full = case.make(rng, "broadcast")
    if case.value is not None:
        value = case.value(rng, full, params)
    else:
        rv = case.dist.dist(**params, **case.kwargs)
        value = ppl.draw(rv, random_seed=int(rng.integers(2**31)))
    value = np.asarray(value)
    return params, case.kwargs, value, False


N_PROGRAMS = 6


@pytest.mark.slow
@pytest.mark.background  # compiles dozens of programs: in a subprocess
def test_every_distribution_logp_and_logcdf(rng):
    from tessera.ppl import logcdf, logp

    cases = _distribution_cases()
    assert len(cases) >= 20
    arrays, spans = [], []
    for case in cases:
        pvals, kwargs, x, has_cdf = _case_inputs(case, rng)
        pvals = {k: np.asarray(v) for k, v in pvals.items()}
        spans.append((case, list(pvals), kwargs, len(arrays), has_cdf))
        arrays += [*pvals.values(), x]

    def rv(span, xs):
        case, names, kwargs, s, _ = span
        return case.dist.dist(**dict(zip(names, xs[s:])), **kwargs)

    def value(span, xs):
        return xs[span[3] + len(span[1])]

    def densities(group):
        def build(*xs):
            out = {}
            for sp in group:
                out[f"logp {sp[0].id}"] = logp(rv(sp, xs), value(sp, xs))
                if sp[4]:
                    out[f"logcdf {sp[0].id}"] = logcdf(rv(sp, xs), value(sp, xs))
            return out

        return build

    # forward values of every log-density and log-CDF (the discrete ones
    # that sum their mass included); the elementwise and linalg tests compare
    # the gradients of the ops these graphs use. In a few programs: XLA's
    # memory while compiling all of them as one was the test suite's peak
    # (0.7 GB) (#23 item 9)
    outs = []
    for k in range(N_PROGRAMS):
        group = spans[k::N_PROGRAMS]
        outs += compare_backends(
            densities(group), arrays, grad=False, rtol=1e-8, atol=1e-10
        )
        _drop_compiled_programs()
    assert len(outs) >= len(cases) + 15


def _drop_compiled_programs() -> None:
    """Free the JAX programs compiled so far (JAX keeps every one): a test
    compiling several large ones then peaks at the largest, not their sum."""
    import gc

    import jax

    jax.clear_caches()
    gc.collect()


# Distributions outside the case tables of tests/ppl/distributions (or with
# parameters those tables do not vary): name -> (function of the symbolic
# inputs giving logp and, for univariate ones, logcdf; input arrays).
_LV = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.3, 0.2, 0.7]])
_W3 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
_CORR = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.0]])


def _densities(rv, x, cdf=True):
    from tessera.ppl import logcdf, logp

    out = {"logp": logp(rv, x)}
    if cdf:
        out["logcdf"] = logcdf(rv, x)
    return out


def _truncated(base, lo, hi):
    from tessera import ppl

    return ppl.Truncated.dist(base, lo, hi)


def _extra_cases():
    from tessera import ppl

    mv = dict(cdf=False)
    return {
        "Flat": (
            lambda x: _densities(ppl.Flat.dist(size=3), x),
            [np.array([-1.0, 0.0, np.inf])],
        ),
        "HalfFlat": (
            lambda x: _densities(ppl.HalfFlat.dist(size=3), x),
            [np.array([-1.0, 0.5, np.inf])],
        ),
        "CAR": (
            lambda mu, a, t, x: _densities(ppl.CAR.dist(mu, _W3, a, t), x, **mv),
            [
                np.array([0.5, 0.0, -0.5]),
                np.array(0.3),
                np.array([1.5, 2.0]),
                np.array([0.3, -1.2, 0.8]),
            ],
        ),
        "ICAR": (
            lambda s, x: _densities(ppl.ICAR.dist(W=_W3, sigma=s), x, **mv),
            [np.array([1.5, 0.7]), np.array([0.5, -0.2, -0.3])],
        ),
        "InverseWishart": (
            lambda nu, x: _densities(
                ppl.InverseWishart.dist(nu=nu, V=_LV @ _LV.T), x, **mv
            ),
            [np.array([4.0, 6.5]), _LV @ _LV.T + np.eye(3)],
        ),
        "LKJCholeskyCov": (
            lambda eta, s, x: _densities(
                ppl.LKJCholeskyCov.dist(
                    n=3, eta=eta, sd_dist=ppl.HalfNormal.dist(s, size=3)
                ),
                x,
                **mv,
            ),
            [np.array([0.7, 2.0]), np.array(1.5), np.linalg.cholesky(_CORR) * 1.3],
        ),
        "KroneckerNormal": (
            lambda s, x: _densities(
                ppl.KroneckerNormal.dist(
                    mu=0.5, covs=[_LV[:2, :2] @ _LV[:2, :2].T, _LV @ _LV.T], sigma=s
                ),
                x,
                **mv,
            ),
            [np.array([0.3, 1.0]), np.linspace(-1.0, 1.0, 6)],
        ),
        "KroneckerNormal (chols)": (
            lambda x: _densities(
                ppl.KroneckerNormal.dist(mu=0.0, chols=[_LV[:2, :2], _LV]), x, **mv
            ),
            [np.linspace(-1.0, 1.0, 6)],
        ),
        "LKJCorr": (
            lambda eta, x: _densities(ppl.LKJCorr.dist(n=3, eta=eta), x, **mv),
            [np.array([0.7, 2.0]), _CORR],
        ),
        "LKJCholesky": (
            lambda eta, x: _densities(ppl.LKJCholesky.dist(n=3, eta=eta), x, **mv),
            [np.array([0.7, 2.0]), np.linalg.cholesky(_CORR)],
        ),
        "Mixture": (
            lambda w, mu, x: _densities(
                ppl.Mixture.dist(
                    w, [ppl.Normal.dist(mu, 1.0), ppl.StudentT.dist(3.0, 0.0, 2.0)]
                ),
                x,
                **mv,
            ),
            [np.array([0.3, 0.7]), np.array([-1.0, 1.0]), np.array([0.2, 3.0])],
        ),
        "Mixture (stacked)": (
            lambda w, mu, x: _densities(
                ppl.Mixture.dist(w, ppl.Poisson.dist(mu)), x, **mv
            ),
            [np.array([0.3, 0.7]), np.array([1.0, 6.0]), np.array([0, 4, 9])],
        ),
        "MvGaussianRandomWalk": (
            lambda mu, x: _densities(
                ppl.MvGaussianRandomWalk.dist(
                    mu=mu, chol=_LV, init_dist=ppl.Normal.dist(0.0, 2.0), steps=3
                ),
                x,
                **mv,
            ),
            [np.array([0.1, 0.0, -0.2]), np.linspace(-1.0, 1.0, 12).reshape(4, 3)],
        ),
        "Truncated Normal": (
            lambda lo, hi, x: _densities(
                _truncated(ppl.Normal.dist(0.5, 1.5), lo, hi), x
            ),
            [np.array([-1.0, 0.0]), np.array(2.0), np.array([[-0.5], [1.0], [3.0]])],
        ),
        "Truncated Poisson": (
            lambda mu, x: _densities(_truncated(ppl.Poisson.dist(mu), 1, 8), x),
            [np.array([2.0, 5.0]), np.array([[0], [3], [9]])],
        ),
        "Truncated BetaBinomial": (
            lambda a, x: _densities(
                _truncated(ppl.BetaBinomial.dist(a, 3.0, 20), 2, 15), x
            ),
            [np.array([1.5, 4.0]), np.array([[1], [5], [15]])],
        ),
        "Censored Normal": (
            lambda lo, x: _densities(
                ppl.Censored.dist(ppl.Normal.dist(0.5, 1.5), lower=lo, upper=2.0), x
            ),
            [np.array([-1.0, 0.0]), np.array([[-1.0], [0.3], [2.0]])],
        ),
        "Censored Poisson": (
            lambda mu, x: _densities(
                ppl.Censored.dist(ppl.Poisson.dist(mu), lower=1, upper=6), x
            ),
            [np.array([2.0, 5.0]), np.array([[1], [3], [6]])],
        ),
        "NormalMixture": (
            lambda w, s, x: _densities(
                ppl.NormalMixture.dist(w=w, mu=np.array([-1.0, 2.0]), sigma=s), x
            ),
            [np.array([0.3, 0.7]), np.array([0.5, 1.5]), np.array([-0.5, 0.4, 3.0])],
        ),
        "CustomDist": (
            # a log-density written as a tessera graph lowers like any other
            lambda mu, x: _densities(
                ppl.CustomDist.dist(
                    mu, logp=lambda v, m: -0.5 * (v - m) ** 2 - 0.5 * np.log(2 * np.pi)
                ),
                x,
                cdf=False,
            ),
            [np.array([0.0, 1.0]), np.array([[-0.3], [2.0]])],
        ),
        "HyperGeometric (large)": (
            lambda x: _densities(ppl.HyperGeometric.dist(5000, 2000, 700), x),
            [np.array([100, 280, 300, 700])],
        ),
        "ZeroSumNormal": (
            lambda s, x: _densities(
                ppl.ZeroSumNormal.dist(sigma=s, shape=(2, 3)), x, **mv
            ),
            [np.array(1.5), np.array([[0.5, -0.2, -0.3], [1.0, -1.0, 0.0]])],
        ),
    }


@pytest.mark.background  # compiles dozens of programs: in a subprocess
def test_every_other_distribution_logp_and_logcdf():
    cases = _extra_cases()
    arrays, spans = [], {}
    for name, (fn, xs) in cases.items():
        spans[name] = (fn, len(arrays), len(xs))
        arrays += xs

    def densities(group):
        def build(*xs):
            out = {}
            for name in group:
                fn, start, n = spans[name]
                for kind, v in fn(*xs[start : start + n]).items():
                    out[f"{kind} {name}"] = v
            return out

        return build

    # in a few programs, each freed before the next (+212 MB as one)
    outs = []
    names = list(spans)
    for k in range(N_PROGRAMS):
        outs += compare_backends(
            densities(names[k::N_PROGRAMS]), arrays, grad=False, rtol=1e-8, atol=1e-10
        )
        _drop_compiled_programs()
    assert len(outs) == sum(
        len(fn(*map(ts.as_tensor, xs))) for fn, xs in cases.values()
    )


def test_every_distribution_is_compared():
    from tessera import ppl
    from tessera.ppl.distributions import Distribution

    names = {
        n
        for n in ppl.distributions.__all__
        if isinstance(getattr(ppl, n), type)
        and issubclass(getattr(ppl, n), Distribution)
        and getattr(ppl, n).__module__ != "tessera.ppl.distributions.base"
    }
    compared = {c.dist.__name__ for c in _distribution_cases()}
    compared |= {name.split(" ")[0] for name in _extra_cases()}
    assert names - compared == set()


@pytest.mark.parametrize("term", ["logcdf", "truncated logp"])
def test_summed_logcdf_gradients(term):
    # the chunked JAX loop of the summed log-CDFs against NumPy's single sum,
    # values and gradients (of the truncated log-density, through the CDF);
    # one program per term: XLA's compile of both in one (24 lgamma/digamma
    # expansions in two while loops) peaked at ~450 MB, the suite's peak
    from tessera import ppl

    def fn(a, b, x):
        bb = ppl.BetaBinomial.dist(a, b, 150)
        if term == "logcdf":
            return {term: ppl.logcdf(bb, x)}
        return {term: ppl.logp(ppl.Truncated.dist(bb, 3, 120), x)}

    x = np.array([3, 70, 100, 119])
    compare_backends(fn, [np.array(2.0), np.array([[1.5], [3.0]]), x], wrt=[0, 1])


_L3 = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.3, 0.2, 0.7]])
SAMPLER_CASES = {
    "Normal": dict(mu=np.array([1.0, -2.0]), sigma=2.0, _batch=(2,)),
    "StudentT": dict(nu=4.0, mu=1.0, sigma=2.0),
    "Cauchy": dict(alpha=1.0, beta=2.0),
    "Laplace": dict(mu=1.0, b=2.0),
    "AsymmetricLaplace": dict(b=1.5, kappa=0.7, mu=0.5),
    "Logistic": dict(mu=1.0, s=2.0),
    "Gumbel": dict(mu=1.0, beta=2.0),
    "SkewNormal": dict(mu=1.0, sigma=2.0, alpha=3.0),
    "ExGaussian": dict(mu=1.0, sigma=0.5, nu=2.0),
    "HalfNormal": dict(sigma=2.0),
    "HalfStudentT": dict(nu=3.0, sigma=2.0),
    "HalfCauchy": dict(beta=2.0),
    "LogNormal": dict(mu=0.5, sigma=0.5),
    "Exponential": dict(lam=2.0),
    "Gamma": dict(alpha=2.0, beta=3.0),
    "InverseGamma": dict(alpha=3.0, beta=2.0),
    "Weibull": dict(alpha=1.5, beta=2.0),
    "ChiSquared": dict(nu=3.0),
    "Pareto": dict(alpha=3.0, m=2.0),
    "Wald": dict(mu=1.5, lam=2.0, alpha=0.5),
    "Beta": dict(alpha=2.0, beta=3.0),
    "Kumaraswamy": dict(a=2.0, b=3.0),
    "Uniform": dict(lower=-1.0, upper=2.0),
    "TruncatedNormal": dict(mu=0.0, sigma=1.0, lower=-0.5, upper=2.0),
    "Bernoulli": dict(p=0.3),
    "Binomial": dict(n=10, p=0.3),
    "BetaBinomial": dict(alpha=2.0, beta=3.0, n=10),
    "Poisson": dict(mu=3.0),
    "NegativeBinomial": dict(n=3.0, p=0.4),
    "Geometric": dict(p=0.3),
    "DiscreteUniform": dict(lower=-2, upper=5),
    "Categorical": dict(p=np.array([0.2, 0.5, 0.3])),
    "ZeroInflatedPoisson": dict(psi=0.7, mu=3.0),
    "ZeroInflatedBinomial": dict(psi=0.7, n=10, p=0.3),
    "ZeroInflatedNegativeBinomial": dict(psi=0.7, mu=3.0, alpha=2.0),
    "Dirichlet": dict(a=np.array([1.0, 2.0, 3.0])),
    "MvNormal": dict(mu=np.array([1.0, -1.0, 0.0]), chol=_L3),
    "MvStudentT": dict(nu=5.0, mu=np.array([1.0, -1.0, 0.0]), chol=_L3),
    "LowRankMvNormal": dict(
        mu=np.array([1.0, -1.0, 0.0]),
        cov_factor=np.full((3, 2), 0.5),
        cov_diag=np.array([1.0, 0.5, 2.0]),
    ),
    "MatrixNormal": dict(mu=np.zeros((2, 3)), rowchol=_L3[:2, :2], colchol=_L3),
}


@pytest.mark.background  # compiles dozens of programs: in a subprocess
def test_distribution_samplers_match_numpy_in_distribution():
    from scipy.stats import ks_2samp

    from tessera import ppl

    n = 2000
    draws = {}
    for backend in ("numpy", "jax"):
        rvs = []
        for k, (name, kw) in enumerate(SAMPLER_CASES.items()):
            kw = dict(kw)
            size = (n, *kw.pop("_batch", ()))  # parameters batched: (n, 2)
            rvs.append(getattr(ppl, name).dist(**kw, size=size, rng=tr.rng(k)))
        # size=None: the batch shape comes from the parameters
        rvs.append(ppl.Normal.dist(np.zeros(n), 1.0, rng=tr.rng(99)))
        draws[backend] = ts.function([], rvs, backend=backend)()
    names = [*SAMPLER_CASES, "Normal (size=None)"]
    for name, a, b in zip(names, draws["numpy"], draws["jax"]):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        a, b = a.reshape(n, -1), b.reshape(n, -1)
        w = np.arange(1.0, a.shape[1] + 1)  # a projection sees correlations
        cols = [(a[:, j], b[:, j]) for j in range(a.shape[1])] + [(a @ w, b @ w)]
        p = min(ks_2samp(x, y).pvalue for x, y in cols)
        assert p > 1e-3, f"{name}: JAX draws differ in distribution (KS p={p:.2g})"
