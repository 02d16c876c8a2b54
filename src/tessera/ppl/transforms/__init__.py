"""Transforms between distributions' supports and unconstrained space.

A model samples and optimizes on the unconstrained space: each value ``x``
with a constrained support is replaced by ``y = forward(x)``, and the
log-density gains ``log_jac_det(y)`` (see :class:`Transform`).

Distributions name their default transform with a key (their
``default_transform``); :func:`get_transform` turns a key and its
parameters into a :class:`Transform`:

=======================  ==================================  ====================
key                      transform                           parameters
=======================  ==================================  ====================
``"log"``                :class:`LogTransform`
``"interval"``           :class:`IntervalTransform`          ``lower``, ``upper``
``"lowerbound"``         :class:`LowerBoundTransform`        ``lower``
``"upperbound"``         :class:`UpperBoundTransform`        ``upper``
``"logodds"``            :class:`LogOddsTransform`
``"simplex"``            :class:`SimplexTransform`
``"ordered"``            :class:`OrderedTransform`
``"zerosum"``            :class:`ZeroSumTransform`           ``n_zerosum_axes``
``"cholesky_corr"``      :class:`CholeskyCorrTransform`      ``n`` (optional)
``"cholesky_cov"``       :class:`CholeskyCovTransform`       ``n`` (optional)
``"positive_definite"``  :class:`PositiveDefiniteTransform`  ``n`` (optional)
``"correlation"``        :class:`CorrelationTransform`       ``n`` (optional)
``"circular"``           :class:`CircularTransform`
``"sum_to_1"``           :class:`SumTo1Transform`
``"log_exp_m1"``         :class:`LogExpM1Transform`
=======================  ==================================  ====================

:class:`Chain` composes transforms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tessera.ppl.transforms.base import Chain, Transform, sum_trailing
from tessera.ppl.transforms.cholesky import CholeskyCorrTransform, CholeskyCovTransform
from tessera.ppl.transforms.elementwise import (
    CircularTransform,
    IntervalTransform,
    LogExpM1Transform,
    LogOddsTransform,
    LogTransform,
    LowerBoundTransform,
    UpperBoundTransform,
)
from tessera.ppl.transforms.matrix import (
    CorrelationTransform,
    PositiveDefiniteTransform,
)
from tessera.ppl.transforms.vector import (
    OrderedTransform,
    SimplexTransform,
    SumTo1Transform,
    ZeroSumTransform,
)

_REGISTRY: dict[str, Callable[..., Transform]] = {
    "log": LogTransform,
    "interval": IntervalTransform,
    "lowerbound": LowerBoundTransform,
    "upperbound": UpperBoundTransform,
    "logodds": LogOddsTransform,
    "simplex": SimplexTransform,
    "ordered": OrderedTransform,
    "zerosum": ZeroSumTransform,
    "cholesky_corr": CholeskyCorrTransform,
    "cholesky_cov": CholeskyCovTransform,
    "positive_definite": PositiveDefiniteTransform,
    "correlation": CorrelationTransform,
    "circular": CircularTransform,
    "sum_to_1": SumTo1Transform,
    "log_exp_m1": LogExpM1Transform,
}


def register_transform(key: str, factory: Callable[..., Transform]) -> None:
    """Make ``get_transform(key, **params)`` call ``factory(**params)``.

    Examples
    --------
    >>> register_transform("my_log", LogTransform)
    >>> get_transform("my_log")
    LogTransform()
    """
    if not isinstance(key, str):
        raise TypeError(f"register_transform: the key must be a str, got {key!r}")
    _REGISTRY[key] = factory


def get_transform(key, **params) -> Transform | None:
    """Resolve a transform key (or a transform) to a :class:`Transform`.

    Parameters
    ----------
    key : str, Transform, sequence of those, or None
        A key of the table in the module docstring, a transform (returned
        as is), a sequence (composed with :class:`Chain`, constrained side
        first), or None (no transform).
    **params
        Passed to the transform's constructor (only with a str key).
        ``"interval"`` with both bounds None or infinite returns None: the
        values are unconstrained.

    Returns
    -------
    Transform or None

    Examples
    --------
    >>> get_transform("interval", lower=0.0, upper=1.0)
    IntervalTransform(lower=0.0, upper=1.0)
    >>> get_transform("interval", lower=None, upper=None) is None
    True
    >>> get_transform(["log", "ordered"]).name
    'log_ordered'
    """
    if key is None or isinstance(key, Transform):
        if params:
            raise TypeError(
                f"get_transform: parameters {sorted(params)} are only accepted "
                f"with a str key, got {key!r}"
            )
        return key
    if isinstance(key, Sequence) and not isinstance(key, str):
        if params:
            raise TypeError(
                "get_transform: parameters are not accepted with a sequence of "
                "keys; build the stages first"
            )
        stages = [get_transform(k) for k in key]
        return Chain(*[s for s in stages if s is not None])
    if not isinstance(key, str):
        raise TypeError(f"get_transform: expected a key, got {key!r}")
    if key not in _REGISTRY:
        raise ValueError(
            f"get_transform: unknown transform {key!r}; known keys: "
            f"{', '.join(sorted(_REGISTRY))}"
        )
    if key == "interval" and _unbounded(params.get("lower"), params.get("upper")):
        return None
    try:
        return _REGISTRY[key](**params)
    except TypeError as err:
        raise TypeError(f"get_transform({key!r}, ...): {err}") from err


def _unbounded(lower, upper) -> bool:
    from tessera.ppl.transforms.elementwise import _bound

    return _bound(lower, "lower") is None and _bound(upper, "upper") is None


__all__ = [
    "Chain",
    "CholeskyCorrTransform",
    "CholeskyCovTransform",
    "CircularTransform",
    "CorrelationTransform",
    "IntervalTransform",
    "LogExpM1Transform",
    "LogOddsTransform",
    "LogTransform",
    "LowerBoundTransform",
    "OrderedTransform",
    "PositiveDefiniteTransform",
    "SimplexTransform",
    "SumTo1Transform",
    "Transform",
    "UpperBoundTransform",
    "ZeroSumTransform",
    "get_transform",
    "register_transform",
    "sum_trailing",
]
