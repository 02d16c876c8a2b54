"""Continuous distributions of an angle (support on the circle ``[-pi, pi]``).

The model samples them through the ``"circular"`` transform.

JAX samplers: :mod:`tessera.ppl.jax.continuous.circular`.
"""

from __future__ import annotations

import math

from tessera.ops import math as tm
from tessera.ppl.distributions.base import Continuous
from tessera.ppl.distributions.dist_math import NEG_INF, logdiffexp
from tessera.ppl.distributions.logcdf_kernels import vonmises_logcdf
from tessera.ppl.distributions.params import positive_params
from tessera.random.op import RandomVariable

__all__ = ["VonMises"]


# --- von Mises --------------------------------------------------------------------
class VonMisesRV(RandomVariable):
    name, signature, dtype = "vonmises", "(),()->()", "floatX"

    def rng_fn(self, rng, mu, kappa, size):
        return rng.vonmises(mu, kappa, size=size)


class VonMises(Continuous):
    r"""Von Mises distribution of an angle in :math:`[-\pi, \pi]`.

    .. math:: f(x \mid \mu, \kappa) = \frac{e^{\kappa \cos(x - \mu)}}{2\pi I_0(\kappa)}

    Parameters: ``mu`` (mean direction, default 0), ``kappa`` > 0
    (concentration, default 1). The log-CDF is that of the angle on
    ``[-pi, pi]`` (SciPy's ``vonmises.logcdf`` when ``mu = 0``).

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logcdf(ppl.VonMises.dist(0.0, 2.0), 0.0).eval()), 4)
    -0.6931
    """

    rv_op = VonMisesRV()
    params = ("mu", "kappa")
    _param_conditions = positive_params("kappa")
    defaults = {"mu": 0.0, "kappa": 1.0}
    support = "circular"
    default_transform = "circular"

    @classmethod
    def _support_mask(cls, value, mu, kappa):
        return tm.logical_and(tm.ge(value, -math.pi), tm.le(value, math.pi))

    @classmethod
    def _support_bounds(cls, mu, kappa):
        return (-math.pi, math.pi)

    @classmethod
    def _logp(cls, value, mu, kappa):
        return (
            kappa * (tm.cos(value - mu) - 1.0)
            - math.log(2.0 * math.pi)
            - tm.log(tm.i0e(kappa))
        )

    @classmethod
    def _logcdf(cls, value, mu, kappa):
        # P(X <= x) of the angle on [-pi, pi] is the mass of the centred
        # angle on [a, b], a = wrap(-pi - mu), b = wrap(x - mu), written so
        # that nothing cancels: G(b) - G(a) below the mode, Q(a) - Q(b) above
        # it (Q(t) = G(-t)), Q(a) + G(b) when the interval wraps around
        def wrap(t):
            return t - 2.0 * math.pi * tm.floor((t + math.pi) / (2.0 * math.pi))

        def log_g(t):
            return vonmises_logcdf(t, kappa)

        def log_q(t):
            return vonmises_logcdf(-t, kappa)

        edge = tm.logical_or(tm.le(value, -math.pi), tm.ge(value, math.pi))
        x = tm.where(edge, 0.0, value)  # the edges are set below; no NaN
        a, b = wrap(-math.pi - mu), wrap(x - mu)
        lo, hi = tm.minimum(a, b), tm.maximum(a, b)
        inside = tm.where(
            tm.lt(lo, 0.0),
            logdiffexp(log_g(hi), log_g(lo)),
            logdiffexp(log_q(lo), log_q(hi)),
        )
        lc = tm.where(tm.lt(a, b), inside, tm.logaddexp(log_q(a), log_g(b)))
        lc = tm.where(tm.le(value, -math.pi), NEG_INF, lc)
        return tm.where(tm.ge(value, math.pi), 0.0, lc)

    @classmethod
    def _moment(cls, mu, kappa):
        return mu + 0.0 * kappa
