"""Mixtures: finite mixtures with batched weights, and zero-inflated counts.

.. math:: f(x \\mid w) = \\sum_{i=1}^{K} w_i f_i(x)

The weights ``w`` have shape ``(..., K)``; their batch dims broadcast with the
components'. Components are given either as

* a list of K distributions (``.dist(...)`` variables, possibly of different
  families) with the same event shape, or
* one distribution whose **last batch axis** has size K (e.g.
  ``Normal.dist(mu=[0.0, 5.0], sigma=1.0)`` for two normal components).

Sampling draws every component over the whole batch, draws component indices
from the weights, and selects (vectorized, no loop over batch elements).

Zero-inflated counts mix a point mass at 0 with a base distribution
(Poisson, binomial or negative binomial): with probability ``1 - psi`` the
value is 0, otherwise it is drawn from the base,

.. math:: f(x) = (1 - \\psi)\\,[x = 0] + \\psi\\, f_{\\text{base}}(x)

JAX samplers: :mod:`tessera.ppl.jax.mixture`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros_like
from tessera.ops.reduction import logsumexp
from tessera.ops.shape import broadcast_arrays, expand_dims, stack
from tessera.ops.signature import parse_signature
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import register_op
from tessera.ppl.distributions.discrete.counts import (
    Binomial,
    NegativeBinomial,
    NonNegativeDiscrete,
    Poisson,
)
from tessera.ppl.distributions.dist_math import NEG_INF
from tessera.ppl.distributions.logprob import op_logcdf, op_logp
from tessera.ppl.distributions.params import p_from_logit, probability
from tessera.ppl.distributions.per_call import PerCallDistribution
from tessera.random.op import RandomVariable, broadcast_params
from tessera.random.type import is_none_const


def _renamed(dims: Sequence[str], suffix: str) -> list[str]:
    return [d if d.isdigit() else f"{d}_{suffix}" for d in dims]


def _sig_arg(dims: Sequence[str]) -> str:
    return "(" + ",".join(dims) + ")"


class MixtureRV(RandomVariable):
    """Sampler of a mixture: inputs ``(rng, size, w, *component params)``.

    Parameters
    ----------
    components : tuple of RandomVariable
        One op per component (list form), or the single op of all components
        (``stacked=True``: its parameters have the component axis last among
        their batch dims).
    n_params : tuple of int
        Number of parameters of each component op.
    stacked : bool
    dtype : str
    """

    name = "mixture"
    __props__ = ("components", "n_params", "stacked", "dtype")

    def __init__(self, components, n_params, stacked: bool, dtype: str):
        self.components = tuple(components)
        self.n_params = tuple(int(n) for n in n_params)
        self.stacked = bool(stacked)
        nds = {c.ndim_supp for c in self.components}
        if len(nds) != 1:
            raise ValueError(
                "Mixture: components must have the same number of event dims"
            )
        args = ["(k)"]
        out = None
        for j, c in enumerate(self.components):
            sig = parse_signature(c.signature)
            for dims in sig.inputs:
                dims = _renamed(dims, str(j))
                args.append(_sig_arg(["k", *dims] if self.stacked else dims))
            if out is None:
                out = _renamed(sig.outputs[0], str(j))
        super().__init__(signature=",".join(args) + "->" + _sig_arg(out), dtype=dtype)

    def split_params(self, flat: Sequence[Any]) -> list[list[Any]]:
        """Component parameter groups from the flat parameter list (after ``w``)."""
        groups, k = [], 0
        for n in self.n_params:
            groups.append(list(flat[k : k + n]))
            k += n
        return groups

    def rng_fn(self, rng, w, *params, size):
        size = tuple(size)
        (w,) = broadcast_params([w], [1], size)
        n_comp = w.shape[-1]
        groups = self.split_params(params)
        if self.stacked:
            op = self.components[0]
            draws = op.rng_fn(rng, *groups[0], size=size + (n_comp,))
        else:
            parts = [
                op.rng_fn(rng, *g, size=size) for op, g in zip(self.components, groups)
            ]
            draws = np.stack([np.asarray(d) for d in parts], axis=len(size))
        cdf = np.cumsum(w, axis=-1)
        cdf /= cdf[..., -1:]
        u = rng.random(size=size + (1,))
        idx = np.minimum((cdf <= u).sum(axis=-1), n_comp - 1)
        idx = idx.reshape(size + (1,) * (draws.ndim - len(size)))
        return np.take_along_axis(draws, idx, axis=len(size)).squeeze(axis=len(size))


def _component_inputs(comp: Variable) -> tuple[RandomVariable, list, Variable]:
    node = getattr(comp, "owner", None)
    if node is None or not isinstance(node.op, RandomVariable):
        raise TypeError(
            f"Mixture: component {comp} is not a distribution; build components "
            "with ppl.<Distribution>.dist(...)"
        )
    return node.op, list(node.inputs[2:]), node.inputs[1]


class Mixture(PerCallDistribution):
    r"""Mixture of K component distributions with weights ``w`` of shape (..., K).

    .. math:: f(x \mid w) = \sum_{i=1}^{K} w_i f_i(x)

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> comps = [ppl.Normal.dist(-2.0, 1.0), ppl.StudentT.dist(4.0, 2.0, 1.0)]
    >>> x = ppl.Mixture.dist(w=[[0.3, 0.7], [0.5, 0.5]], comp_dists=comps)
    >>> x.type.shape
    (2,)
    >>> ppl.logp(x, 0.0).eval().shape
    (2,)
    >>> y = ppl.Mixture.dist([0.5, 0.5], ppl.Poisson.dist(mu=[1.0, 8.0]))
    >>> y.dtype
    'int64'
    """

    params = ("w",)

    @classmethod
    def dist(cls, w: Any, comp_dists: Any, size=None, shape=None, rng=None) -> Variable:
        """A mixture with weights ``w`` (shape ``(..., K)``) of ``comp_dists``.

        ``comp_dists`` is a list of K component distributions or one
        distribution whose last batch axis indexes the K components.
        ``size`` defaults to the components' ``size`` (without the component
        axis in the stacked form).
        """
        w = as_tensor(w)
        if w.dtype != config.floatX:
            w = w.astype(config.floatX)
        if w.ndim < 1:
            raise ValueError("Mixture: w must have a last axis of K weights")
        stacked = not isinstance(comp_dists, list | tuple)
        comps = [comp_dists] if stacked else list(comp_dists)
        ops, groups, sizes = zip(*[_component_inputs(c) for c in comps])
        nd = ops[0].ndim_supp
        if stacked:
            k_axis = comps[0].ndim - nd - 1
            if k_axis < 0:
                raise ValueError(
                    f"Mixture: the component distribution of shape "
                    f"{comps[0].type.shape} has no batch axis for the components"
                )
            k_static, w_k = comps[0].type.shape[k_axis], w.type.shape[-1]
            if None not in (k_static, w_k) and k_static != w_k:
                raise ValueError(
                    f"Mixture: {w_k} weights but the components' last batch axis "
                    f"has size {k_static}"
                )
            # give every parameter the component axis explicitly
            kvec = zeros_like(w[(0,) * (w.ndim - 1)])
            new = []
            for p, pnd in zip(groups[0], ops[0].ndims_params):
                z = kvec.astype(p.dtype) if p.dtype != kvec.dtype else kvec
                p = p + expand_dims(z, tuple(range(1, 1 + pnd))) if pnd else p + z
                new.append(p)
            groups = (new,)
        elif len(comps) != w.type.shape[-1] and w.type.shape[-1] is not None:
            raise ValueError(
                f"Mixture: {len(comps)} components but w has {w.type.shape[-1]} weights"
            )
        if size is None and shape is None and not is_none_const(sizes[0]):
            size = sizes[0]
            if stacked:
                known = get_static_value(size)
                size = tuple(known[:-1]) if known is not None else size[:-1]
        if shape is not None:
            shape = tuple(shape)
            size = shape[: len(shape) - nd] if nd else shape
        discrete = all(np.dtype(op.out_dtype()).kind in "iu" for op in ops)
        op = MixtureRV(
            ops,
            [len(g) for g in groups],
            stacked,
            "int64" if discrete else "floatX",
        )
        for cond, text in cls._weight_conditions(w):
            val = get_static_value(cond)
            if val is not None and not np.all(val):
                raise ValueError(f"Mixture: invalid weights, {text} does not hold")
        flat = [p for g in groups for p in g]
        return op(w, *flat, size=size, rng=rng)

    @classmethod
    def _weight_conditions(cls, w):
        total = w.sum(axis=-1)
        return [
            (tm.ge(w, 0.0).all(axis=-1), "w >= 0"),
            (tm.lt(tm.abs(total - 1.0), 1e-5), "sum(w) == 1"),
        ]

    @classmethod
    def _component_values(cls, op: MixtureRV, value, params, fn):
        w, *flat = params
        groups = op.split_params(flat)
        if op.stacked:
            v = expand_dims(value, value.ndim - op.ndim_supp)
            return fn(op.components[0], v, groups[0])
        parts = [fn(c, value, g) for c, g in zip(op.components, groups)]
        return stack(broadcast_arrays(*parts), axis=-1)

    @classmethod
    def node_logp(cls, op, value, params):
        lps = cls._component_values(op, value, params, op_logp)
        return logsumexp(tm.log(params[0]) + lps, axis=-1)

    @classmethod
    def node_logcdf(cls, op, value, params):
        lcs = cls._component_values(op, value, params, op_logcdf)
        return logsumexp(tm.log(params[0]) + lcs, axis=-1)

    @classmethod
    def node_support_mask(cls, op, value, params):
        return None

    @classmethod
    def node_param_conditions(cls, op, params):
        return cls._weight_conditions(params[0])

    @classmethod
    def node_moment(cls, op, params):
        from tessera.ppl.distributions.base import dist_of_op

        def comp_moment(c, _value, g):
            m = as_tensor(dist_of_op(c).node_moment(c, g))
            return m.astype(config.floatX) if m.dtype != config.floatX else m

        dummy = as_tensor(0.0)
        ms = cls._component_values(op, dummy, params, comp_moment)
        m = (params[0] * ms).sum(axis=-1)
        return tm.round(m) if np.dtype(op.out_dtype()).kind in "iu" else m


register_op(MixtureRV, Mixture)


class NormalMixture(Mixture):
    r"""Mixture of normal distributions (components on the last axis).

    .. math:: f(x \mid w, \mu, \sigma) = \sum_{i=1}^{K} w_i\,
              \frac{1}{\sigma_i \sqrt{2\pi}}
              \exp\left(-\frac{(x - \mu_i)^2}{2 \sigma_i^2}\right)

    Parameters
    ----------
    w : tensor_like
        Weights of shape ``(..., K)`` (non-negative, summing to 1).
    mu : tensor_like
        Component means ``(..., K)``.
    sigma : tensor_like, optional
        Component standard deviations ``(..., K)``; or ``tau`` (precisions).
    comp_shape : tuple of int
        Shape of the component normals (batch shape with K last) when it is
        not the broadcast of ``mu`` and ``sigma``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.NormalMixture.dist(w=[0.3, 0.7], mu=[-1.0, 2.0], sigma=[1.0, 0.5])
    >>> x.type.shape
    ()
    >>> round(float(ppl.logp(x, 0.0).eval()), 4)
    -2.6203
    """

    @classmethod
    def dist(
        cls,
        w: Any,
        mu: Any,
        sigma: Any = None,
        tau: Any = None,
        comp_shape: Any = (),
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A mixture of ``Normal(mu[..., i], sigma[..., i])`` with weights ``w``."""
        from tessera.ppl.distributions.continuous import Normal
        from tessera.ppl.distributions.params import sigma_from

        comp_size = tuple(comp_shape) if comp_shape else None
        comps = Normal.dist(mu, sigma_from(sigma, tau), size=comp_size)
        if comps.ndim == 0:
            raise ValueError(
                "NormalMixture: mu and sigma need a last axis of K components, "
                f"got component shape {comps.type.shape}"
            )
        return super().dist(w, comps, size=size, shape=shape, rng=rng)

    @classmethod
    def _draw_dtype(cls, *args: Any, **kwargs: Any) -> str:
        return config.floatX


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
        return probability("psi", psi) + cls.base._param_conditions(*params)

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
        # log(1 - psi + psi F): near F = 1 as log1p(psi (F - 1)), whose
        # expm1 keeps the upper tail's digits
        lf = cls.base._logcdf(value, *params)
        lc = tm.where(
            tm.lt(lf, -1.0),
            tm.logaddexp(tm.log1p(-psi), tm.log(psi) + lf),
            tm.log1p(psi * tm.expm1(tm.maximum(lf, -1.0))),
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
        return [psi, n, p_from_logit(p, logit_p)]


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
