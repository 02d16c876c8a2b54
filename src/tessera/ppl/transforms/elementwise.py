"""Elementwise transforms: log, interval (logodds, one-sided bounds), circular.

Each acts on every entry separately (``ndim_supp == 0``), so
``log_jac_det(y)`` has the shape of ``y`` (broadcast with the bounds).
"""

from __future__ import annotations

import math

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros_like
from tessera.ops.static import get_static_value
from tessera.ppl.transforms.base import Transform


class LogTransform(Transform):
    """Positive values: ``y = log(x)``, ``x = exp(y)``, ``log|J| = y``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = LogTransform()
    >>> y = ts.vector("y")
    >>> t.log_jac_det(y).eval({y: np.array([-1.0, 2.0])})
    array([-1.,  2.])
    """

    name = "log"

    def _forward(self, x):
        return tm.log(x)

    def _backward(self, y):
        return tm.exp(y)

    def _log_jac_det(self, y):
        # identity() keeps the result a fresh node, never the input itself
        return tm.identity(y)


class LogExpM1Transform(Transform):
    """Positive values through the softplus: ``y = log(exp(x) - 1)``,
    ``x = softplus(y)``, ``log|J| = log sigmoid(y)``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> LogExpM1Transform().backward(y).eval({y: np.array([0.0])}).round(4)
    array([0.6931])
    """

    name = "log_exp_m1"

    def _forward(self, x):
        # log(expm1(x)) = x + log(1 - exp(-x)), stable for large x
        return x + tm.log1mexp(-x)

    def _backward(self, y):
        return tm.softplus(y)

    def _log_jac_det(self, y):
        return tm.log_sigmoid(y)


def _bound(value, side: str):
    """A bound as given, or None where it is absent or statically infinite."""
    if value is None:
        return None
    if isinstance(value, Variable):
        static = get_static_value(value)
        if static is not None and np.all(np.isinf(static)):
            return None
        return value
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"IntervalTransform: the {side} bound must be numeric, got {value!r}"
        )
    if np.all(np.isinf(arr)):
        return None
    if isinstance(value, int | float):
        # Python scalars stay weakly typed, so float32 values stay float32.
        return float(value)
    return as_tensor(arr)


class IntervalTransform(Transform):
    r"""Values in ``(lower, upper)``; either bound may be absent.

    * both bounds: :math:`x = l + (u - l)\,\sigma(y)`,
      :math:`y = \log(x - l) - \log(u - x)`,
      :math:`\log|J| = \log(u - l) + \log\sigma(y) + \log\sigma(-y)`;
    * lower only: :math:`x = l + e^y`, :math:`\log|J| = y`;
    * upper only: :math:`x = u - e^y`, :math:`\log|J| = y`.

    Parameters
    ----------
    lower, upper : float, array, tensor or None
        The bounds; they broadcast against the value. ``None`` or an
        infinite constant means no bound on that side. At least one bound
        must be given (use no transform for the real line).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> t = IntervalTransform(-1.0, 3.0)
    >>> y = ts.vector("y")
    >>> t.backward(y).eval({y: np.array([0.0, 50.0])})
    array([1., 3.])
    """

    name = "interval"

    def __init__(self, lower=None, upper=None):
        self.lower = _bound(lower, "lower")
        self.upper = _bound(upper, "upper")
        if self.lower is None and self.upper is None:
            raise ValueError(
                "IntervalTransform: both bounds are absent or infinite; the "
                "values are unconstrained and need no transform"
            )
        if self.lower is not None and self.upper is not None:
            lo, hi = _static(self.lower), _static(self.upper)
            if lo is not None and hi is not None and np.any(lo >= hi):
                raise ValueError(
                    f"IntervalTransform: lower bound {lo} must be below upper bound {hi}"
                )

    def _forward(self, x):
        lo, hi = self.lower, self.upper
        if hi is None:
            return tm.log(x - lo)
        if lo is None:
            return tm.log(hi - x)
        return tm.log(x - lo) - tm.log(hi - x)

    def _backward(self, y):
        lo, hi = self.lower, self.upper
        if hi is None:
            return lo + tm.exp(y)
        if lo is None:
            return hi - tm.exp(y)
        return lo + (hi - lo) * tm.sigmoid(y)

    def _log_jac_det(self, y):
        lo, hi = self.lower, self.upper
        if lo is None or hi is None:
            return tm.identity(y)
        width = hi - lo
        # a Python float stays weakly typed, so float32 values stay float32
        log_width = math.log(width) if isinstance(width, float) else tm.log(width)
        return log_width + tm.log_sigmoid(y) + tm.log_sigmoid(-y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lower={self.lower!r}, upper={self.upper!r})"


def _static(v):
    if isinstance(v, Variable):
        return get_static_value(v)
    return np.asarray(v)


class LowerBoundTransform(IntervalTransform):
    """Values above ``lower``: ``x = lower + exp(y)`` (an interval with no upper).

    Examples
    --------
    >>> import tessera as ts
    >>> LowerBoundTransform(2.0).backward(ts.as_tensor(0.0)).eval()
    array(3.)
    """

    name = "lowerbound"

    def __init__(self, lower):
        if lower is None:
            raise ValueError("LowerBoundTransform: the lower bound is required")
        super().__init__(lower, None)


class UpperBoundTransform(IntervalTransform):
    """Values below ``upper``: ``x = upper - exp(y)`` (an interval with no lower).

    Examples
    --------
    >>> import tessera as ts
    >>> UpperBoundTransform(2.0).backward(ts.as_tensor(0.0)).eval()
    array(1.)
    """

    name = "upperbound"

    def __init__(self, upper):
        if upper is None:
            raise ValueError("UpperBoundTransform: the upper bound is required")
        super().__init__(None, upper)


class LogOddsTransform(IntervalTransform):
    """Values in (0, 1): ``y = logit(x)``, ``x = sigmoid(y)``.

    ``log|J| = log sigmoid(y) + log sigmoid(-y)``.

    Examples
    --------
    >>> import tessera as ts
    >>> LogOddsTransform().backward(ts.as_tensor(0.0)).eval()
    array(0.5)
    """

    name = "logodds"

    def __init__(self):
        super().__init__(0.0, 1.0)

    def _forward(self, x):
        return tm.logit(x)

    def _backward(self, y):
        return tm.sigmoid(y)

    def _log_jac_det(self, y):
        return tm.log_sigmoid(y) + tm.log_sigmoid(-y)

    def __repr__(self) -> str:
        return "LogOddsTransform()"


class CircularTransform(Transform):
    """Angles: both directions wrap to ``(-pi, pi]`` with ``atan2(sin, cos)``.

    The wrap is locally the identity, so ``log|J| = 0``. ``backward`` lets
    a sampler move freely on the real line while the value stays an angle;
    round trips are exact for angles in ``(-pi, pi]``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> y = ts.vector("y")
    >>> CircularTransform().backward(y).eval({y: np.array([0.5, 2 * np.pi + 0.5])})
    array([0.5, 0.5])
    """

    name = "circular"

    def _forward(self, x):
        return tm.arctan2(tm.sin(x), tm.cos(x))

    def _backward(self, y):
        return tm.arctan2(tm.sin(y), tm.cos(y))

    def _log_jac_det(self, y):
        return zeros_like(y)
