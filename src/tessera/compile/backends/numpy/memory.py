"""Keep glibc from handing large temporaries back to the OS on every call.

A compiled NumPy graph allocates and frees the same intermediate arrays on
every call. With glibc's default settings, blocks above a (dynamic) mmap
threshold are ``mmap``-ed and ``munmap``-ed each time, and freed memory at
the top of the heap is trimmed back to the OS; the next call then pays a
page fault for every 4 KiB it touches. For the batched MvNormal log-density
and gradient of ``benchmarks/linalg.py`` that is more than half of the time:

=================  =======  =========
(batch, n)         default  tuned
=================  =======  =========
(4096, 8)          24.5 ms  11.0 ms
(64, 64)           20.3 ms   7.6 ms
(16, 256)          78.5 ms  59.7 ms
=================  =======  =========

(2 cores, OPENBLAS_NUM_THREADS=1, medians of 7.) The fix is the one glibc
documents for this pattern: a fixed mmap threshold of 32 MiB (the ceiling
glibc's own dynamic threshold reaches) and a trim threshold of 128 MiB, so a
process keeps at most that much freed memory for reuse. It is applied once,
when the first NumPy-backend function is compiled, only on glibc, and never
when the user set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``
(their settings win). Turn it off with ``tessera.config.tune_malloc =
False`` before compiling, or ``TESSERA_TUNE_MALLOC=0`` in the environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 128 * 2**20

_state = {"done": False, "applied": False}


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # glibc only: musl and others have no such symbol (and other mallopts)
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def tune_malloc() -> bool:
    """Apply the malloc settings described in this module, once per process.

    Returns whether they are in effect (False when disabled, overridden by
    the user's environment, or not on glibc).

    Examples
    --------
    >>> from tessera.compile.backends.numpy.memory import tune_malloc
    >>> tune_malloc() in (True, False)
    True
    """
    from tessera.config import config

    if _state["done"]:
        return _state["applied"]
    if not config.tune_malloc or os.environ.get("TESSERA_TUNE_MALLOC") == "0":
        return False
    _state["done"] = True
    if any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    libc = _glibc()
    if libc is None:
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    _state["applied"] = ok
    return ok
