"""Shared fixtures for the tessera test suite (the memory-releasing hook is in
the root conftest.py, so that it runs after the doctests too)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(20240611)


def pytest_collection_modifyitems(session, config, items):
    """The tests marked ``background`` run last (their jobs run meanwhile)."""
    import _background

    marked = [i for i in items if i.get_closest_marker("background") is not None]
    if marked and not _background.in_child():
        items[:] = [i for i in items if i.get_closest_marker("background") is None]
        items += marked


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """A test marked ``background`` with no job passes when its pytest
    subprocess passed (``_background.run_test``)."""
    import _background

    if not _background.whole_test(pyfuncitem):
        return None
    code, report = _background.result(
        _background.run_test,
        nodeid=pyfuncitem.nodeid,
        root=str(pyfuncitem.config.rootpath),
    )
    assert code == 0, f"in a pytest subprocess:\n{report}"
    return True


def pytest_collection_finish(session):
    """Start the background jobs of the selected tests (``_background``)."""
    import _background

    _background.start_selected(session.items)


def pytest_sessionfinish(session):
    """Drop the background jobs not yet started (a run cut short)."""
    import _background

    _background.stop()
