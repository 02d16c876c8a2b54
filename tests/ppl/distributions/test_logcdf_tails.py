"""Every univariate log-CDF against mpmath, deep into both tails (issue #23).

Each entry gives the distribution with fixed parameters, mpmath's CDF and
survival function (each written so that it does not cancel), and a grid of
values whose lower-tail probability reaches about 1e-300 where the support
allows. The reference log-CDF is ``log(cdf)`` below the median and
``log1p(-sf)`` above it. The tolerance is relative 1e-8 unless a comment
states the accuracy measured for that entry.
"""

from __future__ import annotations

import numpy as np
import pytest

import tessera as ts
from tessera import ppl

mp = pytest.importorskip("mpmath")
M = mp.mpf
DPS = 60


@pytest.fixture(autouse=True)
def _drop_quadrature_nodes():
    """mpmath keeps the nodes of every quadrature it ran (per degree and
    precision) for the life of the process: 30-40 MB after the VonMises
    and SkewNormal references, dropped after each test (#23 item 9)."""
    yield
    mp.mp._tanh_sinh.clear()
    mp.mp._gauss_legendre.clear()


def _ncdf(z):
    return mp.ncdf(z)


def _betainc(a, b, x0, x1):
    return mp.betainc(a, b, x0, x1, regularized=True)


def _gammainc(a, x0, x1):
    return mp.gammainc(a, x0, x1, regularized=True)


def _quad(f, a, b, n=40):
    return mp.quad(f, mp.linspace(a, b, n))


def _skewnorm_lower(z, a):
    """``F(z; a) = 2 int_{-inf}^z phi(t) Phi(a t) dt`` with breakpoints on
    the scale of the integrand's decay below ``z``."""
    z, a = M(z), M(a)
    c = abs(z) + abs(a) * (abs(a * z) + 1) + 1
    pts = [z - M(k) / c for k in (0, 0.25, 1, 3, 10, 30, 100)] + [-mp.inf]
    return 2 * mp.quad(lambda t: mp.npdf(t) * mp.ncdf(a * t), pts[::-1])


def _vonmises_cdf(x, mu, kappa):
    """Mass of the von Mises angle (centred at ``mu``) on ``[-pi, x]``."""
    x, kappa, mu = M(x), M(kappa), M(mu)
    norm = 2 * mp.pi * mp.besseli(0, kappa) * mp.exp(-kappa)

    def f(t):
        return mp.exp(kappa * (mp.cos(t - mu) - 1))

    return _quad(f, -mp.pi, x) / norm, _quad(f, x, mp.pi) / norm


def _exgauss(x, mu, sigma, nu):
    x, mu, sigma, nu = M(x), M(mu), M(sigma), M(nu)
    z = (x - mu) / sigma
    r = mp.exp(-(x - mu) / nu + sigma**2 / (2 * nu**2)) * _ncdf(z - sigma / nu)
    return _ncdf(z) - r, _ncdf(-z) + r


def _wald(x, mu, lam, alpha):
    x = M(x) - alpha
    mu, lam = M(mu), M(lam)
    r = mp.sqrt(lam / x)
    e = mp.exp(2 * lam / mu) * _ncdf(-r * (x / mu + 1))
    return _ncdf(r * (x / mu - 1)) + e, _ncdf(-r * (x / mu - 1)) - e


def _asym_laplace(x, b, kappa, mu):
    z, k = (M(x) - mu) * b, M(kappa)
    if z < 0:
        low = k**2 / (1 + k**2) * mp.exp(z / k)
        return low, 1 - low
    up = mp.exp(-k * z) / (1 + k**2)
    return 1 - up, up


def _pair(cdf, sf):
    return lambda *a: (cdf(*a), sf(*a))


