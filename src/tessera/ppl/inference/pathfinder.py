"""Pathfinder (Zhang, Carpenter, Gelman & Vehtari, 2022).

Single path: L-BFGS maximizes the log-density on the flat unconstrained
space, from a jittered initial point; at each iterate ``x_l`` of its path
the last ``maxcor`` position and gradient differences ``(s_k, y_k)`` that
satisfy the curvature condition ``s.y > epsilon |y|^2`` give an inverse
Hessian estimate in compact BFGS form,

.. math:: H_l = \\mathrm{diag}(\\alpha) + \\beta \\gamma \\beta^T, \\quad
          \\beta = [\\mathrm{diag}(\\alpha) Y, S], \\quad
          \\gamma = \\begin{pmatrix} 0 & -R^{-1} \\\\ -R^{-T} &
          R^{-T}(E + Y^T \\mathrm{diag}(\\alpha) Y) R^{-1} \\end{pmatrix},

(``R``: the upper triangle of ``S^T Y``, ``E`` its diagonal; ``alpha``:
a diagonal updated at each accepted pair, Gilbert & Lemaréchal's
recursion), and the Gaussian ``q_l = N(x_l + H_l g_l, H_l)``. Draws come
from a thin QR of ``diag(alpha)^{-1/2} beta`` (cost linear in the
dimension). ``num_elbo_draws`` draws estimate each ``q_l``'s ELBO; the
best one gives ``num_draws_per_path`` draws with their log-densities and
``log q``.

Multi-path: ``num_paths`` paths from different jittered starts; their
draws are importance-resampled with Pareto-smoothed weights (``arviz.
psislw``); the Pareto ``k`` of the weights, reported in the result's
attributes, says how far the approximation is from the posterior (above
0.7 the draws are unreliable: a warning says so).

The result is InferenceData in the original space with the model's coords;
:func:`pathfinder_draws` gives the flat draws (NUTS initialization, see
:func:`~tessera.ppl.inference.start.pathfinder_start`).

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     mu = ppl.Normal("mu", 0.0, 10.0)
...     y = ppl.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
...     idata = ppl.pathfinder(num_draws=2000, random_seed=0, progressbar=False)
>>> round(float(idata.posterior["mu"].mean()), 1), idata.posterior["mu"].shape
(1.0, (1, 2000))
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tessera.compile.backends import Backend

__all__ = ["PathfinderResult", "lbfgs_gaussians", "pathfinder", "pathfinder_draws"]

_log = logging.getLogger("tessera.ppl")
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class PathfinderResult:
    """Flat draws of a Pathfinder run and what it measured.

    Attributes
    ----------
    draws : ndarray, shape (num_draws, n)
        Resampled draws (flat unconstrained space).
    logp, logq : ndarray, shape (num_draws,)
        Log-density and approximation's log-density of each draw.
    pareto_k : float or None
        Of the importance weights (None without importance sampling).
    elbo : list of float
        The best ELBO estimate of each path.
    iterations : list of int
        L-BFGS iterations of each path.
    """

    draws: np.ndarray
    logp: np.ndarray
    logq: np.ndarray
    pareto_k: float | None
    elbo: list = field(default_factory=list)
    iterations: list = field(default_factory=list)


def _diag_update(alpha, s, y):
    """Gilbert & Lemaréchal's diagonal inverse-Hessian update."""
    a = y @ (alpha * y)
    b = y @ s
    c = s @ (s / alpha)
    new = 1.0 / (a / (b * alpha) + y * y / b - a * s * s / (b * c * alpha * alpha))
    return new if np.all(np.isfinite(new)) and np.all(new > 0) else alpha


