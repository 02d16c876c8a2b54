"""Suite-wide hooks, for the tests under ``tests/`` and the doctests under
``src/`` alike (a hook in ``tests/conftest.py`` sees only the former)."""

import pytest

# XLA's CPU option for this process's JAX programs, the one tessera's own
# programs already compile with (tessera.compile.backends.jax.options): the
# tests also jit and run JAX directly (reference values, draws, doctests),
# each op compiled apart, and the elemental emitter compiles them faster
# (tests/compile/backends/test_jax_random.py: 52 -> 41 s)
TEST_XLA_FLAGS = "--xla_cpu_use_fusion_emitters=false"


def _compile_faster() -> None:
    """Start JAX's CPU backend with :data:`TEST_XLA_FLAGS` added to
    ``XLA_FLAGS``, then restore the variable, so that the subprocesses the
    tests start (examples, interrupted samplers, stress runs) see the
    environment a user has. XLA reads its flags once, when its first
    program compiles."""
    import os

    before = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = f"{before} {TEST_XLA_FLAGS}" if before else TEST_XLA_FLAGS
    try:
        import jax

        jax.jit(lambda x: x + 1)(1.0).block_until_ready()
    except ImportError:  # the tests that need JAX skip
        pass
    finally:
        if before is None:
            del os.environ["XLA_FLAGS"]
        else:
            os.environ["XLA_FLAGS"] = before


_compile_faster()

# resident memory above which a finished file's memory is released: releasing
# has a cost (JAX programs shared by later files are compiled again), so
# files that left little behind skip it
RELEASE_ABOVE_MB = 600


def _resident_mb() -> float:
    """This process's resident memory (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0.0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _release_memory() -> None:
    """Drop JAX's compiled programs and hand freed heap back to the OS.

    No ``gc.collect()``: on the doctests it made the run 25% slower and
    freed nothing more (the programs are released by reference counting).
    """
    import sys

    jax = sys.modules.get("jax")
    if jax is not None:
        jax.clear_caches()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


# within a file, a test after which resident memory stands this far above
# what the last release left behind releases at once: table tests that
# compile a JAX program per row otherwise stack hundreds of MB on the floor
# that the next such test starts from
GROWTH_RELEASE_MB = 100

_after_release_mb = [0.0]  # resident memory after the last release


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """Release memory after the last test of each module (above
    ``RELEASE_ABOVE_MB``) and after any test that left resident memory
    ``GROWTH_RELEASE_MB`` above the last release: the suite's peak resident
    memory otherwise grows with every module that compiles JAX programs
    (1.3 GB after tests/compile, tests/ops and tests/ppl/distributions;
    0.4 GB with this) (#23 item 9)."""
    # by file: doctest items (src/) have no module attribute
    end_of_file = nextitem is None or nextitem.path != item.path
    rss = _resident_mb()
    grown = rss > _after_release_mb[0] + GROWTH_RELEASE_MB
    if rss > RELEASE_ABOVE_MB and (end_of_file or grown):
        _release_memory()
        _after_release_mb[0] = _resident_mb()


def pytest_terminal_summary(terminalreporter):
    """Report the run's peak resident memory (#23 item 9: under 1 GB for the
    whole suite), so that CI logs show when a change moves it."""
    from benchmarks._util import peak_rss_mb

    peak = peak_rss_mb()
    if peak:
        terminalreporter.write_line(f"peak resident memory: {peak:,.0f} MB")
