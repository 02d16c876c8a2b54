"""JAX samplers of the multivariate, composite and rejection-sampled
distributions (tessera.ppl.jax) against the NumPy samplers.

Every case draws ``N`` values on both backends and compares them in
distribution: two-sample Kolmogorov-Smirnov tests of each coordinate of the
draw and of a fixed projection (which sees correlations), on fixed seeds. A
real difference in distribution gives p-values far below the threshold at
this sample size. Each case compiles its own pair of functions, once, when a
test first asks for its draws, so a subset selected with ``-k`` compiles only
what it needs; compiling the whole table is slow (the tests are marked).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tessera as ts  # noqa: E402
import tessera.random as tr  # noqa: E402
from tessera import ppl  # noqa: E402
from tessera.compile.backends.jax import JaxLoweringError  # noqa: E402

N = 2000
_L3 = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [-0.3, 0.2, 0.7]])
_V3 = _L3 @ _L3.T
_W3 = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
_W4 = np.array(  # two connected components: {0, 1}, {2, 3}
    [[0.0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 2, 0]]
)


class _LaplaceRV(tr.RandomVariable):
    """A random variable without a distribution (so without a log-CDF)."""

    name, signature, dtype = "laplace_test", "(),()->()", "floatX"

    def rng_fn(self, rng, mu, b, size):
        return rng.laplace(mu, b, size=size)


@pytest.fixture(scope="module", autouse=True)
def _laplace_sampler():
    from tessera.compile.backends.jax import jax_sample

    @jax_sample.register(_LaplaceRV)
    def _(op, node):
        def sample(key, mu, b, size):
            return mu + b * jax.random.laplace(key, size)

        return sample


# name -> builder of the draw (size (N, ...)) from a generator
CASES = {
    "VonMises": lambda g: ppl.VonMises.dist(
        mu=[0.5, 3.0, -1.0, 0.0], kappa=[0.5, 4.0, 1e-9, 1e7], size=(N, 4), rng=g
    ),
    "HyperGeometric": lambda g: ppl.HyperGeometric.dist(
        [20, 200, 10**6], [7, 150, 3 * 10**5], [12, 80, 5 * 10**5], size=(N, 3), rng=g
    ),
    "OrderedLogistic": lambda g: ppl.OrderedLogistic.dist(
        eta=[0.0, 2.0], cutpoints=[[-1.0, 1.0]], size=(N, 2), rng=g
    ),
    "OrderedProbit": lambda g: ppl.OrderedProbit.dist(
        eta=0.5, cutpoints=[[-1.0, 1.0], [0.0, 2.0]], sigma=1.5, size=(N, 2), rng=g
    ),
    "Wishart": lambda g: ppl.Wishart.dist(
        nu=np.array([3.5, 6.0]), V=_V3, size=(N, 2), rng=g
    ),
    "InverseWishart": lambda g: ppl.InverseWishart.dist(
        nu=7.0, chol=_L3, size=(N,), rng=g
    ),
    "KroneckerNormal": lambda g: ppl.KroneckerNormal.dist(
        mu=np.arange(6.0), covs=[_V3[:2, :2], _V3], sigma=0.3, size=(N,), rng=g
    ),
    "Multinomial": lambda g: ppl.Multinomial.dist(
        n=np.array([5, 40]), p=[0.2, 0.3, 0.5], size=(N, 2), rng=g
    ),
    "DirichletMultinomial": lambda g: ppl.DirichletMultinomial.dist(
        n=10, a=[1.0, 2.0, 0.5], size=(N,), rng=g
    ),
    "StickBreakingWeights": lambda g: ppl.StickBreakingWeights.dist(
        alpha=[0.5, 3.0], K=4, size=(N, 2), rng=g
    ),
    "LKJCorr": lambda g: ppl.LKJCorr.dist(n=3, eta=[1.0, 4.0], size=(N, 2), rng=g),
    "LKJCholesky": lambda g: ppl.LKJCholesky.dist(n=4, eta=0.7, size=(N,), rng=g),
    "LKJCholeskyCov": lambda g: ppl.LKJCholeskyCov.dist(
        n=3, eta=2.0, sd_dist=ppl.Gamma.dist(2.0, [1.0, 2.0, 4.0]), size=(N,), rng=g
    ),
    "CAR": lambda g: ppl.CAR.dist(
        mu=[1.0, 0.0, -1.0], W=_W3, alpha=0.6, tau=2.0, size=(N,), rng=g
    ),
    "ICAR": lambda g: ppl.ICAR.dist(W=_W4, sigma=1.5, size=(N,), rng=g),
    "ZeroSumNormal": lambda g: ppl.ZeroSumNormal.dist(
        sigma=2.0, n_zerosum_axes=2, shape=(N, 3, 4), rng=g
    ),
    "MvGaussianRandomWalk": lambda g: ppl.MvGaussianRandomWalk.dist(
        mu=[0.5, 0.0],
        chol=_L3[:2, :2],
        init_dist=ppl.Normal.dist([0.0, 5.0], 1.0),
        steps=3,
        size=(N,),
        rng=g,
    ),
    "MvStudentTRandomWalk": lambda g: ppl.MvStudentTRandomWalk.dist(
        nu=[3.0, 10.0],
        mu=[0.5, 0.0],
        chol=_L3[:2, :2],
        init_dist=ppl.MvNormal.dist([1.0, -1.0], chol=_L3[:2, :2]),
        steps=3,
        size=(N, 2),
        rng=g,
    ),
    "GaussianRandomWalk": lambda g: ppl.GaussianRandomWalk.dist(
        mu=[0.5, -1.0],
        sigma=[[1.0], [0.3]],
        init_dist=ppl.Normal.dist(2.0, 0.5),
        steps=4,
        size=(N, 2, 2),
        rng=g,
    ),
    "RandomWalk": lambda g: ppl.RandomWalk.dist(
        ppl.Exponential.dist(1.0),
        ppl.StudentT.dist(nu=[3.0, 30.0], mu=0.2, sigma=0.5),
        steps=4,
        size=(N, 2),
        rng=g,
    ),
    "AR": lambda g: ppl.AR.dist(
        rho=[[1.0, 0.5, -0.3], [0.0, 0.9, 0.0]],
        sigma=[0.5, 1.0],
        constant=True,
        init_dist=ppl.Normal.dist(0.0, [[1.0], [2.0]]),
        steps=4,
        size=(N, 2),
        rng=g,
    ),
    "GARCH11": lambda g: ppl.GARCH11.dist(
        omega=[0.1, 0.5],
        alpha_1=0.3,
        beta_1=0.5,
        initial_vol=1.0,
        steps=4,
        size=(N, 2),
        rng=g,
    ),
    "EulerMaruyama": lambda g: ppl.EulerMaruyama.dist(
        0.2,
        lambda x, k: (-k * x, 0.5 + 0.2 * x * x),
        ([1.0, 3.0],),
        init_dist=ppl.Normal.dist(1.0, 0.5),
        steps=4,
        size=(N, 2),
        rng=g,
    ),
    "Mixture": lambda g: ppl.Mixture.dist(
        [[0.3, 0.7], [0.6, 0.4]],
        [ppl.Normal.dist(-1.0, 1.0), ppl.StudentT.dist(3.0, 2.0, 0.5)],
        size=(N, 2),
        rng=g,
    ),
    "Mixture (stacked)": lambda g: ppl.Mixture.dist(
        [0.2, 0.8], ppl.Poisson.dist(mu=[1.0, 8.0]), size=(N,), rng=g
    ),
    "Truncated Normal": lambda g: ppl.Truncated.dist(
        ppl.Normal.dist([0.0, 1.0], 1.5),
        lower=-1.0,
        upper=[2.0, np.inf],
        size=(N, 2),
        rng=g,
    ),
    "Truncated Normal (deep tail)": lambda g: ppl.Truncated.dist(
        ppl.Normal.dist(0.0, 1.0), lower=5.0, upper=6.0, size=(N,), rng=g
    ),
    "Truncated Gamma": lambda g: ppl.Truncated.dist(
        ppl.Gamma.dist(2.0, 1.0), lower=3.0, size=(N,), rng=g
    ),
    "Truncated Poisson": lambda g: ppl.Truncated.dist(
        ppl.Poisson.dist(3.0), lower=2, upper=[6, 100], size=(N, 2), rng=g
    ),
    "Truncated BetaBinomial": lambda g: ppl.Truncated.dist(
        ppl.BetaBinomial.dist(2.0, 3.0, 30), lower=4, upper=20, size=(N,), rng=g
    ),
    # size=None: the batch comes from the parameters
    "Wishart (size=None)": lambda g: ppl.Wishart.dist(
        nu=np.full(N, 4.5), chol=_L3, rng=g
    ),
    "Mixture (size=None)": lambda g: ppl.Mixture.dist(
        np.tile([0.4, 0.6], (N, 1)),
        [ppl.Gamma.dist(2.0, 1.0), ppl.Exponential.dist(0.2)],
        rng=g,
    ),
    "Truncated (size=None)": lambda g: ppl.Truncated.dist(
        ppl.Gamma.dist(np.full(N, 3.0), 1.0), lower=1.0, upper=4.0, rng=g
    ),
    "Truncated (rejection)": lambda g: ppl.Truncated.dist(
        _LaplaceRV()(0.0, 1.0), lower=-0.5, upper=[1.0, 3.0], size=(N, 2), rng=g
    ),
    "NormalMixture": lambda g: ppl.NormalMixture.dist(
        [0.3, 0.7], [[-1.0, 2.0], [0.0, 0.5]], sigma=[1.0, 0.5], size=(N, 2), rng=g
    ),
    "Censored Normal": lambda g: ppl.Censored.dist(
        ppl.Normal.dist([0.0, 1.0], 1.5),
        lower=-1.0,
        upper=[1.0, 2.0],
        size=(N, 2),
        rng=g,
    ),
    "Censored Poisson": lambda g: ppl.Censored.dist(
        ppl.Poisson.dist(4.0), lower=2, upper=None, size=(N,), rng=g
    ),
}


_SEEDS = {name: k for k, name in enumerate(CASES)}


@functools.cache
def _case_draws(name: str) -> dict[str, np.ndarray]:
    # each case's generator is seeded by its position in the table: the same
    # draws as when the whole table was compiled into one function
    return {
        backend: np.asarray(
            ts.function([], CASES[name](tr.rng(_SEEDS[name])), backend=backend)()
        )
        for backend in ("numpy", "jax")
    }


@pytest.fixture
def draws():
    """``draws[backend][name]``: the case's draws, compiled on first use."""

    class _Draws:
        def __init__(self, backend: str):
            self.backend = backend

        def __getitem__(self, name: str) -> np.ndarray:
            return _case_draws(name)[self.backend]

    return {"numpy": _Draws("numpy"), "jax": _Draws("jax")}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_sampler_matches_numpy_in_distribution(name, draws):
    from scipy.stats import ks_2samp

    a, b = np.asarray(draws["numpy"][name]), np.asarray(draws["jax"][name])
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.all(np.isfinite(b))
    a, b = a.reshape(N, -1), b.reshape(N, -1)
    w = np.cos(np.arange(a.shape[1]))  # a projection sees correlations
    cols = [(a[:, j], b[:, j]) for j in range(a.shape[1])] + [(a @ w, b @ w)]
    p = min(ks_2samp(x, y).pvalue for x, y in cols)
    assert p > 1e-4, f"{name}: JAX draws differ in distribution (KS p={p:.2g})"


