"""Log-CDFs computed in log space where the textbook formulas cancel.

* ``skewnorm_logcdf(z, alpha)``: the standard skew-normal's ``log F``.
  ``F = Phi(z) - 2 T(z, alpha)`` (Owen's T) subtracts two numbers of order
  ``exp(-z^2 / 2)`` to get one of order ``exp(-(1 + alpha^2) z^2 / 2)``:
  NaN at ``z = -5, alpha = 3`` and ``-inf`` beyond.
* ``vonmises_logcdf(x, kappa)``: ``log G`` of the von Mises angle centred at
  0 on ``[-pi, pi]``; SciPy's series and normal approximation are accurate
  in absolute terms only (NaN, ``-inf`` or positive logs in the tails).

Both write the lower tail (up to the mode) as an integral of a
log-concave density ``g`` from the left, ``F(z) = g(z) int_0^S exp(-psi(s))
ds`` with ``psi(s) = log g(z) - log g(z - s)`` (``0 <= psi``, increasing,
convex), and integrate it with 64-point Gauss-Legendre on ``[0, S]``, ``S``
the point where the convexity bound puts ``psi`` at 50 (the neglected rest
is below ``e^-50`` relative). The upper tail is ``log1p(-lower tail)`` of
the reflected distribution. The kernels are written once for any array
namespace, so the JAX backend runs the same code natively
(:mod:`tessera.ppl.jax.dist_math`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.special as sp

from tessera.graph.null import NonDifferentiable
from tessera.ops import math as tm
from tessera.ops.elemwise import Elemwise, ScalarFn

__all__ = ["skewnorm_logcdf", "vonmises_logcdf"]

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_2PI = math.log(2.0 * math.pi)
PSI_MAX = 50.0
N_NODES = 64


@lru_cache(maxsize=4)
def _gauss_legendre(n: int = N_NODES):
    """Nodes and weights of Gauss-Legendre on ``[0, 1]``."""
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _integral(xp, span, integrand):
    """``int_0^span integrand(s) ds`` (batched: ``span`` (...,), nodes last)."""
    nodes, weights = _gauss_legendre()
    s = span[..., None] * xp.asarray(nodes, span.dtype)
    return span * xp.sum(xp.asarray(weights, span.dtype) * integrand(s), axis=-1)


# --- skew-normal ------------------------------------------------------------------


def _sn_lower(xp, special, z, a):
    """``log F(z; a)`` for ``z`` at or below the mode (finite inputs)."""

    def log_g(t, aa):
        return -0.5 * t * t - LOG_SQRT_2PI + special.log_ndtr(aa * t)

    az = a * z
    h = xp.exp(-0.5 * az * az - LOG_SQRT_2PI - special.log_ndtr(az))
    c = xp.maximum(-z + a * h, 0.0)  # -(log g)'(z) >= 0 at or below the mode
    # the curvature of -log g is at least 1 (and 1 + a^2 w(az) for a > 0)
    w = xp.clip(h * (az + h), 0.0, 1.0)
    k = 1.0 + xp.where(a > 0, a * a * w, 0.0)
    span = 2.0 * PSI_MAX / (c + xp.sqrt(c * c + 2.0 * PSI_MAX * k))
    lz = log_g(z, a)
    zz, aa = z[..., None], a[..., None]
    integral = _integral(xp, span, lambda s: xp.exp(log_g(zz - s, aa) - lz[..., None]))
    return math.log(2.0) + lz + xp.log(integral)


def skewnorm_logcdf_kernel(z, a, xp=np, special=sp):
    """``log F(z; a)`` of the standard skew-normal, for any array namespace.

    Examples
    --------
    >>> float(skewnorm_logcdf_kernel(-5.0, 3.0))  # doctest: +ELLIPSIS
    -132.777...
    """
    z, a = xp.broadcast_arrays(xp.asarray(z) + 0.0, xp.asarray(a) + 0.0)
    finite = xp.isfinite(z) & xp.isfinite(a)
    zs, as_ = xp.where(finite, z, 0.0), xp.where(finite, a, 0.0)
    az = as_ * zs
    h = xp.exp(-0.5 * az * az - LOG_SQRT_2PI - special.log_ndtr(az))
    below = -zs + as_ * h >= 0  # z at or below the mode
    zz, aa = xp.where(below, zs, -zs), xp.where(below, as_, -as_)
    tail = _sn_lower(xp, special, zz, aa)
    out = xp.where(below, tail, xp.log1p(-xp.exp(tail)))
    out = xp.where(z == -np.inf, -np.inf, xp.where(z == np.inf, 0.0, out))
    return xp.where(xp.isnan(z) | xp.isnan(a), np.nan, out)


def _skewnorm_logcdf(z, a):
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        return skewnorm_logcdf_kernel(z, a)


def _skewnorm_logcdf_grad(inputs, out, g):
    z, a = inputs
    log_pdf = math.log(2.0) - 0.5 * z * z - LOG_SQRT_2PI + tm.log_ndtr(a * z)
    # dF/da = -2 dT/da = -exp(-z^2 (1 + a^2) / 2) / (pi (1 + a^2))
    one_a2 = 1.0 + a * a
    d_a = -tm.exp(-0.5 * z * z * one_a2 - out) / (math.pi * one_a2)
    return [g * tm.exp(log_pdf - out), g * d_a]


skewnorm_logcdf = Elemwise(
    ScalarFn("skewnorm_logcdf", _skewnorm_logcdf, 2, _skewnorm_logcdf_grad)
)
"""``log F(z; alpha)`` of the standard skew-normal, accurate in both tails."""


# --- von Mises --------------------------------------------------------------------


def _vm_lower(xp, special, x, k):
    """``log G(x; k)`` for ``x`` in ``[-pi, 0]`` (the density increases on
    ``[-pi, x]``)."""
    cx = xp.cos(x)
    threshold = cx - PSI_MAX / k
    span = xp.where(
        threshold <= -1.0, x + math.pi, x + xp.arccos(xp.clip(threshold, -1.0, 1.0))
    )
    span = xp.clip(span, 0.0, x + math.pi)
    xx, kk = x[..., None], k[..., None]

    def integrand(s):
        # k (cos x - cos(x - s)) without cancellation for small s
        return xp.exp(2.0 * kk * xp.sin(xx - 0.5 * s) * xp.sin(0.5 * s))

    integral = _integral(xp, span, integrand)
    return k * (cx - 1.0) + xp.log(integral) - LOG_2PI - xp.log(special.i0e(k))


def vonmises_logcdf_kernel(x, k, xp=np, special=sp):
    """``log G(x; k)``: the von Mises angle centred at 0, ``x`` in ``[-pi, pi]``.

    Examples
    --------
    >>> float(vonmises_logcdf_kernel(-3.1, 19.0))  # doctest: +ELLIPSIS
    -40.6278...
    """
    x, k = xp.broadcast_arrays(xp.asarray(x) + 0.0, xp.asarray(k) + 0.0)
    ok = (k > 0) & xp.isfinite(k)
    ks = xp.where(ok, k, 1.0)
    xc = xp.clip(x, -math.pi, math.pi)
    below = xc <= 0
    tail = _vm_lower(xp, special, xp.where(below, xc, -xc), ks)
    out = xp.where(below, tail, xp.log1p(-xp.exp(tail)))
    out = xp.where(x < -math.pi, -np.inf, xp.where(x >= math.pi, 0.0, out))
    return xp.where(ok & ~xp.isnan(x), out, np.nan)


def _vonmises_logcdf(x, k):
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        return vonmises_logcdf_kernel(x, k)


vonmises_logcdf = Elemwise(
    ScalarFn(
        "vonmises_logcdf",
        _vonmises_logcdf,
        2,
        lambda i, o, g: [
            g
            * tm.exp(i[1] * (tm.cos(i[0]) - 1.0) - LOG_2PI - tm.log(tm.i0e(i[1])) - o),
            NonDifferentiable(vonmises_logcdf, "derivative in kappa"),
        ],
    )
)
"""``log G(x; kappa)`` of the von Mises angle centred at 0 on ``[-pi, pi]``."""
