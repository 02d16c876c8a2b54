"""Memory of compiled NumPy functions: freeing dead temporaries, malloc tuning.

:func:`free_dead_locals` makes a generated function drop each intermediate
value right after its last reader, instead of keeping every local alive
until the function returns. For the log-density and gradient of a batched
MvNormal (100k x 4, ``benchmarks/memory.py``) that cut the peak memory of a
call from 2.3x its inputs and outputs to 1.3x.

Opt-in malloc tuning: keep glibc from handing large temporaries back to the OS.

A compiled NumPy graph allocates and frees the same intermediate arrays on
every call. With glibc's default settings, blocks above a (dynamic) mmap
threshold are ``mmap``-ed and ``munmap``-ed each time, and freed memory at
the top of the heap is trimmed back to the OS; the next call then pays a
page fault for every 4 KiB it touches. For the batched MvNormal log-density
and gradient of ``benchmarks/linalg.py`` that was more than half of the
time: (4096, 8) 24.5 ms by default, 11.0 tuned; (64, 64) 20.3 vs 7.6 ms;
(16, 256) 78.5 vs 59.7 ms (2 cores, OPENBLAS_NUM_THREADS=1, medians of 7).

:func:`tune_malloc` applies the fix glibc documents for this pattern: a
fixed mmap threshold of 32 MiB (the ceiling glibc's own dynamic threshold
reaches) and a trim threshold of 128 MiB, so the process keeps at most that
much freed memory for reuse. It changes the whole process's allocator, so
tessera never calls it for you: call it once at the start of a program
that runs compiled functions on large arrays many times (a sampler, a
benchmark, a server). It does nothing on other C libraries, when
``TESSERA_TUNE_MALLOC=0`` is set, or when the user set
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` (their settings
win).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Collection, Mapping

from tessera.graph.basic import Variable

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
    """Raise glibc's mmap and trim thresholds for this process (an opt-in).

    Large temporaries of compiled functions are then reused from call to
    call instead of being page-faulted in each time (see this module for
    the numbers). Applied once per process; later calls return the first
    call's result.

    Returns
    -------
    bool
        Whether the settings are in effect: False when disabled with
        ``TESSERA_TUNE_MALLOC=0``, overridden by the user's
        ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``, or not on
        glibc.

    Examples
    --------
    At the start of a program (not in a library: it is process-wide):

    >>> from tessera.compile.backends.numpy import tune_malloc
    >>> tune_malloc()  # doctest: +SKIP
    True
    """
    if _state["done"]:
        return _state["applied"]
    if os.environ.get("TESSERA_TUNE_MALLOC") == "0":
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


def free_dead_locals(
    lines: list[str],
    node_at: Mapping[int, tuple],
    names: Mapping[Variable, str],
    keep: Collection[Variable],
) -> dict[int, list[str]]:
    r"""Append ``del`` statements to a generated function's node statements.

    After the statement of the last node that reads an intermediate value
    (or after the statement computing it, when nothing reads it), the
    value's local name is deleted, so NumPy can reuse its memory for the
    values computed later. Only names that node statements assign are
    deleted: never the arguments, constants or shared values, nor the
    variables in ``keep`` (the returned outputs and the updates' new
    values). A view keeps its base array alive as before.

    Parameters
    ----------
    lines : list of str
        The generated body, one entry per statement; an entry may hold
        several lines. Changed in place: ``del`` lines are appended to the
        entries of node statements, so indices into ``lines`` stay valid.
    node_at : mapping of int to tuple
        Index in ``lines`` of each node statement -> ``(node, ...)``.
    names : mapping of Variable to str
        The local name of each value.
    keep : collection of Variable
        Values that must stay alive until the end (outputs, updates).

    Returns
    -------
    dict of int to list of str
        For each changed index of ``lines``, the names deleted there.

    Examples
    --------
    >>> import tessera as ts
    >>> from tessera.graph.fg import FunctionGraph
    >>> x = ts.vector("x")
    >>> y = ts.exp(x)
    >>> z = ts.log(y)
    >>> fg = FunctionGraph([x], [z], clone=False)
    >>> a, b = fg.toposort()
    >>> lines = ["    v0_0 = f0(i0)\n", "    v1_0 = f1(v0_0)\n"]
    >>> free_dead_locals(lines, {0: (a,), 1: (b,)}, {y: "v0_0", z: "v1_0"}, [z])
    {1: ['v0_0']}
    >>> lines[1]
    '    v1_0 = f1(v0_0)\n    del v0_0\n'
    """
    last: dict[Variable, int] = {}
    for idx in sorted(node_at):
        node = node_at[idx][0]
        for var in node.outputs:
            last[var] = idx  # freed right away unless a later node reads it
        for var in node.inputs:
            if var in last:
                last[var] = idx
    keep = set(keep)
    dead: dict[int, list[str]] = {}
    for var, idx in last.items():
        if var not in keep and var in names:
            dead.setdefault(idx, []).append(names[var])
    for idx, gone in dead.items():
        gone.sort()
        lines[idx] += f"    del {', '.join(gone)}\n"
    return dead