# exact properties of every draw: name -> check of the JAX draws
INVARIANTS = {
    "Multinomial": lambda x: np.all(x.sum(-1) == [5, 40]) and np.all(x >= 0),
    "DirichletMultinomial": lambda x: np.all(x.sum(-1) == 10),
    "StickBreakingWeights": lambda x: np.allclose(x.sum(-1), 1.0) and np.all(x >= 0),
    "LKJCorr": lambda x: (
        np.all(np.diagonal(x, 0, -2, -1) == 1.0) and np.all(np.linalg.eigvalsh(x) > 0)
    ),
    "LKJCholesky": lambda x: (
        np.allclose((x**2).sum(-1), 1.0) and np.all(np.triu(x, 1) == 0)
    ),
    "ZeroSumNormal": lambda x: (
        np.allclose(x.sum(-1), 0, atol=1e-12) and np.allclose(x.sum(-2), 0, atol=1e-12)
    ),
    "ICAR": lambda x: (
        np.allclose(x[:, :2].sum(-1), 0, atol=1e-12)
        and np.allclose(x[:, 2:].sum(-1), 0, atol=1e-12)
    ),
    "VonMises": lambda x: np.all(np.abs(x) <= np.pi),
    "HyperGeometric": lambda x: np.all(x[:, 0] <= 7) and np.all(x >= 0),
    "Truncated Normal (deep tail)": lambda x: np.all((x >= 5) & (x <= 6)),
    "Truncated Poisson": lambda x: np.all((x >= 2) & (x <= [6, 100])),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(INVARIANTS))
