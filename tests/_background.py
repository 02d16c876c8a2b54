"""Subprocess checks run in the background, beside the in-process tests.

Some tests only start a fresh interpreter (an example script, a sampler to
interrupt, a stress run of a formerly hanging graph) and read what it
printed: most of their time is that process's, while the pytest process
waits with a core idle. Such a test is marked ``@pytest.mark.background(
job=job)``, where ``job(**params)`` does the waiting work (taking some or all
of the test's parameters, hashable values) and returns what the test
checks. Once collection ends, the jobs of every selected marked test start
in the order of the tests, one at a time, in a thread of this process
(:func:`start_selected`, from ``tests/conftest.py``), so that they run
while the suite goes on; the test itself calls :func:`result` and asserts.
A job runs once; a test whose job was not started (run alone, say) starts
it then.

A test marked ``@pytest.mark.background`` with no job is heavy work of the
test process itself (compiling many JAX programs): the whole test runs in a
pytest subprocess (:func:`run_test`, started like the jobs) and the test in
this process passes when that one passed. Marked tests run after the others
(``tests/conftest.py`` moves them to the end), so that their jobs have run
by then.

Examples
--------
A test module declares the job and marks the test (the job is not run
here: a doctest of this module would wait behind the suite's queue)::

    def run_example(script):
        return subprocess.run([sys.executable, script], capture_output=True)

    @pytest.mark.background(job=run_example)
    @pytest.mark.parametrize("script", SCRIPTS)
    def test_example(script):
        assert result(run_example, script=script).returncode == 0
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: set in the subprocess of :func:`run_test`: there the test runs itself
CHILD = "TESSERA_TEST_IN_BACKGROUND"

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_jobs: dict[tuple, Future] = {}


def _key(job: Callable, params: dict) -> tuple:
    return (job.__module__, job.__qualname__, tuple(sorted(params.items())))


def start(job: Callable, **params: Any) -> Future:
    """Start ``job(**params)`` in the background (once); its future."""
    global _pool
    key = _key(job, params)
    with _lock:
        if key not in _jobs:
            if _pool is None:
                _pool = ThreadPoolExecutor(1, thread_name_prefix="background-test")
            _jobs[key] = _pool.submit(job, **params)
        return _jobs[key]


def result(job: Callable, timeout: float = 900, **params: Any) -> Any:
    """What ``job(**params)`` returned (started now if it was not), or the
    exception it raised."""
    return start(job, **params).result(timeout)


def run_test(nodeid: str, root: str) -> tuple[int, str]:
    """Run one test in a pytest subprocess (in folder ``root``): its exit
    code and the end of its report."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", nodeid],
        cwd=root,
        env={**os.environ, CHILD: "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    return proc.returncode, (proc.stdout + proc.stderr)[-6000:]


def in_child() -> bool:
    """Whether this process is :func:`run_test`'s subprocess."""
    return bool(os.environ.get(CHILD))


def whole_test(item) -> bool:
    """Whether ``item`` runs whole in a subprocess (marked with no job)."""
    mark = item.get_closest_marker("background")
    return mark is not None and "job" not in mark.kwargs and not in_child()


def start_selected(items: list) -> None:
    """Start the jobs of the selected tests marked ``background``."""
    for item in items:
        mark = item.get_closest_marker("background")
        if mark is None:
            continue
        if whole_test(item):
            start(run_test, nodeid=item.nodeid, root=str(item.config.rootpath))
            continue
        job = mark.kwargs.get("job")
        if job is None:  # the subprocess of run_test: the test runs itself
            continue
        given = getattr(item, "callspec", None)
        given = given.params if given is not None else {}
        names = inspect.signature(job).parameters
        start(job, **{k: v for k, v in given.items() if k in names})


def stop() -> None:
    """Drop the jobs not yet started (a run cut short); the running one
    finishes."""
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
