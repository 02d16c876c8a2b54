"""The ``tessera.ppl`` logger: which backend ran, convergence findings.

As in PyMC, when the program has configured no logging (the root logger
has no handler), the logger prints its INFO records to stderr, so that a
user sees which backend compiled the model; a program that configures
logging gets the records through its own handlers instead. Records that
were also issued as a Python warning (``extra={"warned": True}``) are not
printed twice by that default handler.

Examples
--------
>>> import logging
>>> logging.getLogger("tessera.ppl").name
'tessera.ppl'
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["logger", "quiet_logging"]

logger = logging.getLogger("tessera.ppl")


class _NotWarned(logging.Filter):
    """Drops records that :mod:`warnings` shows already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "warned", False)


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr``, looked up per record (so that
    redirecting stderr, as pytest's capture does, redirects these lines)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _default_handler() -> None:
    if logging.root.handlers or logger.handlers:
        return
    handler = _StderrHandler()
    handler.addFilter(_NotWarned())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


_default_handler()


@contextmanager
def quiet_logging(quiet: bool = True) -> Iterator[None]:
    """Silence the ``tessera.ppl`` logger inside the block (PyMC's
    ``quiet=True``); a no-op when ``quiet`` is False.

    Examples
    --------
    >>> with quiet_logging():
    ...     logger.info("not shown")
    """
    if not quiet:
        yield
        return
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)
