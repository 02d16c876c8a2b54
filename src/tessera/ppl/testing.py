"""Helpers to check distributions against reference implementations.

A :class:`DistCase` describes one distribution: how to draw valid
parameters, a reference (usually a frozen ``scipy.stats`` distribution built
from NumPy parameters), and invalid parameters and values. The ``check_*``
functions compare tessera's symbolic log-density, log-CDF, gradients and
sampler with the reference over batch shapes; test modules hold the tables.

Batch patterns: ``"scalar"`` (every parameter 0-d), ``"vector"`` (every
parameter of shape ``(3,)``) and ``"broadcast"`` (parameters alternately
``(2, 1)`` and ``(1, 4)``, so the batch is ``(2, 4)``).

Examples
--------
>>> import numpy as np
>>> import scipy.stats as st
>>> from tessera import ppl
>>> case = DistCase(
...     ppl.Normal,
...     {"mu": Param(-1, 1), "sigma": Param(0.5, 2)},
...     lambda mu, sigma: st.norm(mu, sigma),
...     bad_params={"sigma": -1.0},
... )
>>> rng = np.random.default_rng(0)
>>> for pattern in PATTERNS:
...     check_logp(case, pattern, rng)
>>> check_grad(case, rng); check_draws(case, rng); check_out_of_support(case, rng)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.stats as st

import tessera as ts
from tessera.ppl.distributions.base import Distribution
from tessera.ppl.distributions.draw import draw
from tessera.ppl.distributions.logprob import logcdf, logp
from tessera.testing import verify_grad

PATTERNS = ("scalar", "vector", "broadcast")


@dataclass
class Param:
    """How to draw one parameter: uniform on ``[low, high]`` (ints if ``integer``).

    ``core`` is the parameter's core shape (e.g. ``(4,)`` for a probability
    vector); ``fn(rng, shape)`` overrides the uniform draw.
    """

    low: float = 0.0
    high: float = 1.0
    integer: bool = False
    core: tuple = ()
    fn: Callable | None = None

    def sample(self, rng: np.random.Generator, batch: tuple) -> np.ndarray:
        shape = tuple(batch) + tuple(self.core)
        if self.fn is not None:
            return np.asarray(self.fn(rng, shape))
        if self.integer:
            return rng.integers(int(self.low), int(self.high) + 1, size=shape)
        return rng.uniform(self.low, self.high, size=shape)


@dataclass
class Ref:
    """A minimal reference distribution for cases SciPy lacks.

    ``logpdf(x)`` (``logpmf`` for discrete), ``logcdf(x)``, ``cdf(x)`` and
    ``rvs(size, random_state)`` as in ``scipy.stats`` frozen distributions.
    """

    logpdf: Callable
    rvs: Callable
    logcdf: Callable | None = None
    cdf_fn: Callable | None = None

    def logpmf(self, x):
        return self.logpdf(x)

    def cdf(self, x):
        if self.cdf_fn is not None:
            return self.cdf_fn(x)
        return np.exp(self.logcdf(x))

    def pmf(self, x):
        return np.exp(self.logpdf(x))


@dataclass
class DistCase:
    """One distribution checked against a reference.

    Parameters
    ----------
    dist : Distribution subclass
    params : dict of name -> Param
        In the order of ``dist.params``.
    ref : callable
        ``ref(**numpy params)`` -> frozen scipy distribution (or :class:`Ref`).
    logcdf : bool
        Whether to check the log-CDF.
    bad_params : dict
        Parameter values outside their domain (one at a time).
    bad_values : list
        Values outside the support, given the parameters from ``params``.
    grad_value : bool
        Whether logp is differentiable in the value (continuous).
    ks : bool
        Kolmogorov-Smirnov test of draws (continuous); else a check of the
        empirical mass function (discrete).
    tol : float
        Relative tolerance of log-density comparisons.
    """

    dist: type[Distribution]
    params: dict[str, Param]
    ref: Callable
    logcdf: bool = True
    bad_params: dict[str, Any] = field(default_factory=dict)
    bad_values: list = field(default_factory=list)
    grad_value: bool = True
    ks: bool = True
    tol: float = 1e-6
    sample: bool = True
    id: str = ""

    def __post_init__(self):
        self.id = self.id or self.dist.__name__

    @property
    def discrete(self) -> bool:
        return self.dist.rv_op.out_dtype().startswith("int")


def batch_shapes(case: DistCase, pattern: str) -> list[tuple]:
    """Batch shape of each parameter for a pattern."""
    n = len(case.params)
    if pattern == "scalar":
        return [()] * n
    if pattern == "vector":
        return [(3,)] * n
    if pattern == "broadcast":
        return [(2, 1) if k % 2 == 0 else (1, 4) for k in range(n)]
    raise ValueError(pattern)


def sample_params(case: DistCase, pattern: str, rng) -> dict[str, np.ndarray]:
    shapes = batch_shapes(case, pattern)
    return {n: p.sample(rng, s) for (n, p), s in zip(case.params.items(), shapes)}


def batch_of(case: DistCase, values: dict[str, np.ndarray]) -> tuple:
    shapes = [
        np.shape(v)[: np.ndim(v) - len(p.core)]
        for v, p in zip(values.values(), case.params.values())
    ]
    return np.broadcast_shapes(*shapes)


def _symbolic(values: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        n: ts.tensor(n, shape=np.shape(v), dtype=np.asarray(v).dtype)
        for n, v in values.items()
    }


def _ref_values(case: DistCase, pvals, rng, batch):
    ref = case.ref(**pvals)
    x = np.asarray(ref.rvs(size=batch, random_state=rng))
    return x.astype(np.int64) if case.discrete else x


def check_logp(case: DistCase, pattern: str, rng) -> None:
    """``logp`` (and ``logcdf``) at reference draws agree with the reference."""
    pvals = sample_params(case, pattern, rng)
    batch = batch_of(case, pvals)
    x = _ref_values(case, pvals, rng, batch)
    sym = _symbolic(pvals)
    value = ts.tensor("value", shape=x.shape, dtype=x.dtype)
    rv = case.dist.dist(**sym)
    outs = [logp(rv, value)]
    if case.logcdf:
        outs.append(logcdf(rv, value))
    fn = ts.function([*sym.values(), value], outs)
    got = fn(*pvals.values(), x)
    ref = case.ref(**pvals)
    expected = [ref.logpmf(x) if case.discrete else ref.logpdf(x)]
    if case.logcdf:
        expected.append(ref.logcdf(x))
    for name, g, e in zip(("logp", "logcdf"), got, expected):
        e = np.broadcast_to(e, batch)
        assert g.shape == batch, f"{case.id} {name}: shape {g.shape}, want {batch}"
        np.testing.assert_allclose(
            g, e, rtol=case.tol, atol=case.tol, err_msg=f"{case.id} {name} {pattern}"
        )


def check_grad(case: DistCase, rng) -> None:
    """``verify_grad`` of logp in the float parameters and (continuous) value."""
    pvals = sample_params(case, "vector", rng)
    x = _ref_values(case, pvals, rng, batch_of(case, pvals))
    names = list(pvals)

    def fn(*args):
        return logp(case.dist.dist(**dict(zip(names, args[:-1]))), args[-1])

    arrays = [*pvals.values(), x]
    wrt = [k for k, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    if not case.grad_value and wrt and wrt[-1] == len(arrays) - 1:
        wrt = wrt[:-1]
    verify_grad(fn, arrays, wrt=wrt, rtol=1e-4, atol=1e-6)


def check_out_of_support(case: DistCase, rng) -> None:
    """Bad values give -inf; bad parameters give -inf when symbolic and a
    clear ValueError when given as constants."""
    pvals = sample_params(case, "scalar", rng)
    if case.bad_values:
        rv = case.dist.dist(**pvals)
        bad = np.asarray(case.bad_values)
        got = logp(rv, bad).eval()
        assert np.all(got == -np.inf), f"{case.id}: logp at {bad} is {got}"
    sym = _symbolic(pvals)
    for name, bad in case.bad_params.items():
        vals = dict(
            pvals, **{name: np.asarray(bad, dtype=np.asarray(pvals[name]).dtype)}
        )
        rv = case.dist.dist(**sym)
        value = _ref_values(case, pvals, rng, ())
        got = ts.function(list(sym.values()), logp(rv, value))(*vals.values())
        assert got == -np.inf, f"{case.id}: logp with {name}={bad} is {got}"
        try:
            case.dist.dist(**vals)
        except ValueError as e:
            assert case.dist.__name__ in str(e), str(e)
        else:
            raise AssertionError(f"{case.id}: {name}={bad} was accepted")


def check_draws(case: DistCase, rng, n: int = 4000, p_min: float = 1e-3) -> None:
    """Draws have the right shapes and match the reference distribution.

    Continuous: the draws of every batch element, mapped through the
    reference CDF of that element, are pooled and KS-tested for uniformity.
    Discrete: the empirical mass function of every element is within five
    standard errors of the reference one.
    """
    pvals = sample_params(case, "broadcast", rng)
    batch = batch_of(case, pvals)
    rv = case.dist.dist(**pvals)
    assert rv.type.shape == batch
    sized = case.dist.dist(**pvals, size=(n, *batch))
    x = draw(sized, random_seed=int(rng.integers(2**31)))
    assert x.shape == (n, *batch) and x.dtype == rv.dtype
    again = draw(case.dist.dist(**pvals), draws=3, random_seed=1)
    assert again.shape == (3, *batch)
    pit = []
    for idx in np.ndindex(*batch):
        element = {
            k: np.broadcast_to(v, batch + v.shape[v.ndim - len(case.params[k].core) :])[
                idx
            ]
            for k, v in pvals.items()
        }
        ref = case.ref(**element)
        sample = x[(slice(None), *idx)]
        if case.ks:
            pit.append(ref.cdf(sample))
        else:
            _check_mass(case, ref, sample, element)
    if case.ks:
        p = st.kstest(np.concatenate(pit), "uniform").pvalue
        assert p > p_min, f"{case.id} draws: KS p-value {p:.2g} of the pooled PIT"


def _check_mass(case, ref, sample, element) -> None:
    ks, counts = np.unique(sample, return_counts=True)
    n = sample.size
    lo, hi = ks.min(), ks.max()
    grid = np.arange(lo - 2, hi + 3)
    p = ref.pmf(grid)
    freq = np.zeros(grid.shape)
    freq[np.searchsorted(grid, ks)] = counts / n
    err = np.abs(freq - p) - 5 * np.sqrt(p * (1 - p) / n) - 1e-3
    assert np.all(err <= 0), (
        f"{case.id} draws at {element}: frequencies {freq} vs probabilities {p}"
    )
