"""LKJ distributions over correlation matrices and their Cholesky factors.

``LKJCorr(n, eta)`` is a distribution over ``n x n`` correlation matrices,
``LKJCholesky(n, eta)`` over their lower Cholesky factors, and
``LKJCholeskyCov(n, eta, sd_dist)`` over Cholesky factors of covariance
matrices whose standard deviations follow ``sd_dist``. ``eta`` and the
parameters of ``sd_dist`` take any batch dims (broadcasting); the matrix size
``n`` is a static int, part of the sampler op (its event shape).

Sampling uses the onion method (Lewandowski, Kurowicka and Joe, 2009) in
Cholesky form: row ``k`` of the factor is ``(sqrt(y) u, sqrt(1 - y))`` with
``y ~ Beta(k/2, eta + (n-1-k)/2)`` and ``u`` uniform on the unit sphere of
``R^k``; the loop runs over the ``n`` rows, each step drawing for the whole
batch at once.

JAX samplers: :mod:`tessera.ppl.jax.matrix.lkj`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.products import matmul
from tessera.ops.shape import broadcast_to, expand_dims, swapaxes
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.base import Continuous, dist_of_op
from tessera.ppl.distributions.continuous.positive import Exponential
from tessera.ppl.distributions.logprob import op_logp
from tessera.ppl.distributions.mv_util import (
    MvMixin,
    as_float,
    literal_signature,
    raise_if_invalid,
)
from tessera.random.op import RandomVariable, broadcast_params

__all__ = [
    "LKJCholesky",
    "LKJCholeskyCov",
    "LKJCorr",
    "corr_and_sd",
    "lkj_log_normalizer",
]

LOG_2 = math.log(2.0)


def _static_n(who: str, n: Any) -> int:
    val = n if isinstance(n, int | np.integer) else get_static_value(as_float(n))
    if val is None or np.ndim(val) or val != int(val) or int(val) < 1:
        raise ValueError(f"{who}: n must be a positive int known now, got {n!r}")
    return int(val)


def _size_from(who: str, n: int, size: Any, shape: Any) -> Any:
    if shape is None:
        return size
    if size is not None:
        raise TypeError(f"{who}.dist: give size or shape, not both")
    shape = tuple(shape)
    if shape[-2:] != (n, n):
        raise ValueError(f"{who}: shape {shape} must end with (n, n) = ({n}, {n})")
    return shape[:-2]


def lkj_log_normalizer(eta: Any, n: int) -> Variable:
    r"""Log normalizing constant of the LKJ density with batched ``eta``.

    .. math::

        \log c_n(\eta) = \sum_{k=1}^{n-1} (n - k) \Big[(2\eta - 2 + n - k)
            \log 2 + \log B(a_k, a_k)\Big], \quad a_k = \eta + \tfrac{n-k-1}{2}

    (the vine-method normalizer of LKJ 2009), so that
    :math:`\int |C|^{\eta - 1} dC = c_n(\eta)` over correlation matrices.

    Examples
    --------
    >>> import numpy as np
    >>> float(np.exp(lkj_log_normalizer(1.0, 3).eval()))  # the volume pi^2 / 2
    4.934802200544679
    """
    eta = as_float(eta)
    if n < 2:
        return eta * 0.0
    k = np.arange(1, n, dtype=float)
    a = expand_dims(eta, -1) + (n - k - 1.0) / 2.0
    log_beta = 2.0 * tm.gammaln(a) - tm.gammaln(2.0 * a)
    terms = (n - k) * ((2.0 * expand_dims(eta, -1) - 2.0 + n - k) * LOG_2 + log_beta)
    return terms.sum(axis=-1)


def _onion_cholesky(rng, eta: np.ndarray, n: int, size: tuple) -> np.ndarray:
    """Cholesky factors of LKJ(eta) correlation matrices, shape ``size + (n, n)``."""
    eta = np.broadcast_to(np.asarray(eta, dtype=float), size)
    L = np.zeros(tuple(size) + (n, n))
    L[..., 0, 0] = 1.0
    for k in range(1, n):  # rows of the matrix; every step covers the batch
        y = rng.beta(k / 2.0, eta + (n - 1 - k) / 2.0)
        u = rng.standard_normal(tuple(size) + (k,))
        u /= np.linalg.norm(u, axis=-1, keepdims=True)
        L[..., k, :k] = np.sqrt(y)[..., None] * u
        L[..., k, k] = np.sqrt(1.0 - y)
    return L


def _diag(x: Variable) -> Variable:
    from tessera.ops import linalg

    return linalg.diagonal(x)


def _cholesky_logp(L: Variable, eta: Variable, n: int) -> Variable:
    """LKJCholesky log-density of factors ``L`` (..., n, n)."""
    return _cholesky_logp_from_log_diag(tm.log(_diag(L)), eta, n)


def _cholesky_logp_from_log_diag(log_diag: Variable, eta: Variable, n: int):
    """LKJCholesky log-density from ``log(diag(L))`` (..., n): all it needs."""
    # exponent of L_ii (0-based i): n - i - 1 + 2 (eta - 1)
    i = np.arange(n, dtype=float)
    expo = (n - i - 1.0) + 2.0 * (expand_dims(eta, -1) - 1.0)
    body = (expo * log_diag)[..., 1:].sum(axis=-1) if n > 1 else 0.0
    return body - lkj_log_normalizer(eta, n)


def _tol(x: Variable) -> float:
    return 1e-4 if x.dtype == "float32" else 1e-8


def _is_corr_cholesky(L: Variable, n: int) -> Variable:
    """Lower triangular, positive diagonal, rows of unit norm (batch-shaped)."""
    from tessera.ops import linalg

    upper_zero = tm.eq(linalg.triu(L, 1), 0.0).all(axis=(-2, -1))
    pos = tm.gt(_diag(L), 0.0).all(axis=-1)
    unit = tm.le(tm.abs(tm.square(L).sum(axis=-1) - 1.0), _tol(L) * n).all(axis=-1)
    return tm.logical_and(tm.logical_and(upper_zero, pos), unit)


# --- samplers ----------------------------------------------------------------------
class LKJCorrRV(RandomVariable):
    """Sampler of LKJ correlation matrices (``n`` is a prop)."""

    name, dtype = "lkj_corr", "floatX"
    __props__ = ("n",)

    def __init__(self, n: int):
        self.n = int(n)
        super().__init__(signature=literal_signature(["()"], (self.n, self.n)))

    def rng_fn(self, rng, eta, size):
        L = _onion_cholesky(rng, eta, self.n, tuple(size))
        C = np.matmul(L, np.swapaxes(L, -1, -2))
        idx = np.arange(self.n)
        C[..., idx, idx] = 1.0  # exactly, not up to rounding
        return C


class LKJCholeskyRV(LKJCorrRV):
    """Sampler of Cholesky factors of LKJ correlation matrices."""

    name = "lkj_cholesky"

    def rng_fn(self, rng, eta, size):
        return _onion_cholesky(rng, eta, self.n, tuple(size))


class _LKJBase(MvMixin, Continuous):
    rv_op_type: type = LKJCorrRV
    params = ("eta",)

    @classmethod
    def dist(
        cls,
        n: Any,
        eta: Any,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A draw of ``n x n`` matrices with concentration ``eta`` (batch-shaped)."""
        n = _static_n(cls.__name__, n)
        size = _size_from(cls.__name__, n, size, shape)
        eta = as_float(eta)
        raise_if_invalid(cls.__name__, cls._param_conditions(eta))
        return cls.rv_op_type(n)(eta, size=size, rng=rng)

    @classmethod
    def _param_conditions(cls, eta):
        return [(tm.gt(eta, 0.0), "eta > 0")]

    @classmethod
    def node_transform_kwargs(cls, op, params) -> dict:
        """Parameters of the default transform (the matrix size)."""
        return {"n": op.n}


