"""A light tqdm progress bar for iterative fits.

Refreshing a terminal line costs far more than one ADVI step, so the bar is
advanced in blocks (about 200 refreshes per run at most) and its postfix
(the running ELBO) is set without forcing a redraw.

Examples
--------
>>> bar = ProgressBar(1000, enabled=False)
>>> for i in range(1000):
...     bar.step(i, "ELBO = -1.0")
>>> bar.close()
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ProgressBar:
    """Progress of ``total`` iterations; a no-op when ``enabled`` is False.

    Parameters
    ----------
    total : int
    enabled : bool
    desc : str
        Text in front of the bar.

    Examples
    --------
    >>> ProgressBar(10, enabled=False).enabled
    False
    """

    def __init__(self, total: int, enabled: bool = True, desc: str = "") -> None:
        self.total = int(total)
        self.enabled = bool(enabled)
        self.every = max(1, self.total // 200)
        self._done = 0
        self._bar = None
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=desc, leave=True)

    def step(self, i: int, postfix: str | None = None) -> None:
        """Record that iteration ``i`` (0-based) finished."""
        if self._bar is None or ((i + 1) % self.every and i + 1 != self.total):
            return
        if postfix is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(i + 1 - self._done)
        self._done = i + 1

    def close(self, postfix: str | None = None) -> None:
        """Close the bar (keeping it on screen) with a final ``postfix``."""
        if self._bar is None:
            return
        if postfix is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.close()
        self._bar = None


class CountBar:
    """A count of events with no known total (function evaluations of an
    optimizer): a tqdm counter, a no-op when ``enabled`` is False.

    Examples
    --------
    >>> bar = CountBar(enabled=False)
    >>> bar.update(3, "logp = -1.5")
    >>> bar.close()
    """

    def __init__(self, enabled: bool = True, desc: str = "", unit: str = "it") -> None:
        self._bar = None
        self._done = 0
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=desc, unit=f" {unit}", leave=True)

    def update(self, n: int, postfix: str | None = None) -> None:
        """Record that ``n`` events happened so far."""
        if self._bar is None or n <= self._done:
            return
        if postfix is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.update(n - self._done)
        self._done = n

    def close(self, postfix: str | None = None) -> None:
        """Close the counter (keeping it on screen) with a final ``postfix``."""
        if self._bar is None:
            return
        if postfix is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
        self._bar.close()
        self._bar = None


@contextmanager
def stage(desc: str, enabled: bool = True) -> Iterator[None]:
    """Show ``desc`` and the seconds it took, for a step with no count
    (compiling the model, compiling the sampler).

    Like every tqdm bar, it shows also when stderr is not a terminal (a
    log file, a notebook); ``enabled=False`` turns it off.

    Examples
    --------
    >>> with stage("Compiling", enabled=False):
    ...     pass
    """
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=1, desc=desc, bar_format="{desc}: {elapsed}", leave=True)
    try:
        yield
        bar.update(1)
    finally:
        bar.close()