def lbfgs_gaussians(
    xs: np.ndarray, gs: np.ndarray, maxcor: int, epsilon: float = 1e-8
) -> list[tuple | None]:
    """The Gaussian approximation at each iterate of an L-BFGS path.

    Parameters
    ----------
    xs, gs : ndarray, shape (L + 1, n)
        Iterates and the log-density gradients there.
    maxcor : int
        Number of (s, y) pairs kept.
    epsilon : float
        Curvature threshold: pairs with ``s.y <= epsilon |y|^2`` are skipped.

    Returns
    -------
    list of (mu, alpha, Q, Lc, logdet) or None, one per iterate after the
    first: draws are ``mu + sqrt(alpha) * (Q (Lc - I) Q^T u + u)`` for
    ``u ~ N(0, I)``, with covariance ``H`` and ``log det H = logdet``
    (``None`` where the factorization failed).

    Examples
    --------
    >>> import numpy as np
    >>> xs = np.array([[1.0, 1.0], [0.5, 0.25], [0.0, 0.0]])
    >>> gs = -xs * np.array([1.0, 4.0])  # N(0, diag(1, 1/4))
    >>> mu, alpha, Q, Lc, logdet = lbfgs_gaussians(xs, gs, 5)[-1]
    >>> np.round(mu, 6)
    array([0., 0.])
    """
    out: list[tuple | None] = [None] * (len(xs) - 1)
    for g in _gaussian_groups(xs, gs, maxcor, epsilon):
        for j, k in enumerate(g.iterates):
            out[k] = (g.mu[j], g.alpha[j], g.Q[j], g.Lc[j], g.logdet[j])
    return out