class LKJCorr(_LKJBase):
    r"""LKJ distribution over ``n x n`` correlation matrices.

    .. math:: f(C \mid \eta) = c_n(\eta)^{-1}\, |C|^{\eta - 1}

    with :math:`c_n` from :func:`lkj_log_normalizer`, in the coordinates of
    the strictly lower entries of ``C``. ``eta`` > 0 takes any batch shape;
    ``eta = 1`` is uniform over correlation matrices, larger values
    concentrate near the identity. Event shape ``(n, n)``; default transform
    ``"correlation"``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> c = ppl.LKJCorr.dist(n=3, eta=[1.0, 2.0])
    >>> c.type.shape
    (2, 3, 3)
    >>> ppl.logp(c, np.eye(3)).eval().round(4)  # -log(pi^2 / 2) for eta = 1
    array([-1.5963, -0.6155])
    """

    rv_op = LKJCorrRV(2)  # representative; dist() makes one per n
    rv_op_type = LKJCorrRV
    support = "correlation"
    default_transform = "correlation"

    @classmethod
    def node_support_mask(cls, op, value, params):
        from tessera.ops import linalg

        L = linalg.cholesky(value, on_error="nan")
        pd = tm.isfinite(L).all(axis=(-2, -1))
        unit = tm.le(tm.abs(_diag(value) - 1.0), _tol(value)).all(axis=-1)
        return tm.logical_and(pd, unit)

    @classmethod
    def node_logp(cls, op, value, params):
        from tessera.ops import linalg

        (eta,) = params
        L = linalg.cholesky(value, on_error="nan")
        logdet = 2.0 * tm.log(_diag(L)).sum(axis=-1)
        return (eta - 1.0) * logdet - lkj_log_normalizer(eta, op.n)

    @classmethod
    def node_moment(cls, op, params):
        from tessera.ops.creation import eye

        return eye(op.n, dtype=params[0].dtype)


