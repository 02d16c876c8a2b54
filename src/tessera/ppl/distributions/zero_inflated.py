"""Zero-inflated count distributions: a point mass at 0 mixed with a base.

With probability ``1 - psi`` the value is 0, otherwise it is drawn from the
base distribution (Poisson, binomial or negative binomial):

.. math:: f(x) = (1 - \\psi)\\,[x = 0] + \\psi\\, f_{\text{base}}(x)
"""

from __future__ import annotations

import numpy as np

from tessera.ops import math as tm
from tessera.ppl.distributions.discrete import (
    Binomial,
    NegativeBinomial,
    NonNegativeDiscrete,
    Poisson,
    _p_from_logit,
    _prob,
)
from tessera.ppl.distributions.dist_math import NEG_INF
from tessera.random.op import RandomVariable


class ZeroInflatedRV(RandomVariable):
    """Draws of a base op where a ``psi``-coin says so, else 0."""

    dtype = "int64"
    base_op: RandomVariable

    def rng_fn(self, rng, psi, *params, size):
        base = self.base_op.rng_fn(rng, *params, size=size)
        keep = rng.random(size=size) < psi
        return np.where(keep, base, 0)


class _ZeroInflated(NonNegativeDiscrete):
    base: type[NonNegativeDiscrete]

    @classmethod
    def _param_conditions(cls, psi, *params):
        return _prob("psi", psi) + cls.base._param_conditions(*params)

    @classmethod
    def _support_mask(cls, value, psi, *params):
        return cls.base._support_mask(value, *params)

    @classmethod
    def _support_bounds(cls, psi, *params):
        return cls.base._support_bounds(*params)

    @classmethod
    def _logp(cls, value, psi, *params):
        inflated = tm.log(psi) + cls.base._logp(value, *params)
        at_zero = tm.logaddexp(tm.log1p(-psi), inflated)
        return tm.where(tm.eq(value, 0), at_zero, inflated)

    @classmethod
    def _logcdf(cls, value, psi, *params):
        lc = tm.logaddexp(
            tm.log1p(-psi), tm.log(psi) + cls.base._logcdf(value, *params)
        )
        return tm.where(tm.lt(value, 0), NEG_INF, lc)

    @classmethod
    def _moment(cls, psi, *params):
        return tm.floor(psi * cls.base._moment(*params))


class ZeroInflatedPoissonRV(ZeroInflatedRV):
    name, signature = "zero_inflated_poisson", "(),()->()"
    base_op = Poisson.rv_op


class ZeroInflatedPoisson(_ZeroInflated):
    r"""Zero-inflated Poisson distribution.

    .. math:: f(x \mid \psi, \mu) = (1 - \psi)[x = 0] + \psi \frac{\mu^x e^{-\mu}}{x!}

    Parameters: ``psi`` in [0, 1] (probability of the Poisson component),
    ``mu`` >= 0.

    Examples
    --------
    >>> from tessera import ppl
    >>> round(float(ppl.logp(ppl.ZeroInflatedPoisson.dist(0.5, 2.0), 0).eval()), 4)
    -0.5662
    """

    rv_op = ZeroInflatedPoissonRV()
    params = ("psi", "mu")
    base = Poisson


class ZeroInflatedBinomialRV(ZeroInflatedRV):
    name, signature = "zero_inflated_binomial", "(),(),()->()"
    base_op = Binomial.rv_op


class ZeroInflatedBinomial(_ZeroInflated):
    r"""Zero-inflated binomial distribution.

    .. math:: f(x \mid \psi, n, p) = (1 - \psi)[x = 0]
              + \psi \binom{n}{x} p^x (1 - p)^{n - x}

    Parameters: ``psi`` in [0, 1], ``n`` >= 0 (integer), ``p`` in [0, 1]
    or ``logit_p``.

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.ZeroInflatedBinomial.dist(0.7, 5, [0.2, 0.4]).type.shape
    (2,)
    """

    rv_op = ZeroInflatedBinomialRV()
    params = ("psi", "n", "p")
    integer_params = ("n",)
    base = Binomial

    @classmethod
    def _canonical_params(cls, psi, n, p=None, logit_p=None):
        return [psi, n, _p_from_logit(p, logit_p)]


class ZeroInflatedNegativeBinomialRV(ZeroInflatedRV):
    name, signature = "zero_inflated_nbinom", "(),(),()->()"
    base_op = NegativeBinomial.rv_op


class ZeroInflatedNegativeBinomial(_ZeroInflated):
    r"""Zero-inflated negative binomial distribution.

    .. math:: f(x \mid \psi, n, p) = (1 - \psi)[x = 0]
              + \psi \frac{\Gamma(x + n)}{x!\,\Gamma(n)} p^n (1 - p)^x

    Parameters: ``psi`` in [0, 1] and either ``mu``, ``alpha`` (mean and
    dispersion) or ``n``, ``p`` (see :class:`NegativeBinomial`).

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.ZeroInflatedNegativeBinomial.dist(psi=0.8, mu=3.0, alpha=2.0)
    >>> [p.name for p in x.owner.inputs[2:]] == [None] * 3
    True
    """

    rv_op = ZeroInflatedNegativeBinomialRV()
    params = ("psi", "n", "p")
    base = NegativeBinomial

    @classmethod
    def _canonical_params(cls, psi, mu=None, alpha=None, p=None, n=None):
        return [psi, *NegativeBinomial._canonical_params(mu, alpha, p, n)]