@dataclass
class _Gaussians:
    """The Gaussians of the iterates ``iterates`` (indices into the path
    after its start) that keep the same number of (s, y) pairs, stacked."""

    iterates: np.ndarray  # (B,)
    mu: np.ndarray  # (B, n)
    alpha: np.ndarray  # (B, n)
    Q: np.ndarray  # (B, n, 2m)
    Lc: np.ndarray  # (B, 2m, 2m)
    logdet: np.ndarray  # (B,)

    def draw(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draws and ``log q`` from standard normals ``u`` (``(B, k, n)``)."""
        eye = np.eye(self.Lc.shape[-1])
        Qu = u @ self.Q
        v = u + (Qu @ np.swapaxes(self.Lc - eye, -1, -2)) @ np.swapaxes(self.Q, -1, -2)
        z = self.mu[:, None] + np.sqrt(self.alpha)[:, None] * v
        quad = (u * u).sum(axis=-1)
        logq = -0.5 * (self.logdet[:, None] + quad + u.shape[-1] * _LOG_2PI)
        return z, logq

    def take(self, rows) -> _Gaussians:
        return _Gaussians(
            self.iterates[rows], self.mu[rows], self.alpha[rows], self.Q[rows],
            self.Lc[rows], self.logdet[rows],
        )  # fmt: skip


def _gaussian_groups(xs, gs, maxcor, epsilon) -> list[_Gaussians]:
    """Every valid iterate's Gaussian, computed as one stacked (batched)
    factorization per number of pairs ``m`` (after the first ``maxcor``
    accepted pairs, every iterate has ``m = maxcor``), rather than one
    small factorization per iterate."""
    n = xs.shape[1]
    alpha = np.ones(n)
    pairs: list[int] = []  # the accepted (s, y) pairs kept, by iterate
    s_all, y_all = xs[1:] - xs[:-1], gs[:-1] - gs[1:]  # of -logp's gradient
    alphas, windows = [], []
    for k in range(len(s_all)):
        s, y = s_all[k], y_all[k]
        if s @ y > epsilon * (y @ y):
            pairs = (pairs + [k])[-maxcor:]
            alpha = _diag_update(alpha, s, y)
        alphas.append(alpha)
        windows.append(tuple(pairs))
    alphas = np.array(alphas)
    groups = []
    for m in sorted({len(w) for w in windows}):
        its = np.array([k for k, w in enumerate(windows) if len(w) == m], dtype=int)
        idx = np.array([windows[k] for k in its], dtype=int).reshape(len(its), m)
        args = (its, xs[its + 1], gs[its + 1], alphas[its], s_all[idx], y_all[idx])
        try:
            groups.append(_stacked_gaussians(*args))
        except np.linalg.LinAlgError:  # one at a time: keep the others
            for j in range(len(its)):
                try:
                    groups.append(_stacked_gaussians(*(a[j : j + 1] for a in args)))
                except np.linalg.LinAlgError:
                    pass
    return [g for g in groups if len(g.iterates)]


def _stacked_gaussians(its, x, g, alpha, S, Y) -> _Gaussians:
    """The compact-form Gaussians of ``B`` iterates: ``x, g, alpha``
    ``(B, n)``, their pairs ``S, Y`` ``(B, m, n)``; rows whose result is
    not finite are dropped."""
    B, m, n = S.shape
    Sm, Ym = np.swapaxes(S, 1, 2), np.swapaxes(Y, 1, 2)  # (B, n, m)
    SY = S @ Ym  # (B, m, m): s_i . y_j
    R = np.triu(SY)
    Rinv = np.linalg.solve(R, np.broadcast_to(np.eye(m), R.shape))
    beta = np.concatenate([alpha[:, :, None] * Ym, Sm], axis=2)  # (B, n, 2m)
    gamma = np.zeros((B, 2 * m, 2 * m))
    RinvT = np.swapaxes(Rinv, 1, 2)
    gamma[:, :m, m:] = -Rinv
    gamma[:, m:, :m] = -RinvT
    E = SY * np.eye(m)  # the diagonal of S^T Y
    gamma[:, m:, m:] = (
        RinvT @ (E + np.swapaxes(Ym, 1, 2) @ (alpha[:, :, None] * Ym)) @ Rinv
    )
    Q, Rq = np.linalg.qr(beta / np.sqrt(alpha)[:, :, None])
    inner = np.eye(Q.shape[-1]) + Rq @ gamma @ np.swapaxes(Rq, 1, 2)
    Lc = np.linalg.cholesky(0.5 * (inner + np.swapaxes(inner, 1, 2)))
    bg = np.swapaxes(beta, 1, 2) @ g[:, :, None]  # (B, 2m, 1)
    mu = x + alpha * g + (beta @ (gamma @ bg))[:, :, 0]
    diag = np.diagonal(Lc, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.log(alpha).sum(axis=1) + 2.0 * np.log(diag).sum(axis=1)
    ok = np.all(np.isfinite(mu), axis=1) & np.isfinite(logdet)
    return _Gaussians(its, mu, alpha, Q, Lc, logdet).take(ok)


def _lbfgs_path(logp_dlogp, x0, maxcor, maxiter, ftol, gtol, maxls):
    """Iterates and gradients of scipy's L-BFGS on ``-logp`` from ``x0``."""
    from scipy.optimize import minimize

    seen: dict[bytes, np.ndarray] = {}

    def fun(x):
        lp, g = logp_dlogp(x)
        if not np.isfinite(lp):
            return np.inf, np.zeros_like(x)
        seen[x.tobytes()] = g
        return -lp, -g

    xs, gs = [x0.copy()], []
    f0, g0 = fun(x0)
    if not np.isfinite(f0):
        raise ValueError("the log-density is not finite at the path's start")
    gs.append(-g0)

    def record(intermediate_result):
        x = np.array(intermediate_result.x)
        g = seen.get(x.tobytes())
        if g is None:
            g = logp_dlogp(x)[1]
        xs.append(x)
        gs.append(np.asarray(g))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options=dict(
                maxcor=maxcor, maxiter=maxiter, ftol=ftol, gtol=gtol, maxls=maxls
            ),
        )
    return np.array(xs), np.array(gs), res


