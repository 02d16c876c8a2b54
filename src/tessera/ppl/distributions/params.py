"""Parameter handling shared by the univariate distributions.

* :func:`sigma_from`: a scale given as ``sigma`` or as a precision;
* :func:`positive` and :func:`positive_params`: the ``name > 0`` entries of
  ``_param_conditions``;
* :func:`probability` and :func:`p_from_logit`: a probability parameter, given
  as such or as log-odds;
* :func:`params_or_moments`: a distribution given by its own parameters or
  by its mean and standard deviation (Beta, Gamma, InverseGamma).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tessera.config import config
from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor

__all__ = [
    "p_from_logit",
    "params_or_moments",
    "positive",
    "positive_params",
    "probability",
    "sigma_from",
]


def sigma_from(sigma: Any, tau: Any, default: Any = 1.0) -> Any:
    """The scale from ``sigma`` or the precision ``tau`` (at most one given).

    Examples
    --------
    >>> float(sigma_from(None, 4.0).eval())
    0.5
    >>> sigma_from(None, None)
    1.0
    """
    if sigma is not None and tau is not None:
        raise ValueError("give sigma or tau, not both")
    if tau is not None:
        return as_tensor(tau, dtype=config.floatX) ** -0.5
    return default if sigma is None else sigma


def positive(**params: Variable) -> list[tuple[Variable, str]]:
    """``[(p > 0, "name > 0"), ...]``: conditions for ``_param_conditions``.

    Examples
    --------
    >>> import tessera as ts
    >>> [(bool(c.eval()), text) for c, text in positive(b=ts.constant(-1.0))]
    [(False, 'b > 0')]
    """
    return [(p > 0, f"{name} > 0") for name, p in params.items()]


def probability(name: str, p: Variable) -> list[tuple[Variable, str]]:
    """``[(0 <= p <= 1, "0 <= name <= 1")]``: a condition for ``_param_conditions``.

    Examples
    --------
    >>> import tessera as ts
    >>> [(bool(c.eval()), text) for c, text in probability("p", ts.constant(1.5))]
    [(False, '0 <= p <= 1')]
    """
    return [(tm.logical_and(tm.ge(p, 0.0), tm.le(p, 1.0)), f"0 <= {name} <= 1")]


def p_from_logit(p: Any, logit_p: Any) -> Any:
    """The probability from ``p`` or from its log-odds ``logit_p`` (exactly one).

    Examples
    --------
    >>> round(float(p_from_logit(None, 0.0).eval()), 3)
    0.5
    """
    if (p is None) == (logit_p is None):
        raise ValueError("give exactly one of p and logit_p")
    if logit_p is not None:
        return tm.sigmoid(as_tensor(logit_p, dtype=config.floatX))
    return p


def positive_params(*names: str) -> classmethod:
    """A ``_param_conditions`` classmethod: each named parameter is > 0.

    For distributions whose only constraints are positivity; the names are
    looked up in the class's ``params``.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.ppl.distributions.base import Continuous
    >>> class D(Continuous):
    ...     params = ("mu", "sigma")
    ...     _param_conditions = positive_params("sigma")
    >>> [text for _, text in D._param_conditions(ts.scalar("m"), ts.scalar("s"))]
    ['sigma > 0']
    """

    def _param_conditions(cls, *values: Variable) -> list[tuple[Variable, str]]:
        bound = dict(zip(cls.params, values))
        return positive(**{name: bound[name] for name in names})

    return classmethod(_param_conditions)


def params_or_moments(
    dist: str,
    params: Mapping[str, Any],
    moments: Mapping[str, Any],
    from_moments: Callable[..., list],
    defaults: Mapping[str, Any] | None = None,
) -> list:
    """The distribution's own parameters, or those computed from its moments.

    Exactly one of the two sets must be given: every entry of ``params``
    (those in ``defaults`` may be left out) and none of ``moments``, or
    every entry of ``moments`` and none of ``params``.

    Parameters
    ----------
    dist : str
        The distribution's name, for the error message.
    params, moments : mapping of str to value or None
        The arguments as the user gave them (None: not given).
    from_moments : callable
        Maps the moments (as floatX tensors, in ``moments`` order) to the
        parameters, in ``params`` order.
    defaults : mapping, optional
        Values of parameters that may be omitted when no moment is given.

    Examples
    --------
    >>> params_or_moments("D", {"a": 2.0}, {"mu": None}, lambda mu: [1.0 / mu])
    [2.0]
    >>> a, = params_or_moments("D", {"a": None}, {"mu": 4.0}, lambda mu: [1.0 / mu])
    >>> float(a.eval())
    0.25
    """
    defaults = defaults or {}
    if all(v is None for v in moments.values()):
        filled = [defaults.get(k) if v is None else v for k, v in params.items()]
        if all(v is not None for v in filled):
            return filled
    elif all(v is not None for v in moments.values()) and all(
        v is None for v in params.values()
    ):
        return from_moments(
            *(as_tensor(v, dtype=config.floatX) for v in moments.values())
        )
    needed = " and ".join(k for k in params if k not in defaults)
    needed += "".join(f" (and {k})" for k in params if k in defaults)
    raise ValueError(f"{dist}: give either {needed}, or {' and '.join(moments)}")
