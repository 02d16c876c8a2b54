"""Truncated distributions: any univariate distribution, and the truncated normal.

.. math:: f_T(x) = \\frac{f(x)}{F(u) - F(l^-)}, \\quad l \\le x \\le u

where :math:`F(l^-)` is :math:`F(l)` for continuous and :math:`F(l - 1)`
for discrete distributions. ``Truncated`` wraps any univariate distribution:
sampling inverts the CDF (through the base op's ``scipy_dist``, working in
the upper tail with the survival function so deep truncations stay
accurate); bases without one fall back to vectorized rejection sampling
(whole-batch rounds, never a loop over elements). ``TruncatedNormal`` is
the normal case with its own parameters and closed-form normalizer.

JAX samplers: :mod:`tessera.ppl.jax.truncated`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats as st

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.signature import parse_signature
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import (
    Continuous,
    Distribution,
    dist_of_op,
    register_op,
)
from tessera.ppl.distributions.dist_math import (
    LOG_2,
    NEG_INF,
    clamp_logcdf,
    in_closed,
    log_diff_ndtr,
    logdiffexp,
    normal_logpdf,
)
from tessera.ppl.distributions.logprob import op_logcdf, op_logp
from tessera.ppl.distributions.params import (
    positive,
    sigma_from,
)
from tessera.random.op import RandomVariable
from tessera.random.type import is_none_const


def _is_discrete_op(op: RandomVariable) -> bool:
    return np.dtype(op.out_dtype()).kind in "iu"


class TruncatedRV(RandomVariable):
    """Sampler of a truncated distribution: inputs ``(rng, size, lower, upper,
    *base params)``.

    Parameters
    ----------
    base : RandomVariable
        The univariate op being truncated.
    max_n_steps : int
        Rounds of rejection sampling before giving up (bases without
        ``scipy_dist`` only).
    """

    name = "truncated"
    __props__ = ("base", "max_n_steps")

    def __init__(self, base: RandomVariable, max_n_steps: int = 1000):
        if base.ndim_supp != 0:
            raise NotImplementedError("Truncated: only univariate distributions")
        self.base = base
        self.max_n_steps = int(max_n_steps)
        params = ",".join(["()", "()"] + ["()"] * len(base.ndims_params))
        super().__init__(signature=f"{params}->()", dtype=base.dtype)
        if set(parse_signature(base.signature).input_ndims) - {0}:
            raise NotImplementedError("Truncated: base parameters must be scalars")

    def rng_fn(self, rng, lower, upper, *params, size):
        if self.base.scipy_dist is not None:
            return self._inverse_cdf(rng, lower, upper, params, size)
        return self._rejection(rng, lower, upper, params, size)

    def _inverse_cdf(self, rng, lower, upper, params, size):
        d = self.base.scipy_dist(*params)
        discrete = _is_discrete_op(self.base)
        lo = np.asarray(lower) - 1 if discrete else np.asarray(lower)
        with np.errstate(all="ignore"):
            f_lo, f_hi = d.cdf(lo), d.cdf(upper)
            u = rng.uniform(size=size)
            x_cdf = d.ppf(f_lo + u * (f_hi - f_lo))
            if not discrete:
                # the upper tail through the survival function keeps full
                # precision far above the median
                s_lo, s_hi = d.sf(lo), d.sf(upper)
                x_sf = d.isf(s_lo - u * (s_lo - s_hi))
        if not discrete:
            x_cdf = np.where(f_lo > 0.5, x_sf, x_cdf)
        return np.clip(x_cdf, lower, upper)

    def _rejection(self, rng, lower, upper, params, size):
        x = np.asarray(self.base.rng_fn(rng, *params, size=size))
        bad = (x < lower) | (x > upper)
        for _ in range(self.max_n_steps):
            if not bad.any():
                return x
            new = np.asarray(self.base.rng_fn(rng, *params, size=size))
            x = np.where(bad, new, x)
            bad = (x < lower) | (x > upper)
        raise RuntimeError(
            f"Truncated({self.base}): rejection sampling did not finish in "
            f"{self.max_n_steps} rounds; the interval holds too little mass"
        )


def _static_inf(v: Variable, sign: float) -> bool:
    val = get_static_value(v)
    return val is not None and bool(np.all(val == sign * np.inf))


class Truncated(Distribution):
    r"""A univariate distribution truncated to ``[lower, upper]``.

    .. math:: f_T(x) = \frac{f(x)}{F(u) - F(l^-)}, \quad l \le x \le u

    Parameters: ``dist`` (a ``.dist(...)`` variable), ``lower`` and
    ``upper`` (None for no bound; may be batched).

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Truncated.dist(ppl.Normal.dist(0.0, 1.0), lower=0.0)
    >>> round(float(ppl.logp(x, 0.5).eval()), 4)  # half-normal density
    -0.3508
    >>> bool((ppl.draw(x, draws=100, random_seed=0) >= 0).all())
    True
    """

    params = ("lower", "upper")
    default_transform = "interval"
    support = "interval"

    @classmethod
    def dist(
        cls,
        dist: Variable,
        lower: Any = None,
        upper: Any = None,
        size: Any = None,
        max_n_steps: int = 1000,
        rng: Any = None,
    ) -> Variable:
        """``dist`` truncated to ``[lower, upper]``; ``size`` defaults to ``dist``'s."""
        node = getattr(dist, "owner", None)
        if node is None or not isinstance(node.op, RandomVariable):
            raise TypeError(
                f"Truncated: {dist} is not a distribution; build it with "
                "ppl.<Distribution>.dist(...)"
            )
        if isinstance(node.op, TruncatedRV):
            raise TypeError("Truncated: the distribution is already truncated")
        base = node.op
        bdtype = config.floatX
        lower = as_tensor(-np.inf if lower is None else lower)
        upper = as_tensor(np.inf if upper is None else upper)
        lower, upper = lower.astype(bdtype), upper.astype(bdtype)
        lo, hi = get_static_value(lower), get_static_value(upper)
        if lo is not None and hi is not None and not np.all(lo < hi):
            if not (_is_discrete_op(base) and np.all(lo <= hi)):
                raise ValueError(f"Truncated: lower {lo} must be below upper {hi}")
        if size is None and not is_none_const(node.inputs[1]):
            size = node.inputs[1]
        op = TruncatedRV(base, max_n_steps)
        return op(lower, upper, *node.inputs[2:], size=size, rng=rng)

    @classmethod
    def _log_mass(cls, op: TruncatedRV, lower, upper, bparams):
        """``log(F(upper) - F(lower^-))`` with the static simplifications."""
        no_lo, no_hi = _static_inf(lower, -1), _static_inf(upper, 1)
        if no_lo and no_hi:
            return 0.0
        lo = lower - 1.0 if _is_discrete_op(op.base) else lower
        if no_lo:
            return op_logcdf(op.base, upper, bparams)
        lc_lo = op_logcdf(op.base, lo, bparams)
        if no_hi:
            return tm.log1mexp(lc_lo)
        return logdiffexp(op_logcdf(op.base, upper, bparams), lc_lo)

    @classmethod
    def node_logp(cls, op, value, params):
        lower, upper, *bparams = params
        lp = op_logp(op.base, value, bparams)
        return lp - cls._log_mass(op, lower, upper, bparams)

    @classmethod
    def node_logcdf(cls, op, value, params):
        lower, upper, *bparams = params
        x = tm.clip(value, lower, upper)
        lc = op_logcdf(op.base, x, bparams)
        if not _static_inf(lower, -1):
            lo = lower - 1.0 if _is_discrete_op(op.base) else lower
            lc = logdiffexp(lc, op_logcdf(op.base, lo, bparams))
        lc = lc - cls._log_mass(op, lower, upper, bparams)
        return tm.where(
            tm.lt(value, lower), NEG_INF, tm.where(tm.ge(value, upper), 0.0, lc)
        )

    @classmethod
    def node_support_mask(cls, op, value, params):
        lower, upper = params[:2]
        return tm.logical_and(tm.ge(value, lower), tm.le(value, upper))

    @classmethod
    def node_param_conditions(cls, op, params):
        lower, upper = params[:2]
        cmp = tm.le if _is_discrete_op(op.base) else tm.lt
        return [(cmp(lower, upper), "lower < upper")]

    @classmethod
    def node_support_bounds(cls, op, params):
        lower, upper, *bparams = params
        blo, bhi = dist_of_op(op.base).node_support_bounds(op.base, bparams)
        return (
            blo if _static_inf(lower, -1) else lower,
            bhi if _static_inf(upper, 1) else upper,
        )

    @classmethod
    def node_moment(cls, op, params):
        lower, upper, *bparams = params
        m = as_tensor(dist_of_op(op.base).node_moment(op.base, bparams))
        return tm.clip(m, lower, upper)