# id -> (params, mpmath (cdf, sf) of x and the params, grid, rtol or
# (rtol, atol))
CONT = {
    "Normal": (
        {"mu": 0.5, "sigma": 2.0},
        _pair(
            lambda x, mu, s: _ncdf((M(x) - mu) / s),
            lambda x, mu, s: _ncdf(-(M(x) - mu) / s),
        ),
        [-73.0, -40.0, -10.0, -1.0, 0.5, 3.0, 10.0, 20.0],
        1e-8,
    ),
    "HalfNormal": (
        {"sigma": 2.0},
        _pair(
            lambda x, s: mp.erf(M(x) / (s * mp.sqrt(2))),
            lambda x, s: mp.erfc(M(x) / (s * mp.sqrt(2))),
        ),
        [1e-300, 1e-20, 0.1, 1.0, 3.0, 10.0, 20.0],
        1e-8,
    ),
    "TruncatedNormal": (
        {"mu": 0.5, "sigma": 1.0, "lower": 0.0, "upper": 3.0},
        _pair(
            lambda x, mu, s, lo, up: (
                (_ncdf(M(x) - mu) - _ncdf(lo - M(mu)))
                / (_ncdf(up - M(mu)) - _ncdf(lo - M(mu)))
            ),
            lambda x, mu, s, lo, up: (
                (_ncdf(up - M(mu)) - _ncdf(M(x) - mu))
                / (_ncdf(up - M(mu)) - _ncdf(lo - M(mu)))
            ),
        ),
        [1e-300, 1e-10, 0.5, 1.5, 2.9, 3.0 - 1e-12],
        1e-8,
    ),
    "StudentT": (
        {"nu": 3.0, "mu": 0.0, "sigma": 1.0},
        _pair(
            lambda x, nu, mu, s: (
                _betainc(M(nu) / 2, 0.5, 0, nu / (nu + M(x) ** 2)) / 2
                if x < 0
                else 1 - _betainc(M(nu) / 2, 0.5, 0, nu / (nu + M(x) ** 2)) / 2
            ),
            lambda x, nu, mu, s: (
                _betainc(M(nu) / 2, 0.5, 0, nu / (nu + M(x) ** 2)) / 2
                if x > 0
                else 1 - _betainc(M(nu) / 2, 0.5, 0, nu / (nu + M(x) ** 2)) / 2
            ),
        ),
        [-1e100, -1e20, -100.0, -1.0, 0.5, 10.0, 1e5],
        1e-8,
    ),
    "HalfStudentT": (
        {"nu": 3.0, "sigma": 1.0},
        _pair(
            lambda x, nu, s: _betainc(0.5, M(nu) / 2, 0, M(x) ** 2 / (nu + M(x) ** 2)),
            lambda x, nu, s: _betainc(M(nu) / 2, 0.5, 0, nu / (nu + M(x) ** 2)),
        ),
        [1e-300, 1e-20, 0.1, 1.0, 10.0, 1e5],
        1e-8,
    ),
    "Cauchy": (
        {"alpha": 0.0, "beta": 1.0},
        _pair(
            lambda x, a, b: (
                mp.acot(-M(x)) / mp.pi if x < 0 else 1 - mp.acot(M(x)) / mp.pi
            ),
            lambda x, a, b: (
                mp.acot(M(x)) / mp.pi if x > 0 else 1 - mp.acot(-M(x)) / mp.pi
            ),
        ),
        [-1e299, -1e20, -10.0, -0.5, 0.5, 10.0, 1e8],
        1e-8,
    ),
    "HalfCauchy": (
        {"beta": 1.0},
        _pair(
            lambda x, b: 2 * mp.atan(M(x)) / mp.pi,
            lambda x, b: 2 * mp.acot(M(x)) / mp.pi,
        ),
        [1e-300, 1e-20, 0.5, 10.0, 1e8],
        1e-8,
    ),
    "Laplace": (
        {"mu": 0.0, "b": 1.0},
        _pair(
            lambda x, mu, b: mp.exp(M(x)) / 2 if x < 0 else 1 - mp.exp(-M(x)) / 2,
            lambda x, mu, b: mp.exp(-M(x)) / 2 if x > 0 else 1 - mp.exp(M(x)) / 2,
        ),
        [-690.0, -40.0, -1.0, 0.5, 10.0, 40.0],
        1e-8,
    ),
    "Logistic": (
        {"mu": 0.0, "s": 1.0},
        _pair(
            lambda x, mu, s: 1 / (1 + mp.exp(-M(x))),
            lambda x, mu, s: 1 / (1 + mp.exp(M(x))),
        ),
        [-690.0, -40.0, -1.0, 0.5, 10.0, 40.0],
        1e-8,
    ),
    "LogNormal": (
        {"mu": 0.0, "sigma": 1.0},
        _pair(
            lambda x, mu, s: _ncdf(mp.log(M(x))),
            lambda x, mu, s: _ncdf(-mp.log(M(x))),
        ),
        [1e-16, 1e-5, 0.5, 2.0, 100.0, 1e8],
        1e-8,
    ),
    "Exponential": (
        {"lam": 2.0},
        _pair(
            lambda x, lam: -mp.expm1(-lam * M(x)), lambda x, lam: mp.exp(-lam * M(x))
        ),
        [1e-300, 1e-20, 0.1, 1.0, 10.0, 300.0],
        1e-8,
    ),
    "Gamma": (
        {"alpha": 2.0, "beta": 1.5},
        _pair(
            lambda x, a, b: _gammainc(a, 0, b * M(x)),
            lambda x, a, b: _gammainc(a, b * M(x), mp.inf),
        ),
        [1e-150, 1e-20, 0.1, 1.0, 10.0, 100.0],
        1e-8,
    ),
    "InverseGamma": (
        {"alpha": 2.0, "beta": 1.5},
        _pair(
            lambda x, a, b: _gammainc(a, b / M(x), mp.inf),
            lambda x, a, b: _gammainc(a, 0, b / M(x)),
        ),
        [1e-3, 0.01, 0.1, 1.0, 10.0, 1e5],
        1e-8,
    ),
    "Beta": (
        {"alpha": 2.0, "beta": 3.0},
        _pair(
            lambda x, a, b: _betainc(a, b, 0, M(x)),
            lambda x, a, b: _betainc(a, b, M(x), 1),
        ),
        [1e-150, 1e-20, 0.1, 0.5, 0.9, 1 - 1e-6],
        1e-8,
    ),
    "Kumaraswamy": (
        {"a": 2.0, "b": 3.0},
        _pair(
            lambda x, a, b: -mp.expm1(b * mp.log1p(-(M(x) ** a))),
            lambda x, a, b: mp.exp(b * mp.log1p(-(M(x) ** a))),
        ),
        [1e-150, 1e-20, 0.1, 0.5, 0.9, 1 - 1e-6],
        1e-8,
    ),
    "Uniform": (
        {"lower": 0.0, "upper": 2.0},
        _pair(lambda x, lo, up: M(x) / 2, lambda x, lo, up: 1 - M(x) / 2),
        [1e-300, 1e-20, 0.5, 1.5, 2 - 1e-12],
        1e-8,
    ),
    "Weibull": (
        {"alpha": 2.0, "beta": 1.5},
        _pair(
            lambda x, a, b: -mp.expm1(-((M(x) / b) ** a)),
            lambda x, a, b: mp.exp(-((M(x) / b) ** a)),
        ),
        [1e-150, 1e-20, 0.1, 1.0, 3.0, 30.0],
        1e-8,
    ),
    "ChiSquared": (
        {"nu": 3.0},
        _pair(
            lambda x, nu: _gammainc(M(nu) / 2, 0, M(x) / 2),
            lambda x, nu: _gammainc(M(nu) / 2, M(x) / 2, mp.inf),
        ),
        [1e-200, 1e-20, 0.1, 1.0, 10.0, 200.0],
        1e-8,
    ),
    "Pareto": (
        {"alpha": 2.0, "m": 1.5},
        _pair(
            lambda x, a, m: -mp.expm1(a * mp.log(m / M(x))),
            lambda x, a, m: (m / M(x)) ** a,
        ),
        [1.5 * (1 + 1e-15), 1.5001, 2.0, 10.0, 1e8, 1e100],
        1e-8,
    ),
    "Gumbel": (
        {"mu": 0.0, "beta": 1.0},
        _pair(
            lambda x, mu, b: mp.exp(-mp.exp(-M(x))),
            lambda x, mu, b: -mp.expm1(-mp.exp(-M(x))),
        ),
        [-6.5, -4.0, -1.0, 0.5, 10.0, 40.0],
        1e-8,
    ),
    "VonMises": (
        {"mu": 0.0, "kappa": 19.0},
        _vonmises_cdf,
        [-3.14159, -3.1, -2.0, -0.3, 0.3, 2.0, 3.1],
        1e-8,
    ),
    "VonMises-shifted": (
        {"mu": 1.0, "kappa": 19.0},
        _vonmises_cdf,
        [-3.1, -2.5, -2.0, 0.0, 1.0, 2.0, 3.1],
        1e-8,
    ),
    "SkewNormal": (
        {"mu": 0.0, "sigma": 1.0, "alpha": 3.0},
        lambda x, mu, s, a: (_skewnorm_lower(x, a), _skewnorm_lower(-x, -a)),
        [-11.7, -5.0, -2.0, -0.5, 0.0, 1.0, 3.0, 8.0],
        1e-8,
    ),
    "SkewNormal-negative": (
        {"mu": 0.0, "sigma": 1.0, "alpha": -2.0},
        lambda x, mu, s, a: (_skewnorm_lower(x, a), _skewnorm_lower(-x, -a)),
        [-37.0, -5.0, -1.0, 0.0, 0.5, 2.0, 5.0],
        1e-8,
    ),
    "ExGaussian": (
        {"mu": 0.0, "sigma": 1.0, "nu": 2.0},
        _exgauss,
        [-37.0, -10.0, -1.0, 0.5, 5.0, 20.0, 100.0],
        1e-8,
    ),
    "Wald": (
        {"mu": 1.0, "lam": 2.0, "alpha": 0.0},
        _wald,
        [0.005, 0.02, 0.1, 0.5, 1.0, 3.0, 10.0],
        1e-8,
    ),
    "AsymmetricLaplace": (
        {"b": 1.0, "kappa": 2.0, "mu": 0.0},
        _asym_laplace,
        [-1300.0, -40.0, -1.0, 0.5, 5.0, 20.0],
        1e-8,
    ),
}