class LKJCholesky(_LKJBase):
    r"""LKJ distribution over Cholesky factors ``L`` of correlation matrices.

    .. math:: f(L \mid \eta) = c_n(\eta)^{-1}
              \prod_{i=1}^{n-1} L_{ii}^{\,n - i - 1 + 2(\eta - 1)}

    (0-based ``i``; the density of :class:`LKJCorr` pushed to the strictly
    lower entries of ``L``). Event shape ``(n, n)``; default transform
    ``"cholesky_corr"``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> L = ppl.LKJCholesky.dist(n=3, eta=2.0, size=(4,))
    >>> ppl.draw(L, random_seed=0).shape
    (4, 3, 3)
    >>> round(float(ppl.logp(ppl.LKJCholesky.dist(3, 1.0), np.eye(3)).eval()), 4)
    -1.5963
    """

    rv_op = LKJCholeskyRV(2)  # representative; dist() makes one per n
    rv_op_type = LKJCholeskyRV
    support = "cholesky_corr"
    default_transform = "cholesky_corr"

    @classmethod
    def node_support_mask(cls, op, value, params):
        return _is_corr_cholesky(value, op.n)

    @classmethod
    def node_logp(cls, op, value, params):
        return _cholesky_logp(value, params[0], op.n)

    @classmethod
    def node_moment(cls, op, params):
        from tessera.ops.creation import eye

        return eye(op.n, dtype=params[0].dtype)


# --- LKJCholeskyCov -------------------------------------------------------------------
def corr_and_sd(chol: Any) -> tuple[Variable, Variable]:
    """The correlation matrices and standard deviations of covariance factors.

    For ``chol`` of shape ``(..., n, n)`` (e.g. an :class:`LKJCholeskyCov`
    draw), returns ``(corr, sd)`` of shapes ``(..., n, n)`` and ``(..., n)``.

    Examples
    --------
    >>> import numpy as np
    >>> corr, sd = corr_and_sd(np.array([[2.0, 0.0], [1.0, 1.0]]))
    >>> sd.eval().round(4), corr.eval().round(4)[0, 1]
    (array([2.    , 1.4142]), np.float64(0.7071))
    """
    chol = as_float(chol)
    sd = tm.sqrt(tm.square(chol).sum(axis=-1))
    lc = chol / expand_dims(sd, -1)
    return matmul(lc, swapaxes(lc, -1, -2)), sd


