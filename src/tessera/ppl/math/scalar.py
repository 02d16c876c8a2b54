"""Elementwise helpers of ``ppl.math`` that tessera has no op for under
PyMC's name: probit and its inverse, inverse hyperbolic functions, gamma,
and the stable ``logdiffexp``, ``log_softmax`` and ``softmax``."""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Variable
from tessera.ops.basic import as_tensor
from tessera.ops.math import (
    abs,
    eq,
    exp,
    floor,
    gammaln,
    gt,
    log,
    log1mexp,
    log1p,
    ndtr,
    ndtri,
    sqrt,
    where,
)
from tessera.ops.math import sign as sgn
from tessera.ops.reduction import (
    logsumexp,
)


def probit(p) -> Variable:
    """The standard normal quantile function, ``Phi^-1(p)``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.probit(0.975).eval().round(4))
    1.96
    """
    return ndtri(p)


def invprobit(x) -> Variable:
    """The standard normal CDF, ``Phi(x)``, inverse of :func:`probit`.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.invprobit(0.0).eval())
    0.5
    """
    return ndtr(x)


def erfcinv(x) -> Variable:
    """Inverse of ``erfc``, as ``-probit(x / 2) / sqrt(2)`` (accurate near 0).

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.erfcinv(0.5).eval().round(4))
    0.4769
    """
    return -ndtri(as_tensor(x) / 2.0) / np.sqrt(2.0)


def arcsinh(x) -> Variable:
    """Inverse hyperbolic sine, ``sign(x) log(|x| + sqrt(x^2 + 1))``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arcsinh(1.0).eval().round(4))
    0.8814
    """
    x = as_tensor(x)
    ax = abs(x)
    return sgn(x) * log1p(ax + ax * ax / (1.0 + sqrt(ax * ax + 1.0)))


def arccosh(x) -> Variable:
    """Inverse hyperbolic cosine (``x >= 1``), ``log(x + sqrt(x^2 - 1))``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arccosh(2.0).eval().round(4))
    1.317
    """
    x = as_tensor(x)
    return log(x + sqrt(x * x - 1.0))


def arctanh(x) -> Variable:
    """Inverse hyperbolic tangent (``|x| < 1``), ``log1p(2x / (1 - x)) / 2``.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.arctanh(0.5).eval().round(4))
    0.5493
    """
    x = as_tensor(x)
    return 0.5 * log1p(2.0 * x / (1.0 - x))


def gamma(x) -> Variable:
    """The gamma function, ``exp(gammaln(x))`` with its sign for negative x.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.math.gamma(5.0).eval().round(6))
    24.0
    """
    x = as_tensor(x)
    odd = eq(floor(-x) - 2.0 * floor(floor(-x) / 2.0), 0.0)
    s = where(gt(x, 0.0), 1.0, where(odd, -1.0, 1.0))
    return s * exp(gammaln(x))


def logdiffexp(a, b) -> Variable:
    """``log(exp(a) - exp(b))`` for ``a >= b``, stably (``a`` where ``b = -inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> float(ppl.math.logdiffexp(np.log(3.0), np.log(1.0)).eval().round(4))
    0.6931
    """
    a, b = as_tensor(a), as_tensor(b)
    return where(eq(b, -np.inf), a, a + log1mexp(b - a))


def log_softmax(x, axis: int | None = None) -> Variable:
    """``x - logsumexp(x)`` along ``axis`` (None: over all entries).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.log_softmax(np.log([1.0, 3.0]), axis=-1).eval().round(4)
    array([-1.3863, -0.2877])
    """
    x = as_tensor(x)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis: int | None = None) -> Variable:
    """``exp(x) / sum(exp(x))`` along ``axis`` (None: over all entries).

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> ppl.math.softmax(np.log([1.0, 3.0]), axis=-1).eval()
    array([0.25, 0.75])
    """
    return exp(log_softmax(x, axis=axis))