def _reference(entry, x) -> float:
    params, ref, _, _ = entry
    with mp.workdps(DPS):
        cdf, sf = ref(x, *params.values())
        out = mp.log(cdf) if cdf <= 0.5 else mp.log1p(-sf)
        return float(out)


def _base_id(key: str) -> str:
    return key.split("-")[0]


def test_every_logcdf_in_the_tables_has_an_mpmath_entry():
    # imported here: a module-level list of cases would be collected again
    # by tests that gather the case tables of this folder
    from test_continuous import CASES as CONTINUOUS
    from test_discrete import CASES as DISCRETE

    checked = {_base_id(k) for k in CONT} | {_base_id(k) for k in DISC}
    want = {c.id for c in CONTINUOUS + DISCRETE if c.logcdf}
    assert want <= checked, sorted(want - checked)


@pytest.mark.parametrize("key", list(CONT))
def test_continuous_logcdf_against_mpmath(key):
    params, _, grid, rtol = CONT[key]
    dist = getattr(ppl, _base_id(key)).dist(**params)
    x = ts.tensor("x", shape=(None,))
    got = ts.function([x], ppl.logcdf(dist, x))(np.array(grid))
    want = np.array([_reference(CONT[key], v) for v in grid])
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


# --- discrete ---------------------------------------------------------------------


