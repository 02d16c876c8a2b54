"""The Distribution base class: parameters, support, transform, sampler, density.

A distribution class ties together

* ``rv_op``: the :class:`~tessera.random.RandomVariable` op that samples it
  (its signature gives the core ndims of each parameter and of a draw);
* ``params``: the parameter names, in the order of the op's inputs;
* ``support`` and ``default_transform``: what values it takes, and the
  key of the transform a model uses to map them to the real line
  (``None``, ``"log"``, ``"logodds"``, ``"interval"`` (bounds from
  :meth:`Distribution._support_bounds`), ``"circular"``, ...);
* ``_param_conditions``: the parameter constraints, as boolean graphs;
* ``_support_mask``, ``_logp`` and ``_logcdf``: the maths, on broadcast
  batches (for event dims > 0, ``_logp`` reduces them).

Public entry points are ``Dist.dist(...)`` (an unregistered random variable),
``ppl.logp``, ``ppl.logcdf`` and ``ppl.draw`` (see :mod:`.logprob` and
:mod:`.draw`), and ``Dist("name", ...)`` inside a model (which
:meth:`Distribution.__new__` hands to the active model, found through
:mod:`tessera.ppl.context`).

Writing a distribution
----------------------
1. A :class:`~tessera.random.RandomVariable` subclass with ``name``,
   ``signature`` (e.g. ``"(n),(n,n)->(n)"``), ``dtype`` and a vectorized
   ``rng_fn(rng, *params, size)`` (``size`` is the full batch shape; use
   :func:`tessera.random.broadcast_params` for parameters with core dims).
   Override ``supp_shape_from_params`` when the event shape depends on a
   parameter's value. Optionally ``scipy_dist(*params)``.
2. A :class:`Distribution` subclass with ``rv_op = ThatRV()``, ``params``
   (op input order), ``support``, ``default_transform`` and the maths:
   ``_logp(value, *params)`` returns the batch-shaped log-density (event dims
   reduced); ``_support_mask`` and each ``_param_conditions`` entry are
   boolean graphs that broadcast against it; ``_moment`` gives a finite point
   (the model's default initial value); ``_canonical_params`` maps
   alternative parametrizations to the op's parameters.
3. A JAX sampler, ``@jax_sample.register(ThatRV)``, in the module of the
   same path under :mod:`tessera.ppl.jax` (registered when the JAX backend
   loads).

Registration is automatic: ``logp``/``logcdf``/``moment`` find the class from
the op of a draw. A model uses ``default_transform`` and
``_support_bounds`` to pick the transform, and ``Distribution.__new__`` to
register named variables.

Support keys
------------
``"real"``, ``"positive"`` (x > 0), ``"nonnegative"`` (x >= 0),
``"unit"`` ([0, 1]), ``"interval"`` (bounded by parameters),
``"lowerbound"``, ``"circular"`` ([-pi, pi]), ``"integers"``,
``"nonnegative_integers"``, ``"positive_integers"``, ``"binary"`` ({0, 1}),
``"categories"`` ({0, ..., k-1}). Multivariate distributions add their own
(``"simplex"``, ``"cholesky"``, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.elemwise import is_discrete
from tessera.ops.static import get_static_value
from tessera.ppl.context import modelcontext_or_none
from tessera.random.op import RandomVariable

# rv op class -> distribution class, so logp can find the maths of a draw
_OP_TO_DIST: dict[type, type[Distribution]] = {}


def dist_of(var: Variable) -> type[Distribution]:
    """The distribution class of a random variable's draw.

    Examples
    --------
    >>> from tessera import ppl
    >>> dist_of(ppl.Normal.dist(0.0, 1.0)).__name__
    'Normal'
    """
    node = getattr(var, "owner", None)
    if (
        node is None
        or not isinstance(node.op, RandomVariable)
        or var is not (node.outputs[1])
    ):
        raise TypeError(
            f"{var} is not a random variable's draw; create one with "
            "ppl.<Distribution>.dist(...)"
        )
    return dist_of_op(node.op)


def dist_of_op(op: RandomVariable) -> type[Distribution]:
    """The distribution class whose sampler is ``op``."""
    cls = _OP_TO_DIST.get(type(op))
    if cls is None:
        raise TypeError(f"no distribution is registered for the op {op}")
    return cls


def register_op(op_type: type, dist: type[Distribution]) -> None:
    """Make :func:`dist_of` map draws of ``op_type`` to ``dist``.

    Distributions with a fixed ``rv_op`` are registered automatically;
    composite ones (whose op is built per use) register their op class.
    """
    _OP_TO_DIST[op_type] = dist


class Distribution:
    """Base class of distributions (see the module docstring).

    Subclasses set ``rv_op``, ``params``, ``support``, ``default_transform``
    and implement ``_logp`` (and ``_logcdf`` where the CDF is known), plus
    ``_param_conditions``, ``_support_mask`` and ``_moment``. Alternative
    parametrizations override ``_canonical_params``.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(mu=0.0, sigma=2.0, size=(3,))
    >>> x.type.shape
    (3,)
    >>> ppl.logp(x, [0.0, 1.0, 2.0]).eval().round(4)
    array([-1.6121, -1.7371, -2.1121])
    """

    rv_op: ClassVar[RandomVariable]
    params: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {}
    integer_params: ClassVar[tuple[str, ...]] = ()
    support: ClassVar[str] = "real"
    default_transform: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        op = cls.__dict__.get("rv_op")
        if op is None:
            return
        if len(cls.params) != len(op.ndims_params):
            raise TypeError(
                f"{cls.__name__}: params {cls.params} do not match the signature "
                f"{op.signature!r} of {op}"
            )
        if not type(op).param_names:
            type(op).param_names = tuple(cls.params)
        _OP_TO_DIST[type(op)] = cls

    # --- construction -------------------------------------------------------
    def __new__(cls, name: str, *args, **kwargs):
        model = modelcontext_or_none()
        if model is None:
            raise TypeError(
                f"ppl.{cls.__name__}({name!r}, ...) declares a named variable of a "
                "model and must be called inside `with ppl.Model():`; use "
                f"ppl.{cls.__name__}.dist(...) for a variable outside a model"
            )
        if "default_transform" in kwargs:
            from tessera.ppl.model.values import UNSET, TransformChoice

            default = kwargs.pop("default_transform")
            transform = kwargs.pop("transform", UNSET)
            kwargs["transform"] = TransformChoice(transform, default)
        # the model creates the draw (dims, shape, observed data, transform)
        # and registers it under `name`
        return model.register_distribution(cls, name, *args, **kwargs)

    @classmethod
    def param_ndims(cls) -> dict[str, int]:
        """Core ndims of each parameter (from the op's signature).

        Examples
        --------
        >>> from tessera import ppl
        >>> ppl.Categorical.param_ndims()
        {'p': 1}
        """
        return dict(zip(cls.params, cls.rv_op.ndims_params))

    @classmethod
    def ndim_supp(cls) -> int:
        """Number of event (core) dims of a draw."""
        return cls.rv_op.ndim_supp

    @classmethod
    def dist(
        cls,
        *args: Any,
        size: Any = None,
        shape: Any = None,
        rng: Any = None,
        **kwargs: Any,
    ) -> Variable:
        """An unregistered random variable (a draw of ``rv_op``).

        Parameters
        ----------
        *args, **kwargs
            The distribution's parameters (see the class docstring).
        size : tuple of int, optional
            The full batch shape (parameters broadcast to it), as in NumPy.
        shape : tuple of int, optional
            Batch shape plus event shape (alternative to ``size``).
        rng : generator variable, optional
            A fresh unseeded :func:`tessera.random.rng` by default.

        Raises
        ------
        ValueError
            If parameters known at graph-build time violate a constraint, or
            their batch shapes do not broadcast (with each other or ``size``).

        Examples
        --------
        >>> from tessera import ppl
        >>> ppl.Gamma.dist(alpha=2.0, beta=[1.0, 3.0]).type.shape
        (2,)
        """
        if shape is not None:
            if size is not None:
                raise TypeError(f"{cls.__name__}.dist: give size or shape, not both")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            nd = cls.ndim_supp()
            size = shape[: len(shape) - nd] if nd else shape
        check_param_names(cls, cls._canonical_params, kwargs)
        params = cls._convert_params(cls._canonical_params(*args, **kwargs))
        cls._check_static(params)
        return cls.rv_op(*params, size=size, rng=rng)

    @classmethod
    def _canonical_params(cls, *args: Any, **kwargs: Any) -> list:
        """Map user arguments to the op's parameters, in ``params`` order."""
        names = cls.params
        if len(args) > len(names):
            raise TypeError(
                f"{cls.__name__}.dist takes {len(names)} parameters {names}, "
                f"got {len(args)} positional arguments"
            )
        bound = dict(zip(names, args))
        check_param_names(cls, names, kwargs)
        for k, v in kwargs.items():
            if k in bound:
                raise TypeError(f"{cls.__name__}.dist got parameter {k!r} twice")
            bound[k] = v
        missing = [n for n in names if n not in bound and n not in cls.defaults]
        if missing:
            raise TypeError(f"{cls.__name__}.dist is missing parameters {missing}")
        return [bound[n] if n in bound else cls.defaults[n] for n in names]

    @classmethod
    def _convert_params(cls, values: Sequence[Any]) -> list[Variable]:
        out = []
        for name, v in zip(cls.params, values):
            if name in cls.integer_params:
                out.append(_as_int_param(cls, name, v))
                continue
            v = as_tensor(v)
            if v.dtype != config.floatX:
                v = v.astype(config.floatX)
            out.append(v)
        return out

    @classmethod
    def _check_static(cls, params: Sequence[Variable]) -> None:
        """Raise now if a constraint on parameters known at build time fails."""
        for cond, text in cls._param_conditions(*params):
            val = get_static_value(cond)
            if val is not None and not np.all(val):
                shown = ", ".join(
                    f"{n}={_short(get_static_value(p))}"
                    for n, p in zip(cls.params, params)
                )
                raise ValueError(
                    f"{cls.__name__}: invalid parameters, {text} does not hold "
                    f"({shown})"
                )

    # --- maths (override in subclasses) --------------------------------------
    @classmethod
    def _param_conditions(cls, *params: Variable) -> list[tuple[Variable, str]]:
        """Constraints on the parameters: ``[(boolean graph, "sigma > 0"), ...]``.

        Each condition broadcasts against the log-density's batch shape
        (reduce event dims with ``.all(axis=-1)``).
        """
        return []

    @classmethod
    def _support_mask(cls, value: Variable, *params: Variable) -> Variable | None:
        """Where ``value`` lies in the support (None: everywhere)."""
        return None

    @classmethod
    def _support_bounds(cls, *params: Variable) -> tuple[Any, Any]:
        """``(lower, upper)`` of the support, None where unbounded.

        Used by the model's ``"interval"`` transform.
        """
        return (None, None)

    @classmethod
    def _logp(cls, value: Variable, *params: Variable) -> Variable:
        raise NotImplementedError(f"{cls.__name__} has no log-density")

    @classmethod
    def _logcdf(cls, value: Variable, *params: Variable) -> Variable:
        raise NotImplementedError(f"{cls.__name__} has no log-CDF")

    @classmethod
    def _moment(cls, *params: Variable) -> Variable:
        """A finite point in the support (broadcast to the batch by the caller).

        The model uses it as the default initial point.
        """
        raise NotImplementedError(f"{cls.__name__} has no moment")

    # --- node-level hooks: composite distributions (Mixture, Truncated)
    # override these to use information carried by their op ------------------
    @classmethod
    def node_logp(cls, op: RandomVariable, value: Variable, params) -> Variable:
        return cls._logp(value, *params)

    @classmethod
    def node_logcdf(cls, op: RandomVariable, value: Variable, params) -> Variable:
        return cls._logcdf(value, *params)

    @classmethod
    def node_support_mask(cls, op: RandomVariable, value: Variable, params):
        return cls._support_mask(value, *params)

    @classmethod
    def node_param_conditions(cls, op: RandomVariable, params) -> list:
        return cls._param_conditions(*params)

    @classmethod
    def node_support_bounds(cls, op: RandomVariable, params) -> tuple[Any, Any]:
        return cls._support_bounds(*params)

    @classmethod
    def node_moment(cls, op: RandomVariable, params) -> Variable:
        return cls._moment(*params)


class Continuous(Distribution):
    """Base of distributions over real values (draws of ``config.floatX``)."""


class Discrete(Distribution):
    """Base of distributions over integers (draws of ``int64``)."""

    support: ClassVar[str] = "integers"


def _as_int_param(cls, name: str, v: Any) -> Variable:
    v = as_tensor(v)
    if is_discrete(v):
        return v if v.dtype == "int64" else v.astype("int64")
    val = get_static_value(v)
    if val is not None and np.all(np.isfinite(val)) and np.all(val == np.round(val)):
        return as_tensor(np.asarray(val).astype(np.int64))
    raise TypeError(
        f"{cls.__name__}: parameter {name!r} must be an integer, got {v} of dtype "
        f"{v.dtype}"
    )


def _short(val) -> str:
    if val is None:
        return "?"
    text = np.array2string(np.asarray(val), threshold=6, precision=4)
    return text.replace("\n", "")


#: keywords PyMC 3 users write, and their PyMC 5 (and tessera) names
_RENAMED = {"sd": "sigma", "testval": "initval"}
#: keywords of a model variable besides the parameters (for the hint)
_VARIABLE_KEYWORDS = [
    "shape",
    "size",
    "dims",
    "observed",
    "initval",
    "transform",
    "default_transform",
]


@functools.lru_cache(maxsize=1024)
def _keyword_names(fn: Callable) -> tuple[str, ...] | None:
    """The public keyword names ``fn`` takes (None: it takes ``**kwargs``);
    cached, as ``inspect.signature`` costs more than building a variable."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return tuple(
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and not p.name.startswith("_")
    )


def check_param_names(cls: type, accepted: Any, kwargs: dict) -> None:
    """Raise ``TypeError`` for a keyword ``cls`` does not take, naming it,
    the closest parameter name and every valid one.

    ``accepted`` is a list of names or the function whose named parameters
    they are (a function taking ``**kwargs`` accepts anything).

    Examples
    --------
    >>> from tessera import ppl
    >>> ppl.Normal.dist(mu=0.0, sd=1.0)
    Traceback (most recent call last):
    ...
    TypeError: Normal got an unexpected parameter 'sd' (did you mean 'sigma'?); its parameters are mu, sigma, tau
    """
    import difflib

    if not kwargs:
        return
    if callable(accepted):
        names = _keyword_names(accepted)
        if names is None:
            return
        names = list(names)
    else:
        names = list(accepted)
    for k in kwargs:
        if k in names:
            continue
        close = _RENAMED.get(k) or next(
            iter(difflib.get_close_matches(k, names + _VARIABLE_KEYWORDS, n=1)), None
        )
        hint = f" (did you mean {close!r}?)" if close else ""
        raise TypeError(
            f"{cls.__name__} got an unexpected parameter {k!r}{hint}; its "
            f"parameters are {', '.join(names)}"
        )
