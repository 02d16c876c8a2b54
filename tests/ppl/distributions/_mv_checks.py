"""Checks shared by the multivariate distribution tests.

An :class:`MvCase` says how to draw parameters for a batch shape and gives a
per-element reference log-density (usually ``scipy.stats``); the reference
is applied in a loop over batch elements *here*, in the test, while tessera
evaluates the whole batch at once.

Batch patterns (the batch shape of each parameter, in order):

* ``"scalar"``: every parameter unbatched;
* ``"vector"``: every parameter of batch shape ``(3,)``;
* ``"grid"``: every parameter of batch shape ``(2, 4)``;
* ``"broadcast"``: parameters alternately ``(5, 1)`` and ``(4,)`` (a
  ``(5, 4)`` batch, e.g. ``mu`` of shape ``(5, 1, n)`` with ``cov`` of shape
  ``(4, n, n)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tessera import ppl
from tessera.testing import verify_grad

PATTERNS = ("scalar", "vector", "grid", "broadcast")


def pattern_batches(pattern: str, names) -> dict[str, tuple]:
    """Batch shape of each parameter under ``pattern``."""
    if pattern == "scalar":
        return {k: () for k in names}
    if pattern == "vector":
        return {k: (3,) for k in names}
    if pattern == "grid":
        return {k: (2, 4) for k in names}
    if pattern == "broadcast":
        return {k: ((5, 1) if j % 2 == 0 else (4,)) for j, k in enumerate(names)}
    raise ValueError(pattern)


def spd(rng: np.random.Generator, batch: tuple, n: int) -> np.ndarray:
    """Well-conditioned symmetric positive definite matrices ``batch + (n, n)``."""
    a = rng.normal(size=tuple(batch) + (n, n)) / np.sqrt(n)
    return a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(n)


def chol_of(rng, batch, n):
    return np.linalg.cholesky(spd(rng, batch, n))


def element(params: dict[str, np.ndarray], core: dict[str, int], full, idx):
    """The parameters of batch element ``idx`` of the broadcast batch ``full``."""
    out = {}
    for k, v in params.items():
        v = np.asarray(v)
        nd = core.get(k, 0)
        b = np.broadcast_to(v, tuple(full) + v.shape[v.ndim - nd :])
        out[k] = b[idx]
    return out


@dataclass
class MvCase:
    """One distribution of a test table.

    ``params``: name -> ``fn(rng, batch)`` drawing that parameter with batch
    shape ``batch``; ``core``: name -> core ndim; ``ref(value, **params)``:
    the reference log-density of one batch element; ``kwargs``: fixed
    arguments of ``.dist``; ``value``: optional ``fn(rng, full_batch,
    params)`` for the values (default: draws of the distribution).
    """

    dist: Any
    params: dict[str, Callable]
    core: dict[str, int]
    ref: Callable
    kwargs: dict = field(default_factory=dict)
    value: Callable | None = None
    rtol: float = 1e-7
    id: str = ""
    # matrices read as symmetric (only one triangle is used by a Cholesky
    # factorization, so the gradient check goes through (A + A^T) / 2)
    symmetric: tuple = ("cov", "tau", "scale", "V", "rowcov", "colcov", "W")

    def __post_init__(self):
        self.id = self.id or self.dist.__name__

    def make(self, rng, pattern: str):
        batches = pattern_batches(pattern, list(self.params))
        params = {k: fn(rng, batches[k]) for k, fn in self.params.items()}
        full = np.broadcast_shapes(*batches.values())
        return params, full


def check_logp(case: MvCase, pattern: str, rng: np.random.Generator) -> None:
    """tessera's batched logp against the reference looped over the batch."""
    params, full = case.make(rng, pattern)
    rv = case.dist.dist(**params, **case.kwargs)
    assert rv.type.shape[: len(full)] == tuple(full), (rv.type.shape, full)
    if case.value is not None:
        value = case.value(rng, full, params)
    else:
        value = ppl.draw(rv, random_seed=int(rng.integers(2**31)))
    got = ppl.logp(rv, value).eval()
    assert got.shape == tuple(full), (got.shape, full)
    expected = np.empty(full)
    for idx in np.ndindex(*full):
        expected[idx] = case.ref(value[idx], **element(params, case.core, full, idx))
    np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=1e-9)


def check_grad(
    case: MvCase, rng: np.random.Generator, wrt=None, value_too: bool = True
) -> None:
    """verify_grad of logp in the float parameters (and the value if continuous)."""
    params, full = case.make(rng, "vector")
    rv = case.dist.dist(**params, **case.kwargs)
    if case.value is not None:
        value = case.value(rng, full, params)
    else:
        value = ppl.draw(rv, random_seed=1)
    names = [k for k in params if np.asarray(params[k]).dtype.kind == "f"]
    wrt_names = names if wrt is None else wrt
    arrays = [np.asarray(params[k], dtype=float) for k in wrt_names]
    fixed = {k: v for k, v in params.items() if k not in wrt_names}
    continuous = value_too and np.asarray(value).dtype.kind == "f"

    def fn(*syms):
        kw = dict(zip(wrt_names, syms[: len(wrt_names)]))
        for k in kw:
            if k in case.symmetric and kw[k].ndim >= 2:
                kw[k] = 0.5 * (kw[k] + kw[k].swapaxes(-1, -2))
        v = syms[-1] if continuous else value
        return ppl.logp(case.dist.dist(**kw, **fixed, **case.kwargs), v)

    inputs = arrays + ([np.asarray(value, dtype=float)] if continuous else [])
    verify_grad(fn, inputs, rtol=1e-4, atol=1e-6)


def check_mean_cov(samples, mean, cov, heavy: bool = False, z: float = 5.0):
    """Sample mean and covariance (over axis 0) within ``z`` Monte-Carlo errors.

    Gaussian standard errors: ``sqrt(cov_ii / S)`` for the mean and
    ``sqrt((cov_ii cov_jj + cov_ij^2) / S)`` for the covariance; ``heavy``
    doubles them for heavier-tailed distributions.
    """
    S = samples.shape[0]
    m_hat = samples.mean(axis=0)
    c = samples - m_hat
    c_hat = np.einsum("s...i,s...j->...ij", c, c) / (S - 1)
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    k = 2.0 if heavy else 1.0
    se_mean = k * np.sqrt(var / S)
    se_cov = k * np.sqrt((var[..., :, None] * var[..., None, :] + cov**2) / S)
    assert np.all(np.abs(m_hat - mean) < z * se_mean), (m_hat, mean)
    assert np.all(np.abs(c_hat - cov) < z * se_cov), (c_hat, cov)
