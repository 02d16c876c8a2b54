"""Shared fixtures for the tessera test suite."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(20240611)


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
    # by file: doctest items have no module attribute
    if nextitem is None or nextitem.path != item.path:
        _release_memory()
