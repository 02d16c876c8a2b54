"""Normalizing flows: invertible maps with tractable log-det-Jacobians.

A flow ``f`` maps a batch of points ``z`` (``(..., n)``) to ``f(z)`` and
returns ``log |det df/dz|`` per point. :class:`NormalizingFlow` (in
:mod:`.nfvi`) pushes standard normal draws through a sequence of them.
Each flow here is a *specification* (it holds no parameters): its
:meth:`Flow.create` makes the shared parameters for a dimension and
:meth:`Flow.forward` builds the graph, so one specification can serve
several approximations.

* :class:`Loc`: ``z + b`` (log-det 0);
* :class:`Scale`: ``z * exp(s)`` (log-det ``sum(s)``);
* :class:`Planar` (Rezende & Mohamed, 2015): ``z + u_hat tanh(w.z + b)``,
  with ``u_hat = u + (m(w.u) - w.u) w / |w|^2`` and ``m(a) = -1 +
  softplus(a)``, so that ``w.u_hat >= -1`` and the map is invertible;
  log-det ``log(1 + (1 - tanh^2(w.z + b)) w.u_hat)``;
* :class:`Radial`: ``z + beta h(r) (z - z0)``, ``r = |z - z0|``, ``h =
  1/(alpha + r)``, ``alpha = softplus(a)``, ``beta = -alpha +
  softplus(b)`` (invertible); log-det ``(n - 1) log(1 + beta h) + log(1 +
  beta h - beta r / (alpha + r)^2)``;
* :class:`IAF` (inverse autoregressive flow, Kingma et al., 2016):
  ``z_i * exp(s_i) + m_i``, where ``(m_i, s_i)`` depend only on the
  coordinates before ``i`` in the flow's order (a MADE network, Germain
  et al., 2015, plus a direct linear connection); log-det ``sum(s)``. It
  represents scales that depend on other coordinates (Neal's funnel, the
  geometry of centred hierarchical models), which planar and radial flows
  cannot.

Formulas are PyMC's: ``"scale-loc-planar*4"`` is a scale, a location and
four planar flows, applied to the base draws in that order; ``"iaf"`` is
this module's addition (``"scale-loc-iaf*2"``: two IAF layers, in
opposite orders).

Examples
--------
>>> [type(f).__name__ for f in parse_formula("scale-loc-planar*2")]
['Scale', 'Loc', 'Planar', 'Planar']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.ops.basic import shared
from tessera.ops.math import exp, log1p, softplus, sqrt, tanh

__all__ = [
    "IAF",
    "Flow",
    "Loc",
    "Planar",
    "Radial",
    "Scale",
    "made_masks",
    "parse_formula",
]


def _dot(z, w):
    """``z . w`` over the last axis, keeping it (``(..., 1)``)."""
    return (z * w).sum(axis=-1, keepdims=True)


class Flow:
    """Base class of the flow specifications.

    Subclasses set :attr:`short_name` (its name in formulas) and implement
    :meth:`create` and :meth:`forward`.

    Examples
    --------
    >>> Planar().short_name
    'planar'
    """

    short_name = ""

    def create(self, n: int, rng: np.random.Generator, x0: np.ndarray, k: int) -> list:
        """Shared parameters for dimension ``n`` (``x0``: the start point,
        ``k``: the flow's position, for names)."""
        raise NotImplementedError

    def forward(self, params: Sequence, z) -> tuple[Any, Any]:
        """``(f(z), log |det J|)`` for ``z`` of shape ``(..., n)``; the
        log-det has shape ``z.shape[:-1]``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Loc(Flow):
    """``z + b``; ``b`` starts at the start point.

    Examples
    --------
    >>> Loc().short_name
    'loc'
    """

    short_name = "loc"

    def create(self, n, rng, x0, k):
        return [shared(np.array(x0, dtype=np.float64), name=f"loc{k}_b", shape=(n,))]

    def forward(self, params, z):
        (b,) = params
        return z + b, (z * 0.0).sum(axis=-1)


class Scale(Flow):
    """``z * exp(s)``; ``s`` starts at ``log(init_std)``.

    Parameters
    ----------
    init_std : float
        Starting scale, 0.1 as ADVI's ``init_std``, so that ``"scale-loc"``
        starts as mean-field ADVI does and a flow that contains it starts
        from there: from 1.0, ``"scale-loc-planar*4"`` on the hierarchical
        MvNormal of ``benchmarks/vi.py`` was still 400 nats below mean-field
        ADVI's ELBO after 3,000 steps; from 0.1 it is within 1% after 300.

    Examples
    --------
    >>> Scale(init_std=0.5).init_std
    0.5
    """

    short_name = "scale"

    def __init__(self, init_std: float = 0.1) -> None:
        self.init_std = float(init_std)

    def create(self, n, rng, x0, k):
        s = np.full(n, np.log(self.init_std))
        return [shared(s, name=f"scale{k}_log_s", shape=(n,))]

    def forward(self, params, z):
        (s,) = params
        return z * exp(s), (z * 0.0).sum(axis=-1) + s.sum()


class Planar(Flow):
    """``z + u_hat tanh(w.z + b)`` (invertible form, module docstring).

    ``u`` and ``w`` start as ``init_scale`` times standard normal noise, ``b``
    so that the flow is centred on the start point.

    Examples
    --------
    >>> Planar(init_scale=0.1).init_scale
    0.1
    """

    short_name = "planar"

    def __init__(self, init_scale: float = 0.1) -> None:
        self.init_scale = float(init_scale)

    def create(self, n, rng, x0, k):
        u = self.init_scale * rng.standard_normal(n)
        w = self.init_scale * rng.standard_normal(n)
        b = np.array(-w @ np.asarray(x0, dtype=np.float64))
        return [
            shared(u, name=f"planar{k}_u", shape=(n,)),
            shared(w, name=f"planar{k}_w", shape=(n,)),
            shared(b, name=f"planar{k}_b", shape=()),
        ]

    @staticmethod
    def u_hat(u, w):
        """The invertible reparametrization of ``u`` (``w.u_hat >= -1``)."""
        wu = (w * u).sum()
        return u + (softplus(wu) - 1.0 - wu) * w / ((w * w).sum() + 1e-12)

    def forward(self, params, z):
        u, w, b = params
        uh = self.u_hat(u, w)
        t = tanh(_dot(z, w) + b)
        out = z + uh * t
        wuh = (w * uh).sum()
        logdet = log1p((1.0 - t * t) * wuh)
        return out, logdet.sum(axis=-1)


class Radial(Flow):
    """``z + beta h(r) (z - z0)`` (invertible form, module docstring).

    ``z0`` starts at the start point plus ``init_scale`` noise; ``beta``
    starts near 0 (close to the identity).

    Examples
    --------
    >>> Radial().short_name
    'radial'
    """

    short_name = "radial"

    def __init__(self, init_scale: float = 0.1) -> None:
        self.init_scale = float(init_scale)

    def create(self, n, rng, x0, k):
        z0 = np.asarray(x0, dtype=np.float64) + self.init_scale * rng.standard_normal(n)
        a = np.array(0.0)  # alpha = log 2
        # softplus(b) = alpha + small: beta starts small and positive
        b = np.array(np.log(np.expm1(np.log(2.0) + self.init_scale)))
        return [
            shared(z0, name=f"radial{k}_z0", shape=(n,)),
            shared(a, name=f"radial{k}_a", shape=()),
            shared(b, name=f"radial{k}_b", shape=()),
        ]

    def forward(self, params, z):
        z0, a, b = params
        n = int(z.type.shape[-1])
        alpha = softplus(a)
        beta = softplus(b) - alpha
        d = z - z0
        r = sqrt((d * d).sum(axis=-1, keepdims=True) + 1e-300)
        h = 1.0 / (alpha + r)
        bh = beta * h
        out = z + bh * d
        logdet = (n - 1) * log1p(bh) + log1p(bh - beta * r * h * h)
        return out, logdet.sum(axis=-1)


def made_masks(order: Sequence[int], hidden: int) -> tuple[np.ndarray, ...]:
    """The autoregressive masks of an :class:`IAF` layer.

    Input ``j`` has degree ``d_j``, its position in ``order``; hidden unit
    ``h`` has degree ``h mod (n - 1)`` and sees the inputs of degree at
    most its own; output ``i`` sees the hidden units of degree below
    ``d_i`` and, directly, the inputs of degree below ``d_i``. So output
    ``i`` depends only on the inputs before it in ``order``.

    Parameters
    ----------
    order : sequence of int
        A permutation of ``range(n)``, ``n >= 2``.
    hidden : int
        The hidden layer's width.

    Returns
    -------
    (mask_in, mask_out, mask_direct) : ndarrays
        Of shapes ``(n, hidden)``, ``(hidden, n)`` and ``(n, n)``, with
        ones where a weight is free; the output masks cover one output
        (tile them for ``m`` and ``s``).

    Examples
    --------
    >>> m_in, m_out, m_direct = made_masks([2, 0, 1], 2)
    >>> m_direct.astype(int)  # row: input, column: output
    array([[0, 1, 0],
           [0, 0, 0],
           [1, 1, 0]])
    >>> (m_in @ m_out > 0).astype(int)  # paths through the hidden layer
    array([[0, 1, 0],
           [0, 0, 0],
           [1, 1, 0]])
    """
    order = np.asarray(order, dtype=int)
    n = order.size
    if n < 2 or sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must be a permutation of range(n), n >= 2: {order}")
    degree = np.empty(n, dtype=int)
    degree[order] = np.arange(n)
    hdeg = np.arange(int(hidden)) % (n - 1)
    mask_in = (hdeg[None, :] >= degree[:, None]).astype(np.float64)
    mask_out = (degree[None, :] > hdeg[:, None]).astype(np.float64)
    mask_direct = (degree[None, :] > degree[:, None]).astype(np.float64)
    return mask_in, mask_out, mask_direct


class IAF(Flow):
    """Inverse autoregressive flow: ``z_i * exp(s_i) + m_i``.

    ``(m, s)`` come from a MADE conditioner on ``z``: one ``tanh`` hidden
    layer of width ``hidden`` with masked weights, plus a masked direct
    linear connection from the inputs, so that ``m_i`` and ``s_i`` depend
    only on the coordinates before ``i`` in the layer's order. The
    Jacobian is triangular in that order with diagonal ``exp(s)``, so the
    log-det is ``sum(s)``. The direct connection makes a log-scale linear
    in earlier coordinates exact: Neal's funnel, ``x ~ N(0, exp(v/2))``, is
    one layer with ``s_x = v/2``.

    The output weights and biases start at zero, so each layer starts as
    the identity (log-det 0); the hidden weights start as standard normal
    noise over ``sqrt(n)``, with biases that centre them on the start
    point. ``s`` is not bounded: a clamp would make the funnel's
    ``s = v/2`` inexact in its tails, and the fits here stayed finite
    without one (a non-finite ELBO stops the fit with
    ``NonFiniteELBOError``).

    The masks (NumPy constants, :func:`made_masks`) of each layer that
    :meth:`create` makes are kept on the specification, by the layer's
    first parameter: :meth:`forward` takes only parameters made by this
    object's :meth:`create`.

    Parameters
    ----------
    hidden : int, optional
        Width of the hidden layer; default ``max(2 n, 8)``.
    order : sequence of int, optional
        The autoregressive order, a permutation of ``range(n)``. By default
        the natural order for a flow at an even position of the formula and
        the reverse at an odd one, so that successive IAF layers alternate
        directions.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> iaf = IAF(hidden=4)
    >>> params = iaf.create(3, np.random.default_rng(0), np.zeros(3), k=0)
    >>> [p.name for p in params]
    ['iaf0_w_in', 'iaf0_b_in', 'iaf0_w_out', 'iaf0_w_direct', 'iaf0_b_out']
    >>> z = ts.tensor("z", shape=(None, 3))
    >>> f = ts.function([z], list(iaf.forward(params, z)))
    >>> out, logdet = f(np.ones((2, 3)))  # at the start: the identity
    >>> out, logdet
    (array([[1., 1., 1.],
           [1., 1., 1.]]), array([0., 0.]))
    """

    short_name = "iaf"

    def __init__(
        self, hidden: int | None = None, order: Sequence[int] | None = None
    ) -> None:
        if hidden is not None and int(hidden) < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        self.hidden = None if hidden is None else int(hidden)
        self.order = None if order is None else tuple(int(i) for i in order)
        # masks of the layers made by `create`, by their first parameter
        self._masks: dict = {}

    def create(self, n: int, rng: np.random.Generator, x0: np.ndarray, k: int) -> list:
        if n == 1:  # nothing to condition on: m and s are biases
            return [shared(np.zeros(2), name=f"iaf{k}_b_out", shape=(2,))]
        order = self.order
        if order is None:
            order = range(n) if k % 2 == 0 else range(n - 1, -1, -1)
        hidden = self.hidden if self.hidden is not None else max(2 * n, 8)
        m_in, m_out, m_direct = made_masks(list(order), hidden)
        w_in = m_in * rng.standard_normal((n, hidden)) / np.sqrt(n)
        b_in = -np.asarray(x0, dtype=np.float64) @ w_in
        params = [
            shared(w_in, name=f"iaf{k}_w_in", shape=(n, hidden)),
            shared(b_in, name=f"iaf{k}_b_in", shape=(hidden,)),
            shared(
                np.zeros((hidden, 2 * n)), name=f"iaf{k}_w_out", shape=(hidden, 2 * n)
            ),
            shared(np.zeros((n, 2 * n)), name=f"iaf{k}_w_direct", shape=(n, 2 * n)),
            shared(np.zeros(2 * n), name=f"iaf{k}_b_out", shape=(2 * n,)),
        ]
        self._masks[params[0]] = (m_in, np.tile(m_out, 2), np.tile(m_direct, 2))
        return params

    def forward(self, params: Sequence, z) -> tuple[Any, Any]:
        if len(params) == 1:
            (b,) = params
            s = b[1]
            return z * exp(s) + b[0], (z * 0.0).sum(axis=-1) + s
        w_in, b_in, w_out, w_direct, b_out = params
        masks = self._masks.get(w_in)
        if masks is None:
            raise ValueError("IAF.forward: parameters not made by this flow's create")
        m_in, m_out, m_direct = masks
        n = int(w_in.type.shape[0])
        h = tanh(z @ (w_in * m_in) + b_in)
        ms = h @ (w_out * m_out) + z @ (w_direct * m_direct) + b_out
        m, s = ms[..., :n], ms[..., n:]
        return z * exp(s) + m, s.sum(axis=-1)


#: formula names -> specification classes
FLOWS = {cls.short_name: cls for cls in (Loc, Scale, Planar, Radial, IAF)}


def parse_formula(flow: Any) -> list[Flow]:
    """The flows of a PyMC formula string, a :class:`Flow` or a list of them.

    ``"a-b*k"``: ``a`` then ``k`` copies of ``b``, applied in that order.

    Raises
    ------
    ValueError
        For an unknown flow name or a bad repetition count.

    Examples
    --------
    >>> parse_formula("radial*2")
    [Radial(), Radial()]
    >>> parse_formula([Scale(), Loc()])
    [Scale(), Loc()]
    """
    if isinstance(flow, Flow):
        return [flow]
    if isinstance(flow, str):
        out: list[Flow] = []
        for part in flow.replace(" ", "").split("-"):
            name, _, times = part.partition("*")
            cls = FLOWS.get(name.lower())
            if cls is None:
                raise ValueError(
                    f"unknown flow {name!r} in formula {flow!r}; flows: {sorted(FLOWS)}"
                )
            try:
                k = int(times) if times else 1
            except ValueError:
                k = 0
            if k < 1:
                raise ValueError(f"bad repetition {part!r} in formula {flow!r}")
            out += [cls() for _ in range(k)]
        return out
    if isinstance(flow, list | tuple) and flow:
        return [f for item in flow for f in parse_formula(item)]
    raise ValueError(f"flow must be a formula string, a Flow or a list, got {flow!r}")