def _single_path(
    logp_dlogp, batch_logp, x0, rng, maxcor, maxiter, ftol, gtol, maxls,
    epsilon, num_elbo_draws, num_draws,
):  # fmt: skip
    xs, gs, res = _lbfgs_path(logp_dlogp, x0, maxcor, maxiter, ftol, gtol, maxls)
    groups = _gaussian_groups(xs, gs, maxcor, epsilon)
    n = x0.size
    ok = np.sort(np.concatenate([g.iterates for g in groups])) if groups else []
    if not len(ok):
        raise ValueError(
            "Pathfinder: no iterate of L-BFGS gave a valid approximation (the "
            f"optimizer stopped after {len(xs) - 1} iterations: {res.message})"
        )
    # the draws of each iterate's ELBO, in iterate order
    u = rng.standard_normal((len(ok), num_elbo_draws, n))
    zs = np.empty_like(u)
    lqs = np.empty(u.shape[:2])
    for g in groups:
        rows = np.searchsorted(ok, g.iterates)
        zs[rows], lqs[rows] = g.draw(u[rows])
    lps = batch_logp(zs.reshape(-1, n)).reshape(len(ok), num_elbo_draws)
    with np.errstate(invalid="ignore"):
        elbo = np.mean(lps - lqs, axis=1)
    elbo = np.where(np.isfinite(elbo), elbo, -np.inf)
    best = ok[int(np.argmax(elbo))]
    g = next(g for g in groups if best in g.iterates)
    one = g.take(g.iterates == best)
    z, lq = one.draw(rng.standard_normal((1, num_draws, n)))
    return z[0], batch_logp(z[0]), lq[0], float(np.max(elbo)), len(xs) - 1


#: rows of the JAX batch log-density: batches are padded to a power of two
#: from 16 up to this, larger ones split into blocks of it, so a handful of
#: shapes are ever compiled (JAX compiles once per input shape, and the
#: number of Gaussians along a path, hence of ELBO draws, varies)
MAX_BLOCK = 1024


def _padded_rows(n: int) -> int:
    """The bucket ``n`` rows are padded to (``n <= MAX_BLOCK``).

    Examples
    --------
    >>> [_padded_rows(n) for n in (1, 16, 17, 600, 1024)]
    [16, 16, 32, 1024, 1024]
    """
    return max(16, 1 << (int(n) - 1).bit_length())


def _batch_logp_fn(model, backend):
    from tessera.compile.function import function
    from tessera.ops.type import TensorType
    from tessera.ppl.backend import cached_on_model, compile_with
    from tessera.ppl.inference.advi import batched_logp

    n = model.flat_layout().size
    xs = TensorType("float64", (None, n))(name="xs")
    # kept on the model: JAX compiles once per shape, and a new function
    # would compile each bucket again at every call
    fn, chosen = cached_on_model(
        model,
        "_compiled_batch_logp",
        backend if isinstance(backend, str) else backend.name,
        lambda: compile_with(
            backend,
            lambda b: function([xs], batched_logp(model, xs), backend=b),
            "ppl.pathfinder",
        ),
        "ppl.pathfinder",
    )

    def run(z):
        with np.errstate(all="ignore"):
            return np.asarray(fn(np.ascontiguousarray(z)), dtype=np.float64)

    if chosen.name != "jax":
        return run

    def call(z):
        out = []
        for lo in range(0, len(z), MAX_BLOCK):
            block = z[lo : lo + MAX_BLOCK]
            rows = _padded_rows(len(block))
            pad = np.repeat(block[-1:], rows - len(block), axis=0)
            out.append(run(np.concatenate([block, pad]))[: len(block)])
        return np.concatenate(out) if out else np.zeros(0)

    return call