def test_draws_keep_the_support(name, draws):
    assert INVARIANTS[name](np.asarray(draws["jax"][name]))


# means against their closed forms, where the NumPy reference is itself a
# transformation that could share a mistake with the JAX one
MEANS = {
    "Wishart": np.array([3.5, 6.0])[:, None, None] * _V3,
    "InverseWishart": _V3 / (7.0 - 3 - 1),
    # scipy.stats: truncnorm(5, 6).mean(), gamma(2) conditional on x > 3
    "Truncated Normal (deep tail)": 5.183147,
    "Truncated Gamma": 4.25,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MEANS))
def test_means(name, draws):
    x = np.asarray(draws["jax"][name])
    se = x.std(axis=0) / np.sqrt(N)  # within 4 standard errors
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - MEANS[name]), 4 * se + 1e-9)


def test_float32_draws():
    from tessera.config import config

    old = config.floatX
    config.floatX = "float32"
    try:
        rvs = [
            ppl.VonMises.dist(1.0, 2.0, size=(N,), rng=tr.rng(0)),
            ppl.LKJCholesky.dist(3, 2.0, size=(N,), rng=tr.rng(1)),
            ppl.Truncated.dist(
                ppl.Normal.dist(0.0, 1.0),
                lower=1.0,
                upper=3.0,
                size=(N,),
                rng=tr.rng(2),
            ),
        ]
        out = ts.function([], rvs, backend="jax")()
    finally:
        config.floatX = old
    assert all(np.asarray(x).dtype == np.float32 for x in out)
    assert np.all((out[2] >= 1.0) & (out[2] <= 3.0))
    np.testing.assert_allclose(np.mean(out[2]), 1.51005, atol=0.05)  # truncnorm(1, 3)


