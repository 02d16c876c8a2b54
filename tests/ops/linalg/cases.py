"""Shared helpers for the linalg tests: inputs, batch shapes, references.

The reference for a batched op is the NumPy/SciPy function applied to each
batch element in a Python loop (here, in the test), after broadcasting the
batch dims of all arguments.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

import tessera as ts
from tessera.testing import verify_grad

# batch shapes of a single argument, and pairs that broadcast between two
BATCHES = [(), (4,), (2, 3)]
PAIRS = [((), ()), ((4,), ()), ((), (4,)), ((2, 3), (2, 3)), ((2, 1), (1, 3))]
GRAD_PAIRS = [((), ()), ((4,), (4,)), ((2, 3), (2, 3)), ((2, 1), (1, 3))]


def spd(rng, batch, n):
    """Well-conditioned symmetric positive definite matrices."""
    x = rng.standard_normal(tuple(batch) + (n, n))
    return x @ np.swapaxes(x, -1, -2) / n + np.eye(n)


def general(rng, batch, m, n=None):
    """Well-conditioned general matrices (square when ``n`` is None)."""
    n = m if n is None else n
    x = rng.standard_normal(tuple(batch) + (m, n))
    if m == n:
        x = x / np.sqrt(n) + 2.0 * np.eye(n)
    return x


def triangular(rng, batch, n, lower=True, junk=True):
    """Triangular matrices with a dominant diagonal; the other triangle holds
    junk (the ops must not read it) unless ``junk`` is False."""
    x = rng.standard_normal(tuple(batch) + (n, n))
    t = np.tril(x / n, -1) if lower else np.triu(x / n, 1)
    t = t + np.eye(n) * (2.0 + rng.random(tuple(batch) + (1, n)))
    if junk:
        t = t + (np.triu(x, 1) if lower else np.tril(x, -1))
    return t


def per_element(fn, args, core_ndims, n_out=1):
    """Apply ``fn`` to each batch element of broadcast ``args`` and stack."""
    batch = np.broadcast_shapes(
        *[np.shape(a)[: np.ndim(a) - nd] for a, nd in zip(args, core_ndims)]
    )
    arrays = [
        np.broadcast_to(a, batch + np.shape(a)[np.ndim(a) - nd :])
        for a, nd in zip(args, core_ndims)
    ]
    results = []
    for idx in np.ndindex(*batch):
        res = fn(*[a[idx] for a in arrays])
        results.append(res if n_out > 1 else (res,))
    if not results:
        raise ValueError("per_element needs a non-empty batch")
    outs = []
    for k in range(n_out):
        parts = [np.asarray(r[k]) for r in results]
        outs.append(np.stack(parts).reshape(batch + parts[0].shape))
    return outs if n_out > 1 else outs[0]


def evaluate(fn, args, static=True):
    """Build ``fn`` on symbolic inputs shaped like ``args`` and run it.

    With ``static=False`` every dim is unknown at build time.
    """
    syms = [
        ts.tensor(
            f"x{k}",
            shape=a.shape if static else (None,) * a.ndim,
            dtype=a.dtype,
        )
        for k, a in enumerate(args)
    ]
    out = fn(*syms)
    outs = list(out) if isinstance(out, tuple | list) else out
    return ts.function(syms, outs)(*args)


def check_grad(fn, args, **kw):
    """verify_grad with contiguous float inputs."""
    verify_grad(fn, [np.ascontiguousarray(a) for a in args], **kw)


def sym(x):
    """Symmetrize a symbolic input, so gradients see symmetric perturbations."""
    return 0.5 * (x + x.mT)


def fix_signs(v, axis=-2):
    """Eigen/singular vectors with a sign convention (largest entry positive)."""
    idx = np.argmax(np.abs(v), axis=axis)
    pick = np.take_along_axis(v, np.expand_dims(idx, axis), axis=axis)
    return v * np.sign(pick)


def cholesky_pullback_reference(c, g):
    """abar = S + S^T, S = c^-T Phi(c^T g) c^-1 / 2, per matrix with SciPy."""

    def one(c, g):
        c = np.tril(c)
        p = np.tril(c.T @ np.tril(g)) * (
            0.5 * np.tril(np.ones(c.shape), -1) + 0.25 * np.eye(len(c))
        )
        y = sla.solve_triangular(c, p, lower=True, trans=1)
        s = sla.solve_triangular(c, y.T, lower=True, trans=1).T
        return s + s.T

    return per_element(one, [c, g], [2, 2])


def factor_and_cotangent(rng, batch_c, batch_g, n):
    """A lower factor and a cotangent, junk above both diagonals."""
    # junk above the diagonal of both: the kernel must read lower triangles only
    c = triangular(rng, batch_c, n, lower=True, junk=True)
    g = rng.standard_normal(tuple(batch_g) + (n, n))
    return c, g