def pathfinder_draws(
    model: Any = None,
    num_paths: int = 1,
    num_draws: int = 1000,
    maxcor: int | None = None,
    maxiter: int = 1000,
    jitter: float = 2.0,
    random_seed: Any = None,
    progressbar: bool = True,
    num_draws_per_path: int = 1000,
    num_elbo_draws: int = 10,
    ftol: float = 1e-5,
    gtol: float = 1e-8,
    maxls: int = 1000,
    epsilon: float = 1e-8,
    importance_sampling: str | None = "psis",
    initvals: dict | None = None,
    backend: str | Backend = "auto",
) -> PathfinderResult:
    """Pathfinder's draws on the flat unconstrained space (see
    :func:`pathfinder` for the parameters).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 0.0, 1.0, shape=3)
    >>> res = pathfinder_draws(m, num_draws=50, random_seed=1, progressbar=False)
    >>> res.draws.shape
    (50, 3)
    """
    from tessera.ppl.backend import compile_logp_dlogp
    from tessera.ppl.inference.engine import entropy_seed
    from tessera.ppl.inference.start import check_no_minibatch, start_values
    from tessera.ppl.model.context import modelcontext
    from tessera.ppl.progress import ProgressBar

    model = modelcontext(model)
    check_no_minibatch(model, "ppl.pathfinder")
    if importance_sampling not in ("psis", "psir", "identity", None):
        raise ValueError(
            "importance_sampling must be 'psis', 'psir', 'identity' or None, got "
            f"{importance_sampling!r}"
        )
    if int(num_paths) < 1 or int(num_draws) < 1:
        raise ValueError("num_paths and num_draws must be >= 1")
    n = model.flat_layout().size
    if maxcor is None:
        maxcor = max(5, int(np.ceil(3 * np.log(max(n, 1)))))
    logp_dlogp, chosen = compile_logp_dlogp(model, backend, "ppl.pathfinder")
    batch_logp = _batch_logp_fn(model, chosen)
    rng = np.random.default_rng(entropy_seed(random_seed))
    given = start_values(model, initvals, "ppl.pathfinder: initvals")
    per_path = (
        int(num_draws_per_path)
        if num_paths > 1
        else max(int(num_draws_per_path), int(num_draws))
    )
    zs, lps, lqs, elbos, iters = [], [], [], [], []
    bar = ProgressBar(int(num_paths), enabled=progressbar, desc="Pathfinder")
    failures = []
    for p in range(int(num_paths)):
        point = model.initial_point(random_seed=int(rng.integers(2**31)))
        point.update(given)
        x0 = model.point_to_array(point)
        x0 = x0 + rng.uniform(-jitter, jitter, size=x0.shape)
        try:
            z, lp, lq, elbo, it = _single_path(
                logp_dlogp, batch_logp, x0, rng, int(maxcor), int(maxiter),
                ftol, gtol, int(maxls), epsilon, int(num_elbo_draws), per_path,
            )  # fmt: skip
        except ValueError as error:
            failures.append(str(error))
            continue
        zs.append(z), lps.append(lp), lqs.append(lq), elbos.append(elbo)
        iters.append(it)
        bar.step(p, f"ELBO = {elbo:.4g}")
    bar.close()
    if not zs:
        raise ValueError(f"Pathfinder: every path failed: {failures[0]}")
    if failures:
        _log.warning("Pathfinder: %d of %d paths failed", len(failures), num_paths)
    z, lp, lq = np.concatenate(zs), np.concatenate(lps), np.concatenate(lqs)
    return _resample(z, lp, lq, int(num_draws), importance_sampling, rng, elbos, iters)