register_op(TruncatedRV, Truncated)


# --- Truncated normal --------------------------------------------------------------------
class TruncatedNormalRV(RandomVariable):
    name, signature, dtype = "truncated_normal", "(),(),(),()->()", "floatX"

    def scipy_dist(self, mu, sigma, lower, upper):
        a = (np.asarray(lower) - mu) / sigma
        b = (np.asarray(upper) - mu) / sigma
        return st.truncnorm(a, b, mu, sigma)

    def rng_fn(self, rng, mu, sigma, lower, upper, size):
        return self.scipy_dist(mu, sigma, lower, upper).rvs(size=size, random_state=rng)


class TruncatedNormal(Continuous):
    r"""Normal distribution truncated to ``[lower, upper]``.

    .. math:: f(x \mid \mu, \sigma, l, u) =
              \frac{\phi\left(\frac{x-\mu}{\sigma}\right)}
              {\sigma \left[\Phi\left(\frac{u-\mu}{\sigma}\right)
              - \Phi\left(\frac{l-\mu}{\sigma}\right)\right]},
              \quad l \le x \le u

    Parameters: ``mu`` (default 0), ``sigma`` > 0 (default 1) or ``tau``,
    ``lower`` (default ``-inf``), ``upper`` (default ``inf``), ``lower < upper``.
    An absent bound costs nothing in the log-density.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.TruncatedNormal.dist(0.0, 1.0, lower=0.0)
    >>> round(float(ppl.logp(x, 0.5).eval()), 4)  # half-normal density
    -0.3508
    """

    rv_op = TruncatedNormalRV()
    params = ("mu", "sigma", "lower", "upper")
    support = "interval"
    default_transform = "interval"

    @classmethod
    def _canonical_params(cls, mu=0.0, sigma=None, lower=None, upper=None, tau=None):
        lower = -np.inf if lower is None else lower
        upper = np.inf if upper is None else upper
        return [mu, sigma_from(sigma, tau), lower, upper]

    @classmethod
    def _param_conditions(cls, mu, sigma, lower, upper):
        return positive(sigma=sigma) + [(tm.lt(lower, upper), "lower < upper")]

    @classmethod
    def _support_mask(cls, value, mu, sigma, lower, upper):
        return in_closed(value, lower, upper)

    @classmethod
    def _support_bounds(cls, mu, sigma, lower, upper):
        return (
            None if _static_inf(lower, -1) else lower,
            None if _static_inf(upper, 1) else upper,
        )

    @classmethod
    def _log_normalizer(cls, mu, sigma, lower, upper):
        no_lower, no_upper = _static_inf(lower, -1), _static_inf(upper, 1)
        a, b = (lower - mu) / sigma, (upper - mu) / sigma
        if no_lower and no_upper:
            return 0.0
        if no_lower:
            return tm.log_ndtr(b)
        if no_upper:
            return tm.log_ndtr(-a)
        return log_diff_ndtr(a, b)

    @classmethod
    def _logp(cls, value, mu, sigma, lower, upper):
        return (
            normal_logpdf((value - mu) / sigma)
            - tm.log(sigma)
            - cls._log_normalizer(mu, sigma, lower, upper)
        )

    @classmethod
    def _logcdf(cls, value, mu, sigma, lower, upper):
        x = tm.clip(value, lower, upper)
        z = (x - mu) / sigma
        if _static_inf(lower, -1):
            num = tm.log_ndtr(z)
        else:
            num = log_diff_ndtr((lower - mu) / sigma, z)
        log_norm = cls._log_normalizer(mu, sigma, lower, upper)
        lc = num - log_norm
        if not _static_inf(upper, 1):
            # above the median, log(1 - P(X > x)) keeps the digits that
            # num - log_norm loses as both near the same value
            log_sf = log_diff_ndtr(z, (upper - mu) / sigma) - log_norm
            lc = tm.where(tm.lt(lc, -LOG_2), lc, tm.log1mexp(tm.minimum(log_sf, 0.0)))
        return clamp_logcdf(lc, value, lower, upper)

    @classmethod
    def _moment(cls, mu, sigma, lower, upper):
        # mu when it is inside; else the midpoint, or one sigma inside the bound
        lo_f, hi_f = tm.isfinite(lower), tm.isfinite(upper)
        mid = tm.where(
            tm.logical_and(lo_f, hi_f),
            0.5 * (lower + upper),
            tm.where(lo_f, lower + sigma, upper - sigma),
        )
        inside = tm.logical_and(tm.gt(mu, lower), tm.lt(mu, upper))
        return tm.where(inside, mu, mid)