def _finite(pmf, lo, hi):
    """(cdf, sf) of an integer ``k`` from a pmf on ``lo..hi``, summed exactly."""

    def ref(k, *params):
        k = int(k)
        below = mp.fsum(pmf(j, *params) for j in range(lo(*params), k + 1))
        above = mp.fsum(pmf(j, *params) for j in range(k + 1, hi(*params) + 1))
        return below, above

    return ref


def _zi(base):
    """Zero-inflated (cdf, sf): ``1 - psi + psi F``, ``psi (1 - F)``."""

    def ref(k, psi, *params):
        cdf, sf = base(k, *params)
        return 1 - M(psi) + psi * cdf, psi * sf

    return ref


def _poisson(k, mu):
    return _gammainc(int(k) + 1, mu, mp.inf), _gammainc(int(k) + 1, 0, mu)


def _binomial(k, n, p):
    k = int(k)
    if k >= n:
        return M(1), M(0)
    return _betainc(n - k, k + 1, 0, 1 - M(p)), _betainc(k + 1, n - k, 0, M(p))


def _nbinom(k, n, p):
    return _betainc(n, int(k) + 1, 0, M(p)), _betainc(int(k) + 1, n, 0, 1 - M(p))


def _betabinom_pmf(j, a, b, n):
    return mp.binomial(n, j) * mp.beta(j + a, n - j + b) / mp.beta(a, b)


def _hypergeom_pmf(j, big_n, k, n):
    return mp.binomial(k, j) * mp.binomial(big_n - k, n - j) / mp.binomial(big_n, n)


_CATEGORICAL_P = [0.1, 0.2, 0.3, 0.4]