def _resample(z, lp, lq, num_draws, method, rng, elbos, iters) -> PathfinderResult:
    if method is None:
        idx = rng.choice(len(z), size=num_draws, replace=num_draws > len(z))
        return PathfinderResult(z[idx], lp[idx], lq[idx], None, elbos, iters)
    import arviz as az

    logw = np.where(np.isfinite(lp), lp - lq, -np.inf)
    pareto_k = None
    finite = logw[np.isfinite(logw)]
    if method in ("psis", "psir") and finite.size and np.ptp(finite) < 1e-6:
        pareto_k = 0.0  # equal weights (the approximation is exact): no tail
    elif method in ("psis", "psir"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smoothed, k = az.psislw(logw.copy())
        pareto_k = float(k)
        if method == "psis":
            logw = smoothed
        if pareto_k > 0.7:
            warnings.warn(
                f"Pathfinder: the Pareto k of the importance weights is "
                f"{pareto_k:.2f} > 0.7; the draws may be far from the posterior "
                "(try more paths, or NUTS)",
                UserWarning,
                stacklevel=3,
            )
    w = np.exp(logw - np.max(logw))
    w = w / w.sum()
    idx = rng.choice(len(z), size=num_draws, replace=True, p=w)
    return PathfinderResult(z[idx], lp[idx], lq[idx], pareto_k, elbos, iters)


def pathfinder(
    model: Any = None,
    num_paths: int = 1,
    num_draws: int = 1000,
    maxcor: int | None = None,
    maxiter: int = 1000,
    jitter: float = 2.0,
    random_seed: Any = None,
    progressbar: bool = True,
    *,
    num_draws_per_path: int = 1000,
    num_elbo_draws: int = 10,
    ftol: float = 1e-5,
    gtol: float = 1e-8,
    maxls: int = 1000,
    epsilon: float = 1e-8,
    importance_sampling: str | None = "psis",
    initvals: dict | None = None,
    backend: str | Backend = "auto",
):
    """Approximate the posterior with (multi-path) Pathfinder.

    Parameters
    ----------
    model : Model, optional
    num_paths : int
        Independent L-BFGS paths from jittered starts.
    num_draws : int
        Draws returned (after importance resampling).
    maxcor : int, optional
        L-BFGS memory (pairs kept); default ``max(5, ceil(3 log n))``.
    maxiter : int
        L-BFGS iterations per path at most.
    jitter : float
        Starts are the initial point plus uniform(-jitter, jitter) noise
        (unconstrained space).
    random_seed : int, optional
    progressbar : bool
    num_draws_per_path : int
        Draws from each path's best approximation (multi-path).
    num_elbo_draws : int
        Draws behind each iterate's ELBO estimate.
    ftol, gtol, maxls : float, float, int
        L-BFGS stopping rules and line-search steps (scipy's names).
    epsilon : float
        Curvature threshold of the (s, y) pairs.
    importance_sampling : {"psis", "psir", "identity", None}
        Resampling of the draws: Pareto-smoothed weights, raw weights
        (reporting k), unsmoothed weights without k, or none (plain pooling).
    initvals : dict, optional
        Starting values (original space) in place of the initial point's.
    backend : {"auto", "numpy", "jax"} or Backend

    Returns
    -------
    arviz.InferenceData
        ``posterior`` (one chain of ``num_draws``) in the original space
        with coords; ``sample_stats`` with ``lp`` and ``logq``; attributes
        ``pareto_k``, ``elbo`` (best per path) and ``lbfgs_iterations``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model(coords={"g": ["a", "b"]}) as m:
    ...     mu = ppl.Normal("mu", 0.0, 1.0, dims="g")
    ...     idata = ppl.pathfinder(num_paths=4, num_draws=200, random_seed=0,
    ...                            num_draws_per_path=200, progressbar=False)
    >>> idata.posterior["mu"].dims, idata.posterior.attrs["pareto_k"] < 0.7
    (('chain', 'draw', 'g'), True)
    """
    from tessera.ppl.model.context import modelcontext
    from tessera.ppl.model.idata import posterior_from_flat

    model = modelcontext(model)
    res = pathfinder_draws(
        model, num_paths, num_draws, maxcor, maxiter, jitter, random_seed,
        progressbar, num_draws_per_path, num_elbo_draws, ftol, gtol, maxls,
        epsilon, importance_sampling, initvals, backend,
    )  # fmt: skip
    attrs = {
        "inference": "pathfinder",
        "num_paths": int(num_paths),
        "pareto_k": np.nan if res.pareto_k is None else res.pareto_k,
        "elbo": np.array(res.elbo),
        "lbfgs_iterations": np.array(res.iterations),
    }
    return posterior_from_flat(
        model,
        res.draws[None],
        sample_stats={"lp": res.logp[None], "logq": res.logq[None]},
        attrs=attrs,
    )