class LKJCholeskyCovRV(RandomVariable):
    """Sampler of ``diag(sd) L`` with ``L ~ LKJCholesky`` and ``sd ~ sd_op``."""

    name, dtype = "lkj_cholesky_cov", "floatX"
    __props__ = ("n", "sd_op")

    def __init__(self, n: int, sd_op: RandomVariable):
        self.n = int(n)
        self.sd_op = sd_op
        k = len(sd_op.ndims_params)
        ins = ["()"] + [f"({self.n})"] * k
        super().__init__(signature=literal_signature(ins, (self.n, self.n)))

    def rng_fn(self, rng, eta, *sd_params, size):
        size = tuple(size)
        sd_params = broadcast_params(sd_params, [1] * len(sd_params), size)
        sd = np.asarray(self.sd_op.rng_fn(rng, *sd_params, size=size + (self.n,)))
        return sd[..., None] * _onion_cholesky(rng, eta, self.n, size)


class LKJCholeskyCov(MvMixin, Continuous):
    r"""Cholesky factors of covariance matrices with an LKJ correlation prior.

    ``L = diag(sd) L_c`` with :math:`L_c \sim \mathrm{LKJCholesky}(n, \eta)`
    and the standard deviations ``sd`` (shape ``(..., n)``) drawn from
    ``sd_dist``. With the row norms :math:`s_i = \lVert L_{i,:}\rVert` and
    :math:`L_c = \mathrm{diag}(s)^{-1} L`, the density in the lower entries
    of ``L`` is

    .. math::

        \log f(L) = \log f_{sd}(s) + \log f_{LKJ}(L_c \mid \eta)
                    - \sum_i \big(i \log s_i - \log L_{c,ii}\big)

    (0-based ``i``; row ``i`` is a radius times a point of a hemisphere of
    ``R^{i+1}``). Parameters: ``n`` (static int), ``eta`` > 0 (any batch
    shape) and ``sd_dist``, a univariate distribution (``.dist(...)``) of
    shape ``(..., n)`` or scalar (then repeated ``n`` times), whose batch
    dims broadcast with ``eta``'s; its own generator is not used. Event shape
    ``(n, n)``; default transform ``"cholesky_cov"``. :func:`corr_and_sd`
    recovers the correlation matrix and standard deviations.

    In a model, as in PyMC, ``ppl.LKJCholeskyCov(name, eta, n, sd_dist,
    compute_corr=True, store_in_trace=True, dims=...)`` returns ``(chol,
    corr, stds)``: the registered factor ``chol`` (dims: those given), and
    its correlation matrices and standard deviations, registered as the
    deterministics ``f"{name}_corr"`` (the dims of ``chol``) and
    ``f"{name}_stds"`` (all but the last) when ``store_in_trace``. With
    ``compute_corr=False`` it returns ``chol`` alone (the ``(..., n, n)``
    factor, where PyMC returns its packed lower triangle).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     chol, corr, stds = ppl.LKJCholeskyCov(
    ...         "chol", eta=2.0, n=3, sd_dist=ppl.Exponential.dist(1.0)
    ...     )
    >>> sorted(m.named_vars)
    ['chol', 'chol_corr', 'chol_stds']
    >>> sd = ppl.Exponential.dist(1.0, size=(2, 3))
    >>> L = ppl.LKJCholeskyCov.dist(n=3, eta=[1.0, 4.0], sd_dist=sd)
    >>> L.type.shape
    (2, 3, 3)
    >>> ppl.logp(L, np.eye(3)).eval().round(4)
    array([-4.5963, -2.6065])
    """

    rv_op = LKJCholeskyCovRV(2, Exponential.rv_op)  # representative
    params = ("eta", "sd")
    support = "cholesky_cov"
    default_transform = "cholesky_cov"

    def __new__(
        cls,
        name: str,
        eta: Any = None,
        n: Any = None,
        sd_dist: Any = None,
        *,
        compute_corr: bool = True,
        store_in_trace: bool = True,
        dims: Any = None,
        **kwargs: Any,
    ):
        """Register ``name`` in the active model; see the class docstring.

        Returns ``(chol, corr, stds)`` with ``compute_corr=True`` (``corr``
        and ``stds`` registered as the deterministics ``f"{name}_corr"`` and
        ``f"{name}_stds"`` when ``store_in_trace``), else ``chol``.
        """
        for what, v in (("eta", eta), ("n", n), ("sd_dist", sd_dist)):
            if v is None:
                raise TypeError(f"LKJCholeskyCov({name!r}, ...) needs {what}")
        chol = Continuous.__new__(
            cls, name, n=n, eta=eta, sd_dist=sd_dist, dims=dims, **kwargs
        )
        if not compute_corr:
            return chol
        corr, stds = corr_and_sd(chol)
        if store_in_trace:
            from tessera.ppl.context import modelcontext_or_none

            model = modelcontext_or_none()
            dims = _as_dims(dims)
            corr = model.register_deterministic(f"{name}_corr", corr, dims=dims)
            stds = model.register_deterministic(
                f"{name}_stds", stds, dims=None if dims is None else dims[:-1]
            )
        return chol, corr, stds

    @classmethod
    def dist(
        cls,
        n: Any,
        eta: Any,
        sd_dist: Any,
        *,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
    ) -> Variable:
        """A draw of ``(..., n, n)`` covariance factors."""
        n = _static_n(cls.__name__, n)
        size = _size_from(cls.__name__, n, size, shape)
        eta = as_float(eta)
        sd_op, sd_params = _sd_inputs(sd_dist, n)
        op = LKJCholeskyCovRV(n, sd_op)
        params = [eta, *sd_params]
        raise_if_invalid(cls.__name__, cls.node_param_conditions(op, params))
        return op(*params, size=size, rng=rng)

    @classmethod
    def node_param_conditions(cls, op, params):
        eta, *sd_params = params
        sd_cls = dist_of_op(op.sd_op)
        out = [(tm.gt(eta, 0.0), "eta > 0")]
        for cond, text in sd_cls.node_param_conditions(op.sd_op, sd_params):
            out.append((cond.all(axis=-1) if cond.ndim else cond, f"sd_dist: {text}"))
        return out

    @classmethod
    def node_support_mask(cls, op, value, params):
        from tessera.ops import linalg

        upper_zero = tm.eq(linalg.triu(value, 1), 0.0).all(axis=(-2, -1))
        return tm.logical_and(upper_zero, tm.gt(_diag(value), 0.0).all(axis=-1))

    @classmethod
    def node_logp(cls, op, value, params):
        eta, *sd_params = params
        sd = tm.sqrt(tm.square(value).sum(axis=-1))
        log_sd = tm.log(sd)
        # only the diagonal of L_c = L / sd is needed: never form the matrix
        log_diag_c = tm.log(_diag(value)) - log_sd
        lp_sd = op_logp(op.sd_op, sd, sd_params).sum(axis=-1)
        i = np.arange(op.n, dtype=float)
        log_jac = (i * log_sd).sum(axis=-1) - log_diag_c.sum(axis=-1)
        return lp_sd + _cholesky_logp_from_log_diag(log_diag_c, eta, op.n) - log_jac

    @classmethod
    def node_moment(cls, op, params):
        from tessera.ops import linalg

        eta, *sd_params = params
        m = as_float(dist_of_op(op.sd_op).node_moment(op.sd_op, sd_params))
        batch = (
            [sd_params[0].shape[i] for i in range(sd_params[0].ndim)]
            if sd_params
            else [op.n]
        )
        return linalg.diag_embed(broadcast_to(m, tuple(batch)))

    @classmethod
    def node_transform_kwargs(cls, op, params) -> dict:
        """Parameters of the default transform (the matrix size)."""
        return {"n": op.n}


def _as_dims(dims: Any) -> tuple | None:
    if dims is None:
        return None
    return (dims,) if isinstance(dims, str) else tuple(dims)


def _sd_inputs(sd_dist: Any, n: int):
    """The op of ``sd_dist`` and its parameters broadcast to ``(..., n)``.

    A scalar ``sd_dist``, or one whose last axis has size 1, is repeated
    ``n`` times along that axis.
    """
    from tessera.ppl.distributions.mv_util import draw_shape, embedded_dist

    node = getattr(sd_dist, "owner", None)
    if node is not None and isinstance(node.op, RandomVariable) and n != 1:
        if sd_dist.ndim == 0 or sd_dist.type.shape[-1] == 1:
            batch = draw_shape(sd_dist)[:-1]
            sd_dist = node.op(*node.inputs[2:], size=(*batch, n))
    return embedded_dist("LKJCholeskyCov", "sd_dist", sd_dist, (n,))
