"""Rank-normalized r_hat and bulk/tail ESS of many parameters at once.

The post-sampling convergence checks (:mod:`.convergence`) need r_hat and
the bulk and tail effective sample sizes of every scalar of the model's
free variables. ArviZ computes them one scalar at a time in Python, which
takes seconds on a model with thousands of parameters (4.2 s for the
quickstart's 2,400, longer than its sampling). These are the same
estimators (Vehtari et al., 2021, "Rank-normalization, folding, and
localization", as implemented by ``arviz.rhat(method="rank")`` and
``arviz.ess(method="bulk" | "tail")``), computed for all parameters
together: sorting, FFT autocovariances and Geyer's initial monotone
sequence run over a trailing parameter axis.

Every function takes ``x`` shaped ``(chains, draws, ...)`` and returns the
statistic shaped ``(...)``; the tests compare them with ArviZ's.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(4, 500, 3))
>>> bool(np.all(rhat(x) < 1.01)), bool(np.all(ess_bulk(x) > 1000))
(True, True)
"""

from __future__ import annotations

import numpy as np
from scipy import fft, special

__all__ = ["average_ranks", "convergence_stats", "ess_bulk", "ess_tail", "rhat"]


def _flat(x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    x = np.asarray(x, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"expected (chains, draws, ...), got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], -1), x.shape[2:]


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as two chains (a middle draw of an
    odd count is dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks over all chains and draws, per parameter."""
    c, d, k = x.shape
    # ranked along contiguous rows: one row per parameter
    n = c * d
    rows = np.ascontiguousarray(x.reshape(n, k).T)
    ranks = average_ranks(rows)
    # ranks are halves (ties average two whole ranks): the scores of the
    # 2n - 1 possible ranks, looked up
    scores = special.ndtri((np.arange(2, 2 * n + 1) / 2.0 - 0.375) / (n + 0.25))
    missing = np.isnan(ranks)
    z = scores[(2.0 * np.where(missing, 1.0, ranks)).astype(np.intp) - 2]
    z[missing] = np.nan
    return z.T.reshape(c, d, k)


def average_ranks(rows: np.ndarray) -> np.ndarray:
    """Ranks (from 1) along the last axis, tied values given the average of
    their ranks; a row holding a NaN is all NaN: ``scipy.stats.rankdata(rows,
    axis=-1)``, a few times faster (an unstable sort: the order among tied
    values does not change their average rank).

    Examples
    --------
    >>> average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
    [[3.5, 1.0, 3.5, 2.0]]
    """
    rows = np.asarray(rows, dtype=float)
    n = rows.shape[-1]
    order = np.argsort(rows, axis=-1)
    s = np.take_along_axis(rows, order, axis=-1)
    pos = np.broadcast_to(np.arange(n), s.shape)
    new = np.ones(s.shape, bool)  # a run of equal values starts here
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    last = np.ones(s.shape, bool)  # ... and ends here
    last[..., :-1] = new[..., 1:]
    lo = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    hi = np.flip(
        np.minimum.accumulate(np.flip(np.where(last, pos, n - 1), -1), axis=-1), -1
    )
    ranks = np.empty(s.shape)
    np.put_along_axis(ranks, order, (lo + hi) / 2.0 + 1.0, axis=-1)
    ranks[np.isnan(rows).any(axis=-1)] = np.nan
    return ranks


def _rhat(x: np.ndarray) -> np.ndarray:
    n = x.shape[1]
    between = n * np.var(x.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(x, axis=1, ddof=1), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariances along the draws axis (biased, lag 0 .. draws - 1)."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    m = fft.next_fast_len(2 * n)
    f = np.fft.rfft(centred, n=m, axis=1)
    return np.fft.irfft(f * np.conjugate(f), n=m, axis=1)[:, :n] / n


def _ess(x: np.ndarray) -> np.ndarray:
    """ESS of ``(chains, draws, K)`` by Geyer's initial monotone sequence."""
    chains, n, k = x.shape
    constant = (x.max(axis=(0, 1)) - x.min(axis=(0, 1))) < np.finfo(float).resolution
    acov = _autocov(x).mean(axis=0)  # (n, K): mean over chains
    mean_var = acov[0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus = var_plus + np.var(x.mean(axis=1), axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var - acov) / var_plus  # (n, K)
    rho[0] = 1.0
    # Geyer's initial positive sequence: pairs (t+1, t+2) kept while the
    # previous pair's sum is positive; max_t is the last t tried minus 2
    kept = np.zeros_like(rho)
    kept[:2] = rho[:2]
    active = np.ones(k, dtype=bool)
    even, odd = rho[0].copy(), rho[1].copy()
    t_stop = np.ones(k, dtype=int)
    t = 1
    while t < n - 3 and active.any():
        active &= (even + odd) > 0.0
        even = np.where(active, rho[t + 1], even)
        odd = np.where(active, rho[t + 2], odd)
        keep = active & ((even + odd) >= 0)
        kept[t + 1] = np.where(keep, even, 0.0)
        kept[t + 2] = np.where(keep, odd, 0.0)
        t_stop = np.where(active, t + 2, t_stop)
        t += 2
    # parameters still active when t ran out stopped there too
    max_t = t_stop - 2
    cols = np.arange(k)
    positive = even > 0
    kept[np.where(positive, max_t + 1, 0), cols] = np.where(
        positive, even, kept[0, cols]
    )
    # Geyer's initial monotone sequence
    t = 1
    while t <= max_t.max() - 2:
        go = t <= max_t - 2
        pair_now = kept[t + 1] + kept[t + 2]
        pair_before = kept[t - 1] + kept[t]
        fix = go & (pair_now > pair_before)
        kept[t + 1] = np.where(fix, pair_before / 2.0, kept[t + 1])
        kept[t + 2] = np.where(fix, kept[t + 1], kept[t + 2])
        t += 2
    lags = np.arange(n)[:, None]
    tau = (
        -1.0
        + 2.0 * np.sum(np.where(lags <= max_t, kept, 0.0), axis=0)
        + np.sum(np.where(lags == max_t + 1, kept, 0.0), axis=0)
    )
    total = chains * n
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = total / tau
    ess = np.where(np.isnan(rho).any(axis=0), np.nan, ess)
    return np.where(constant, float(total), ess)


def _rhat_split(split: np.ndarray, z: np.ndarray) -> np.ndarray:
    """r_hat of split chains ``split`` whose normal scores are ``z``."""
    tail = _rhat(_z_scale(np.abs(split - np.median(split, axis=(0, 1)))))
    return np.maximum(_rhat(z), tail)


def convergence_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rhat`, :func:`ess_bulk` and :func:`ess_tail` of ``x`` at once
    (the split chains ranked once for both r_hat and the bulk ESS).

    Examples
    --------
    >>> x = np.random.default_rng(4).normal(size=(2, 100, 3))
    >>> r, bulk, tail = convergence_stats(x)
    >>> bool(np.allclose(r, rhat(x)) and np.allclose(bulk, ess_bulk(x)))
    True
    """
    flat, shape = _flat(x)
    if flat.shape[1] < 4:
        nan = np.full(shape, np.nan)
        return nan, nan, nan.copy()
    split = _split(flat)
    z = _z_scale(split)
    r = _rhat_split(split, z) if flat.shape[0] >= 2 else np.full(flat.shape[2], np.nan)
    return r.reshape(shape), _ess(z).reshape(shape), ess_tail(x)


def rhat(x: np.ndarray) -> np.ndarray:
    """Rank-normalized split r_hat: the larger of the bulk and the folded
    (tail) values, per parameter; NaN with fewer than 2 chains or 4 draws.

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(size=(2, 100))
    >>> rhat(x).shape
    ()
    """
    flat, shape = _flat(x)
    if flat.shape[0] < 2 or flat.shape[1] < 4:
        return np.full(shape, np.nan)
    split = _split(flat)
    return _rhat_split(split, _z_scale(split)).reshape(shape)


def ess_bulk(x: np.ndarray) -> np.ndarray:
    """Bulk effective sample size (rank-normalized split chains).

    Examples
    --------
    >>> x = np.random.default_rng(2).normal(size=(2, 100, 2))
    >>> ess_bulk(x).shape
    (2,)
    """
    flat, shape = _flat(x)
    if flat.shape[1] < 4:
        return np.full(shape, np.nan)
    return _ess(_z_scale(_split(flat))).reshape(shape)


def ess_tail(x: np.ndarray) -> np.ndarray:
    """Tail effective sample size: the smaller ESS of the indicators of the
    5% and 95% quantiles (split chains).

    Examples
    --------
    >>> x = np.random.default_rng(3).normal(size=(2, 100))
    >>> float(ess_tail(x)) > 50
    True
    """
    flat, shape = _flat(x)
    if flat.shape[1] < 4:
        return np.full(shape, np.nan)
    out = []
    for prob in (0.05, 0.95):
        q = np.quantile(flat, prob, axis=(0, 1))
        out.append(_ess(_split((flat <= q).astype(float))))
    return np.minimum(*out).reshape(shape)