def test_improper_distributions_have_no_draws():
    with pytest.raises(JaxLoweringError, match="improper"):
        ts.function([], ppl.Flat.dist(size=(2,)), backend="jax")


def test_truncated_rejection_reports_empty_intervals():
    x = ppl.Truncated.dist(_LaplaceRV()(0.0, 1.0), lower=50.0, upper=51.0)
    f = ts.function([], x, backend="jax")
    with pytest.raises(RuntimeError, match="rejection sampling did not finish"):
        f()


def test_run_time_checks_after_a_truncated_draw():
    # the truncated sampler traces the base log-CDF as an inner graph; the
    # outer graph's run-time checks recorded after it must survive
    sigma = ts.scalar("sigma")
    x = ppl.Truncated.dist(ppl.Normal.dist(0.0, 1.0), lower=0.0, rng=tr.rng(0))
    lp = ppl.logp(ppl.Normal.dist(0.0, sigma), x, check="raise")
    f = ts.function([sigma], [x, lp], backend="jax")
    draw, value = f(2.0)
    assert draw >= 0 and np.isfinite(value)
    with pytest.raises(ppl.ParameterValueError, match="sigma > 0"):
        f(-1.0)


def test_every_distribution_has_a_draw_case():
    # the draw tables here and in tests/compile/backends/test_jax_random.py
    # cover every distribution (the improper ones raise, above)
    import importlib.util
    from pathlib import Path

    from tessera.ppl.distributions import Distribution

    path = Path(__file__).resolve().parents[2] / "compile/backends/test_jax_random.py"
    spec = importlib.util.spec_from_file_location("_jax_random_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = {
        n
        for n in ppl.distributions.__all__
        if isinstance(getattr(ppl, n), type)
        and issubclass(getattr(ppl, n), Distribution)
        and getattr(ppl, n).__module__ != "tessera.ppl.distributions.base"
    }
    drawn = {name.split(" ")[0] for name in [*CASES, *module.SAMPLER_CASES]}
    # CustomDist draws with the user's NumPy function: no JAX sampler (the
    # backend choice falls back, tests/ppl/distributions/test_custom.py)
    assert names - drawn - {"Flat", "HalfFlat", "CustomDist"} == set()