DISC = {
    "Bernoulli": (
        {"p": 0.3},
        lambda k, p: (M(1) - p, M(p)) if k == 0 else (M(1), M(0)),
        [0, 1],
        1e-8,
    ),
    "Binomial": (
        {"n": 1000, "p": 0.5},
        _binomial,
        [0, 10, 300, 500, 700, 900],
        1e-8,
    ),
    # BetaBinomial and HyperGeometric sum their masses up to the value: the
    # lower tail is exact to 1e-8, but where the CDF is near 1 the sum keeps
    # about 1e-13 absolute (measured 1e-13; an upper-tail log-CDF smaller
    # than that in magnitude rounds to 0), hence atol=1e-12
    "BetaBinomial": (
        {"alpha": 80.0, "beta": 120.0, "n": 400},
        _finite(_betabinom_pmf, lambda a, b, n: 0, lambda a, b, n: n),
        [0, 40, 160, 240, 320],
        (1e-8, 1e-12),
    ),
    "Poisson": (
        {"mu": 700.0},
        _poisson,
        [0, 100, 500, 700, 900, 1200],
        1e-8,
    ),
    "NegativeBinomial": (
        {"n": 300.0, "p": 0.1},
        _nbinom,
        [0, 100, 2000, 2700, 4000, 6000],
        1e-8,
    ),
    "Geometric": (
        {"p": 0.5},
        lambda k, p: (-mp.expm1(int(k) * mp.log1p(-p)), (1 - M(p)) ** int(k)),
        [1, 2, 10, 100, 990],
        1e-8,
    ),
    "HyperGeometric": (
        {"N": 500, "k": 250, "n": 250},
        _finite(
            _hypergeom_pmf,
            lambda big_n, k, n: max(0, n + k - big_n),
            lambda big_n, k, n: min(k, n),
        ),
        [0, 50, 120, 125, 200, 249],
        (1e-8, 1e-12),
    ),
    "DiscreteUniform": (
        {"lower": -5, "upper": 5},
        lambda k, lo, up: ((int(k) - M(lo) + 1) / 11, (M(up) - int(k)) / 11),
        [-5, 0, 4, 5],
        1e-8,
    ),
    "Categorical": (
        {"p": np.array(_CATEGORICAL_P)},
        lambda k, p: (
            mp.fsum(_CATEGORICAL_P[: int(k) + 1]),
            mp.fsum(_CATEGORICAL_P[int(k) + 1 :]),
        ),
        [0, 1, 2, 3],
        1e-8,
    ),
    "ZeroInflatedPoisson": (
        {"psi": 0.7, "mu": 700.0},
        _zi(_poisson),
        [0, 100, 700, 900, 1200],
        1e-8,
    ),
    "ZeroInflatedBinomial": (
        {"psi": 0.7, "n": 1000, "p": 0.5},
        _zi(_binomial),
        [0, 100, 500, 700, 900],
        1e-8,
    ),
    "ZeroInflatedNegativeBinomial": (
        {"psi": 0.7, "n": 300.0, "p": 0.1},
        _zi(_nbinom),
        [0, 100, 2700, 4000, 6000],
        1e-8,
    ),
}


@pytest.mark.parametrize("key", list(DISC))
def test_discrete_logcdf_against_mpmath(key):
    params, _, grid, rtol = DISC[key]
    dist = getattr(ppl, _base_id(key)).dist(**params)
    x = ts.tensor("x", shape=(None,), dtype="int64")
    got = ts.function([x], ppl.logcdf(dist, x))(np.array(grid))
    want = np.array([_reference(DISC[key], v) for v in grid])
    rtol, atol = rtol if isinstance(rtol, tuple) else (rtol, 0.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "key", ["SkewNormal", "SkewNormal-negative", "VonMises", "VonMises-shifted"]
)
def test_log_space_logcdf_kernels_on_the_jax_backend(key):
    # the kernels are written once for NumPy and jax.numpy: same values and
    # gradients on both backends
    params, _, grid, _ = CONT[key]
    dist = getattr(ppl, _base_id(key)).dist(**params)
    x = ts.tensor("x", shape=(None,))
    lc = ppl.logcdf(dist, x)
    outs = [lc, ts.grad(lc.sum(), x)]
    grid = np.array(grid)
    ref = ts.function([x], outs)(grid)
    got = ts.function([x], outs, backend="jax")(grid)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(np.asarray(g), r, rtol=1e-10)
    assert np.all(np.isfinite(ref[1]))


def test_issue_values():
    # issue #23's cases (NaN before). SkewNormal: Phi(-5) - 2 T(5, 3) at 120
    # digits is exp(-132.777071363346575); the issue's -132.7774 came from a
    # quadrature over (-inf, -5] that misses the integrand's scale
    x = ts.tensor("x", shape=())
    sn = ppl.logcdf(ppl.SkewNormal.dist(0.0, 1.0, 3.0), x)
    vm = ppl.logcdf(ppl.VonMises.dist(0.0, 19.0), x)
    np.testing.assert_allclose(ts.function([x], sn)(-5.0), -132.77707136334658, 1e-12)
    np.testing.assert_allclose(ts.function([x], vm)(-3.1), -40.62782350316521, 1e-12)
