"""Suite-wide hooks, for the tests under ``tests/`` and the doctests under
``src/`` alike (a hook in ``tests/conftest.py`` sees only the former)."""

import pytest


def _release_memory() -> None:
    """Drop JAX's compiled programs and hand freed heap back to the OS."""
    import gc
    import sys

    jax = sys.modules.get("jax")
    if jax is not None:
        jax.clear_caches()
    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test of each module, release memory: the suite's peak
    resident memory otherwise grows with every module that compiles JAX
    programs (1.3 GB after tests/compile, tests/ops and tests/ppl/distributions;
    0.4 GB with this) (#23 item 9)."""
    # by file: doctest items (src/) have no module attribute
    if nextitem is None or nextitem.path != item.path:
        _release_memory()
