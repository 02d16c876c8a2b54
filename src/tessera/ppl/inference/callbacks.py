"""Convergence callbacks for :func:`tessera.ppl.fit`.

A callback is any callable ``callback(approx, hist, i)`` called after each
iteration ``i`` (0-based) with the approximation and the ELBO trace so far
(``hist[: i + 1]``). It stops the fit by raising :class:`StopIteration`
(the message is reported) or by returning ``True``.

On the JAX backend a fit runs several steps per compiled call; a callback
with an ``every`` attribute is called with the parameters of every
``every``-th step exactly (the chunk is no longer than ``every``), while a
plain callable (``every`` absent) makes the fit run one step per call.

Examples
--------
>>> import numpy as np
>>> cb = ELBOPlateau(window=10, tolerance=1e-3)
>>> hist = np.full(100, -5.0)
>>> try:
...     cb(None, hist, 99)
... except StopIteration as stop:
...     print(stop)
ELBO plateau: relative change of the 10-iteration mean is 0 < 0.001
"""

from __future__ import annotations

import numpy as np

__all__ = ["CheckParametersConvergence", "ELBOPlateau", "Tracker", "flat_parameters"]


def flat_parameters(approx) -> np.ndarray:
    """All parameters of an approximation as one flat vector (a copy).

    Examples
    --------
    >>> import tessera as ts
    >>> class A:
    ...     params = [ts.shared(np.zeros(2)), ts.shared(np.ones((1, 2)))]
    >>> flat_parameters(A())
    array([0., 0., 1., 1.])
    """
    return np.concatenate([np.ravel(p.get_value(borrow=True)) for p in approx.params])


class CheckParametersConvergence:
    """Stop when the parameters change little between checks.

    Every ``every`` iterations the flat parameter vector is compared with the
    one at the previous check; the change is ``|new - old| / max(|old|, 1)``
    elementwise for ``diff="relative"`` (``max(., 1)`` keeps parameters near
    zero from dividing by zero), ``|new - old|`` for ``diff="absolute"``,
    reduced with the vector norm of order ``ord``. The fit stops when it is
    below ``tolerance``.

    Parameters
    ----------
    every : int
        Iterations between checks.
    tolerance : float
    diff : {"relative", "absolute"}
    ord : float
        Norm order (``numpy.linalg.norm``); infinity by default.

    Examples
    --------
    >>> cb = CheckParametersConvergence(every=50, tolerance=1e-2)
    >>> cb.every
    50
    """

    def __init__(
        self,
        every: int = 100,
        tolerance: float = 1e-3,
        diff: str = "relative",
        ord: float = np.inf,
    ) -> None:
        if diff not in ("relative", "absolute"):
            raise ValueError(f"diff must be 'relative' or 'absolute', got {diff!r}")
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.tolerance, self.diff, self.ord = (
            int(every),
            float(tolerance),
            diff,
            ord,
        )
        self._prev: np.ndarray | None = None

    def __call__(self, approx, hist, i: int) -> None:
        if (i + 1) % self.every:
            return
        current = flat_parameters(approx)
        prev, self._prev = self._prev, current
        if prev is None or prev.shape != current.shape:
            return
        delta = np.abs(current - prev)
        if self.diff == "relative":
            delta = delta / np.maximum(np.abs(prev), 1.0)
        change = float(np.linalg.norm(delta, self.ord))
        if change < self.tolerance:
            raise StopIteration(
                f"parameters converged: {self.diff} change {change:.3g} < "
                f"{self.tolerance:g} at iteration {i}"
            )


class ELBOPlateau:
    """Stop when the mean ELBO over a window stops improving.

    Every ``every`` iterations (default: ``window``) compares the mean ELBO
    of the last ``window`` iterations with the mean of the ``window`` before
    them; stops when ``|new - old| / max(|old|, 1)`` is below ``tolerance``.

    Examples
    --------
    >>> cb = ELBOPlateau(window=100)
    >>> cb(None, np.linspace(-100.0, -1.0, 150), 149) is None  # still rising
    True
    """

    def __init__(
        self, window: int = 500, tolerance: float = 1e-3, every: int | None = None
    ) -> None:
        if int(window) < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window, self.tolerance = int(window), float(tolerance)
        self.every = int(every) if every is not None else self.window

    def __call__(self, approx, hist, i: int) -> None:
        n, w = i + 1, self.window
        if n < 2 * w or n % self.every:
            return
        new = float(np.mean(hist[n - w : n]))
        old = float(np.mean(hist[n - 2 * w : n - w]))
        change = abs(new - old) / max(abs(old), 1.0)
        if change < self.tolerance:
            raise StopIteration(
                f"ELBO plateau: relative change of the {w}-iteration mean is "
                f"{change:.3g} < {self.tolerance:g}"
            )


class Tracker:
    """Record functions of the approximation at every ``every``-th step.

    Each keyword is a name and a function of no argument (as PyMC's, e.g.
    ``mean=advi.approx.mean_flat.__get__``) or of the approximation;
    after each recorded step its value is appended to ``tracker[name]``.

    Parameters
    ----------
    every : int
        Record every this many steps (1: all).
    **fns : callable
        ``name=fn`` with ``fn()`` or ``fn(approx)``.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x", 1.0, 1.0)
    >>> tracker = Tracker(mu=lambda approx: approx.mean_flat.copy())
    >>> _ = ppl.fit(50, model=m, callbacks=[tracker], progressbar=False)
    >>> len(tracker["mu"]), tracker["mu"][0].shape
    (50, (1,))
    """

    def __init__(self, every: int = 1, **fns) -> None:
        if int(every) < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        for name, fn in fns.items():
            if not callable(fn):
                raise TypeError(f"Tracker: {name!r} is not callable")
        self.every = int(every)
        self.fns = dict(fns)
        self.hist: dict[str, list] = {name: [] for name in fns}
        self._takes_approx = {name: _takes_argument(fn) for name, fn in fns.items()}

    def __call__(self, approx, hist, i: int) -> None:
        if (i + 1) % self.every:
            return
        for name, fn in self.fns.items():
            value = fn(approx) if self._takes_approx[name] else fn()
            self.hist[name].append(np.array(value, copy=True))

    def __getitem__(self, name: str) -> list:
        return self.hist[name]

    def __repr__(self) -> str:
        return f"Tracker({', '.join(self.fns)})"


def _takes_argument(fn) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) >= 1
